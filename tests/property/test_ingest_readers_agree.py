"""The columnar ingest reader and the line-by-line one store and report the same, line for line.

Hypothesis draws event streams (plain events, events with numbers, nested or odd properties,
re-sent duplicates and conflicting copies, junk lines: bad JSON, invalid UTF-8, duplicate keys,
deep nesting, ``NaN``, a byte-order mark, CRLF, a truncated last line, non-ASCII digits, lone
surrogates, extreme times) written as JSON Lines or CSV, and ingests each file twice into fresh
ledgers of each backend: once read line by line (``columns=False``, the zero-dependency path)
and once in columns (``columns=True``) with small blocks, so that plain and unusual blocks mix.
Both must store the same events in the same order, refuse the same versions, count the same
and write the same records (file, line number, reason, input) to the rejected-lines log.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib.ledger.backends import open_ledger
from meterlib.ledger.ingest import Ingest, RejectLog
from tests.property.test_engines_agree import _write_csv, _write_jsonl, items

pytest.importorskip("pyarrow")
pytest.importorskip("duckdb")


@st.composite
def plain_events(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Events the columnar reader takes whole (some re-sent, some conflicting)."""
    found: list[tuple[str, Any]] = []
    for n in range(draw(st.integers(1, 8))):
        event = {
            "id": f"p{draw(st.integers(0, 5))}",
            "customer": draw(st.sampled_from(["c1", "c2"])),
            "type": "api.call",
            "time": draw(
                st.sampled_from(
                    ["2024-01-05T00:00:00Z", "2024-01-31T23:30:00-05:00",
                     "2024-02-01T00:00:00.25+01:00", "1901-01-01T00:00:00Z"]
                )
            ),
            "properties": draw(
                st.dictionaries(st.sampled_from(["qty", "region"]), st.sampled_from(["1", "2", ""]))
            ),
        }
        del n
        found.append(("event", event))
    return found


@st.composite
def streams(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """Plain runs and unusual items, mixed."""
    mixed = draw(items())
    for _ in range(draw(st.integers(1, 3))):
        spot = draw(st.integers(0, len(mixed)))
        mixed[spot:spot] = draw(plain_events())
    return mixed


def _ingest(backend: str, folder: Path, events: Path, *, columns: bool, block: int) -> Any:
    ledger_path = folder / f"{backend}-{columns}.{'duckdb' if backend == 'duckdb' else 'sqlite'}"
    log = RejectLog(folder / f"{backend}-{columns}.log")
    with open_ledger(ledger_path, backend=backend) as ledger:
        run = Ingest(ledger, batch_size=block, log=log, columns=columns)
        with events.open("rb") as stream:
            run.file("events", stream, "csv" if events.suffix == ".csv" else "jsonl")
        stored = [item.event for item in ledger.events()]
        refused = ledger.refused()
    log.close()
    records = []
    if log.path.exists():
        for line in log.path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            record.pop("lines", None)  # a conflict's lines depend on where the batches split
            records.append(json.dumps(record, sort_keys=True))
    totals = run.totals
    counts = (totals.lines, totals.accepted, totals.duplicates, totals.conflicts, totals.rejected)
    return stored, refused, counts, sorted(records)


@given(
    stream=streams(),
    layout=st.sampled_from(["jsonl", "csv"]),
    bom=st.booleans(),
    crlf=st.booleans(),
    cut=st.booleans(),
    block=st.integers(1, 6),
)
def test_the_columnar_reader_stores_and_reports_as_the_line_reader(  # noqa: PLR0917
    stream: list[tuple[str, Any]], layout: str, bom: bool, crlf: bool, cut: bool, block: int
) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        events = folder / f"events.{layout}"
        if layout == "jsonl":
            _write_jsonl(events, stream, bom, crlf, cut)
        else:
            _write_csv(events, stream, nested=False, bom=bom, crlf=crlf, twice=False)
        for backend in ("sqlite", "duckdb"):
            lines = _ingest(backend, folder, events, columns=False, block=block)
            columns = _ingest(backend, folder, events, columns=True, block=block)
            assert columns[2] == lines[2], backend
            assert set(columns[3]) ^ set(lines[3]) == set(), backend
            assert columns == lines, backend


def test_plain_blocks_are_read_in_columns_and_unusual_ones_line_by_line(tmp_path: Path) -> None:
    from meterlib.ledger.blocks import ColumnBlock, read_blocks  # noqa: PLC0415

    plain = (
        '{"id":"a","customer":"c","type":"t","time":"2024-01-05T00:00:00Z",'
        '"properties":{"qty":"1"}}\n'
    )
    odd = (
        '{"id":"b","customer":"c","type":"t","time":"2024-01-05T00:00:00Z",'
        '"properties":{"qty":1}}\n'
    )
    path = tmp_path / "e.jsonl"
    path.write_text(plain * 2 + odd + "{broken\n" + plain)
    with path.open("rb") as stream:
        blocks = list(read_blocks(stream, "jsonl", lines=2))
    assert [type(b) is ColumnBlock for b in blocks] == [True, False, True]
    assert isinstance(blocks[0], ColumnBlock)
    assert blocks[0].lines == [1, 2]
    odd_block = blocks[1]
    assert isinstance(odd_block, list)
    assert [raw[0] for raw in odd_block] == [3, 4]
    assert odd_block[1][3] is not None
    assert odd_block[1][3].startswith("line 4: ")


def test_csv_blocks_are_numbered_after_the_header(tmp_path: Path) -> None:
    from meterlib.ledger.blocks import ColumnBlock, read_blocks  # noqa: PLC0415

    path = tmp_path / "e.csv"
    path.write_text(
        "id,customer,type,time,properties.qty\n"
        "a,c,t,2024-01-05T00:00:00Z,1\nb,c,t,2024-01-05T00:00:00+01:00,\n"
        "h,c,t,9999-12-31T23:00:00-05:00,0\nd,c,t,2024-01-05T00:00:00Z,1\n"
    )
    with path.open("rb") as stream:
        blocks = list(read_blocks(stream, "csv", lines=2))
    assert isinstance(blocks[0], ColumnBlock)
    assert blocks[0].lines == [2, 3]
    assert blocks[0].table.column("props").to_pylist() == ['{"qty":"1"}', "{}"]
    assert blocks[0].table.column("offset_us").to_pylist() == [0, 3_600_000_000]
    assert isinstance(blocks[1], list)
    assert [raw[0] for raw in blocks[1]] == [4, 5]
