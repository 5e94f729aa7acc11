"""Benchmark: issue invoices into the ledger file, and re-check issued periods for late usage.

1. **Issue**: 10,000 computed invoices are numbered (gapless series) and stored as their exact
   JSON with :meth:`DocumentStore.issue_many` (one transaction per batch of ``--batch``); the
   invoices are computed before timing. Target: >= 2,000 invoices/s. The same is also timed
   with one transaction per invoice (:meth:`DocumentStore.issue`, durable commits), for scale.
2. **Re-check**: 10,000 customers x 12 monthly periods issued, 1 % of customer-periods with a
   late event; :func:`meterlib.ledger.recheck.recheck` finds them, re-computes those periods
   and issues debit notes. Target: >= 5,000 customer-periods/s.

    python bench/bench_records.py [--invoices N] [--customers N] [--periods P] [--late F]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from meterlib.invoicing import Contract, Invoice, MappingUsage, invoice
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.recheck import recheck


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


def bench_issue(count: int, batch: int, single: int) -> None:
    """Time issue_many over ``count`` drafts, and ``single`` one-transaction issues."""
    base = contract("c")
    drafts: list[Invoice] = []
    rng = random.Random(12)
    for index in range(count):
        period = base.period(index % 12)
        usage = MappingUsage({"calls": rng.randrange(0, 500_000)}, period=period)
        con = base.model_copy(update={"customer": f"cus_{index:05d}"})
        drafts.append(invoice(con, usage, period))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite"
        with DocumentStore(path) as store:
            moment = datetime(2025, 1, 1, tzinfo=UTC)
            start, cpu = time.perf_counter(), time.process_time()
            for first in range(0, count, batch):
                store.issue_many(drafts[first:first + batch], at=moment)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            if store.series_last()["INV-"] != count:
                raise SystemExit("numbering lost invoices")
            print(f"issue_many: {count} invoices in {elapsed:.2f} s = "
                  f"{count / elapsed:,.0f} invoices/s (batches of {batch}; target >= 2,000); "
                  f"CPU time {cpu:.2f} s = {count / cpu:,.0f} invoices per CPU-second")
            start = time.perf_counter()
            for bill in drafts[:single]:
                store.issue(bill, at=moment)
            elapsed = time.perf_counter() - start
            print(f"issue (one durable transaction each): {single} invoices in {elapsed:.2f} s "
                  f"= {single / elapsed:,.0f} invoices/s")


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
            print(f"recheck: {checked} customer-periods ({result.recomputed} with late events, "
                  f"{len(result.issued)} notes issued) in {elapsed:.2f} s = "
                  f"{checked / elapsed:,.0f} customer-periods/s (target >= 5,000); CPU time "
                  f"{cpu:.2f} s = {checked / cpu:,.0f} per CPU-second")


def main() -> None:
    """Run both benchmarks and print the load the machine was under."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--periods", type=int, default=12)
    parser.add_argument("--late", type=float, default=0.01)
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    bench_issue(args.invoices, args.batch, args.single)
    bench_recheck(args.customers, args.periods, args.late)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
