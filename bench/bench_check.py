"""Benchmark: ``check`` per request against a warm ledger (target: >= 50,000 checks/s).

Builds a ledger of ``--events`` read events (``--customers`` customers, seeded times over three
months) in a temporary file, loads its usage index once (the warm ledger: the only time the
file is read), then times ``--checks`` calls of :func:`meterlib.credits.check` with a monthly
hard limit and a 15-minute rate window, at seeded moments and customers. Prints the best and
median checks per second over ``--rounds`` rounds, and the time the index took to load.
Run it as ``python bench/bench_check.py``; on a loaded machine report ``uptime`` with it.

Bound, measured in the same run: the same asks answered by the two binary searches on the
customer's series alone (no period lookup, no window, no answer built), part of the job only,
so no check can be faster. The README row is printed by :func:`results.emit`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from results import emit

from meterlib.credits import Limit, LimitKind, RateWindow, UsageIndex, check
from meterlib.ledger import Ledger
from meterlib.ledger.credits import usage_index
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import parse_meters
from meterlib.periods import BillingCycle

START = datetime(2024, 1, 1, tzinfo=UTC)
SPAN_S = 90 * 86_400
TARGET = 50_000


def bound_round(index: UsageIndex, asks: list[tuple[str, datetime]]) -> float:
    """The asks answered by two binary searches on a series alone: checks per second."""
    from bisect import bisect_left, bisect_right  # noqa: PLC0415

    series = [(index.series(c, "reads").times, int(at.timestamp() * 1_000_000)) for c, at in asks]
    began = time.perf_counter()
    for times, now in series:
        upto = bisect_right(times, now)
        bisect_left(times, now - 2_592_000_000_000, 0, upto)
    return len(series) / (time.perf_counter() - began)


def main() -> None:
    """Parse the options, build the ledger, time the checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--checks", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    meters = parse_meters([{"name": "reads", "type": "read", "aggregation": "count"}])
    customers = [f"c{i}" for i in range(args.customers)]
    events = [
        UsageEvent.from_dict(
            {
                "id": f"e{i}",
                "customer": rng.choice(customers),
                "type": "read",
                "time": (START + timedelta(seconds=rng.randrange(SPAN_S))).isoformat(),
            }
        )
        for i in range(args.events)
    ]
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
        ledger.append(events)
        began = time.perf_counter()
        index = usage_index(ledger, meters)
        for customer in customers:
            index.series(customer, "reads")
        loaded = time.perf_counter() - began
    limit = Limit(
        "reads", Decimal(50), BillingCycle(cadence="monthly", anchor=START), LimitKind.HARD
    )
    window = RateWindow("reads", 5, timedelta(minutes=15))
    asks = [
        (rng.choice(customers), START + timedelta(seconds=rng.randrange(SPAN_S)))
        for _ in range(args.checks)
    ]
    rates = []
    allowed = 0
    for number in range(args.rounds):
        began = time.perf_counter()
        allowed = sum(check(index, c, limit, at, window=window).allowed for c, at in asks)
        rates.append(args.checks / (time.perf_counter() - began))
        print(f"round {number + 1}/{args.rounds}: {rates[-1]:,.0f} checks/s", flush=True)
    median = statistics.median(rates)
    bound = max(bound_round(index, asks) for _ in range(3))
    print(
        f"{args.events} events, {args.customers} customers; index loaded in {loaded:.2f} s; "
        f"{args.checks} checks a round ({allowed} allowed): best {max(rates):,.0f} checks/s, "
        f"median {median:,.0f} checks/s; bound (two binary searches alone) {bound:,.0f}/s"
    )
    emit(
        "check",
        what=f"check(...) per request on a warm ledger ({args.events:,} events,"
        f" {args.customers} customers; a hard monthly limit and a 15-minute window)",
        target=f"≥ {TARGET:,} checks/s",
        measured=f"{median:,.0f} checks/s (median of {args.rounds} rounds;"
        f" best {max(rates):,.0f})",
        met=median >= TARGET,
        bound=f"two binary searches per ask alone: {bound:,.0f}/s",
        command="python bench/bench_check.py",
    )


if __name__ == "__main__":
    main()
