"""Files into a ledger: the file loop, batching, the rejected-lines log and progress.

:func:`ingest_files` reads JSON Lines or CSV files (streaming, so memory stays flat however long
the file) and commits their events to a :class:`~meterlib.ledger.Ledger` in batches of
``batch_size`` events, each batch in one transaction: an interrupted ingest leaves whole
batches, and running it again stores what is missing and counts the rest as duplicates.
With pyarrow installed (and no meters) files are read in blocks of ``batch_size`` lines parsed
in columns (:mod:`meterlib.ledger.blocks`), each block one batch: the same events stored, the
same lines rejected and logged as the line-by-line reader's.

Lines that could not be stored (unreadable lines and invalid events) and refused conflicting
versions are appended, one JSON object each with the file, line number and reason, to the
rejected-lines log (by default ``<ledger>.rejected.jsonl`` next to the ledger). Progress is
reported through a callback (:class:`IngestProgress`); the command line draws it.
:class:`Ingest` is the same loop for callers that hand over open streams.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from meterlib._fast import gc_paused
from meterlib.errors import InvalidValueError
from meterlib.frames import MissingDependencyError
from meterlib.ledger import Ledger
from meterlib.ledger.blocks import ColumnBlock, columns_available, read_blocks
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import Meter
from meterlib.metering.readers import Format, RawLine, detect_format, line_text, read_lines
from meterlib.metering.report import BatchReport

if TYPE_CHECKING:
    from meterlib.ledger.duck import DuckLedger

__all__ = [
    "BATCH_SIZE",
    "Ingest",
    "IngestProgress",
    "IngestTotals",
    "RejectLog",
    "ingest_files",
    "read_log",
    "record_key",
    "rejected_log_path",
]

#: Events per transaction unless the caller says otherwise.
BATCH_SIZE = 50_000
# Lines read between two progress reports.
_PROGRESS_EVERY = 4096


def rejected_log_path(ledger: str | Path) -> Path:
    """The rejected-lines log of a ledger: ``<ledger>.rejected.jsonl`` beside it."""
    return Path(f"{ledger}.rejected.jsonl")


@dataclass
class IngestTotals:
    """What an ingest did, summed over its batches and files."""

    lines: int = 0
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    outside: int = 0
    rejected: int = 0
    unmetered: int = 0
    batches: int = 0
    files: list[str] = field(default_factory=list)
    #: The last line of each file whose batch is committed.
    committed: dict[str, int] = field(default_factory=dict)

    def add(self, report: BatchReport) -> None:
        """Count one batch's report."""
        self.accepted += report.accepted
        self.duplicates += report.duplicates
        self.conflicts += report.conflict_count
        self.outside += report.outside
        self.rejected += report.rejected_count
        self.unmetered += report.unmetered

    @property
    def clean(self) -> bool:
        """True when nothing was rejected and nothing conflicted."""
        return not self.rejected and not self.conflicts

    def summary(self) -> str:
        """One locale-free line of counts."""
        text = (
            f"{self.lines} events read: {self.accepted} accepted, {self.duplicates} "
            f"duplicate{'s' if self.duplicates != 1 else ''}, {self.conflicts} "
            f"conflict{'s' if self.conflicts != 1 else ''}, {self.outside} outside, "
            f"{self.rejected} rejected"
        )
        if self.unmetered:
            text += f" ({self.unmetered} accepted matched no meter)"
        return text


@dataclass(frozen=True, slots=True)
class IngestProgress:
    """How far an ingest is: lines read, and ``done`` of ``total`` bytes of the current file.

    ``done`` and ``total`` are ``None`` when unknown (standard input); ``final`` is true for the
    last report of a file.
    """

    file: str
    lines: int
    done: int | None
    total: int | None
    final: bool


#: A callback that receives progress reports.
ProgressCallback = Callable[[IngestProgress], None]


class RejectLog:
    """The rejected-lines log: one JSON record a line, each rejection recorded once.

    A record's identity is its content (for a conflict: without its ``lines``, which depend on
    the batch size): a record already in the file is not written again, so re-running an
    interrupted ingest (or the same ingest) adds only what is new. A last line cut short by a
    crash is dropped before anything is appended. The file is read on the first record
    written, never truncated otherwise.
    """

    def __init__(self, path: Path) -> None:
        """Write to ``path`` when something is rejected."""
        self.path = path
        self.written = 0
        self.known = 0
        self._file: IO[str] | None = None
        self._keys: set[str] = set()

    def write(self, record: dict[str, Any]) -> bool:
        """Append one record as a JSON line unless the log holds it; True when written."""
        file = self._file if self._file is not None else self._open()
        key = record_key(record)
        if key in self._keys:
            self.known += 1
            return False
        self._keys.add(key)
        file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.written += 1
        return True

    def _open(self) -> IO[str]:
        keys, complete = read_log(self.path)
        self._keys = keys
        if complete is not None:
            with self.path.open("r+b") as cut:
                cut.truncate(complete)
        self._file = self.path.open("a", encoding="utf-8")
        return self._file

    def close(self) -> None:
        """Close the file if it was opened."""
        if self._file is not None:
            self._file.close()
            self._file = None


def record_key(record: dict[str, Any]) -> str:
    """The identity of a log record: its content, a conflict's ``lines`` left out."""
    if record.get("problem") == "conflict":
        record = {k: v for k, v in record.items() if k != "lines"}
    return json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)


def read_log(path: Path) -> tuple[set[str], int | None]:
    """The keys of the records in a log, and where a cut-short last line starts (or None).

    Lines that are not JSON objects are skipped (``meterlib verify`` reports them).
    """
    keys: set[str] = set()
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return keys, None
    complete = None if not data or data.endswith(b"\n") else data.rfind(b"\n") + 1
    for line in data[:complete].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            keys.add(record_key(record))
    return keys, complete


class Ingest:
    """One ingest run into an open ledger: batching, counting and logging what was refused."""

    def __init__(
        self,
        ledger: Ledger | DuckLedger,
        *,
        meters: Sequence[Meter] | None = None,
        batch_size: int | None = None,
        log: RejectLog | None = None,
        progress: ProgressCallback | None = None,
        columns: bool | None = None,
    ) -> None:
        """Ingest into ``ledger``, ``batch_size`` events per transaction.

        By default :data:`BATCH_SIZE`, or the ledger's ``column_batch_size`` when it has one
        and the file is read in columns (a DuckDB ledger writes larger batches faster).

        ``columns`` chooses the reader: ``True`` the columnar one (needs pyarrow), ``False``
        the line-by-line one, ``None`` (the default) the columnar one when pyarrow is installed
        and no meters are given. Both store the same events and report the same lines.
        """
        if batch_size is not None and (type(batch_size) is not int or batch_size < 1):
            raise InvalidValueError("batch_size", batch_size, "a whole number >= 1 or None")
        if columns not in {True, False, None}:
            raise InvalidValueError("columns", columns, "True, False or None")
        if columns is None:
            columns = meters is None and columns_available()
        elif columns and meters is not None:
            raise InvalidValueError("columns", columns, "False or None when meters are given")
        elif columns and not columns_available():
            raise MissingDependencyError("reading in columns", "pyarrow", "columnar")
        self.columns = columns
        self.ledger = ledger
        self.meters = meters
        preferred = int(getattr(ledger, "column_batch_size", BATCH_SIZE)) if columns else BATCH_SIZE
        self.batch_size = preferred if batch_size is None else batch_size
        self.log = log
        self.progress = progress
        self.totals = IngestTotals()
        self.received_at = datetime.now(UTC)

    def file(self, name: str, stream: IO[bytes], fmt: Format) -> None:
        """Read and store every event of one stream (named ``name`` in records)."""
        self.totals.files.append(name)
        with gc_paused():
            if self.columns:
                self._read_blocks(name, stream, fmt)
            else:
                self._read(name, stream, fmt)

    def _report(self, name: str, stream: IO[bytes], size: int | None, *, final: bool) -> None:
        if self.progress is not None:
            self.progress(
                IngestProgress(name, self.totals.lines, _position(stream), size, final)
            )

    def _read(self, name: str, stream: IO[bytes], fmt: Format) -> None:
        size = _size(stream)
        events: list[dict[str, Any]] = []
        origins: list[tuple[int, Any]] = []
        for number, data, event, problem in read_lines(stream, fmt):
            self.totals.lines += 1
            if event is None:
                self.totals.rejected += 1
                self._record(name, number, data, "rejected", problem)
                continue
            events.append(event)
            origins.append((number, data))
            if len(events) >= self.batch_size:
                self._flush(name, events, origins)
                events, origins = [], []
            if self.progress is not None and self.totals.lines % _PROGRESS_EVERY == 0:
                self._report(name, stream, size, final=False)
        self._flush(name, events, origins)
        self._report(name, stream, size, final=True)

    def _read_blocks(self, name: str, stream: IO[bytes], fmt: Format) -> None:
        size = _size(stream)
        for block in read_blocks(stream, fmt, lines=self.batch_size):
            if isinstance(block, ColumnBlock):
                self.totals.lines += len(block)
                self._flush_columns(name, block)
            else:
                self._lines(name, block)
            self._report(name, stream, size, final=False)
        self._report(name, stream, size, final=True)

    def _lines(self, name: str, block: list[RawLine]) -> None:
        """A block of raw lines, stored as the line-by-line path stores them."""
        events: list[dict[str, Any]] = []
        origins: list[tuple[int, Any]] = []
        for number, data, event, problem in block:
            self.totals.lines += 1
            if event is None:
                self.totals.rejected += 1
                self._record(name, number, data, "rejected", problem)
                continue
            events.append(event)
            origins.append((number, data))
        self._flush(name, events, origins)

    def _flush_columns(self, name: str, block: ColumnBlock) -> None:
        if not len(block):
            return
        first, last = block.lines[0], block.lines[-1]
        report = self.ledger.append_rows(
            block.table, received_at=self.received_at, source=f"{name}:{first}-{last}"
        )
        self.totals.add(report)
        self.totals.batches += 1
        self.totals.committed[name] = last
        if report.conflicts:
            ids = block.table.column("id").to_pylist()
            lines: dict[str, list[int]] = {}
            wanted = {conflict.event_id for conflict in report.conflicts}
            for number, event_id in zip(block.lines, ids, strict=True):
                if event_id in wanted:
                    lines.setdefault(event_id, []).append(number)
            for conflict in report.conflicts:
                self._conflict(
                    name, lines.get(conflict.event_id, []), conflict.first, conflict.second
                )

    def _flush(
        self, name: str, events: list[dict[str, Any]], origins: list[tuple[int, Any]]
    ) -> None:
        if not events:
            return
        first, last = origins[0][0], origins[-1][0]
        report = self.ledger.append(
            events,
            meters=self.meters,
            received_at=self.received_at,
            source=f"{name}:{first}-{last}",
        )
        self.totals.add(report)
        self.totals.batches += 1
        self.totals.committed[name] = last
        for rejection in report.rejected:
            number, data = origins[rejection.index]
            self._record(name, number, data, "rejected", rejection.reason, rejection.event_id)
        if report.conflicts:
            lines: dict[str, list[int]] = {}
            for (number, _), event in zip(origins, events, strict=True):
                lines.setdefault(str(event.get("id")), []).append(number)
            for conflict in report.conflicts:
                self._conflict(
                    name, lines.get(conflict.event_id, []), conflict.first, conflict.second
                )

    def _record(  # noqa: PLR0917  (one record's fields, called from two places)
        self,
        name: str,
        number: int,
        data: Any,
        problem: str,
        reason: str | None,
        event_id: str | None = None,
    ) -> None:
        if self.log is None:
            return
        record: dict[str, Any] = {"file": name, "line": number, "problem": problem}
        if event_id is not None:
            record["event_id"] = event_id
        record["reason"] = reason
        record["input"] = data if isinstance(data, dict) else line_text(data)
        self.log.write(record)

    def _conflict(self, name: str, lines: list[int], first: UsageEvent, second: UsageEvent) -> None:
        if self.log is None:
            return
        self.log.write(
            {
                "file": name,
                "lines": lines,
                "problem": "conflict",
                "event_id": first.id,
                "reason": "an event with this id and different content is already stored; "
                "the stored version counts",
                "stored": first.to_dict(),
                "refused": second.to_dict(),
            }
        )


