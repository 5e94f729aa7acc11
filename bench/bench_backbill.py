"""Benchmark: back-bill 1,000 partners x 72 monthly periods (tiered prices, a price change,
9 % simple interest, a six-year lookback) and print partner-periods per second.

Target: >= 20,000 partner-periods/s on one core. Inputs are built before timing; the timed part
is :func:`meterlib.backbill.rebill` (grouping usage, rating, interest, totals, documents).
Bound printed beside it, timed in the same run: rating every partner-month at the price in force
alone, so the rest is the cost of interest, lookback, totals and documents. It ends with a
``RESULT`` line for the README's performance table (``bench/report.py``).

    python bench/bench_backbill.py [--partners N] [--rounds R]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import date
from decimal import Decimal

from results import emit

from meterlib.backbill import (
    BilledPeriod,
    InterestPolicy,
    PriceSchedule,
    PriceVersion,
    UsageRecord,
    rebill,
)
from meterlib.periods import add_months
from meterlib.pricing import Price, parse_price

MONTHS = 72
FIRST = date(2019, 1, 1)
AS_OF = date(2025, 6, 30)
CHANGE = date(2022, 1, 1)
TARGET = 20_000


def basis() -> PriceSchedule:
    """Four tiers; the top two tiers' prices change part-way (from 2022-01-01)."""

    def price(high: str, top: str) -> Price:
        return parse_price(
            {
                "model": "graduated",
                "tiers": [
                    {"up_to": "10000", "unit_amount": "0", "flat_amount": "100"},
                    {"up_to": "1000000", "unit_amount": "0.005"},
                    {"up_to": "10000000", "unit_amount": high},
                    {"unit_amount": top},
                ],
            }
        )

    return PriceSchedule(
        [
            PriceVersion(FIRST, price("0.001", "0.00084"), "list 2019"),
            PriceVersion(CHANGE, price("0.0012", "0.001"), "list 2022"),
        ]
    )


def partner(rng: random.Random, index: int) -> tuple[list[BilledPeriod], list[UsageRecord]]:
    billed, usage = [], []
    for month in range(MONTHS):
        start, end = add_months(FIRST, month), add_months(FIRST, month + 1)
        billed.append(BilledPeriod(start, end, Decimal(100), invoice=f"P{index}-{month}"))
        usage.append(UsageRecord(start, end, Decimal(rng.randrange(0, 40_000_000))))
    return billed, usage


def bound_round(schedule: PriceSchedule, partners: list[tuple[list[BilledPeriod],
                list[UsageRecord]]]) -> float:
    """Rate every partner-month at the price in force alone; return partner-periods/s."""
    first, second = (version.price for version in schedule.versions)
    started = time.perf_counter()
    for _, usage in partners:
        for record in usage:
            (first if record.start < CHANGE else second).rate(record.quantity)
    return len(partners) * MONTHS / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(20240630)
    schedule = basis()
    policy = InterestPolicy.simple("0.09")
    partners = [partner(rng, i) for i in range(args.partners)]
    rates = []
    total = Decimal(0)
    for _ in range(args.rounds):
        started = time.perf_counter()
        total = Decimal(0)
        for billed, usage in partners:
            statement = rebill(
                schedule, billed, usage, as_of=AS_OF, due_days=30, interest=policy,
                lookback_years=6,
            )
            total += statement.totals.total
        elapsed = time.perf_counter() - started
        rates.append(args.partners * MONTHS / elapsed)
    print(
        f"backbill: {args.partners} partners x {MONTHS} months, tiered prices with a price change,"
        f" 9% simple interest, 6-year lookback"
    )
    print(f"  rounds: {', '.join(f'{r:,.0f}' for r in rates)} partner-periods/s")
    median = statistics.median(rates)
    print(f"  median: {median:,.0f} partner-periods/s (target >= {TARGET:,})")
    print(f"  total owed across partners: {total} USD")
    bound = statistics.median(bound_round(schedule, partners) for _ in range(args.rounds))
    print(f"  bound: {bound:,.0f} partner-periods/s rating each month alone (median, same run)")
    emit(
        "backbill",
        what=f"back-billing {args.partners:,} partners × {MONTHS} months (tiered prices, a price"
        " change, simple interest)",
        target=f"≥ {TARGET:,} partner-periods/s",
        measured=f"{median:,.0f} partner-periods/s (median of {args.rounds} rounds;"
        f" best {max(rates):,.0f})",
        met=median >= TARGET,
        bound=f"rating each partner-month at the price in force alone: {bound:,.0f}"
        f" partner-periods/s (the whole back-bill at {median / bound:.2f}× that: interest,"
        " lookback, totals and documents cost the rest)",
        command="python bench/bench_backbill.py",
    )


if __name__ == "__main__":
    main()
