"""Usage from a DuckDB ledger: its events as the compiled usage query's view, one query.

The stored events become the view :data:`~meterlib.sql.sources.VIEW` in the events-table
layout (``id``, ``customer``, ``type``, ``time``, one column per property the meters read,
receipt order ``meterlib_row``), and :func:`~meterlib.sql.compile.build_usage_query` computes
every meter's figures in DuckDB with exact ``DECIMAL`` arithmetic: no Python per event or per
row, only per result cell. Property values are stored as text (see :mod:`meterlib.ledger.rows`),
so a number is read from its text exactly as the SQLite ledger reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from meterlib.errors import InvalidValueError
from meterlib.metering._buckets import periods_of_interest
from meterlib.metering.meters import Meter
from meterlib.metering.table import UsageTable
from meterlib.periods import BillingCycle, Period
from meterlib.sql.compile import DEFAULT_SCALE, build_usage_query, properties_read
from meterlib.sql.duckdb_engine import SqlEngineError
from meterlib.sql.sources import VIEW

if TYPE_CHECKING:
    import duckdb

__all__ = ["duck_usage"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _property(name: str) -> str:
    """SQL for the text of property ``name`` (NULL when the event lacks it)."""
    path = _quote('$."' + name.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return f"json_extract_string(e.props, {path})"


def _span(
    periods: BillingCycle | Sequence[Period], window: Period | None
) -> tuple[int, int] | None:
    """The µs bounds of the periods of interest, or None when unbounded (a bare cycle)."""
    index = periods_of_interest(periods, window)
    if not index.bounded:
        return None
    spans = [index.span(k) for k in index.keys if k is not None]
    if not spans:
        return (0, 0)
    return min(lo for lo, _ in spans), max(hi for _, hi in spans)


def _run(db: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    import duckdb  # noqa: PLC0415  (optional dependency)

    try:
        return db.execute(sql, list(params)).fetchall()
    except duckdb.Error as error:
        raise SqlEngineError(str(error).splitlines()[0]) from None


def duck_usage(
    db: duckdb.DuckDBPyConnection,
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    *,
    window: Period | None,
    customer: str | None,
    received_by: int | None,
    scale: int = DEFAULT_SCALE,
) -> UsageTable:
    """The usage of ``meters`` over the ledger's ``events`` (``received_by`` in µs or None)."""
    if not meters or not all(isinstance(m, Meter) for m in meters):
        raise InvalidValueError("meters", meters, "a non-empty sequence of Meter definitions")
    names = properties_read(meters)
    columns = [
        "e.id AS id",
        "e.customer AS customer",
        "e.type AS type",
        "make_timestamptz(e.time_us) AS time",
        "e.seq AS meterlib_row",
        *(f"{_property(name)} AS {_ident(name)}" for name in names),
    ]
    # Ids are unique in the ledger, so no copy of an event can hide behind these filters: the
    # view holds only the events the meters read, in the span asked for (DuckDB then skips
    # whole row groups by their time and type statistics).
    types = sorted({m.event_type for m in meters})
    where = ["e.type IN (" + ", ".join(_quote(t) for t in types) + ")"]
    if customer is not None:
        where.append(f"e.customer = {_quote(customer)}")
    span = _span(periods, window)
    if span is not None:
        where.append(f"e.time_us >= {span[0]} AND e.time_us < {span[1]}")
    if received_by is not None:
        where.append(
            "e.batch IN (SELECT batch FROM batches "  # noqa: S608  (an int, not input text)
            f"WHERE received_us <= {int(received_by)})"
        )
    sql = (
        f"CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT {', '.join(columns)} "  # noqa: S608  (quoted)
        f"FROM events AS e WHERE {' AND '.join(where)}"
    )
    _run(db, sql)
    if window is None and isinstance(periods, BillingCycle):
        # A cycle without a window: every period from the first event the meters read to the
        # last, as the SQLite ledger spans it.
        query = f"SELECT min(epoch_us(time)), max(epoch_us(time)) FROM {VIEW}"  # noqa: S608
        [(low, high)] = _run(db, query)
        if low is None or high is None:
            return UsageTable({})
        window = Period(
            _EPOCH + timedelta(microseconds=int(low)),
            _EPOCH + timedelta(microseconds=int(high) + 1),
        )
    built = build_usage_query(
        meters,
        periods,
        window=window,
        table=VIEW,
        order_by=("meterlib_row",),
        customer=customer,
        scale=scale,
    )
    return built.table(_run(db, built.sql("duckdb", pretty=False)))
