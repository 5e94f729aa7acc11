"""Benchmark: issue invoices into the ledger file, and re-check issued periods for late usage.

1. **Issue**: 10,000 computed invoices are numbered (gapless series) and stored as their exact
   JSON with :meth:`DocumentStore.issue_many` (one transaction per batch of ``--batch``); the
   invoices are computed before timing, each round issues into a fresh ledger file. Target:
   >= 2,000 invoices/s. Bound: the same rows (same JSON bodies) inserted by SQLite alone, same
   batches and durability. One transaction per invoice (:meth:`DocumentStore.issue`, durable
   commits, other customers) is timed too, for scale.
2. **Re-check**: 10,000 customers x 12 monthly periods issued, 1 % of customer-periods with a
   late event; :func:`meterlib.ledger.recheck.recheck` finds them, re-computes those periods
   and issues debit notes. Target: >= 5,000 customer-periods/s. Bound: the reads no re-check
   can avoid (the invoice index, each period's late events), timed alone.

Both print their README row as a ``RESULT`` line (``bench/results.py``).

    python bench/bench_records.py [--invoices N] [--customers N] [--periods P] [--late F]
        [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from results import emit

from meterlib.invoicing import Contract, Invoice, MappingUsage, invoice
from meterlib.ledger import Ledger
from meterlib.ledger.document_rows import COLUMNS, INSERT
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.recheck import recheck

TARGET_ISSUE = 2_000
TARGET_RECHECK = 5_000


def contract(customer: str) -> Contract:
    """A fee, a metered charge with a graduated price, 20 % VAT; monthly from 2024-01-01."""
    return Contract.model_validate(
        {
            "customer": customer,
            "billing": {"anchor": "2024-01-01", "cadence": "monthly", "timezone": "UTC"},
            "plans": {
                "api": {
                    "currency": "EUR",
                    "fees": [{"name": "platform", "amount": "49"}],
                    "metered": [
                        {
                            "name": "calls",
                            "meter": "calls",
                            "price": {
                                "model": "graduated",
                                "tiers": [
                                    {"up_to": "1000", "unit_amount": "0"},
                                    {"up_to": "100000", "unit_amount": "0.002"},
                                    {"unit_amount": "0.001"},
                                ],
                            },
                        },
                    ],
                    "taxes": [{"name": "VAT", "percent": "20"}],
                },
            },
            "phases": [{"start": "2024-01-01", "plan": "api"}],
            "meters": [{"name": "calls", "type": "call", "aggregation": "sum",
                        "property": "n"}],
        },
    )


def drafts_for(count: int, prefix: str, seed: int) -> list[Invoice]:
    """``count`` computed invoices, customers ``{prefix}00000``..., over 12 monthly periods."""
    base = contract("c")
    rng = random.Random(seed)
    drafts: list[Invoice] = []
    for index in range(count):
        period = base.period(index % 12)
        usage = MappingUsage({"calls": rng.randrange(0, 500_000)}, period=period)
        con = base.model_copy(update={"customer": f"{prefix}{index:05d}"})
        drafts.append(invoice(con, usage, period))
    return drafts


def sqlite_alone(path: Path, rows: list[tuple[Any, ...]], batch: int) -> tuple[float, float]:
    """Insert the same document rows (same bodies) with SQLite alone: (wall s, CPU s).

    Same file settings as the store (WAL, ``synchronous = FULL``), same batches, one
    ``executemany`` each: the floor any store of these rows pays.
    """
    Ledger(path).close()
    with DocumentStore(path):
        pass  # the same tables and indexes
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous = FULL")
    start, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(INSERT, rows[first:first + batch])
        db.execute("COMMIT")
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    db.close()
    return elapsed, cpu


def bench_issue(count: int, batch: int, single: int, rounds: int) -> None:
    """Time issue_many over ``count`` drafts (fresh store each round), then single issues."""
    print(f"computing {count} draft invoices ...", flush=True)
    drafts = drafts_for(count, "cus_", 12)
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    walls: list[float] = []
    cpus: list[float] = []
    floors: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(rounds):
            path = Path(folder) / f"ledger-{round_}.sqlite"
            Ledger(path).close()
            with DocumentStore(path) as store:  # durable: synchronous = FULL
                start, cpu = time.perf_counter(), time.process_time()
                for first in range(0, count, batch):
                    store.issue_many(drafts[first:first + batch], at=moment)
                elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
                if store.series_last()["INV-"] != count:
                    raise SystemExit("numbering lost invoices")
            with sqlite3.connect(path) as db:
                rows = db.execute(f"SELECT {COLUMNS} FROM documents").fetchall()  # noqa: S608
            floor, floor_cpu = sqlite_alone(Path(folder) / f"floor-{round_}.sqlite", rows, batch)
            walls.append(elapsed)
            cpus.append(cpu)
            floors.append(floor)
            print(f"  round {round_ + 1}: issue_many {count / elapsed:,.0f} invoices/s "
                  f"({count / cpu:,.0f} per CPU-second); the same rows by SQLite alone "
                  f"{count / floor:,.0f} rows/s ({count / max(floor_cpu, 1e-9):,.0f} per "
                  "CPU-second)", flush=True)
        rate = count / statistics.median(walls)
        per_cpu = count / statistics.median(cpus)
        floor_rate = count / statistics.median(floors)
        print(f"issue_many: {count} invoices, batches of {batch}: median {rate:,.0f} invoices/s "
              f"(target >= 2,000); {per_cpu:,.0f} invoices per CPU-second; SQLite alone "
              f"{floor_rate:,.0f} rows/s", flush=True)
        path = Path(folder) / "single.sqlite"
        others = drafts_for(single, "solo_", 13)
        with DocumentStore(path) as store:
            start = time.perf_counter()
            for bill in others:
                store.issue(bill, at=moment)
            elapsed = time.perf_counter() - start
        print(f"issue (one durable transaction each): {single} invoices in {elapsed:.2f} s "
              f"= {single / elapsed:,.0f} invoices/s", flush=True)
    emit(
        "records-issue",
        what=f"issuing {count:,} computed invoices into the ledger file: numbered (gapless), "
        f"stored as their exact JSON, durable commits, batches of {batch:,}",
        target="≥ 2,000 invoices/s",
        measured=f"{rate:,.0f} invoices/s (median of {rounds} rounds; {per_cpu:,.0f} per "
        "CPU-second)",
        met=rate >= TARGET_ISSUE,
        bound=f"the same rows inserted by SQLite alone (executemany, same batches and "
        f"durability): {floor_rate:,.0f} rows/s",
        command="python bench/bench_records.py",
    )


def bench_recheck(customers: int, periods: int, late_share: float) -> None:
    """Issue ``customers`` x ``periods``, add late events, time one re-check."""
    contracts = [contract(f"cus_{index:05d}") for index in range(customers)]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite"
        with Ledger(path, durable=False) as ledger, DocumentStore(path, durable=False) as store:
            for month in range(periods):
                period = contracts[0].period(month)
                counts = [str(rng.randrange(0, 200_000)) for _ in contracts]
                events = [
                    {"id": f"{index}-{month}", "customer": con.customer, "type": "call",
                     "time": (period.start + timedelta(days=3)).isoformat(),
                     "properties": {"n": counts[index]}}
                    for index, con in enumerate(contracts)
                ]
                ledger.append(events, received_at=period.end)
                drafts = [
                    invoice(con, MappingUsage({"calls": counts[index]},
                                              period=period), period)
                    for index, con in enumerate(contracts)
                ]
                store.issue_many(drafts, at=period.end + timedelta(hours=1))
            late: list[dict[str, Any]] = []
            for month in range(periods):
                period = contracts[0].period(month)
                late.extend(
                    {"id": f"late-{index}-{month}", "customer": con.customer, "type": "call",
                     "time": (period.end - timedelta(hours=1)).isoformat(),
                     "properties": {"n": "1500"}}
                    for index, con in enumerate(contracts)
                    if rng.random() < late_share
                )
            ledger.append(late, received_at=datetime(2025, 3, 1, tzinfo=UTC))
            start, cpu = time.perf_counter(), time.process_time()
            result = recheck(store, ledger, contracts, at=datetime(2025, 3, 2, tzinfo=UTC))
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            checked = result.checked
            # the reads no re-check can avoid: the invoice index and each period's late events
            start_reads = time.perf_counter()
            index = store.invoice_index()
            for month in range(periods):
                period = contracts[0].period(month)
                ledger.late_events(period, min(row[4] for row in index if row[2] == period.start))
            reads = time.perf_counter() - start_reads
    rate = checked / elapsed
    print(f"recheck: {checked} customer-periods ({result.recomputed} with late events, "
          f"{len(result.issued)} notes issued) in {elapsed:.2f} s = {rate:,.0f} "
          f"customer-periods/s (target >= 5,000); CPU time {cpu:.2f} s = {checked / cpu:,.0f} "
          f"per CPU-second; its unavoidable reads alone {reads:.2f} s = "
          f"{checked / reads:,.0f} customer-periods/s", flush=True)
    emit(
        "records-recheck",
        what=f"re-checking {periods} issued periods of {customers:,} customers for late usage "
        f"({late_share:.0%} of customer-periods have late events: re-computed, debit notes "
        "issued)",
        target="≥ 5,000 customer-periods/s",
        measured=f"{rate:,.0f} customer-periods/s ({checked / cpu:,.0f} per CPU-second)",
        met=rate >= TARGET_RECHECK,
        bound=f"its unavoidable reads alone (invoice index, late events per period): "
        f"{checked / reads:,.0f} customer-periods/s",
        command="python bench/bench_records.py",
    )


def main() -> None:
    """Run both benchmarks and print the load the machine was under."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=12)
    parser.add_argument("--late", type=float, default=0.01)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    bench_issue(args.invoices, args.batch, args.single, args.rounds)
    bench_recheck(args.customers, args.periods, args.late)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
