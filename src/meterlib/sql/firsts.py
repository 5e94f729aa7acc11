"""The first copy of every id: how a usage query finds the events it counts.

An id sent more than once counts once, as its first copy: the copy with the least receipt
order. Three forms give the same rows (``id``, ``customer``, ``type``, the time in µs as
``meterlib_time_us``, the properties read and the copy number ``meterlib_copy``):

- :func:`ranked_events`: every copy numbered by ``ROW_NUMBER()`` over one or more receipt
  columns (portable SQL; the query keeps copy 1);
- :func:`first_copies`: one grouping by id with one ``arg_min`` per column and a NULL mask,
  over one receipt column (``ARG_MIN``/``MIN_BY``/``argMin`` in every dialect);
- :func:`repeated_first_copies`: DuckDB's form: the ids sent more than once found first, every
  other row read as it stands (about half the time of the grouping there).

:func:`first_source` picks one for :func:`~meterlib.sql.compile.build_usage_query`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from meterlib.errors import InvalidValueError
from meterlib.metering.meters import Meter
from meterlib.sql.cells import TIME_US, sql_column, sql_int

__all__ = [
    "COPY_NO",
    "OTHER_TYPE_TIME",
    "first_copies",
    "first_source",
    "ranked_events",
    "repeated_first_copies",
]

#: An event's copy number among the copies of its id (read by :mod:`meterlib.sql.checks` too).
COPY_NO = "meterlib_copy"
#: The time (µs) :func:`first_copies` gives a first copy whose type no meter reads: before every
#: period. The least BIGINT but one: the least, written as a literal, is a wider type in Spark.
OTHER_TYPE_TIME = -(2**63) + 1
_MASK_BITS = 62  # NULL flags per mask integer in first_copies (bits of a BIGINT, no sign bit)


def ranked_events(
    table: str,
    columns: Sequence[str],
    order_by: Sequence[str],
) -> exp.Select:
    """Every row of ``table`` with its time in µs and its copy number among rows of its id."""
    if not order_by:
        raise InvalidValueError("order_by", order_by, "at least one column ordering receipt")
    window = exp.Window(
        this=exp.RowNumber(),
        partition_by=[sql_column("id")],
        order=exp.Order(
            expressions=[exp.Ordered(this=sql_column(c), nulls_first=False) for c in order_by]
        ),
    )
    return exp.select(
        sql_column("id"),
        sql_column("customer"),
        sql_column("type"),
        exp.alias_(exp.UnixMicros(this=sql_column("time")), TIME_US, quoted=True),
        *(sql_column(c) for c in columns),
        exp.alias_(window, COPY_NO, quoted=True),
    ).from_(exp.to_table(table))


def first_copies(
    table: str,
    columns: Sequence[str],
    order: str,
    *,
    event_type: str | None = None,
) -> exp.Select:
    """The first copy of every id (least ``order``), as :func:`ranked_events` rows numbered 1.

    One grouping by id with one ``arg_min`` per column (Spark ``MIN_BY``): faster than one of a
    struct of the columns or a window. ``order``: one column ordering an id's copies totally.

    ``arg_min`` of a column skips NULL values, so a first copy's NULL would give way to a later
    copy's value: whether each of the first copy's columns is NULL is kept apart, exactly, as
    bits of an integer taken by ``arg_min`` too.

    ``event_type``: the only type any meter reads. The type is then not carried (a column less
    for ``arg_min`` to move per event): a first copy of another type gets the time
    :data:`OTHER_TYPE_TIME` (near the least BIGINT), which lies before every period (the query
    places only first copies within the periods' span), so no meter counts it, exactly as no
    meter's type matched it; the rows' ``type`` is ``event_type``.

    DuckDB is given :func:`repeated_first_copies` instead (faster there).
    """
    ordering = sql_column(order)
    epoch = exp.UnixMicros(this=sql_column("time"))
    time: exp.Expr = epoch
    if event_type is not None:
        time = exp.Case(
            ifs=[
                exp.If(
                    this=exp.EQ(this=sql_column("type"), expression=exp.Literal.string(event_type)),
                    true=epoch,
                )
            ],
            default=sql_int(OTHER_TYPE_TIME),
        )
    fields: list[tuple[str, exp.Expr, exp.Expr]] = [
        ("customer", sql_column("customer"), sql_column("customer")),
        *((("type", sql_column("type"), sql_column("type")),) if event_type is None else ()),
        (TIME_US, time, sql_column("time")),
        *((name, sql_column(name), sql_column(name)) for name in columns),
    ]
    inner: list[exp.Expr] = [sql_column("id")]
    outer: list[exp.Expr] = [sql_column("id")]
    for position, (name, value, _) in enumerate(fields):
        mask, bit = divmod(position, _MASK_BITS)
        mask_name = f"meterlib_nulls_{mask}"
        if bit == 0:
            flags = [
                exp.Mul(
                    this=sql_int(1 << b),
                    expression=exp.Cast(
                        this=exp.Is(this=column.copy(), expression=exp.Null()),
                        to=exp.DataType.build("BIGINT"),
                    ),
                )
                for b, (_, _, column) in enumerate(fields[position : position + _MASK_BITS])
            ]
            total: exp.Expr = flags[0]
            for flag in flags[1:]:
                total = exp.Add(this=total, expression=flag)
            inner.append(exp.alias_(exp.ArgMin(this=total, expression=ordering.copy()), mask_name))
        first_name = f"meterlib_first_{position}"
        inner.append(exp.alias_(exp.ArgMin(this=value, expression=ordering.copy()), first_name))
        kept = exp.EQ(
            this=exp.Paren(
                this=exp.BitwiseAnd(this=sql_column(mask_name), expression=sql_int(1 << bit))
            ),
            expression=sql_int(0),
        )
        outer.append(
            exp.alias_(
                exp.Case(ifs=[exp.If(this=kept, true=sql_column(first_name))]),
                name,
                quoted=True,
            )
        )
    if event_type is not None:
        outer.insert(2, exp.alias_(exp.Literal.string(event_type), "type", quoted=True))
    grouped = exp.select(*inner).from_(exp.to_table(table)).group_by(sql_column("id"))
    return exp.select(
        *outer,
        exp.alias_(sql_int(1), COPY_NO, quoted=True),
    ).from_(grouped.subquery("meterlib_firsts"))


def repeated_first_copies(
    table: str, columns: Sequence[str], order: str, *, counted: bool = False
) -> exp.Select:
    """The first copy of every id (least ``order``) as :func:`first_copies` rows, for DuckDB.

    The ids sent more than once are found by a grouping over the id alone (with their least
    ``order``); every row is kept whose id is not among them or that is its id's first copy,
    its columns read as they stand. In DuckDB this takes about half the time of carrying every
    column through a grouping of every id (``arg_min`` per column; issue 16.5), and a first
    copy's NULL stays NULL. ``order`` must order an id's copies totally (one value per row).
    Not for engines whose outer joins fill a missing row with default values (ClickHouse).

    ``counted``: instead of the copy number, the first copy's ``order`` value
    (``meterlib_order``) and its id's number of copies (``meterlib_copies``), as the stored
    first copies and the receipt report read them (``sql.checks.grouped_firsts_sql``).
    """
    rows, found = "meterlib_e", "meterlib_r"
    copies = exp.alias_(exp.Count(this=exp.Star()), "meterlib_copies", quoted=True)
    repeated = (
        exp.select(
            sql_column("id"),
            exp.alias_(exp.Min(this=sql_column(order)), "meterlib_first", quoted=True),
            *((copies,) if counted else ()),
        )
        .from_(exp.to_table(table))
        .group_by(sql_column("id"))
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=sql_int(1)))
    )
    first = exp.or_(
        exp.Is(this=sql_column("id", found), expression=exp.Null()),
        exp.EQ(this=sql_column(order, rows), expression=sql_column("meterlib_first", found)),
    )
    tail: tuple[exp.Expr, ...] = (exp.alias_(sql_int(1), COPY_NO, quoted=True),)
    if counted:
        tail = (
            exp.alias_(sql_column(order, rows), "meterlib_order", quoted=True),
            exp.alias_(
                exp.Coalesce(this=sql_column("meterlib_copies", found), expressions=[sql_int(1)]),
                "meterlib_copies",
                quoted=True,
            ),
        )
    return (
        exp.select(
            *(exp.alias_(sql_column(n, rows), n, quoted=True) for n in ("id", "customer", "type")),
            exp.alias_(exp.UnixMicros(this=sql_column("time", rows)), TIME_US, quoted=True),
            *(exp.alias_(sql_column(n, rows), n, quoted=True) for n in columns),
            *tail,
        )
        .from_(exp.alias_(exp.to_table(table), rows, table=True))
        .join(
            repeated.subquery(found),
            on=exp.EQ(this=sql_column("id", rows), expression=sql_column("id", found)),
            join_type="left",
        )
        .where(first)
    )


def first_source(
    first_copy: str,
    table: str,
    columns: Sequence[str],
    order_by: Sequence[str],
    meters: Sequence[Meter],
    *,
    duckdb: bool = False,
) -> exp.Select:
    """The ``ranked`` rows of a usage query for ``first_copy`` (see ``build_usage_query``).

    ``"window"``: :func:`ranked_events`; ``"arg_min"``: :func:`first_copies` (the type left
    out when every meter reads one type), or :func:`repeated_first_copies` for DuckDB
    (``duckdb``); ``"table"``: ``table`` already holds first copies, read as they are.
    """
    if first_copy == "arg_min" and duckdb:
        return repeated_first_copies(table, columns, order_by[0])
    if first_copy == "arg_min":
        types = {meter.event_type for meter in meters}
        only = next(iter(types)) if len(types) == 1 else None
        return first_copies(table, columns, order_by[0], event_type=only)
    if first_copy == "table":
        return exp.select(
            *(sql_column(c) for c in ("id", "customer", "type", TIME_US, *columns)),
            exp.alias_(sql_int(1), COPY_NO, quoted=True),
        ).from_(exp.to_table(table))
    return ranked_events(table, columns, order_by)
