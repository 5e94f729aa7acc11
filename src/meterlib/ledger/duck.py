"""A ledger in one DuckDB file: the SQLite ledger's API and guarantees, for large volumes.

:class:`DuckLedger` stores the same events as :class:`~meterlib.ledger.Ledger` and answers
the same calls (``append`` with the same :class:`~meterlib.metering.report.BatchReport`,
``usage`` with the same :class:`~meterlib.metering.table.UsageTable`, ``late_events``,
``events``, ``refused``, ``batches``), but keeps its tables in DuckDB's columnar file. It
needs the ``duckdb`` extra (``pip install 'meterlib[duckdb]'``: duckdb and pyarrow); DuckDB
is imported when a DuckDB ledger is opened, never by ``import meterlib``.

**Why.** With random ids (UUIDv4, random hex) SQLite's unique index on the id is a B-tree
touched at random pages, so ingest slows as the file outgrows the page cache. Here there is
no index on the id: each batch finds its ids already stored with one hash semi-join of the
batch against the stored ids (a sequential scan of one compressed column, memory bounded by
the batch), and inserts only the new rows, handed over as Arrow columns. Usage is one
vectorised DuckDB query per call (:mod:`meterlib.sql.compile`), exact ``DECIMAL`` sums.

**Guarantees** (the same as the SQLite ledger's): a batch is one transaction (DuckDB's
write-ahead log, synced at commit), so a killed process leaves whole batches and a re-run
stores what is missing; the first stored copy of an id wins, later copies are duplicates or
conflicts (reported with both versions, each refused version kept once); receive times are
per batch and ``late_events`` selects by them. Only one process may open the file for
writing at a time (DuckDB locks it), which is what keeps the anti-join idempotent.

**Schema** (``meterlib.duckledger/1``): ``meta``, ``batches`` as in the SQLite ledger;
``events(seq, id, customer, type, time_us, offset_us, props, numbers, batch)`` where
``seq = batch * 2**32 + position in batch`` orders events as they were stored; ``refused``
with the same columns plus ``content``. Columns mean what they mean in :mod:`.schema`.

**Usage numbers** are read as ``DECIMAL(38, 12)`` (``scale``): a value with more places is a
:class:`~meterlib.sql.duckdb_engine.SqlEngineError`, never rounded; the SQLite ledger has no
such limit. A stored value a meter cannot read fails the query too, naming the event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.ledger.backends import DUCK_BATCH_SIZE
from meterlib.ledger.events import BatchRecord, Screen, StoredEvent, sort_batch
from meterlib.ledger.rows import (
    Row,
    canonical,
    event_of,
    instant,
)
from meterlib.ledger.schema import (
    LedgerBusyError,
    LedgerCorruptError,
    LedgerError,
    LedgerFormatError,
    lock_holders,
)
from meterlib.metering._buckets import micros
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import Meter
from meterlib.metering.report import BatchReport, Conflict
from meterlib.metering.table import UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = ["DUCK_FORMAT", "DuckLedger", "duckdb_module"]

#: The schema version written into every DuckDB ledger's ``meta`` table.
DUCK_FORMAT = "meterlib.duckledger/1"

_COLUMNS = "id, customer, type, time_us, offset_us, props, numbers"
_NAMES = ("id", "customer", "type", "time_us", "offset_us", "props", "numbers")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS batches (
    batch BIGINT NOT NULL, received_us BIGINT NOT NULL, source VARCHAR,
    received BIGINT NOT NULL, stored BIGINT NOT NULL, duplicates BIGINT NOT NULL,
    conflicts BIGINT NOT NULL, rejected BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT NOT NULL, id VARCHAR NOT NULL, customer VARCHAR NOT NULL, type VARCHAR NOT NULL,
    time_us BIGINT NOT NULL, offset_us BIGINT NOT NULL, props VARCHAR NOT NULL,
    numbers VARCHAR, batch BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS refused (
    seq BIGINT NOT NULL, content VARCHAR NOT NULL, batch BIGINT NOT NULL,
    id VARCHAR NOT NULL, customer VARCHAR NOT NULL, type VARCHAR NOT NULL,
    time_us BIGINT NOT NULL, offset_us BIGINT NOT NULL, props VARCHAR NOT NULL,
    numbers VARCHAR);
"""
_SHIFT = 1 << 32
_CHECKPOINT = "128MB"
_SKIP_WAL = 1 << 40


def duckdb_module() -> Any:
    """The ``duckdb`` module; :class:`MeterlibError` naming the extra when it is missing."""
    return _duckdb()


