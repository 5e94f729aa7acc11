"""Queries that account for every copy of every event: the SQL side of "nothing lost silently".

:func:`compile_conflicts` lists each later copy of an id whose content differs from the first
received copy (a *conflict*), beside the copy that counts. :func:`build_receipt_query` counts
where every row went, as :class:`~meterlib.metering.report.BatchReport` does for a batch:
``received == accepted + duplicates + conflicts + outside`` (files hold no invalid rows that a
query could skip: a row the meters cannot read stops the query instead, see
:mod:`meterlib.sql._values`).

*Content* is what two copies must share to be duplicates: customer, type, the time as an
instant, and the ``content`` columns (the property columns, or a JSON ``properties`` column);
``NULL`` equals ``NULL``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from meterlib.errors import InvalidValueError
from meterlib.metering.meters import Meter
from meterlib.metering.report import BatchReport  # noqa: F401  (named in docstrings)
from meterlib.periods import BillingCycle, Period
from meterlib.sql._values import text_of
from meterlib.sql.cells import TIME_US, sql_and, sql_column, sql_int
from meterlib.sql.compile import locate_periods, periods_of_interest
from meterlib.sql.dialects import to_sql
from meterlib.sql.firsts import COPY_NO, ranked_events, repeated_first_copies

__all__ = [
    "build_conflicts_query",
    "build_receipt_query",
    "compile_conflicts",
    "firsts_sql",
    "grouped_firsts_sql",
    "invoice_run_sql",
    "later_copies_sql",
    "receipt_sql_arg_min",
    "receipt_sql_of_firsts",
]

_KEYS = ("customer", "type", TIME_US)


def _same(content: Sequence[str], left: str, right: str) -> exp.Expr:
    return sql_and(
        [
            exp.NullSafeEQ(this=sql_column(c, left), expression=sql_column(c, right))
            for c in (*_KEYS, *content)
        ]
    )


def _firsts_join(
    table: str, content: Sequence[str], order_by: Sequence[str]
) -> tuple[exp.Select, exp.Select]:
    ranked = ranked_events(table, content, order_by)
    firsts = (
        exp.select(exp.Star())
        .from_("ranked")
        .where(exp.EQ(this=sql_column(COPY_NO), expression=sql_int(1)))
    )
    return ranked, firsts


def build_conflicts_query(
    content: Sequence[str],
    *,
    table: str = "events",
    order_by: Sequence[str] = ("received_at",),
) -> exp.Expr:
    """Every conflicting copy beside the first copy of its id (see :func:`compile_conflicts`)."""
    ranked, firsts = _firsts_join(table, content, order_by)
    columns = [sql_column("id", "c"), exp.alias_(sql_column(COPY_NO, "c"), "copy", quoted=True)]
    for side, label in (("f", "first"), ("c", "other")):
        columns.extend(
            exp.alias_(
                text_of(sql_column(c, side)) if c in content else sql_column(c, side),
                f"{label}_{c}",
                quoted=True,
            )
            for c in (*_KEYS, *content)
        )
    join = exp.EQ(this=sql_column("id", "c"), expression=sql_column("id", "f"))
    differs = exp.Not(this=exp.Paren(this=_same(content, "c", "f")))
    return (
        exp.select(*columns)
        .from_(exp.alias_(exp.to_table("ranked"), "c", table=True))
        .join(exp.alias_(exp.to_table("firsts"), "f", table=True), on=join)
        .where(
            exp.And(
                this=exp.GT(this=sql_column(COPY_NO, "c"), expression=sql_int(1)),
                expression=differs,
            )
        )
        .order_by(sql_column("id", "c"), sql_column(COPY_NO, "c"))
        .with_("ranked", as_=ranked)
        .with_("firsts", as_=firsts)
    )


def compile_conflicts(
    content: Sequence[str],
    *,
    dialect: str = "duckdb",
    table: str = "events",
    order_by: Sequence[str] = ("received_at",),
) -> str:
    """SQL listing every copy of an id that conflicts with the first received copy.

    One row per conflicting copy: ``id``, ``copy`` (its number among the id's copies, 1 being
    the first received), then ``first_customer``, ``first_type``, ``first_meterlib_time_us``
    (µs since the epoch) and ``first_<column>`` for each ``content`` column, and the same with
    ``other_`` for the refused copy. Content columns are shown as text.
    """
    return to_sql(build_conflicts_query(content, table=table, order_by=order_by), dialect)


def _matches(meter: Meter, side: str) -> exp.Expr:
    conditions: list[exp.Expr] = [
        exp.EQ(this=sql_column("type", side), expression=exp.Literal.string(meter.event_type))
    ]
    for name, rule in sorted(meter.filters.items()):
        accepted = (rule.equals,) if rule.equals is not None else tuple(rule.one_of or ())
        conditions.append(
            exp.In(
                this=text_of(sql_column(name, side)),
                expressions=[exp.Literal.string(text) for text in accepted],
            )
        )
    return exp.Paren(this=sql_and(conditions))


def _count_if(condition: exp.Expr, alias: str) -> exp.Expr:
    case = exp.Case(ifs=[exp.If(this=condition, true=sql_int(1))], default=sql_int(0))
    return exp.alias_(exp.cast(exp.Sum(this=case), "BIGINT"), alias, quoted=True)


def build_receipt_query(
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    content: Sequence[str],
    *,
    window: Period | None = None,
    table: str = "events",
    order_by: Sequence[str] = ("received_at",),
    customer: str | None = None,
) -> exp.Expr:
    """One row counting where copies went (as :class:`BatchReport` does).

    Columns: ``received``, ``accepted``, ``duplicates``, ``conflicts``, ``outside``, ``unmetered``.

    With ``customer``, only copies of ids whose first copy belongs to that customer count.
    ``content`` must include every property the meters' filters read.
    """
    if not meters:
        raise InvalidValueError("meters", meters, "a non-empty sequence of Meter definitions")
    chosen = periods_of_interest(periods, window)
    ranked, firsts = _firsts_join(table, content, order_by)
    index, _, _ = locate_periods(chosen)
    firsts = firsts.select(exp.alias_(index, "meterlib_period", quoted=True))
    first = exp.EQ(this=sql_column(COPY_NO, "c"), expression=sql_int(1))
    later = exp.GT(this=sql_column(COPY_NO, "c"), expression=sql_int(1))
    same = exp.Paren(this=_same(content, "c", "f"))
    outside = exp.Is(this=sql_column("meterlib_period", "f"), expression=exp.Null())
    matched: exp.Expr = _matches(meters[0], "f")
    for meter in meters[1:]:
        matched = exp.Or(this=matched, expression=_matches(meter, "f"))
    query = (
        exp.select(
            exp.alias_(exp.cast(exp.Count(this=exp.Star()), "BIGINT"), "received", quoted=True),
            _count_if(exp.And(this=first, expression=exp.Not(this=outside)), "accepted"),
            _count_if(exp.And(this=later.copy(), expression=same), "duplicates"),
            _count_if(
                exp.And(this=later.copy(), expression=exp.Not(this=same.copy())), "conflicts"
            ),
            _count_if(exp.And(this=first.copy(), expression=outside.copy()), "outside"),
            _count_if(
                sql_and(
                    [
                        first.copy(),
                        exp.Not(this=outside.copy()),
                        exp.Not(
                            this=exp.Paren(
                                this=exp.Coalesce(
                                    this=exp.Paren(this=matched), expressions=[exp.false()]
                                )
                            )
                        ),
                    ]
                ),
                "unmetered",
            ),
        )
        .from_(exp.alias_(exp.to_table("ranked"), "c", table=True))
        .join(
            exp.alias_(exp.to_table("firsts"), "f", table=True),
            on=exp.EQ(this=sql_column("id", "c"), expression=sql_column("id", "f")),
        )
        .with_("ranked", as_=ranked)
        .with_("firsts", as_=firsts)
    )
    if customer is not None:
        query = query.where(
            exp.EQ(this=sql_column("customer", "f"), expression=exp.Literal.string(customer))
        )
    return query


def _receipt_parts(
    meters: Sequence[Meter],
    periods: Sequence[Period],
    content: Sequence[str],
    customer: str | None,
) -> tuple[str, str, str]:
    """The pieces both first-copy receipt queries share.

    ``meterlib_period`` and ``meterlib_matched`` as select columns of a first copy, the
    ``WHERE`` that keeps one customer (or nothing), and the test that a later copy ``c`` is
    the same event as its first copy ``f`` (a duplicate, not a conflict).
    """
    if not meters:
        raise InvalidValueError("meters", meters, "a non-empty sequence of Meter definitions")
    index, _, _ = locate_periods(list(periods))
    matched: exp.Expr = _matches(meters[0], None)  # type: ignore[arg-type]
    for meter in meters[1:]:
        matched = exp.Or(this=matched, expression=_matches(meter, None))  # type: ignore[arg-type]
    chosen = (
        f"{index.sql('duckdb')} AS meterlib_period, "
        f"COALESCE(({matched.sql('duckdb')}), false) AS meterlib_matched"
    )
    where = (
        ""
        if customer is None
        else " WHERE "
        + exp.EQ(this=sql_column("customer"), expression=exp.Literal.string(customer)).sql("duckdb")
    )
    quoted = {
        n: exp.to_identifier(n, quoted=True).sql("duckdb")
        for n in ("customer", "type", TIME_US, *content)
    }
    same = " AND ".join(
        f"c.{quoted[n]} IS NOT DISTINCT FROM f.{quoted[n]}" for n in ("customer", "type", *content)
    )
    same += f' AND epoch_us(c."time") = f.{quoted[TIME_US]}'
    return chosen, where, same


def _receipt_row(copies: str) -> str:
    """The receipt report's one row from ``chosen`` and ``later`` (``copies``: the count column)."""
    return (
        f"SELECT CAST(sum({copies}) AS BIGINT) AS received, "  # noqa: S608  (a column name of ours)
        "count(*) FILTER (WHERE meterlib_period IS NOT NULL) AS accepted, "
        "(SELECT duplicates FROM later) AS duplicates, "
        "(SELECT conflicts FROM later) AS conflicts, "
        "count(*) FILTER (WHERE meterlib_period IS NULL) AS outside, "
        "count(*) FILTER (WHERE meterlib_period IS NOT NULL AND NOT meterlib_matched) "
        "AS unmetered FROM chosen"
    )


