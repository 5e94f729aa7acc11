"""Usage computed in-process by DuckDB, straight from event files or the SQLite ledger.

:func:`usage_from_source` registers the source as a view (:mod:`meterlib.sql.sources`), runs the
compiled usage query (:mod:`meterlib.sql.compile`) and reads the few result rows back into a
:class:`~meterlib.metering.table.UsageTable`. Event files are checked at meterlib's edge on
the way in (the readers, ``check_event`` and the meter reading every engine uses), so its
figures and its rejections equal the in-memory
:class:`~meterlib.metering.accumulator.Accumulator`'s and the ledger's for the same file
(``tests/property/test_sql_equivalence.py`` and ``tests/property/test_engines_agree.py``
check that).

:func:`scan_source` also accounts for every row as a
:class:`~meterlib.metering.report.BatchReport` (accepted, duplicates, conflicts with both
versions, outside every period, unmetered, rejected with line and reason), so nothing is lost
silently.

DuckDB is imported when first used, so ``import meterlib`` works without it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from meterlib._json import loads
from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.metering.events import PropertyValue, UsageEvent
from meterlib.metering.meters import Meter
from meterlib.metering.report import BatchReport, Conflict, RejectedEventsError, Rejection
from meterlib.metering.table import UsageTable
from meterlib.periods import BillingCycle, Period
from meterlib.sql.checks import (
    build_conflicts_query,
    build_receipt_query,
    firsts_sql,
    invoice_run_sql,
    later_copies_sql,
    receipt_sql_arg_min,
    receipt_sql_of_firsts,
)
from meterlib.sql.compile import (
    DEFAULT_SCALE,
    UsageQuery,
    build_usage_query,
    periods_of_interest,
    properties_read,
)
from meterlib.sql.lines import arrow_table
from meterlib.sql.sources import VIEW, EventsView, register_source

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "FIRSTS",
    "SourceRejectedError",
    "SourceUsage",
    "SqlEngineError",
    "arrow_sql",
    "connect",
    "receipt_report",
    "run_arrow",
    "run_usage_and_report",
    "scan_source",
    "source_view",
    "store_first_copies",
    "usage_from_source",
    "usage_source",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SqlEngineError(MeterlibError, ValueError):
    """The engine refused the data: an unreadable value, an overflow, a bad file.

    The message is the engine's; for values meterlib refuses it contains
    ``meterlib: event '<id>': properties.<name> = '<value>' must be ...``.
    """


def connect() -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB connection (an error naming the extra when DuckDB is missing)."""
    try:
        import duckdb  # noqa: PLC0415  (optional dependency, imported when used)
    except ImportError:  # pragma: no cover - the test environment has DuckDB
        raise MeterlibError("DuckDB is not installed: pip install 'meterlib[duckdb]'") from None
    return duckdb.connect(":memory:")


class SourceRejectedError(SqlEngineError, RejectedEventsError):
    """:func:`usage_from_source` met rows meterlib rejects; ``rejected`` lists every one."""

    def __init__(self, rejected: tuple[Rejection, ...]) -> None:
        RejectedEventsError.__init__(self, rejected)


@dataclass(frozen=True, slots=True)
class SourceUsage:
    """Usage of a source and where every row of it went."""

    table: UsageTable
    report: BatchReport


def _window_of(
    connection: duckdb.DuckDBPyConnection, periods: BillingCycle | Sequence[Period]
) -> Period | None:
    """A cycle without a window covers every period events reach: the span of event times."""
    if not isinstance(periods, BillingCycle):
        return None
    [(low, high)] = _run(
        connection,
        f'SELECT min(epoch_us("time")), max(epoch_us("time")) FROM {VIEW}',  # noqa: S608  (constant view name)
    )
    if low is None or high is None:
        return None
    start = _EPOCH + timedelta(microseconds=int(low))
    end = _EPOCH + timedelta(microseconds=int(high) + 1)
    return Period(start, end)


