"""Every ``aggregate`` conformance case, run through DuckDB as well as the in-memory path.

Cases are loaded exactly as ``test_conformance.py`` loads them (its ``_load_cases``, so folders
in ``METERLIB_CONFORMANCE_DIR`` count too); each case's events are written, in list order, as a
JSON Lines file and aggregated by :func:`meterlib.sql.usage_from_source`. ``error`` cases expect
meterlib's own error (:class:`~meterlib.sql.SqlEngineError` for a value the query refuses).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from meterlib._numbers import ROUNDED
from meterlib.metering.aggregations import KINDS
from meterlib.metering.meters import Aggregation, Meter
from meterlib.periods import Period
from meterlib.sql import usage_from_source
from tests.conformance._common import expect_error, same_number
from tests.conformance.test_conformance import _load_cases

AGGREGATE_CASES = [case for case in _load_cases() if case.values[0].get("kind") == "aggregate"]


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(value)


def _duckdb_figures(case: dict[str, Any], folder: Path) -> dict[str, Decimal]:
    meter = Meter.model_validate({"name": "m", "type": "t", **case["meter"]})
    period = Period(
        datetime.fromisoformat(case["period"]["start"]),
        datetime.fromisoformat(case["period"]["end"]),
    )
    path = folder / "events.jsonl"
    lines = [
        json.dumps({"customer": "c", "type": "t", **event}, default=_text)
        for event in case["events"]
    ]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    table = usage_from_source(path, [meter], [period])
    figures: dict[str, Decimal] = {}
    for key, value in table.rows():
        groups = dict(key.group)
        figures["/".join(groups[name] for name in meter.group_by)] = value
    return figures


def _rounded(value: Decimal | None, places: Any) -> Decimal | None:
    if value is None or places is None:
        return value
    return value.quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP, context=ROUNDED)


def test_there_are_aggregate_cases() -> None:
    assert AGGREGATE_CASES, "no aggregate case found: the DuckDB runner would check nothing"


@pytest.mark.parametrize("case", AGGREGATE_CASES)
def test_aggregate_case_through_duckdb(case: dict[str, Any], tmp_path: Path) -> None:
    figures = expect_error(case, lambda: _duckdb_figures(case, tmp_path))
    if figures is None:
        return
    places = case.get("places")
    if "values" in case:
        assert set(figures) == set(case["values"])
        for group, figure in case["values"].items():
            same_number(figure, _rounded(figures[group], places), f"value of group {group!r}")
        return
    assert len(figures) <= 1, f"a case without group_by got several groups: {sorted(figures)}"
    found = figures.get("")
    if found is None:
        found = KINDS[Aggregation(case["meter"]["aggregation"])].empty
    same_number(case["value"], _rounded(found, places), "value")
