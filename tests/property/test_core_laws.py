"""Arithmetic laws of the foundation: rounding, allocation, periods and proration."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from meterlib._numbers import exact
from meterlib.currency import minor_units
from meterlib.money import Money
from meterlib.periods import BillingCycle, Cadence
from meterlib.proration import prorate
from meterlib.rounding import RoundingMode, round_amount, round_fraction
from meterlib.testing.strategies import currencies, decimals

modes = st.sampled_from(list(RoundingMode))
zones = st.sampled_from(
    ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe"]
)
cadences = st.sampled_from(list(Cadence))
anchors = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))


@given(decimals(-1_000_000, 1_000_000, places=8), currencies, modes)
def test_rounding_moves_an_amount_by_at_most_half_a_minor_unit(amount, currency, mode):
    rounded = round_amount(amount, currency, mode)
    half = Decimal(1).scaleb(-minor_units(currency)) / 2
    assert abs(rounded - amount) <= half
    assert rounded == round_amount(rounded, currency, mode)


@given(decimals(-1_000_000, 1_000_000, places=8), currencies, modes)
def test_rounding_a_fraction_agrees_with_rounding_its_decimal(amount, currency, mode):
    assert round_fraction(Fraction(amount), currency, mode) == round_amount(amount, currency, mode)


@given(
    decimals(-100_000, 100_000, places=4),
    currencies,
    st.lists(decimals(0, 1000, places=3), min_size=1, max_size=12).filter(lambda r: sum(r) > 0),
)
def test_allocate_parts_add_up_exactly(amount, currency, ratios):
    whole = Money(amount, currency).round()
    parts = whole.allocate(ratios)
    assert len(parts) == len(ratios)
    assert sum(parts, Money.zero(currency)) == whole
    assert all(part.is_rounded for part in parts)


@given(
    decimals(-100_000, 100_000, places=4),
    currencies,
    st.lists(decimals(0, 1000, places=6), min_size=1, max_size=12).filter(lambda r: sum(r) > 0),
)
def test_allocate_is_the_largest_remainder_method_on_exact_fractions(amount, currency, ratios):
    whole = Money(amount, currency).round()
    places = minor_units(currency)
    with exact():  # the reference's own decimal steps, whatever the caller's context
        units = abs(int(whole.amount.scaleb(places)))
        total = sum((Fraction(r) for r in ratios), Fraction(0))
        shares_exact = [units * Fraction(r) / total for r in ratios]
        shares = [int(share) for share in shares_exact]
        order = sorted(range(len(ratios)), key=lambda i: (-(shares_exact[i] - shares[i]), i))
        for i in order[: units - sum(shares)]:
            shares[i] += 1
        sign = -1 if whole.amount < 0 else 1
        expected = [Decimal(sign * share).scaleb(-places) for share in shares]
    assert [part.amount for part in whole.allocate(ratios)] == expected


@given(decimals(-100_000, 100_000, places=4), currencies, st.integers(1, 30))
def test_equal_shares_differ_by_at_most_one_minor_unit(amount, currency, n):
    parts = Money(amount, currency).allocate([1] * n)
    unit = Decimal(1).scaleb(-minor_units(currency))
    amounts = [p.amount for p in parts]
    assert max(amounts) - min(amounts) <= unit


@given(anchors, cadences, zones, st.integers(-30, 30), st.integers(1, 10))
def test_consecutive_periods_tile_time(anchor, cadence, tz, first, count):
    cycle = BillingCycle(anchor=anchor, cadence=cadence, timezone=tz)
    periods = cycle.periods(count, first)
    for before, after in pairwise(periods):
        assert before.end == after.start
        assert before.end.timestamp() == after.start.timestamp()
    for period in periods:
        assert period.start.timestamp() < period.end.timestamp()


@given(anchors, cadences, zones, st.integers(-(10**9), 10**9))
def test_every_instant_lies_in_exactly_one_period(anchor, cadence, tz, offset_seconds):
    cycle = BillingCycle(anchor=anchor, cadence=cadence, timezone=tz)
    instant = datetime(2020, 6, 1, tzinfo=UTC) + timedelta(seconds=offset_seconds)
    index = cycle.index_of(instant)
    assert instant in cycle.period(index)
    assert instant not in cycle.period(index - 1)
    assert instant not in cycle.period(index + 1)


@given(
    decimals(0, 100_000, places=2),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2030, 1, 1)),
    st.integers(1, 400),
    st.data(),
)
def test_proration_over_the_whole_period_is_the_whole(amount, start, length, data):
    end = start + timedelta(days=length)
    money = Money(amount, "USD")
    whole = prorate(money, (start, end), (start, end))
    assert whole.exact == Fraction(amount)
    assert whole.rounded() == money.round()
    # Additive over a split of the active span, before rounding.
    a = data.draw(st.integers(0, length))
    b = data.draw(st.integers(a, length))
    cut1 = start + timedelta(days=a)
    cut2 = start + timedelta(days=b)
    left = prorate(money, (start, end), (cut1, cut2))
    right = prorate(money, (start, end), (cut2, end))
    both = prorate(money, (start, end), (cut1, end))
    assert left.exact + right.exact == both.exact


@given(st.integers(1, 10**7), st.integers(0, 10**7), st.integers(0, 10**7))
def test_proration_by_seconds_is_additive(total_s, a_s, b_s):
    start = datetime(2023, 1, 1, tzinfo=UTC)
    a, b = sorted([a_s % (total_s + 1), b_s % (total_s + 1)])
    end = start + timedelta(seconds=total_s)
    money = Money("1000", "EUR")
    first = prorate(money, (start, end), (start, start + timedelta(seconds=a)), "seconds")
    second = prorate(
        money, (start, end), (start + timedelta(seconds=a), start + timedelta(seconds=b)), "seconds"
    )
    joined = prorate(money, (start, end), (start, start + timedelta(seconds=b)), "seconds")
    assert first.exact + second.exact == joined.exact
