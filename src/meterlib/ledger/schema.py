"""The ledger file: its schema and format, and opening or creating one safely.

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

:func:`connect` opens a file, creates the schema in a new one and refuses anything that is not a
ledger of this format with a :class:`LedgerError`, before writing anything to it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

from meterlib.errors import MeterlibError

__all__ = [
    "DEFAULT_LEDGER",
    "EVENT_COLUMNS",
    "LEDGER_FORMAT",
    "SCHEMA_SQL",
    "LedgerError",
    "connect",
    "default_ledger_path",
    "iso_sql",
]

#: The schema version written into every ledger's ``meta`` table.
LEDGER_FORMAT = "meterlib.ledger/1"
#: The ledger file the command line uses when neither ``--ledger`` nor ``$METERLIB_LEDGER``
#: names one: in the current directory.
DEFAULT_LEDGER = "meterlib-ledger.sqlite"
#: The stored columns of an event, in the order of :data:`meterlib.ledger.rows.Row`.
EVENT_COLUMNS = "id, customer, type, time_us, offset_us, props, numbers"


class LedgerError(MeterlibError, ValueError):
    """A ledger file cannot be used: not a ledger, another format version, or unreadable."""


def default_ledger_path(environ: Mapping[str, str]) -> Path:
    """``$METERLIB_LEDGER`` when set and not empty, else :data:`DEFAULT_LEDGER`."""
    return Path(environ.get("METERLIB_LEDGER") or DEFAULT_LEDGER)


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


def iso_sql(column: str) -> str:
    """SQL for the ISO 8601 UTC text of integer microseconds (no REAL involved).

    The division floors, so times before 1970 read right too.
    """
    micro = f"(({column} % 1000000 + 1000000) % 1000000)"
    return (
        f"strftime('%Y-%m-%dT%H:%M:%S', ({column} - {micro}) / 1000000, 'unixepoch')"
        f" || '.' || printf('%06d', {micro}) || 'Z'"
    )


SCHEMA_SQL = _SCHEMA.format(time=iso_sql("e.time_us"), received=iso_sql("b.received_us"))


def connect(path: Path, *, durable: bool = True) -> sqlite3.Connection:
    """Open (or create) the ledger at ``path``; LedgerError when it is not a usable ledger."""
    try:
        db = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as error:
        raise LedgerError(f"cannot open ledger {str(path)!r}: {error}") from None
    try:
        _setup(db, path, durable=durable)
    except sqlite3.DatabaseError as error:
        db.close()
        raise LedgerError(
            f"{str(path)!r} is not a meterlib ledger (an SQLite file): {error}"
        ) from None
    except BaseException:
        db.close()
        raise
    return db


def _setup(db: sqlite3.Connection, path: Path, *, durable: bool) -> None:
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
            raise LedgerError(f"{str(path)!r} is an SQLite file but not a meterlib ledger")
        for statement in SCHEMA_SQL.split(";"):
            if statement.strip():
                db.execute(statement)
        found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found is None:
            db.execute("INSERT INTO meta VALUES ('format', ?)", (LEDGER_FORMAT,))
        elif found[0] != LEDGER_FORMAT:
            raise LedgerError(
                f"ledger {str(path)!r} has format {found[0]!r}; "
                f"this meterlib reads {LEDGER_FORMAT!r}"
            )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise

