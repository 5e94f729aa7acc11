"""A downstream service's tests, with meterlib as the oracle (run: ``pytest`` in this folder).

The first part is the team's own billing code (in a real project it lives in its own package):
the API plan's monthly charge and usage count, written by hand. The tests check it against
meterlib: the same price document (``../prices/api_graduated.json``) rated by
``price.rate(quantity)``, and the same events counted by meterlib's accumulator and ledger.

``pytest.ini`` here turns meterlib's fixtures on (``meterlib_fixtures = true``) and points the
price book at ``../prices``; without meterlib's entry point installed, run
``pytest -p meterlib.testing.plugin`` instead and keep ``meterlib_price_book`` in the ini file.
``conftest.py`` here loads the project's hypothesis profile (no deadline, no ``too_slow`` check),
so a busy CI machine never fails these tests by chance.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib import Accumulator, BillingCycle, Meter
from meterlib.ledger import Ledger
from meterlib.testing import PriceBook
from meterlib.testing.events import CUSTOMERS, CYCLE, WINDOW, event_sets
from meterlib.testing.strategies import decimals

# --- the team's own billing code ---------------------------------------------------------
# (up to, unit amount, flat amount) of the API plan, copied from the pricing page.
_TIERS = (
    (Decimal(100_000), Decimal(0), Decimal(49)),
    (Decimal(1_000_000), Decimal("0.0004"), Decimal(0)),
    (Decimal(10_000_000), Decimal("0.0003"), Decimal(0)),
    (None, Decimal("0.0002"), Decimal(0)),
)


def monthly_charge(calls: Decimal) -> Decimal:
    """The month's charge in USD for ``calls`` API calls, rounded to cents (graduated tiers)."""
    total = Decimal(0)
    lower = Decimal(0)
    for upper, unit, flat in _TIERS:
        if calls <= lower and lower > 0:
            break
        top = calls if upper is None else min(calls, upper)
        total += flat + max(top - lower, Decimal(0)) * unit
        if upper is None:
            break
        lower = upper
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def monthly_calls(events: list[dict[str, object]], customer: str) -> int:
    """How many ``api.call`` events a customer sent: the team's own usage count."""
    seen: set[object] = set()
    for event in events:
        if event["customer"] == customer and event["type"] == "api.call":
            seen.add(event["id"])
    return len(seen)


# --- its tests, with meterlib as the oracle ----------------------------------------------

CALLS = Meter(name="calls", event_type="api.call", aggregation="count")


def test_the_price_book_holds_the_shipped_prices(meterlib_price_book: PriceBook) -> None:
    assert "api_graduated" in meterlib_price_book
    assert meterlib_price_book.rate("api_graduated", 0).rounded() == Decimal(49)


@settings(max_examples=50)
@given(calls=st.integers(min_value=0, max_value=30_000_000) | decimals(0, 2_000_000, places=0))
def test_my_charge_agrees_with_meterlib(meterlib_price_book: PriceBook, calls: Any) -> None:
    expected = meterlib_price_book["api_graduated"].rate(calls).rounded()
    assert monthly_charge(Decimal(calls)) == expected


@settings(max_examples=25)
@given(stream=event_sets(max_events=30))
def test_my_usage_count_agrees_with_meterlib(stream: list[dict[str, Any]]) -> None:
    # Re-sends, conflicting versions and events on period boundaries included: each id counts
    # once, in the window [1 Jan, 1 Apr 2024) of Berlin time.
    accumulator = Accumulator([CALLS], CYCLE, window=WINDOW)
    accumulator.add(stream).check()
    usage = accumulator.usage()
    inside = [e for e in stream if WINDOW.start <= datetime.fromisoformat(e["time"]) < WINDOW.end]
    for customer in CUSTOMERS:
        oracle = sum(
            usage.quantity(customer, "calls", CYCLE.start(i), CYCLE.start(i + 1)) for i in range(3)
        )
        assert monthly_calls(inside, customer) == oracle


JANUARY = BillingCycle(anchor=date(2024, 1, 1)).period(0)
EVENTS: list[dict[str, Any]] = [
    {"id": "e1", "customer": "acme", "type": "api.call", "time": "2024-01-05T10:00:00Z"},
    {"id": "e1", "customer": "acme", "type": "api.call", "time": "2024-01-05T11:00:00+01:00"},
    {"id": "e2", "customer": "acme", "type": "api.call", "time": "2024-01-31T23:59:59Z"},
    {"id": "e3", "customer": "acme", "type": "page.view", "time": "2024-01-06T00:00:00Z"},
    {"id": "e4", "customer": "globex", "type": "api.call", "time": "2024-01-07T00:00:00Z"},
]


def test_my_usage_count_agrees_with_the_ledger(meterlib_ledger: Ledger) -> None:
    report = meterlib_ledger.append(EVENTS)
    assert report.duplicates == 1
    usage = meterlib_ledger.usage([CALLS], [JANUARY])
    for customer in ("acme", "globex"):
        oracle = usage.quantity(customer, "calls", JANUARY.start, JANUARY.end)
        assert monthly_calls(EVENTS, customer) == oracle


def test_every_test_gets_an_empty_ledger(meterlib_ledger: Ledger) -> None:
    assert len(meterlib_ledger.usage([CALLS], [JANUARY])) == 0
