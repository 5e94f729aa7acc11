"""Usage from the ledger: one grouped SQL query per meter, exact aggregates inside SQLite.

**Where usage is computed.** Each meter is one grouped SQL query: events are bucketed into the
periods of interest by a join on a temporary table of period bounds (driven through the index
on ``(type, time_us)``), filtered and grouped by ``json_extract`` on the property text, and
aggregated inside SQLite: ``count`` with ``COUNT(*)`` and ``unique_count`` with
``COUNT(DISTINCT value)`` natively; ``sum``, ``min``, ``max``, ``latest`` and ``weighted_sum``
with *registered aggregate functions* that SQLite calls row by row while it scans and groups,
and that add, compare and multiply exact ``Decimal`` values (no REAL/float anywhere; rows are
never fetched into Python). ``latest`` keeps the greatest ``(time, event id)``, the accumulator's
tie-break; ``weighted_sum`` sums ``value × (period end − time)`` in microseconds and divides by
the period's length, as :mod:`meterlib.metering.aggregations` defines it.

**Checking against meters.** ``append`` without meters stores every valid event; with
``meters`` (and ``periods``) it also rejects what those meters cannot read and counts events
outside the periods, so its report equals the accumulator's for the same batches. An event
stored without that check and unreadable by a meter makes :meth:`Ledger.usage` raise an
:class:`~meterlib.metering.events.EventError` naming it, never a silently smaller figure.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from meterlib._numbers import EXACT, quotient, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.ledger.schema import guarded
from meterlib.metering._buckets import PeriodIndex, micros, periods_of_interest
from meterlib.metering.events import EventError
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.reading import NUMBER_CACHE, accepted_texts, check_meters, meter_error
from meterlib.metering.table import GroupKey, UsageKey, UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = ["Aggregates", "UsageQueries"]


class Aggregates:
    """Exact aggregate functions for SQLite, and the unreadable values they met.

    SQLite calls ``step`` once per row while it scans and groups; a value that is missing or
    not a decimal is remembered in :attr:`problems` (the query then fails with its name) and
    never guessed at. Results go back to SQLite as decimal text.
    """

    def __init__(self) -> None:
        self.problems: list[tuple[str, Any]] = []
        self.numbers: dict[str, Decimal] = {}

    def number(self, text: Any, event_id: str) -> Decimal | None:
        found = self.numbers.get(text) if type(text) is str else None
        if found is not None:
            return found
        try:
            found = to_decimal(text)
        except InvalidValueError:
            self.problems.append((event_id, text))
            return None
        if len(self.numbers) < NUMBER_CACHE:
            self.numbers[text] = found
        return found

    def register(self, connection: sqlite3.Connection) -> None:
        number = self.number

        class Sum:
            def __init__(self) -> None:
                self.total = Decimal(0)

            def step(self, text: Any, event_id: str) -> None:
                value = number(text, event_id)
                if value is not None:
                    self.total = EXACT.add(self.total, value)

            def finalize(self) -> str:
                return str(self.total)

        class Weighted(Sum):
            def step(self, text: Any, event_id: str, span: int) -> None:  # type: ignore[override]
                value = number(text, event_id)
                if value is not None:
                    self.total = EXACT.add(self.total, EXACT.multiply(value, Decimal(span)))

        class Min:
            def __init__(self) -> None:
                self.best: Decimal | None = None

            def better(self, value: Decimal, best: Decimal) -> bool:
                return value < best

            def step(self, text: Any, event_id: str) -> None:
                value = number(text, event_id)
                if value is not None and (self.best is None or self.better(value, self.best)):
                    self.best = value

            def finalize(self) -> str | None:
                return None if self.best is None else str(self.best)

        class Max(Min):
            def better(self, value: Decimal, best: Decimal) -> bool:
                return value > best

        class Latest:
            def __init__(self) -> None:
                self.best: tuple[int, str, Decimal] | None = None

            def step(self, time_us: int, event_id: str, text: Any) -> None:
                value = number(text, event_id)
                if value is not None and (self.best is None or (time_us, event_id) > self.best[:2]):
                    self.best = (time_us, event_id, value)

            def finalize(self) -> str | None:
                return None if self.best is None else str(self.best[2])

        # typeshed's aggregate protocol takes one int argument; these take several values.
        for name, arity, kind in (
            ("meterlib_sum", 2, Sum),
            ("meterlib_weighted", 3, Weighted),
            ("meterlib_min", 2, Min),
            ("meterlib_max", 2, Max),
            ("meterlib_latest", 3, Latest),
        ):
            connection.create_aggregate(name, arity, cast("Any", kind))


def _path(name: str) -> str | None:
    """A JSON path naming ``name`` for ``json_extract``, or None when SQLite cannot quote it."""
    if '"' in name or "\\" in name or any(ord(c) < 32 for c in name):
        return None
    return f'$."{name}"'


def _value_sql(name: str, params: list[Any]) -> str:
    """SQL for the text of property ``name`` of event ``e`` (NULL when absent)."""
    path = _path(name)
    if path is not None:
        params.append(path)
        return "json_extract(e.props, ?)"
    params.append(name)
    return "(SELECT j.value FROM json_each(e.props) AS j WHERE j.key = ?)"


# The events of one period, found through the (type, time) index and then read in rowid order:
# SQLite sorts an IN list, so the table's pages are visited once each and in file order,
# instead of once per event at random (3-4x faster once the file outgrows the page cache).
_ROWIDS = "SELECT rowid FROM events WHERE type = ? AND time_us >= p.lo AND time_us < p.hi"


class UsageQueries:
    """The ledger's usage queries (see the module docstring)."""

    _db: sqlite3.Connection
    _aggregates: Aggregates
    path: Path
    timeout: float

    @guarded
    def usage(
        self,
        meters: Sequence[Meter],
        periods: BillingCycle | Sequence[Period],
        *,
        window: Period | None = None,
        customer: str | None = None,
        received_by: datetime | None = None,
    ) -> UsageTable:
        """Usage per (customer, meter, period, group) of the stored events, computed in SQLite.

        ``periods`` and ``window`` give the periods of interest as for the accumulator; only
        ``customer``'s events count when given; with ``received_by`` only events received at
        or before that instant count (usage as it was known then, for back-billing).
        """
        check_meters(meters)
        index = periods_of_interest(periods, window)
        if customer is not None and type(customer) is not str:
            raise InvalidValueError("customer", customer, "a customer id (text) or None")
        if received_by is not None and (
            not isinstance(received_by, datetime) or received_by.utcoffset() is None
        ):
            raise InvalidValueError("received_by", received_by, "an aware datetime or None")
        db = self._db
        values: dict[UsageKey, Decimal] = {}
        db.execute("BEGIN")
        try:
            keys = self._fill_periods(index, meters, customer)
            if keys:
                for meter in meters:
                    self._meter_usage(meter, index, customer, received_by, values)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return UsageTable(values)

    def _fill_periods(
        self, index: PeriodIndex, meters: Sequence[Meter], customer: str | None
    ) -> list[int]:
        """Write the periods of interest to the temporary table ``_periods``; return keys."""
        db = self._db
        db.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _periods "
            "(k INTEGER PRIMARY KEY, lo INTEGER NOT NULL, hi INTEGER NOT NULL)"
        )
        db.execute("DELETE FROM _periods")
        if index.bounded:
            keys = [k for k in index.keys if k is not None]
        else:
            # A cycle without a window: every period from the first event to the last.
            types = sorted({m.event_type for m in meters})
            query = "SELECT min(time_us), max(time_us) FROM events WHERE type IN ({})".format(  # noqa: S608
                ",".join("?" * len(types))
            )
            params: list[Any] = list(types)
            if customer is not None:
                query += " AND customer = ?"
                params.append(customer)
            lo, hi = db.execute(query, params).fetchone()
            if lo is None:
                return []
            first, last = index.locate(lo), index.locate(hi)
            keys = [] if first is None or last is None else list(range(first, last + 1))
        db.executemany("INSERT INTO _periods VALUES (?, ?, ?)", [(k, *index.span(k)) for k in keys])
        return keys

    def _meter_usage(  # noqa: PLR0912, PLR0915  (one branch per aggregation)
        self,
        meter: Meter,
        index: PeriodIndex,
        customer: str | None,
        received_by: datetime | None,
        values: dict[UsageKey, Decimal],
    ) -> None:
        """Run one meter's grouped query and put its figures into ``values``."""
        groups = sorted(set(meter.group_by))
        select_params: list[Any] = []
        group_sql = [_value_sql(name, select_params) for name in groups]
        aggregation = meter.aggregation
        prop = meter.property or ""
        value_params: list[Any] = []
        value = "NULL" if aggregation is Aggregation.COUNT else _value_sql(prop, value_params)
        if aggregation is Aggregation.COUNT:
            agg = "count(*)"
        elif aggregation is Aggregation.UNIQUE_COUNT:
            agg = f"count(DISTINCT {value}), min(CASE WHEN {value} IS NULL THEN e.id END)"
            value_params = value_params * 2
        elif aggregation is Aggregation.LATEST:
            agg = f"meterlib_latest(e.time_us, e.id, {value})"
        elif aggregation is Aggregation.WEIGHTED_SUM:
            agg = f"meterlib_weighted({value}, e.id, p.hi - e.time_us)"
        else:
            agg = f"meterlib_{aggregation.value}({value}, e.id)"
        # "+": the type is matched by the rowid list below, not by driving the index.
        where = ["+e.type = ?"]
        where_params: list[Any] = [meter.event_type]
        for name, condition in sorted(meter.filters.items()):
            accepted = accepted_texts(condition)
            where.append(
                f"{_value_sql(name, where_params)} IN ({','.join('?' * len(accepted))})"
            )
            where_params.extend(accepted)
        if customer is not None:
            where.append("e.customer = ?")
            where_params.append(customer)
        join = ""
        if received_by is not None:
            join = "JOIN batches AS b ON b.batch = e.batch "
            where.append("b.received_us <= ?")
            where_params.append(micros(received_by))
        columns = ", ".join(["p.k", "e.customer", *group_sql, "min(e.id)", agg])
        grouping = ", ".join(["p.k", "e.customer", *[str(i + 3) for i in range(len(groups))]])
        query = (
            f"SELECT {columns} FROM _periods AS p CROSS JOIN events AS e "  # noqa: S608
            f"ON e.rowid IN ({_ROWIDS}) {join}"
            f"WHERE {' AND '.join(where)} GROUP BY {grouping}"
        )
        params = [*select_params, *value_params, meter.event_type, *where_params]
        # Scaled sums pay off over many rows (every customer's usage); for one customer's
        # (an invoice, a re-check) the aggregate below is 4x faster (bench_records.py).
        if aggregation is Aggregation.SUM and customer is None:
            source = (
                "SELECT p.k AS k, e.customer AS customer, "  # noqa: S608  (only ? parameters)
                + "".join(f"{sql} AS g{i}, " for i, sql in enumerate(group_sql))
                + f"e.id AS id, {value} AS v FROM _periods AS p CROSS JOIN events AS e "
                f"ON e.rowid IN ({_ROWIDS}) {join}"
                f"WHERE {' AND '.join(where)}"
            )
            found = _scaled_sums(self._db, source, len(groups), params)
            if found is not None:
                for row in found:
                    group: GroupKey = tuple(zip(groups, row[2:-1], strict=True))
                    values[UsageKey(row[1], meter.name, index.period(row[0]), group)] = row[-1]
                return
        aggregates = self._aggregates
        aggregates.problems.clear()
        rows = self._db.execute(query, params).fetchall()
        width = 2 + len(groups)
        for row in rows:
            for name, text in zip(groups, row[2:width], strict=True):
                if text is None:
                    raise _unreadable(row[width], meter, name, None, "a value")
            if aggregation is Aggregation.UNIQUE_COUNT and row[width + 2] is not None:
                raise _unreadable(row[width + 2], meter, prop, None, "a value")
        if aggregates.problems:
            event_id, text = aggregates.problems[0]
            expected = "a decimal value" if text is None else "a decimal number written as text"
            raise _unreadable(event_id, meter, prop, text, expected)
        for row in rows:
            key, who = row[0], row[1]
            result = row[width + 1]
            if result is None:
                continue
            start, end = index.span(key)
            figure = to_decimal(result, meter.name)
            if aggregation is Aggregation.WEIGHTED_SUM:
                figure = quotient(figure, Decimal(end - start))
            cell: GroupKey = tuple(zip(groups, row[2:width], strict=True))
            values[UsageKey(who, meter.name, index.period(key), cell)] = figure