def _run(connection: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    import duckdb  # noqa: PLC0415  (optional dependency)

    try:
        return connection.execute(sql).fetchall()
    except duckdb.Error as error:
        raise SqlEngineError(str(error).splitlines()[0]) from None


def run_arrow(connection: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """The result of ``sql`` as an Arrow table; DuckDB's errors as :class:`SqlEngineError`."""
    import duckdb  # noqa: PLC0415  (optional dependency)

    try:
        return arrow_table(connection, sql)
    except duckdb.Error as error:
        raise SqlEngineError(str(error).splitlines()[0]) from None


def arrow_sql(query: UsageQuery) -> str:
    """``query`` in DuckDB SQL for :meth:`UsageQuery.table_of_arrow`: the columns it reads.

    Values as DuckDB's plain decimal text (Arrow would print small ones with an exponent); the
    period texts, which the table takes from the query's periods, are left out.
    """
    groups = "".join(f', "g{i + 1}"' for i in range(query.group_width))
    return (
        f'SELECT "customer", "meter", "period_index"{groups}, '  # noqa: S608  (the compiled query)
        'CAST("value" AS VARCHAR) AS "value", "divisor", "value_text" '
        f"FROM ({query.sql('duckdb', pretty=False)})"
    )


def source_view(
    source: str | Path | Sequence[str | Path],
    meters: Sequence[Meter],
    scale: int,
    connection: duckdb.DuckDBPyConnection | None,
) -> tuple[duckdb.DuckDBPyConnection, EventsView]:
    """A connection (``connection`` or a new one) with ``source`` registered as :data:`VIEW`."""
    if not meters or not all(isinstance(m, Meter) for m in meters):
        raise InvalidValueError("meters", meters, "a non-empty sequence of Meter definitions")
    db = connection if connection is not None else connect()
    try:
        view = register_source(db, source, properties_read(meters), scale=scale, meters=meters)
    except MeterlibError:
        raise
    except Exception as error:
        import duckdb  # noqa: PLC0415

        if isinstance(error, duckdb.Error):
            raise SqlEngineError(str(error).splitlines()[0]) from None
        raise
    return db, view


#: The temporary table of first copies :func:`store_first_copies` fills.
FIRSTS = "meterlib_firsts"


def store_first_copies(db: duckdb.DuckDBPyConnection, view: EventsView) -> bool:
    """Group the registered source by id once, into the temporary table :data:`FIRSTS`.

    The usage queries and :func:`receipt_report` then read the first copies from it instead
    of each grouping the events again (one pass over the events for usage and report alike).
    Only with a single receipt column (``arg_min``); False, and nothing stored, otherwise.
    """
    if len(view.order_by) != 1:
        return False
    content = sorted({*view.properties, *view.content})
    _run(db, firsts_sql(content, table=VIEW, order=view.order_by[0], target=FIRSTS))
    return True


def usage_source(view: EventsView, *, stored: bool) -> dict[str, Any]:
    """Where :func:`~meterlib.sql.compile.build_usage_query` finds the first copies."""
    if stored:
        return {"table": FIRSTS, "order_by": view.order_by, "first_copy": "table"}
    return {
        "table": VIEW,
        "order_by": view.order_by,
        "first_copy": "arg_min" if len(view.order_by) == 1 else "window",
    }


def _usage(
    db: duckdb.DuckDBPyConnection,
    view: EventsView,
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    *,
    window: Period | None,
    customer: str | None,
    scale: int,
    stored: bool = False,
) -> tuple[UsageTable, Period | None] | None:
    if window is None:
        window = _window_of(db, periods)
        if window is None and isinstance(periods, BillingCycle):
            return None  # no events at all
    query = build_usage_query(
        meters,
        periods,
        window=window,
        customer=customer,
        scale=scale,
        exact_columns=view.exact_columns,
        ordered=False,
        **usage_source(view, stored=stored),
    )
    return query.table_of_arrow(run_arrow(db, arrow_sql(query))), window


def usage_from_source(
    source: str | Path | Sequence[str | Path],
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    *,
    window: Period | None = None,
    customer: str | None = None,
    scale: int = DEFAULT_SCALE,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> UsageTable:
    """The usage of ``meters`` in the periods of interest, computed by DuckDB from ``source``.

    ``source`` is a file, a glob or a list of them (Parquet, CSV, JSON Lines, or a SQLite
    ledger; see :mod:`meterlib.sql.sources`). ``periods`` and ``window`` choose the periods of
    interest as everywhere in meterlib (a cycle without a window: every period an event falls
    in). ``customer`` keeps one customer's cells. Numbers are read as ``DECIMAL(38, scale)``; a
    value with more places is an error (:class:`SqlEngineError`), never rounded.

    All or nothing: when a row is rejected at the edge (invalid, or unreadable by a meter)
    this raises :class:`SourceRejectedError` listing every rejection; :func:`scan_source`
    gives the usage of the other rows and reports the rejected ones instead.
    """
    db, view = source_view(source, meters, scale, connection)
    if view.rejected:
        raise SourceRejectedError(view.rejected)
    result = _usage(db, view, meters, periods, window=window, customer=customer, scale=scale)
    return UsageTable({}) if result is None else result[0]


def _event(prefix: str, row: dict[str, Any], view: EventsView) -> UsageEvent:
    properties: dict[str, PropertyValue] = {}
    raw = row.get(f"{prefix}_meterlib_properties")
    if raw is not None:
        loaded = loads(raw)
        if isinstance(loaded, dict):
            properties = {
                str(k): v if isinstance(v, str) else to_decimal(v, f"properties.{k}")
                for k, v in loaded.items()
                if not isinstance(v, bool | dict | list) and v is not None
            }
    else:
        for name in view.properties:
            value = row.get(f"{prefix}_{name}")
            if value is not None:
                properties[name] = str(value)
    micros = int(row[f"{prefix}_meterlib_time_us"])
    return UsageEvent(
        str(row["id"]),
        str(row[f"{prefix}_customer"]),
        str(row[f"{prefix}_type"]),
        _EPOCH + timedelta(microseconds=micros),
        MappingProxyType(properties),
    )


def receipt_report(
    db: duckdb.DuckDBPyConnection,
    view: EventsView,
    meters: Sequence[Meter],
    periods: Sequence[Period],
    *,
    customer: str | None = None,
    stored: bool = False,
) -> BatchReport:
    """Where every row of the registered source went, for ``periods`` (see :func:`scan_source`).

    ``stored``: the first copies are in :data:`FIRSTS` (:func:`store_first_copies`), read
    from there; the events are read again only for ids sent more than once.
    """
    if stored:
        [(most,)] = _run(db, f"SELECT max(meterlib_copies) FROM {FIRSTS}")  # noqa: S608  (constant name)
        sql = receipt_sql_of_firsts(
            meters,
            list(periods),
            view.content,
            table=VIEW,
            firsts=FIRSTS,
            order=view.order_by[0],
            customer=customer,
            later=most is not None and int(most) > 1,
        )
    elif len(view.order_by) == 1:
        sql = receipt_sql_arg_min(
            meters,
            list(periods),
            view.content,
            table=VIEW,
            order=view.order_by[0],
            customer=customer,
        )
    else:
        sql = build_receipt_query(
            meters,
            list(periods),
            view.content,
            table=VIEW,
            order_by=view.order_by,
            customer=customer,
        ).sql("duckdb")
    counts = _run(db, sql)[0]
    received, accepted, duplicates, conflict_count, outside, unmetered = (
        int(c or 0) for c in counts
    )
    conflicts = []
    listing = build_conflicts_query(view.content, table=VIEW, order_by=view.order_by)
    cursor = db.execute(listing.sql("duckdb") if conflict_count else "SELECT NULL AS id LIMIT 0")
    names = [d[0] for d in cursor.description or ()]
    for values in cursor.fetchall():
        row = dict(zip(names, values, strict=True))
        if customer is not None and row["first_customer"] != customer:
            continue
        conflicts.append(Conflict(_event("first", row, view), _event("other", row, view)))
    if len(conflicts) != conflict_count:  # both queries apply one rule; a mismatch is a bug
        raise SqlEngineError(
            f"conflict count {conflict_count} differs from the {len(conflicts)} conflicts listed"
        )
    return BatchReport(
        received=received + len(view.rejected),
        accepted=accepted,
        duplicates=duplicates,
        outside=outside,
        unmetered=unmetered,
        conflicts=tuple(conflicts),
        rejected=view.rejected,
    )


#: The name the ids sent more than once are registered under for :func:`later_copies_sql`.
REPEATED = "meterlib_repeated"


def run_usage_and_report(
    db: duckdb.DuckDBPyConnection,
    view: EventsView,
    meters: Sequence[Meter],
    usages: Sequence[Any],
    periods: Sequence[Period],
) -> tuple[list[Any], Callable[[], BatchReport]] | None:
    """The results of the usage queries ``usages``, and :func:`receipt_report`'s when asked.

    ``usages`` are :class:`~meterlib.sql.compile.UsageQuery` objects compiled with
    ``first_copy="table"`` over :data:`FIRSTS`; the first copies are found once, inside one
    statement (:func:`~meterlib.sql.checks.invoice_run_sql`), nothing is stored. Returns each
    query's cells as an Arrow table (the columns of the query, ``value`` as text) and a
    function giving the report for ``periods``, equal to :func:`receipt_report`'s. The later
    copies of ids sent more than once (duplicates or conflicts) are compared by a second
    statement in a background thread (:func:`~meterlib.sql.checks.later_copies_sql`), so
    DuckDB reads them while the caller builds its invoices; the function waits for it, and
    ``db`` must not be used until it has been called. None when the source ranks its copies
    by more than one column (then the caller takes the stored path).
    """
    import pyarrow.compute as pc  # noqa: PLC0415  (optional dependency)

    if len(view.order_by) != 1:
        return None
    content = sorted({*view.properties, *view.content})
    order = view.order_by[0]
    sql = invoice_run_sql(
        [query.sql("duckdb", pretty=False) for query in usages],
        meters,
        list(periods),
        content,
        table=VIEW,
        firsts=FIRSTS,
        order=order,
    )
    result = run_arrow(db, sql)
    names = result.column_names
    width = names.index("meterlib_part")
    part = result.column(width)
    cells = [
        result.filter(pc.equal(part, index)).select(list(range(width)))
        for index in range(len(usages))
    ]
    [counts] = result.filter(pc.equal(part, -1)).to_pylist()
    repeated = result.filter(pc.equal(part, -3)).select(["id", "meterlib_order"])
    later = _Background(lambda: _later_copies(db, repeated, content, order))

    def report() -> BatchReport:
        duplicates, listed = later.result()
        conflicts = tuple(
            Conflict(_event("first", r, view), _event("other", r, view)) for r in listed
        )
        return BatchReport(
            received=int(counts["received"] or 0) + len(view.rejected),
            accepted=int(counts["accepted"] or 0),
            duplicates=duplicates,
            outside=int(counts["outside"] or 0),
            unmetered=int(counts["unmetered"] or 0),
            conflicts=conflicts,
            rejected=view.rejected,
        )

    return cells, report


def _later_copies(
    db: duckdb.DuckDBPyConnection, repeated: Any, content: Sequence[str], order: str
) -> tuple[int, list[dict[str, Any]]]:
    """Duplicates counted and conflicting copies listed (by id, then receipt order)."""
    import pyarrow.compute as pc  # noqa: PLC0415  (optional dependency)

    if repeated.num_rows == 0:
        return 0, []
    db.register(REPEATED, repeated)
    try:
        result = run_arrow(
            db, later_copies_sql(content, table=VIEW, repeated=REPEATED, order=order)
        )
    finally:
        db.unregister(REPEATED)
    part = result.column("meterlib_part")
    [counts] = result.filter(pc.equal(part, -1)).to_pylist()
    listed = sorted(
        result.filter(pc.equal(part, -2)).to_pylist(),
        key=lambda row: (row["id"], row["meterlib_later_order"]),
    )
    if len(listed) != int(counts["conflicts"] or 0):  # one rule; a mismatch is a bug
        raise SqlEngineError(
            f"conflict count {counts['conflicts']} differs from the {len(listed)} listed"
        )
    return int(counts["duplicates"] or 0), listed


class _Background:
    """``work()`` run in a thread (DuckDB lets go of the interpreter while it executes)."""

    def __init__(self, work: Callable[[], tuple[int, list[dict[str, Any]]]]) -> None:
        self._work = work
        self._value: tuple[int, list[dict[str, Any]]] | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="meterlib-later-copies")
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._work()
        except BaseException as error:  # noqa: BLE001  (raised again in the caller's thread)
            self._error = error

    def result(self) -> tuple[int, list[dict[str, Any]]]:
        """Wait for the work; its value, or its error raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None  # noqa: S101  (set when no error was)
        return self._value


def scan_source(
    source: str | Path | Sequence[str | Path],
    meters: Sequence[Meter],
    periods: BillingCycle | Sequence[Period],
    *,
    window: Period | None = None,
    customer: str | None = None,
    scale: int = DEFAULT_SCALE,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> SourceUsage:
    """:func:`usage_from_source` plus a report of where every row went.

    ``received`` counts rows (copies); ``accepted`` first copies inside a period of interest
    (``unmetered`` of them matched no meter); ``duplicates`` later copies equal to the first;
    ``conflicts`` later copies that differ, each listed with the first copy (times shown in
    UTC); ``outside`` first copies outside every period; ``rejected`` the rows refused at the
    edge (unreadable lines, invalid events, values a meter cannot read), each with its line
    and the reason the accumulator and ``meterlib ingest`` give; they count nowhere else.
    """
    db, view = source_view(source, meters, scale, connection)
    stored = store_first_copies(db, view)
    result = _usage(
        db, view, meters, periods, window=window, customer=customer, scale=scale, stored=stored
    )
    if result is None:
        rejected = view.rejected
        return SourceUsage(UsageTable({}), BatchReport(received=len(rejected), rejected=rejected))
    table, chosen_window = result
    chosen = periods_of_interest(periods, chosen_window)
    report = receipt_report(db, view, meters, chosen, customer=customer, stored=stored)
    return SourceUsage(table, report)
