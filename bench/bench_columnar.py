"""Benchmark: the columnar accumulator against polars and the pure-Python accumulator.

The workload is bench_metering's: ``--events`` raw event dicts (default 2 million) for 1,000
customers over the 12 months of 2024, times as ISO 8601 text with several offsets, token counts
as decimal text, 1 % re-sent copies, one re-sent copy in 50 changed into a conflicting version
(``with_conflicts``). Each contender turns the same dicts into exact token sums per customer and
calendar month in Europe/Berlin, first copy wins, every later copy a duplicate or a conflict:

- **columnar**: :class:`~meterlib.metering.columnar.ColumnarAccumulator` from the dicts:
  validation, deduplication with conflict detection, monthly bucketing, exact sums, the full
  :class:`~meterlib.metering.report.BatchReport`.
- **polars**: the same job written directly in polars, every part of it: validation (polars'
  own parsers: missing or empty id, customer or type, a time that does not parse or lies outside
  the documented range, a token count that is not a whole number), the first copy of each id
  counts and every later copy is compared with it (customer, type, instant, tokens: duplicate or
  conflict, counted and checked against our report), months in Europe/Berlin (time zone
  converted, or epoch microseconds searched among the months' UTC bounds), Int64 token sums
  (exact for whole numbers), one ``Decimal`` per cell at the end. Best of its forms.
- **accumulator**: :class:`~meterlib.metering.accumulator.Accumulator` (pure Python).

Two pairs are timed, contenders interleaved round by round: **from the dicts** (the issue's
job: ``pl.from_dicts``, or columns picked out of the dicts, for polars) and **from an Arrow
table** of the same events built outside the timing (``pl.from_arrow``, zero copy, for polars).
The ``RESULT`` row's ratio is the dicts pair's (the issue's target); the table pair's is printed
beside it. Under load, compare the ratios (wall and CPU seconds are both printed).

Run ``python bench/bench_columnar.py`` (``--events 200000`` for a quick run). It prints each
contender's events per second (best of ``--rounds``), the ratios, whether the targets hold
(>= 550,000 events/s and >= 0.8x polars) and checks that all computed the same sums, that
polars counted the same rejections, duplicates and conflicts, and that the accumulators (dicts
or table) gave the same report.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
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
from meterlib.metering.table import UsageTable
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


def run_columnar(events: list[dict[str, Any]]) -> UsageTable:
    """The columnar accumulator from the raw dicts: its usage table (what a caller gets)."""
    meters, cycle, window = _setup()
    accumulator = ColumnarAccumulator(meters, cycle, window=window)
    REPORTS["columnar"] = accumulator.add(events)
    return accumulator.usage()


def run_accumulator(events: list[dict[str, Any]]) -> UsageTable:
    """The pure-Python accumulator from the raw dicts: its usage table."""
    meters, cycle, window = _setup()
    accumulator = Accumulator(meters, cycle, window=window)
    REPORTS["accumulator"] = accumulator.add(events)
    return accumulator.usage()


#: The times' one format, told to polars (parsing is faster than with the format inferred).
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%:z"
#: The documented time range (check_event's), as polars datetimes are compared.
EARLIEST, LATEST = datetime(1900, 1, 1, tzinfo=UTC), datetime(2201, 1, 1, tzinfo=UTC)
#: What polars found besides the sums: rejected rows, duplicates, conflicts (later copies).
COUNTS: dict[str, tuple[int, int, int]] = {}


def _month_bounds() -> list[int]:
    """The 13 boundaries of the 12 Berlin months of 2024, as UTC epoch microseconds."""
    _, cycle, _ = _setup()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [(cycle.start(k) - epoch) // timedelta(microseconds=1) for k in range(13)]


def _polars_job(frame: Any, time_format: str | None = None, *, bounds: bool = False) -> Sums:
    """The whole job in polars: validation, dedup with conflicts, Berlin months, exact sums.

    Validation: a row is refused when its id, customer or type is missing or empty, its time
    does not parse or lies outside the documented range, or its token count is not a whole
    number (polars' own parsers, not check_event's exact rules). Dedup: the first valid copy of
    each id counts; every later copy is compared with it (customer, type, instant, tokens): equal
    is a duplicate, different a conflict. Months: the time zone converted (``bounds=False``) or
    the epoch microseconds searched among the months' UTC boundaries (``bounds=True``). Sums:
    Int64 (exact: whole numbers; a fraction is refused above), one ``Decimal`` per cell.
    """
    import polars as pl  # noqa: PLC0415  (optional: only these contenders need it)

    # One lazy plan, collected once for its three outputs (polars shares their common part and
    # reads only the columns each output needs).
    moment = pl.col("time").str.to_datetime(
        time_format, time_zone="UTC", time_unit="us", strict=False
    )
    bad = pl.any_horizontal(
        *(
            pl.col(n).is_null() | (pl.col(n).str.len_bytes() == 0)
            for n in ("id", "customer", "type")
        ),
        pl.col("moment").is_null(),
        pl.col("moment") < EARLIEST,
        pl.col("moment") >= LATEST,
        pl.col("tokens").is_null(),
    )
    checked = (
        frame.lazy()
        .with_columns(moment.alias("moment"), pl.col("tokens").cast(pl.Int64, strict=False))
        .with_columns(bad.alias("bad"))
    )
    rejected_plan = checked.select(pl.col("bad").sum())
    valid = checked.filter(~pl.col("bad")).with_columns(
        pl.col("id").is_first_distinct().alias("first")
    )
    fields = ("customer", "type", "moment", "tokens")
    later = valid.filter(~pl.col("first")).select("id", *fields)
    paired = later.join(
        valid.filter(pl.col("first")).select("id", *fields), on="id", how="left", suffix="_first"
    )
    differ = pl.any_horizontal(*(pl.col(n) != pl.col(f"{n}_first") for n in fields))
    repeats_plan = paired.select(pl.len().alias("later"), differ.sum().alias("conflicts"))
    firsts = valid.filter(pl.col("first"))
    if bounds:
        edges = pl.lit(pl.Series(_month_bounds(), dtype=pl.Int64))
        month_expr = edges.search_sorted(pl.col("micro"), side="right").cast(pl.Int64)
        sums_plan = (
            firsts.select("customer", "tokens", pl.col("moment").dt.epoch("us").alias("micro"))
            .with_columns(month_expr.alias("month"))
            .filter((pl.col("month") >= 1) & (pl.col("month") <= 12))
            .group_by(["customer", "month"])
            .agg(pl.col("tokens").sum())
        )
    else:
        local = pl.col("moment").dt.convert_time_zone(ZONE)
        sums_plan = (
            firsts.select(
                pl.col("customer"),
                local.dt.year().alias("year"),
                local.dt.month().alias("month"),
                pl.col("tokens"),
            )
            .filter(pl.col("year") == 2024)
            .group_by(["customer", "month"])
            .agg(pl.col("tokens").sum())
        )
    rejected_frame, repeats, grouped = pl.collect_all([rejected_plan, repeats_plan, sums_plan])
    later_count, conflicts = repeats.row(0)
    COUNTS["polars"] = (int(rejected_frame.item()), later_count - conflicts, conflicts)
    return {
        (customer, f"2024-{month:02d}"): Decimal(total)
        for customer, month, total in grouped.iter_rows()
    }


def run_polars_dicts(events: list[dict[str, Any]]) -> Sums:
    """polars from the dicts as they are (``from_dicts``, properties unnested)."""
    import polars as pl  # noqa: PLC0415

    frame = pl.from_dicts(events).unnest("properties")
    return _polars_job(frame)


def _picked(events: list[dict[str, Any]]) -> Any:
    import polars as pl  # noqa: PLC0415

    return pl.DataFrame(
        {
            "id": list(map(itemgetter("id"), events)),
            "customer": list(map(itemgetter("customer"), events)),
            "type": list(map(itemgetter("type"), events)),
            "time": list(map(itemgetter("time"), events)),
            "tokens": list(map(itemgetter("tokens"), map(itemgetter("properties"), events))),
        }
    )


def run_polars_columns(events: list[dict[str, Any]]) -> Sums:
    """polars from columns picked out of the dicts, times' format given, months by bounds."""
    return _polars_job(_picked(events), TIME_FORMAT, bounds=True)


