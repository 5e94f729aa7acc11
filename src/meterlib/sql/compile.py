"""Meters and billing periods compiled to one SQL query, built as a sqlglot expression tree.

The query reads an *events table* and returns one row per (customer, meter, period, group) cell
that saw events, with exactly the figure :class:`~meterlib.metering.accumulator.Accumulator`
computes from the same events. It is built once as a sqlglot tree and printed for any dialect
(:mod:`meterlib.sql.dialects`): DuckDB, Spark SQL, PostgreSQL, ClickHouse, ...

**The events table.** Columns ``id``, ``customer``, ``type`` (text), ``time`` (a timestamp with
time zone: an instant), one column per property a meter reads, filters on or groups by (named
after the property; text, or an exact number type), and the columns of ``order_by`` that say in
which order copies of one id were received (default ``received_at``; they must order the copies
of an id totally). Files get these columns from :mod:`meterlib.sql.sources`.

**Semantics, step by step, as in the in-memory path.**

1. *Deduplication.* Copies of an id are numbered in ``order_by`` order; the first received copy
   wins wherever its time falls, later copies never count (see :func:`compile_conflicts` for
   telling duplicates from conflicts).
2. *Periods.* Each winner's time, as POSIX microseconds, is compared with the periods' bounds
   written as integer literals: UTC instants computed by :class:`~meterlib.periods.BillingCycle`
   in Python, so DST and month-end clamping are exactly the Python path's. Periods are half-open.
   An event outside every period of interest counts for no meter.
3. *Meters.* Event type, filters (text equality, a missing property never matches) and
   ``group_by`` values (text) as :meth:`Meter.matches` and the accumulator read them.
4. *Numbers* are read into ``DECIMAL(38, scale)`` (default :data:`DEFAULT_SCALE` = 12 places,
   26 integer digits) through :func:`meterlib.sql._values.read_number`: a value with more places,
   or not a decimal, or missing, stops the query with an error naming the event; it is never
   rounded. A sum that outgrows 38 digits is an overflow error in the engine. No DOUBLE or FLOAT
   appears anywhere in the query.
5. *Aggregations.* ``count``, ``sum``, ``min``, ``max``, ``unique_count`` (distinct values as
   text), ``latest`` (value of the greatest ``(time, id)``, the accumulator's tie rule) and
   ``weighted_sum``. SQL engines either round decimal division to a fixed scale or go through
   DOUBLE, so the query never divides: ``value`` is the exact numerator and ``divisor`` the
   denominator, ``1`` except for ``weighted_sum`` where ``value`` is Σ increment × (period end −
   time) in µs and ``divisor`` the period's length in µs. The figure is ``value / divisor``,
   divided exactly in Python by :meth:`UsageQuery.table`.

**Output columns:** ``customer``, ``meter``, ``period_index`` (position in
:attr:`UsageQuery.periods`), ``period_start``, ``period_end`` (ISO 8601 text), ``g1`` … ``gK``
(the values of the meter's ``group_by`` properties in sorted name order, NULL past its count),
``value``, ``divisor`` and ``value_text`` (for ``latest``, the winning value as written, so
that ``502.10`` stays ``502.10`` as in the other engines; NULL for the other aggregations, whose
figures are read from ``value`` with the scale's padding zeros trimmed).

Meters sharing one ``group_by`` set are aggregated together in one pass over the events (each
reading only the rows it matches); ``latest`` meters are ranked by a window of their own.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlglot import exp

from meterlib._numbers import EXACT, quotient, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.table import GroupKey, UsageKey, UsageTable, paused_gc
from meterlib.periods import BillingCycle, Period
from meterlib.sql.cells import (
    END,
    PERIOD,
    START,
    TIME_US,
    meter_cells,
    sql_column,
    sql_int,
)
from meterlib.sql.dialects import to_sql
from meterlib.sql.firsts import COPY_NO, first_source

__all__ = [
    "CORE_COLUMNS",
    "DEFAULT_SCALE",
    "UsageQuery",
    "build_usage_query",
    "compile_usage",
    "micros",
    "periods_of_interest",
    "properties_read",
    "trim_decimal_text",
]

#: Fraction digits of every quantity in SQL: ``DECIMAL(38, 12)`` unless a caller asks otherwise.
DEFAULT_SCALE = 12
#: Columns every events table has; no meter property may carry one of these names.
CORE_COLUMNS = ("id", "customer", "type", "time")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(instant: datetime) -> int:
    """An aware datetime as POSIX microseconds (an exact integer)."""
    return (instant - _EPOCH) // _MICRO


def periods_of_interest(
    periods: BillingCycle | Sequence[Period], window: Period | None = None
) -> tuple[Period, ...]:
    """The finite, sorted list of periods a query aggregates over.

    A cycle needs a ``window`` (SQL needs the periods as literals): its periods overlapping the
    window. Explicit periods must be sorted and must not overlap; with a window, those that
    overlap it.
    """
    if window is not None and not isinstance(window, Period):
        raise InvalidValueError("window", window, "a Period or None")
    if isinstance(periods, BillingCycle):
        if window is None:
            raise InvalidValueError(
                "window", window, "a Period choosing which periods of the cycle to compile"
            )
        return tuple(periods.periods_between(window.start, window.end))
    chosen: list[Period] = []
    for index, period in enumerate(periods):
        if not isinstance(period, Period):
            raise InvalidValueError(f"periods.{index}", period, "a Period")
        if chosen and micros(chosen[-1].end) > micros(period.start):
            raise InvalidValueError(
                f"periods.{index}", period, "periods sorted by time that do not overlap"
            )
        chosen.append(period)
    if window is not None:
        lo, hi = micros(window.start), micros(window.end)
        chosen = [p for p in chosen if micros(p.end) > lo and micros(p.start) < hi]
    if not chosen:
        raise InvalidValueError("periods", periods, "at least one period of interest")
    return tuple(chosen)


def properties_read(meters: Iterable[Meter]) -> list[str]:
    """Every property the meters read, filter on or group by, sorted."""
    names: set[str] = set()
    for meter in meters:
        names.update(meter.filters)
        names.update(meter.group_by)
        if meter.property:
            names.add(meter.property)
    return sorted(names)


def _trimmed(value: Decimal) -> Decimal:
    """``value`` without the zeros the SQL scale padded it with (``13.000`` is ``13``)."""
    if value.is_zero():
        return Decimal(0)
    normal = value.normalize(EXACT)
    exponent = normal.as_tuple().exponent
    return (
        normal.quantize(Decimal(1), context=EXACT)
        if isinstance(exponent, int) and exponent > 0
        else normal
    )


def locate_periods(periods: Sequence[Period]) -> tuple[exp.Case, exp.Case, exp.Case]:
    """CASE expressions giving a time's period index, start and end (µs), NULL outside."""
    time = sql_column(TIME_US)
    index_ifs: list[exp.If] = []
    start_ifs: list[exp.If] = []
    end_ifs: list[exp.If] = []
    previous_end: int | None = None
    for position, period in enumerate(periods):
        lo, hi = micros(period.start), micros(period.end)
        if previous_end is None or lo > previous_end:
            gap = exp.LT(this=time.copy(), expression=sql_int(lo))
            for ifs in (index_ifs, start_ifs, end_ifs):
                ifs.append(exp.If(this=gap.copy(), true=exp.Null()))
        inside = exp.LT(this=time.copy(), expression=sql_int(hi))
        index_ifs.append(exp.If(this=inside, true=sql_int(position)))
        start_ifs.append(exp.If(this=inside.copy(), true=sql_int(lo)))
        end_ifs.append(exp.If(this=inside.copy(), true=sql_int(hi)))
        previous_end = hi
    return (
        exp.Case(ifs=index_ifs, default=exp.Null()),
        exp.Case(ifs=start_ifs, default=exp.Null()),
        exp.Case(ifs=end_ifs, default=exp.Null()),
    )


