"""Crash safety of the DuckDB ledger: a writer killed with SIGKILL leaves only whole batches,
and appending the same batches again completes the ledger (the rest counted as duplicates)."""

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from meterlib.ledger.duck import DuckLedger

BATCHES = 15  # the kill comes after at most 3 printed batches: 12 more to land in
BATCH = 300

WRITER = """
import sys
from meterlib.ledger.duck import DuckLedger

def batch(b):
    return [
        {"id": f"e{b:03d}_{n:04d}", "customer": f"cus_{n % 7}", "type": "t",
         "time": f"2024-01-{1 + n % 28:02d}T00:00:00+00:00", "properties": {"qty": str(n)}}
        for n in range(SIZE)
    ]

with DuckLedger(sys.argv[1], threads=1) as ledger:
    for b in range(COUNT):
        ledger.append(batch(b))
        print(b, flush=True)
"""


# The same batches read in columns from a JSON Lines file and stored by append_rows.
COLUMNS_WRITER = """
import sys
from meterlib.ledger.blocks import ColumnBlock, read_blocks
from meterlib.ledger.duck import DuckLedger

with DuckLedger(sys.argv[1], threads=1) as ledger, open(sys.argv[2], "rb") as stream:
    for b, block in enumerate(read_blocks(stream, "jsonl", lines=SIZE)):
        assert isinstance(block, ColumnBlock)
        ledger.append_rows(block.table)
        print(b, flush=True)
"""


def _events_file(folder: Path) -> Path:
    path = folder / "events.jsonl"
    if not path.exists():
        lines = [
            f'{{"id":"e{b:03d}_{n:04d}","customer":"cus_{n % 7}","type":"t",'
            f'"time":"2024-01-{1 + n % 28:02d}T00:00:00+00:00","properties":{{"qty":"{n}"}}}}\n'
            for b in range(BATCHES)
            for n in range(BATCH)
        ]
        path.write_text("".join(lines), encoding="ascii")
    return path


def writer(ledger: Path, *, columns: bool = False) -> subprocess.Popen[str]:
    code = (COLUMNS_WRITER if columns else WRITER).replace("SIZE", str(BATCH))
    code = code.replace("COUNT", str(BATCHES))
    extra = [str(_events_file(ledger.parent))] if columns else []
    return subprocess.Popen(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", code, str(ledger), *extra], stdout=subprocess.PIPE, text=True
    )


def whole(ledger: Path) -> int:
    with DuckLedger(ledger, threads=1) as opened:
        counts: dict[int, int] = {}
        for stored in opened.events():
            counts[stored.batch] = counts.get(stored.batch, 0) + 1
        batches = opened.batches()
        assert {b.batch: b.stored for b in batches if b.stored} == counts
        assert all(count == BATCH for count in counts.values())
        return len(opened)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("columns", [False, True])
def test_killed_writer_leaves_whole_batches_and_a_rerun_completes(tmp_path, columns):
    rnd = random.Random(16)  # noqa: S311  (seeded kill moments)
    ledger = tmp_path / "l.duckdb"
    killed = 0
    for _ in range(3):
        child = writer(ledger, columns=columns)
        assert child.stdout is not None
        wanted = rnd.randrange(1, 4)
        for _ in range(wanted):
            if not child.stdout.readline():
                break
        time.sleep(rnd.random() * 0.05)  # lands inside a transaction now and then
        child.send_signal(signal.SIGKILL)
        child.communicate()
        killed += child.returncode == -signal.SIGKILL
        assert whole(ledger) % BATCH == 0
    assert killed > 0
    child = writer(ledger, columns=columns)
    child.communicate()
    assert child.returncode == 0
    assert whole(ledger) == BATCHES * BATCH
