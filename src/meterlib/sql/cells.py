"""The cells of a usage query: placed first copies aggregated per meter, as SQL expressions.

:func:`meter_cells` turns the ``placed`` rows of :func:`meterlib.sql.compile.build_usage_query`
(first copies with their period) into one query per set of meters: meters sharing one
``group_by`` set are aggregated together in ONE pass (each meter reads only the rows it
matches; meters matching the same rows share one flag, and when all do the match is the WHERE
clause), then the wide row is turned into one row per meter that saw events (a cross join with
the meters' positions). ``latest`` meters are ranked by a window of their own and carry the
winning value's own text (``value_text``), so ``502.10`` stays ``502.10``.

Readings go through :mod:`meterlib.sql._values`, so a value a meter cannot read stops the query
with an error naming the event, never a silent NULL or a rounding.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from sqlglot import exp

from meterlib.metering.meters import Aggregation, Meter
from meterlib.sql._values import fail_text, read_number, read_text, text_of

__all__ = [
    "END",
    "PERIOD",
    "START",
    "TIME_US",
    "ExactColumns",
    "meter_cells",
    "sql_and",
    "sql_column",
    "sql_int",
]

# Column names of meterlib's own, prefixed so they cannot meet a property of the same name:
# an event's time in µs, its period's position, start and end (µs).
TIME_US, PERIOD, START, END = (
    "meterlib_time_us",
    "meterlib_period",
    "meterlib_start_us",
    "meterlib_end_us",
)


def sql_column(name: str, table: str | None = None) -> exp.Column:
    """A quoted column reference (shared by :mod:`meterlib.sql.checks`)."""
    return exp.column(name, table=table, quoted=True)


def sql_int(value: int) -> exp.Expr:
    """An integer literal, negative ones as a negation (DuckDB and SQLite agree on it)."""
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


def sql_and(conditions: Sequence[exp.Expr]) -> exp.Expr:
    """All of ``conditions`` (at least one), joined by AND."""
    result = conditions[0]
    for condition in conditions[1:]:
        result = exp.And(this=result, expression=condition)
    return result


class ExactColumns(frozenset[str]):
    """Names of property columns holding exact numbers, each with its SQL type.

    A ``frozenset`` of the names (what ``exact_columns`` of
    :func:`~meterlib.sql.compile.build_usage_query` takes) that also knows each column's type
    (:attr:`types`, such as ``DECIMAL(18, 6)`` or ``BIGINT``), as
    :func:`~meterlib.sql.sources.register_source` found it. With the type known, ``sum``,
    ``min``, ``max`` and ``latest`` aggregate the column in its own type and cast only the
    aggregate to ``DECIMAL(38, scale)``, instead of casting every row: the same exact figures
    and result type (a ``DECIMAL(p, s)`` with ``s <= scale`` or an integer holds no value with
    more places than ``scale``), one cast per cell instead of one per event.
    """

    types: Mapping[str, str]

    def __new__(cls, types: Mapping[str, str] | Iterable[str] = ()) -> ExactColumns:
        """The columns of ``types`` (name to SQL type); bare names have no known type."""
        made = super().__new__(cls, types)
        known = dict(types) if isinstance(types, Mapping) else {}
        made.types = MappingProxyType({name: kind for name, kind in known.items() if kind})
        return made

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as the names and a plain copy of the types (a mapping proxy cannot be)."""
        return (type(self), (sorted(self),), {"types": dict(self.types)})

    def __setstate__(self, state: dict[str, dict[str, str]]) -> None:
        """The types of a pickled instance, read-only again."""
        self.types = MappingProxyType(dict(state["types"]))


#: Column types read in their own type (see :class:`ExactColumns`): integers and decimals.
_NATIVE = re.compile(r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|DECIMAL\(\d+, ?\d+\))")
#: Aggregations whose figure is the aggregate of the readings themselves, cast once after.
_NATIVE_AGGREGATIONS = frozenset(
    {Aggregation.SUM, Aggregation.MIN, Aggregation.MAX, Aggregation.LATEST}
)


