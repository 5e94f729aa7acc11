"""Exit statuses of the command line, and interruptions that stop cleanly.

0 success, 1 data problems, 2 wrong usage, 3 storage faults, 130 interrupted (Ctrl-C) with what
was committed reported and no traceback. An ingest killed part-way and run again leaves each
rejection once in the rejected-lines log.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from meterlib.cli import EXIT_DATA, EXIT_INTERRUPTED, EXIT_OK, EXIT_STORAGE, EXIT_USAGE, main
from meterlib.ledger import Ledger
from meterlib.ledger.ingest import read_log
from meterlib.ledger.verify import verify_ledger

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}


def meterlib(*args: str) -> list[str]:
    return [sys.executable, "-m", "meterlib", *args]


def write_events(path: Path, count: int) -> None:
    """``count`` lines: valid events, with a bad line, an invalid event and a conflict every 500."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            if n % 500 == 7:
                out.write("{not json\n")
                continue
            event = {
                "id": f"evt_{n:07d}",
                "customer": f"cus_{n % 13}",
                "type": "api.call",
                "time": f"2024-03-{1 + n % 28:02d}T{n % 24:02d}:00:00+00:00",
                "properties": {"tokens": str(n % 1000)},
            }
            if n % 500 == 9:
                event["time"] = "2024-03-01T00:00:00"  # naive: rejected
            if n % 500 == 11:
                event["id"] = f"evt_{n - 1:07d}"  # a conflicting copy of the line before
            out.write(json.dumps(event) + "\n")


def committed(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(f"{ledger.as_uri()}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT count(*) FROM batches").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def wait_for_batches(child: subprocess.Popen[Any], ledger: Path, count: int) -> None:
    deadline = time.monotonic() + 300
    while child.poll() is None and committed(ledger) < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_statuses_are_distinct():
    assert len({EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_STORAGE, EXIT_INTERRUPTED}) == 5


def test_wrong_usage_exits_2_and_errors_are_one_line_without_traceback(tmp_path):
    wrong = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        meterlib("ingest", "--no-such-option"), env=ENV, capture_output=True, text=True, check=False
    )
    assert wrong.returncode == EXIT_USAGE
    bad = tmp_path / "meters.toml"
    bad.write_text("[[meters]]\nname = 'x'\n", encoding="utf-8")
    failed = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        meterlib("usage", "--ledger", str(tmp_path / "l.sqlite"), "--meters", str(bad)),
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == EXIT_USAGE
    assert "Traceback" not in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert failed.stderr.startswith("meterlib usage: error: ")


def test_data_problems_exit_1(tmp_path, capsys):
    events = tmp_path / "e.jsonl"
    write_events(events, 20)
    assert main(["ingest", str(events), "--ledger", str(tmp_path / "l.sqlite")]) == EXIT_DATA
    assert "3 rejected line(s) and conflict(s) recorded" in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_mid_ingest_stops_cleanly_and_reports_what_was_committed(tmp_path):
    events, ledger = tmp_path / "big.jsonl", tmp_path / "l.sqlite"
    # 60 batches: the signal comes after 3, with room to spare however fast the machine.
    write_events(events, 60_000)
    args = meterlib("ingest", str(events), "--ledger", str(ledger), "--batch-size", "1000")
    with subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
        [*args, "--no-progress"], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    ) as child:
        wait_for_batches(child, ledger, 3)
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=300)
    if child.returncode != EXIT_INTERRUPTED:  # the ingest finished before the signal came
        pytest.skip(f"the ingest ended first (status {child.returncode})")
    assert "Traceback" not in err
    assert "interrupted" in err
    assert "committed before the interruption:" in err
    with Ledger(ledger) as opened:
        batches = opened.batches()
        stored = len(opened)
    assert f"{len(batches)} batch(es), {stored} event(s) stored" in err
    assert verify_ledger(ledger).problems == ()

    rerun = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [*args, "--no-progress"], env=ENV, capture_output=True, text=True, check=False
    )
    assert rerun.returncode == EXIT_DATA, rerun.stderr  # the file holds bad lines
    check = verify_ledger(ledger)
    assert check.ok, check.summary()
    with Ledger(ledger) as opened:
        assert len(opened) == 60_000 - 3 * 120


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_killed_ingest_run_again_logs_each_rejection_once(tmp_path):
    events = tmp_path / "e.jsonl"
    write_events(events, 20_000)
    clean = tmp_path / "clean.sqlite"
    assert main(["ingest", str(events), "--ledger", str(clean), "--batch-size", "500"]) == 1
    expected, _ = read_log(Path(f"{clean}.rejected.jsonl"))

    ledger = tmp_path / "l.sqlite"
    args = meterlib("ingest", str(events), "--ledger", str(ledger), "--batch-size", "500")
    for target in (5, 17):
        with subprocess.Popen(  # noqa: S603  (our own interpreter and arguments)
            [*args, "--no-progress"], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        ) as child:
            wait_for_batches(child, ledger, target)
            child.send_signal(signal.SIGKILL)
            child.communicate()
    rerun = subprocess.run(  # noqa: S603  (our own interpreter and arguments)
        [*args, "--no-progress"], env=ENV, capture_output=True, text=True, check=False
    )
    assert rerun.returncode == EXIT_DATA, rerun.stderr
    log = Path(f"{ledger}.rejected.jsonl")
    found, cut = read_log(log)
    assert cut is None
    assert found == expected
    assert len(log.read_text(encoding="utf-8").splitlines()) == len(expected)
    assert verify_ledger(ledger).ok


def test_a_log_line_cut_short_is_dropped_before_appending(tmp_path, capsys):
    events = tmp_path / "e.jsonl"
    write_events(events, 20)
    ledger = tmp_path / "l.sqlite"
    log = Path(f"{ledger}.rejected.jsonl")
    log.write_text('{"file": "e.jsonl", "line": 8, "pro', encoding="utf-8")
    assert main(["ingest", str(events), "--ledger", str(ledger)]) == EXIT_DATA
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert main(["ingest", str(events), "--ledger", str(ledger)]) == EXIT_DATA
    assert "3 rejection(s) and conflict(s) were already recorded" in capsys.readouterr().out
    assert len(log.read_text(encoding="utf-8").splitlines()) == 3


def test_an_invoice_from_events_with_a_rejected_event_exits_1(tmp_path, capsys):
    example = Path(__file__).resolve().parent.parent / "examples" / "invoicing"
    events = tmp_path / "events.jsonl"
    lines = (example / "events.jsonl").read_text(encoding="utf-8").splitlines()
    bad = {**json.loads(lines[0]), "id": "evt_bad", "time": "2023-03-02T00:00:00"}  # naive
    events.write_text("\n".join([*lines, json.dumps(bad)]) + "\n", encoding="utf-8")
    contract = str(example / "contract.toml")
    args = ["invoice", contract, "--period", "2023-03", "--format", "json"]
    assert main([*args, "--events", str(example / "events.jsonl")]) == EXIT_OK
    capsys.readouterr()
    assert main([*args, "--events", str(events)]) == EXIT_DATA
    captured = capsys.readouterr()
    assert "1 rejected" in captured.err
    assert json.loads(captured.out)["lines"]  # the invoice is still written
