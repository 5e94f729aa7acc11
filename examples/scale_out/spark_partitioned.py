"""The generated usage query run by Spark over Parquet partitioned by month.

1. Read ``examples/metering/events.jsonl`` (the in-memory accumulator validates it; invalid
   lines and rejected events are reported and left out of the Parquet copy).
2. Write the valid events with DuckDB as Hive-partitioned Parquet (``month=YYYY-MM/``): flat
   columns ``id``, ``customer``, ``type``, ``time`` (an instant), one text column per property
   and ``received_at`` (the line number: first received = earlier line).
3. Start a local Spark session with :data:`meterlib.sql.SPARK_CONF`, read the partitioned
   Parquet as the ``events`` view, run the Spark SQL printed by
   :func:`meterlib.sql.build_usage_query` and print the usage table.
4. Check the figures against the accumulator and against DuckDB over the same Parquet files.

For the other scale-out path, partial aggregates merged across worker processes, see
``examples/metering/parallel_aggregate.py``.

Run from the repository root: ``python examples/scale_out/spark_partitioned.py``.
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
from pyspark.sql import SparkSession

from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import load_meters
from meterlib.periods import BillingCycle, Period
from meterlib.sql import SPARK_CONF, build_usage_query, usage_from_source
from meterlib.sql.compile import properties_read

ROOT = Path(__file__).resolve().parents[1] / "metering"
CYCLE = BillingCycle(anchor=date(2024, 1, 1), timezone="UTC")
WINDOW = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))


def valid_events(meters: Any) -> list[dict[str, Any]]:
    """The events of the sample file that the accumulator accepts, with their line numbers."""
    events: list[dict[str, Any]] = []
    for number, line in enumerate((ROOT / "events.jsonl").read_text().splitlines(), start=1):
        try:
            event = json.loads(line, parse_float=Decimal)
        except json.JSONDecodeError:
            print(f"line {number}: not JSON, left out")
            continue
        events.append({**event, "received_at": number})
    report = Accumulator(meters, CYCLE, window=WINDOW).add(
        {k: v for k, v in e.items() if k != "received_at"} for e in events
    )
    bad = {r.index for r in report.rejected}
    for rejection in report.rejected:
        print(f"rejected: {rejection.reason}")
    return [e for i, e in enumerate(events) if i not in bad]


def write_parquet(events: list[dict[str, Any]], names: list[str], folder: Path) -> None:
    """Hive-partitioned Parquet, one folder per month of event time (UTC)."""
    rows = [
        (
            e["id"],
            e["customer"],
            e["type"],
            e["time"],
            e["received_at"],
            *(None if e["properties"].get(n) is None else str(e["properties"][n]) for n in names),
        )
        for e in events
    ]
    columns = ", ".join(f'"{n}" VARCHAR' for n in names)
    with duckdb.connect() as db:
        db.execute(
            "CREATE TABLE raw (id VARCHAR, customer VARCHAR, type VARCHAR, time_text VARCHAR, "
            f"received_at BIGINT, {columns})"
        )
        marks = ", ".join("?" * (5 + len(names)))
        db.executemany(f"INSERT INTO raw VALUES ({marks})", rows)  # noqa: S608  (placeholders only)
        db.sql(
            "SELECT * EXCLUDE (time_text), CAST(time_text AS TIMESTAMPTZ) AS time, "
            "strftime(timezone('UTC', CAST(time_text AS TIMESTAMPTZ)), '%Y-%m') AS month FROM raw"
        ).write_parquet(str(folder), partition_by=["month"])


def main() -> None:
    """Run the example."""
    meters = load_meters(ROOT / "meters.toml")
    events = valid_events(meters)
    expected = Accumulator(meters, CYCLE, window=WINDOW)
    expected.add({k: v for k, v in e.items() if k != "received_at"} for e in events).check()
    query = build_usage_query(meters, CYCLE, window=WINDOW)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "events"
        write_parquet(events, properties_read(meters), folder)
        builder = SparkSession.builder.master("local[2]").appName("meterlib-scale-out")
        for key, value in {
            **SPARK_CONF,
            "spark.sql.shuffle.partitions": "2",
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
        }.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        try:
            spark.read.parquet(str(folder)).createOrReplaceTempView("events")
            rows = [tuple(r) for r in spark.sql(query.sql("spark")).collect()]
        finally:
            spark.stop()
        table = query.table(rows)
        duck = usage_from_source(str(folder / "*" / "*.parquet"), meters, CYCLE, window=WINDOW)
    print(table.render("text"))
    print(f"Spark: {len(table)} cells from {len(events)} events in {len(query.periods)} periods")
    print("equal to the in-memory accumulator:", table == expected.usage())
    print("equal to DuckDB over the same Parquet files:", table == duck)


if __name__ == "__main__":
    main()