# Plain decimal text SQLite can add exactly as integers scaled by 10**6: an optional minus sign,
# at most 12 digits (so no scaled value reaches 2**63), at most one point with at most 6 digits
# after it. Anything else (and an overflowing sum) leaves the meter to the exact aggregates.
_PLAIN = (
    "(v GLOB '*[0-9]*' AND NOT v GLOB '*[^0-9.-]*' AND NOT substr(v, 2) GLOB '*-*'"
    " AND length(v) - length(replace(v, '.', '')) <= 1 AND length(v) <= 14"
    " AND length(replace(replace(v, '.', ''), '-', '')) <= 12"
    " AND (instr(v, '.') = 0 OR length(v) - instr(v, '.') <= 6))"
)
# A whole number written as SQLite writes it (no sign but '-', no leading zero, 12 digits at
# most): the common case, checked by one round trip.
_WHOLE = (
    "(CAST(CAST(v AS INTEGER) AS TEXT) = v AND CAST(v AS INTEGER) BETWEEN -999999999999 "
    "AND 999999999999)"
)
_FRACTION = "(CASE WHEN instr(v, '.') = 0 THEN 0 ELSE length(v) - instr(v, '.') END)"
_SCALED = (
    f"CAST(replace(v, '.', '') AS INTEGER) * (CASE {_FRACTION} WHEN 0 THEN 1000000 "
    "WHEN 1 THEN 100000 WHEN 2 THEN 10000 WHEN 3 THEN 1000 WHEN 4 THEN 100 WHEN 5 THEN 10 "
    "ELSE 1 END)"
)
_MILLION = Decimal(1_000_000)


