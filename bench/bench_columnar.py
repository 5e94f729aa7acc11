"""Benchmark: the columnar accumulator against polars and the pure-Python accumulator.

The workload is bench_metering's: ``--events`` raw event dicts (default 2 million) for 1,000
customers over the 12 months of 2024, times as ISO 8601 text with several offsets, token counts
as decimal text, 1 % re-sent duplicates. Each contender turns the same dicts into exact token
sums per customer and calendar month in Europe/Berlin, duplicates removed (first copy wins):

- **columnar**: :class:`~meterlib.metering.columnar.ColumnarAccumulator` from the dicts:
  validation, deduplication with conflict detection, monthly bucketing, exact sums, the full
  :class:`~meterlib.metering.report.BatchReport`.
- **polars**: the same job written directly in polars (no validation), in its faster of two
  forms: ``pl.from_dicts`` on the dicts, or a frame built from columns picked out of the dicts;
  integer token sums, turned into ``Decimal`` at the end.
- **accumulator**: :class:`~meterlib.metering.accumulator.Accumulator` (pure Python).

Run ``python bench/bench_columnar.py`` (``--events 200000`` for a quick run). It prints each
contender's events per second (best of ``--rounds``), the ratios, whether the targets hold
(>= 550,000 events/s and >= 0.8x polars) and checks that all computed the same sums and that
the two accumulators gave the same report.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench.bench_metering import CUSTOMERS, ZONE, make_events
from results import emit

from meterlib.metering.accumulator import Accumulator
from meterlib.metering.columnar import ColumnarAccumulator
from meterlib.metering.meters import Meter
from meterlib.metering.report import BatchReport
from meterlib.periods import BillingCycle, Period

TARGET = 550_000  # events per second
RATIO = 0.8  # of polars

Sums = dict[tuple[str, str], Decimal]  # (customer, "YYYY-MM") -> tokens
REPORTS: dict[str, BatchReport] = {}


def _setup() -> tuple[list[Meter], BillingCycle, Period]:
    meter = Meter.model_validate(
        {"name": "tokens", "type": "api.call", "aggregation": "sum", "property": "tokens"}
    )
    cycle = BillingCycle(anchor=date(2024, 1, 1), timezone=ZONE)
    return [meter], cycle, Period(cycle.start(0), cycle.start(12))


def _sums(usage: Any) -> Sums:
    return {
        (key.customer, f"{key.period.start.year:04d}-{key.period.start.month:02d}"): value
        for key, value in usage.items()
    }


def run_columnar(events: list[dict[str, Any]]) -> Sums:
    """The columnar accumulator from the raw dicts."""
    meters, cycle, window = _setup()
    accumulator = ColumnarAccumulator(meters, cycle, window=window)
    REPORTS["columnar"] = accumulator.add(events)
    return _sums(accumulator.usage())


def run_accumulator(events: list[dict[str, Any]]) -> Sums:
    """The pure-Python accumulator from the raw dicts."""
    meters, cycle, window = _setup()
    accumulator = Accumulator(meters, cycle, window=window)
    REPORTS["accumulator"] = accumulator.add(events)
    return _sums(accumulator.usage())


def _polars_job(frame: Any) -> Sums:
    import polars as pl  # noqa: PLC0415  (optional: only these contenders need it)

    moment = pl.col("time").str.to_datetime(time_zone="UTC", time_unit="us")
    local = moment.dt.convert_time_zone(ZONE)
    grouped = (
        frame.unique(subset="id", keep="first", maintain_order=True)
        .select(
            pl.col("customer"),
            local.dt.year().alias("year"),
            local.dt.month().alias("month"),
            pl.col("tokens").cast(pl.Int64),
        )
        .filter(pl.col("year") == 2024)
        .group_by(["customer", "month"])
        .agg(pl.col("tokens").sum())
    )
    return {
        (customer, f"2024-{month:02d}"): Decimal(total)
        for customer, month, total in grouped.iter_rows()
    }


def run_polars_dicts(events: list[dict[str, Any]]) -> Sums:
    """polars from the dicts as they are (``from_dicts``, properties unnested)."""
    import polars as pl  # noqa: PLC0415

    frame = pl.from_dicts(events).unnest("properties")
    return _polars_job(frame)


def run_polars_columns(events: list[dict[str, Any]]) -> Sums:
    """polars from columns picked out of the dicts."""
    import polars as pl  # noqa: PLC0415

    frame = pl.DataFrame(
        {
            "id": list(map(itemgetter("id"), events)),
            "customer": list(map(itemgetter("customer"), events)),
            "time": list(map(itemgetter("time"), events)),
            "tokens": list(map(itemgetter("tokens"), map(itemgetter("properties"), events))),
        }
    )
    return _polars_job(frame)


Runner = Callable[[list[dict[str, Any]]], Sums]


def best_rate(
    name: str, run: Runner, events: list[dict[str, Any]], rounds: int
) -> tuple[float, Sums]:
    """Events per second of ``run`` (best of ``rounds``, wall clock) and its result.

    The CPU seconds of the best round are printed beside (polars may use several threads).
    """
    best = cpu = float("inf")
    result: Sums = {}
    for _ in range(rounds):
        started, used = time.perf_counter(), time.process_time()
        result = run(events)
        took = time.perf_counter() - started
        if took < best:
            best, cpu = took, time.process_time() - used
    rate = len(events) / best
    print(
        f"{name:<16} {rate:>12,.0f} events/s  ({best:.2f} s wall, {cpu:.2f} s CPU, "
        f"{len(events):,} events)"
    )
    return rate, result


def main() -> None:
    """Build the workload, time the contenders, print rates, ratios and the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2_000_000, help="events in the workload")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per contender")
    parser.add_argument("--seed", type=int, default=20240101, help="seed of the workload")
    parser.add_argument("--skip-accumulator", action="store_true", help="leave it out")
    options = parser.parse_args()

    events = make_events(options.events, options.seed)
    print(f"{len(events):,} events, {CUSTOMERS:,} customers, 12 months in {ZONE}")
    run_columnar(events[:1000])  # imports and first-use set-up outside the timing
    ours, expected = best_rate("columnar", run_columnar, events, options.rounds)
    rates: dict[str, float] = {}
    peers = (("polars (dicts)", run_polars_dicts), ("polars (columns)", run_polars_columns))
    for name, run in peers:
        rates[name], sums = best_rate(name, run, events, options.rounds)
        if sums != expected:
            raise SystemExit(f"{name} and the columnar accumulator disagree")
    plain: float | None = None
    if not options.skip_accumulator:
        plain, sums = best_rate("accumulator", run_accumulator, events, options.rounds)
        if sums != expected:
            raise SystemExit("the accumulator and the columnar accumulator disagree")
        if REPORTS["accumulator"] != REPORTS["columnar"]:
            raise SystemExit("the accumulator and the columnar accumulator report differently")
        print(f"columnar / accumulator: {ours / plain:.2f}")
    peer_name = max(rates, key=lambda name: rates[name])
    peer = rates[peer_name]
    ratio = ours / peer
    print(f"columnar / polars (best form, {peer_name}): {ratio:.2f}")
    print(f"report: {REPORTS['columnar'].summary()}")
    print(
        f"target {TARGET:,} events/s: {'meets' if ours >= TARGET else 'misses'} it; "
        f"target {RATIO}x polars: {'meets' if ratio >= RATIO else 'misses'} it"
    )
    bound = f"polars, best of two forms ({peer_name}): {peer:,.0f} events/s; ratio {ratio:.2f}"
    if plain is not None:
        bound += f"; pure-Python accumulator {plain:,.0f} events/s"
    emit(
        "columnar",
        what=f"ColumnarAccumulator from {len(events):,} event dicts: validation, dedup with"
        f" conflicts, {ZONE} monthly buckets, exact Decimal sums, {CUSTOMERS:,} customers",
        target=f"≥ {TARGET:,} events/s and ≥ {RATIO}× polars on the same job",
        measured=f"{ours:,.0f} events/s (best of {options.rounds} rounds)",
        met=ours >= TARGET and ratio >= RATIO,
        bound=bound,
        command="python bench/bench_columnar.py",
    )


if __name__ == "__main__":
    main()
