"""``meterlib ingest FILE... --ledger PATH``: store usage events in the SQLite ledger.

Reads JSON Lines or CSV files (``-`` for standard input; the format follows the file name,
``.csv`` or anything else for JSON Lines, unless ``--format`` says), streaming, and commits them
to the ledger in batches of ``--batch-size`` events (50,000 by default), each batch in one
transaction: an interrupted ingest leaves whole batches, and running it again stores what is
missing and counts the rest as duplicates.

The ledger is ``--ledger PATH``, else ``$METERLIB_LEDGER``, else ``meterlib-ledger.sqlite`` in
the current directory (created on first use). With ``--meters`` events those meters cannot read
are rejected at ingest instead of failing a later ``meterlib usage``.

It ends with a summary on standard output (accepted, duplicates, conflicts, outside, rejected).
Lines that could not be stored (unreadable lines and invalid events) and refused conflicting
versions are appended, one JSON object each with the file, line number and reason, to
``<ledger>.rejected.jsonl`` next to the ledger. A progress line with events per second is drawn
on standard error when it is a terminal, or always with ``--progress``.

Exit status: 0 when every event was stored or was a duplicate, 1 when a line was rejected or
an event conflicted, 2 on an error (bad option, unreadable file, not a ledger).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, TextIO

from meterlib.errors import InvalidValueError
from meterlib.metering.events import UsageEvent
from meterlib.metering.ledger import Ledger, default_ledger_path
from meterlib.metering.meters import Meter, load_meters
from meterlib.metering.readers import Format, detect_format, line_text, read_lines
from meterlib.metering.report import BatchReport

ORDER = 30

#: Events per transaction unless ``--batch-size`` says otherwise.
BATCH_SIZE = 50_000


def register(subparsers: Any) -> None:
    """Add the ``ingest`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingest",
        help="store usage events (JSON Lines or CSV) in the SQLite ledger",
        description=(
            "Store the usage events of each FILE (JSON Lines or CSV; '-' reads standard input) "
            "in the ledger, in batches of one transaction each, and print what happened to "
            "every event. Rejected lines and conflicts go to <ledger>.rejected.jsonl."
        ),
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="events file, or '-' for stdin")
    parser.add_argument(
        "--ledger",
        metavar="PATH",
        help="ledger file (default: $METERLIB_LEDGER, else ./meterlib-ledger.sqlite)",
    )
    parser.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        help="input format (default: from the file name; .csv is CSV, anything else JSON Lines)",
    )
    parser.add_argument(
        "--meters", metavar="METERS", help="reject events these meters (TOML/JSON) cannot read"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=BATCH_SIZE,
        metavar="N",
        help=f"events per transaction (default: {BATCH_SIZE:,})",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress line on stderr (default: only when stderr is a terminal)",
    )
    parser.set_defaults(handler=run)


def ledger_path(given: str | None) -> Path:
    """The ledger a command uses: ``--ledger``, else ``$METERLIB_LEDGER``, else the default."""
    return Path(given) if given else default_ledger_path(os.environ)


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
    files: list[str] = field(default_factory=list)

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


class Progress:
    """A progress line on a text stream: events, events per second, and the share read."""

    def __init__(self, stream: TextIO, *, enabled: bool) -> None:
        """Draw on ``stream`` when ``enabled``; at most a few times a second."""
        self.stream = stream
        self.enabled = enabled
        self.started = time.monotonic()
        self.shown = self.started
        self.drawn = False

    def update(
        self, events: int, done: int | None, total: int | None, *, force: bool = False
    ) -> None:
        """Redraw with ``events`` so far and ``done`` of ``total`` bytes (when known)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self.shown < 0.25:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        rate = int(events / elapsed)
        text = f"{events:,} events  {rate:,} events/s"
        if done is not None and total:
            share = min(done / total, 1.0)
            filled = int(share * 30)
            text = f"[{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}  " + text
        self.stream.write(f"\r{text}\x1b[K")
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        """End the progress line."""
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


class RejectLog:
    """``<ledger>.rejected.jsonl``: opened on the first record, appended to, never truncated."""

    def __init__(self, path: Path) -> None:
        """Write to ``path`` when something is rejected."""
        self.path = path
        self.written = 0
        self._file: IO[str] | None = None

    def write(self, record: dict[str, Any]) -> None:
        """Append one record as a JSON line."""
        if self._file is None:
            self._file = self.path.open("a", encoding="utf-8")
        self._file.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.written += 1

    def close(self) -> None:
        """Close the file if it was opened."""
        if self._file is not None:
            self._file.close()


class Ingest:
    """One ingest run into an open ledger: batching, counting and logging what was refused."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        meters: Sequence[Meter] | None = None,
        batch_size: int = BATCH_SIZE,
        log: RejectLog | None = None,
        progress: Progress | None = None,
    ) -> None:
        """Ingest into ``ledger``, ``batch_size`` events per transaction."""
        if type(batch_size) is not int or batch_size < 1:
            raise InvalidValueError("--batch-size", batch_size, "a whole number >= 1")
        self.ledger = ledger
        self.meters = meters
        self.batch_size = batch_size
        self.log = log
        self.progress = progress
        self.totals = IngestTotals()
        self.received_at = datetime.now(UTC)

    def file(self, name: str, stream: IO[bytes], fmt: Format) -> None:
        """Read and store every event of one stream (named ``name`` in records)."""
        self.totals.files.append(name)
        with _gc_paused():
            self._read(name, stream, fmt)

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
            if self.progress is not None and self.totals.lines % 4096 == 0:
                self.progress.update(self.totals.lines, _position(stream), size)
        self._flush(name, events, origins)
        if self.progress is not None:
            self.progress.update(self.totals.lines, _position(stream), size, force=True)

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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during an ingest; back on afterwards if it was on.

    Events are freed by reference counting; collections scanning the batch in memory over and
    over would cost more than the ingest itself.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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


def _open(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    with Path(name).open("rb") as stream:
        yield stream


def run(args: argparse.Namespace) -> int:
    """Ingest every file, print the summary; 1 when something was rejected or conflicted."""
    path = ledger_path(args.ledger)
    meters = load_meters(args.meters) if args.meters else None
    for name in args.files:
        if name != "-" and not Path(name).is_file():
            raise InvalidValueError("FILE", name, "an existing events file or '-' for stdin")
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = Progress(sys.stderr, enabled=show)
    log = RejectLog(Path(f"{path}.rejected.jsonl"))
    try:
        with Ledger(path) as ledger:
            ingest = Ingest(
                ledger, meters=meters, batch_size=args.batch_size, log=log, progress=progress
            )
            for name in args.files:
                fmt: Format = args.format or ("jsonl" if name == "-" else detect_format(name))
                for stream in _open(name):
                    ingest.file(name, stream, fmt)
    finally:
        progress.finish()
        log.close()
    totals = ingest.totals
    print(f"ingested {', '.join(totals.files)} into {path}")
    print(totals.summary())
    if log.written:
        print(f"{log.written} rejected line(s) and conflict(s) recorded in {log.path}")
    return 0 if totals.clean else 1
