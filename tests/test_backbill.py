"""The back-billing engine: re-rating, deltas, interest, lookback, documents, usage sources."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from meterlib.backbill import (
    BilledPeriod,
    DateSpan,
    InterestPolicy,
    Payment,
    PriceSchedule,
    PriceVersion,
    UsageRecord,
    compare,
    lookback_cutoff,
    rebill,
    usage_by_start,
    usage_from,
    usage_from_table,
)
from meterlib.backbill.terms import allowance_of
from meterlib.errors import FloatNotAllowedError, InvalidValueError
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.pricing import parse_price
from meterlib.render import render_statement
from meterlib.schedule import NotInForceError

TIERS = [
    {"up_to": "10000", "unit_amount": "0", "flat_amount": "100"},
    {"up_to": "1000000", "unit_amount": "0.005"},
]


def published() -> PriceSchedule:
    first = parse_price({"model": "graduated", "tiers": [*TIERS, {"unit_amount": "0.00084"}]})
    second = parse_price({"model": "graduated", "tiers": [*TIERS, {"unit_amount": "0.001"}]})
    return PriceSchedule(
        [PriceVersion(date(2023, 2, 1), first, "list A"), PriceVersion(date(2023, 6, 1), second)]
    )


def month(year: int, number: int, billed: str = "100", **kwargs) -> BilledPeriod:
    end = date(year + number // 12, number % 12 + 1, 1)
    return BilledPeriod(date(year, number, 1), end, billed, **kwargs)


def used(period: BilledPeriod, quantity: str) -> UsageRecord:
    return UsageRecord(period.start, period.end, quantity)


NINE = InterestPolicy.simple("0.09")


def test_rebill_matches_the_hand_computed_figures():
    march, june = month(2023, 3, invoice="INV-3"), month(2023, 6, invoice="INV-6")
    statement = rebill(
        published(),
        [june, march],
        [used(march, "2400000"), used(june, "4000000")],
        as_of=date(2023, 12, 31),
        due_days=30,
        interest=NINE,
    )
    first, second = statement.lines
    # March: 100 + 990,000 x 0.005 + 1,400,000 x 0.00084 = 100 + 4,950 + 1,176 = 6,226
    assert first.rebilled == Decimal("6226.00")
    assert first.version == "list A"
    assert first.delta == Decimal("6126.00")
    assert first.allowance == Decimal(10000)
    assert first.overuse == Decimal(2390000)
    # Due 2023-05-01; 244 days to 2023-12-31: 6,126 x 0.09 x 244 / 365 = 368.566... -> 368.57
    assert first.due == date(2023, 5, 1)
    assert first.days_late == 244
    assert first.interest == Decimal("368.57")
    # June, price of June: 100 + 4,950 + 3,000,000 x 0.001 = 8,050; due Jul 31, 153 days:
    # 7,950 x 0.09 x 153 / 365 = 299.9219... -> 299.92
    assert second.version == "from 2023-06-01"
    assert second.rebilled == Decimal("8050.00")
    assert second.interest == Decimal("299.92")
    totals = statement.totals
    assert totals.delta == Decimal("14076.00")
    assert totals.interest == Decimal("668.49")
    assert totals.total == Decimal("14744.49")
    assert [d.number for d in statement.documents] == ["DN-0001", "DN-0002"]
    assert statement.documents[0].corrects == "INV-3"
    assert statement.documents[0].total == Decimal("6494.57")
    assert sum(d.signed_total for d in statement.documents) == totals.total


def test_over_billing_gives_a_credit_note_without_interest():
    period = month(2023, 3, "7000.00", invoice="INV-3")
    statement = rebill(
        published(), [period], [used(period, "2400000")],
        as_of=date(2024, 1, 1), due_days=30, interest=NINE,
    )
    line = statement.lines[0]
    assert line.delta == Decimal("-774.00")
    assert line.interest == 0
    (document,) = statement.documents
    assert document.kind == "credit_note"
    assert document.number == "CN-0001"
    assert document.signed_total == Decimal("-774.00")
    assert statement.totals.credits == Decimal("774.00")
    assert statement.totals.total == Decimal("-774.00")


def test_exactly_billed_period_owes_nothing_and_gets_no_document():
    period = month(2023, 3, "6226.00")
    statement = rebill(
        published(), [period], [used(period, "2400000")],
        as_of=date(2024, 1, 1), due_days=30, interest=NINE,
    )
    assert statement.totals.total == 0
    assert statement.documents == ()


def test_lookback_bars_periods_due_before_the_cutoff_and_lists_them():
    march, april = month(2023, 3), month(2023, 4)
    statement = rebill(
        published(), [march, april], [used(march, "2400000"), used(april, "15000000")],
        as_of=date(2024, 5, 15), due_days=30, interest=NINE, lookback_years=1,
    )
    # Cutoff 2023-05-15: March is due 2023-05-01 (barred), April 2023-05-31 (claimed).
    assert statement.cutoff == date(2023, 5, 15)
    barred, claimed = statement.lines
    assert barred.barred
    assert barred.delta == Decimal("6126.00")
    assert not claimed.barred
    assert statement.totals.periods == 1
    assert statement.totals.barred == 1
    assert statement.totals.delta == claimed.delta
    assert statement.totals.barred_delta == barred.delta
    assert [d.period for d in statement.documents] == ["2023-04"]


def test_lookback_cutoff_clamps_february_29():
    assert lookback_cutoff(date(2024, 2, 29), 1) == date(2023, 2, 28)
    assert lookback_cutoff(date(2024, 2, 29), 4) == date(2020, 2, 29)
    assert lookback_cutoff(date(2024, 2, 29), None) is None
    with pytest.raises(InvalidValueError, match="'lookback_years'"):
        lookback_cutoff(date(2024, 2, 29), -1)


def test_payments_late_cost_interest_until_their_date():
    # Rebilled 6,226; billed 100 paid late on 2023-06-01 (31 days after the due date).
    # Unpaid 6,226 for 31 days, then 6,126 for 213 days (to 2023-12-31), at 9% actual/365:
    # (6226 x 31 + 6126 x 213) x 0.09 / 365 = (193,006 + 1,304,838) x 0.09 / 365 = 369.33
    period = month(2023, 3, payments=(Payment(date(2023, 6, 1), Decimal(100)),))
    statement = rebill(
        published(), [period], [used(period, "2400000")],
        as_of=date(2023, 12, 31), due_days=30, interest=NINE,
    )
    line = statement.lines[0]
    assert line.paid == Decimal(100)
    assert line.interest == Decimal("369.33")
    assert line.open_billed == 0


def test_unpaid_original_invoice_is_reported_open():
    period = month(2023, 3, payments=())
    statement = rebill(
        published(), [period], [used(period, "2400000")],
        as_of=date(2023, 12, 31), due_days=30, interest=NINE,
    )
    assert statement.totals.open_billed == Decimal(100)
    # Interest on the whole 6,226 for 244 days: 6226 x 0.09 x 244 / 365 = 374.58
    assert statement.lines[0].interest == Decimal("374.58")


def test_due_date_given_by_the_bill_wins():
    period = month(2023, 3, due=date(2023, 4, 15))
    statement = rebill(
        published(), [period], [used(period, "2400000")], as_of=date(2023, 5, 15), due_days=30
    )
    assert statement.lines[0].due == date(2023, 4, 15)
    assert statement.lines[0].days_late == 30
    assert statement.lines[0].interest == 0  # no interest policy


def test_usage_records_are_summed_and_strays_reported():
    march = month(2023, 3)
    records = [
        UsageRecord(date(2023, 3, 1), date(2023, 3, 16), "1000"),
        UsageRecord(date(2023, 3, 16), date(2023, 4, 1), "2000"),
        UsageRecord(date(2023, 3, 20), date(2023, 4, 10), "5"),  # crosses the period end
        UsageRecord(date(2022, 1, 1), date(2022, 2, 1), "7"),  # before every period
    ]
    statement = rebill(published(), [march], records, as_of=date(2024, 1, 1), due_days=30)
    assert statement.lines[0].usage == Decimal(3000)
    assert len(statement.problems) == 2
    assert "2022-01-01..2022-02-01" in statement.problems[0]
    assert "lies in no single billed period" in statement.problems[1]


def test_period_without_usage_is_rebilled_at_zero_and_reported():
    statement = rebill(published(), [month(2023, 3)], [], as_of=date(2024, 1, 1), due_days=30)
    assert statement.lines[0].usage == 0
    assert statement.lines[0].rebilled == Decimal("100.00")
    assert statement.problems == ("no usage given for 2023-03; re-billed at zero usage",)


def test_invalid_input_is_refused():
    with pytest.raises(InvalidValueError, match="periods that do not overlap"):
        rebill(
            published(),
            [month(2023, 3), BilledPeriod(date(2023, 3, 15), date(2023, 4, 15), "1")],
            [], as_of=date(2024, 1, 1), due_days=30,
        )
    with pytest.raises(InvalidValueError, match="at least one billed period"):
        rebill(published(), [], [], as_of=date(2024, 1, 1), due_days=30)
    with pytest.raises(NotInForceError, match="no rebill price was in force on 2022-03-01"):
        rebill(published(), [month(2022, 3)], [], as_of=date(2024, 1, 1), due_days=30)
    with pytest.raises(FloatNotAllowedError):
        BilledPeriod(date(2023, 3, 1), date(2023, 4, 1), 100.0)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'billed' must be >= 0"):
        month(2023, 3, "-1")
    with pytest.raises(InvalidValueError, match="'end' must be after start"):
        UsageRecord(date(2023, 3, 1), date(2023, 3, 1), "1")
    with pytest.raises(InvalidValueError, match="'due_days'"):
        rebill(published(), [month(2023, 3)], [], as_of=date(2024, 1, 1), due_days=-1)
    with pytest.raises(InvalidValueError, match="'as_of' must be a date"):
        rebill(
            published(), [month(2023, 3)], [],
            as_of=datetime(2024, 1, 1, tzinfo=UTC), due_days=30,
        )
    with pytest.raises(InvalidValueError, match="'amount' must be > 0"):
        Payment(date(2023, 3, 1), Decimal(0))


def test_schedule_refuses_mixed_currencies():
    usd = parse_price({"model": "flat", "amount": "1"})
    eur = parse_price({"model": "flat", "amount": "1", "currency": "EUR"})
    with pytest.raises(InvalidValueError, match=r"schedule\[1\]\.price\.currency"):
        PriceSchedule([PriceVersion(date(2023, 1, 1), usd), PriceVersion(date(2023, 2, 1), eur)])


def test_allowance_of_prices():
    assert allowance_of(published().versions[0].price) == Decimal(10000)
    per_unit = parse_price({"model": "per_unit", "unit_amount": "1", "included": "50"})
    assert allowance_of(per_unit) == Decimal(50)
    assert allowance_of(parse_price({"model": "flat", "amount": "100"})) is None


def test_date_span_label_and_period():
    assert DateSpan(date(2023, 3, 1), date(2023, 4, 1)).label == "2023-03"
    assert DateSpan(date(2023, 3, 15), date(2023, 4, 15)).label == "2023-03-15..2023-04-15"
    assert DateSpan(date(2023, 3, 1), date(2023, 4, 1)).to_period() == Period(
        datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 4, 1, tzinfo=UTC)
    )


def test_usage_from_a_usage_table_sums_groups_of_one_meter():
    def cell(meter: str, start: date, end: date, group: str) -> UsageKey:
        period = Period(
            datetime.combine(start, datetime.min.time(), UTC),
            datetime.combine(end, datetime.min.time(), UTC),
        )
        return UsageKey("acme", meter, period, (("region", group),))

    table = UsageTable(
        {
            cell("reads", date(2023, 3, 1), date(2023, 4, 1), "eu"): Decimal(1000),
            cell("reads", date(2023, 3, 1), date(2023, 4, 1), "us"): Decimal(2000),
            cell("writes", date(2023, 3, 1), date(2023, 4, 1), "us"): Decimal(9),
        }
    )
    with pytest.raises(InvalidValueError, match="several meters"):
        usage_from_table(table, customer="acme")
    records = usage_from_table(table, customer="acme", meter="reads")
    statement = rebill(
        published(), [month(2023, 3)], records, as_of=date(2024, 1, 1), due_days=30
    )
    assert statement.lines[0].usage == Decimal(3000)
    assert usage_from_table(table, customer="other") == []


def test_usage_from_a_query_and_by_start():
    periods = [month(2023, 3), month(2023, 4)]
    records = usage_from(lambda p: "5" if p.start.month == 3 else None, periods)
    assert records == [UsageRecord(date(2023, 3, 1), date(2023, 4, 1), Decimal(5))]
    by_start = usage_by_start({date(2023, 4, 1): "7", date(2023, 9, 1): "1"}, periods)
    statement = rebill(published(), periods, by_start, as_of=date(2024, 1, 1), due_days=30)
    assert [line.usage for line in statement.lines] == [0, 7]
    # The estimate for September starts no billed period: reported, not lost.
    assert any("2023-09-01" in problem for problem in statement.problems)


def test_compare_scenarios_and_rates_side_by_side():
    march = month(2023, 3)
    comparison = compare(
        published(),
        [march],
        {"low": [used(march, "1000000")], "high": [used(march, "2400000")]},
        as_of=date(2023, 12, 31),
        due_days=30,
        interest=NINE,
        rates=["0", "0.09"],
        descriptions={"low": "sampled"},
    )
    assert comparison.names == ("low @ 0%", "low @ 9%", "high @ 0%", "high @ 9%")
    assert comparison["high @ 9%"].totals.interest == Decimal("368.57")
    assert comparison["high @ 0%"].totals.interest == 0
    # low: 100 + 990,000 x 0.005 = 5,050
    assert comparison["low @ 0%"].totals.rebilled == Decimal("5050.00")
    assert comparison.descriptions[0] == "sampled"
    records = comparison.to_records()
    assert records[3]["total"] == Decimal("6494.57")
    with pytest.raises(KeyError):
        comparison["nope"]


def test_periods_not_ended_or_not_yet_due_are_listed_and_not_claimed():
    # as of 2023-04-20: March ended but is due 2023-04-30 (30 days); April has not ended
    periods = [month(2023, 2), month(2023, 3), month(2023, 4)]
    records = [used(p, "2400000") for p in periods]
    statement = rebill(published(), periods, records, as_of=date(2023, 4, 20), due_days=30,
                       interest=NINE)
    assert [line.not_yet_due for line in statement.lines] == [False, True, True]
    assert statement.totals.periods == 1
    assert statement.totals.not_yet_due == 2
    assert statement.totals.delta == statement.lines[0].delta
    assert [d.period for d in statement.documents] == ["2023-02"]
    text = render_statement(statement, "text")
    assert "(1 periods claimed, 0 time-barred;" in text
    assert "2 periods not yet due on the valuation date: listed, not claimed" in text
    assert text.count("not yet due") == 4  # the two periods' rows, the summary, the total row
    assert "2 periods not yet due" in render_statement(statement, "html")


def two_prices() -> PriceSchedule:
    # 0.01 a unit until 2023-03-14, 0.02 from 2023-03-15 (a change in the middle of March)
    return PriceSchedule([
        PriceVersion(date(2023, 1, 1), parse_price({"model": "per_unit", "unit_amount": "0.01"}),
                     "old"),
        PriceVersion(date(2023, 3, 15), parse_price({"model": "per_unit", "unit_amount": "0.02"}),
                     "new"),
    ])


def test_a_mid_period_price_change_splits_the_period_by_event_time():
    march = month(2023, 3, billed="0")
    records = [UsageRecord(date(2023, 3, 1), date(2023, 3, 15), "1000"),
               UsageRecord(date(2023, 3, 15), date(2023, 4, 1), "500")]
    [line] = rebill(two_prices(), [march], records, as_of=date(2024, 1, 1), due_days=30).lines
    # 1,000 x 0.01 = 10.00 before the change, 500 x 0.02 = 10.00 after
    assert line.rebilled == Decimal("20.00")
    assert line.split == "split at 2023-03-15, usage by event time"
    assert line.version == ("old (2023-03-01..2023-03-14, usage 1000) + "
                            "new (2023-03-15..2023-03-31, usage 500)")
    assert [row.description.split(":")[0] for row in line.breakdown] == ["old", "new"]


def test_a_period_total_across_a_price_change_is_shared_by_days():
    march = month(2023, 3, billed="0")
    [line] = rebill(two_prices(), [march], [used(march, "3100")], as_of=date(2024, 1, 1),
                    due_days=30).lines
    # 14 of 31 days before: 3,100 x 14/31 = 1,400 at 0.01 = 14.00; 1,700 at 0.02 = 34.00
    assert line.rebilled == Decimal("48.00")
    assert line.usage == Decimal(3100)
    assert line.split == ("split at 2023-03-15, usage by days "
                          "(usage known only for spans across the change)")
    assert "usage 1400.000000000000" in line.version
    assert "usage 1700.000000000000" in line.version


def test_shares_by_days_add_up_to_the_total_exactly():
    march = month(2023, 3, billed="0")
    [line] = rebill(two_prices(), [march], [used(march, "100")], as_of=date(2024, 1, 1),
                    due_days=30).lines
    # 100 x 14/31 = 45.161290322581 (12 places), the rest 54.838709677419 after
    assert "usage 45.161290322581)" in line.version
    assert "usage 54.838709677419)" in line.version
    assert line.rebilled == Decimal("0.45") + Decimal("1.10")


def test_a_change_on_a_period_boundary_does_not_split():
    april = month(2023, 4, billed="0")
    schedule = PriceSchedule([
        PriceVersion(date(2023, 1, 1), parse_price({"model": "per_unit", "unit_amount": "0.01"})),
        PriceVersion(date(2023, 4, 1), parse_price({"model": "per_unit", "unit_amount": "0.02"})),
    ])
    [line] = rebill(schedule, [april], [used(april, "100")], as_of=date(2024, 1, 1),
                    due_days=30).lines
    assert line.split is None
    assert line.rebilled == Decimal("2.00")
