"""The CSV fast path of the DuckDB source: the same rows, rejections and reports as the exact
reader of the whole file (meterlib.metering.readers.read_csv), line for line."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib.metering.meters import Meter
from meterlib.periods import Period
from meterlib.sql import checked, lines, scan_source

pytest.importorskip("duckdb")

YEAR = [
    Period(datetime(y, m, 1, tzinfo=UTC), datetime(y + m // 12, m % 12 + 1, 1, tzinfo=UTC))
    for y in (1899, 1900, 2023, 2199, 2200)
    for m in range(1, 13)
]
METERS = [
    Meter.model_validate({"name": "units", "type": "t", "aggregation": "sum", "property": "q"}),
    Meter.model_validate(
        {"name": "users", "type": "t", "aggregation": "unique_count", "property": "u"}
    ),
    Meter.model_validate(
        {"name": "by_region", "type": "r", "aggregation": "count", "group_by": ["region"]}
    ),
]
HEADER = "id,customer,type,time,properties.q,u,region"


def _row(event_id: str, **changes: str) -> str:
    cells = {"id": event_id, "customer": "c1", "type": "t", "time": "2023-03-10T00:00:00Z"}
    cells |= {"q": "12.5", "u": "ana", "region": ""}
    cells.update(changes)
    return ",".join(cells.values())


#: Rows each of which the fast path must hand to the exact rules or take with equal fields.
ROWS = [
    _row("a"),
    _row("a"),  # duplicate
    _row("a", customer="c2"),  # conflict
    _row("b", q="007"),  # a leading zero: the meter reads 7
    _row("c", q="1e2"),
    _row("d", q="٣"),  # Arabic-Indic digit
    _row("e", q=""),  # the sum meter's property missing
    _row("f", q="-1"),
    _row("g", type="r", q="", u="", region="eu"),
    _row("h", type="r", q="", u=""),  # group key missing
    _row("i", time="2023-03-10T00:00:00"),  # naive
    _row("j", time="2023-02-30T00:00:00Z"),  # no such day
    _row("k", time="1900-01-01T00:30:00+01:00"),  # before 1900 as an instant
    _row("l", time="1900-01-01T00:30:00-01:00"),
    _row("m", time="2200-12-31T23:00:00-05:00"),
    _row("n", time="2023-03-10T00:00:00.123456+05:30"),
    _row("o", customer=""),
    _row(""),
    _row("p", u="é ü"),
    _row("q", u='"x,y"'),  # a quoted cell
    _row("r", u='"a""b"'),
    _row("s", u='"two\nlines"'),  # a quoted line break: the next line is no row of its own
    _row("t", u='"open\n' + _row("t2") + '\nshut"'),  # quoted plainly good lines
    _row("v", u="back\\slash"),
    _row("w") + "\r",  # CRLF
    _row("x") + ",extra",
    "x,y",
    "",
    "   ",
    "\r",
    _row("y", u="a\rb"),
    _row("z", q="0.000125"),
    _row("A", q="1.50"),
    _row("E") + "\r\r",  # two carriage returns
    _row("F", u="a\x01b"),  # control characters in a cell
    _row("G", u="a\x7fb"),
]


def test_plain_blocks() -> None:
    """A block is plain (no per-line character check) only without quotes, backslashes and
    control characters but a CRLF line break."""
    plain = [_row("a"), _row("b") + "\r", _row("c", u="é")]
    assert lines.plain_text("\n".join(plain).encode())
    for odd in ('"', "\\", "\x01", "\x7f", "\r\r", "\rx", "\t"):
        assert not lines.plain_text("\n".join([*plain, _row("d") + odd]).encode())
    assert not lines.plain_text((_row("d") + "\r").encode())  # no line break after it


def _whole_file(path: Path) -> Any:
    """The reference: the exact reader over the whole file (no screening)."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(checked, "csv_header", lambda _line: None)
        return scan_source(path, METERS, YEAR)


def _restarted(path: Path) -> Any:
    """The exact reader restarted at every line (the screen taking nothing)."""

    def nothing(_connection: Any, block: lines.Block, _header: Any, **options: Any) -> int:
        return len(block.lines) - len(options["exact"](list(range(len(block.lines)))))

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(checked, "screen_csv", nothing)
        return scan_source(path, METERS, YEAR)


