"""Storing events in the ledger and reading them back: append, events, refusals, late usage.

:meth:`EventStore.append` stores one batch in one transaction, so a batch is stored whole or
not at all, and reopening after a crash shows exactly the committed batches. Appends are
idempotent: the event id is the key, the first stored copy wins, a later copy with the same
content is a duplicate and one with different content a conflict (its version is kept in the
``refused`` table and reported with both versions), exactly as the in-memory
:class:`~meterlib.metering.accumulator.Accumulator` decides. Every event is checked by
:func:`~meterlib.metering.events.check_event` and, when meters are given, read by
:func:`~meterlib.metering.reading.read_event`, the rules every engine shares.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError
from meterlib.ledger.rows import (
    Row,
    canonical,
    checked_event,
    content,
    event_of,
    instant,
    prefixed,
    stored_content,
    to_row,
)
from meterlib.ledger.schema import EVENT_COLUMNS, guarded, storage_faults
from meterlib.metering._buckets import PeriodIndex, micros, periods_of_interest
from meterlib.metering.events import CheckedEvent, PropertyValue, UsageEvent, check_event
from meterlib.metering.meters import Meter
from meterlib.metering.reading import MeterReader, check_meters, read_event
from meterlib.metering.report import BatchReport, Conflict, Rejection
from meterlib.periods import BillingCycle, Period

__all__ = ["BatchRecord", "EventStore", "Screen", "StoredEvent", "sort_batch"]

# SQLite limits the number of bound parameters per statement; look-ups go in chunks this size.
_CHUNK = 500


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


class Screen:
    """What an append checks with meters and periods: readable events, and which are outside.

    Meters read events through :func:`~meterlib.metering.reading.read_event`, as the
    accumulator does, so the two report the same batch alike.
    """

    __slots__ = ("by_type", "index", "numbers")

    def __init__(
        self,
        meters: Sequence[Meter] | None,
        periods: BillingCycle | Sequence[Period] | None,
        window: Period | None,
    ) -> None:
        """Check with ``meters`` (when given) and the periods of interest (when given)."""
        self.by_type: dict[str, list[MeterReader]] | None = None
        self.numbers: dict[str, Decimal] = {}
        if meters is not None:
            check_meters(meters)
            self.by_type = {}
            for position, meter in enumerate(meters):
                self.by_type.setdefault(meter.event_type, []).append(
                    MeterReader(position, meter)
                )
        self.index: PeriodIndex | None = None
        if periods is not None:
            self.index = periods_of_interest(periods, window)
        elif window is not None:
            raise InvalidValueError("window", window, "None when no periods are given")

    def read(self, event_id: str, kind: str, props: Mapping[str, PropertyValue]) -> bool:
        """True when a meter reads the event; EventError when one cannot read it."""
        if self.by_type is None:
            return True
        readers = self.by_type.get(kind)
        return bool(readers) and bool(read_event(readers or (), event_id, props, self.numbers))

    def outside(self, moment: datetime) -> bool:
        """True when no period of interest holds ``moment``."""
        return self.index is not None and self.index.locate(micros(moment)) is None

    def batch(self, events: Iterable[Any]) -> tuple[
        int,
        list[Rejection],
        dict[str, tuple[int, CheckedEvent, bool, bool]],
        list[tuple[int, CheckedEvent]],
        list[Row],
    ]:
        """One pass over a batch, before any storage (both ledgers' appends).

        Returns the count received, the rejections, each id's first copy as ``(position,
        event, outside, metered)``, the later copies within the batch, and the first copies'
        rows to store.
        """
        received = 0
        rejected: list[Rejection] = []
        first: dict[str, tuple[int, CheckedEvent, bool, bool]] = {}
        later: list[tuple[int, CheckedEvent]] = []
        rows: list[Row] = []
        for position, raw in enumerate(events):
            received += 1
            try:
                checked = check_event(raw, copy=False)
                metered = self.read(checked[0], checked[2], checked[4])
            except InvalidValueError as error:
                rejected.append(Rejection.of(position, raw, error))
                continue
            if checked[0] in first:
                later.append((position, checked))
                continue
            first[checked[0]] = (position, checked, self.outside(checked[3]), metered)
            rows.append(to_row(checked))
        return received, rejected, first, later, rows


class EventStore:
    """Appending to and reading from the ledger's tables (see the module docstring)."""

    _db: sqlite3.Connection
    path: Path
    timeout: float

    # -- appending -------------------------------------------------------------------------

    @guarded
    def append(
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
        screen = Screen(meters, periods, window)
        moment = datetime.now(UTC) if received_at is None else received_at
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidValueError("received_at", received_at, "an aware datetime or None")
        received, rejected, first, later, rows = screen.batch(events)

        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            last = db.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
            batch = db.execute(
                "INSERT INTO batches (received_us, source, received, stored, duplicates, "
                "conflicts, rejected) VALUES (?, ?, ?, 0, 0, 0, 0)",
                (micros(moment), source, received),
            ).lastrowid
            cursor = db.executemany(  # the batch number is an int from SQLite, not input
                f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}, batch) "  # noqa: S608
                f"VALUES (?, ?, ?, ?, ?, ?, ?, {int(batch or 0)})",
                rows,
            )
            stored: dict[str, Sequence[Any]] = {}
            if cursor.rowcount != len(rows):
                stored = self._stored(
                    self._not_added(first, last, cursor.rowcount), int(batch or 0)
                )
            accepted, outside, unmetered, duplicates, found = sort_batch(first, later, stored)
            self._finish(int(batch or 0), found, accepted + outside, duplicates, len(rejected))
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

    @guarded
    def append_rows(
        self, table: Any, *, received_at: datetime | None = None, source: str | None = None
    ) -> BatchReport:
        """Store a batch of valid events given as stored rows in columns, in one transaction.

        ``table`` is the ``table`` of a :class:`~meterlib.ledger.blocks.ColumnBlock` (what the
        columnar reader makes of a plain block; it needs pyarrow). The same decisions and
        report as :meth:`append` of the same events, without meters or periods.
        """
        from meterlib.ledger.bulk import repeated, sort_rows, to_rows  # noqa: PLC0415  (pyarrow)

        moment = datetime.now(UTC) if received_at is None else received_at
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidValueError("received_at", received_at, "an aware datetime or None")
        rows = to_rows(table)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            last = db.execute("SELECT coalesce(max(rowid), 0) FROM events").fetchone()[0]
            batch = int(db.execute(
                "INSERT INTO batches (received_us, source, received, stored, duplicates, "
                "conflicts, rejected) VALUES (?, ?, ?, 0, 0, 0, 0)",
                (micros(moment), source, len(rows)),
            ).lastrowid or 0)
            cursor = db.executemany(  # the batch number is an int from SQLite, not input
                f"INSERT OR IGNORE INTO events ({EVENT_COLUMNS}, batch) "  # noqa: S608
                f"VALUES (?, ?, ?, ?, ?, ?, ?, {batch})",
                rows,
            )
            stored: dict[str, Sequence[Any]] = {}
            again: list[str] = []
            if cursor.rowcount != len(rows):
                ids = dict.fromkeys(row[0] for row in rows)
                stored = self._stored(self._not_added(ids, last, cursor.rowcount), batch)
                if len(ids) != len(rows):
                    again = repeated(table)
            found = sort_rows(table, stored, again)
            self._finish(batch, found.found, found.accepted, found.duplicates, 0)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return found.report()

    def _finish(
        self, batch: int, found: list[tuple[int, Conflict, Row]], stored: int, duplicates: int,
        rejected: int,
    ) -> None:
        """Keep the refused versions and write the batch's counts (inside its transaction)."""
        self._db.executemany(  # the batch number is an int from SQLite, not input
            f"INSERT OR IGNORE INTO refused (content, batch, {EVENT_COLUMNS}) "  # noqa: S608
            f"VALUES (?, {int(batch)}, ?, ?, ?, ?, ?, ?, ?)",
            [(canonical(row), *row) for _, _, row in found],
        )
        self._db.execute(
            "UPDATE batches SET stored = ?, duplicates = ?, conflicts = ?, rejected = ? "
            "WHERE batch = ?",
            (stored, duplicates, len(found), rejected, batch),
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
                f"SELECT {EVENT_COLUMNS} FROM events "  # noqa: S608  (only ? placeholders)
                f"WHERE batch != ? AND id IN ({marks})"
            )
            for row in self._db.execute(query, (batch, *part)):
                stored[row[0]] = row
        return stored

    # -- reading ---------------------------------------------------------------------------

    @guarded
    def batches(self) -> list[BatchRecord]:
        """Every committed batch, oldest first."""
        rows = self._db.execute(
            "SELECT batch, received_us, source, received, stored, duplicates, conflicts, "
            "rejected FROM batches ORDER BY batch"
        ).fetchall()
        return [
            BatchRecord(r[0], instant(r[1]), r[2], r[3], r[4], r[5], r[6], r[7]) for r in rows
        ]

    def events(self, *, customer: str | None = None) -> Iterator[StoredEvent]:
        """Every stored event in the order it was stored (streamed, not loaded at once)."""
        query = (
            f"SELECT {prefixed()}, e.batch, b.received_us FROM events AS e "  # noqa: S608
            "JOIN batches AS b ON b.batch = e.batch"
        )
        params: tuple[Any, ...] = ()
        if customer is not None:
            query += " WHERE e.customer = ?"
            params = (customer,)
        with storage_faults(self.path, self.timeout):
            for row in self._db.execute(query + " ORDER BY e.rowid", params):
                yield StoredEvent(event_of(row), instant(row[8]), row[7])

    @guarded
    def refused(self) -> list[Conflict]:
        """Every refused version of an id, with the version that counts, ordered by id."""
        rows = self._db.execute(
            f"SELECT {prefixed('r')}, {prefixed('e')} FROM refused AS r "  # noqa: S608
            "JOIN events AS e ON e.id = r.id ORDER BY r.id, r.rowid"
        ).fetchall()
        return [Conflict(event_of(row[7:]), event_of(row[:7])) for row in rows]

    @guarded
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
            f"SELECT {prefixed()}, e.batch, b.received_us FROM events AS e "  # noqa: S608
            "JOIN batches AS b ON b.batch = e.batch "
            "WHERE e.time_us >= ? AND e.time_us < ? AND b.received_us > ?"
        )
        params: list[Any] = [micros(period.start), micros(period.end), micros(after)]
        if customer is not None:
            query += " AND e.customer = ?"
            params.append(customer)
        query += " ORDER BY b.received_us, e.time_us, e.id"
        return [
            StoredEvent(event_of(row), instant(row[8]), row[7])
            for row in self._db.execute(query, params)
        ]


