"""Parquet statistics prove a file clean only when a scan of its rows finds it clean.

:func:`~meterlib.sql.sources.proven_by_statistics` lets the DuckDB path skip the aggregate
pass over clean Parquet files. Held here to that pass: random files (several row groups,
one or two files, missing and empty texts, times out of the accepted range, a column absent
from one file) are proven clean only when the scan finds nothing wrong; the usage and the
rejections of a source are the same with the statistics used or ignored.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period
from meterlib.sql import SqlEngineError, scan_source, sources
from tests.budget import examples

CYCLE = BillingCycle(anchor=datetime(2023, 1, 1, tzinfo=UTC), timezone="UTC")
WINDOW = Period(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 3, 1, tzinfo=UTC))
METERS = [
    Meter.model_validate({"name": "units", "type": "t", "aggregation": "sum", "property": "q"}),
    Meter.model_validate(
        {"name": "n", "type": "t", "aggregation": "count", "group_by": ["region"]}
    ),
]
TIMES = [
    "2023-01-05 00:00:00+00",
    "2023-02-20 12:00:00+00",
    "1899-12-31 23:00:00+00",
    "2201-01-01 00:00:00+00",
    None,
]

rows = st.lists(
    st.tuples(
        st.sampled_from(["e1", "e2", "e3", "", None]),
        st.sampled_from(["a", "b", "", None]),
        st.sampled_from(["t", "t", "other", "", None]),
        st.sampled_from(TIMES),
        st.sampled_from(["1.5", "2", None]),
        st.sampled_from(["eu", "us", None]),
    ),
    min_size=1,
    max_size=12,
)


def _write(path: Path, events: list[tuple[Any, ...]], region: bool) -> None:
    with duckdb.connect() as db:
        db.execute(
            "CREATE TABLE e (id VARCHAR, customer VARCHAR, type VARCHAR, time TIMESTAMPTZ, "
            "q DECIMAL(18, 6), region VARCHAR)"
        )
        db.executemany("INSERT INTO e VALUES (?, ?, ?, CAST(? AS TIMESTAMPTZ), ?, ?)", events)
        columns = "*" if region else "id, customer, type, time, q"
        db.execute(
            f"COPY (SELECT {columns} FROM e) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 3)"  # noqa: S608  (test names)
        )


def _scan_finds_nothing(files: list[str], present: list[str]) -> bool:
    listing = "[" + ", ".join(f"'{f}'" for f in files) + "]"
    checks = [
        "id IS NULL OR id = '' OR customer IS NULL OR customer = '' OR type IS NULL OR type = ''",
        (
            "time IS NULL OR time < TIMESTAMPTZ '1900-01-01 00:00:00+00' "
            "OR time >= TIMESTAMPTZ '2201-01-01 00:00:00+00'"
        ),
        *(f'"type" = \'t\' AND "{c}" IS NULL' for c in present),
    ]
    counts = ", ".join(f"count(*) FILTER (WHERE {c})" for c in checks)
    with duckdb.connect() as db:
        found = db.execute(
            f"SELECT {counts} FROM read_parquet({listing}, union_by_name = true)"  # noqa: S608
        ).fetchone()
    return found is not None and not any(found)


@settings(max_examples=examples(60), deadline=None)
@given(first=rows, second=st.none() | rows, region_everywhere=st.booleans())
def test_statistics_prove_only_what_a_scan_confirms(
    first: list[tuple[Any, ...]], second: list[tuple[Any, ...]] | None, region_everywhere: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = [str(Path(folder) / "a.parquet")]
        _write(Path(files[0]), first, True)
        if second is not None:
            files.append(str(Path(folder) / "b.parquet"))
            _write(Path(files[1]), second, region_everywhere)
        present = ["q", "region"]
        with duckdb.connect() as db:
            proven = sources.proven_by_statistics(
                db, files, ["id", "customer", "type", "time", *present], []
            )
            assert not sources.proven_by_statistics(db, files, ["id"], ["a text check"])
        if proven:
            assert _scan_finds_nothing(files, present)
        if second is None and _scan_finds_nothing(files, present) and all(r[4] for r in first):
            # a clean file written by DuckDB carries every statistic: proven without a scan
            assert proven


@settings(max_examples=examples(30), deadline=None)
@given(first=rows, second=st.none() | rows)
def test_usage_and_rejections_are_the_same_with_statistics_ignored(
    first: list[tuple[Any, ...]], second: list[tuple[Any, ...]] | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        files = [str(Path(folder) / "a.parquet")]
        _write(Path(files[0]), first, True)
        if second is not None:
            files.append(str(Path(folder) / "b.parquet"))
            _write(Path(files[1]), second, True)
        results = []
        for ignore in (False, True):
            with pytest.MonkeyPatch.context() as patch:
                if ignore:
                    patch.setattr(sources, "proven_by_statistics", lambda *_: False)
                try:
                    got: Any = scan_source(files, METERS, CYCLE, window=WINDOW)
                except SqlEngineError as error:
                    got = str(error)
            results.append(got)
    assert results[0] == results[1]
