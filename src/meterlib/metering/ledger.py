"""The durable event ledger: every accepted event in one SQLite file, usage computed inside it.

A :class:`Ledger` stores usage events in an SQLite database (stdlib :mod:`sqlite3`, WAL
journal, no server). :meth:`Ledger.append` stores one batch in one transaction, so a batch is
stored whole or not at all, and reopening after a crash shows exactly the committed batches.
Appends are idempotent: the event id is the key, the first stored copy wins, a later copy with
the same content is a duplicate and one with different content a conflict (its version is kept
in the ``refused`` table and reported with both versions), exactly as the in-memory
:class:`~meterlib.metering.accumulator.Accumulator` decides. :meth:`Ledger.usage` returns the
same :class:`~meterlib.metering.table.UsageTable` the accumulator returns for the same events.

**Schema** (``meterlib.ledger/1``; other engines such as the DuckDB reader may rely on it)::

    batches(batch INTEGER PRIMARY KEY, received_us INTEGER, source TEXT, received INTEGER,
            stored INTEGER, duplicates INTEGER, conflicts INTEGER, rejected INTEGER)
    events(id TEXT UNIQUE, customer TEXT, type TEXT, time_us INTEGER, offset_us INTEGER,
           props TEXT, numbers TEXT, batch INTEGER)
    refused(id TEXT, content TEXT, batch INTEGER, customer TEXT, type TEXT, time_us INTEGER,
            offset_us INTEGER, props TEXT, numbers TEXT)
    ledger_events(rowid, id, customer, type, time, properties, received_at, time_us, batch,
                  received_us): a view in the usual events-table layout, times as ISO 8601
                  UTC text; the DuckDB reader of :mod:`meterlib.sql` can read it

Times are integer POSIX microseconds in UTC (``time_us``), with the offset the event was
written in (``offset_us``) so it reads back as written. ``props`` is a JSON object of every
property value *as text* (:func:`~meterlib.metering.events.value_text`, so never a JSON number
and never a float); ``numbers`` lists the names of the properties that were given as numbers
rather than text (``NULL`` when none), which tells ``5`` from ``"5"`` as the accumulator does.
The receive time of an event is its batch's ``received_us``. ``batches.stored`` is the number
of events the batch added, so a reader can check that every batch is there whole.

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

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, localcontext
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Self, cast

from meterlib._numbers import EXACT, ROUNDED, to_decimal
from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.metering._buckets import EPOCH, PeriodIndex, micros
from meterlib.metering.events import (
    CheckedEvent,
    EventError,
    PropertyValue,
    UsageEvent,
    check_event,
    value_text,
)
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.report import BatchReport, Conflict, Rejection
from meterlib.metering.table import GroupKey, UsageKey, UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = [
    "DEFAULT_LEDGER",
    "LEDGER_FORMAT",
    "BatchRecord",
    "Ledger",
    "LedgerError",
    "StoredEvent",
    "default_ledger_path",
]

#: The schema version written into every ledger's ``meta`` table.
LEDGER_FORMAT = "meterlib.ledger/1"
#: The ledger file the command line uses when neither ``--ledger`` nor ``$METERLIB_LEDGER``
#: names one: in the current directory.
DEFAULT_LEDGER = "meterlib-ledger.sqlite"


def default_ledger_path(environ: Mapping[str, str]) -> Path:
    """``$METERLIB_LEDGER`` when set and not empty, else :data:`DEFAULT_LEDGER`."""
    return Path(environ.get("METERLIB_LEDGER") or DEFAULT_LEDGER)

_MICRO = timedelta(microseconds=1)
_FIELDS = frozenset({"id", "customer", "type", "time", "properties"})
# SQLite limits the number of bound parameters per statement; look-ups go in chunks this size.
_CHUNK = 500
# Decimal texts remembered while aggregating (quantities repeat); bounded, so memory stays flat.
_NUMBER_CACHE = 1 << 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch INTEGER PRIMARY KEY,
    received_us INTEGER NOT NULL,
    source TEXT,
    received INTEGER NOT NULL,
    stored INTEGER NOT NULL,
    duplicates INTEGER NOT NULL,
    conflicts INTEGER NOT NULL,
    rejected INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id TEXT NOT NULL UNIQUE,
    customer TEXT NOT NULL,
    type TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    offset_us INTEGER NOT NULL,
    props TEXT NOT NULL,
    numbers TEXT,
    batch INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_type_time ON events (type, time_us);
CREATE TABLE IF NOT EXISTS refused (
    id TEXT NOT NULL,
    content TEXT NOT NULL,
    batch INTEGER NOT NULL,
    customer TEXT NOT NULL,
    type TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    offset_us INTEGER NOT NULL,
    props TEXT NOT NULL,
    numbers TEXT,
    UNIQUE (id, content)
);
CREATE VIEW IF NOT EXISTS ledger_events AS
    SELECT e.rowid AS rowid, e.id, e.customer, e.type,
           {time} AS time, e.props AS properties, {received} AS received_at,
           e.time_us, e.batch, b.received_us
    FROM events AS e JOIN batches AS b ON b.batch = e.batch;
"""


