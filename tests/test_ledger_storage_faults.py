"""Storage faults are named errors with their own exit status, and refused before any write.

A busy ledger (a real second process holding its write lock) waits for the busy timeout and
then raises LedgerBusyError naming that process where /proc/locks shows it; opening it never
says "not a meterlib ledger". A damaged ledger (garbage bytes in the middle) and a foreign file
are refused before anything is written, and ``meterlib ingest`` on them exits 3, never 0.
``meterlib verify`` checks integrity, counts and the rejected-lines log.
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlib.cli import main
from meterlib.errors import InvalidValueError
from meterlib.ledger import (
    Ledger,
    LedgerBusyError,
    LedgerCorruptError,
    LedgerError,
    LedgerFormatError,
)
from meterlib.ledger.verify import verify_ledger

HOLD = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute("INSERT INTO meta VALUES ('held', 'by a test')")
print("ready", flush=True)
sys.stdin.read()  # holds the lock until the test closes stdin or kills it, however slow the machine
"""


def event(n: int, **props: str) -> dict[str, object]:
    return {
        "id": f"evt_{n:06d}",
        "customer": f"cus_{n % 7}",
        "type": "api.call",
        "time": f"2024-01-{1 + n % 28:02d}T10:00:00+00:00",
        "properties": {"tokens": str(n % 100), **props},
    }


def write_events(path: Path, count: int, start: int = 0) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(start, start + count):
            out.write(json.dumps(event(n)) + "\n")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "l.sqlite"
    with Ledger(path) as opened:
        opened.append([event(n) for n in range(3000)])
    return path


