"""Laws of back-billing: what re-billing, interest and the lookback must always satisfy."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from meterlib._numbers import EXACT, ROUNDED, exact
from meterlib.backbill import (
    BilledPeriod,
    InterestPolicy,
    PriceSchedule,
    PriceVersion,
    Statement,
    UsageRecord,
    rebill,
)
from meterlib.pricing import Price, parse_price
from tests.backbill_strategies import months, rates, schedules, valuation_dates

policies = st.one_of(
    rates.map(InterestPolicy.simple),
    st.tuples(rates, st.sampled_from(["monthly", "annual"]),
              st.sampled_from(["actual/365", "actual/360", "30/360"])).map(
        lambda t: InterestPolicy.compound(*t)
    ),
)


@given(schedules(), months(payments=False), valuation_dates, policies)
def test_billing_exactly_the_rebill_owes_nothing(basis, periods, as_of, policy):
    first = rebill(basis, periods.billed, periods.usage, as_of=as_of, due_days=30)
    exact = [replace(p, billed=line.rebilled) for p, line in zip(periods.billed, first.lines,
                                                                  strict=True)]
    statement = rebill(basis, exact, periods.usage, as_of=as_of, due_days=30, interest=policy)
    assert all(line.delta == 0 and line.interest == 0 for line in statement.lines)
    assert statement.totals.total == 0
    assert statement.documents == ()


@given(schedules(), months(), valuation_dates, policies, st.integers(0, 6))
def test_deltas_add_up_to_rebilled_minus_billed(basis, periods, as_of, policy, years):
    statement = rebill(basis, periods.billed, periods.usage, as_of=as_of, due_days=30,
                       interest=policy, lookback_years=years)
    counted = [line for line in statement.lines if not line.barred and not line.not_yet_due]
    totals = statement.totals
    with exact():  # the laws in meterlib's context, whatever the caller's
        assert sum((line.delta for line in counted), Decimal(0)) == totals.rebilled - totals.billed
        assert totals.delta == totals.rebilled - totals.billed == totals.debits - totals.credits
        assert totals.total == totals.delta + totals.interest
        assert sum((d.signed_total for d in statement.documents), Decimal(0)) == totals.total


@given(schedules(), months(), valuation_dates, policies)
def test_nothing_is_claimed_before_it_is_due(basis, periods, as_of, policy):
    statement = rebill(basis, periods.billed, periods.usage, as_of=as_of, due_days=30,
                       interest=policy)
    pending = [line for line in statement.lines if line.not_yet_due]
    assert all(line.end > as_of or line.due > as_of for line in pending)
    assert all(line.interest == 0 for line in pending)
    assert statement.totals.not_yet_due == len(pending)
    claimed = [line for line in statement.lines if not line.not_yet_due]
    assert statement.totals.periods == len(claimed)
    assert {d.period for d in statement.documents} <= {line.label for line in claimed}


@given(schedules(), months(), valuation_dates)
def test_zero_rate_means_zero_interest(basis, periods, as_of):
    statement = rebill(basis, periods.billed, periods.usage, as_of=as_of, due_days=30,
                       interest=InterestPolicy.simple("0"))
    assert all(line.interest_exact == 0 for line in statement.lines)


@given(schedules(), months(), valuation_dates, st.integers(1, 900), policies)
def test_interest_never_decreases_as_the_valuation_date_moves_later(
    basis, periods, as_of, later, policy
):
    early = rebill(basis, periods.billed, periods.usage, as_of=as_of, due_days=30,
                   interest=policy)
    late = rebill(basis, periods.billed, periods.usage, as_of=as_of + timedelta(days=later),
                  due_days=30, interest=policy)
    for before, after in zip(early.lines, late.lines, strict=True):
        assert after.interest_exact >= before.interest_exact
        assert after.interest >= before.interest
    assert late.totals.interest >= early.totals.interest


@given(schedules(), months(), valuation_dates, policies, st.tuples(st.integers(0, 8),
                                                                   st.integers(0, 8)))
def test_lookback_only_moves_periods_between_barred_and_counted(
    basis, periods, as_of, policy, limits
):
    first, second = limits
    def run(years: int | None) -> Statement:
        return rebill(basis, periods.billed, periods.usage, as_of=as_of, due_days=30,
                      interest=policy, lookback_years=years)

    short, long_, none = run(min(first, second)), run(max(first, second)), run(None)
    for a, b, c in zip(short.lines, long_.lines, none.lines, strict=True):
        assert replace(a, barred=False) == replace(b, barred=False) == c
        assert b.barred <= a.barred  # a longer lookback never bars more
    for statement in (short, long_):
        t = statement.totals
        assert t.periods + t.barred + t.not_yet_due == len(statement.lines)
        with exact():
            assert t.delta + t.barred_delta == none.totals.delta
            assert t.interest + t.barred_interest == none.totals.interest


@given(schedules(), months(), valuation_dates, policies, st.randoms(use_true_random=False))
def test_statement_does_not_depend_on_input_order(basis, periods, as_of, policy, random):
    billed: list[BilledPeriod] = list(periods.billed)
    usage = list(periods.usage)
    expected = rebill(basis, billed, usage, as_of=as_of, due_days=30, interest=policy,
                      lookback_years=3)
    random.shuffle(billed)
    random.shuffle(usage)
    shuffled = rebill(basis, billed, usage, as_of=as_of, due_days=30, interest=policy,
                      lookback_years=3)
    assert shuffled == expected



_unit_prices = st.integers(1, 10_000).map(lambda n: Decimal(n).scaleb(-4, context=EXACT))


@given(st.integers(2, 28), _unit_prices, _unit_prices,
       st.lists(st.integers(0, 10**6), min_size=31, max_size=31))
def test_a_mid_period_change_prices_each_day_by_the_version_in_force(day, before, after, daily):
    def price(unit: Decimal) -> Price:
        return parse_price({"model": "per_unit", "unit_amount": str(unit), "currency": "USD"})

    change = date(2023, 3, day)
    schedule = PriceSchedule([PriceVersion(date(2023, 1, 1), price(before)),
                         PriceVersion(change, price(after))])
    march = BilledPeriod(date(2023, 3, 1), date(2023, 4, 1), "0")
    records = [UsageRecord(date(2023, 3, n + 1), date(2023, 3, n + 1) + timedelta(days=1),
                           str(q)) for n, q in enumerate(daily)]
    [line] = rebill(schedule, [march], records, as_of=date(2024, 1, 1), due_days=30).lines
    early, late = sum(daily[:day - 1]), sum(daily[day - 1:])
    with exact():
        assert line.rebilled_exact == before * early + after * late
    assert line.split == f"split at {change.isoformat()}, usage by event time"
    assert line.usage == early + late


@given(st.integers(2, 28), _unit_prices, st.integers(0, 10**9))
def test_shares_by_days_add_up_to_the_period_total(day, unit, total):
    same = parse_price({"model": "per_unit", "unit_amount": str(unit), "currency": "USD"})
    schedule = PriceSchedule([PriceVersion(date(2023, 1, 1), same, "a"),
                         PriceVersion(date(2023, 3, day), same, "b")])
    march = BilledPeriod(date(2023, 3, 1), date(2023, 4, 1), "0")
    usage = [UsageRecord(march.start, march.end, str(total))]
    [line] = rebill(schedule, [march], usage, as_of=date(2024, 1, 1), due_days=30).lines
    # the same price on both sides: splitting by days changes nothing but the rounding per part
    product = EXACT.multiply(unit, total)
    assert line.rebilled_exact == product
    cents = product.quantize(Decimal("0.01"), context=ROUNDED)
    assert EXACT.abs(EXACT.subtract(line.rebilled, cents)) <= Decimal("0.01")
    assert line.split is not None
    assert "by days" in line.split
