"""Benchmark: ingest JSON Lines into the SQLite ledger; throughput and flat memory.

For each size in ``--sizes`` (default 500,000 and 5,000,000 events) a seeded JSON Lines file is
written (random 128-bit hex ids, 1,000 customers, two event types, token counts as decimal
text, times over 2024 in several offsets, about 0.5 % re-sent duplicates). A child process then
ingests it into a fresh ledger exactly as ``meterlib ingest`` does (streaming reader, batches
of ``--batch-size`` events, one transaction each) and reports its wall time and peak resident
memory (``resource.getrusage``) at the end of the ingest, then asks the ledger for monthly usage
of a ``sum`` meter and reports that query's time and the peak memory after it.

Targets: at least 100,000 events per second, and the ingest's peak memory for the largest size
within twice that of the smallest (memory flat as the file grows).

Bound (unless ``--no-bounds``): a second child stores the same rows in a fresh ledger with
SQLite alone, timing only the ledger's own ``INSERT OR IGNORE`` and ``COMMIT`` per batch (the
JSON reading, validation and row building happen outside the clock). No ingest through this
ledger's schema and durability can be faster than that figure on this machine.

Run ``python bench/bench_ledger.py`` (takes minutes and about 1.5 GB of disk), or
``python bench/bench_ledger.py --sizes 50000 200000`` for a quick run.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from itertools import islice
from pathlib import Path

from results import emit

from meterlib.ledger import Ledger
from meterlib.ledger.ingest import BATCH_SIZE, Ingest
from meterlib.ledger.rows import to_row
from meterlib.ledger.schema import EVENT_COLUMNS
from meterlib.metering.events import check_event
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle

TARGET = 100_000  # events per second
CUSTOMERS = 1_000


def write_events(path: Path, count: int, seed: int) -> None:
    """``count`` seeded events as JSON Lines, about 0.5 % of them re-sent duplicates."""
    rng = random.Random(seed)
    zones = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    seconds = 366 * 86_400
    recent: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for _ in range(count):
            if recent and rng.random() < 0.005:
                out.write(recent[rng.randrange(len(recent))])
                continue
            moment = start + timedelta(seconds=rng.randrange(seconds))
            kind = "api.call" if rng.random() < 0.8 else "storage.delta"
            line = (
                json.dumps(
                    {
                        "id": f"{rng.getrandbits(128):032x}",
                        "customer": f"cus_{rng.randrange(CUSTOMERS):04d}",
                        "type": kind,
                        "time": moment.astimezone(rng.choice(zones)).isoformat(),
                        "properties": {"tokens": str(rng.randrange(1, 5_000)), "region": "eu"},
                    }
                )
                + "\n"
            )
            out.write(line)
            if len(recent) < 1_000:
                recent.append(line)
            else:
                recent[rng.randrange(1_000)] = line


def child(events: Path, ledger_path: Path, batch_size: int) -> None:
    """Ingest ``events`` into a new ledger and print the figures as one JSON line."""
    started = time.perf_counter()
    with Ledger(ledger_path) as ledger, events.open("rb") as stream:
        ingest = Ingest(ledger, batch_size=batch_size)
        ingest.file(str(events), stream, "jsonl")
        ingested = time.perf_counter() - started
        ingest_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        meter = Meter.model_validate(
            {"name": "tokens", "type": "api.call", "aggregation": "sum", "property": "tokens"}
        )
        began = time.perf_counter()
        table = ledger.usage([meter], BillingCycle(anchor=date(2024, 1, 1)))
        usage = time.perf_counter() - began
    totals = ingest.totals
    usage_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "lines": totals.lines,
                "accepted": totals.accepted,
                "duplicates": totals.duplicates,
                "seconds": ingested,
                "usage_seconds": usage,
                "cells": len(table),
                "peak_kib": ingest_peak,
                "usage_peak_kib": usage_peak,
            }
        )
    )


def sqlite_alone(events: Path, ledger_path: Path, batch_size: int) -> None:
    """Store the rows of ``events`` timing SQLite only; print events per second as JSON."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    seconds = 0.0
    stored = 0
    with Ledger(ledger_path) as ledger, events.open("rb") as stream:
        db = ledger._db  # the bound times the ledger's own connection
        insert = (  # the column list is the ledger's constant, not input
            f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}, batch) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, 1)"
        )
        while True:
            lines = list(islice(stream, batch_size))
            if not lines:
                break
            rows = [to_row(check_event(decoder.decode(line.decode()))) for line in lines]
            started = time.perf_counter()
            db.execute("BEGIN IMMEDIATE")
            stored += db.executemany(insert, rows).rowcount
            db.execute("COMMIT")
            seconds += time.perf_counter() - started
    print(json.dumps({"stored": stored, "seconds": seconds}))