def run_polars_columns_zone(events: list[dict[str, Any]]) -> Sums:
    """polars from columns picked out of the dicts, times' format given, zone converted."""
    return _polars_job(_picked(events), TIME_FORMAT)


def run_columnar_table(table: Any) -> UsageTable:
    """The columnar accumulator from an Arrow table: its usage table."""
    meters, cycle, window = _setup()
    accumulator = ColumnarAccumulator(meters, cycle, window=window)
    REPORTS["columnar (table)"] = accumulator.add(table)
    return accumulator.usage()


def run_polars_table(table: Any) -> Sums:
    """polars from the Arrow table (zero copy), months by bounds."""
    import polars as pl  # noqa: PLC0415

    loaded: Any = pl.from_arrow(table)  # a DataFrame for a table (Any: polars is optional)
    frame = loaded.unnest("properties")
    return _polars_job(frame, TIME_FORMAT, bounds=True)


def run_polars_table_zone(table: Any) -> Sums:
    """polars from the Arrow table (zero copy), zone converted."""
    import polars as pl  # noqa: PLC0415

    loaded: Any = pl.from_arrow(table)  # a DataFrame for a table (Any: polars is optional)
    frame = loaded.unnest("properties")
    return _polars_job(frame, TIME_FORMAT)


#: A contender: polars ends with its exact sums; meterlib's accumulators end with the usage
#: table a caller gets, turned into the same sums after the timing for the comparison.
Runner = Callable[[Any], Sums | UsageTable]


