"""The usage query's first copies where a shortcut could err.

``arg_min`` of a column skips NULL values and :func:`~meterlib.sql.firsts.first_copies` gives
a first copy of a type no meter reads a sentinel time; DuckDB's form
(:func:`~meterlib.sql.firsts.repeated_first_copies`) keeps every row of an id sent once: a
first copy's missing property must stay missing, and a first copy of another type must count
nowhere even when a later copy has the meters' type. Both held to the in-memory
:class:`Accumulator`, over every file format, with all the shared test meters (several types)
and with the ``api.call`` meters alone (one type: the portable form carries no type).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from meterlib.metering.accumulator import Accumulator
from meterlib.sql import build_usage_query, to_sql, usage_from_source
from meterlib.sql import duckdb_engine as engine
from meterlib.sql.firsts import OTHER_TYPE_TIME
from meterlib.testing.events import CYCLE, METERS, WINDOW
from tests.sql_strategies import FORMATS, write_events

# Meters that do not group by ``region`` (a missing group value is a rejection): ``eu_units``
# filters on it, so a first copy without it counts for no ``eu_units`` cell.
UNGROUPED = [m for m in METERS if not m.group_by]
CALLS = [m for m in UNGROUPED if m.event_type == "api.call"]


def _event(event_id: str, kind: str, day: int, properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": event_id,
        "customer": "cus_a",
        "type": kind,
        "time": f"2024-02-{day:02d}T12:00:00+00:00",
        "properties": properties,
    }


# e1: the first copy has no region, the later one "eu" (a conflict: the first copy wins).
# e2: the first copy is a storage.delta, the later an api.call (a conflict: counted nowhere
# by the api.call meters). e3: a plain api.call in "eu", so the cells are not all empty.
STREAM = [
    _event("e1", "api.call", 3, {"qty": "2"}),
    _event("e2", "storage.delta", 4, {"qty": "5"}),
    _event("e1", "api.call", 3, {"qty": "2", "region": "eu"}),
    _event("e2", "api.call", 4, {"qty": "7", "region": "eu"}),
    _event("e3", "api.call", 5, {"qty": "3", "region": "eu"}),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("meters", [UNGROUPED, CALLS], ids=["several_types", "one_type"])
def test_first_copies_keep_missing_values_and_other_types(
    tmp_path: Path, fmt: str, meters: list[Any]
) -> None:
    accumulator = Accumulator(meters, CYCLE, window=WINDOW)
    report = accumulator.add(STREAM)
    assert {c.event_id for c in report.conflicts} == {"e1", "e2"}
    assert not report.rejected
    expected = accumulator.usage()
    path = write_events(tmp_path, STREAM, fmt)
    usage = usage_from_source(path, meters, CYCLE, window=WINDOW)
    assert usage == expected
    assert usage.rows() == expected.rows()
    # Both forms of the first copies, run by DuckDB over the same view: the ids sent again
    # found first (what DuckDB is given) and the portable one (arg_min per column, NULL mask).
    db, view = engine.source_view(path, meters, 12, None)
    query = build_usage_query(
        meters, CYCLE, window=WINDOW, **engine.usage_source(view, stored=False)
    )
    assert query.duckdb_expression is not None
    for text in (query.sql("duckdb"), to_sql(query.expression, "duckdb")):
        assert query.table(db.sql(text).fetchall()) == expected
    assert "HAVING COUNT(*) > 1" in query.sql("duckdb", pretty=False)
    assert "meterlib_nulls_0" in to_sql(query.expression, "duckdb")
    figures = {k.meter: v for k, v in usage.rows() if k.meter in {"units", "eu_units"}}
    # e1 (2) and e3 (3): e2's api.call copy never counts; e1 has no region (its first copy)
    assert figures == {"units": 5, "eu_units": 3}


def test_one_type_gives_other_types_the_sentinel_time() -> None:
    # the portable arg_min form (DuckDB's own form reads each row's type as it stands)
    query = build_usage_query(CALLS, CYCLE, window=WINDOW, first_copy="arg_min")
    one = to_sql(query.expression, "duckdb", pretty=False)
    assert str(OTHER_TYPE_TIME) in one
    assert not re.search(r'ARG_MIN\("type"', one)
    assert str(OTHER_TYPE_TIME) not in query.sql("duckdb", pretty=False)
    several = build_usage_query(UNGROUPED, CYCLE, window=WINDOW, first_copy="arg_min")
    assert re.search(r'ARG_MIN\("type"', to_sql(several.expression, "duckdb", pretty=False))
    assert str(OTHER_TYPE_TIME) not in to_sql(several.expression, "duckdb", pretty=False)