@pytest.fixture
def holder(ledger: Path) -> Iterator[subprocess.Popen[str]]:
    """A second process holding the ledger's write lock."""
    with subprocess.Popen(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", HOLD, str(ledger)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield child
        child.kill()


def test_a_busy_ledger_opens_then_names_the_process_that_holds_it(ledger, holder):
    with Ledger(ledger, timeout=0.2) as opened:  # opening needs no write lock
        assert len(opened) == 3000
        with pytest.raises(LedgerBusyError) as caught:
            opened.append([event(5000)])
        assert len(opened) == 3000
    error = caught.value
    assert isinstance(error, LedgerError)
    assert "is busy" in str(error)
    assert "not a meterlib ledger" not in str(error)
    if Path("/proc/locks").exists():
        assert error.holders == (holder.pid,)
        assert f"process {holder.pid}" in str(error)


@pytest.mark.usefixtures("holder")
def test_ingest_into_a_busy_ledger_exits_3_with_one_line(ledger, tmp_path, capsys):
    events = tmp_path / "e.jsonl"
    write_events(events, 10, start=9000)
    status = main(["ingest", str(events), "--ledger", str(ledger), "--busy-timeout", "0.2"])
    assert status == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "is busy" in err
    assert "not a meterlib ledger" not in err
    with Ledger(ledger) as opened:
        assert len(opened) == 3000


@pytest.mark.usefixtures("holder")
def test_the_busy_timeout_comes_from_the_environment(ledger, tmp_path, capsys, monkeypatch):
    events = tmp_path / "e.jsonl"
    write_events(events, 3, start=9000)
    monkeypatch.setenv("METERLIB_BUSY_TIMEOUT", "0.1")
    assert main(["ingest", str(events), "--ledger", str(ledger)]) == 3
    assert "more than 0.1 s" in capsys.readouterr().err
    monkeypatch.setenv("METERLIB_BUSY_TIMEOUT", "soon")
    assert main(["ingest", str(events), "--ledger", str(ledger)]) == 2
    assert "'METERLIB_BUSY_TIMEOUT' must be a number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize("timeout", [-1, "5", True, 10**6])
def test_the_timeout_is_checked(ledger, timeout):
    with pytest.raises(InvalidValueError, match="'timeout' must be a number of seconds"):
        Ledger(ledger, timeout=timeout)


def damage(path: Path) -> None:
    """Overwrite 4 KiB in the middle of the file with seeded garbage."""
    size = path.stat().st_size
    rnd = random.Random(14)  # noqa: S311  (seeded garbage, not cryptography)
    with path.open("r+b") as file:
        file.seek(size // 2)
        file.write(bytes(rnd.randrange(256) for _ in range(4096)))


def test_a_damaged_ledger_is_refused_before_anything_is_written(ledger, tmp_path, capsys):
    damage(ledger)
    before = digest(ledger)
    with Ledger(ledger) as opened, pytest.raises(LedgerCorruptError, match="is damaged"):
        opened.check()
    events = tmp_path / "e.jsonl"
    write_events(events, 10, start=9000)
    assert main(["ingest", str(events), "--ledger", str(ledger)]) == 3
    err = capsys.readouterr().err
    assert "is damaged" in err
    assert "Traceback" not in err
    assert digest(ledger) == before
    assert main(["verify", "--ledger", str(ledger)]) == 3
    out = capsys.readouterr().out
    assert "problem: integrity:" in out


def test_a_foreign_sqlite_file_is_refused_untouched(tmp_path, capsys):
    foreign = tmp_path / "other.sqlite"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE things (name TEXT)")
        db.execute("INSERT INTO things VALUES ('kept')")
    db.close()
    before = digest(foreign)
    with pytest.raises(LedgerFormatError, match="is an SQLite file but not a meterlib ledger"):
        Ledger(foreign)
    events = tmp_path / "e.jsonl"
    write_events(events, 3)
    assert main(["ingest", str(events), "--ledger", str(foreign)]) == 3
    assert "not a meterlib ledger" in capsys.readouterr().err
    assert digest(foreign) == before
    assert not Path(f"{foreign}-wal").exists()
    assert main(["verify", "--ledger", str(foreign)]) == 3


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("plain text, not a database\n" * 200, encoding="utf-8")
    before = digest(text)
    with pytest.raises(LedgerFormatError, match="not an SQLite file"):
        Ledger(text)
    assert digest(text) == before


def test_verify_a_healthy_ledger_and_a_log_holding_a_record_twice(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    events = tmp_path / "e.jsonl"
    write_events(events, 200)
    with events.open("a", encoding="utf-8") as out:
        out.write("not json\n")
        out.write(json.dumps({**event(3), "properties": {"tokens": "9"}}) + "\n")  # conflict
    assert main(["ingest", str(events), "--ledger", str(ledger), "--batch-size", "50"]) == 1
    capsys.readouterr()
    assert main(["verify", "--ledger", str(ledger)]) == 0
    out = capsys.readouterr().out
    assert "200 events in 5 batches, 1 refused versions" in out
    assert "2 records" in out
    assert "ok:" in out
    check = verify_ledger(ledger)
    assert check.ok
    log = Path(f"{ledger}.rejected.jsonl")
    first = log.read_text(encoding="utf-8").splitlines()[0]
    with log.open("a", encoding="utf-8") as out:
        out.write(first + "\n")
    assert main(["verify", "--ledger", str(ledger)]) == 1
    assert "log problem: the record of line 1 is there 2 times" in capsys.readouterr().out


def test_verify_finds_counts_that_disagree(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    with Ledger(ledger) as opened:
        opened.append([event(n) for n in range(10)])
    with sqlite3.connect(ledger) as db:
        db.execute("DELETE FROM events WHERE id = 'evt_000003'")
    db.close()
    assert main(["verify", "--ledger", str(ledger)]) == 3
    out = capsys.readouterr().out
    assert "the batches stored 10 events, the events table holds 9" in out
    assert "batch 1 stored 10 events, 9 name it" in out


def test_a_missing_ledger_is_a_problem_for_verify(tmp_path, capsys):
    assert main(["verify", "--ledger", str(tmp_path / "none.sqlite")]) == 3
    assert "does not exist" in capsys.readouterr().out


@pytest.mark.usefixtures("holder")
def test_reading_commands_wait_for_no_writer(ledger, capsys):
    meters = Path(__file__).resolve().parent.parent / "examples" / "metering" / "meters.toml"
    args = ["usage", "--ledger", str(ledger), "--meters", str(meters), "--busy-timeout", "0.2"]
    assert main(args) == 0, capsys.readouterr().err
    assert verify_ledger(ledger).problems == ()
