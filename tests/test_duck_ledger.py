"""The DuckDB ledger's own cases: ids in any script are found again across batches."""

import pytest

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from meterlib.ledger.duck import DuckLedger


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
