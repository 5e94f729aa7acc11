"""Benchmark: the SQLite and the DuckDB ledger side by side on the same generated files.

For each size in ``--sizes`` and each id kind (``random``: 128-bit random hex, as UUIDv4
producers send; ``ordered``: time-ordered ids, UUIDv7-like), one seeded JSON Lines file is
written (1,000 customers, two event types, token counts as decimal text, times over 2024 in
several offsets, about 0.5 % re-sent duplicates; see ``bench_ledger.write_events``). For each
backend a child process ingests it into a fresh ledger exactly as ``meterlib ingest`` does
(streaming reader, batches of ``--batch-size`` events, one transaction each), then computes the
usage of a ``sum`` meter for one month (January 2024) of every customer. It prints events/s,
peak RSS after the ingest (``ru_maxrss``), the ledger's size on disk, the usage time and the
peak RSS after it. Ingest reads in columns when pyarrow is installed (``--reader lines`` for
the zero-dependency reader). Bounds measured in the same run: reading and checking the file in
columns alone (nothing stored: no ingest can be faster), and for random ids SQLite alone storing
the same rows through the SQLite ledger's schema (reading and validation outside the clock).
The SQLite ledger is measured up to ``--sqlite-up-to`` events (1,000,000 by default: its unique
index on text ids makes 5 M random ids take minutes). One ``RESULT`` line per id kind (README
rows ``ledger-ingest-random`` and ``ledger-ingest-ordered``) reports the DuckDB ledger at the
largest size.

Targets (issue 16, items 3 and 4): >= 100,000 events/s at 5 M random ids; peak RSS at the
largest size within 2x the smallest; usage of a month of 1,000 customers in <= 5 s.

``python bench/bench_ledger_backends.py`` (sizes 500,000 and 5,000,000: a few minutes, ~2 GB of
disk); ``--quick`` for sizes 100,000 and 500,000.

The DuckDB ledger's design was chosen by measuring alternatives on the same files (issue 16,
session 6; 1-2 M random ids, a machine loaded 5-9, so ratios only). What the store spent went
mostly to DuckDB checkpointing at nearly every commit of a 50,000-event batch (its
``auto_checkpoint_skip_wal_threshold``) and to the id look-up reading whole rows. Kept: batches
of 245,760 events (two row groups, written compressed before the commit: 1.5-1.7x the events/s
of 50,000 at 1-2 M; 122,880 gained little, as a batch short of a full row group after its
duplicates still goes through the log), the look-up reading ids only, WAL commits with a
checkpoint every 128 MB. Measured and not kept: ids stored as UUID, UHUGEINT or two UBIGINT
halves (the semi-join 1.5-2x cheaper, but converting the text cost as much at large batches, and
the text must come back unchanged); an md5 key column (no gain); a PRIMARY KEY (ART index) with
INSERT OR IGNORE (slower, a file 4x larger, memory growing with the ids); DuckDB row groups of
16,384 rows for 50,000-event batches (fast commits, a file 1.6x larger); threads=1 (within the
noise).
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
from results import emit

from meterlib.ledger import Ledger
from meterlib.ledger.backends import DUCK_BATCH_SIZE
from meterlib.ledger.blocks import columns_available, read_blocks
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


def read_alone(events: Path, batch_size: int) -> None:
    """The bound: read and check the file in columns, store nothing; print events/s."""
    started = time.perf_counter()
    count = 0
    with events.open("rb") as stream:
        for block in read_blocks(stream, "jsonl", lines=batch_size):
            count += len(block)
    print(json.dumps({"lines": count, "seconds": time.perf_counter() - started}))


def child(backend: str, events: Path, ledger_path: Path, batch_size: int, reader: str) -> None:
    started = time.perf_counter()
    with open_backend(backend, ledger_path) as ledger, events.open("rb") as stream:
        ingest = Ingest(ledger, batch_size=batch_size or None, columns=reader == "columns")
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
        "reader": reader,
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


def main() -> None:  # noqa: PLR0912, PLR0915  (one report per size, kind and backend)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[500_000, 5_000_000])
    parser.add_argument("--quick", action="store_true", help="sizes 100,000 and 500,000")
    parser.add_argument("--ids", nargs="+", default=["random", "ordered"])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "duckdb"])
    parser.add_argument(
        "--sqlite-up-to", type=int, default=1_000_000,
        help="measure the SQLite ledger only up to this size (its unique text-id index makes "
        "5 M random ids take minutes; default 1,000,000)",
    )
    parser.add_argument(
        "--reader", choices=["columns", "lines"], default=None,
        help="ingest reader (default: columns when pyarrow is installed)",
    )
    parser.add_argument(
        "--batch-size", type=int, default=0,
        help="events per batch (default: what meterlib ingest uses for each backend; "
        f"{BATCH_SIZE:,} for SQLite)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", help="folder for the temporary files (default: system temp)")
    parser.add_argument("--no-bounds", action="store_true", help="skip the bounds")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--child-read", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        backend, events, ledger, batch, reader = args.child
        child(backend, Path(events), Path(ledger), int(batch), reader)
        return
    if args.child_read:
        read_alone(Path(args.child_read[0]), int(args.child_read[1]))
        return
    if args.quick:
        args.sizes = [100_000, 500_000]
    reader = args.reader or ("columns" if columns_available() else "lines")
    rss: dict[tuple[str, str], list[float]] = {}
    rates: dict[tuple[str, str, int], float] = {}
    reads: dict[tuple[str, int], float] = {}
    sqlite_bound: dict[int, float] = {}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for kind in args.ids:
            for size in sorted(args.sizes):
                events = Path(folder) / f"events-{kind}-{size}.jsonl"
                print(f"writing {size:,} events with {kind} ids ...", flush=True)
                (write_events if kind == "random" else write_ordered)(events, size, args.seed)
                totals = set()
                for backend in args.backends:
                    if backend == "sqlite" and size > args.sqlite_up_to:
                        print(f"{kind:>7} ids {size:>10,} events sqlite: skipped "
                              f"(--sqlite-up-to {args.sqlite_up_to:,})", flush=True)
                        continue
                    ledger = Path(folder) / f"ledger-{size}.{backend}"
                    f = run_child(backend, str(events), str(ledger), str(args.batch_size), reader)
                    for leftover in Path(folder).glob(f"ledger-{size}.{backend}*"):
                        leftover.unlink()
                    rate = float(f["lines"]) / float(f["seconds"])  # type: ignore[arg-type]
                    rates[(kind, backend, size)] = rate
                    rss.setdefault((kind, backend), []).append(float(f["peak_kib"]))  # type: ignore[arg-type]
                    totals.add((f["cells"], f["total"]))
                    print(
                        f"{kind:>7} ids {size:>10,} events {backend:>6} ({reader}): "
                        f"{rate:>9,.0f} events/s "
                        f"({f['accepted']:,} stored, {f['duplicates']:,} duplicates), "
                        f"peak RSS {float(f['peak_kib']) / 1024:,.0f} MiB, "  # type: ignore[arg-type]
                        f"file {int(f['bytes']) / 2**20:,.0f} MiB; "  # type: ignore[call-overload]
                        f"January usage of {f['cells']:,} customers in "
                        f"{f['usage_seconds']:.2f} s (peak RSS then "
                        f"{float(f['usage_peak_kib']) / 1024:,.0f} MiB)",  # type: ignore[arg-type]
                        flush=True,
                    )
                print(f"{'':>12} usage totals agree across backends: {len(totals) == 1}")
                if not args.no_bounds and reader == "columns":
                    result = subprocess.run(  # noqa: S603  (our own interpreter and script)
                        [sys.executable, __file__, "--child-read", str(events),
                         str(args.batch_size or DUCK_BATCH_SIZE)],
                        capture_output=True, text=True, check=True,
                    )
                    alone = json.loads(result.stdout.splitlines()[-1])
                    reads[(kind, size)] = alone["lines"] / alone["seconds"]
                    print(f"{'':>12} bound: reading and checking alone (columns, nothing "
                          f"stored) {reads[(kind, size)]:,.0f} events/s", flush=True)
                if kind == "random" and not args.no_bounds and size <= args.sqlite_up_to:
                    ledger = Path(folder) / f"bound-{size}.sqlite"
                    result = subprocess.run(  # noqa: S603
                        [sys.executable, str(Path(__file__).parent / "bench_ledger.py"),
                         "--child-sqlite", str(events), str(ledger),
                         str(args.batch_size or BATCH_SIZE)],
                        capture_output=True, text=True, check=True,
                    )
                    alone = json.loads(result.stdout.splitlines()[-1])
                    for leftover in Path(folder).glob(f"bound-{size}.sqlite*"):
                        leftover.unlink()
                    sqlite_bound[size] = alone["stored"] / alone["seconds"]
                    print(f"{'':>12} bound: SQLite alone stores the same rows at "
                          f"{sqlite_bound[size]:,.0f} events/s", flush=True)
                events.unlink()
    ratios: dict[tuple[str, str], float] = {}
    for (kind, backend), peaks in rss.items():
        if len(peaks) > 1:
            ratios[(kind, backend)] = peaks[-1] / peaks[0]
            print(f"{kind} ids, {backend}: peak RSS largest/smallest {peaks[-1] / peaks[0]:.2f}x"
                  f" (target <= 2x)")
    largest = max(args.sizes)
    for kind in args.ids:
        found = rates.get((kind, "duckdb", largest))
        if found is None:
            continue
        rate = found
        ratio = ratios.get((kind, "duckdb"))
        sqlite_sizes = [n for (k, b, n) in rates if k == kind and b == "sqlite"]
        peers = []
        if (kind, largest) in reads:
            peers.append(
                f"reading and checking alone {reads[(kind, largest)]:,.0f} events/s "
                f"(the ledger at {rate / reads[(kind, largest)]:.2f}x it)"
            )
        if sqlite_sizes:
            n = max(sqlite_sizes)
            peers.append(f"SQLite ledger at {n:,}: {rates[(kind, 'sqlite', n)]:,.0f} events/s")
        if kind == "random" and sqlite_bound:
            n = max(sqlite_bound)
            peers.append(f"SQLite alone at {n:,}: {sqlite_bound[n]:,.0f} events/s")
        flat = ratio is not None and ratio <= 2
        emit(
            f"ledger-ingest-{kind}",
            what=f"DuckDB ledger ingest ({reader} reader) of {largest:,} JSON Lines events, "
            f"{'random 128-bit' if kind == 'random' else 'time-ordered (UUIDv7-like)'} ids",
            target="≥ 100,000 events/s, peak RSS ≤ 2× the smallest size's"
            if kind == "random" else "none (a case of its own)",
            measured=f"{rate:,.0f} events/s, peak RSS "
            + (f"{ratio:.2f}× from {min(args.sizes):,}" if ratio is not None else "n/a")
            + " (1 round)",
            met=(rate >= TARGET and flat) if kind == "random" else None,
            bound="; ".join(peers),
            command="python bench/bench_ledger_backends.py" + (" --quick" if args.quick else ""),
        )


if __name__ == "__main__":
    main()
