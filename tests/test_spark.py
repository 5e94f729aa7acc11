"""The Spark SQL text of the usage query, run on a local Spark session, equals the accumulator.

One session for the module (``local[1]``, one shuffle partition), with the settings of
:data:`meterlib.sql.SPARK_CONF` (ANSI mode, no decimal precision loss). The fixed event set has
a duplicate re-sent in another offset, a conflict, events on and one microsecond beside the
DST-shifted Berlin month boundaries, an event outside the window and a 12-place decimal.

Spark is optional (``pip install 'meterlib[spark]'`` plus a Java runtime): without pyspark or
without Java the module is skipped with the reason, unless ``METERLIB_REQUIRE_SPARK`` is set (as
``.ci/run`` does), where a missing piece fails instead of skipping.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from meterlib.metering.accumulator import Accumulator
from meterlib.sql import SPARK_CONF, build_conflicts_query, build_usage_query, to_sql
from meterlib.testing.events import CYCLE, METERS, WINDOW


def _missing_spark_piece() -> str | None:
    """Why Spark cannot run here, or None when pyspark and a Java runtime are both present."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed (pip install 'meterlib[spark]')"
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return None
    if shutil.which("java") is None:
        return "no Java runtime for Spark (set JAVA_HOME or put java on PATH; Java 17+)"
    return None


_MISSING = _missing_spark_piece()
if _MISSING is not None:
    if os.environ.get("METERLIB_REQUIRE_SPARK"):
        pytest.fail(f"METERLIB_REQUIRE_SPARK is set but {_MISSING}", pytrace=False)
    pytest.skip(_MISSING, allow_module_level=True)

import pyspark  # noqa: E402  (after the check above, which explains a missing piece)

_MICRO = timedelta(microseconds=1)


def _at(instant: datetime, micros: int = 0, hours: int = 0) -> str:
    zone = timezone(timedelta(hours=hours)) if hours else UTC
    return (instant + micros * _MICRO).astimezone(zone).isoformat()


def _events() -> list[dict[str, Any]]:
    feb, mar = CYCLE.start(1), CYCLE.start(2)
    rows: list[tuple[str, str, str, str, dict[str, str]]] = [
        ("e1", "cus_a", "api.call", _at(feb, -1), {"qty": "1.000000000001", "region": "eu"}),
        ("e2", "cus_a", "api.call", _at(feb), {"qty": "2", "region": "eu"}),
        ("e3", "cus_a", "api.call", _at(feb, 1, hours=-8), {"qty": "-3.5", "region": "us"}),
        ("e4", "cus_b", "api.call", _at(mar, -1, hours=5), {"qty": "10", "region": "ap"}),
        ("e5", "cus_b", "seat.seen", _at(mar), {"qty": "4", "user": "u1"}),
        ("e6", "cus_b", "seat.seen", _at(mar, 5), {"qty": "6", "user": "07"}),
        ("e7", "cus_b", "seat.seen", _at(mar, 5), {"qty": "8", "user": "7"}),
        ("e8", "cus_c", "storage.delta", _at(feb, 3_600_000_000), {"qty": "100"}),
        ("e9", "cus_c", "storage.delta", _at(mar, -7), {"qty": "-40.25"}),
        ("e10", "cus_c", "api.call", _at(WINDOW.end), {"qty": "1", "region": "eu"}),
        ("e2", "cus_a", "api.call", _at(feb, hours=3), {"qty": "2", "region": "eu"}),
        ("e4", "cus_b", "api.call", _at(mar, -1, hours=5), {"qty": "11", "region": "ap"}),
    ]
    return [
        {"id": i, "customer": c, "type": t, "time": time, "properties": p}
        for i, c, t, time, p in rows
    ]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    builder = (
        pyspark.sql.SparkSession.builder.master("local[1]")
        .appName("meterlib-tests")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
    )
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("OFF")  # the refusal test fails a job on purpose
    events = _events()
    rows = [
        (
            e["id"],
            e["customer"],
            e["type"],
            e["time"],
            e["properties"].get("qty"),
            e["properties"].get("region"),
            e["properties"].get("user"),
            position,
        )
        for position, e in enumerate(events)
    ]
    raw = session.createDataFrame(
        rows,
        "id string, customer string, type string, time_text string, qty string, "
        "region string, user string, received_at long",
    )
    raw.createOrReplaceTempView("raw_events")
    session.sql(
        "SELECT id, customer, type, CAST(time_text AS TIMESTAMP) AS time, qty, region, user, "
        "received_at FROM raw_events"
    ).createOrReplaceTempView("events")
    yield session
    session.stop()


def test_spark_sql_gives_the_accumulators_figures(spark: Any) -> None:
    query = build_usage_query(METERS, CYCLE, window=WINDOW)
    rows = [tuple(row) for row in spark.sql(query.sql("spark")).collect()]
    expected = Accumulator(METERS, CYCLE, window=WINDOW)
    expected.add(_events()).check()
    assert query.table(rows) == expected.usage()
    assert len(rows) == len(expected.usage()) > 8


def test_spark_min_by_first_copies_give_the_window_querys_figures(spark: Any) -> None:
    """``first_copy="arg_min"`` (``MIN_BY`` per column, a NULL mask) in Spark, for all meters
    and for each type's meters alone (the type not carried, a sentinel time for others)."""
    kinds = sorted({m.event_type for m in METERS})
    for meters in [list(METERS), *([m for m in METERS if m.event_type == k] for k in kinds)]:
        tables = []
        for first_copy in ("window", "arg_min"):
            query = build_usage_query(meters, CYCLE, window=WINDOW, first_copy=first_copy)
            tables.append(query.table([tuple(r) for r in spark.sql(query.sql("spark")).collect()]))
        assert tables[0] == tables[1]
        assert len(tables[1]) > 0


def test_spark_lists_the_conflict(spark: Any) -> None:
    text = to_sql(build_conflicts_query(["qty", "region", "user"]), "spark")
    rows = spark.sql(text).collect()
    assert [(r["id"], r["first_qty"], r["other_qty"]) for r in rows] == [("e4", "10", "11")]


def test_spark_refuses_a_value_with_too_many_places(spark: Any) -> None:
    spark.sql(
        "SELECT id, customer, type, time, CASE WHEN id = 'e1' THEN '0.0000000000001' "
        "ELSE qty END AS qty, region, user, received_at FROM events"
    ).createOrReplaceTempView("bad_events")
    query = build_usage_query(METERS, CYCLE, window=WINDOW, table="bad_events")
    with pytest.raises(Exception, match=r"event .{1,2}e1.{1,2}: properties\.qty"):
        spark.sql(query.sql("spark")).collect()
