"""The DuckDB ledger's own cases: ids in any script are found again across batches."""

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from meterlib.ledger import Ledger
from meterlib.ledger.backends import DUCK_BATCH_SIZE
from meterlib.ledger.duck import DuckLedger
from meterlib.ledger.ingest import BATCH_SIZE, Ingest


def event(eid: str, qty: str) -> dict[str, object]:
    time = "2024-01-10T00:00:00+00:00"
    return {"id": eid, "customer": "c", "type": "t", "time": time, "properties": {"qty": qty}}


@pytest.mark.parametrize("ids", [["~", "é", "😀", "\u4e00", "A"], ["b", "a"]])
def test_stored_ids_are_found_whatever_their_characters(tmp_path, ids):
    with DuckLedger(tmp_path / "l.duckdb", threads=1) as ledger:
        first = ledger.append([event(i, "1") for i in ids])
        assert first.accepted == len(ids)
        for one in ids:  # each alone, so the id bounds of the batch are that one id
            again = ledger.append([event(one, "1"), event(one, "2")])
            assert (again.accepted, again.duplicates, again.conflict_count) == (0, 1, 1)
        assert len(ledger) == len(ids)
        assert len(ledger.refused()) == len(ids)  # each refused version kept once


def test_ingest_batches_a_duckdb_ledger_read_in_columns_by_row_groups(tmp_path):
    with DuckLedger(tmp_path / "l.duckdb", threads=1) as duck, Ledger(tmp_path / "l.db") as lite:
        assert Ingest(duck, columns=True).batch_size == DUCK_BATCH_SIZE == 2 * 122_880
        assert Ingest(duck, columns=False).batch_size == BATCH_SIZE  # dicts: memory
        assert Ingest(duck, columns=True, batch_size=7).batch_size == 7
        assert Ingest(lite, columns=True).batch_size == BATCH_SIZE


def test_stored_rows_are_found_in_any_earlier_batch(tmp_path):
    # the look-up finds ids by their column, then fetches the rows by seq across batches
    with DuckLedger(tmp_path / "l.duckdb", threads=1) as ledger:
        for n in range(6):
            ledger.append([event(f"{n}-{k}", str(k)) for k in range(50)])
        again = [event(f"{n}-{n * 7}", str(n * 7)) for n in range(6)]
        again += [event(f"{n}-{n + 1}", "999") for n in range(6)]
        report = ledger.append(again)
        assert (report.accepted, report.duplicates, report.conflict_count) == (0, 6, 6)
        stored = {c.first.id: c.first.properties["qty"] for c in report.conflicts}
        assert stored == {f"{n}-{n + 1}": str(n + 1) for n in range(6)}
