"""Conformance kinds of the foundation: ``rounding``, ``periods`` and ``proration``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from meterlib.money import Money
from meterlib.periods import BillingCycle, zone
from meterlib.proration import prorate
from meterlib.rounding import RoundingMode, round_amount
from tests.conformance import _kinds
from tests.conformance._common import check_fields, expect_error, same_number


def _instant(text: str) -> datetime | date:
    """A ``YYYY-MM-DD`` date (midnight UTC) or an ISO 8601 instant with an offset."""
    if len(text) == 10:
        return date.fromisoformat(text)
    return datetime.fromisoformat(text)


def run_rounding_case(case: dict[str, Any]) -> None:
    """Round an amount to a currency's minor units with a named mode."""
    check_fields(case, {"currency", "amount", "mode", "rounded", "error"})

    def run() -> Decimal:
        mode = RoundingMode(case.get("mode", "half_up"))
        return round_amount(Money(case["amount"], case["currency"]).amount, case["currency"], mode)

    result = expect_error(case, run)
    if "error" not in case:
        same_number(case["rounded"], result, "rounded")


def run_periods_case(case: dict[str, Any]) -> None:
    """Build a cycle from a local-wall-time anchor and compare starts and located indexes."""
    check_fields(case, {"anchor", "timezone", "cadence", "count", "starts", "locate", "error"})

    def build() -> BillingCycle:
        tz = zone(case["timezone"])
        anchor = datetime.fromisoformat(case["anchor"]).replace(tzinfo=tz)
        return BillingCycle(anchor=anchor, cadence=case["cadence"], timezone=case["timezone"])

    cycle = expect_error(case, build)
    if cycle is None:
        return
    periods = cycle.periods(int(case["count"]))
    got = [p.start for p in periods]
    want = [datetime.fromisoformat(s) for s in case["starts"]]
    assert got == want, f"starts: expected {case['starts']}, got {[g.isoformat() for g in got]}"
    for item in case.get("locate", []):
        check_fields(item, {"time", "period"}, where="locate item")
        index = cycle.index_of(datetime.fromisoformat(item["time"]))
        assert index == int(item["period"]), f"locate {item['time']}: got period {index}"


def run_proration_case(case: dict[str, Any]) -> None:
    """Prorate an amount over the active part of a period and round once."""
    check_fields(case, {"amount", "currency", "period", "active", "basis", "rounded", "error"})

    def run() -> Money:
        period = case["period"]
        active = case["active"]
        check_fields(period, {"start", "end"}, where="period")
        check_fields(active, {"start", "end"}, where="active")
        result = prorate(
            Money(case["amount"], case.get("currency", "USD")),
            (_instant(period["start"]), _instant(period["end"])),
            (_instant(active["start"]), _instant(active["end"])),
            case.get("basis", "days"),
        )
        return result.rounded()

    result = expect_error(case, run)
    if result is not None:
        same_number(case["rounded"], result.amount, "rounded")


_kinds.RUNNERS["rounding"] = run_rounding_case
_kinds.RUNNERS["periods"] = run_periods_case
_kinds.RUNNERS["proration"] = run_proration_case