def _native_type(meter: Meter, scale: int, exact_columns: Collection[str]) -> exp.DataType | None:
    """The column's own type when ``meter`` may aggregate it uncast (see :class:`ExactColumns`)."""
    kind = (
        exact_columns.types.get(meter.property or "")
        if isinstance(exact_columns, ExactColumns)
        else None
    )
    if kind is None or meter.aggregation not in _NATIVE_AGGREGATIONS:
        return None
    if not _NATIVE.fullmatch(kind):
        return None
    if kind.startswith("DECIMAL") and int(kind.rstrip(")").split(",")[1]) > scale:
        return None
    return exp.DataType.build(kind, dialect="duckdb")


def _conditions(meter: Meter) -> exp.Expr:
    """The rows a meter reads: its event type and filters (text equality, missing never matches)."""
    conditions: list[exp.Expr] = [
        exp.EQ(this=sql_column("type"), expression=exp.Literal.string(meter.event_type)),
    ]
    for name, rule in sorted(meter.filters.items()):
        accepted = (rule.equals,) if rule.equals is not None else tuple(rule.one_of or ())
        conditions.append(
            exp.In(
                this=text_of(sql_column(name)),
                expressions=[exp.Literal.string(text) for text in accepted],
            )
        )
    return sql_and(conditions)


def _reading(meter: Meter, scale: int, exact_columns: Collection[str]) -> exp.Expr:
    """What a meter reads from one event (NULL for ``count``); a query error when it cannot."""
    prop = meter.property or ""
    if meter.aggregation is Aggregation.COUNT:
        return exp.Null()
    if meter.aggregation is Aggregation.UNIQUE_COUNT:
        return read_text(sql_column(prop), sql_column("id"), prop)
    native = _native_type(meter, scale, exact_columns)
    if native is not None:  # the column as it is; only a missing value stops the query
        rule = f"a decimal with at most {scale} places"
        failure = fail_text(sql_column("id"), prop, text_of(sql_column(prop)), rule)
        missing = exp.Is(this=sql_column(prop), expression=exp.Null())
        return exp.Case(
            ifs=[exp.If(this=missing, true=exp.cast(failure, native))], default=sql_column(prop)
        )
    return read_number(
        sql_column(prop), sql_column("id"), prop, scale, exact_type=prop in exact_columns
    )


def _head(meter_name: exp.Expr, names: Sequence[str], width: int) -> list[exp.Expr]:
    padding = [
        exp.alias_(exp.cast(exp.Null(), exp.DataType.build("VARCHAR")), f"g{i + 1}", quoted=True)
        for i in range(len(names), width)
    ]
    return [
        sql_column("customer"),
        exp.alias_(meter_name, "meter", quoted=True),
        exp.alias_(sql_column(PERIOD), "period_index", quoted=True),
        *(sql_column(f"g{i + 1}") for i in range(len(names))),
        *padding,
    ]


def _in_a_period(condition: exp.Expr, *, located: bool) -> exp.Expr:
    """``condition`` on rows that lie in a period (``located``: every placed row does)."""
    if located:
        return condition
    return exp.And(
        this=exp.Not(this=exp.Is(this=sql_column(PERIOD), expression=exp.Null())),
        expression=condition,
    )


