"""Meters compiled to SQL (sqlglot) and usage computed by DuckDB from files or the ledger.

- :func:`compile_usage` / :func:`build_usage_query`: one SQL query per set of meters and
  periods, printed for any dialect (DuckDB, Spark SQL, PostgreSQL, ClickHouse, ...);
- :func:`compile_conflicts`: the query listing conflicting copies of event ids;
- :func:`usage_from_source` / :func:`scan_source`: DuckDB in-process over Parquet, CSV, JSON
  Lines or the SQLite ledger.

Needs the ``sql`` extra (sqlglot), and the ``duckdb`` extra for the engine; DuckDB is imported
only when a query runs. Nothing below :mod:`meterlib.sql` imports it.
"""

from __future__ import annotations

from meterlib.sql.checks import build_conflicts_query, build_receipt_query, compile_conflicts
from meterlib.sql.compile import (
    DEFAULT_SCALE,
    UsageQuery,
    build_usage_query,
    compile_usage,
    periods_of_interest,
)
from meterlib.sql.dialects import DIALECTS, SPARK_CONF, to_sql
from meterlib.sql.duckdb_engine import (
    SourceRejectedError,
    SourceUsage,
    SqlEngineError,
    connect,
    scan_source,
    usage_from_source,
)

__all__ = [
    "DEFAULT_SCALE",
    "DIALECTS",
    "SPARK_CONF",
    "SourceRejectedError",
    "SourceUsage",
    "SqlEngineError",
    "UsageQuery",
    "build_conflicts_query",
    "build_receipt_query",
    "build_usage_query",
    "compile_conflicts",
    "compile_usage",
    "connect",
    "periods_of_interest",
    "scan_source",
    "to_sql",
    "usage_from_source",
]