def _iso_sql(column: str) -> str:
    """SQL for the ISO 8601 UTC text of integer microseconds (no REAL involved).

    The division floors, so times before 1970 read right too.
    """
    micro = f"(({column} % 1000000 + 1000000) % 1000000)"
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', ({column} - {micro}) / 1000000, 'unixepoch')"
        f" || '.' || printf('%06d', {micro}) || 'Z'"
    )


_SCHEMA = _SCHEMA.format(time=_iso_sql("e.time_us"), received=_iso_sql("b.received_us"))

_EVENT_COLUMNS = "id, customer, type, time_us, offset_us, props, numbers"

# The C JSON encoder, called directly: json.dumps builds an encoder per call, which costs more
# than encoding a small object. Keys must be text; ensure_ascii off keeps names readable to
# json_extract paths.
_C_ENCODE = c_make_encoder(
    None, None, encode_basestring, None, ":", ",", False, False, False  # noqa: FBT003  (C API)
)


def _encode(value: Any) -> str:
    """Compact JSON text of a dict or list of strings."""
    return "".join(_C_ENCODE(value, 0))


#: A validated event on the hot path: ``(id, customer, type, time, properties)``.
_Checked = CheckedEvent
#: One stored row: ``(id, customer, type, time_us, offset_us, props, numbers)``.
_Row = tuple[str, str, str, int, int, str, str | None]


class LedgerError(MeterlibError, ValueError):
    """A ledger file cannot be used: not a ledger, another format version, or unreadable."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the ledger holds it: the event, when it was received, and its batch."""

    event: UsageEvent
    received: datetime
    batch: int


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One committed batch: when it was received, from where, and what it did.

    ``stored`` events were added; ``duplicates``, ``conflicts`` and ``rejected`` were not.
    """

    batch: int
    received_at: datetime
    source: str | None
    received: int
    stored: int
    duplicates: int
    conflicts: int
    rejected: int


# -- events and rows ------------------------------------------------------------------------


def _row(checked: _Checked) -> _Row:
    """The stored form of a validated event (times in µs, properties as JSON text)."""
    event_id, customer, kind, moment, props = checked
    offset = moment.utcoffset()
    offset_us = 0 if offset is None else offset // _MICRO
    names: str | None = None
    for value in props.values():
        if type(value) is not str:
            numbers = sorted(k for k, v in props.items() if type(v) is not str)
            names = _encode(numbers)
            props = {k: value_text(v) for k, v in props.items()}
            break
    return event_id, customer, kind, (moment - EPOCH) // _MICRO, offset_us, _encode(props), names


def _props_of(body: str, numbers: str | None) -> dict[str, PropertyValue]:
    props: dict[str, PropertyValue] = json.loads(body)
    if numbers:
        for name in json.loads(numbers):
            props[name] = to_decimal(props[name], f"properties.{name}")
    return props


def _zone(offset_us: int) -> timezone:
    return UTC if offset_us == 0 else timezone(timedelta(microseconds=offset_us))


def _event_of(row: Sequence[Any]) -> UsageEvent:
    """The event a stored row holds, its time in the offset it was written in."""
    event_id, customer, kind, time_us, offset_us, body, numbers = row[:7]
    moment = (EPOCH + timedelta(microseconds=time_us)).astimezone(_zone(offset_us))
    return UsageEvent(
        event_id, customer, kind, moment, MappingProxyType(_props_of(body, numbers))
    )


def _content(checked: _Checked) -> tuple[str, str, int, dict[str, PropertyValue]]:
    """What two copies of an id must share (times as instants, numbers compared as numbers)."""
    return checked[1], checked[2], micros(checked[3]), checked[4]


def _stored_content(row: Sequence[Any]) -> tuple[str, str, int, dict[str, PropertyValue]]:
    return row[1], row[2], row[3], _props_of(row[5], row[6])


def _canonical(row: _Row) -> str:
    """A text that names one version of an event, so each refused version is kept once."""
    props = _props_of(row[5], row[6])
    numbers = {k: _plain(v) for k, v in props.items() if type(v) is not str}
    texts = {k: v for k, v in props.items() if type(v) is str}
    return json.dumps([row[1], row[2], row[3], texts, numbers], sort_keys=True, ensure_ascii=False)


def _plain(value: PropertyValue) -> str:
    """A number's text without trailing zeros, so ``5.0`` and ``5`` name one version."""
    text = value_text(value)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