def measure(
    size: int, folder: Path, batch_size: int, seed: int, *, bound: bool
) -> dict[str, float]:
    events = folder / f"events-{size}.jsonl"
    print(f"writing {size:,} events ...", flush=True)
    write_events(events, size, seed)
    ledger = folder / f"ledger-{size}.sqlite"
    result = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, __file__, "--child", str(events), str(ledger), str(batch_size)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.splitlines()[-1])
    for leftover in folder.glob(f"ledger-{size}.sqlite*"):
        leftover.unlink()
    if bound:
        result = subprocess.run(  # noqa: S603  (our own interpreter and script)
            [sys.executable, __file__, "--child-sqlite", str(events), str(ledger), str(batch_size)],
            capture_output=True,
            text=True,
            check=True,
        )
        alone = json.loads(result.stdout.splitlines()[-1])
        figures["sqlite_rate"] = alone["stored"] / alone["seconds"]
    events.unlink()
    for leftover in folder.glob(f"ledger-{size}.sqlite*"):
        leftover.unlink()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 5_000_000])
    parser.add_argument("--quick", action="store_true", help="sizes 100,000 and 500,000")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", help="folder for the temporary files (default: system temp)")
    parser.add_argument("--no-bounds", action="store_true", help="skip the SQLite-alone bound")
    parser.add_argument(
        "--child", nargs=3, metavar=("EVENTS", "LEDGER", "BATCH"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--child-sqlite", nargs=3, metavar=("EVENTS", "LEDGER", "BATCH"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
        return
    if args.child_sqlite:
        sqlite_alone(
            Path(args.child_sqlite[0]), Path(args.child_sqlite[1]), int(args.child_sqlite[2])
        )
        return
    if args.quick:
        args.sizes = [100_000, 500_000]
    results = []
    bounds: dict[int, float] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for size in sorted(args.sizes):
            figures = measure(
                size, Path(folder), args.batch_size, args.seed, bound=not args.no_bounds
            )
            rate = figures["lines"] / figures["seconds"]
            results.append((size, rate, figures["peak_kib"]))
            print(
                f"{size:>10,} events: {rate:>9,.0f} events/s ingest "
                f"({figures['accepted']:,.0f} stored, {figures['duplicates']:,.0f} duplicates), "
                f"peak RSS {figures['peak_kib'] / 1024:,.1f} MiB; "
                f"monthly usage in {figures['usage_seconds']:.2f} s "
                f"(peak RSS then {figures['usage_peak_kib'] / 1024:,.1f} MiB)",
                flush=True,
            )
            if "sqlite_rate" in figures:
                bounds[size] = figures["sqlite_rate"]
                print(
                    f"{'':>10}  bound: SQLite alone stores the same rows at "
                    f"{figures['sqlite_rate']:>9,.0f} events/s",
                    flush=True,
                )
    slowest = min(rate for _, rate, _ in results)
    print(f"slowest ingest: {slowest:,.0f} events/s (target >= {TARGET:,}): "
          f"{'met' if slowest >= TARGET else 'NOT met'}")
    ratio = results[-1][2] / results[0][2]
    if len(results) > 1:
        print(
            f"peak RSS {results[-1][0]:,} vs {results[0][0]:,} events: {ratio:.2f}x "
            f"(target <= 2x): {'met' if ratio <= 2 else 'NOT met'}"
        )
    size, rate, _ = results[-1]
    bound = bounds.get(size)
    emit(
        "ledger-ingest-sqlite",
        what=f"SQLite ledger (the default) ingest of {size:,} JSON Lines events, random ids",
        target="none for SQLite (the firehose target is the DuckDB ledger's, "
        "bench_ledger_backends.py); memory flat",
        measured=f"{rate:,.0f} events/s, peak RSS {ratio:.2f}x from {results[0][0]:,} "
        "(1 round)",
        met=None,
        bound="" if bound is None else f"SQLite alone storing the same rows: {bound:,.0f} events/s",
        command="python bench/bench_ledger.py" + (" --quick" if args.quick else ""),
    )


if __name__ == "__main__":
    main()