def _period_text(periods: Sequence[Period], attribute: str) -> exp.Case:
    ifs = [
        exp.If(
            this=exp.EQ(this=sql_column("period_index"), expression=sql_int(position)),
            true=exp.Literal.string(getattr(period, attribute).isoformat()),
        )
        for position, period in enumerate(periods)
    ]
    return exp.Case(ifs=ifs, default=exp.Null())


def trim_decimal_text(texts: Any) -> Any:
    """Arrow decimal texts without the zeros a SQL scale padded them with.

    ``13.500`` is ``13.5``, ``13.000`` is ``13``, ``-0.000`` is ``0``: as ``_trimmed`` trims a
    ``Decimal``.
    """
    import pyarrow.compute as pc  # noqa: PLC0415  (optional dependency)

    dotted = pc.match_substring(texts, ".")
    trimmed = pc.utf8_rtrim(pc.utf8_rtrim(texts, characters="0"), characters=".")
    trimmed = pc.if_else(dotted, trimmed, texts)
    return pc.if_else(pc.equal(trimmed, "-0"), "0", trimmed)


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """A compiled usage query and how to read its rows back into a :class:`UsageTable`."""

    expression: exp.Expr
    meters: tuple[Meter, ...]
    periods: tuple[Period, ...]
    group_width: int
    scale: int
    #: The query's faster DuckDB form (first copies by
    #: :func:`~meterlib.sql.firsts.repeated_first_copies`), printed by :meth:`sql`.
    duckdb_expression: exp.Expr | None = None

    def sql(self, dialect: str = "duckdb", *, pretty: bool = True) -> str:
        """The query as text in ``dialect``."""
        if dialect == "duckdb" and self.duckdb_expression is not None:
            return to_sql(self.duckdb_expression, dialect, pretty=pretty)
        return to_sql(self.expression, dialect, pretty=pretty)

    def table(self, rows: Iterable[Sequence[Any]]) -> UsageTable:
        """The usage table of the query's result rows (in the output column order)."""
        by_name = {meter.name: meter for meter in self.meters}
        width = self.group_width
        values: dict[UsageKey, Decimal] = {}
        for row in rows:
            customer, name, index = row[0], row[1], row[2]
            meter = by_name[name]
            names = sorted(set(meter.group_by))
            group = tuple(zip(names, row[5 : 5 + len(names)], strict=True))
            value = to_decimal(row[5 + width], f"value of meter {name!r}")
            divisor = to_decimal(row[6 + width], f"divisor of meter {name!r}")
            text = row[7 + width] if len(row) > 7 + width else None
            if text is not None:  # a value chosen as written (latest): its own places
                value = to_decimal(text, f"value of meter {name!r}")
            elif divisor != 1:
                value = quotient(value, divisor)
            else:
                value = _trimmed(value)
            values[UsageKey(customer, name, self.periods[index], group)] = value
        return UsageTable(values)

    def table_of_arrow(self, result: Any) -> UsageTable:
        """The usage table of the query's result as an Arrow table (the fast way).

        ``value`` must be given as plain decimal text (``CAST(value AS VARCHAR)`` in DuckDB:
        Arrow's own decimal printing uses exponents). Columns are found by name (``customer``,
        ``meter``, ``period_index``, ``g1`` …, ``value``, ``divisor``, ``value_text``: the
        period texts may be left out) and read whole (``to_pylist``);
        each value is read once from its text with the scale's padding zeros trimmed in Arrow,
        so the figures equal :meth:`table`'s. Per cell, Python only makes the key and one
        ``Decimal``.
        """
        with paused_gc():
            return self._table_of_arrow(result)

    def _table_of_arrow(self, result: Any) -> UsageTable:
        import pyarrow as pa  # noqa: PLC0415  (optional dependency)
        import pyarrow.compute as pc  # noqa: PLC0415

        width = self.group_width
        names = result.column_names
        texts = result.column("value")
        if not pa.types.is_string(texts.type):
            raise InvalidValueError("value", texts.type, "plain decimal text (see the docstring)")
        divisor_column = result.column("divisor")
        chosen = result.column("value_text") if "value_text" in names else None
        plain = trim_decimal_text(texts).to_pylist()
        values = list(map(Decimal, plain))
        if chosen is not None and chosen.null_count < len(chosen):
            for row, text in enumerate(chosen.to_pylist()):
                if text is not None:
                    values[row] = to_decimal(text, "value")
        if pc.any(pc.not_equal(divisor_column, 1)).as_py():
            raw = texts.to_pylist()
            for row, divisor in enumerate(divisor_column.to_pylist()):
                if divisor != 1:
                    values[row] = quotient(Decimal(raw[row]), Decimal(divisor))
        customers = result.column("customer").to_pylist()
        meters = result.column("meter").to_pylist()
        periods = list(map(self.periods.__getitem__, result.column("period_index").to_pylist()))
        groups: list[GroupKey] | None = None
        if width:
            columns = [result.column(f"g{i + 1}").to_pylist() for i in range(width)]
            group_names = {m.name: tuple(sorted(set(m.group_by))) for m in self.meters}
            groups = [
                tuple((key, columns[i][row]) for i, key in enumerate(group_names[name]))
                for row, name in enumerate(meters)
            ]
        return UsageTable.from_columns(customers, meters, periods, groups, values)


