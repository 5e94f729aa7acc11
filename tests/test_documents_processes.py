"""Numbering under real concurrency and crashes: several processes, SIGKILL during issue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from meterlib.invoicing.serialize import invoice_from_json
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore

ROOT = Path(__file__).resolve().parent.parent


def worker(path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    return subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        [sys.executable, "-m", "tests.records_worker", str(path), *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def check_gapless(path: Path) -> list[str]:
    """Every stored invoice whole, numbers INV-000001.. without gap or duplicate."""
    with DocumentStore(path) as store:
        documents = list(store.documents())
        numbers = sorted(d.number for d in documents)
        assert numbers == [f"INV-{i:06d}" for i in range(1, len(numbers) + 1)]
        assert store.series_last().get("INV-", 0) == len(numbers)
        for document in documents:
            assert invoice_from_json(document.body).number == document.number
    return numbers


def test_processes_issuing_at_once_never_share_a_number_nor_leave_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    procs = [worker(path, "25", str(n)) for n in range(4)]
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip() == "done"
    numbers = check_gapless(path)
    assert len(numbers) == 100
    with DocumentStore(path) as store:
        customers = {d.customer.rsplit("_", 1)[0] for d in store.documents()}
    assert sorted(customers) == [f"cus_{n}" for n in range(4)]


def test_sigkill_inside_issue_leaves_no_document_and_no_used_number(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    first = worker(path, "3", "a")
    first.communicate(timeout=120)
    assert first.returncode == 0
    killed = worker(path, "10", "b", "kill-at-commit")  # 10 inserted and numbered, not committed
    out, _ = killed.communicate(timeout=120)
    assert out == ""
    assert killed.returncode == -signal.SIGKILL
    assert check_gapless(path) == ["INV-000001", "INV-000002", "INV-000003"]
    after = worker(path, "2", "c")
    assert after.communicate(timeout=120)[0].strip() == "done"
    assert check_gapless(path)[-1] == "INV-000005"  # INV-000004 was never used, so not skipped


def test_sigkill_at_random_moments_leaves_whole_documents_without_gaps(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    for delay in (0.3, 0.6, 0.9, 1.2):
        proc = worker(path, "100000", f"r{delay}")
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
        check_gapless(path)