# -- meters at append time -------------------------------------------------------------------


class _Screen:
    """What an append checks with meters and periods: readable events, and which are outside.

    The rules and messages are the accumulator's, so the two report the same batch alike.
    """

    __slots__ = ("by_type", "index")

    def __init__(
        self,
        meters: Sequence[Meter] | None,
        periods: BillingCycle | Sequence[Period] | None,
        window: Period | None,
    ) -> None:
        self.by_type: dict[str, list[Meter]] | None = None
        if meters is not None:
            _check_meters(meters)
            self.by_type = {}
            for meter in meters:
                self.by_type.setdefault(meter.event_type, []).append(meter)
        self.index: PeriodIndex | None = None
        if periods is not None:
            self.index = _index(periods, window)
        elif window is not None:
            raise InvalidValueError("window", window, "None when no periods are given")

    def read(self, event_id: str, kind: str, props: Mapping[str, PropertyValue]) -> bool:
        """True when a meter reads the event; EventError when one cannot read it."""
        if self.by_type is None:
            return True
        metered = False
        for meter in self.by_type.get(kind, ()):
            if not all(
                props.get(name) is not None and value_text(props[name]) in _accepted(f)
                for name, f in sorted(meter.filters.items())
            ):
                continue
            for name in sorted(set(meter.group_by)):
                _text(event_id, meter, props, name)
            if meter.aggregation is Aggregation.UNIQUE_COUNT:
                _text(event_id, meter, props, meter.property or "")
            elif meter.aggregation is not Aggregation.COUNT:
                _number(event_id, meter, props)
            metered = True
        return metered

    def outside(self, moment: datetime) -> bool:
        """True when no period of interest holds ``moment``."""
        return self.index is not None and self.index.locate(micros(moment)) is None


def _accepted(found: Any) -> tuple[str, ...]:
    return (found.equals,) if found.equals is not None else tuple(found.one_of or ())


def _text(event_id: str, meter: Meter, props: Mapping[str, PropertyValue], name: str) -> str:
    found = props.get(name)
    if found is None:
        raise EventError(
            event_id, f"properties.{name}", None, f"a value (meter {meter.name!r} reads it)"
        )
    return value_text(found)


def _number(event_id: str, meter: Meter, props: Mapping[str, PropertyValue]) -> Decimal:
    name = meter.property or ""
    found = props.get(name)
    if found is None:
        raise EventError(
            event_id, f"properties.{name}", None, f"a decimal value (meter {meter.name!r} reads it)"
        )
    if not isinstance(found, str):
        return found
    try:
        return to_decimal(found, f"properties.{name}")
    except InvalidValueError as error:
        raise EventError(
            event_id,
            f"properties.{name}",
            found,
            f"{error.expected} (meter {meter.name!r} reads it as a number)",
        ) from None


def _check_meters(meters: Any) -> None:
    if not isinstance(meters, Sequence) or not all(isinstance(m, Meter) for m in meters):
        raise InvalidValueError("meters", meters, "a sequence of Meter definitions")
    names = [m.name for m in meters]
    if len(set(names)) != len(names):
        raise InvalidValueError("meters", names, "meters with distinct names")