def receipt_sql_arg_min(
    meters: Sequence[Meter],
    periods: Sequence[Period],
    content: Sequence[str],
    *,
    table: str,
    order: str,
    customer: str | None = None,
) -> str:
    """:func:`build_receipt_query`'s row in DuckDB SQL, without numbering every copy.

    The first copy of each id is the row with the least value of the one receipt column
    ``order`` (:func:`grouped_firsts_sql`), with the id's copy count; only the later copies of
    ids sent more than once are compared with their first copy. Same columns, same counts as
    :func:`build_receipt_query`.
    """
    return receipt_sql_of_firsts(
        meters,
        periods,
        content,
        table=table,
        firsts="firsts",
        order=order,
        customer=customer,
        define=grouped_firsts_sql(content, table=table, order=order),
    )


def firsts_sql(content: Sequence[str], *, table: str, order: str, target: str) -> str:
    """DuckDB SQL storing the first copy of every id of ``table`` as the temporary ``target``.

    :func:`grouped_firsts_sql` (the row with the least value of the one receipt column
    ``order``) keeps, per id: ``customer``, ``type``, the time in µs, the
    ``content`` columns, the first copy's ``order`` value as ``meterlib_order`` and the
    number of copies (``meterlib_copies``). The usage queries
    (``first_copy="table"``) and :func:`receipt_sql_of_firsts` read it, so the events are
    grouped by id once.
    """
    return (
        f"CREATE OR REPLACE TEMP TABLE {exp.to_identifier(target).sql('duckdb')} AS "
        + grouped_firsts_sql(content, table=table, order=order)
    )


