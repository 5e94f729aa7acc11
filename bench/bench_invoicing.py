"""Benchmark: invoice 10,000 customers for one month on one core, usage already aggregated.

Every customer has a contract on one of three plans (USD, monthly, UTC), each with a recurring
fee and three metered charges (a graduated, a per-unit and a volume price); a third of the
plans carry a percentage discount and a tax. Usage is one :class:`UsageTable` for everyone (as
an accumulator or the ledger returns it), read through :class:`TableUsage`. Each invoice is
the full :class:`Invoice`: lines with tier breakdowns, discounts, taxes, totals.

Run it as ``python bench/bench_invoicing.py``; it prints the best and median invoices per
second over several rounds. Target: at least 5,000 invoices/s, and no slower than the round-1
code (issue 14.1): when that code is at hand (``--round1-src``, default ``$METERLIB_ROUND1_SRC``
or ``/tmp/old/src``), this same file runs it in a worker process on the same contracts and
usage, one round of each in turn (the order alternating), so both see the same load. Bound
printed beside it, timed in the same run: rating the same three prices on the same quantities
alone (no contract, periods, lines, discounts, taxes or totals), so the rest is the cost of
building the invoice. It ends with a ``RESULT`` line for the README's performance table
(``bench/report.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from results import emit

from meterlib.invoicing import Contract, Invoice, TableUsage, invoice
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.pricing import parse_price

BILLING = {"anchor": "2024-01-01", "cadence": "monthly", "timezone": "UTC"}
TARGET = 5_000
ROUND1_SRC = os.environ.get("METERLIB_ROUND1_SRC", "/tmp/old/src")  # noqa: S108  (a checkout)
METERS = ("api_calls", "tokens", "storage_gb")


def plan(name: str, fee: str, *, discounted: bool) -> dict[str, Any]:
    """A plan: a platform fee and three metered charges; maybe a discount and a tax."""
    document: dict[str, Any] = {
        "currency": "USD",
        "fees": [{"name": "platform", "amount": fee}],
        "metered": [
            {
                "name": "api_calls",
                "meter": "api_calls",
                "price": {
                    "model": "graduated",
                    "tiers": [
                        {"up_to": "10000", "unit_amount": "0"},
                        {"up_to": "1000000", "unit_amount": "0.0004"},
                        {"unit_amount": "0.0002"},
                    ],
                },
            },
            {
                "name": "tokens",
                "meter": "tokens",
                "price": {"model": "per_unit", "unit_amount": "0.000002", "included": "100000"},
            },
            {
                "name": "storage",
                "meter": "storage_gb",
                "price": {
                    "model": "volume",
                    "tiers": [{"up_to": "100", "unit_amount": "0.25"}, {"unit_amount": "0.20"}],
                },
            },
        ],
    }
    if discounted:
        document["discounts"] = [{"kind": "percentage", "name": "partner", "percent": "12.5"}]
        document["taxes"] = [{"name": "sales tax", "percent": "8.875"}]
    return {name: document}


def contracts(count: int) -> list[Contract]:
    """``count`` contracts, spread over three plans."""
    plans = [
        plan("starter", "29", discounted=False),
        plan("growth", "99", discounted=False),
        plan("partner", "249", discounted=True),
    ]
    return [
        Contract.model_validate(
            {
                "customer": f"cus_{index:05d}",
                "billing": BILLING,
                "plans": plans[index % 3],
                "phases": [{"start": "2024-01-01", "plan": next(iter(plans[index % 3]))}],
            },
        )
        for index in range(count)
    ]


def usage(customers: list[Contract], seed: int) -> UsageTable:
    """Seeded aggregated usage of every meter for every customer in March 2024."""
    rng = random.Random(seed)
    period = customers[0].period(2)
    cells: dict[UsageKey, Decimal] = {}
    for contract in customers:
        cells[UsageKey(contract.customer, "api_calls", period)] = Decimal(
            rng.randrange(10 ** rng.randrange(2, 8))
        )
        cells[UsageKey(contract.customer, "tokens", period)] = Decimal(rng.randrange(10**7))
        cells[UsageKey(contract.customer, "storage_gb", period)] = Decimal(
            rng.randrange(50_000)
        ).scaleb(-2)
    return UsageTable(cells)


def one_round(customers: list[Contract], table: UsageTable) -> tuple[float, Decimal]:
    """Invoice every customer once; return (invoices per second, sum of the totals)."""
    source = TableUsage(table)
    period = customers[0].period(2)
    grand = Decimal(0)
    start = time.perf_counter()
    for contract in customers:
        bill: Invoice = invoice(contract, source, period)
        grand += bill.total
    elapsed = time.perf_counter() - start
    return len(customers) / elapsed, grand


def bound_round(customers: list[Contract], table: UsageTable) -> float:
    """Rate the three prices alone on each customer's quantities; return customers per second."""
    metered = next(iter(plan("any", "0", discounted=False).values()))["metered"]
    prices = [parse_price(charge["price"]) for charge in metered]
    period = customers[0].period(2)
    quantities = [
        [table[UsageKey(contract.customer, meter, period)] for meter in METERS]
        for contract in customers
    ]
    start = time.perf_counter()
    for row in quantities:
        for price, quantity in zip(prices, row, strict=True):
            price.rate(quantity)
    return len(customers) / (time.perf_counter() - start)


