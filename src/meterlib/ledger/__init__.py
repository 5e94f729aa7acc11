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

from pathlib import Path
from types import TracebackType
from typing import Self

from meterlib.ledger.events import BatchRecord, EventStore, StoredEvent
from meterlib.ledger.schema import (
    DEFAULT_LEDGER,
    LEDGER_FORMAT,
    LedgerError,
    connect,
    default_ledger_path,
)
from meterlib.ledger.usage import Aggregates, UsageQueries

__all__ = [
    "DEFAULT_LEDGER",
    "LEDGER_FORMAT",
    "BatchRecord",
    "Ledger",
    "LedgerError",
    "StoredEvent",
    "default_ledger_path",
]


class Ledger(EventStore, UsageQueries):
    """An SQLite ledger of usage events (see the module docstring); a context manager.

    ``Ledger(path)`` opens the file, creating a new ledger when it does not exist. ``durable``
    (the default) has SQLite sync every commit to disk, so a committed batch survives a power
    loss as well as a crash; ``durable=False`` survives process crashes only, and is faster on
    slow disks.
    """

    def __init__(self, path: str | Path, *, durable: bool = True) -> None:
        """Open (or create) the ledger at ``path``."""
        self.path = Path(path)
        self._db = connect(self.path, durable=durable)
        self._aggregates = Aggregates()
        self._aggregates.register(self._db)

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