def ingest_files(
    ledger: Ledger | DuckLedger,
    files: Sequence[str | Path],
    *,
    fmt: Format | None = None,
    meters: Sequence[Meter] | None = None,
    batch_size: int | None = None,
    log: RejectLog | None = None,
    progress: ProgressCallback | None = None,
    stdin: IO[bytes] | None = None,
    run: Ingest | None = None,
    check: bool = True,
) -> IngestTotals:
    """Store the events of every file in ``ledger``; what happened, summed over the files.

    A file named ``-`` is ``stdin`` (standard input by default) and read as JSON Lines unless
    ``fmt`` says; other files follow their name (``.csv`` is CSV) unless ``fmt`` says. Every
    file must exist, and (with ``check``) the ledger pass SQLite's quick check, before anything
    is stored. Rejected lines and conflicts go to ``log`` (:func:`rejected_log_path` is the
    usual one; the caller closes it). Give ``run`` (an :class:`Ingest` on ``ledger``) to keep
    its totals when the ingest is interrupted: they count the committed batches only.
    """
    names = [str(name) for name in files]
    for name in names:
        if name != "-" and not Path(name).is_file():
            raise InvalidValueError("FILE", name, "an existing events file or '-' for stdin")
    if run is None:
        run = Ingest(ledger, meters=meters, batch_size=batch_size, log=log, progress=progress)
    elif run.ledger is not ledger:
        raise InvalidValueError("run", run, "an Ingest on the same ledger")
    if check:
        ledger.check()
    for name in names:
        kind: Format = fmt or ("jsonl" if name == "-" else detect_format(name))
        with _opened(name, stdin) as stream:
            run.file(name, stream, kind)
    return run.totals


@contextmanager
def _opened(name: str, stdin: IO[bytes] | None) -> Iterator[IO[bytes]]:
    if name == "-":
        yield stdin if stdin is not None else sys.stdin.buffer
        return
    with Path(name).open("rb") as stream:
        yield stream


def _size(stream: IO[bytes]) -> int | None:
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return info.st_size if info.st_size > 0 else None


def _position(stream: IO[bytes]) -> int | None:
    try:
        return stream.tell()
    except (OSError, ValueError):
        return None