class Round1:
    """This benchmark run by the round-1 code in a worker process, one round when asked."""

    def __init__(self, source: str, customers: int, seed: int) -> None:
        """Start the worker; it builds the same contracts and usage, then waits."""
        environment = {**os.environ, "PYTHONPATH": source}
        command = [sys.executable, __file__, "--worker", "--customers", str(customers)]
        command += ["--seed", str(seed)]
        self.process = subprocess.Popen(  # noqa: S603  (this file, our own arguments)
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=environment,
        )
        self._read()  # ready

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None  # noqa: S101  (opened as a pipe above)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the round-1 worker stopped")
        found: dict[str, Any] = json.loads(line)
        return found

    def round(self) -> tuple[float, Decimal]:
        """Run one round in the worker; (invoices per second, sum of the totals)."""
        assert self.process.stdin is not None  # noqa: S101  (opened as a pipe above)
        self.process.stdin.write("round\n")
        self.process.stdin.flush()
        found = self._read()
        return float(found["rate"]), Decimal(found["grand"])

    def close(self) -> None:
        """End the worker."""
        assert self.process.stdin is not None  # noqa: S101  (opened as a pipe above)
        self.process.stdin.close()
        self.process.wait()


def worker(options: argparse.Namespace) -> None:
    """Serve rounds on standard input (the meterlib on ``PYTHONPATH`` bills them)."""
    customers = contracts(options.customers)
    table = usage(customers, options.seed)
    print(json.dumps({"ready": True}), flush=True)
    for _ in sys.stdin:
        rate, grand = one_round(customers, table)
        print(json.dumps({"rate": rate, "grand": str(grand)}), flush=True)


def main() -> None:
    """Parse the options, run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--customers", type=int, default=10_000, help="invoices per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds to run")
    parser.add_argument("--seed", type=int, default=20240301, help="seed of the usage")
    parser.add_argument(
        "--round1-src", default=ROUND1_SRC, help="the round-1 code's src folder ('' for none)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        worker(options)
        return

    customers = contracts(options.customers)
    table = usage(customers, options.seed)
    old = None
    if options.round1_src and Path(options.round1_src, "meterlib").is_dir():
        print(f"round-1 code from {options.round1_src} in a worker, rounds in turn", flush=True)
        old = Round1(options.round1_src, options.customers, options.seed)
    rates: list[float] = []
    old_rates: list[float] = []
    grand = old_grand = Decimal(0)
    for number in range(options.rounds):
        if old is not None and number % 2:
            rate, old_grand = old.round()
            old_rates.append(rate)
        per_second, grand = one_round(customers, table)
        rates.append(per_second)
        if old is not None and not number % 2:
            rate, old_grand = old.round()
            old_rates.append(rate)
        print(
            f"  round {number + 1}: {per_second:,.0f} invoices/s"
            + (f"; round-1 code {old_rates[-1]:,.0f}" if old_rates else ""),
            flush=True,
        )
    if old is not None:
        old.close()
    print(
        f"customers: {options.customers} (a fee and 3 metered charges each), "
        f"rounds: {options.rounds}"
    )
    print(f"sum of the invoice totals: {grand} USD")
    median = statistics.median(rates)
    print(f"best:   {max(rates):,.0f} invoices/s")
    print(f"median: {median:,.0f} invoices/s")
    before = ""
    met = median >= TARGET
    if old_rates:
        old_median = statistics.median(old_rates)
        same = old_grand == grand
        print(
            f"round-1 code: median {old_median:,.0f} invoices/s (same rounds, in turn); "
            f"today / round 1: {median / old_median:.2f}; totals "
            + ("equal" if same else f"DIFFER ({old_grand})")
        )
        met = met and median >= old_median and same
        before = (
            f"; round-1 code (c3ba325) in the same run: {old_median:,.0f} invoices/s"
            f" (today {median / old_median:.2f}× that)"
        )
    bounds = [bound_round(customers, table) for _ in range(options.rounds)]
    bound = statistics.median(bounds)
    print(f"bound:  {bound:,.0f} customers/s rating the 3 prices alone (median, same run)")
    emit(
        "invoicing",
        what=f"invoicing {options.customers:,} customers for a month (a fee and 3 metered"
        " charges each, usage aggregated)",
        target=f"≥ {TARGET:,} invoices/s, not slower than round 1",
        measured=f"{median:,.0f} invoices/s (median of {options.rounds} rounds;"
        f" best {max(rates):,.0f})",
        met=met,
        bound=f"rating the same 3 prices on the same quantities alone: {bound:,.0f} customers/s"
        f" (whole invoices at {median / bound:.2f}× that: lines, discounts, taxes and totals"
        f" cost the rest){before}",
        command="python bench/bench_invoicing.py",
    )


if __name__ == "__main__":
    main()
