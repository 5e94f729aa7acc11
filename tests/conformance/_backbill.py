"""Conformance kind ``backbill``: re-rate past periods, price the delta with interest, lookback.

Maps a case onto :func:`meterlib.backbill.rebill` with a :class:`PriceSchedule` basis built from
the case's dated prices (each price through :func:`meterlib.pricing.parse_price`, so invalid
prices raise meterlib's own errors). Importing this module registers the runner.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from meterlib.backbill import (
    BilledPeriod,
    InterestPolicy,
    PriceSchedule,
    PriceVersion,
    Statement,
    UsageRecord,
    rebill,
)
from meterlib.pricing import parse_price
from tests.conformance import _kinds
from tests.conformance._common import check_fields, expect_error, same_number
from tests.conformance._price import _check_price_fields

_CASE_FIELDS = frozenset(
    {"currency", "as_of", "schedule", "due_days", "interest", "lookback_years", "periods",
     "expect", "error"}
)
_ENTRY_FIELDS = frozenset({"from", "price"})
_INTEREST_FIELDS = frozenset({"method", "annual_rate", "day_count"})
_PERIOD_FIELDS = frozenset({"start", "end", "usage", "billed"})
_EXPECT_FIELDS = frozenset({"periods", "total_delta", "total_interest", "total"})
_LINE_FIELDS = frozenset({"rebilled", "delta", "interest", "barred"})


def _interest(case: dict[str, Any]) -> InterestPolicy:
    data = case.get("interest")
    if data is None:
        return InterestPolicy.none()
    check_fields(data, _INTEREST_FIELDS, where="interest")
    if data.get("method", "simple") != "simple" or data.get("day_count", "actual/365") != (
        "actual/365"
    ):
        pytest.fail(f"backbill cases use simple actual/365 interest only, got {data!r}")
    return InterestPolicy.simple(data["annual_rate"], data.get("day_count", "actual/365"))


def _compute(case: dict[str, Any]) -> Statement:
    currency = case.get("currency", "USD")
    versions = []
    for entry in case["schedule"]:
        check_fields(entry, _ENTRY_FIELDS, where="schedule entry")
        _check_price_fields(entry["price"])
        price = {"currency": currency, **entry["price"]}
        versions.append(PriceVersion(date.fromisoformat(entry["from"]), parse_price(price)))
    billed, usage = [], []
    for period in case["periods"]:
        check_fields(period, _PERIOD_FIELDS, where="period")
        start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
        billed.append(BilledPeriod(start, end, period["billed"]))
        usage.append(UsageRecord(start, end, period["usage"]))
    return rebill(
        PriceSchedule(versions),
        billed,
        usage,
        as_of=date.fromisoformat(case["as_of"]),
        due_days=int(case["due_days"]),
        interest=_interest(case),
        lookback_years=None if case.get("lookback_years") is None else int(
            case["lookback_years"]
        ),
    )


def run_backbill_case(case: dict[str, Any]) -> None:
    """Re-bill the case's periods and compare every expected figure."""
    check_fields(case, _CASE_FIELDS)
    if "error" not in case and "expect" not in case:
        pytest.fail("a backbill case expects 'expect' or 'error'")
    statement = expect_error(case, lambda: _compute(case))
    if statement is None:
        return
    expect = case["expect"]
    check_fields(expect, _EXPECT_FIELDS, where="expect")
    lines = expect.get("periods", [])
    if lines and len(lines) != len(statement.lines):
        pytest.fail(f"expect lists {len(lines)} periods, the case has {len(statement.lines)}")
    by_start = {line.start: line for line in statement.lines}
    for index, want in enumerate(lines):
        got = by_start[date.fromisoformat(case["periods"][index]["start"])]
        check_fields(want, _LINE_FIELDS, where=f"expected period {index}")
        for name in ("rebilled", "delta", "interest"):
            if name in want:
                same_number(want[name], getattr(got, name), f"period {index} {name}")
        if "barred" in want:
            assert want["barred"] is got.barred, f"period {index} barred: got {got.barred}"
    totals = statement.totals
    for name, actual in (
        ("total_delta", totals.delta),
        ("total_interest", totals.interest),
        ("total", totals.total),
    ):
        if name in expect:
            same_number(expect[name], actual, name)


_kinds.RUNNERS["backbill"] = run_backbill_case
