"""Crash safety of ``meterlib ingest`` under repeated SIGKILL: the full fault run.

Usage: ``python tests/faults/ledger_kill.py --kills 40`` (a smaller run of the same idea, 4
kills, is ``tests/test_ledger_fault.py`` in the test suite).

A child process ingests a seeded file (valid events, with an unreadable line, an invalid event
and a conflicting copy every 400 lines) in small batches; this script kills it with SIGKILL once
a random number of new batches is committed, plus a random short delay so the kill also lands
inside a transaction or while the rejected-lines log is written. After every kill:

- the ledger opens, and :func:`meterlib.ledger.verify.verify_ledger` finds nothing wrong
  (integrity check; each batch's ``stored`` equals its events; refused versions name events);
- batches committed before never disappear, and no event is stored twice;

and after the last kill the same ingest, run to the end, must store every valid event exactly
once, and the rejected-lines log must hold exactly the records of one clean, uninterrupted
ingest of the file, each once. Exits 0 when every guarantee held, 1 (listing what broke)
otherwise.
"""

# ruff: noqa: T201  (a script: it prints its progress and verdict)

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from meterlib.ledger import Ledger
from meterlib.ledger.ingest import read_log, rejected_log_path
from meterlib.ledger.verify import verify_ledger

EVERY = 400  # one unreadable line, one invalid event and one conflict in every EVERY lines


def write_events(path: Path, count: int) -> set[str]:
    """The seeded events file; the ids of the events that must end up stored."""
    valid: set[str] = set()
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            if n % EVERY == 3:
                out.write('{"id": "broken\n')
                continue
            event = {
                "id": f"evt_{n:07d}_{(n * 7919) % 10007:05d}",
                "customer": f"cus_{n % 17}",
                "type": "api.request",
                "time": f"2024-01-{1 + n % 28:02d}T{n % 24:02d}:00:00+00:00",
                "properties": {"tokens": str(n % 1000), "region": ["eu", "us"][n % 2]},
            }
            if n % EVERY == 5:
                event["time"] = "2024-01-01T00:00:00"  # naive: rejected
            elif n % EVERY == 7:
                event["id"] = f"evt_{n - 1:07d}_{((n - 1) * 7919) % 10007:05d}"  # conflict
                event["properties"] = {"tokens": "999999"}
            else:
                valid.add(str(event["id"]))
            out.write(json.dumps(event) + "\n")
    return valid


def command(events: Path, ledger: Path, batch: int) -> list[str]:
    return [
        sys.executable, "-m", "meterlib", "ingest", str(events), "--ledger", str(ledger),
        "--batch-size", str(batch), "--no-progress",
    ]  # fmt: skip


def committed(ledger: Path) -> int:
    """Batches committed so far, read beside the writer (0 before the ledger exists)."""
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(f"{ledger.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def stored_ids(ledger: Path) -> list[str]:
    with sqlite3.connect(f"{ledger.as_uri()}?mode=ro", uri=True, timeout=5) as db:
        return [row[0] for row in db.execute("SELECT id FROM events")]


def run(  # noqa: PLR0912  (one check per guarantee, in order)
    kills: int, events_count: int, batch: int, seed: int, folder: Path
) -> list[str]:
    """Do the fault run; the list of broken guarantees (empty when all held)."""
    broken: list[str] = []
    rnd = random.Random(seed)  # noqa: S311  (seeded kill moments, not cryptography)
    events = folder / "events.jsonl"
    valid = write_events(events, events_count)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    clean = folder / "clean.sqlite"
    reference = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        command(events, clean, batch), env=env, capture_output=True, text=True, check=False
    )
    if reference.returncode != 1:
        broken.append(f"the clean ingest exited {reference.returncode}: {reference.stderr}")
    expected, _ = read_log(rejected_log_path(clean))

    ledger = folder / "ledger.sqlite"
    total = events_count // batch
    killed = 0
    stored = 0
    for number in range(1, kills + 1):
        before = committed(ledger)
        target = before + rnd.randrange(1, max(2, total // 8))
        child = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            command(events, ledger, batch),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        while child.poll() is None and committed(ledger) < target:
            time.sleep(0.002)
        time.sleep(rnd.uniform(0, 0.03))
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate()
        if child.returncode == -signal.SIGKILL:
            killed += 1
        elif child.returncode != 1:
            broken.append(f"kill {number}: the ingest exited {child.returncode}: {err.decode()}")
        check = verify_ledger(ledger)
        broken.extend(f"kill {number}: {problem}" for problem in check.problems)
        ids = stored_ids(ledger)
        if len(ids) != len(set(ids)):
            broken.append(f"kill {number}: an event is stored twice")
        if not set(ids) <= valid:
            broken.append(f"kill {number}: an invalid or conflicting event was stored")
        if len(ids) < stored:
            broken.append(f"kill {number}: committed events disappeared ({stored} -> {len(ids)})")
        stored = len(ids)
        print(f"kill {number}/{kills}: {committed(ledger)} batches, {stored} events stored")
    if killed == 0:
        broken.append("no ingest was killed (the file is too small for the machine)")

    finished = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        command(events, ledger, batch), env=env, capture_output=True, text=True, check=False
    )
    if finished.returncode != 1:  # the file holds bad lines: 1, never 0, 2 or 3
        broken.append(f"the final ingest exited {finished.returncode}: {finished.stderr}")
    ids = stored_ids(ledger)
    if sorted(ids) != sorted(valid):
        broken.append(f"{len(ids)} events stored at the end, {len(valid)} expected, once each")
    with Ledger(ledger) as opened:
        conflicts = {c.event_id for c in opened.refused()}
    if len(conflicts) != events_count // EVERY:
        broken.append(f"{len(conflicts)} conflicting ids refused, {events_count // EVERY} expected")
    check = verify_ledger(ledger)
    broken.extend(f"at the end: {problem}" for problem in check.problems)
    broken.extend(f"at the end, the log: {problem}" for problem in check.log_problems)
    found, cut = read_log(rejected_log_path(ledger))
    if cut is not None or found != expected:
        broken.append(
            f"the rejected-lines log holds {len(found)} distinct records, a clean ingest "
            f"{len(expected)}"
        )
    print(f"{killed} of {kills} ingests killed; {len(ids)} events stored once each")
    return broken


def main(argv: list[str] | None = None) -> int:
    """Run the fault test; 0 when every guarantee held."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=40, help="ingests to kill (default 40)")
    parser.add_argument("--events", type=int, default=20_000, help="lines in the file")
    parser.add_argument("--batch-size", type=int, default=200, help="events per batch")
    parser.add_argument("--seed", type=int, default=20240301, help="seed of the kill moments")
    parser.add_argument("--dir", type=Path, default=None, help="folder for the files")
    args = parser.parse_args(argv)
    if not hasattr(signal, "SIGKILL"):
        print("needs SIGKILL (POSIX)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        broken = run(args.kills, args.events, args.batch_size, args.seed, Path(folder))
    for problem in broken:
        print(f"BROKEN: {problem}", file=sys.stderr)
    print("every guarantee held" if not broken else f"{len(broken)} guarantee(s) broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
