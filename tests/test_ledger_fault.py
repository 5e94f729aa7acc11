"""Crash safety: an ingest killed with SIGKILL at random moments leaves only whole batches.

A child process ingests a file in small batches; the parent kills it once a (seeded) random
number of new batches is committed, plus a random short delay so the kill also lands inside a
transaction. After every kill the ledger must open and hold only whole batches; running the
same ingest to the end must then store every event exactly once, with no conflicts.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from meterlib.ledger import Ledger

EVENTS = 8_000
BATCH = 200
KILLS = 4
LEFT = 6  # batches still to commit when a kill is due: ~1,200 events, many ms of work


def write_events(path: Path) -> list[str]:
    ids = [f"evt_{n:06d}_{(n * 7919) % 10007:05d}" for n in range(EVENTS)]
    with path.open("w", encoding="utf-8") as out:
        for n, event_id in enumerate(ids):
            event = {
                "id": event_id,
                "customer": f"cus_{n % 17}",
                "type": "api.request",
                "time": f"2024-01-{1 + n % 28:02d}T{n % 24:02d}:00:00+00:00",
                "properties": {"tokens": str(n % 1000), "region": ["eu", "us"][n % 2]},
            }
            out.write(json.dumps(event) + "\n")
    return ids


def command(events: Path, ledger: Path) -> list[str]:
    return [
        sys.executable, "-m", "meterlib", "ingest", str(events), "--ledger", str(ledger),
        "--batch-size", str(BATCH), "--no-progress",
    ]  # fmt: skip


def committed(ledger: Path) -> int:
    """Batches committed so far, read beside the writer (0 before the ledger exists)."""
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(f"{ledger.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
    except sqlite3.OperationalError:
        return 0  # the schema is not written yet


def check_whole_batches(ledger: Path, ids: set[str]) -> int:
    with Ledger(ledger) as opened:
        batches = opened.batches()
        stored = len(opened)
    with sqlite3.connect(ledger) as db:
        counts = dict(db.execute("SELECT batch, count(*) FROM events GROUP BY batch").fetchall())
        found = {row[0] for row in db.execute("SELECT id FROM events")}
        refused = db.execute("SELECT count(*) FROM refused").fetchone()[0]
    assert {b.batch: b.stored for b in batches if b.stored} == counts
    assert sum(b.stored for b in batches) == stored == len(found)
    assert found <= ids
    assert refused == 0
    assert all(b.conflicts == 0 and b.rejected == 0 for b in batches)
    return stored


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_ingests_leave_whole_batches_and_a_rerun_completes(tmp_path):
    rnd = random.Random(20240301)  # noqa: S311  (seeded kill moments, not cryptography)
    events, ledger = tmp_path / "events.jsonl", tmp_path / "ledger.sqlite"
    ids = set(write_events(events))
    total = EVENTS // BATCH
    killed = 0
    stored = 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for _ in range(KILLS):
        before = committed(ledger)
        # Kill while at least LEFT batches remain, so the outcome does not depend on how many
        # batches a fast machine commits during the short random delay below (a few ms).
        target = min(before + rnd.randrange(2, total // 2), total - LEFT)
        child = subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            command(events, ledger), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        while child.poll() is None and committed(ledger) < target:
            time.sleep(0.002)
        time.sleep(rnd.uniform(0, 0.005))
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate()
        if child.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert child.returncode == 0, err.decode()
        now = check_whole_batches(ledger, ids)
        assert now >= stored  # committed batches never disappear
        stored = now
    assert killed >= 1
    assert stored < len(ids)  # something was left for the rerun to do

    finished = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        command(events, ledger), env=env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr
    assert f"{len(ids) - stored} accepted, {stored} duplicates, 0 conflicts" in finished.stdout
    assert check_whole_batches(ledger, ids) == len(ids)
    with sqlite3.connect(ledger) as db:
        assert {row[0] for row in db.execute("SELECT id FROM events")} == ids
