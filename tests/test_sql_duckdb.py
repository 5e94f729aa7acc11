"""DuckDB over files and the SQLite ledger: exact figures, refusals, first-received order."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from meterlib.errors import InvalidValueError
from meterlib.ledger import Ledger
from meterlib.ledger.backends import open_ledger
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import Meter, load_meters
from meterlib.periods import BillingCycle, Period
from meterlib.sql import SqlEngineError, build_usage_query, scan_source, usage_from_source

MARCH = Period(datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 4, 1, tzinfo=UTC))
SUM = Meter.model_validate({"name": "units", "type": "t", "aggregation": "sum", "property": "q"})


def _event(event_id: str, q: Any, time: str = "2023-03-10T00:00:00+00:00", **extra: Any) -> Any:
    return {
        "id": event_id,
        "customer": "c",
        "type": "t",
        "time": time,
        "properties": {"q": q},
        **extra,
    }


def _jsonl(path: Path, events: list[Any]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def _accumulated(meters: list[Meter], periods: Any, events: list[Any]) -> Any:
    accumulator = Accumulator(meters, periods)
    accumulator.add(events).check()
    return accumulator.usage()


def test_sum_keeps_every_place_up_to_the_scale(tmp_path: Path) -> None:
    events = [_event("a", "0.000000000001"), _event("b", "12345678901234.5"), _event("c", 7)]
    table = usage_from_source(_jsonl(tmp_path / "e.jsonl", events), [SUM], [MARCH])
    assert table.quantity("c", "units", MARCH.start, MARCH.end) == Decimal(
        "12345678901241.500000000001"
    )


def test_a_value_with_more_places_than_the_scale_is_an_error_not_rounding(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "e.jsonl", [_event("a", "1"), _event("late", "0.0000000000001")])
    with pytest.raises(SqlEngineError, match=r"event 'late'.*properties\.q.*at most 12 places"):
        usage_from_source(path, [SUM], [MARCH])
    assert usage_from_source(path, [SUM], [MARCH], scale=13).quantity(
        "c", "units", MARCH.start, MARCH.end
    ) == Decimal("1.0000000000001")


@pytest.mark.parametrize("bad", ["12abc", "NaN", "", "1e", "Infinity"])
def test_a_value_that_is_not_a_decimal_is_an_error_naming_the_event(
    tmp_path: Path, bad: str
) -> None:
    path = _jsonl(tmp_path / "e.jsonl", [_event("x1", bad)])
    with pytest.raises(SqlEngineError, match="event 'x1'"):
        usage_from_source(path, [SUM], [MARCH])


def test_json_numbers_are_exact_as_in_ingest(tmp_path: Path) -> None:
    # DuckDB once read a fractional JSON number as a binary double and refused it; the edge
    # reads it as the exact decimal, as `meterlib ingest` and the accumulator do.
    path = tmp_path / "e.jsonl"
    path.write_text(
        json.dumps(_event("n", 0)).replace('"q": 0', '"q": 1.5')
        + "\n"
        + json.dumps(_event("m", 0)).replace('"q": 0', '"q": 0.100000000001')
        + "\n"
    )
    assert usage_from_source(path, [SUM], [MARCH]).quantity(
        "c", "units", MARCH.start, MARCH.end
    ) == Decimal("1.600000000001")
    path.write_text(
        json.dumps(_event("n", 0)).replace('"q": 0', '"q": 0.1000000000000000000001') + "\n"
    )
    with pytest.raises(SqlEngineError, match=r"event 'n'.*properties\.q.*at most 12 places"):
        usage_from_source(path, [SUM], [MARCH])


def test_a_missing_group_by_property_is_an_error(tmp_path: Path) -> None:
    meter = Meter.model_validate(
        {"name": "n", "type": "t", "aggregation": "count", "group_by": ["region"]}
    )
    with pytest.raises(
        SqlEngineError, match=r"event 'a': 'properties\.region' must be a value \(meter 'n'"
    ):
        usage_from_source(_jsonl(tmp_path / "e.jsonl", [_event("a", "1")]), [meter], [MARCH])


def test_a_time_without_offset_is_refused(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "e.jsonl", [_event("a", "1", time="2023-03-10T00:00:00")])
    with pytest.raises(SqlEngineError, match=r"event 'a'.*offset"):
        usage_from_source(path, [SUM], [MARCH])


def test_a_glob_matching_nothing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidValueError, match="a file or a glob matching files"):
        usage_from_source(str(tmp_path / "*.parquet"), [SUM], [MARCH])


def test_first_received_is_file_order_across_sorted_files(tmp_path: Path) -> None:
    _jsonl(tmp_path / "b.jsonl", [_event("dup", "100")])
    _jsonl(tmp_path / "a.jsonl", [_event("dup", "1"), _event("other", "2")])
    scanned = scan_source(str(tmp_path / "*.jsonl"), [SUM], [MARCH])
    assert scanned.table.quantity("c", "units", MARCH.start, MARCH.end) == Decimal(3)
    [conflict] = scanned.report.conflicts
    assert (conflict.first.properties["q"], conflict.second.properties["q"]) == ("1", "100")


def test_received_at_decides_first_received_before_file_order(tmp_path: Path) -> None:
    events = [
        _event("dup", "1", received_at="2023-03-20T00:00:00+00:00"),
        _event("dup", "100", received_at="2023-03-19T23:00:00-02:00"),  # 01:00Z on the 20th
        _event("dup", "5", received_at="2023-03-19T00:00:00+00:00"),
    ]
    table = usage_from_source(_jsonl(tmp_path / "e.jsonl", events), [SUM], [MARCH])
    assert table.quantity("c", "units", MARCH.start, MARCH.end) == Decimal(5)


def test_parquet_with_typed_columns_and_row_order(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    with duckdb.connect() as db:
        db.sql(
            "SELECT * FROM (VALUES "
            "('a', 'c', 't', TIMESTAMPTZ '2023-03-31 23:59:59.999999+00', 5::DECIMAL(18, 3)), "
            "('a', 'c', 't', TIMESTAMPTZ '2023-03-02 00:00:00+00', 9::DECIMAL(18, 3)), "
            "('b', 'c', 't', TIMESTAMPTZ '2023-04-01 00:00:00+00', 1.5::DECIMAL(18, 3)))"
            " AS v(id, customer, type, time, q)"
        ).write_parquet(str(path))
    scanned = scan_source(path, [SUM], [MARCH])
    assert scanned.table.quantity("c", "units", MARCH.start, MARCH.end) == Decimal(5)
    assert (scanned.report.received, scanned.report.outside) == (3, 1)
    assert len(scanned.report.conflicts) == 1


def test_a_naive_timestamp_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "e.parquet"
    with duckdb.connect() as db:
        db.sql(
            "SELECT 'a' AS id, 'c' AS customer, 't' AS type, "
            "TIMESTAMP '2023-03-02 00:00:00' AS time, '1' AS q"
        ).write_parquet(str(path))
    with pytest.raises(SqlEngineError, match="'time' must be a time with an offset"):
        usage_from_source(path, [SUM], [MARCH])
    [rejection] = scan_source(path, [SUM], [MARCH]).report.rejected
    assert rejection.reason.startswith("row 1: event 'a': 'time' must be a time with an offset")


def test_dst_and_month_end_periods_match_the_python_path(tmp_path: Path) -> None:
    cycle = BillingCycle(anchor=date(2023, 1, 31), timezone="America/New_York")
    meters = [
        SUM,
        Meter.model_validate(
            {"name": "level", "type": "t", "aggregation": "weighted_sum", "property": "q"}
        ),
        Meter.model_validate(
            {"name": "last", "type": "t", "aggregation": "latest", "property": "q"}
        ),
    ]
    starts = [cycle.start(i) for i in range(1, 4)]  # Feb 28, Mar 31 (after DST), Apr 30
    events = []
    for n, start in enumerate(starts):
        for offset, q in ((-1, "1"), (0, "2"), (1, "3")):
            moment = datetime.fromtimestamp(start.timestamp() + offset / 1_000_000, UTC)
            events.append(_event(f"e{n}{offset}", q, time=moment.isoformat()))
    window = Period(cycle.start(0), cycle.start(4))
    table = usage_from_source(_jsonl(tmp_path / "e.jsonl", events), meters, cycle, window=window)
    expected = Accumulator(meters, cycle, window=window)
    expected.add(events).check()
    assert table == expected.usage()
    assert len(table) == 12


def test_cells_of_one_customer(tmp_path: Path) -> None:
    events = [_event("a", "1"), {**_event("b", "2"), "customer": "d"}]
    table = usage_from_source(_jsonl(tmp_path / "e.jsonl", events), [SUM], [MARCH], customer="d")
    assert [(k.customer, v) for k, v in table.rows()] == [("d", Decimal(2))]


def test_csv_reads_every_value_as_text(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "id,customer,type,time,q,user\n"
        "a,c,t,2023-03-01T00:00:00Z,0.10,07\n"
        "b,c,t,2023-03-01T00:00:00Z,0.20,7\n",
        encoding="utf-8",
    )
    users = Meter.model_validate(
        {"name": "users", "type": "t", "aggregation": "unique_count", "property": "user"}
    )
    table = usage_from_source(path, [SUM, users], [MARCH])
    assert table.quantity("c", "units", MARCH.start, MARCH.end) == Decimal("0.30")
    assert table.quantity("c", "users", MARCH.start, MARCH.end) == 2  # "07" and "7" differ


def test_the_sqlite_ledger_is_read_in_insertion_order(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE events (id TEXT, customer TEXT, type TEXT, time TEXT, properties TEXT)"
        )
        rows = [
            ("a", "c", "t", "2023-03-05T10:00:00+01:00", '{"q": "2.5"}'),
            ("a", "c", "t", "2023-03-05T10:00:00+01:00", '{"q": "9"}'),
            ("b", "c", "t", "2023-03-06T00:00:00Z", '{"q": "0.25"}'),
        ]
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?)", rows)
    db.close()
    scanned = scan_source(path, [SUM], [MARCH])
    assert scanned.table.quantity("c", "units", MARCH.start, MARCH.end) == Decimal("2.75")
    assert [c.second.properties["q"] for c in scanned.report.conflicts] == ["9"]


def test_weighted_sum_is_divided_exactly(tmp_path: Path) -> None:
    meter = Meter.model_validate(
        {"name": "w", "type": "t", "aggregation": "weighted_sum", "property": "q"}
    )
    events = [_event("a", "1", time="2023-03-11T07:13:00+00:00")]  # a non-terminating fraction
    table = usage_from_source(_jsonl(tmp_path / "e.jsonl", events), [meter], [MARCH])
    assert table == _accumulated([meter], [MARCH], events)


def test_a_ledger_written_by_meterlib_gives_the_ledgers_own_usage(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parent.parent / "examples" / "metering"
    meters = load_meters(examples / "meters.toml")
    cycle = BillingCycle(anchor=date(2024, 1, 1))
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        lines = (examples / "events.jsonl").read_text(encoding="utf-8").splitlines()
        raw = []
        for line in lines:
            try:
                raw.append(json.loads(line, parse_float=Decimal))
            except json.JSONDecodeError:
                continue  # the example's deliberately truncated line
        ledger.append(raw)
        expected = ledger.usage(meters, cycle)
    assert len(expected) > 0
    assert usage_from_source(path, meters, cycle) == expected


def test_latest_keeps_the_places_it_was_written_with_as_the_other_engines(
    tmp_path: Path,
) -> None:
    latest = Meter.model_validate(
        {"name": "last", "type": "t", "aggregation": "latest", "property": "q"}
    )
    events = [
        _event("a", "502.10", time="2023-03-12T00:00:00+00:00"),
        _event("b", "7.5", time="2023-03-11T00:00:00+00:00"),
        _event("c", "30", time="2023-03-02T00:00:00+00:00", customer="d"),
    ]
    path = _jsonl(tmp_path / "e.jsonl", events)
    expected = _accumulated([latest, SUM], [MARCH], events)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.append(events, meters=[latest, SUM])
        from_ledger = ledger.usage([latest, SUM], [MARCH])
    with open_ledger(tmp_path / "l.duckdb") as duck:
        duck.append(events, meters=[latest, SUM])
        from_duck = duck.usage([latest, SUM], [MARCH])
    got = scan_source(path, [latest, SUM], [MARCH]).table
    texts = [r for r in expected.to_text_records() if r["meter"] == "last"]
    assert [r["value"] for r in texts] == ["502.10", "30"]
    from_file = usage_from_source(tmp_path / "l.sqlite", [latest], [MARCH])
    for other in (got, from_ledger, from_duck, from_file):
        assert [r for r in other.to_text_records() if r["meter"] == "last"] == texts


def test_meters_reading_the_same_rows_share_one_aggregation(tmp_path: Path) -> None:
    meters = [
        SUM,
        Meter.model_validate({"name": "n", "type": "t", "aggregation": "count"}),
        Meter.model_validate(
            {"name": "distinct", "type": "t", "aggregation": "unique_count", "property": "q"}
        ),
        Meter.model_validate({"name": "low", "type": "t", "aggregation": "min", "property": "q"}),
        Meter.model_validate({"name": "other", "type": "u", "aggregation": "count"}),
    ]
    events = [
        _event("a", "1.5"),
        _event("b", "2"),
        _event("b", "2"),
        _event("c", "1.5", customer="d"),
        {**_event("e", "9"), "type": "u"},
    ]
    path = _jsonl(tmp_path / "e.jsonl", events)
    expected = _accumulated(meters, [MARCH], events)
    assert usage_from_source(path, meters, [MARCH]) == expected
    assert usage_from_source(path, meters[:3], [MARCH]) == _accumulated(meters[:3], [MARCH], events)
    sql = build_usage_query(meters[:3], [MARCH]).sql(pretty=False)
    assert sql.count("GROUP BY") == 1  # one aggregation for the three meters (copies by window)