def best_rates(
    contenders: list[tuple[str, Runner]], given: Any, size: int, rounds: int
) -> dict[str, tuple[float, float, Sums]]:
    """Events per second (best of ``rounds``, wall clock), CPU seconds and result of each.

    The contenders run interleaved, round by round, so a burst of load hits them alike.
    """
    best: dict[str, tuple[float, float, Sums]] = {}
    for _ in range(rounds):
        for name, run in contenders:
            started, used = time.perf_counter(), time.process_time()
            output = run(given)
            took, cpu = time.perf_counter() - started, time.process_time() - used
            result = output if isinstance(output, dict) else _sums(output)
            if name not in best or took < best[name][0]:
                best[name] = (took, cpu, result)
            if name.startswith("polars"):
                found = COUNTS["polars"]
                if name not in POLARS_COUNTS:
                    POLARS_COUNTS[name] = found
    rates: dict[str, tuple[float, float, Sums]] = {}
    for name, (took, cpu, result) in best.items():
        rate = size / took
        print(
            f"{name:<40} {rate:>12,.0f} events/s  ({took:.2f} s wall, {cpu:.2f} s CPU, "
            f"{size:,} events)",
            flush=True,
        )
        rates[name] = (rate, cpu, result)
    return rates


POLARS_COUNTS: dict[str, tuple[int, int, int]] = {}


#: Every this many re-sent copies of the workload, one is changed into a conflicting version.
CONFLICT_EVERY = 50


def with_conflicts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """bench_metering's workload with one re-sent copy in ``CONFLICT_EVERY`` changed (tokens + 1).

    So the conflict branch of every contender runs (about 0.02 % of the events).
    """
    seen: set[str] = set()
    repeats = 0
    changed: list[dict[str, Any]] = []
    for event in events:
        if event["id"] in seen:
            repeats += 1
            if repeats % CONFLICT_EVERY == 0:
                tokens = str(int(event["properties"]["tokens"]) + 1)
                event = {**event, "properties": {"tokens": tokens}}  # noqa: PLW2901
        seen.add(event["id"])
        changed.append(event)
    return changed


def _check(name: str, sums: Sums, expected: Sums) -> None:
    if sums != expected:
        raise SystemExit(f"{name} and the columnar accumulator disagree")
    if name in POLARS_COUNTS:
        report = REPORTS["columnar"]
        ours = (len(report.rejected), report.duplicates, len(report.conflicts))
        if POLARS_COUNTS[name] != ours:
            raise SystemExit(f"{name} counts {POLARS_COUNTS[name]}, we count {ours}")


def main() -> None:
    """Build the workload, time the contenders, print rates, ratios and the verdicts."""
    import pyarrow as pa  # noqa: PLC0415

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=2_000_000, help="events in the workload")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per contender")
    parser.add_argument("--seed", type=int, default=20240101, help="seed of the workload")
    parser.add_argument("--skip-accumulator", action="store_true", help="leave it out")
    options = parser.parse_args()

    events = with_conflicts(make_events(options.events, options.seed))
    size = len(events)
    print(f"{size:,} events, {CUSTOMERS:,} customers, 12 months in {ZONE}", flush=True)
    run_columnar(events[:1000])  # imports and first-use set-up outside the timing
    run_polars_columns(events[:1000])

    print("-- from the event dicts (the issue's job)", flush=True)
    dict_peers: list[tuple[str, Runner]] = [
        ("polars (dicts: from_dicts)", run_polars_dicts),
        ("polars (dicts: picked columns, zone)", run_polars_columns_zone),
        ("polars (dicts: picked columns, bounds)", run_polars_columns),
    ]
    found = best_rates([("columnar", run_columnar), *dict_peers], events, size, options.rounds)
    ours, ours_cpu, expected = found.pop("columnar")
    for name, (_, _, sums) in found.items():
        _check(name, sums, expected)
    peer_name = max(found, key=lambda name: found[name][0])
    peer, peer_cpu, _ = found[peer_name]
    ratio = ours / peer

    print("-- from an Arrow table of the same events (built outside the timing)", flush=True)
    table = pa.Table.from_pylist(events)
    table_peers: list[tuple[str, Runner]] = [
        ("polars (table, zone)", run_polars_table_zone),
        ("polars (table, bounds)", run_polars_table),
    ]
    tabled = best_rates(
        [("columnar (table)", run_columnar_table), *table_peers], table, size, options.rounds
    )
    ours_table, ours_table_cpu, sums = tabled.pop("columnar (table)")
    _check("columnar (table)", sums, expected)
    if REPORTS["columnar (table)"] != REPORTS["columnar"]:
        raise SystemExit("the table and the dicts gave different reports")
    for name, (_, _, sums) in tabled.items():
        _check(name, sums, expected)
    table_peer_name = max(tabled, key=lambda name: tabled[name][0])
    table_peer, table_peer_cpu, _ = tabled[table_peer_name]
    table_ratio = ours_table / table_peer

    plain: float | None = None
    if not options.skip_accumulator:
        print("-- the pure-Python accumulator", flush=True)
        (plain, _, sums) = best_rates(
            [("accumulator", run_accumulator)], events, size, options.rounds
        )["accumulator"]
        _check("accumulator", sums, expected)
        if REPORTS["accumulator"] != REPORTS["columnar"]:
            raise SystemExit("the accumulator and the columnar accumulator report differently")
        print(f"columnar / accumulator: {ours / plain:.2f}")
    print(
        f"dicts:  columnar / polars (best form, {peer_name}): {ratio:.2f} wall, "
        f"{peer_cpu / ours_cpu:.2f} by CPU seconds"
    )
    print(
        f"table:  columnar / polars (best form, {table_peer_name}): {table_ratio:.2f} wall, "
        f"{table_peer_cpu / ours_table_cpu:.2f} by CPU seconds"
    )
    print(f"report: {REPORTS['columnar'].summary()}")
    print(
        f"target {TARGET:,} events/s: {'meets' if ours >= TARGET else 'misses'} it; "
        f"target {RATIO}x polars (dicts): {'meets' if ratio >= RATIO else 'misses'} it"
    )
    bound = (
        f"from the dicts, polars best of {len(dict_peers)} forms ({peer_name}): {peer:,.0f}"
        f" events/s, ratio {ratio:.2f}; from an Arrow table: columnar {ours_table:,.0f}"
        f" events/s, polars ({table_peer_name}) {table_peer:,.0f} events/s, ratio"
        f" {table_ratio:.2f}"
    )
    if plain is not None:
        bound += f"; pure-Python accumulator {plain:,.0f} events/s"
    emit(
        "columnar",
        what=f"ColumnarAccumulator from {size:,} event dicts: validation, dedup with"
        f" conflicts, {ZONE} monthly buckets, exact Decimal sums, {CUSTOMERS:,} customers"
        " (ratio: against polars doing the whole job from the same dicts)",
        target=f"≥ {TARGET:,} events/s and ≥ {RATIO}× polars on the same job",
        measured=f"{ours:,.0f} events/s (best of {options.rounds} rounds)",
        met=ours >= TARGET and ratio >= RATIO,
        bound=bound,
        command="python bench/bench_columnar.py",
    )


if __name__ == "__main__":
    main()
