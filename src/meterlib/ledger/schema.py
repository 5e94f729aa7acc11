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
ledger of this format with a :class:`LedgerFormatError`, before writing anything to it.

**Storage faults** are named errors, subclasses of :class:`LedgerError` (the command line exits
with status 3 on any of them): :class:`LedgerFormatError` (not a ledger, another format),
:class:`LedgerBusyError` (another process held the lock longer than the busy timeout; it names
the process when ``/proc/locks`` shows it) and :class:`LedgerCorruptError` (damaged pages).
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from meterlib.errors import MeterlibError

__all__ = [
    "BUSY_TIMEOUT",
    "DEFAULT_LEDGER",
    "EVENT_COLUMNS",
    "LEDGER_FORMAT",
    "SCHEMA_SQL",
    "LedgerBusyError",
    "LedgerCorruptError",
    "LedgerError",
    "LedgerFormatError",
    "connect",
    "default_ledger_path",
    "iso_sql",
    "lock_holders",
    "storage_fault",
    "storage_faults",
]

#: The schema version written into every ledger's ``meta`` table.
LEDGER_FORMAT = "meterlib.ledger/1"
#: The ledger file the command line uses when neither ``--ledger`` nor ``$METERLIB_LEDGER``
#: names one: in the current directory.
DEFAULT_LEDGER = "meterlib-ledger.sqlite"
#: Seconds a ledger waits for another process's lock before :class:`LedgerBusyError`.
BUSY_TIMEOUT = 10.0

_MAGIC = b"SQLite format 3\x00"
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26
_COMMAND_WIDTH = 80

L = TypeVar("L", bound="Located")
P = ParamSpec("P")
R = TypeVar("R")
#: The stored columns of an event, in the order of :data:`meterlib.ledger.rows.Row`.
EVENT_COLUMNS = "id, customer, type, time_us, offset_us, props, numbers"


class LedgerError(MeterlibError, ValueError):
    """A ledger file cannot be used (a storage fault): the command line exits with status 3."""


class LedgerFormatError(LedgerError):
    """The file is not a meterlib ledger (not SQLite, another application's, another format)."""


class LedgerCorruptError(LedgerError):
    """The ledger file is damaged (SQLite finds malformed pages); nothing is written to it."""


class LedgerBusyError(LedgerError):
    """Another process held the ledger's lock for longer than the busy timeout.

    ``holders`` lists the ids of the processes found holding a write lock on the ledger's files
    (from ``/proc/locks``; empty where that cannot be read).
    """

    def __init__(self, path: Path, timeout: float, holders: tuple[int, ...]) -> None:
        """The error for ``path`` after waiting ``timeout`` seconds."""
        self.path = path
        self.timeout = timeout
        self.holders = holders
        if holders:
            who = ", ".join(f"process {pid}{_command_of(pid)}" for pid in holders)
            held = f"held by {who}"
        else:
            held = "held by another process"
        super().__init__(
            f"ledger {str(path)!r} is busy: its lock was {held} for more than {timeout:g} s "
            "(--busy-timeout / $METERLIB_BUSY_TIMEOUT, or Ledger(timeout=...)); nothing was "
            "written, try again when it is free"
        )


def storage_fault(path: Path, error: sqlite3.Error, timeout: float) -> LedgerError:
    """The named ledger error for an SQLite error met while using the ledger at ``path``."""
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    text = str(error)
    if code in {_SQLITE_BUSY, _SQLITE_LOCKED} or "database is locked" in text:
        return LedgerBusyError(path, timeout, lock_holders(path))
    if code == _SQLITE_NOTADB or "file is not a database" in text:
        return LedgerFormatError(f"{str(path)!r} is not a meterlib ledger: {text}")
    if code == _SQLITE_CORRUPT or "malformed" in text:
        return LedgerCorruptError(
            f"ledger {str(path)!r} is damaged ({text}); nothing more is written to it: "
            "restore it from a copy ('meterlib verify --ledger' tells what is wrong)"
        )
    return LedgerError(f"ledger {str(path)!r} cannot be used: {text}")


class Located(Protocol):
    """An open ledger, as :func:`guarded` sees it."""

    path: Path
    timeout: float


