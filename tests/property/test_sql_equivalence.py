"""DuckDB computes exactly what the in-memory accumulator computes, on the same event stream.

Streams come from the shared ``event_sets()`` (duplicates, re-sends in other offsets, conflicts,
events on and beside DST-shifted period boundaries, events outside the window, decimals with
up to 12 places, negative amounts), written as JSON Lines, CSV or Parquet in arrival order.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.metering.accumulator import Accumulator
from meterlib.sql import build_usage_query, scan_source, usage_from_source
from meterlib.testing.events import CUSTOMERS, CYCLE, METERS, WINDOW, event_sets
from tests.budget import examples
from tests.sql_strategies import formats, write_events


def _engines(stream: list[dict[str, Any]], fmt: str, customer: str | None = None) -> Any:
    accumulator = Accumulator(METERS, CYCLE, window=WINDOW)
    report = accumulator.add(stream).check()
    with tempfile.TemporaryDirectory() as folder:
        path = write_events(Path(folder), stream, fmt)
        scanned = scan_source(path, METERS, CYCLE, window=WINDOW, customer=customer)
    return accumulator, report, scanned


# Each example writes a file and runs DuckDB: fewer examples than the pure-Python laws.
@settings(max_examples=examples(50))
@given(stream=event_sets(), fmt=formats())
def test_duckdb_usage_equals_the_accumulator(stream: list[dict[str, Any]], fmt: str) -> None:
    accumulator, _, scanned = _engines(stream, fmt)
    assert scanned.table == accumulator.usage()
    assert scanned.table.rows() == accumulator.usage().rows()


@settings(max_examples=examples(40))
@given(stream=event_sets(), fmt=formats())
def test_duckdb_accounts_for_every_row_as_the_accumulator(
    stream: list[dict[str, Any]], fmt: str
) -> None:
    _, report, scanned = _engines(stream, fmt)
    got = scanned.report
    assert got.received == report.received == len(stream)
    assert (got.accepted, got.duplicates, got.outside, got.unmetered) == (
        report.accepted,
        report.duplicates,
        report.outside,
        report.unmetered,
    )
    assert sorted(c.event_id for c in got.conflicts) == sorted(c.event_id for c in report.conflicts)
    for conflict in got.conflicts:
        assert conflict.first.instant == next(
            c.first.instant for c in report.conflicts if c.event_id == conflict.event_id
        )


@settings(max_examples=examples(25))
@given(stream=event_sets(), customer=st.sampled_from(CUSTOMERS))
def test_one_customer_is_the_customers_rows_of_the_whole(
    stream: list[dict[str, Any]], customer: str
) -> None:
    accumulator, _, scanned = _engines(stream, "jsonl", customer)
    expected = {k: v for k, v in accumulator.usage().items() if k.customer == customer}
    assert dict(scanned.table) == expected


@settings(max_examples=examples(25))
@given(stream=event_sets(max_events=25))
def test_a_cycle_without_window_counts_every_period_events_reach(
    stream: list[dict[str, Any]],
) -> None:
    accumulator = Accumulator(METERS, CYCLE)
    accumulator.add(stream).check()
    with tempfile.TemporaryDirectory() as folder:
        path = write_events(Path(folder), stream, "jsonl")
        table = usage_from_source(path, METERS, CYCLE)
    assert table == accumulator.usage()


@settings(max_examples=examples(25))
@given(stream=event_sets(), fmt=formats(), customer=st.sampled_from([None, *CUSTOMERS]))
def test_stored_first_copies_give_the_same_usage_and_report_as_grouping_again(
    stream: list[dict[str, Any]], fmt: str, customer: str | None
) -> None:
    """scan_source groups by id once (a temporary table); each query grouping again agrees."""
    from meterlib.sql import duckdb_engine as engine  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder:
        path = write_events(Path(folder), stream, fmt)
        db, view = engine.source_view(path, METERS, 12, None)
        chosen = list(CYCLE.periods_between(WINDOW.start, WINDOW.end))
        results = []
        for store in (False, True):
            stored = store and engine.store_first_copies(db, view)
            assert stored == (store and len(view.order_by) == 1)
            query = build_usage_query(
                METERS,
                chosen,
                customer=customer,
                exact_columns=view.exact_columns,
                ordered=False,
                **engine.usage_source(view, stored=stored),
            )
            table = query.table_of_arrow(engine.run_arrow(db, engine.arrow_sql(query)))
            report = engine.receipt_report(
                db, view, METERS, chosen, customer=customer, stored=stored
            )
            results.append((table, report))
    (table, report), (stored_table, stored_report) = results
    assert stored_table == table
    assert stored_report == report