def _latest_select(
    meter: Meter, scale: int, width: int, exact_columns: Collection[str], *, located: bool
) -> exp.Select:
    """A ``latest`` meter's cells: the reading of the greatest ``(time, id)`` per cell.

    ``value_text`` carries the winning value's own text, so the figure keeps the places it was
    written with (``502.10``), as the accumulator and the ledgers keep them.
    """
    names = sorted(set(meter.group_by))
    group_cols = [f"g{i + 1}" for i in range(len(names))]
    groups = [read_text(sql_column(name), sql_column("id"), name) for name in names]
    prop = meter.property or ""
    readings = (
        exp.select(
            sql_column("customer"),
            sql_column("id"),
            sql_column(TIME_US),
            sql_column(PERIOD),
            *(exp.alias_(g, c, quoted=True) for g, c in zip(groups, group_cols, strict=True)),
            exp.alias_(_reading(meter, scale, exact_columns), "v", quoted=True),
            exp.alias_(text_of(sql_column(prop)), "t", quoted=True),
        )
        .from_("placed")
        .where(_in_a_period(_conditions(meter), located=located))
    )
    keys = [sql_column("customer"), sql_column(PERIOD), *(sql_column(c) for c in group_cols)]
    order = exp.Order(
        expressions=[
            exp.Ordered(this=sql_column(TIME_US), desc=True),
            exp.Ordered(this=sql_column("id"), desc=True),
        ]
    )
    window = exp.Window(this=exp.RowNumber(), partition_by=keys, order=order)
    ranked = exp.select(
        *keys, sql_column("v"), sql_column("t"), exp.alias_(window, "r", quoted=True)
    ).from_(readings.subquery("readings"))
    decimal = exp.DataType.build(f"DECIMAL(38, {scale})")
    return (
        exp.select(
            *_head(exp.Literal.string(meter.name), names, width),
            exp.alias_(exp.cast(sql_column("v"), decimal), "value", quoted=True),
            exp.alias_(exp.cast(sql_int(1), "BIGINT"), "divisor", quoted=True),
            exp.alias_(sql_column("t"), "value_text", quoted=True),
        )
        .from_(ranked.subquery("ranked"))
        .where(exp.EQ(this=sql_column("r"), expression=sql_int(1)))
    )


def _case_of(position: exp.Expr, choices: Sequence[exp.Expr]) -> exp.Expr:
    """``choices[position]`` (the only choice without a CASE when there is one)."""
    if len(choices) == 1:
        return choices[0]
    return exp.Case(
        ifs=[
            exp.If(this=exp.EQ(this=position.copy(), expression=sql_int(i)), true=choice)
            for i, choice in enumerate(choices)
        ],
        default=exp.Null(),
    )


def _aggregate(meter: Meter, v: exp.Expr, count: exp.Expr) -> tuple[exp.Expr, exp.Expr]:
    """A meter's aggregate of its readings ``v`` and the divisor of its figure."""
    aggregation = meter.aggregation
    one = exp.cast(sql_int(1), "BIGINT")
    if aggregation is Aggregation.COUNT:
        return count.copy(), one
    if aggregation is Aggregation.UNIQUE_COUNT:
        return exp.Count(this=exp.Distinct(expressions=[v])), one
    if aggregation is Aggregation.SUM:
        return exp.Sum(this=v), one
    if aggregation is Aggregation.MIN:
        return exp.Min(this=v), one
    if aggregation is Aggregation.MAX:
        return exp.Max(this=v), one
    # weighted_sum: Σ increment × (period end − time), divided later, exactly
    held = exp.Paren(this=exp.Sub(this=sql_column(END), expression=sql_column(TIME_US)))
    span = exp.Sub(this=sql_column(END), expression=sql_column(START))
    return exp.Sum(this=exp.Mul(this=v, expression=held)), exp.cast(exp.Min(this=span), "BIGINT")


