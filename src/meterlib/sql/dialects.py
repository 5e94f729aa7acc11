"""Printing a query tree in one SQL dialect, with the few rewrites sqlglot does not make itself.

The usage query is one sqlglot tree; :func:`to_sql` prints it for any dialect sqlglot knows.
sqlglot maps most expressions by itself (``REGEXP_MATCHES`` becomes ``RLIKE`` in Spark, ``~`` in
PostgreSQL, ``match`` in ClickHouse). Epoch microseconds are the exception: DuckDB has
``EPOCH_US`` and Spark ``UNIX_MICROS``, but sqlglot prints ``UNIX_MICROS`` for PostgreSQL and
ClickHouse too, where no such function exists. The tree is rewritten before printing:

- PostgreSQL: ``CAST(EXTRACT(EPOCH FROM t) * 1000000 AS BIGINT)``; ``EXTRACT`` returns an exact
  ``numeric`` since PostgreSQL 14, so no precision is lost.
- ClickHouse: ``toUnixTimestamp64Micro(t)`` (the ``time`` column must be ``DateTime64(6)``).

Engines run the query with their defaults except Spark, which needs
``spark.sql.ansi.enabled=true`` (so a failing cast or an overflow is an error, not NULL) and
``spark.sql.decimalOperations.allowPrecisionLoss=false`` (so a decimal product keeps its scale
instead of being rounded): see :data:`SPARK_CONF`.
"""

from __future__ import annotations

from sqlglot import exp

from meterlib.errors import InvalidValueError

__all__ = ["DIALECTS", "SPARK_CONF", "to_sql"]

#: The dialects the command line offers (sqlglot knows more; :func:`to_sql` accepts them all).
DIALECTS = ("duckdb", "spark", "postgres", "clickhouse", "databricks", "trino", "snowflake")

#: Spark settings under which the generated SQL is exact and fails loudly.
SPARK_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
}


def _postgres(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.UnixMicros):
        seconds = exp.Extract(this=exp.var("EPOCH"), expression=node.this)
        scaled = exp.Mul(this=seconds, expression=exp.Literal.number(1_000_000))
        return exp.cast(scaled, "BIGINT")
    return node


def _clickhouse(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.UnixMicros):
        return exp.Anonymous(this="toUnixTimestamp64Micro", expressions=[node.this])
    return node


_REWRITES = {"postgres": _postgres, "clickhouse": _clickhouse}


def to_sql(expression: exp.Expr, dialect: str, *, pretty: bool = True) -> str:
    """``expression`` printed as SQL in ``dialect`` (any dialect name sqlglot knows)."""
    from sqlglot.dialects.dialect import Dialect  # noqa: PLC0415  (keeps module import light)

    try:
        Dialect.get_or_raise(dialect)
    except ValueError:
        raise InvalidValueError(
            "dialect", dialect, f"a SQL dialect sqlglot knows, such as {', '.join(DIALECTS)}"
        ) from None
    rewrite = _REWRITES.get(dialect)
    tree = expression.transform(rewrite) if rewrite else expression
    return tree.sql(dialect=dialect, pretty=pretty)
