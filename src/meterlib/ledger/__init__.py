"""The durable event ledger: every accepted event in one SQLite file, usage computed inside it.

A :class:`Ledger` stores usage events in an SQLite database (stdlib :mod:`sqlite3`, WAL
journal, no server). :meth:`Ledger.append` stores one batch in one transaction, so a batch is
stored whole or not at all, and reopening after a crash shows exactly the committed batches.
Appends are idempotent (the event id is the key, the first stored copy wins), exactly as the
in-memory :class:`~meterlib.metering.accumulator.Accumulator` decides, and :meth:`Ledger.usage`
returns the same :class:`~meterlib.metering.table.UsageTable` the accumulator returns for the
same events. :func:`~meterlib.ledger.ingest.ingest_files` stores whole files, batch by batch.

The parts: :mod:`.schema` (the file, its format and opening it), :mod:`.rows` (an event as a
row), :mod:`.events` (append, stored events, refusals, late usage), :mod:`.usage` (the SQL usage
queries and exact aggregates), :mod:`.ingest` (files into a ledger).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Self

from meterlib.errors import InvalidValueError
from meterlib.ledger.events import BatchRecord, EventStore, StoredEvent
from meterlib.ledger.schema import (
    BUSY_TIMEOUT,
    DEFAULT_LEDGER,
    LEDGER_FORMAT,
    LedgerBusyError,
    LedgerCorruptError,
    LedgerError,
    LedgerFormatError,
    connect,
    default_ledger_path,
    guarded,
)
from meterlib.ledger.usage import Aggregates, UsageQueries

__all__ = [
    "BUSY_TIMEOUT",
    "DEFAULT_LEDGER",
    "LEDGER_FORMAT",
    "BatchRecord",
    "Ledger",
    "LedgerBusyError",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerFormatError",
    "StoredEvent",
    "default_ledger_path",
]

# A day: longer waits are a mistake (SQLite takes the timeout in milliseconds as an int).
_MAX_TIMEOUT = 86_400


class Ledger(EventStore, UsageQueries):
    """An SQLite ledger of usage events (see the module docstring); a context manager.

    ``Ledger(path)`` opens the file, creating a new ledger when it does not exist. ``durable``
    (the default) has SQLite sync every commit to disk, so a committed batch survives a power
    loss as well as a crash; ``durable=False`` survives process crashes only, and is faster on
    slow disks.
    """

    def __init__(
        self, path: str | Path, *, durable: bool = True, timeout: float = BUSY_TIMEOUT
    ) -> None:
        """Open (or create) the ledger at ``path``; wait up to ``timeout`` s for a busy lock."""
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, int | float | Decimal)
            or not 0 <= timeout <= _MAX_TIMEOUT
        ):
            raise InvalidValueError(
                "timeout", timeout, f"a number of seconds from 0 to {_MAX_TIMEOUT}"
            )
        self.path = Path(path)
        self.timeout = float(timeout)
        self._db = connect(self.path, durable=durable, timeout=self.timeout)
        self._aggregates = Aggregates()
        self._aggregates.register(self._db)

    @guarded
    def check(self) -> None:
        """Raise :class:`LedgerCorruptError` when SQLite's quick check finds damage.

        Reads every page once (cost grows with the file); ``ingest_files`` runs it before it
        writes, so a damaged ledger is refused before anything is added to it.
        """
        found = [row[0] for row in self._db.execute("PRAGMA quick_check")]
        if found != ["ok"]:
            raise LedgerCorruptError(
                f"ledger {str(self.path)!r} is damaged ({'; '.join(found[:3])}); nothing was "
                "written: restore it from a copy ('meterlib verify --ledger' tells what is wrong)"
            )

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

    @guarded
    def __len__(self) -> int:
        """How many distinct events are stored."""
        return int(self._db.execute("SELECT count(*) FROM events").fetchone()[0])