def _duckdb() -> Any:
    try:
        import duckdb  # noqa: PLC0415  (optional dependency, imported when used)
    except ImportError:  # pragma: no cover - the test environment has DuckDB
        raise MeterlibError("DuckDB is not installed: pip install 'meterlib[duckdb]'") from None
    return duckdb


def _arrow(rows: Sequence[Row], positions: Sequence[int]) -> Any:
    """The rows as an Arrow table with their position in the batch."""
    import pyarrow as pa  # noqa: PLC0415  (part of the duckdb extra)

    columns: list[Any] = [pa.array(list(positions), pa.int64())]
    for i, name in enumerate(_NAMES):
        kind = pa.int64() if name in {"time_us", "offset_us"} else pa.string()
        columns.append(pa.array([r[i] for r in rows], kind))
    return pa.Table.from_arrays(columns, names=["pos", *_NAMES])


class DuckLedger:
    """A ledger of usage events in a DuckDB file (see the module docstring); a context manager.

    ``memory_limit`` caps DuckDB's buffer memory (DuckDB syntax, e.g. ``"512MB"``) so memory
    stays flat however large the file grows; ``threads`` caps its worker threads.
    """

    #: Events per batch :class:`~meterlib.ledger.ingest.Ingest` uses when it reads a file in
    #: columns and is given no batch size (see :data:`~meterlib.ledger.backends.DUCK_BATCH_SIZE`).
    column_batch_size: int = DUCK_BATCH_SIZE

    def __init__(
        self, path: str | Path, *, memory_limit: str = "512MB", threads: int | None = None
    ) -> None:
        """Open (or create) the DuckDB ledger at ``path``."""
        duckdb = _duckdb()
        self.path = Path(path)
        try:
            self._db: Any = duckdb.connect(str(self.path))
        except duckdb.Error as error:
            if "lock" in str(error).lower():
                raise LedgerBusyError(self.path, 0.0, lock_holders(self.path)) from None
            raise LedgerFormatError(
                f"{str(self.path)!r} is not a meterlib DuckDB ledger: {error}"
            ) from None
        try:
            self._db.execute(f"SET memory_limit = '{_limit(memory_limit)}'")
            self._db.execute("SET preserve_insertion_order = false")
            self._db.execute("SET enable_progress_bar = false")  # a library prints nothing
            # A commit appends the batch to the write-ahead log (synced); the log is folded
            # into the file every _CHECKPOINT of log. DuckDB's defaults checkpointed at nearly
            # every commit of a 50,000-event batch, rewriting the file's tail and metadata
            # each time (ingest time grew with the file).
            self._db.execute(f"SET checkpoint_threshold = '{_CHECKPOINT}'")
            self._db.execute(f"SET auto_checkpoint_skip_wal_threshold = {_SKIP_WAL}")
            if threads is not None:
                self._db.execute(f"SET threads = {int(threads)}")
            self._setup()
        except BaseException:
            self._db.close()
            raise

    def _setup(self) -> None:
        db = self._db
        tables = {r[0] for r in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if tables and "meta" not in tables:
            raise LedgerError(f"{str(self.path)!r} is a DuckDB file but not a meterlib ledger")
        db.execute("BEGIN TRANSACTION")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            rows = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchall()
            found = rows[0] if rows else None
            if found is None:
                db.execute("INSERT INTO meta VALUES ('format', ?)", [DUCK_FORMAT])
            elif found[0] != DUCK_FORMAT:
                raise LedgerError(
                    f"ledger {str(self.path)!r} has format {found[0]!r}; "
                    f"this meterlib reads {DUCK_FORMAT!r}"
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def check(self) -> None:
        """Raise :class:`~meterlib.ledger.LedgerCorruptError` when the tables cannot be read.

        DuckDB checksums every block it reads, so ``ingest_files`` refuses a damaged file
        before anything is written to it.
        """
        duckdb = _duckdb()
        try:
            self._db.execute(
                "SELECT (SELECT count(*) FROM batches), (SELECT count(*) FROM events), "
                "(SELECT count(*) FROM refused)"
            ).fetchall()
        except duckdb.Error as error:
            raise LedgerCorruptError(
                f"ledger {str(self.path)!r} is damaged ({error}); nothing was written: restore "
                "it from a copy ('meterlib verify --ledger' tells what is wrong)"
            ) from None

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
        return f"DuckLedger({str(self.path)!r})"

    def __len__(self) -> int:
        """How many distinct events are stored."""
        return int(self._one("SELECT count(*) FROM events")[0])

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self._db.execute(sql, list(params)).fetchall()[0]

    # -- appending -------------------------------------------------------------------------

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

        Exactly :meth:`meterlib.ledger.Ledger.append`: same arguments, same report.
        """
        screen = Screen(meters, periods, window)
        moment = datetime.now(UTC) if received_at is None else received_at
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidValueError("received_at", received_at, "an aware datetime or None")
        received, rejected, first, later, rows = screen.batch(events)

        db = self._db
        db.execute("BEGIN TRANSACTION")
        try:
            batch = int(self._one("SELECT coalesce(max(batch), 0) + 1 FROM batches")[0])
            stored: dict[str, Sequence[Any]] = {}
            if rows:
                table = _arrow(rows, range(len(rows)))
                stored = self._stored(table, min(first), max(first))
                if stored:
                    keep = [i for i, r in enumerate(rows) if r[0] not in stored]
                    table = _arrow([rows[i] for i in keep], keep)
                db.register("meterlib_new", table)
                try:
                    db.execute(
                        f"INSERT INTO events SELECT {batch * _SHIFT} + pos, {_COLUMNS}, "  # noqa: S608
                        f"{batch} FROM meterlib_new"
                    )
                finally:
                    db.unregister("meterlib_new")
            accepted, outside, unmetered, duplicates, found = sort_batch(first, later, stored)
            self._refuse(batch, [row for _, _, row in found])
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [batch, micros(moment), source, received, accepted + outside, duplicates,
                 len(found), len(rejected)],
            )
            db.execute("COMMIT")
        except BaseException:
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

    def _stored(self, table: Any, low: str, high: str) -> dict[str, Sequence[Any]]:
        """Rows stored before of the ids of ``table`` (an Arrow table with an ``id`` column).

        Two steps: the semi-join reads only the ``id`` and ``seq`` columns of every stored
        event (reading the whole rows for every batch made ingest quadratic in bytes), then
        the few rows found are fetched by ``seq``, which rises with every batch, so DuckDB
        skips the row groups that cannot hold them.
        """
        db = self._db
        db.register("meterlib_batch", table)
        try:
            # The bounds let DuckDB skip row groups by their id statistics (time-ordered ids);
            # both sides order text by code point (UTF-8 bytes).
            hits = db.execute(
                "SELECT seq FROM events "
                "WHERE id >= ? AND id <= ? AND id IN (SELECT id FROM meterlib_batch)",
                [low, high],
            ).fetchall()
        finally:
            db.unregister("meterlib_batch")
        if not hits:
            return {}
        seqs = sorted(hit[0] for hit in hits)
        return {
            row[0]: row
            for row in db.execute(
                f"SELECT {_COLUMNS} FROM events "  # noqa: S608  (constant columns)
                "WHERE seq >= ? AND seq <= ? AND seq IN (SELECT unnest(?::BIGINT[]))",
                [seqs[0], seqs[-1], seqs],
            ).fetchall()
        }

    def append_rows(
        self, table: Any, *, received_at: datetime | None = None, source: str | None = None
    ) -> BatchReport:
        """Store a batch of valid events given as stored rows in columns, in one transaction.

        Exactly :meth:`meterlib.ledger.Ledger.append_rows`: same argument, same report.
        """
        import numpy as np  # noqa: PLC0415  (pyarrow's dependency)
        import pyarrow as pa  # noqa: PLC0415  (part of the duckdb extra)
        import pyarrow.compute as pc  # noqa: PLC0415

        from meterlib.ledger.bulk import repeated, sort_rows  # noqa: PLC0415

        moment = datetime.now(UTC) if received_at is None else received_at
        if not isinstance(moment, datetime) or moment.utcoffset() is None:
            raise InvalidValueError("received_at", received_at, "an aware datetime or None")
        count = int(table.num_rows)
        db = self._db
        db.execute("BEGIN TRANSACTION")
        try:
            batch = int(self._one("SELECT coalesce(max(batch), 0) + 1 FROM batches")[0])
            stored: dict[str, Sequence[Any]] = {}
            found = None
            if count:
                ids = table.column("id")
                low, high = pc.min_max(ids).values()
                stored = self._stored(table.select(["id"]), low.as_py(), high.as_py())
                again = repeated(table)  # one hash pass (a distinct count first was a second)
                found = sort_rows(table, stored, again)
                new = table.append_column("pos", pa.array(np.arange(count, dtype=np.int64)))
                if found.skip:
                    keep = pc.invert(pc.is_in(new.column("pos"), pa.array(found.skip, pa.int64())))
                    new = new.filter(keep)
                db.register("meterlib_new", new)
                try:
                    db.execute(
                        f"INSERT INTO events SELECT {batch * _SHIFT} + pos, {_COLUMNS}, "  # noqa: S608
                        f"{batch} FROM meterlib_new"
                    )
                finally:
                    db.unregister("meterlib_new")
            if found is None:
                found = sort_rows(table, {}, [])
            self._refuse(batch, [row for _, _, row in found.found])
            db.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [batch, micros(moment), source, count, found.accepted, found.duplicates,
                 len(found.found), 0],
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return found.report()

    def _refuse(self, batch: int, rows: list[Row]) -> None:
        """Keep each refused version once (as the SQLite ledger's ``UNIQUE (id, content)``)."""
        if not rows:
            return
        ids = sorted({row[0] for row in rows})
        marks = ",".join("?" * len(ids))
        seen = {
            (r[0], r[1])
            for r in self._db.execute(
                f"SELECT id, content FROM refused WHERE id IN ({marks})",  # noqa: S608  (only ?)
                ids,
            ).fetchall()
        }
        for position, row in enumerate(rows):
            text = canonical(row)
            if (row[0], text) in seen:
                continue
            seen.add((row[0], text))
            self._db.execute(
                "INSERT INTO refused VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [batch * _SHIFT + position, text, batch, *row],
            )

    # -- reading ---------------------------------------------------------------------------

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
        """Every stored event in the order it was stored (streamed in chunks)."""
        query = (
            "SELECT e.id, e.customer, e.type, e.time_us, e.offset_us, e.props, e.numbers, "
            "e.batch, b.received_us FROM events AS e JOIN batches AS b ON b.batch = e.batch"
        )
        params: list[Any] = []
        if customer is not None:
            query += " WHERE e.customer = ?"
            params.append(customer)
        cursor = self._db.cursor()
        try:
            cursor.execute(query + " ORDER BY e.seq", params)
            while chunk := cursor.fetchmany(10_000):
                for row in chunk:
                    yield StoredEvent(event_of(row), instant(row[8]), row[7])
        finally:
            cursor.close()

    def refused(self) -> list[Conflict]:
        """Every refused version of an id, with the version that counts, ordered by id."""
        rows = self._db.execute(
            "SELECT r.id, r.customer, r.type, r.time_us, r.offset_us, r.props, r.numbers, "
            "e.id, e.customer, e.type, e.time_us, e.offset_us, e.props, e.numbers "
            "FROM refused AS r JOIN events AS e ON e.id = r.id ORDER BY r.id, r.seq"
        ).fetchall()
        return [Conflict(event_of(row[7:]), event_of(row[:7])) for row in rows]

    def late_events(
        self, period: Period, after: datetime, *, customer: str | None = None
    ) -> list[StoredEvent]:
        """Events in ``period`` that were received after ``after`` (late usage).

        Ordered by receive time, then event time and id, as the SQLite ledger orders them.
        """
        if not isinstance(period, Period):
            raise InvalidValueError("period", period, "a Period")
        if not isinstance(after, datetime) or after.utcoffset() is None:
            raise InvalidValueError("after", after, "an aware datetime")
        query = (
            "SELECT e.id, e.customer, e.type, e.time_us, e.offset_us, e.props, e.numbers, "
            "e.batch, b.received_us FROM events AS e JOIN batches AS b ON b.batch = e.batch "
            "WHERE e.time_us >= ? AND e.time_us < ? AND b.received_us > ?"
        )
        params: list[Any] = [micros(period.start), micros(period.end), micros(after)]
        if customer is not None:
            query += " AND e.customer = ?"
            params.append(customer)
        query += " ORDER BY b.received_us, e.time_us, e.id"
        return [
            StoredEvent(event_of(row), instant(row[8]), row[7])
            for row in self._db.execute(query, params).fetchall()
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
        """Usage per (customer, meter, period, group), computed by DuckDB in one query.

        The arguments mean what they mean for :meth:`meterlib.ledger.Ledger.usage`.
        """
        from meterlib.ledger.duck_usage import duck_usage  # noqa: PLC0415  (pulls in sqlglot)

        if customer is not None and type(customer) is not str:
            raise InvalidValueError("customer", customer, "a customer id (text) or None")
        if received_by is not None and (
            not isinstance(received_by, datetime) or received_by.utcoffset() is None
        ):
            raise InvalidValueError("received_by", received_by, "an aware datetime or None")
        return duck_usage(
            self._db,
            meters,
            periods,
            window=window,
            customer=customer,
            received_by=None if received_by is None else micros(received_by),
        )


def _limit(text: str) -> str:
    """A DuckDB memory size such as ``512MB``; InvalidValueError otherwise."""
    stripped = str(text).strip()
    number = stripped.rstrip("KMGTiBkmgtb ")
    if not number.isdigit() or stripped[len(number):].strip().upper() not in {
        "KB", "MB", "GB", "TB", "KIB", "MIB", "GIB", "TIB",
    }:
        raise InvalidValueError("memory_limit", text, "a size such as '512MB' or '2GB'")
    return stripped