def receipt_sql_of_firsts(
    meters: Sequence[Meter],
    periods: Sequence[Period],
    content: Sequence[str],
    *,
    table: str,
    firsts: str,
    order: str,
    customer: str | None = None,
    later: bool = True,
    define: str | None = None,
) -> str:
    """:func:`build_receipt_query`'s row from the first copies stored by :func:`firsts_sql`.

    The counts of first copies come from ``firsts`` alone; only when some id was sent more
    than once (``later``) are its later copies read from ``table`` and compared with the first
    copy. Same columns, same counts as :func:`build_receipt_query`. ``define``: the first
    copies' query (:func:`grouped_firsts_sql`), then ``firsts`` names it as a CTE instead of
    a stored table.
    """
    chosen, where, same = _receipt_parts(meters, periods, content, customer)
    order_q = exp.to_identifier(order, quoted=True).sql("duckdb")
    source = exp.to_table(table).sql("duckdb")
    stored = exp.to_table(firsts).sql("duckdb")
    copies = (
        "(SELECT "  # noqa: S608  (quoted names)
        f"count(*) FILTER (WHERE {same}) AS duplicates, "
        f"count(*) FILTER (WHERE NOT ({same})) AS conflicts "
        f'FROM {source} AS c JOIN chosen AS f ON c."id" = f."id" AND f.meterlib_copies > 1 '
        f'WHERE c.{order_q} <> f."meterlib_order")'
        if later
        else "(SELECT 0 AS duplicates, 0 AS conflicts)"
    )
    head = "WITH " if define is None else f"WITH {stored} AS ({define}), "
    return (
        f"{head}chosen AS (SELECT *, {chosen} FROM {stored}{where}), "  # noqa: S608  (quoted names)
        f"later AS {copies} " + _receipt_row("meterlib_copies")
    )