def _compare(path: Path) -> Any:
    fast = scan_source(path, METERS, YEAR)
    for other in (_whole_file(path), _restarted(path)):
        assert fast.report.rejected == other.report.rejected
        assert fast.table == other.table
        assert fast.report == other.report
    return fast


def _write(path: Path, rows: list[str], *, end: str = "\n", last: bool = True) -> None:
    path.write_bytes((HEADER + end + end.join(rows) + (end if last else "")).encode())


def test_each_kind_of_row_as_the_exact_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "e.csv"
    _write(path, ROWS)
    taken: list[int] = []
    screen = lines.screen_csv

    def counted(connection: Any, block: lines.Block, header: Any, **options: Any) -> int:
        read = options["exact"]

        def spy(rest: list[int]) -> list[int]:
            taken.append(len(block.lines) - len(rest))
            none: list[int] = read(rest)
            return none

        return screen(connection, block, header, **{**options, "exact": spy})

    monkeypatch.setattr(checked, "screen_csv", counted)
    report = _compare(path).report
    assert taken
    assert taken[0] >= 10  # the fast path took the plain rows
    assert report.duplicates == 1
    assert report.conflict_count == 1
    reasons = [r.reason for r in report.rejected]
    assert any(r.startswith("line 7: ") for r in reasons)  # d: an Arabic-Indic digit
    assert sum(r.startswith("line ") and "cells where" in r for r in reasons) >= 3
    # the line inside s's quoted field and t2 inside t's open quote are no rows of their own
    assert not any("t2" in str(r.event_id) for r in report.rejected)


def test_bom_crlf_and_a_cut_last_line(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + "\r\n" + "\r\n".join(ROWS[:12])).encode())
    _compare(path)


def test_invalid_utf8_line_rejects_that_line_only(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    data = (HEADER + "\n" + "\n".join(ROWS[:5]) + "\n").encode() + b"\xff,\xfe\n"
    path.write_bytes(data + (_row("z1") + "\n" + _row("z2") + "\n").encode())
    fast = _compare(path)
    assert [r.reason[:8] for r in fast.report.rejected if "UTF-8" in r.reason] == ["line 7: "]
    assert fast.report.accepted >= 3


def test_quoted_fields_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "e.csv"
    rows = [*ROWS, _row("B", u='"opens\n' + _row("in1") + "\n" + _row("in2") + '\nshuts"')]
    _write(path, [*rows, *rows, _row("C", u='"never shut'), _row("D")])
    monkeypatch.setattr(lines, "BLOCK", 150)
    _compare(path)


def test_headers_the_screen_leaves_to_the_exact_reader(tmp_path: Path) -> None:
    for header in (
        "id,customer,type,time,q,q",  # a column twice: every row rejected
        'id,customer,type,time,"properties.q",u',
        "id,customer,type,time,properties.q,q",  # one property twice
        "id,customer,type,time,properties",
        "id,customer,type,time,received_at,properties.q",
        "id,customer,type,properties.q",  # no time
    ):
        path = tmp_path / "h.csv"
        path.write_text(header + "\n" + "\n".join(ROWS[:4]) + "\n", encoding="utf-8")
        assert lines.csv_header(header) is None
        _compare(path)
    assert lines.csv_header("\ufeff" + HEADER + "\r") is not None


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(ROWS), min_size=1, max_size=30),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.integers(60, 400),
)
def test_any_mix_of_rows(picked: list[str], end: str, last: bool, block: int) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        patch.setattr(lines, "BLOCK", block)
        path = Path(folder) / "e.csv"
        _write(path, picked, end=end, last=last)
        _compare(path)


def test_several_files(tmp_path: Path) -> None:
    """Each file has its own header; rejections name the file; receipt order runs on."""
    _write(tmp_path / "a.csv", [*ROWS[:6], _row("s2", u='"x\ny"')])
    _write(tmp_path / "b.csv", [_row("a", customer="c9"), *ROWS[10:14]], end="\r\n")
    source = str(tmp_path / "*.csv")
    fast = scan_source(source, METERS, YEAR)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(checked, "csv_header", lambda _line: None)
        exact = scan_source(source, METERS, YEAR)
    assert fast.report == exact.report
    assert fast.table == exact.table
    assert any(r.reason.startswith(str(tmp_path / "b.csv")) for r in fast.report.rejected)
    assert fast.report.conflict_count == 2