def _index(periods: BillingCycle | Sequence[Period], window: Period | None) -> PeriodIndex:
    if window is not None and not isinstance(window, Period):
        raise InvalidValueError("window", window, "a Period or None")
    return PeriodIndex(periods, None if window is None else (window.start, window.end))


# -- aggregates registered with SQLite -------------------------------------------------------


class _Aggregates:
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
        if len(self.numbers) < _NUMBER_CACHE:
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


# -- the ledger ------------------------------------------------------------------------------


class Ledger:
    """An SQLite ledger of usage events (see the module docstring); a context manager.

    ``Ledger(path)`` opens the file, creating a new ledger when it does not exist. ``durable``
    (the default) has SQLite sync every commit to disk, so a committed batch survives a power
    loss as well as a crash; ``durable=False`` survives process crashes only, and is faster on
    slow disks.
    """

    def __init__(self, path: str | Path, *, durable: bool = True) -> None:
        """Open (or create) the ledger at ``path``."""
        self.path = Path(path)
        try:
            connection = sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as error:
            raise LedgerError(f"cannot open ledger {str(self.path)!r}: {error}") from None
        self._db = connection
        try:
            self._setup(durable=durable)
        except sqlite3.DatabaseError as error:
            connection.close()
            raise LedgerError(
                f"{str(self.path)!r} is not a meterlib ledger (an SQLite file): {error}"
            ) from None
        except LedgerError:
            connection.close()
            raise
        self._aggregates = _Aggregates()
        self._aggregates.register(connection)

    def _setup(self, *, durable: bool) -> None:
        db = self._db
        db.execute("PRAGMA busy_timeout = 10000")
        fresh = db.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0] == 0
        if fresh:
            db.execute("PRAGMA page_size = 16384")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        db.execute("PRAGMA cache_size = -32000")
        # Sorts for grouping spill to temporary files, not memory: usage of millions of events
        # then needs the page cache and no more (in memory, 5 M events peaked at ~600 MiB).
        db.execute("PRAGMA temp_store = FILE")
        db.execute("BEGIN IMMEDIATE")
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_schema")}
            if tables and "meta" not in tables:
                raise LedgerError(f"{str(self.path)!r} is an SQLite file but not a meterlib ledger")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if found is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", (LEDGER_FORMAT,))
            elif found[0] != LEDGER_FORMAT:
                raise LedgerError(
                    f"ledger {str(self.path)!r} has format {found[0]!r}; "
                    f"this meterlib reads {LEDGER_FORMAT!r}"
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    # -- life cycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database file; committed batches stay."""
        self._db.close()

    def __enter__(self) -> Self:
        """The ledger itself."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Close the ledger."""
        self.close()

    def __repr__(self) -> str:
        """A locale-free summary."""
        return f"Ledger({str(self.path)!r})"

    def __len__(self) -> int:
        """How many distinct events are stored."""
        return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])

    # -- appending -------------------------------------------------------------------------

    def append(  # noqa: PLR0912, PLR0915  (one pass over the batch, kept in one place)
        self,
        events: Iterable[UsageEvent | Mapping[str, Any]],
        *,
        meters: Sequence[Meter] | None = None,
        periods: BillingCycle | Sequence[Period] | None = None,
        window: Period | None = None,
        received_at: datetime | None = None,
        source: str | None = None,
    ) -> BatchReport:
        """Store a batch in one transaction and report where every event went.

        Invalid events are rejected with their reason and stored nowhere; new ids are stored
        with the batch's receive time (``received_at``, now by default); copies of stored ids
        are duplicates or conflicts. With ``meters`` an event a meter cannot read is rejected
        and ``unmetered`` counts new events no meter reads; with ``periods`` (and ``window``)
        new events outside every period of interest are stored and counted as ``outside``.
        Either the whole batch is committed or, on an error, nothing is.
        """
        screen = _Screen(meters, periods, window)
        moment = datetime.now(UTC) if received_at is None else received_at
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidValueError("received_at", received_at, "an aware datetime or None")
        received = 0
        rejected: list[Rejection] = []
        first: dict[str, tuple[int, _Checked, bool, bool]] = {}  # id -> (position, ev, out, met)
        later: list[tuple[int, _Checked]] = []
        rows: list[_Row] = []
        for position, raw in enumerate(events):
            received += 1
            try:
                checked = check_event(raw, copy=False)
                metered = screen.read(checked[0], checked[2], checked[4])
            except InvalidValueError as error:
                rejected.append(Rejection.of(position, raw, error))
                continue
            if checked[0] in first:
                later.append((position, checked))
                continue
            first[checked[0]] = (position, checked, screen.outside(checked[3]), metered)
            rows.append(_row(checked))

        db = self._db
        duplicates = 0
        found: list[tuple[int, Conflict, _Row]] = []  # (position, conflict, refused row)
        accepted = outside = unmetered = 0
        db.execute("BEGIN IMMEDIATE")
        try:
            last = db.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
            batch = db.execute(
                "INSERT INTO batches (received_us, source, received, stored, duplicates, "
                "conflicts, rejected) VALUES (?, ?, ?, 0, 0, 0, 0)",
                (micros(moment), source, received),
            ).lastrowid
            cursor = db.executemany(  # the batch number is an int from SQLite, not input
                f"INSERT OR IGNORE INTO events ({_EVENT_COLUMNS}, batch) "  # noqa: S608
                f"VALUES (?, ?, ?, ?, ?, ?, ?, {int(batch or 0)})",
                rows,
            )
            stored: dict[str, Sequence[Any]] = {}
            if cursor.rowcount != len(rows):
                stored = self._stored(
                    self._not_added(first, last, cursor.rowcount), int(batch or 0)
                )
            with localcontext(EXACT):
                for event_id, (position, checked, out, metered) in first.items():
                    row = stored.get(event_id)
                    if row is None:
                        if out:
                            outside += 1
                        else:
                            accepted += 1
                            unmetered += not metered
                    elif _stored_content(row) == _content(checked):
                        duplicates += 1
                    else:
                        found.append((position, Conflict(_event_of(row), _event(checked)),
                                      _row(checked)))
                for position, checked in later:
                    known = stored.get(checked[0])
                    if known is not None:
                        same = _stored_content(known) == _content(checked)
                        winner = _event_of(known)
                    else:
                        original = first[checked[0]][1]
                        same = _content(original) == _content(checked)
                        winner = _event(original)
                    if same:
                        duplicates += 1
                    else:
                        found.append((position, Conflict(winner, _event(checked)), _row(checked)))
            found.sort(key=lambda item: item[0])
            db.executemany(  # the batch number is an int from SQLite, not input
                f"INSERT OR IGNORE INTO refused (content, batch, {_EVENT_COLUMNS}) "  # noqa: S608
                f"VALUES (?, {int(batch or 0)}, ?, ?, ?, ?, ?, ?, ?)",
                [(_canonical(row), *row) for _, _, row in found],
            )
            db.execute(
                "UPDATE batches SET stored = ?, duplicates = ?, conflicts = ?, rejected = ? "
                "WHERE batch = ?",
                (accepted + outside, duplicates, len(found), len(rejected), batch),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return BatchReport(
            received=received,
            accepted=accepted,
            duplicates=duplicates,
            outside=outside,
            unmetered=unmetered,
            conflicts=tuple(conflict for _, conflict, _ in found),
            rejected=tuple(rejected),
        )

    def _not_added(self, first: Mapping[str, Any], last: int, added: int) -> list[str]:
        """The ids of ``first`` this batch did not add (stored before), in order.

        New rows get rowids above ``last``, the highest before the batch (events are never
        deleted), so one range read tells which ids the batch added; look-ups by id are then
        needed only for the few it did not. Should the count disagree, every id is looked up.
        """
        added_ids = {
            row[0] for row in self._db.execute("SELECT id FROM events WHERE rowid > ?", (last,))
        }
        if len(added_ids) != added:
            return list(first)
        return [event_id for event_id in first if event_id not in added_ids]

    def _stored(self, ids: list[str], batch: int) -> dict[str, Sequence[Any]]:
        """Rows of ``ids`` stored by earlier batches (the ones this batch did not add)."""
        stored: dict[str, Sequence[Any]] = {}
        for start in range(0, len(ids), _CHUNK):
            part = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(part))
            query = (
                f"SELECT {_EVENT_COLUMNS} FROM events "  # noqa: S608  (only ? placeholders)
                f"WHERE batch != ? AND id IN ({marks})"
            )
            for row in self._db.execute(query, (batch, *part)):
                stored[row[0]] = row
        return stored

    # -- reading ---------------------------------------------------------------------------

    def batches(self) -> list[BatchRecord]:
        """Every committed batch, oldest first."""
        rows = self._db.execute(
            "SELECT batch, received_us, source, received, stored, duplicates, conflicts, "
            "rejected FROM batches ORDER BY batch"
        ).fetchall()
        return [
            BatchRecord(r[0], _instant(r[1]), r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows
        ]

    def events(self, *, customer: str | None = None) -> Iterator[StoredEvent]:
        """Every stored event in the order it was stored (streamed, not loaded at once)."""
        query = (
            f"SELECT {_prefixed()}, e.batch, b.received_us FROM events AS e "  # noqa: S608
            "JOIN batches AS b ON b.batch = e.batch"
        )
        params: tuple[Any, ...] = ()
        if customer is not None:
            query += " WHERE e.customer = ?"
            params = (customer,)
        for row in self._db.execute(query + " ORDER BY e.rowid", params):
            yield StoredEvent(_event_of(row), _instant(row[8]), row[7])

    def refused(self) -> list[Conflict]:
        """Every refused version of an id, with the version that counts, ordered by id."""
        rows = self._db.execute(
            f"SELECT {_prefixed('r')}, {_prefixed('e')} FROM refused AS r "  # noqa: S608
            "JOIN events AS e ON e.id = r.id ORDER BY r.id, r.rowid"
        ).fetchall()
        return [Conflict(_event_of(row[7:]), _event_of(row[:7])) for row in rows]

    def late_events(
        self, period: Period, after: datetime, *, customer: str | None = None
    ) -> list[StoredEvent]:
        """Events in ``period`` that were received after ``after`` (late usage).

        Back-billing uses them to find periods whose usage grew after they were invoiced.
        Ordered by receive time, then event time and id.
        """
        if not isinstance(period, Period):
            raise InvalidValueError("period", period, "a Period")
        if not isinstance(after, datetime) or after.utcoffset() is None:
            raise InvalidValueError("after", after, "an aware datetime")
        query = (
            f"SELECT {_prefixed()}, e.batch, b.received_us FROM events AS e "  # noqa: S608
            "JOIN batches AS b ON b.batch = e.batch "
            "WHERE e.time_us >= ? AND e.time_us < ? AND b.received_us > ?"
        )
        params: list[Any] = [micros(period.start), micros(period.end), micros(after)]
        if customer is not None:
            query += " AND e.customer = ?"
            params.append(customer)
        query += " ORDER BY b.received_us, e.time_us, e.id"
        return [
            StoredEvent(_event_of(row), _instant(row[8]), row[7])
            for row in self._db.execute(query, params)
        ]

    # -- usage -----------------------------------------------------------------------------

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
        _check_meters(meters)
        index = _index(periods, window)
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
        where = ["e.type = ?"]
        where_params: list[Any] = [meter.event_type]
        for name, condition in sorted(meter.filters.items()):
            accepted = _accepted(condition)
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
            f"ON e.time_us >= p.lo AND e.time_us < p.hi {join}"
            f"WHERE {' AND '.join(where)} GROUP BY {grouping}"
        )
        aggregates = self._aggregates
        aggregates.problems.clear()
        rows = self._db.execute(query, [*select_params, *value_params, *where_params]).fetchall()
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
                figure = ROUNDED.divide(figure, Decimal(end - start))
            group: GroupKey = tuple(zip(groups, row[2:width], strict=True))
            values[UsageKey(who, meter.name, index.period(key), group)] = figure


def _unreadable(
    event_id: str, meter: Meter, name: str, value: Any, expected: str
) -> EventError:
    return EventError(
        event_id,
        f"properties.{name}",
        value,
        f"{expected} (meter {meter.name!r} reads it; the event was stored without meter checks,"
        " append with meters= to reject such events)",
    )


def _prefixed(table: str = "e") -> str:
    return ", ".join(f"{table}.{c.strip()}" for c in _EVENT_COLUMNS.split(","))


def _instant(time_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=time_us)


def _event(checked: _Checked) -> UsageEvent:
    event_id, customer, kind, moment, props = checked
    return UsageEvent(event_id, customer, kind, moment, MappingProxyType(dict(props)))
