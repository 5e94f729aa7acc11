"""Conformance kind ``aggregate``: one meter over one period's events.

The case's meter becomes a :class:`~meterlib.metering.meters.Meter` (named ``m``, counting events
of type ``t``) and its events are fed, in list order and as raw mappings, to an
:class:`~meterlib.metering.accumulator.Accumulator` whose only period of interest is the case's
period. Invalid events are rejected by the accumulator; :meth:`BatchReport.check` turns a
rejection into meterlib's own error, which an ``error`` case expects. Importing this module
registers the runner in ``_kinds.RUNNERS``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from meterlib._numbers import ROUNDED
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.aggregations import KINDS
from meterlib.metering.meters import Aggregation, Meter
from meterlib.periods import Period
from tests.conformance import _kinds
from tests.conformance._common import check_fields, expect_error, same_number

_CASE_FIELDS = frozenset({"meter", "period", "events", "value", "values", "places", "error"})
_METER_FIELDS = frozenset({"aggregation", "property", "group_by"})
_PERIOD_FIELDS = frozenset({"start", "end"})
_EVENT_FIELDS = frozenset({"id", "time", "properties"})


def _rounded(value: Decimal | None, places: Any) -> Decimal | None:
    if value is None or places is None:
        return value
    return value.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP, context=ROUNDED)


def _aggregate(case: dict[str, Any]) -> dict[str, Decimal]:
    """Figures by group key (the group's values joined by ``/``; ``""`` without group_by)."""
    spec = case["meter"]
    meter = Meter.model_validate({"name": "m", "type": "t", **spec})
    period = Period(
        datetime.fromisoformat(case["period"]["start"]),
        datetime.fromisoformat(case["period"]["end"]),
    )
    accumulator = Accumulator([meter], [period])
    accumulator.add(
        {"customer": "c", "type": "t", **event} for event in case["events"]
    ).check()
    figures: dict[str, Decimal] = {}
    for key, value in accumulator.usage().rows():
        groups = dict(key.group)
        figures["/".join(groups[name] for name in meter.group_by)] = value
    return figures


def run_aggregate_case(case: dict[str, Any]) -> None:
    """Aggregate the case's events with its meter and compare the figure(s)."""
    check_fields(case, _CASE_FIELDS)
    check_fields(case.get("meter", {}), _METER_FIELDS, where="meter")
    check_fields(case.get("period", {}), _PERIOD_FIELDS, where="period")
    for event in case.get("events", []):
        check_fields(event, _EVENT_FIELDS, where="event")
    if "error" not in case and ("value" in case) == ("values" in case):
        pytest.fail("an aggregate case expects exactly one of 'value', 'values' or 'error'")
    figures = expect_error(case, lambda: _aggregate(case))
    if figures is None:
        return
    places = case.get("places")
    if "values" in case:
        expected = case["values"]
        assert set(figures) == set(expected), (
            f"groups: expected {sorted(expected)}, got {sorted(figures)}"
        )
        for group, figure in expected.items():
            same_number(figure, _rounded(figures[group], places), f"value of group {group!r}")
        return
    if len(figures) > 1:
        pytest.fail(f"a case without group_by got several groups: {sorted(figures)}")
    found = figures.get("")
    if found is None:  # no event in the period: the aggregation's empty value (0 or none)
        found = KINDS[Aggregation(case["meter"]["aggregation"])].empty
    same_number(case["value"], _rounded(found, places), "value")


_kinds.RUNNERS["aggregate"] = run_aggregate_case