def _group_select(
    meters: Sequence[Meter],
    scale: int,
    width: int,
    exact_columns: Collection[str],
    *,
    located: bool,
) -> exp.Select:
    """The cells of meters sharing one ``group_by`` set, in ONE aggregation over the events.

    Each meter's reading is taken only from the rows it matches (``CASE WHEN`` its type and
    filters), all meters are aggregated together per (customer, period, group), and the wide
    row is turned into one row per meter that saw events (a cross join with the meters'
    positions), so the events are read once whatever the number of meters.
    """
    names = sorted(set(meters[0].group_by))
    group_cols = [f"g{i + 1}" for i in range(len(names))]
    groups = [read_text(sql_column(name), sql_column("id"), name) for name in names]
    conditions = [_conditions(m) for m in meters]
    # Meters matching the same rows share one flag; when all do, the WHERE clause is the match.
    flag_of: dict[str, int] = {}
    for condition in conditions:
        flag_of.setdefault(condition.sql(), len(flag_of))
    shared = len(flag_of) == 1
    firsts = {key: conditions[[c.sql() for c in conditions].index(key)] for key in flag_of}
    alternatives = [exp.Paren(this=c.copy()) for c in firsts.values()]
    matched: exp.Expr = alternatives[0]
    for alternative in alternatives[1:]:
        matched = exp.Or(this=matched, expression=alternative)
    weighted = any(m.aggregation is Aggregation.WEIGHTED_SUM for m in meters)
    flags: list[exp.Expr] = []
    if not shared:
        flags = [
            exp.alias_(
                exp.Case(ifs=[exp.If(this=firsts[key].copy(), true=sql_int(1))]),
                f"m{j}",
                quoted=True,
            )
            for key, j in flag_of.items()
        ]
    counts = [
        exp.Count(this=exp.Star() if shared else sql_column(f"m{flag_of[c.sql()]}"))
        for c in conditions
    ]
    values = []
    for i, (meter, condition) in enumerate(zip(meters, conditions, strict=True)):
        if meter.aggregation is not Aggregation.COUNT:
            reading = _reading(meter, scale, exact_columns)
            if not shared:
                reading = exp.Case(ifs=[exp.If(this=condition.copy(), true=reading)])
            values.append(exp.alias_(reading, f"v{i}", quoted=True))
    readings = (
        exp.select(
            sql_column("customer"),
            sql_column(PERIOD),
            *((sql_column(TIME_US), sql_column(START), sql_column(END)) if weighted else ()),
            *(exp.alias_(g, c, quoted=True) for g, c in zip(groups, group_cols, strict=True)),
            *flags,
            *values,
        )
        .from_("placed")
        .where(_in_a_period(exp.Paren(this=matched), located=located))
    )
    decimal = exp.DataType.build(f"DECIMAL(38, {scale})")
    aggregates: list[exp.Expr] = []
    for i, meter in enumerate(meters):
        value, divisor = _aggregate(meter, sql_column(f"v{i}"), counts[i])
        aggregates += [
            exp.alias_(counts[i].copy(), f"n{i}", quoted=True),
            exp.alias_(exp.cast(value, decimal), f"v{i}", quoted=True),
            exp.alias_(divisor, f"d{i}", quoted=True),
        ]
    keys = [sql_column("customer"), sql_column(PERIOD), *(sql_column(c) for c in group_cols)]
    wide = exp.select(*keys, *aggregates).from_(readings.subquery("readings")).group_by(*keys)
    position = sql_column("meterlib_m")
    seen = exp.GT(
        this=_case_of(position, [sql_column(f"n{i}") for i in range(len(meters))]),
        expression=sql_int(0),
    )
    select = exp.select(
        *_head(_case_of(position, [exp.Literal.string(m.name) for m in meters]), names, width),
        exp.alias_(
            _case_of(position, [sql_column(f"v{i}") for i in range(len(meters))]),
            "value",
            quoted=True,
        ),
        exp.alias_(
            _case_of(position, [sql_column(f"d{i}") for i in range(len(meters))]),
            "divisor",
            quoted=True,
        ),
        exp.alias_(exp.cast(exp.Null(), exp.DataType.build("VARCHAR")), "value_text", quoted=True),
    ).from_(wide.subquery("wide"))
    if len(meters) > 1:
        positions = exp.values(
            [(sql_int(i),) for i in range(len(meters))],
            alias="meterlib_meters",
            columns=["meterlib_m"],
        )
        select = select.join(positions, join_type="CROSS")
    return select.where(seen)


def meter_cells(
    meters: Sequence[Meter],
    scale: int,
    width: int,
    exact_columns: Collection[str],
    *,
    located: bool = False,
) -> list[exp.Select]:
    """One aggregation per ``group_by`` set (in meter order), one window query per ``latest``.

    ``located``: every ``placed`` row lies in a period (the caller filtered them so), and the
    cells need not test the period for NULL.
    """
    sets: dict[tuple[str, ...], list[Meter]] = {}
    parts: list[exp.Select] = []
    for meter in meters:
        if meter.aggregation is Aggregation.LATEST:
            parts.append(_latest_select(meter, scale, width, exact_columns, located=located))
        else:
            sets.setdefault(tuple(sorted(set(meter.group_by))), []).append(meter)
    return [
        _group_select(group, scale, width, exact_columns, located=located)
        for group in sets.values()
    ] + parts
