"""Benchmark: rate a 4-tier graduated API price, with its breakdown, in a loop on one core.

Quantities are seeded and spread over every tier (from a handful of calls to tens of millions).
Each rating returns the full :class:`~meterlib.pricing.Charge`: one exact line per tier touched,
the subtotal and the final amount. Run it as ``python bench/bench_rating.py``; it prints the best
and median ratings per second over several rounds, then its README row (``RESULT``, see
``bench/results.py``).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from decimal import Decimal
from pathlib import Path

from results import emit

from meterlib.pricing import Charge, load_price

TARGET = 100_000
PRICE_FILE = Path(__file__).resolve().parent.parent / "examples" / "prices" / "api_graduated.json"


def quantities(count: int, seed: int) -> list[Decimal]:
    """Return ``count`` seeded whole-call quantities, spread from 0 to about 100 million."""
    rng = random.Random(seed)
    return [Decimal(rng.randrange(10 ** rng.randrange(1, 9))) for _ in range(count)]


def one_round(count: int, seed: int) -> tuple[float, int]:
    """Rate ``count`` quantities; return (ratings per second, breakdown lines produced)."""
    price = load_price(PRICE_FILE)
    batch = quantities(count, seed)
    rate = price.rate
    lines = 0
    start = time.perf_counter()
    for quantity in batch:
        charge: Charge = rate(quantity)
        lines += len(charge.lines)
    elapsed = time.perf_counter() - start
    return count / elapsed, lines


def main() -> None:
    """Parse the options, run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=200_000, help="ratings per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds to run")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the quantities")
    options = parser.parse_args()

    rates: list[float] = []
    lines = 0
    for number in range(options.rounds):
        per_second, lines = one_round(options.count, options.seed + number)
        rates.append(per_second)
    print(f"price: {PRICE_FILE.name} (4-tier graduated, breakdown of {lines} lines per round)")
    print(f"ratings per round: {options.count}, rounds: {options.rounds}")
    print(f"best:   {max(rates):,.0f} ratings/s")
    median = statistics.median(rates)
    print(f"median: {median:,.0f} ratings/s")
    emit(
        "rating",
        what="rating a 4-tier graduated API price with its breakdown (examples/prices/"
        "api_graduated.json, quantities over every tier)",
        target=f"≥ {TARGET:,} ratings/s",
        measured=f"{median:,.0f} ratings/s (median of {options.rounds} rounds;"
        f" best {max(rates):,.0f})",
        met=median >= TARGET,
        bound="",
        command="python bench/bench_rating.py",
    )


if __name__ == "__main__":
    main()
