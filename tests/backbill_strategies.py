"""Hypothesis strategies for back-billing: dated price schedules, billed months, usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from meterlib._numbers import EXACT
from meterlib.backbill import BilledPeriod, Payment, PriceSchedule, PriceVersion, UsageRecord
from meterlib.periods import add_months
from meterlib.pricing import Price, parse_price

FIRST = date(2019, 1, 1)

money = st.integers(min_value=0, max_value=2_000_000).map(
    lambda cents: EXACT.divide(Decimal(cents), 100)
)
rates = st.integers(min_value=0, max_value=2500).map(lambda bp: EXACT.divide(Decimal(bp), 10000))
quantities = st.integers(min_value=0, max_value=5_000_000).map(Decimal)


@st.composite
def graduated_prices(draw: st.DrawFn) -> Price:
    """A graduated price: a base fee covering an allowance, then one or two priced tiers."""
    allowance = draw(st.integers(min_value=1, max_value=20_000))
    fee = draw(money)
    middle = draw(st.integers(min_value=1, max_value=100_000))
    tiers = [
        {"up_to": str(allowance), "unit_amount": "0", "flat_amount": str(fee)},
        {"up_to": str(allowance + middle), "unit_amount": str(EXACT.divide(draw(rates), 10))},
        {"unit_amount": str(EXACT.divide(draw(rates), 100))},
    ]
    return parse_price({"model": "graduated", "tiers": tiers})


@st.composite
def schedules(draw: st.DrawFn) -> PriceSchedule:
    """One to three price versions; the first is in force from before every period."""
    count = draw(st.integers(min_value=1, max_value=3))
    offsets = sorted(draw(st.sets(st.integers(min_value=1, max_value=60), min_size=count - 1,
                                  max_size=count - 1)))
    starts = [FIRST, *(add_months(FIRST, months) for months in offsets)]
    return PriceSchedule([PriceVersion(day, draw(graduated_prices())) for day in starts])


@dataclass(frozen=True)
class Periods:
    """Consecutive months with what was billed and used in each."""

    billed: tuple[BilledPeriod, ...]
    usage: tuple[UsageRecord, ...]


@st.composite
def months(draw: st.DrawFn, *, payments: bool = True) -> Periods:
    """One to twelve consecutive months from 2019 on, each billed and used."""
    first = draw(st.integers(min_value=0, max_value=48))
    count = draw(st.integers(min_value=1, max_value=12))
    billed, usage = [], []
    for index in range(first, first + count):
        start, end = add_months(FIRST, index), add_months(FIRST, index + 1)
        paid = None
        if payments and draw(st.booleans()):
            paid = tuple(
                Payment(end + timedelta(days=draw(st.integers(0, 400))), amount)
                for amount in draw(st.lists(money.filter(bool), max_size=2))
            )
        billed.append(BilledPeriod(start, end, draw(money), invoice=f"INV-{index}",
                                   payments=paid))
        usage.append(UsageRecord(start, end, draw(quantities)))
    return Periods(tuple(billed), tuple(usage))


valuation_dates = st.integers(min_value=0, max_value=4000).map(
    lambda days: date(2019, 1, 1) + timedelta(days=days)
)
