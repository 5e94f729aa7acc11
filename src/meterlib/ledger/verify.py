"""Checking a ledger file: SQLite's integrity check, the counts that must agree, the log.

:func:`verify_ledger` opens the file read-only (it never writes, so it can check a damaged or
busy ledger) and reports every problem found, never stopping at the first:

- SQLite's ``PRAGMA integrity_check`` (every page, index and constraint);
- the format recorded in ``meta``;
- the counts: each batch's ``stored`` equals the events that name the batch, so the sum of
  ``batches.stored`` equals the rows of ``events``; every event names a committed batch;
  every refused version names a stored id and a batch; no batch refused more versions than
  it counted conflicts;
- the rejected-lines log: every line is a JSON record, and each record is there once (the
  identity of :func:`~meterlib.ledger.ingest.record_key`).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meterlib.ledger.backends import backend_of
from meterlib.ledger.ingest import record_key, rejected_log_path
from meterlib.ledger.schema import LEDGER_FORMAT

__all__ = ["LedgerCheck", "verify_ledger"]


@dataclass(frozen=True, slots=True)
class LedgerCheck:
    """What :func:`verify_ledger` found: figures, and the problems of the ledger and the log."""

    path: Path
    events: int
    batches: int
    refused: int
    log_path: Path
    log_records: int
    problems: tuple[str, ...]
    log_problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when neither the ledger nor the log has a problem."""
        return not self.problems and not self.log_problems

    def summary(self) -> str:
        """Locale-free lines: the figures, then each problem."""
        lines = [
            (
                f"ledger {self.path}: {self.events} events in {self.batches} batches, "
                f"{self.refused} refused versions"
            ),
            f"rejected-lines log {self.log_path}: {self.log_records} records",
        ]
        lines += [f"problem: {problem}" for problem in self.problems]
        lines += [f"log problem: {problem}" for problem in self.log_problems]
        if self.ok:
            lines.append("ok: integrity, counts and the rejected-lines log all hold")
        return "\n".join(lines) + "\n"


def verify_ledger(path: str | Path, *, log: str | Path | None = None) -> LedgerCheck:
    """Check the ledger at ``path`` and its log (``<ledger>.rejected.jsonl`` by default)."""
    file = Path(path)
    log_file = Path(log) if log is not None else rejected_log_path(file)
    problems: list[str] = []
    events = batches = refused = 0
    if not file.is_file():
        problems.append(f"{str(file)!r} does not exist")
    else:
        try:
            if backend_of(file) == "duckdb":
                events, batches, refused = _check_duck(file, problems)
            else:
                events, batches, refused = _check_database(file, problems)
        except sqlite3.Error as error:
            problems.append(f"SQLite cannot read the counts: {error}")
    records, log_problems = _check_log(log_file)
    return LedgerCheck(
        path=file,
        events=events,
        batches=batches,
        refused=refused,
        log_path=log_file,
        log_records=records,
        problems=tuple(problems),
        log_problems=tuple(log_problems),
    )


def _check_database(file: Path, problems: list[str]) -> tuple[int, int, int]:
    db = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        try:
            found = [row[0] for row in db.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as error:
            found = [f"SQLite cannot check the file: {error}"]
        if found != ["ok"]:
            problems.extend(f"integrity: {message}" for message in found)
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_schema")}
        missing = {"meta", "batches", "events", "refused"} - names
        if missing:
            problems.append(f"not a meterlib ledger: no table {', '.join(sorted(missing))}")
            return 0, 0, 0
        fmt = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if fmt is None or fmt[0] != LEDGER_FORMAT:
            problems.append(f"format {fmt[0] if fmt else None!r}, expected {LEDGER_FORMAT!r}")
        return _check_counts(db, problems)
    finally:
        db.close()


def _check_duck(file: Path, problems: list[str]) -> tuple[int, int, int]:
    """The checks of a DuckDB ledger (DuckDB checksums every block it reads)."""
    from meterlib.ledger.duck import DUCK_FORMAT, duckdb_module  # noqa: PLC0415  (optional)

    duckdb = duckdb_module()
    try:
        db = duckdb.connect(str(file), read_only=True)
    except duckdb.Error as error:
        problems.append(f"DuckDB cannot open the file: {error}")
        return 0, 0, 0
    try:
        names = {row[0] for row in db.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        missing = {"meta", "batches", "events", "refused"} - names
        if missing:
            problems.append(f"not a meterlib ledger: no table {', '.join(sorted(missing))}")
            return 0, 0, 0
        fmt = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if fmt is None or fmt[0] != DUCK_FORMAT:
            problems.append(f"format {fmt[0] if fmt else None!r}, expected {DUCK_FORMAT!r}")
        return _check_counts(db, problems)
    except duckdb.Error as error:
        problems.append(f"DuckDB cannot read the counts: {error}")
        return 0, 0, 0
    finally:
        db.close()


def _check_counts(db: Any, problems: list[str]) -> tuple[int, int, int]:
    events = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    batches = int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
    refused = int(db.execute("SELECT count(*) FROM refused").fetchone()[0])
    stored = int(db.execute("SELECT coalesce(sum(stored), 0) FROM batches").fetchone()[0])
    if stored != events:
        problems.append(f"the batches stored {stored} events, the events table holds {events}")
    for batch, said, held in db.execute(
        "SELECT b.batch, b.stored, count(e.batch) FROM batches AS b "
        "LEFT JOIN events AS e ON e.batch = b.batch GROUP BY b.batch, b.stored "
        "HAVING b.stored != count(e.batch)"
    ).fetchall():
        problems.append(f"batch {batch} stored {said} events, {held} name it")
    for batch, count in db.execute(
        "SELECT e.batch, count(*) FROM events AS e LEFT JOIN batches AS b ON b.batch = e.batch "
        "WHERE b.batch IS NULL GROUP BY e.batch"
    ).fetchall():
        problems.append(f"{count} events name batch {batch}, which is not committed")
    orphans = db.execute(
        "SELECT count(*) FROM refused AS r WHERE NOT EXISTS "
        "(SELECT 1 FROM events AS e WHERE e.id = r.id) OR NOT EXISTS "
        "(SELECT 1 FROM batches AS b WHERE b.batch = r.batch)"
    ).fetchone()[0]
    if orphans:
        problems.append(f"{orphans} refused versions name no stored event or no batch")
    for batch, kept, counted in db.execute(
        "SELECT r.batch, count(*), b.conflicts FROM refused AS r "
        "JOIN batches AS b ON b.batch = r.batch GROUP BY r.batch, b.conflicts "
        "HAVING count(*) > b.conflicts"
    ).fetchall():
        problems.append(f"batch {batch} refused {kept} versions but counted {counted} conflicts")
    return events, batches, refused


def _check_log(path: Path) -> tuple[int, list[str]]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0, []
    except OSError as error:
        return 0, [f"cannot read {str(path)!r}: {error}"]
    problems: list[str] = []
    keys: Counter[str] = Counter()
    first: dict[str, int] = {}
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    elif lines:
        problems.append(f"line {len(lines)} is cut short (no line break at the end)")
    for number, line in enumerate(lines, start=1):
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"line {number} is not a JSON record")
            continue
        if not isinstance(record, dict):
            problems.append(f"line {number} is not a JSON object")
            continue
        key = record_key(record)
        keys[key] += 1
        first.setdefault(key, number)
    for key, count in keys.items():
        if count > 1:
            problems.append(f"the record of line {first[key]} is there {count} times")
    return sum(keys.values()), problems