def sort_batch(
    first: Mapping[str, tuple[int, CheckedEvent, bool, bool]],
    later: Sequence[tuple[int, CheckedEvent]],
    stored: Mapping[str, Sequence[Any]],
) -> tuple[int, int, int, int, list[tuple[int, Conflict, Row]]]:
    """Where each event of a batch goes, against the rows stored before it (every backend).

    ``first`` maps each id's first copy in the batch to ``(position, event, outside, metered)``,
    ``later`` lists the batch's further copies, ``stored`` the rows of ids stored by earlier
    batches. Returns ``(accepted, outside, unmetered, duplicates, conflicts)``, the conflicts as
    ``(position, conflict, refused row)`` in batch order.
    """
    accepted = outside = unmetered = duplicates = 0
    found: list[tuple[int, Conflict, Row]] = []
    with localcontext(EXACT):
        for event_id, (position, checked, out, metered) in first.items():
            row = stored.get(event_id)
            if row is None:
                if out:
                    outside += 1
                else:
                    accepted += 1
                    unmetered += not metered
            elif stored_content(row) == content(checked):
                duplicates += 1
            else:
                found.append((position, Conflict(event_of(row), checked_event(checked)),
                              to_row(checked)))
        for position, checked in later:
            known = stored.get(checked[0])
            if known is not None:
                same = stored_content(known) == content(checked)
                winner = event_of(known)
            else:
                original = first[checked[0]][1]
                same = content(original) == content(checked)
                winner = checked_event(original)
            if same:
                duplicates += 1
            else:
                found.append((position, Conflict(winner, checked_event(checked)), to_row(checked)))
    found.sort(key=lambda item: item[0])
    return accepted, outside, unmetered, duplicates, found
