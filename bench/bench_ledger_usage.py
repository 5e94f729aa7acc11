"""Benchmark (issue 16, item 4): a month's usage of 1,000 customers from a large ledger.

Fills an SQLite ledger and a DuckDB ledger with the same ``--events`` rows by SQL (no append:
this measures usage only; ingest is ``bench_ledger_backends.py``): scattered ids, 1,000
customers, 80 % ``api.call``, times spread over 2024, token counts as decimal text, batches of
50,000. Then times ``usage`` of a ``sum`` meter for January 2024 (with the window) and for the
whole year on each, and checks the two give the same table. Target: <= 5 s for the month from
the SQLite ledger (sums over plain decimal text are added by SQLite as scaled integers, no
Python callback per row). The DuckDB ledger on the same rows in the same run is the peer of the
``RESULT`` line (README row ``ledger-usage``).

``python bench/bench_ledger_usage.py`` (5,000,000 events; ``--quick``: 500,000).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from results import emit

from meterlib.ledger import Ledger
from meterlib.ledger.duck import DuckLedger
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period

TARGET = 5.0
CYCLE = BillingCycle(anchor=date(2024, 1, 1))
JANUARY = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
YEAR = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
START_US = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
BATCH = 50_000
# One row per i (the same expressions in both engines' SQL).
ROW = {
    "id": "printf('%08x', (i * 2654435761) % 4294967296) || printf('%08d', i)",
    "customer": "'cus_' || printf('%04d', i % 1000)",
    "type": "CASE WHEN i % 5 = 0 THEN 'storage.delta' ELSE 'api.call' END",
    "time_us": f"{START_US} + (i * 2654435761 % 31622400) * 1000000 + i % 1000000",
    "offset_us": "0",
    "props": "'{\"tokens\":\"' || (1 + i * 31 % 4999) || '\",\"region\":\"eu\"}'",
    "numbers": "NULL",
}


def fill_sqlite(path: Path, count: int) -> None:
    with Ledger(path, durable=False) as ledger:
        db = ledger._db  # the benchmark fills the ledger's own tables directly
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO batches SELECT value, 1704067200000000, NULL, 0, 0, 0, 0, 0 "  # noqa: S608
            f"FROM (WITH RECURSIVE b(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM b "
            f"WHERE value < {count // BATCH + 1}) SELECT value FROM b)"
        )
        columns = ", ".join(f"{sql} AS {name}" for name, sql in ROW.items())
        db.execute(
            f"INSERT INTO events SELECT {columns}, i / {BATCH} + 1 AS batch FROM "  # noqa: S608
            "(WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s "
            f"WHERE i < {count - 1}) SELECT i FROM s)"
        )
        db.execute("COMMIT")


def fill_duck(path: Path, count: int) -> None:
    with DuckLedger(path) as ledger:
        db = ledger._db  # the benchmark fills the ledger's own tables directly
        db.execute(
            "INSERT INTO batches SELECT range, 1704067200000000, NULL, 0, 0, 0, 0, 0 "  # noqa: S608
            f"FROM range(1, {count // BATCH + 2})"
        )
        columns = ", ".join(f"{sql}" for sql in ROW.values())
        db.execute(
            f"INSERT INTO events SELECT (i // {BATCH} + 1) * 4294967296 + i % {BATCH}, "  # noqa: S608
            f"{columns}, i // {BATCH} + 1 FROM (SELECT range AS i FROM range({count}))"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--quick", action="store_true", help="500,000 events")
    parser.add_argument("--dir", help="folder for the temporary files (default: system temp)")
    args = parser.parse_args()
    if args.quick:
        args.events = 500_000
    seconds_of: dict[tuple[str, str], float] = {}
    meter = Meter.model_validate(
        {"name": "tokens", "type": "api.call", "aggregation": "sum", "property": "tokens"}
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        tables = {}
        for name, fill, opener in (
            ("sqlite", fill_sqlite, Ledger),
            ("duckdb", fill_duck, DuckLedger),
        ):
            path = Path(folder) / f"ledger.{name}"
            began = time.perf_counter()
            fill(path, args.events)
            print(f"{name}: filled {args.events:,} events in {time.perf_counter() - began:.1f} s")
            with opener(path) as ledger:
                for label, window in (("January", JANUARY), ("year", YEAR)):
                    began = time.perf_counter()
                    table = ledger.usage([meter], CYCLE, window=window)
                    seconds = time.perf_counter() - began
                    tables[(name, label)] = table
                    seconds_of[(name, label)] = seconds
                    verdict = "" if label != "January" else (
                        f" (target <= {TARGET} s: {'met' if seconds <= TARGET else 'NOT met'})"
                    )
                    print(f"{name}: {label} usage of {len(table):,} cells in {seconds:.2f} s"
                          f"{verdict}", flush=True)
        for label in ("January", "year"):
            same = tables[("sqlite", label)] == tables[("duckdb", label)]
            print(f"{label}: both backends give the same table: {same}")
    month = seconds_of[("sqlite", "January")]
    emit(
        "ledger-usage",
        what=f"usage of one month, 1,000 customers, from a {args.events:,}-event SQLite ledger",
        target=f"≤ {TARGET:g} s, exact",
        measured=f"{month:.2f} s (1 round)",
        met=month <= TARGET and tables[("sqlite", "January")] == tables[("duckdb", "January")],
        bound=f"DuckDB ledger on the same rows: {seconds_of[('duckdb', 'January')]:.2f} s",
        command="python bench/bench_ledger_usage.py" + (" --quick" if args.quick else ""),
    )


if __name__ == "__main__":
    main()
