"""Meters of one event type: the first copies carry no type, the usage is the same.

When every meter reads one event type, :func:`~meterlib.sql.firsts.first_copies` takes no
``arg_min`` of the type and gives first copies of other types a sentinel time (in no period).
Held here, per event type of the shared test meters, to the portable query (every copy
numbered by a window, type kept) on the same view and to the in-memory accumulator.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.metering.accumulator import Accumulator
from meterlib.sql import build_usage_query, to_sql, usage_from_source
from meterlib.sql import duckdb_engine as engine
from meterlib.sql.firsts import OTHER_TYPE_TIME
from meterlib.testing.events import CUSTOMERS, CYCLE, METERS, WINDOW, event_sets
from tests.budget import examples
from tests.sql_strategies import formats, write_events

TYPES = sorted({meter.event_type for meter in METERS})


def test_a_single_type_leaves_the_type_out_of_the_first_copies() -> None:
    single = [m for m in METERS if m.event_type == TYPES[0]]
    # the portable arg_min form (DuckDB is given repeated_first_copies, type as it stands)
    query = build_usage_query(single, CYCLE, window=WINDOW, first_copy="arg_min")
    sql = to_sql(query.expression, "duckdb", pretty=False)
    assert not re.search(r'ARG_MIN\("type"', sql)
    assert (
        f'CASE WHEN "type" = \'{TYPES[0]}\' THEN EPOCH_US("time") ELSE {OTHER_TYPE_TIME} END'
        in sql
    )
    mixed = build_usage_query(METERS, CYCLE, window=WINDOW, first_copy="arg_min")
    assert re.search(r'ARG_MIN\("type"', to_sql(mixed.expression, "duckdb", pretty=False))


@settings(max_examples=examples(30), deadline=None)
@given(
    stream=event_sets(),
    fmt=formats(),
    kind=st.sampled_from(TYPES),
    customer=st.sampled_from([None, *CUSTOMERS]),
)
def test_single_type_first_copies_equal_the_window_query_and_the_accumulator(
    stream: list[dict[str, Any]], fmt: str, kind: str, customer: str | None
) -> None:
    meters = [m for m in METERS if m.event_type == kind]
    accumulator = Accumulator(meters, CYCLE, window=WINDOW)
    accumulator.add(stream).check()
    with tempfile.TemporaryDirectory() as folder:
        path = write_events(Path(folder), stream, fmt)
        fast = usage_from_source(path, meters, CYCLE, window=WINDOW, customer=customer)
        db, view = engine.source_view(path, meters, 12, None)
        portable = build_usage_query(
            meters,
            CYCLE,
            window=WINDOW,
            customer=customer,
            table=engine.usage_source(view, stored=False)["table"],
            order_by=view.order_by,
            first_copy="window",
            ordered=False,
        )
        slow = portable.table_of_arrow(engine.run_arrow(db, engine.arrow_sql(portable)))
    assert fast == slow
    assert fast.rows() == slow.rows()
    if customer is None:
        assert fast == accumulator.usage()
