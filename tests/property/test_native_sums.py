"""Exact number columns aggregated in their own type equal every value cast row by row.

A Parquet file with typed columns (``DECIMAL(18, 6)``, ``DECIMAL(38, 12)``, ``BIGINT``) is read
by :func:`~meterlib.sql.usage_from_source`, whose query sums, takes the min, max and latest of
those columns in their own type and casts once per cell (:class:`~meterlib.sql.cells.
ExactColumns`). The same view is queried with the columns' names only (every row cast to
``DECIMAL(38, scale)`` first, the former query) and with no exact column at all (every value
read from its text): the three tables must be equal, figure by figure, places included.
"""

from __future__ import annotations

import pickle
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period
from meterlib.sql import SqlEngineError, build_usage_query, usage_from_source
from meterlib.sql import duckdb_engine as engine
from meterlib.sql.cells import ExactColumns
from tests.budget import examples

CYCLE = BillingCycle(anchor=datetime(2023, 1, 1, tzinfo=UTC), timezone="UTC")
WINDOW = Period(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 4, 1, tzinfo=UTC))
METERS = [
    Meter.model_validate(
        {"name": f"{kind}_{prop}", "type": "t", "aggregation": kind, "property": prop}
    )
    for prop in ("small", "wide", "whole")
    for kind in ("sum", "min", "max", "latest")
] + [
    Meter.model_validate(
        {
            "name": "grouped",
            "type": "t",
            "aggregation": "sum",
            "property": "small",
            "group_by": ["region"],
        }
    ),
    Meter.model_validate(
        {
            "name": "filtered",
            "type": "t",
            "aggregation": "max",
            "property": "wide",
            "filters": {"region": {"equals": "eu"}},
        }
    ),
]
TYPES = {"small": "DECIMAL(18, 6)", "wide": "DECIMAL(38, 12)", "whole": "BIGINT"}

events = st.lists(
    st.tuples(
        st.integers(0, 8),  # id: small, so that ids repeat (first copy wins)
        st.sampled_from(["a", "b"]),
        st.sampled_from(["t", "other"]),
        st.integers(0, 89 * 86_400),  # seconds into the window
        st.decimals(min_value=-(10**11), max_value=10**11, places=6, allow_nan=False),
        st.decimals(min_value=-(10**20), max_value=10**20, places=12, allow_nan=False),
        st.integers(-(2**62), 2**62),
        st.sampled_from(["eu", "us"]),
    ),
    min_size=1,
    max_size=25,
)


def _parquet(folder: Path, rows: list[tuple[Any, ...]]) -> Path:
    path = folder / "typed.parquet"
    with duckdb.connect() as db:
        db.execute(
            "CREATE TABLE e (id VARCHAR, customer VARCHAR, type VARCHAR, time TIMESTAMPTZ, "
            f"small {TYPES['small']}, wide {TYPES['wide']}, whole {TYPES['whole']}, region VARCHAR)"
        )
        start = WINDOW.start
        db.executemany(
            "INSERT INTO e VALUES (?, ?, ?, ?, CAST(? AS DECIMAL(18, 6)), "
            "CAST(? AS DECIMAL(38, 12)), ?, ?)",
            [
                (f"e{i}", c, t, start + timedelta(seconds=s), str(q), str(w), n, r)
                for i, c, t, s, q, w, n, r in rows
            ],
        )
        db.execute(f"COPY e TO '{path}' (FORMAT parquet)")
    return path


def _table(db: Any, view: Any, exact: Any) -> Any:
    query = build_usage_query(
        METERS,
        CYCLE,
        window=WINDOW,
        exact_columns=exact,
        ordered=False,
        **engine.usage_source(view, stored=False),
    )
    return query.table_of_arrow(engine.run_arrow(db, engine.arrow_sql(query)))


@settings(max_examples=examples(40), deadline=None)
@given(rows=events)
def test_typed_columns_aggregated_uncast_equal_every_row_cast(rows: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _parquet(Path(folder), rows)
        fast = usage_from_source(path, METERS, CYCLE, window=WINDOW)
        db, view = engine.source_view(path, METERS, 12, None)
        assert isinstance(view.exact_columns, ExactColumns)
        assert dict(view.exact_columns.types) == {k: v.replace(" ", "") for k, v in TYPES.items()}
        cast_rows = _table(db, view, frozenset(view.exact_columns))
        from_text = _table(db, view, ())
    assert fast == cast_rows == from_text
    assert [(k, str(v)) for k, v in fast.rows()] == [(k, str(v)) for k, v in cast_rows.rows()]
    assert [(k, str(v)) for k, v in fast.rows()] == [(k, str(v)) for k, v in from_text.rows()]


def test_the_uncast_query_keeps_the_result_type_and_casts_only_aggregates() -> None:
    exact = ExactColumns(TYPES)
    query = build_usage_query(METERS[:1], CYCLE, window=WINDOW, exact_columns=exact)
    sql = query.sql(pretty=False)
    assert 'ELSE "small" END' in sql
    assert 'CAST("small" AS DECIMAL(38, 12))' not in sql
    assert 'CAST(SUM("v0") AS DECIMAL(38, 12))' in sql
    # names alone (no types), or a scale below the column's places: every row cast as before
    for columns, scale in ((frozenset(TYPES), 12), (exact, 4)):
        query = build_usage_query(
            METERS[:1], CYCLE, window=WINDOW, exact_columns=columns, scale=scale
        )
        assert f'CAST("small" AS DECIMAL(38, {scale}))' in query.sql(pretty=False)


def test_a_missing_value_in_a_typed_column_stops_the_query_naming_the_event() -> None:
    db = duckdb.connect()
    db.execute(
        "CREATE TABLE events AS SELECT 'e1' AS id, 'a' AS customer, 't' AS type, "
        "TIMESTAMPTZ '2023-01-05 00:00:00+00' AS time, CAST(NULL AS DECIMAL(18, 6)) AS small, "
        "1 AS received_at"
    )
    query = build_usage_query(
        METERS[:1], CYCLE, window=WINDOW, exact_columns=ExactColumns({"small": "DECIMAL(18,6)"})
    )
    with pytest.raises(SqlEngineError, match=r"meterlib: event 'e1': properties\.small = missing"):
        engine.run_arrow(db, engine.arrow_sql(query))


def test_exact_columns_are_a_frozenset_of_names() -> None:
    exact = ExactColumns({"q": "BIGINT"})
    assert exact == frozenset({"q"})
    assert "q" in exact
    assert hash(exact) == hash(frozenset({"q"}))
    assert dict(ExactColumns(["q"]).types) == {}
    mixed = ExactColumns({"q": "BIGINT", "r": ""})
    copied = pickle.loads(pickle.dumps(mixed))  # noqa: S301  (our own bytes)
    assert type(copied) is ExactColumns
    assert copied == mixed == frozenset({"q", "r"})
    assert dict(copied.types) == {"q": "BIGINT"}
