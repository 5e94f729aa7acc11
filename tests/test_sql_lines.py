"""The JSON Lines fast path of the DuckDB source: the same rows, rejections and reports as the
exact Python rules, line for line (meterlib.sql.lines)."""

from __future__ import annotations

import json
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


def _line(event_id: str, **changes: Any) -> str:
    event: dict[str, Any] = {
        "id": event_id,
        "customer": "c1",
        "type": "t",
        "time": "2023-03-10T00:00:00Z",
        "properties": {"q": "12.5", "u": "ana"},
    }
    event.update(changes)
    return json.dumps(event, ensure_ascii=False)


#: Lines each of which the fast path must hand to the exact rules or take with equal fields.
LINES = [
    _line("a"),
    _line("a"),  # duplicate
    _line("a", customer="c2"),  # conflict
    _line("b", properties={"u": "x", "q": "3"}),  # keys not sorted
    _line("c", properties={"q": 3, "u": "x"}),  # a JSON number
    _line("d", properties={"q": "1e2", "u": "x"}),  # not plain digits
    _line("e", properties={"q": "٣", "u": "x"}),  # Arabic-Indic digit
    _line("f", properties={"u": "x"}),  # the sum meter's property missing
    _line("g", type="r", properties={"region": "eu"}),
    _line("h", type="r", properties={}),  # group key missing
    _line("i", time="2023-03-10T00:00:00"),  # naive
    _line("j", time="2023-02-30T00:00:00Z"),  # no such day
    _line("k", time="1900-01-01T00:30:00+01:00"),  # before 1900 as an instant
    _line("l", time="1900-01-01T00:30:00-01:00"),
    _line("m", time="2200-12-31T23:00:00-05:00"),
    _line("n", time="2023-03-10T00:00:00.123456+05:30"),
    _line("o", customer=""),
    _line("p", extra="x"),
    '{"id":"q","id":"q2","customer":"c","type":"t","time":"2023-03-10T00:00:00Z","properties":{}}',
    (
        '{"id":"r","customer":"c","type":"t","time":"2023-03-10T00:00:00Z","properties":'
        '{"q":"1","q":"2","u":"x"}}'
    ),
    _line("s\\u00e9"),
    _line("t", properties={"q": "1", "u": 'a"b'}),
    _line("u", properties={"q": "1", "u": "é ü"}),
    "",
    "   ",
    "\r",
    "not json",
    "[1, 2]",
    _line("v", properties={"q": "1", "u": {"deep": "x"}}),
    _line("w") + "\r",
    _line("x", received_at="2023-03-11T00:00:00Z"),
    " " + _line("y") + " ",
]


def _exact(_connection: Any, block: lines.Block, **options: Any) -> int:
    """The exact rules for every line (the fast path switched off)."""
    blank = options["exact"](list(range(len(block.lines))))
    return len(block.lines) - len(blank)


def _scan(path: Path) -> Any:
    return scan_source(path, METERS, YEAR)


def _compare(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _scan(path)
    with monkeypatch.context() as patched:
        patched.setattr(checked, "screen_jsonl", _exact)
        exact = _scan(path)
    assert fast.table == exact.table
    assert fast.report.rejected == exact.report.rejected
    assert fast.report == exact.report


def test_each_kind_of_line_as_the_exact_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(("\ufeff" + "\n".join(LINES)).encode())
    _compare(path, monkeypatch)
    taken: list[int] = []
    screen = lines.screen_jsonl

    def counted(connection: Any, block: lines.Block, **options: Any) -> int:
        read = options["exact"]

        def spy(rest: list[int]) -> list[int]:
            taken.append(len(block.lines) - len(rest))
            blank: list[int] = read(rest)
            return blank

        return screen(connection, block, **{**options, "exact": spy})

    monkeypatch.setattr(checked, "screen_jsonl", counted)
    report = _scan(path).report
    assert report.duplicates == 1
    assert report.conflict_count == 1
    assert report.rejected  # the bad lines are reported, with their line numbers
    assert any(r.reason.startswith("line 27: ") for r in report.rejected)
    # a, a (not the first line: its BOM), b (keys unsorted), g, l, n, u, w; then the last
    # line (no line break after it) is a block of its own: y.
    assert taken == [8, 1]


def test_invalid_utf8_block_takes_the_exact_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(("\n".join(LINES[:5]) + "\n").encode() + b"\xff\xfe\n" + _line("z").encode())
    _compare(path, monkeypatch)
    assert any("UTF-8" in r.reason for r in _scan(path).report.rejected)


def test_blocks_split_at_line_breaks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join([*LINES, *LINES]) + "\n", encoding="utf-8")
    monkeypatch.setattr(lines, "BLOCK", 200)
    _compare(path, monkeypatch)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(LINES), min_size=1, max_size=30), st.booleans())
def test_any_mix_of_lines(picked: list[str], newline_at_end: bool) -> None:
    import tempfile  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "e.jsonl"
        path.write_text("\n".join(picked) + ("\n" if newline_at_end else ""), encoding="utf-8")
        _compare(path, patch)


def test_blank_lines_between_plain_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blank lines take no receipt position: plain lines after them keep the exact order."""
    path = tmp_path / "e.jsonl"
    picked = [
        _line("a"),
        "",
        "",
        _line("a", customer="c2"),
        "  ",
        _line("b"),
        "not json",
        _line("b"),
    ]
    path.write_text("\n".join(picked) + "\n", encoding="utf-8")
    _compare(path, monkeypatch)
    report = _scan(path).report
    assert report.conflict_count == 1
    assert report.duplicates == 1
    assert [r.reason[:8] for r in report.rejected] == ["line 7: "]


def test_properties_named_like_the_screening_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Properties called n, id, ok, kind, line, ... keep their own values on the fast path."""
    meters = [
        Meter.model_validate(
            {
                "name": "total",
                "type": "t",
                "aggregation": "sum",
                "property": "n",
                "group_by": ["kind"],
            }
        ),
        Meter.model_validate(
            {"name": "oks", "type": "t", "aggregation": "unique_count", "property": "ok"}
        ),
    ]
    names = ["n", "id", "ok", "kind", "line", "moment", "props", "keys", "meterlib_n", "v0"]
    picked = [
        _line(
            f"e{i}",
            properties={name: f"{i + 1}" if name == "n" else f"{name}{i % 3}" for name in names},
        )
        for i in range(12)
    ]
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join([*picked, picked[0]]) + "\n", encoding="utf-8")
    fast = scan_source(path, meters, YEAR)
    with monkeypatch.context() as patched:
        patched.setattr(checked, "screen_jsonl", _exact)
        exact = scan_source(path, meters, YEAR)
    assert fast.table == exact.table
    assert fast.report == exact.report
    assert fast.report.duplicates == 1
    assert sum(value for key, value in fast.table.items() if key.meter == "total") == 78
