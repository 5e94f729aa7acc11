"""The engines agree on every file: the same usage and the same rejections, line for line.

Hypothesis draws event streams, well-formed and malformed (bad JSON, a truncated last line, a
byte-order mark, CRLF, numbers as JSON numbers and as text, nested and flat properties, naive,
offset and extreme times, duplicates and conflicting duplicates, non-ASCII digits, lone
surrogates, invalid UTF-8, deep nesting, duplicate keys and duplicate CSV columns), writes each
as JSON Lines, CSV or Parquet, and reads the file with

- the accumulator, fed through meterlib's reader (:mod:`meterlib.metering.readers`),
- the SQLite ledger, through the library ingest path (reader, then ``Ledger.append``), and
- DuckDB (:func:`meterlib.sql.scan_source`).

All three must give the same usage table and the same rejections: the same line numbers with
the same reasons. (A clean refusal by all three would also do; no stream drawn here needs one.)
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError
from meterlib.ledger import Ledger
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.readers import RawLine, read_csv, read_jsonl, read_parquet
from meterlib.sql import scan_source
from tests.budget import examples
from tests.metering_strategies import CYCLE, METERS, WINDOW, event_sets, hostile_events

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _core_rules() -> bool:
    """True once the number funnel refuses non-ASCII digits and out-of-range exponents."""
    for text in ("١٢", "1e1000000"):
        try:
            to_decimal(text)
        except InvalidValueError:
            continue
        return False
    return True


CORE = _core_rules()


def _core_refuses(value: Any) -> bool:
    """Values only the funnel's new rules refuse (left out of streams until they land)."""
    if CORE or not isinstance(value, str):
        return False
    text = value.strip()
    return (not text.isascii() and any(c.isdigit() for c in text)) or "e1000000" in text.lower()


# -- drawing a file ------------------------------------------------------------------------

_JUNK = (
    "{not json",
    '{"id": "j", "customer": "c"',
    "[1, 2]",
    '"text"',
    '{"id": "d", "id": "d", "customer": "c", "type": "api.call", "time": "2024-01-05T00:00:00Z"}',
    (
        '{"id": "k", "customer": "c", "type": "api.call", "time": "2024-01-05T00:00:00Z", '
        '"properties": {"qty": "1", "qty": "2"}}'
    ),
    '{"id": "n", "customer": "c", "type": "api.call", "time": "2024-01-05T00:00:00Z", '
    '"properties": {"qty": ' + "[" * 80 + "]" * 80 + "}}",
    (
        '{"id": "f", "customer": "c", "type": "api.call", "time": "2024-01-05T00:00:00Z", '
        '"properties": {"qty": NaN}}'
    ),
    '{"id": "x", "customer": "c", "type": "api.call", "time": "2024-01-05T00:00:00Z", "qty": "1"}',
)


@st.composite
def items(draw: st.DrawFn) -> list[tuple[str, Any]]:
    """A stream: events (valid, hostile, re-sent, conflicting) and junk lines, in order."""
    stream: list[tuple[str, Any]] = [("event", e) for e in draw(event_sets(max_events=12))]
    for n in range(draw(st.integers(0, 4))):
        spot = draw(st.integers(0, len(stream)))
        stream.insert(spot, ("event", draw(hostile_events(f"h{n}"))))
    for _ in range(draw(st.integers(0, 3))):
        spot = draw(st.integers(0, len(stream)))
        junk = draw(st.sampled_from([*_JUNK, b'{"id": "\xff"}', b"\xc3(,\xff\n"]))
        stream.insert(spot, ("junk", junk))
    return [
        item
        for item in stream
        if item[0] == "junk" or not any(map(_core_refuses, item[1]["properties"].values()))
    ]


