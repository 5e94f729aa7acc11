"""Benchmark: the SQLite and the DuckDB ledger side by side on the same generated files.

For each size in ``--sizes`` and each id kind (``random``: 128-bit random hex, as UUIDv4
producers send; ``ordered``: time-ordered ids, UUIDv7-like), one seeded JSON Lines file is
written (1,000 customers, two event types, token counts as decimal text, times over 2024 in
several offsets, about 0.5 % re-sent duplicates; see ``bench_ledger.write_events``). For each
backend a child process ingests it into a fresh ledger exactly as ``meterlib ingest`` does
(streaming reader, batches of ``--batch-size`` events, one transaction each), then computes the
usage of a ``sum`` meter for one month (January 2024) of every customer. It prints events/s,
peak RSS after the ingest (``ru_maxrss``), the ledger's size on disk, the usage time and the
peak RSS after it. The bound (SQLite alone storing the same rows through the SQLite ledger's
schema, reading and validation outside the clock) is printed for the random-id files.

Targets (issue 16, items 3 and 4): >= 100,000 events/s at 5 M random ids; peak RSS at the
largest size within 2x the smallest; usage of a month of 1,000 customers in <= 5 s.

``python bench/bench_ledger_backends.py`` (sizes 500,000 and 5,000,000: long, ~2 GB of disk);
``python bench/bench_ledger_backends.py --sizes 50000 200000`` for a quick run.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_ledger import write_events  # type: ignore[import-not-found]  # a sibling script

from meterlib.ledger import Ledger
from meterlib.ledger.ingest import BATCH_SIZE, Ingest
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period

TARGET = 100_000
USAGE_TARGET = 5.0
CUSTOMERS = 1_000
JANUARY = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))


def write_ordered(path: Path, count: int, seed: int) -> None:
    """Like ``write_events`` but with time-ordered ids and times rising through the file."""
    rng = random.Random(seed)
    zones = [UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    step = 366 * 86_400 * 1_000_000 // max(count, 1)
    recent: list[str] = []
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            if recent and rng.random() < 0.005:
                out.write(recent[rng.randrange(len(recent))])
                continue
            micros = n * step
            moment = start + timedelta(microseconds=micros)
            line = json.dumps({
                # 48 bits of milliseconds then random bits, as UUIDv7 lays them out
                "id": f"{micros // 1000:012x}{rng.getrandbits(80):020x}",
                "customer": f"cus_{rng.randrange(CUSTOMERS):04d}",
                "type": "api.call" if rng.random() < 0.8 else "storage.delta",
                "time": moment.astimezone(rng.choice(zones)).isoformat(),
                "properties": {"tokens": str(rng.randrange(1, 5_000)), "region": "eu"},
            }) + "\n"
            out.write(line)
            if len(recent) < 1_000:
                recent.append(line)
            else:
                recent[rng.randrange(1_000)] = line


def open_backend(backend: str, path: Path) -> Ledger:
    if backend == "duckdb":
        from meterlib.ledger.duck import DuckLedger  # noqa: PLC0415

        return DuckLedger(path)  # type: ignore[return-value]  # the same API, no shared base
    return Ledger(path)


def child(backend: str, events: Path, ledger_path: Path, batch_size: int) -> None:
    started = time.perf_counter()
    with open_backend(backend, ledger_path) as ledger, events.open("rb") as stream:
        ingest = Ingest(ledger, batch_size=batch_size)
        ingest.file(str(events), stream, "jsonl")
        ingested = time.perf_counter() - started
        ingest_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        meter = Meter.model_validate(
            {"name": "tokens", "type": "api.call", "aggregation": "sum", "property": "tokens"}
        )
        began = time.perf_counter()
        table = ledger.usage([meter], BillingCycle(anchor=date(2024, 1, 1)), window=JANUARY)
        usage = time.perf_counter() - began
    size = sum(p.stat().st_size for p in ledger_path.parent.glob(ledger_path.name + "*"))
    print(json.dumps({
        "lines": ingest.totals.lines,
        "accepted": ingest.totals.accepted,
        "duplicates": ingest.totals.duplicates,
        "seconds": ingested,
        "usage_seconds": usage,
        "cells": len(table),
        "total": str(sum(table.values())),
        "peak_kib": ingest_peak,
        "usage_peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "bytes": size,
    }))


def run_child(*args: str) -> dict[str, object]:
    result = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=True
    )
    figures: dict[str, object] = json.loads(result.stdout.splitlines()[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 5_000_000])
    parser.add_argument("--ids", nargs="+", default=["random", "ordered"])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "duckdb"])
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", help="folder for the temporary files (default: system temp)")
    parser.add_argument("--no-bounds", action="store_true", help="skip the SQLite-alone bound")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        backend, events, ledger, batch = args.child
        child(backend, Path(events), Path(ledger), int(batch))
        return
    rss: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for kind in args.ids:
            for size in sorted(args.sizes):
                events = Path(folder) / f"events-{kind}-{size}.jsonl"
                print(f"writing {size:,} events with {kind} ids ...", flush=True)
                (write_events if kind == "random" else write_ordered)(events, size, args.seed)
                totals = set()
                for backend in args.backends:
                    ledger = Path(folder) / f"ledger-{size}.{backend}"
                    f = run_child(backend, str(events), str(ledger), str(args.batch_size))
                    for leftover in Path(folder).glob(f"ledger-{size}.{backend}*"):
                        leftover.unlink()
                    rate = float(f["lines"]) / float(f["seconds"])  # type: ignore[arg-type]
                    rss.setdefault((kind, backend), []).append(float(f["peak_kib"]))  # type: ignore[arg-type]
                    totals.add((f["cells"], f["total"]))
                    print(
                        f"{kind:>7} ids {size:>10,} events {backend:>6}: {rate:>9,.0f} events/s "
                        f"({f['accepted']:,} stored, {f['duplicates']:,} duplicates), "
                        f"peak RSS {float(f['peak_kib']) / 1024:,.0f} MiB, "  # type: ignore[arg-type]
                        f"file {int(f['bytes']) / 2**20:,.0f} MiB; "  # type: ignore[call-overload]
                        f"January usage of {f['cells']:,} customers in "
                        f"{f['usage_seconds']:.2f} s (peak RSS then "
                        f"{float(f['usage_peak_kib']) / 1024:,.0f} MiB)",  # type: ignore[arg-type]
                        flush=True,
                    )
                print(f"{'':>12} usage totals agree across backends: {len(totals) == 1}")
                if kind == "random" and not args.no_bounds:
                    ledger = Path(folder) / f"bound-{size}.sqlite"
                    result = subprocess.run(  # noqa: S603
                        [sys.executable, str(Path(__file__).parent / "bench_ledger.py"),
                         "--child-sqlite", str(events), str(ledger), str(args.batch_size)],
                        capture_output=True, text=True, check=True,
                    )
                    alone = json.loads(result.stdout.splitlines()[-1])
                    for leftover in Path(folder).glob(f"bound-{size}.sqlite*"):
                        leftover.unlink()
                    print(f"{'':>12} bound: SQLite alone stores the same rows at "
                          f"{alone['stored'] / alone['seconds']:,.0f} events/s", flush=True)
                events.unlink()
    for (kind, backend), peaks in rss.items():
        if len(peaks) > 1:
            print(f"{kind} ids, {backend}: peak RSS largest/smallest {peaks[-1] / peaks[0]:.2f}x"
                  f" (target <= 2x)")


if __name__ == "__main__":
    main()
