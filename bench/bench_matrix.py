"""Benchmark: rate a 3 x 4 matrix of graduated prices, usage in 10 cells, in a loop on one core.

The matrix prices tokens by ``model`` (3 values) and ``region`` (4 values): 12 cells, each a
4-tier graduated price. Each rating routes 10 usage entries (seeded quantities, 10 of the 12
cells) to their cells, rates each cell's usage with its full breakdown and sums them: one
:class:`~meterlib.pricing.Charge` with a line and a part per cell. Run it as
``python bench/bench_matrix.py``; it prints the best and median matrix ratings per second over
several rounds.

Bound (unless ``--no-bounds``): the same 10 cell ratings called directly on the cells' prices,
with no routing and no sum: part of the job only, so no matrix rating can be faster.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from decimal import Decimal
from typing import Any

from results import emit

from meterlib.pricing import Charge, GraduatedPrice, MatrixPrice

MODELS = ("small", "medium", "large")
REGIONS = ("us", "eu", "apac", "latam")
CELLS_USED = 10
TARGET = 20_000


def matrix() -> MatrixPrice:
    """The 3 x 4 matrix: one graduated price per (model, region), dearer for larger models."""
    cells: list[dict[str, Any]] = []
    for rank, model in enumerate(MODELS, 1):
        for step, region in enumerate(REGIONS):
            unit = Decimal(rank) / 1000 + Decimal(step) / 10000
            tiers = [
                {"up_to": "1000000", "unit_amount": str(unit), "flat_amount": "5"},
                {"up_to": "10000000", "unit_amount": str(unit * Decimal("0.8"))},
                {"up_to": "100000000", "unit_amount": str(unit * Decimal("0.6"))},
                {"unit_amount": str(unit * Decimal("0.5"))},
            ]
            cells.append(
                {
                    "match": {"model": [model], "region": [region]},
                    "price": {"model": "graduated", "tiers": tiers},
                },
            )
    return MatrixPrice.model_validate({"dimensions": ["model", "region"], "cells": cells})


def usages(count: int, seed: int) -> list[list[tuple[dict[str, str], Decimal]]]:
    """Return ``count`` seeded usages, each 10 entries in 10 distinct cells of the 12."""
    rng = random.Random(seed)
    pairs = [{"model": m, "region": r} for m in MODELS for r in REGIONS]
    return [
        [
            (values, Decimal(rng.randrange(10 ** rng.randrange(1, 9))))
            for values in rng.sample(pairs, CELLS_USED)
        ]
        for _ in range(count)
    ]


def one_round(price: MatrixPrice, count: int, seed: int) -> tuple[float, int]:
    """Rate ``count`` usages; return (matrix ratings per second, cell ratings produced)."""
    batch = usages(count, seed)
    rate = price.rate_usage
    parts = 0
    start = time.perf_counter()
    for usage in batch:
        charge: Charge = rate(usage)
        parts += len(charge.parts)
    elapsed = time.perf_counter() - start
    return count / elapsed, parts


def bound_round(price: MatrixPrice, count: int, seed: int) -> float:
    """The 10 cell ratings alone, on prices picked in advance: matrix ratings per second."""
    prices: dict[tuple[str, str], GraduatedPrice] = {}
    for cell in price.cells:
        assert isinstance(cell.price, GraduatedPrice)  # noqa: S101  (built so just above)
        prices[cell.match["model"][0], cell.match["region"][0]] = cell.price
    batch = [
        [(prices[values["model"], values["region"]].rate, quantity) for values, quantity in usage]
        for usage in usages(count, seed)
    ]
    start = time.perf_counter()
    for usage in batch:
        for rate, quantity in usage:
            rate(quantity)
    return count / (time.perf_counter() - start)


def main() -> None:
    """Parse the options, run the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=20_000, help="matrix ratings per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds to run")
    parser.add_argument("--seed", type=int, default=20240601, help="seed of the usages")
    parser.add_argument("--no-bounds", action="store_true", help="skip the cells-alone bound")
    options = parser.parse_args()

    price = matrix()
    rates: list[float] = []
    parts = 0
    for number in range(options.rounds):
        per_second, parts = one_round(price, options.count, options.seed + number)
        rates.append(per_second)
    print(
        f"price: 3 x 4 matrix of 4-tier graduated prices, usage in {CELLS_USED} cells"
        f" ({parts} cell ratings with breakdowns per round)",
    )
    print(f"matrix ratings per round: {options.count}, rounds: {options.rounds}")
    print(f"best:   {max(rates):,.0f} matrix ratings/s")
    print(f"median: {statistics.median(rates):,.0f} matrix ratings/s")
    bound_text = ""
    if not options.no_bounds:
        bound = max(bound_round(price, options.count, options.seed + n) for n in range(3))
        print(
            f"bound:  {bound:,.0f} matrix ratings/s for the {CELLS_USED} cell ratings alone"
            " (no routing, no sum)",
        )
        bound_text = f"the {CELLS_USED} cell ratings alone: {bound:,.0f}/s"
    median = statistics.median(rates)
    if not options.no_bounds:  # the trustworthy figure under load: the overhead over the bound
        print(
            f"matrix / bound: a matrix rating takes {bound / max(rates):.2f}x the time of its"
            f" {CELLS_USED} cell ratings alone (best against best)",
        )
    emit(
        "matrix",
        what=f"rating a 3 × 4 matrix of 4-tier graduated prices, usage in {CELLS_USED} cells"
        " (10 cell ratings with breakdowns each)",
        target=f"≥ {TARGET:,} matrix ratings/s",
        measured=f"{median:,.0f} matrix ratings/s (median of {options.rounds} rounds;"
        f" best {max(rates):,.0f})",
        met=median >= TARGET,
        bound=bound_text,
        command="python bench/bench_matrix.py",
    )


if __name__ == "__main__":
    main()