def grouped_firsts_sql(content: Sequence[str], *, table: str, order: str) -> str:
    """DuckDB SQL of the first copy of every id of ``table``, one row per id.

    The columns :func:`firsts_sql` stores (``id``, ``customer``, ``type``, the time in µs, the
    ``content`` columns, ``meterlib_order`` and ``meterlib_copies``), as they stand in the
    row with the least ``order`` value of its id (``order``: the one receipt column, one
    value per row), found as :func:`~meterlib.sql.firsts.repeated_first_copies` finds them.
    The edge refuses events without an id, so no row has a NULL ``id``.
    """
    firsts = repeated_first_copies(table, content, order, counted=True)
    return to_sql(firsts, "duckdb", pretty=False)


def invoice_run_sql(
    usages: Sequence[str],
    meters: Sequence[Meter],
    periods: Sequence[Period],
    content: Sequence[str],
    *,
    table: str,
    firsts: str,
    order: str,
) -> str:
    """One DuckDB statement: the usage queries, the receipt counts and the ids sent again.

    The first copies (:func:`grouped_firsts_sql`, as the CTE ``firsts``) are computed once
    and read by every usage query of ``usages`` (compiled with ``first_copy="table"`` over
    ``firsts``) and by the counts of :func:`build_receipt_query` over ``periods``. The rows
    come apart by ``meterlib_part``: ``i`` for the cells of ``usages[i]`` (their columns
    first, ``value`` as text), ``-1`` for the one row of counts (``received``, ``accepted``,
    ``outside``, ``unmetered``), ``-3`` for each id sent more than once with its first
    copy's ``order`` value (``id``, ``meterlib_order``): :func:`later_copies_sql` compares
    their later copies.
    """
    chosen, _, _ = _receipt_parts(meters, periods, content, None)
    stored = exp.to_identifier(firsts).sql("duckdb")
    ctes = [
        f"{stored} AS MATERIALIZED ({grouped_firsts_sql(content, table=table, order=order)})",
        f"meterlib_chosen AS (SELECT meterlib_copies, {chosen} FROM {stored})",  # noqa: S608
    ]
    parts = []
    for index, usage in enumerate(usages):
        ctes.append(
            f"meterlib_usage_{index} AS (SELECT * REPLACE "  # noqa: S608  (compiled queries)
            f'(CAST("value" AS VARCHAR) AS "value") FROM ({usage}))'
        )
        parts.append(f"SELECT *, {index} AS meterlib_part FROM meterlib_usage_{index}")  # noqa: S608
    parts.append(
        "SELECT -1 AS meterlib_part, "
        "CAST(sum(meterlib_copies) AS BIGINT) AS received, "
        "count(*) FILTER (WHERE meterlib_period IS NOT NULL) AS accepted, "
        "count(*) FILTER (WHERE meterlib_period IS NULL) AS outside, "
        "count(*) FILTER (WHERE meterlib_period IS NOT NULL AND NOT meterlib_matched) "
        "AS unmetered FROM meterlib_chosen"
    )
    parts.append(
        f'SELECT -3 AS meterlib_part, "id", meterlib_order FROM {stored} '  # noqa: S608
        "WHERE meterlib_copies > 1"
    )
    return "WITH " + ", ".join(ctes) + " " + " UNION ALL BY NAME ".join(parts)