def build_usage_query(
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    *,
    window: Period | None = None,
    table: str = "events",
    order_by: Sequence[str] = ("received_at",),
    customer: str | None = None,
    scale: int = DEFAULT_SCALE,
    exact_columns: Collection[str] = (),
    first_copy: str = "window",
    ordered: bool = True,
) -> UsageQuery:
    """The usage query of ``meters`` over the periods of interest (see the module docstring).

    ``exact_columns`` names property columns known to hold exact numbers with at most ``scale``
    places (integer or ``DECIMAL(p, s <= scale)`` columns): they skip the text check.
    ``customer`` restricts the result to one customer (after deduplication).
    ``first_copy`` says how the first copy of an id is found: ``"window"`` numbers every copy
    with ``ROW_NUMBER()`` (portable SQL), ``"arg_min"`` by the least of one ``order_by``
    column (faster; :mod:`meterlib.sql.firsts`: ``ARG_MIN``/``MIN_BY``/``argMin`` per column
    and a NULL mask, and for DuckDB, in :attr:`UsageQuery.duckdb_expression`, the ids sent
    again found first), ``"table"`` reads ``table`` as first copies already (columns ``id``,
    ``customer``, ``type``, ``meterlib_time_us`` and the properties, as those forms give
    them). The figures are the same.
    ``ordered=False`` leaves the rows in the engine's order (a caller building a table needs
    no sort).
    """
    if first_copy not in {"window", "arg_min", "table"}:
        raise InvalidValueError("first_copy", first_copy, "'window', 'arg_min' or 'table'")
    if first_copy == "arg_min" and len(order_by) != 1:
        raise InvalidValueError(
            "order_by", order_by, "one column ordering receipt (arg_min takes a single key)"
        )
    meters = tuple(meters)
    if not meters or not all(isinstance(m, Meter) for m in meters):
        raise InvalidValueError("meters", meters, "a non-empty sequence of Meter definitions")
    names = [m.name for m in meters]
    if len(set(names)) != len(names):
        raise InvalidValueError("meters", names, "meters with distinct names")
    if type(scale) is not int or not 0 <= scale <= 37:
        raise InvalidValueError("scale", scale, "a whole number of places from 0 to 37")
    chosen = periods_of_interest(periods, window)
    columns = properties_read(meters)
    clashes = sorted(set(columns) & {*CORE_COLUMNS, *order_by})
    if clashes:
        raise InvalidValueError(
            "meters", clashes, f"properties named apart from the table's columns {CORE_COLUMNS}"
        )
    index, start, end = locate_periods(chosen)
    weighted = any(m.aggregation is Aggregation.WEIGHTED_SUM for m in meters)
    winners: exp.Expr = exp.EQ(this=sql_column(COPY_NO), expression=sql_int(1))
    # Only first copies within the span of the periods (a cheap range test on the time): when
    # the periods leave no gap, every placed row lies in one and the cells need no NULL test.
    span = [micros(chosen[0].start), micros(chosen[-1].end)]
    located = all(micros(before.end) == micros(after.start) for before, after in pairwise(chosen))
    winners = exp.And(
        this=winners,
        expression=exp.And(
            this=exp.GTE(this=sql_column(TIME_US), expression=sql_int(span[0])),
            expression=exp.LT(this=sql_column(TIME_US), expression=sql_int(span[1])),
        ),
    )
    if customer is not None:
        winners = exp.And(
            this=winners,
            expression=exp.EQ(this=sql_column("customer"), expression=exp.Literal.string(customer)),
        )
    placed = (
        exp.select(
            exp.Star(),
            exp.alias_(index, PERIOD, quoted=True),
            *(
                (exp.alias_(start, START, quoted=True), exp.alias_(end, END, quoted=True))
                if weighted
                else ()
            ),
        )
        .from_("ranked")
        .where(winners)
    )
    width = max(len(set(m.group_by)) for m in meters)
    parts = meter_cells(meters, scale, width, exact_columns, located=located)
    union: exp.Query = parts[0]
    for part in parts[1:]:
        union = exp.union(union, part, distinct=False)
    groups = [sql_column(f"g{i + 1}") for i in range(width)]
    final = (
        exp.select(
            sql_column("customer"),
            sql_column("meter"),
            sql_column("period_index"),
            exp.alias_(_period_text(chosen, "start"), "period_start", quoted=True),
            exp.alias_(_period_text(chosen, "end"), "period_end", quoted=True),
            *groups,
            sql_column("value"),
            sql_column("divisor"),
            sql_column("value_text"),
        )
        .from_(union.subquery("cells"))
        .with_(
            "ranked",
            as_=first_source(first_copy, table, columns, order_by, meters),
        )
        .with_("placed", as_=placed)
    )
    if ordered:
        final = final.order_by(
            sql_column("customer"),
            sql_column("meter"),
            sql_column("period_index"),
            *(g.copy() for g in groups),
        )
    duckdb_final: exp.Expr | None = None
    if first_copy == "arg_min":
        duckdb_final = final.copy()
        [cte] = [c for c in duckdb_final.ctes if c.alias == "ranked"]
        duckdb_firsts = first_source(first_copy, table, columns, order_by, meters, duckdb=True)
        cte.set("this", duckdb_firsts)
    return UsageQuery(final, meters, chosen, width, scale, duckdb_final)


def compile_usage(
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    *,
    window: Period | None = None,
    dialect: str = "duckdb",
    table: str = "events",
    order_by: Sequence[str] = ("received_at",),
    customer: str | None = None,
    scale: int = DEFAULT_SCALE,
    exact_columns: Collection[str] = (),
) -> str:
    """The usage query as SQL text in ``dialect`` (see :func:`build_usage_query`)."""
    query = build_usage_query(
        meters,
        periods,
        window=window,
        table=table,
        order_by=order_by,
        customer=customer,
        scale=scale,
        exact_columns=exact_columns,
    )
    return query.sql(dialect)
