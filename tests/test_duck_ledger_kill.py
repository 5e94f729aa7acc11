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


# Batches of a full DuckDB row group (122,880 rows) or more are written to the file before their
# commit (DuckDB's optimistic writes), not through the write-ahead log: ingest's default batch
# for a DuckDB ledger read in columns. Killed at any moment, the ledger keeps whole batches.
LARGE = 123_000
LARGE_WRITER = """
import sys
import pyarrow as pa
import pyarrow.compute as pc
from meterlib.ledger.duck import DuckLedger

n = pa.array(range(SIZE), pa.int64())
text = pc.cast(n, pa.string())
with DuckLedger(sys.argv[1], threads=1) as ledger:
    for b in range(COUNT):
        ids = pc.binary_join_element_wise(f"big{b}_", text, "")
        customers = pc.cast(pc.bit_wise_and(n, 7), pa.string())
        table = pa.table({
            "id": ids, "customer": pc.binary_join_element_wise("cus_", customers, ""),
            "type": pa.array(["t"] * SIZE), "time_us": pc.add(n, 1_704_067_200_000_000),
            "offset_us": pa.array([0] * SIZE, pa.int64()),
            "props": pc.binary_join_element_wise('{"qty":"', text, '"}', ""),
            "numbers": pa.nulls(SIZE, pa.string()),
        })
        ledger.append_rows(table)
        print(b, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_of_row_group_batches_leaves_whole_batches(tmp_path):
    rnd = random.Random(61)  # noqa: S311  (seeded kill moments)
    ledger = tmp_path / "l.duckdb"
    code = LARGE_WRITER.replace("SIZE", str(LARGE)).replace("COUNT", "4")
    run = [sys.executable, "-c", code, str(ledger)]
    killed = 0
    for _ in range(2):
        child = subprocess.Popen(run, stdout=subprocess.PIPE, text=True)  # noqa: S603
        assert child.stdout is not None
        child.stdout.readline()  # one batch committed (the next reruns it as duplicates)
        time.sleep(rnd.random() * 0.5)  # inside a later batch's writes, or between batches
        child.send_signal(signal.SIGKILL)
        child.communicate()
        killed += child.returncode == -signal.SIGKILL
        with DuckLedger(ledger, threads=1) as opened:
            counts = {b.batch: b.stored for b in opened.batches() if b.stored}
            assert set(counts.values()) == {LARGE}
            assert len(opened) == sum(counts.values())
    assert killed > 0
    subprocess.run(run, check=True, capture_output=True)  # noqa: S603
    with DuckLedger(ledger, threads=1) as opened:
        assert len(opened) == 4 * LARGE
        stored = opened._db.execute("SELECT count(DISTINCT id), count(*) FROM events").fetchone()
        assert stored == (4 * LARGE, 4 * LARGE)