def later_copies_sql(content: Sequence[str], *, table: str, repeated: str, order: str) -> str:
    """DuckDB SQL comparing the later copies of the ids in ``repeated`` with their first copy.

    ``repeated`` holds ``id`` and the first copy's ``order`` value (``meterlib_order``), as
    :func:`invoice_run_sql` lists them; every copy of those ids is read from ``table`` (the
    first copy's values as they stand in its row). Rows by ``meterlib_part``: ``-1`` one row
    of ``duplicates`` and ``conflicts`` counts, ``-2`` each conflicting copy with the columns
    of :func:`compile_conflicts` (``copy`` aside: ``meterlib_later_order`` is the copy's
    ``order`` value).
    """
    order_q = exp.to_identifier(order, quoted=True).sql("duckdb")
    source = exp.to_table(table).sql("duckdb")
    names = ("customer", "type", TIME_US, *content)

    def value(name: str, side: str) -> exp.Expr:
        if name == TIME_US:
            return exp.UnixMicros(this=sql_column("time", side))
        return sql_column(name, side)

    same = sql_and([exp.NullSafeEQ(this=value(n, "c"), expression=value(n, "f")) for n in names])
    listing = ['c."id" AS "id"', f"c.{order_q} AS meterlib_later_order"]
    for side, label in (("f", "first"), ("c", "other")):
        for name in names:
            shown = text_of(value(name, side)) if name in content else value(name, side)
            alias = exp.to_identifier(f"{label}_{name}", quoted=True).sql("duckdb")
            listing.append(f"{shown.sql('duckdb')} AS {alias}")
    return (
        "WITH meterlib_all AS (SELECT c.*, r.meterlib_order AS meterlib_first_order "  # noqa: S608  (quoted names)
        f'FROM {source} AS c JOIN {repeated} AS r ON c."id" = r."id"), '
        "meterlib_first AS (SELECT * FROM meterlib_all "
        f"WHERE {order_q} = meterlib_first_order), "
        f"meterlib_later AS (SELECT {', '.join(listing)}, ({same.sql('duckdb')}) AS meterlib_same "
        'FROM meterlib_all AS c JOIN meterlib_first AS f ON c."id" = f."id" '
        f"WHERE c.{order_q} <> c.meterlib_first_order) "
        "SELECT -1 AS meterlib_part, count(*) FILTER (WHERE meterlib_same) AS duplicates, "
        "count(*) FILTER (WHERE NOT meterlib_same) AS conflicts FROM meterlib_later "
        "UNION ALL BY NAME SELECT -2 AS meterlib_part, * EXCLUDE (meterlib_same) "
        "FROM meterlib_later WHERE NOT meterlib_same"
    )