def _scaled_sums(
    db: sqlite3.Connection, source: str, groups: int, params: list[Any]
) -> list[tuple[Any, ...]] | None:
    """Sums of plain decimal text as scaled integers in SQL; None when a value is not plain.

    Each row: ``(period key, customer, *group values, sum)``, the sum a ``Decimal`` with as
    many fraction digits as the longest fraction added (as ``Decimal`` addition keeps them).
    """
    names = "".join(f"g{i}, " for i in range(groups))
    # "LIMIT -1" keeps each subquery a co-routine that SQLite does not flatten into the outer
    # query, so the property is extracted, and its shape checked, once per row.
    query = (
        f"SELECT k, customer, {names}"  # noqa: S608
        f"sum(CASE ok WHEN 1 THEN CAST(v AS INTEGER) * 1000000 WHEN 2 THEN {_SCALED} END), "
        f"max(CASE ok WHEN 1 THEN 0 WHEN 2 THEN {_FRACTION} END), sum(ok = 0) "
        f"FROM (SELECT k, customer, {names}v, CASE WHEN {_WHOLE} THEN 1 WHEN {_PLAIN} THEN 2 "
        f"ELSE 0 END AS ok FROM ({source} LIMIT -1) LIMIT -1) "
        f"GROUP BY k, customer{''.join(f', g{i}' for i in range(groups))}"
    )
    try:
        rows = db.execute(query, params).fetchall()
    except sqlite3.OperationalError as error:
        if "integer overflow" in str(error):
            return None
        raise
    found: list[tuple[Any, ...]] = []
    for row in rows:
        if row[-1] or any(value is None for value in row[2 : 2 + groups]):
            return None
        total = EXACT.divide(Decimal(row[-3]), _MILLION)
        places = Decimal(1).scaleb(-row[-2])
        found.append((*row[: 2 + groups], total.quantize(places, context=EXACT)))
    return found


def _unreadable(
    event_id: str, meter: Meter, name: str, value: Any, expected: str
) -> EventError:
    return meter_error(
        event_id,
        meter.name,
        name,
        value,
        expected,
        how="reads it; the event was stored without meter checks,"
        " append with meters= to reject such events",
    )
