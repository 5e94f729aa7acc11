"""``meterlib ingest FILE... --ledger PATH``: store usage events in the ledger.

Reads JSON Lines or CSV files (``-`` for standard input; the format follows the file name,
``.csv`` or anything else for JSON Lines, unless ``--format`` says), streaming, and commits them
to the ledger in batches of ``--batch-size`` events (50,000 by default; 245,760 into a DuckDB
ledger read in columns), each batch in one transaction: an interrupted ingest leaves whole
batches, and running it again stores what is missing and counts the rest as duplicates.

The ledger is ``--ledger PATH``, else ``$METERLIB_LEDGER``, else ``meterlib-ledger.sqlite`` in
the current directory (created on first use). A new file ending in ``.duckdb`` or ``.ddb`` (or
``--backend duckdb``) is a DuckDB ledger (the ``duckdb`` extra); an existing file keeps the
backend that wrote it. With ``--meters`` events those meters cannot read
are rejected at ingest instead of failing a later ``meterlib usage``.

It ends with a summary on standard output (accepted, duplicates, conflicts, outside, rejected).
Lines that could not be stored (unreadable lines and invalid events) and refused conflicting
versions are appended, one JSON object each with the file, line number and reason, to
``<ledger>.rejected.jsonl`` next to the ledger. A progress line with events per second is drawn
on standard error when it is a terminal, or always with ``--progress``.

A busy ledger (another process writing) is waited for up to ``--busy-timeout`` seconds
(``$METERLIB_BUSY_TIMEOUT``, else 10), then the ingest stops with the process that holds it
named where it can be found. A damaged ledger is refused before anything is written.

Exit status: 0 when every event was stored or was a duplicate, 1 when a line was rejected or
an event conflicted, 2 on wrong usage (bad option, missing file), 3 on a storage fault (busy,
damaged or foreign ledger), 130 when interrupted (Ctrl-C): the batches committed until then
stay and are reported, and running the same command again stores the rest.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from meterlib.errors import InvalidValueError
from meterlib.ledger import BUSY_TIMEOUT, Ledger, LedgerError, default_ledger_path
from meterlib.ledger.backends import BACKENDS, DUCK_BATCH_SIZE, open_ledger
from meterlib.ledger.ingest import (
    BATCH_SIZE,
    Ingest,
    IngestProgress,
    RejectLog,
    ingest_files,
    rejected_log_path,
)
from meterlib.metering.meters import load_meters

if TYPE_CHECKING:
    from meterlib.ledger.duck import DuckLedger

ORDER = 30

#: The exit status of an interrupted command (as cli.EXIT_INTERRUPTED).
EXIT_INTERRUPTED = 130
# The longest --busy-timeout, in seconds: a day.
_MAX_WAIT = 86_400


def register(subparsers: Any) -> None:
    """Add the ``ingest`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "ingest",
        help="store usage events (JSON Lines or CSV) in the ledger",
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
        default=None,
        metavar="N",
        help=f"events per transaction (lines, when read in columns; default: {BATCH_SIZE:,}, "
        f"or {DUCK_BATCH_SIZE:,} into a DuckDB ledger read in columns)",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw a progress line on stderr (default: only when stderr is a terminal)",
    )
    parser.add_argument(
        "--columns",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="read the files in columns (needs pyarrow; default: when installed and no "
        "--meters); --no-columns reads line by line. Both store and report the same",
    )
    add_backend(parser)
    add_busy_timeout(parser)
    parser.set_defaults(handler=run)


def add_backend(parser: argparse.ArgumentParser) -> None:
    """Add ``--backend`` to a command that opens the ledger."""
    parser.add_argument(
        "--backend",
        choices=list(BACKENDS),
        help="ledger backend (default: an existing file's own; a new file ending in .duckdb "
        "or .ddb is a DuckDB ledger, needing meterlib[duckdb], else SQLite)",
    )


def open_cli_ledger(args: argparse.Namespace, path: Path) -> Ledger | DuckLedger:
    """The ledger a command opens: ``--backend`` or the file's own, ``--busy-timeout``."""
    return open_ledger(
        path, backend=getattr(args, "backend", None), timeout=busy_timeout(args.busy_timeout)
    )


def ledger_path(given: str | None) -> Path:
    """The ledger a command uses: ``--ledger``, else ``$METERLIB_LEDGER``, else the default."""
    return Path(given) if given else default_ledger_path(os.environ)


def add_busy_timeout(parser: argparse.ArgumentParser) -> None:
    """Add ``--busy-timeout SECONDS`` to a command that opens the ledger."""
    parser.add_argument(
        "--busy-timeout",
        metavar="SECONDS",
        help="wait this long for a ledger another process is writing "
        "(default: $METERLIB_BUSY_TIMEOUT, else 10)",
    )


def busy_timeout(given: str | None) -> float:
    """``--busy-timeout``, else ``$METERLIB_BUSY_TIMEOUT``, else the ledger's default."""
    text = given if given is not None else os.environ.get("METERLIB_BUSY_TIMEOUT") or None
    if text is None:
        return BUSY_TIMEOUT
    field = "--busy-timeout" if given is not None else "METERLIB_BUSY_TIMEOUT"
    try:
        seconds = Decimal(text.strip())
    except ArithmeticError:
        seconds = Decimal(-1)
    if not seconds.is_finite() or not 0 <= seconds <= _MAX_WAIT:
        raise InvalidValueError(field, text, f"a number of seconds from 0 to {_MAX_WAIT}")
    return float(seconds)


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


    def report(self, progress: IngestProgress) -> None:
        """Draw one progress report of the library's ingest."""
        self.update(progress.lines, progress.done, progress.total, force=progress.final)


def run(args: argparse.Namespace) -> int:
    """Ingest every file, print the summary; 1 when something was rejected or conflicted."""
    path = ledger_path(args.ledger)
    if args.batch_size is not None and (type(args.batch_size) is not int or args.batch_size < 1):
        raise InvalidValueError("--batch-size", args.batch_size, "a whole number >= 1")
    meters = load_meters(args.meters) if args.meters else None
    for name in args.files:
        if name != "-" and not Path(name).is_file():
            raise InvalidValueError("FILE", name, "an existing events file or '-' for stdin")
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = Progress(sys.stderr, enabled=show)
    log = RejectLog(rejected_log_path(path))
    try:
        with open_cli_ledger(args, path) as ledger:
            ingest = Ingest(
                ledger,
                meters=meters,
                batch_size=args.batch_size,
                log=log,
                progress=progress.report,
                columns=args.columns,
            )
            try:
                totals = ingest_files(ledger, args.files, fmt=args.format, run=ingest)
            except KeyboardInterrupt:
                progress.finish()
                _interrupted(ledger, ingest, path)
                return EXIT_INTERRUPTED
    finally:
        progress.finish()
        log.close()
    print(f"ingested {', '.join(totals.files)} into {path}")
    print(totals.summary())
    if log.written:
        print(f"{log.written} rejected line(s) and conflict(s) recorded in {log.path}")
    if log.known:
        print(f"{log.known} rejection(s) and conflict(s) were already recorded there")
    return 0 if totals.clean else 1


def _interrupted(ledger: Ledger | DuckLedger, ingest: Ingest, path: Path) -> None:
    """Report what an interrupted ingest committed, read back from the ledger itself."""
    print(f"interrupted: ingest into {path} stopped", file=sys.stderr)
    try:
        mine = [b for b in ledger.batches() if b.received_at == ingest.received_at]
    except (LedgerError, KeyboardInterrupt):
        print("what was committed could not be read; run 'meterlib verify'", file=sys.stderr)
        return
    print(
        f"committed before the interruption: {len(mine)} batch(es), "
        f"{sum(b.stored for b in mine)} event(s) stored, "
        f"{sum(b.duplicates for b in mine)} duplicate(s), "
        f"{sum(b.conflicts for b in mine)} conflict(s), "
        f"{sum(b.rejected for b in mine)} rejected",
        file=sys.stderr,
    )
    for name, line in ingest.totals.committed.items():
        print(f"  {name}: lines up to {line} committed", file=sys.stderr)
    print(
        "run the same command again to store the rest (what is stored counts as duplicates)",
        file=sys.stderr,
    )