def guarded(
    method: Callable[Concatenate[L, P], R],
) -> Callable[Concatenate[L, P], R]:
    """A ledger method whose SQLite errors become named ledger errors (:func:`storage_fault`)."""

    @functools.wraps(method)
    def wrapper(self: L, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise storage_fault(self.path, error, self.timeout) from None

    return wrapper


@contextmanager
def storage_faults(path: Path, timeout: float) -> Iterator[None]:
    """Turn SQLite errors inside the block into named ledger errors."""
    try:
        yield
    except sqlite3.Error as error:
        raise storage_fault(path, error, timeout) from None


def lock_holders(path: Path) -> tuple[int, ...]:
    """Ids of other processes holding a write lock on the ledger, its ``-wal`` or ``-shm`` file.

    Read from ``/proc/locks`` (Linux); empty when it cannot be read or names none.
    """
    files: set[tuple[int, int, int]] = set()
    for name in (str(path), f"{path}-wal", f"{path}-shm"):
        try:
            info = Path(name).stat()
        except OSError:
            continue
        files.add((os.major(info.st_dev), os.minor(info.st_dev), info.st_ino))
    try:
        text = Path("/proc/locks").read_text(encoding="ascii", errors="replace")
    except OSError:
        return ()
    found: set[int] = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 6 or "->" in fields or fields[3] != "WRITE":
            continue
        try:
            pid = int(fields[4])
            major, minor, inode = fields[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
        if key in files and pid != os.getpid():
            found.add(pid)
    return tuple(sorted(found))


def _command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    words = raw.rstrip(b"\0").split(b"\0")
    text = " ".join(w.decode("utf-8", errors="replace") for w in words)
    if len(text) > _COMMAND_WIDTH:
        text = text[: _COMMAND_WIDTH - 3] + "..."
    return f" ({text})" if text else ""


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
# What a ledger holds; an existing file missing any of it is completed at open.
_NAMES = frozenset(re.findall(r"IF NOT EXISTS (\w+)", SCHEMA_SQL))


def connect(
    path: Path, *, durable: bool = True, timeout: float = BUSY_TIMEOUT
) -> sqlite3.Connection:
    """Open (or create) the ledger at ``path``, waiting up to ``timeout`` seconds for a lock.

    A file that is not a meterlib ledger of this format is refused with a
    :class:`LedgerFormatError` before anything is written to it; a busy file raises
    :class:`LedgerBusyError` and a damaged one :class:`LedgerCorruptError`.
    """
    _check_header(path)
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    except sqlite3.Error as error:
        raise storage_fault(path, error, timeout) from None
    try:
        db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        _setup(db, path, durable=durable)
    except sqlite3.Error as error:
        db.close()
        raise storage_fault(path, error, timeout) from None
    except BaseException:
        db.close()
        raise
    return db


def _check_header(path: Path) -> None:
    """Refuse an existing file that does not start as an SQLite database does."""
    try:
        with path.open("rb") as file:
            head = file.read(len(_MAGIC))
    except FileNotFoundError:
        return
    except OSError as error:
        raise LedgerError(f"cannot open ledger {str(path)!r}: {error}") from None
    if head and head != _MAGIC:
        raise LedgerFormatError(
            f"{str(path)!r} is not a meterlib ledger (not an SQLite file); nothing was written"
        )


def _setup(db: sqlite3.Connection, path: Path, *, durable: bool) -> None:
    """Check the file is a ledger of this format, then create what is missing (a new file).

    Everything is read before anything is written, so a foreign or newer file stays untouched,
    and opening an existing ledger needs no write lock (a busy writer does not block readers).
    """
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_schema")}
    if names and "meta" not in names:
        raise LedgerFormatError(
            f"{str(path)!r} is an SQLite file but not a meterlib ledger; nothing was written"
        )
    if "meta" in names:
        _check_format(db, path)
    else:
        db.execute("PRAGMA page_size = 16384")
    db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
    db.execute("PRAGMA cache_size = -32000")
    # Sorts for grouping spill to temporary files, not memory: usage of millions of events
    # then needs the page cache and no more (in memory, 5 M events peaked at ~600 MiB).
    db.execute("PRAGMA temp_store = FILE")
    if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        db.execute("PRAGMA journal_mode = WAL")
    if names >= _NAMES:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in SCHEMA_SQL.split(";"):
            if statement.strip():
                db.execute(statement)
        if db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone() is None:
            db.execute("INSERT INTO meta VALUES ('format', ?)", (LEDGER_FORMAT,))
        _check_format(db, path)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _check_format(db: sqlite3.Connection, path: Path) -> None:
    found = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
    if found is not None and found[0] != LEDGER_FORMAT:
        raise LedgerFormatError(
            f"ledger {str(path)!r} has format {found[0]!r}; this meterlib reads "
            f"{LEDGER_FORMAT!r} (nothing was written)"
        )
