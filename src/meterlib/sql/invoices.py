"""Events to invoices through SQL: many contracts billed from one DuckDB usage query.

:func:`invoices_from_source` computes the usage of every customer in one query over the event
files (or the ledger) with the contracts' meters (:mod:`meterlib.sql.duckdb_engine`), reads
the result as Arrow columns into a usage source keyed by customer, meter and span
(:class:`ColumnUsage`: one dictionary entry per cell, no per-event Python, no
:class:`~meterlib.metering.table.UsageTable` objects), and bills each contract's periods with
:func:`meterlib.invoicing.engine.invoice`, the same engine as ``meterlib invoice``; the
figures are the engine's, exact.

The spans asked for are every segment of every period billed (a plan change splits a period),
so the usage is rated per plan as :func:`~meterlib.invoicing.engine.invoice` does. Spans that
overlap (contracts on different cycles or time zones) are computed in as many queries as it
takes to keep each query's periods apart. Where every event went (duplicates, conflicts,
rejections with line and reason, events outside every span billed) is in the result's
:attr:`SourceInvoices.report`: nothing is lost silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meterlib._numbers import EXACT, quotient
from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Contract, Segment, cycle_key
from meterlib.invoicing.engine import bill_segments, resolve_period
from meterlib.invoicing.invoice import Invoice
from meterlib.metering.meters import Meter
from meterlib.metering.report import BatchReport
from meterlib.metering.table import GroupKey, paused_gc
from meterlib.periods import Period
from meterlib.sql.compile import DEFAULT_SCALE, build_usage_query, micros, trim_decimal_text
from meterlib.sql.duckdb_engine import (
    receipt_report,
    run_arrow,
    run_usage_and_report,
    source_view,
    usage_source,
)

if TYPE_CHECKING:
    import duckdb

    from meterlib.sql.sources import EventsView

__all__ = ["ColumnUsage", "SourceInvoices", "invoices_from_source"]

_ZERO = Decimal(0)
_Cell = tuple[str, str, datetime, datetime]


class ColumnUsage:
    """A usage source (``quantity`` and ``groups``) over the cells of usage query results.

    Keys are customer, meter and the span's bounds (aware datetimes compare and hash as
    instants, whatever their zones); a cell that saw no events is zero, as in
    :class:`~meterlib.invoicing.usage.TableUsage`.
    """

    __slots__ = ("_groups", "_totals")

    def __init__(self) -> None:
        """An empty source; :meth:`add_result` fills it."""
        self._totals: dict[_Cell, Decimal] = {}
        self._groups: dict[_Cell, dict[GroupKey, Decimal]] = {}

    def add_result(self, result: Any, periods: Sequence[Period], meters: Sequence[Meter]) -> None:
        """Add the cells of one usage query result (Arrow, ``value`` as plain decimal text)."""
        import pyarrow.compute as pc  # noqa: PLC0415  (optional dependency)

        bounds = [(p.start, p.end) for p in periods]
        names = {m.name: tuple(sorted(set(m.group_by))) for m in meters}
        width = max(len(keys) for keys in names.values())
        columns = result.column_names
        texts = result.column(columns[5 + width])
        customers = result.column(0).to_pylist()
        meter_names = result.column(1).to_pylist()
        indexes = result.column(2).to_pylist()
        groups = [result.column(5 + i).to_pylist() for i in range(width)]
        divisors = result.column(columns[6 + width])
        plain = pc.all(pc.equal(divisors, 1)).as_py() is not False
        values = trim_decimal_text(texts).to_pylist()
        if plain:
            quantities = list(map(Decimal, values))
        else:  # a quotient from the untrimmed text, as written
            quantities = [
                Decimal(value) if divisor == 1 else quotient(Decimal(raw), Decimal(divisor))
                for value, raw, divisor in zip(
                    values, texts.to_pylist(), divisors.to_pylist(), strict=True
                )
            ]
        spans = [bounds[index] for index in indexes]
        totals = self._totals
        add = EXACT.add
        cells = [
            (customer, name, start, end)
            for customer, name, (start, end) in zip(customers, meter_names, spans, strict=True)
        ]
        for cell, value in zip(cells, quantities, strict=True):
            found = totals.get(cell)
            totals[cell] = value if found is None else add(found, value)
        if not any(names.values()):
            return
        by_group = self._groups
        for row, (cell, value) in enumerate(zip(cells, quantities, strict=True)):
            keys = names[cell[1]]
            if keys:
                group = tuple((key, groups[i][row]) for i, key in enumerate(keys))
                by_group.setdefault(cell, {})[group] = value

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """The usage of the cell ``[start, end)``, summed over groups; zero when absent."""
        return self._totals.get((customer, meter, start, end), _ZERO)

    def groups(
        self, customer: str, meter: str, start: datetime, end: datetime
    ) -> Mapping[GroupKey, Decimal]:
        """The usage of the cell ``[start, end)`` per group; empty when absent."""
        cell = (customer, meter, start, end)
        found = self._groups.get(cell)
        if found is not None:
            return dict(found)
        total = self._totals.get(cell)
        return {} if total is None else {(): total}

    def __len__(self) -> int:
        """The number of cells."""
        return len(self._totals)


@dataclass(frozen=True, slots=True)
class SourceInvoices:
    """The invoices billed from a source, and where every event of it went."""

    invoices: tuple[Invoice, ...]
    report: BatchReport


def _meters(contracts: Sequence[Contract], meters: Sequence[Meter] | None) -> tuple[Meter, ...]:
    if meters is not None:
        return tuple(meters)
    found: dict[str, Meter] = {}
    for contract in contracts:
        for meter in contract.meters:
            if found.setdefault(meter.name, meter) != meter:
                raise InvalidValueError(
                    "meters", meter.name, "one definition per meter name across the contracts"
                )
    if not found:
        raise InvalidValueError(
            "meters", (), "meters in the contracts ('meters' or 'meters_file') or given"
        )
    return tuple(found.values())


def _layers(spans: set[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """The spans in sorted lists of non-overlapping spans (one list when none overlap)."""
    layers: list[list[tuple[int, int]]] = []
    for span in sorted(spans):
        for layer in layers:
            if layer[-1][1] <= span[0]:
                layer.append(span)
                break
        else:
            layers.append([span])
    return layers


def invoices_from_source(
    source: str | Path | Sequence[str | Path],
    contracts: Sequence[Contract],
    periods: Sequence[Period | int],
    *,
    meters: Sequence[Meter] | None = None,
    scale: int = DEFAULT_SCALE,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> SourceInvoices:
    """Bill every contract for each of ``periods`` with usage computed by DuckDB from ``source``.

    ``source`` is what :func:`~meterlib.sql.duckdb_engine.scan_source` reads (Parquet, CSV,
    JSON Lines, a SQLite ledger). ``periods`` are billing periods (or their indexes, as
    :meth:`Contract.period` counts them) of every contract; a contract that does not cover a
    period is not billed for it. ``meters`` default to the contracts' meters (one definition
    per name). Invoices come in contract order, then period order.
    """
    if not contracts or not all(isinstance(c, Contract) for c in contracts):
        raise InvalidValueError("contracts", contracts, "a non-empty sequence of Contracts")
    # Periods, cells and thousands of invoices, none in a cycle: no collections scanning them.
    with paused_gc():
        return _invoices(source, contracts, periods, _meters(contracts, meters), scale, connection)


def _invoices(  # noqa: PLR0917  (private body of invoices_from_source)
    source: str | Path | Sequence[str | Path],
    contracts: Sequence[Contract],
    periods: Sequence[Period | int],
    chosen: tuple[Meter, ...],
    scale: int,
    connection: duckdb.DuckDBPyConnection | None,
) -> SourceInvoices:
    work: list[tuple[Contract, Period, tuple[Segment, ...]]] = []
    spans: set[tuple[int, int]] = set()
    # Each bound as the datetime the engine will ask with (a contract keeps its segments and
    # equal cycles share their periods), so a cell's look-up finds its key by identity.
    instants: dict[int, datetime] = {}
    known: dict[tuple[Any, int], Period] = {}  # a cycle's n-th period, once per cycle
    # Bounds in µs by the bounds' identities (the segments in ``work`` keep the objects alive).
    seen: dict[tuple[int, int], tuple[int, int]] = {}
    for contract in contracts:
        for given in periods:
            if isinstance(given, int):
                key = (cycle_key(contract.billing), given)
                if key not in known:
                    known[key] = contract.period(given)
                period = known[key]
            else:
                period = given
            whole = resolve_period(contract, period)
            segments = contract.segments(whole)
            if not segments:
                continue
            work.append((contract, whole, segments))
            for segment in segments:
                start, end = segment.start, segment.end
                bounds = seen.get((id(start), id(end)))
                if bounds is None:  # equal cycles share their periods: once per pair of objects
                    bounds = seen[id(start), id(end)] = (micros(start), micros(end))
                    instants.setdefault(bounds[0], start)
                    instants.setdefault(bounds[1], end)
                    spans.add(bounds)
    db, view = source_view(source, chosen, scale, connection)
    usage = ColumnUsage()
    if spans:
        report = _usage_and_report(db, view, chosen, spans, instants, scale=scale, usage=usage)
    else:
        empty = BatchReport(received=len(view.rejected), rejected=view.rejected)
        report = lambda: empty  # noqa: E731  (the report, when asked)
    try:
        bills = tuple(bill_segments(c, usage, whole, parts) for c, whole, parts in work)
    except BaseException:
        with suppress(Exception):  # the background comparison ends before the error goes up
            report()
        raise
    # Waits for the later copies' comparison (see run_usage_and_report).
    return SourceInvoices(bills, report())


def _usage_and_report(
    db: duckdb.DuckDBPyConnection,
    view: EventsView,
    meters: tuple[Meter, ...],
    spans: set[tuple[int, int]],
    instants: dict[int, datetime],
    *,
    scale: int,
    usage: ColumnUsage,
) -> Callable[[], BatchReport]:
    """Fill ``usage`` with the cells of every span; the report of where every event went.

    Where the source ranks copies by one column, one statement computes the first copies once
    for the usage of every layer and the report alike, the later copies compared in the
    background (:func:`run_usage_and_report`); else (several receipt columns) each query
    numbers the copies itself. The report is a function: call it once, after the invoices.
    """
    layers = _layers(spans)
    union = [Period(_instant(lo), _instant(hi)) for lo, hi in _union(spans)]
    cells = [[Period(instants[lo], instants[hi]) for lo, hi in layer] for layer in layers]
    single = len(view.order_by) == 1
    queries = [
        build_usage_query(
            meters,
            [Period(_instant(lo), _instant(hi)) for lo, hi in layer],
            scale=scale,
            exact_columns=view.exact_columns,
            ordered=False,
            **usage_source(view, stored=single),
        )
        for layer in layers
    ]
    found = run_usage_and_report(db, view, meters, queries, union) if single else None
    if found is not None:
        results, report = found
        try:
            for result, periods in zip(results, cells, strict=True):
                usage.add_result(result, periods, meters)
        except BaseException:
            with suppress(Exception):  # the background comparison ends before the error goes up
                report()
            raise
        return report
    for query, periods in zip(queries, cells, strict=True):
        text = query.sql("duckdb", pretty=False)
        sql = f'SELECT * REPLACE (CAST("value" AS VARCHAR) AS "value") FROM ({text})'  # noqa: S608  (the compiled query)
        usage.add_result(run_arrow(db, sql), periods, meters)
    done = receipt_report(db, view, meters, union)
    return lambda: done


def _union(spans: set[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans merged where they overlap or touch: sorted, apart."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _instant(us: int) -> datetime:
    from datetime import UTC, timedelta  # noqa: PLC0415

    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