def _json_text(value: Any) -> str:
    """JSON with numbers as written (Decimal in plain digits) and \\u escapes for surrogates."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{_json_text(k)}:{_json_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Decimal):
        return format(value, "f")
    return json.dumps(value, ensure_ascii=True)


def _encode(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", errors="surrogatepass")


def _write_jsonl(
    path: Path, stream: list[tuple[str, Any]], bom: bool, crlf: bool, cut: bool
) -> None:
    lines = [_encode(_json_text(v) if kind == "event" else v).rstrip(b"\n") for kind, v in stream]
    end = b"\r\n" if crlf else b"\n"
    data = b"".join(line + end for line in lines)
    if cut and lines:
        data = data[: len(data) - len(end) - len(lines[-1]) // 2]  # a truncated last line
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)


def _cell(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def _write_csv(
    path: Path,
    stream: list[tuple[str, Any]],
    *,
    nested: bool,
    bom: bool,
    crlf: bool,
    twice: bool,
    cut: bool = False,
) -> None:
    events = [v for kind, v in stream if kind == "event"]
    names = sorted({name for e in events for name in e["properties"]})
    columns = ["id", "customer", "type", "time"]
    columns += ["properties"] if nested else [f"properties.{n}" for n in names]
    if twice:
        columns.append("customer")
    end = "\r\n" if crlf else "\n"

    def row(cells: list[str]) -> bytes:
        quoted = ['"' + c.replace('"', '""') + '"' if set(c) & set(',"\r\n') else c for c in cells]
        return _encode(",".join(quoted) + end)

    data = [row(columns)]
    for kind, value in stream:
        if kind == "junk":
            data.append(_encode(value).rstrip(b"\n") + end.encode())
            continue
        cells = [_cell(value[k]) for k in ("id", "customer", "type", "time")]
        props = value["properties"]
        if nested:
            cells.append(_json_text(props))
        else:
            cells += ["" if props.get(n) is None else _cell(props[n]) for n in names]
        if twice:
            cells.append(cells[1])
        data.append(row(cells))
    if cut and len(data) > 1:
        data[-1] = data[-1][: len(data[-1]) // 2]  # a truncated last line
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + b"".join(data))


def _storable(text: str) -> str:
    return text.encode("utf-8", errors="replace").decode()  # Parquet cannot hold surrogates


def _write_parquet(path: Path, stream: list[tuple[str, Any]], layout: str) -> None:
    events = [v for kind, v in stream if kind == "event"]
    names = sorted({_storable(n) for e in events for n in e["properties"]})
    table: dict[str, list[Any]] = {c: [] for c in ("id", "customer", "type", "time")}
    props: list[Any] = []
    for event in events:
        for key in ("id", "customer", "type", "time"):
            table[key].append(_storable(_cell(event[key])))
        given = {_storable(k): _storable(_cell(v)) for k, v in event["properties"].items()}
        if layout == "json":
            props.append(json.dumps(given))
        elif layout == "struct":
            props.append({n: given.get(n) for n in names})
        else:
            for n in names:
                table.setdefault(n, []).append(given.get(n))
    if layout != "flat":
        table["properties"] = props
    if layout == "struct" and not names:
        del table["properties"]
    if not events:
        table = {c: pa.array([], pa.string()) for c in table}
    pq.write_table(pa.table(table), str(path))


# -- the engines -----------------------------------------------------------------------------


def _split(problem: str) -> tuple[int, str]:
    where, _, reason = problem.partition(": ")
    return int(where.split()[1]), reason


def _lines(path: Path, fmt: str) -> Iterator[RawLine]:
    if fmt == "parquet":
        yield from read_parquet(path)
        return
    with path.open("rb") as stream:
        yield from (read_csv(stream) if fmt == "csv" else read_jsonl(stream))


def _read(path: Path, fmt: str) -> tuple[list[dict[str, Any]], list[int], list[tuple[int, str]]]:
    events, numbers, rejected = [], [], []
    for number, _, event, problem in _lines(path, fmt):
        if event is None:
            rejected.append(_split(str(problem)))
        else:
            events.append(event)
            numbers.append(number)
    return events, numbers, rejected


def _accumulator(path: Path, fmt: str) -> tuple[Any, Any, list[tuple[int, str]]]:
    events, numbers, rejected = _read(path, fmt)
    accumulator = Accumulator(METERS, CYCLE, window=WINDOW)
    report = accumulator.add(events)
    rejected += [(numbers[r.index], r.reason) for r in report.rejected]
    return accumulator.usage(), report, sorted(rejected)


def _ledger(path: Path, fmt: str, folder: Path) -> tuple[Any, Any, list[tuple[int, str]]]:
    events, numbers, rejected = _read(path, fmt)
    with Ledger(folder / "ledger.sqlite") as ledger:
        report = ledger.append(events, meters=METERS)
        usage = ledger.usage(METERS, CYCLE, window=WINDOW)
    rejected += [(numbers[r.index], r.reason) for r in report.rejected]
    return usage, report, sorted(rejected)


def _duckdb(path: Path) -> tuple[Any, Any, list[tuple[int, str]]]:
    scanned = scan_source(path, METERS, CYCLE, window=WINDOW)
    rejected = sorted(_split(r.reason) for r in scanned.report.rejected)
    return scanned.table, scanned.report, rejected


# Each example writes a file and runs three engines (DuckDB, SQLite): few examples by default;
# the ci profile's suppress list applies here too, as the work per example is large.
@settings(max_examples=examples(20), suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=items(),
    fmt=st.sampled_from(["jsonl", "csv", "parquet"]),
    options=st.fixed_dictionaries(
        {
            "bom": st.booleans(),
            "crlf": st.booleans(),
            "cut": st.booleans(),
            "nested": st.booleans(),
            "twice": st.integers(0, 9).map(lambda n: n == 0),
            "layout": st.sampled_from(["flat", "json", "struct"]),
        }
    ),
)
def test_accumulator_ledger_and_duckdb_agree(
    stream: list[tuple[str, Any]], fmt: str, options: dict[str, Any]
) -> None:
    _agree(stream, fmt, options)


# Flat CSV (``properties.NAME`` columns, no column twice) is the layout whose plainly good rows
# DuckDB screens itself (meterlib.sql.lines.screen_csv): drawn on its own, so that every
# example runs that branch beside the exact reader of the other engines.
@settings(max_examples=examples(20), suppress_health_check=[HealthCheck.too_slow])
@given(
    stream=items(),
    options=st.fixed_dictionaries(
        {
            "bom": st.booleans(),
            "crlf": st.booleans(),
            "cut": st.booleans(),
            "nested": st.just(False),
            "twice": st.just(False),
            "layout": st.just("flat"),
        }
    ),
)
def test_engines_agree_on_flat_csv(stream: list[tuple[str, Any]], options: dict[str, Any]) -> None:
    _agree(stream, "csv", options)


def _agree(stream: list[tuple[str, Any]], fmt: str, options: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        path = folder / f"events.{fmt}"
        if fmt == "jsonl":
            _write_jsonl(path, stream, options["bom"], options["crlf"], options["cut"])
        elif fmt == "csv":
            _write_csv(
                path,
                stream,
                nested=options["nested"],
                bom=options["bom"],
                crlf=options["crlf"],
                twice=options["twice"],
                cut=options["cut"],
            )
        else:
            _write_parquet(path, stream, options["layout"])
        usage, report, rejected = _accumulator(path, fmt)
        ledger_usage, ledger_report, ledger_rejected = _ledger(path, fmt, folder)
        duck_usage, duck_report, duck_rejected = _duckdb(path)
    assert duck_rejected == rejected
    assert ledger_rejected == rejected
    assert duck_usage == usage
    assert ledger_usage == usage
    assert duck_report.received == report.received + len(rejected) - len(report.rejected)
    assert (duck_report.accepted, duck_report.duplicates, duck_report.outside) == (
        report.accepted,
        report.duplicates,
        report.outside,
    )
    conflicts = sorted(c.event_id for c in report.conflicts)
    assert sorted(c.event_id for c in duck_report.conflicts) == conflicts
    assert sorted(c.event_id for c in ledger_report.conflicts) == conflicts


# Copies of one id whose number texts differ: every engine tells duplicates from conflicts by
# the properties' text (``metering.events.same_properties``): ``5`` and ``"5"`` are one value,
# ``5.0`` and ``5`` are two. The SQLite ledger once compared numbers as numbers.
_COPIES = [
    ("a", '"qty": 5.0, "region": "eu"'),
    ("a", '"qty": 5, "region": "eu"'),
    ("b", '"qty": "5", "region": "eu"'),
    ("b", '"qty": 5, "region": "eu"'),
    ("c", '"qty": 7, "region": "us"'),
    ("c", '"qty": 7, "region": "us"'),
]


def test_every_engine_tells_duplicates_from_conflicts_by_text(tmp_path: Path) -> None:
    from meterlib.ledger.duck import DuckLedger  # noqa: PLC0415  (needs the duckdb extra)

    path = tmp_path / "events.jsonl"
    path.write_text(
        "".join(
            f'{{"id": "{i}", "customer": "cus_a", "type": "api.call",'
            f' "time": "2024-01-05T10:00:00+01:00", "properties": {{{props}}}}}\n'
            for i, props in _COPIES
        ),
        encoding="utf-8",
    )
    usage, report, _ = _accumulator(path, "jsonl")
    ledger_usage, ledger_report, _ = _ledger(path, "jsonl", tmp_path)
    duck_usage, duck_report, _ = _duckdb(path)
    events, _, _ = _read(path, "jsonl")
    with DuckLedger(tmp_path / "ledger.duckdb") as duck:
        duck_ledger_report = duck.append(events, meters=METERS)
        duck_ledger_usage = duck.usage(METERS, CYCLE, window=WINDOW)
    assert [c.event_id for c in report.conflicts] == ["a"]
    assert report.duplicates == 2
    for other in (ledger_report, duck_report, duck_ledger_report):
        assert [c.event_id for c in other.conflicts] == ["a"]
        assert other.duplicates == 2
    assert ledger_usage == usage
    assert duck_usage == usage
    assert duck_ledger_usage == usage
