"""The columnar accumulator gives what the accumulator gives: figures, reports, JSON, merges."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyarrow")
pytest.importorskip("polars")

import pyarrow as pa

from meterlib.metering.accumulator import Accumulator
from meterlib.metering.columnar import ColumnarAccumulator
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle
from tests.metering_strategies import CYCLE, METERS, WINDOW, event_sets, split_points

#: The column path's own case: one plain sum and one plain count meter, no filter or group_by.
PLAIN = [
    Meter.model_validate(
        {"name": "units", "type": "api.call", "aggregation": "sum", "property": "qty"}
    ),
    Meter.model_validate({"name": "seats", "type": "seat.seen", "aggregation": "count"}),
]

_BROKEN: list[Any] = [
    {"id": "x1", "customer": "c", "type": "api.call", "time": "2024-02-30T00:00:00+00:00",
     "properties": {"qty": "1"}},
    {"id": "x2", "customer": "c", "type": "api.call", "time": "2024-02-01T00:00:00",
     "properties": {"qty": "1"}},
    {"id": "x3", "customer": "c", "type": "api.call", "time": "2024-02-01T24:00:00+00:00",
     "properties": {"qty": "1"}},
    {"id": "x4", "customer": "c", "type": "api.call", "time": "2024-02-01T10:00:00+01:00",
     "properties": {"qty": "abc"}},
    {"id": "x5", "customer": "", "type": "api.call", "time": "2024-02-01T10:00:00+01:00",
     "properties": {"qty": "1"}},
    {"id": "x6", "customer": "c", "type": "api.call", "time": "2024-02-01T10:00:00+01:00",
     "properties": {"qty": 1.5}},
    {"id": "x7", "customer": "c", "type": "api.call", "time": "2024-02-01T10:00:00+01:00",
     "properties": {"qty": "1"}, "extra": 1},
    {"id": "x8", "customer": "c", "type": "api.call", "time": "2024-02-01T10:00:00+01:00",
     "properties": {}},
    {"id": 9, "customer": "c", "type": "api.call", "time": "2024-02-01T10:00:00+01:00",
     "properties": {"qty": "1"}},
    {"id": "x10", "customer": "c", "type": "api.call", "time": "2024-02-01 10:00:00.5+01:00",
     "properties": {"qty": " 7 "}},
    {"id": "x11", "customer": "c", "type": "api.call", "time": "2024-02-01T10:00:00.1234567Z",
     "properties": {"qty": "1E+2"}},
    {"id": "x12", "customer": "c", "type": "api.call", "time": "2024-02-29T23:59:59.5-23:59",
     "properties": {"qty": "123456789012345678901234567890"}},
    {"id": "x13", "customer": "c", "type": "api.call", "time": "1850-02-01T00:00:00Z",
     "properties": {"qty": "1"}},
    {"id": "x14", "customer": "c", "type": "api.call", "time": "2201-01-01T00:30:00+00:30",
     "properties": {"qty": "1"}},
    "not an event",
]


def _both(meters: list[Meter], part: int = 0) -> tuple[Accumulator, ColumnarAccumulator]:
    return (
        Accumulator(meters, CYCLE, window=WINDOW, part=part),
        ColumnarAccumulator(meters, CYCLE, window=WINDOW, part=part),
    )


def _same(plain: Accumulator, columnar: ColumnarAccumulator) -> None:
    assert columnar.usage() == plain.usage()
    assert columnar.conflicts == plain.conflicts
    assert columnar.distinct_events == plain.distinct_events
    assert Accumulator.from_json(columnar.to_json()) == plain
    assert ColumnarAccumulator.from_json(plain.to_json()).to_json() == plain.to_json()


@st.composite
def streams(draw: st.DrawFn, *, typed_numbers: bool = True) -> list[Any]:
    """Event streams with duplicates and conflicts, and sometimes invalid events among them."""
    events: list[Any] = draw(event_sets(max_events=30, typed_numbers=typed_numbers))
    for broken in draw(st.lists(st.sampled_from(_BROKEN), max_size=4)):
        events.insert(draw(st.integers(0, len(events))), broken)
    return events


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), events=streams(), plain_meters=st.booleans())
def test_same_reports_figures_and_json_batch_by_batch(data, events, plain_meters):
    meters = PLAIN if plain_meters else METERS
    plain, columnar = _both(meters)
    bounds = [0, *data.draw(split_points(len(events))), len(events)]
    for lo, hi in itertools.pairwise(bounds):
        assert columnar.add(events[lo:hi]) == plain.add(events[lo:hi])
    _same(plain, columnar)


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(first=streams(), second=streams(), plain_meters=st.booleans())
def test_merge_is_the_accumulators_merge(first, second, plain_meters):
    meters = PLAIN if plain_meters else METERS
    a, ca = _both(meters, part=0)
    b, cb = _both(meters, part=1)
    a.add(first)
    ca.add(first)
    b.add(second)
    cb.add(second)
    merged = ca | cb
    assert isinstance(merged, ColumnarAccumulator)
    _same(a | b, merged)
    assert (cb | ca) == (b | a)


@settings(deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
@given(events=streams(typed_numbers=False))
def test_a_table_of_text_events_counts_as_the_dicts(events):
    texts = [
        e for e in events
        if isinstance(e, dict) and set(e) == {"id", "customer", "type", "time", "properties"}
        and all(type(v) is str for v in e["properties"].values())
        and type(e["id"]) is str
    ]
    plain, columnar = _both(METERS)
    expected = plain.add(texts)
    names = sorted({name for e in texts for name in e["properties"]})
    if not names:
        return
    rows = [
        {**e, "properties": {n: e["properties"].get(n) for n in names}} for e in texts
    ]
    table = pa.Table.from_pylist(rows)
    assert columnar.add(table) == expected
    _same(plain, columnar)


def test_large_batches_of_the_column_path():
    """Several chunks: first copies in earlier chunks, ids seen in an earlier batch."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    events = [
        {
            "id": f"e{n % 70_000}",
            "customer": f"c{n % 7}",
            "type": "api.call",
            "time": (start + timedelta(minutes=n)).isoformat(),
            "properties": {"qty": str(n % 1000) if n % 50 else f"{n}.25"},
        }
        for n in range(80_000)
    ]
    events[75_000] = dict(events[75_000], customer="other")  # a conflict with e5000
    plain, columnar = _both(PLAIN)
    assert columnar.add(events) == plain.add(events)
    assert columnar.add(events[:1000]) == plain.add(events[:1000])
    _same(plain, columnar)


def test_frames_and_files_count_as_the_dicts(tmp_path):
    pl = pytest.importorskip("polars")
    events = [
        {"id": f"e{n}", "customer": f"c{n % 3}", "type": "api.call",
         "time": f"2024-02-{1 + n % 28:02d}T10:00:00+01:00", "properties": {"qty": str(n)}}
        for n in range(50)
    ] + [{"id": "e1", "customer": "c1", "type": "api.call",
          "time": "2024-02-02T10:00:00+01:00", "properties": {"qty": "1"}}]
    plain, _ = _both(PLAIN)
    expected = plain.add(events)
    table = pa.Table.from_pylist(events)
    parquet = tmp_path / "events.parquet"
    import pyarrow.parquet as pq  # noqa: PLC0415

    pq.write_table(table, parquet)
    jsonl = tmp_path / "events.jsonl"
    jsonl.write_text("".join(f"{__import__('json').dumps(e)}\n" for e in events))
    for given_form in (
        table, pl.from_arrow(table), table.to_pandas(), parquet, str(jsonl), iter(events)
    ):
        columnar = ColumnarAccumulator(PLAIN, CYCLE, window=WINDOW)
        assert columnar.add(given_form) == expected, type(given_form)
        _same(plain, columnar)


def test_json_lines_numbers_stay_exact(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"id": "a", "customer": "c", "type": "api.call", "time": "2024-02-01T00:00:00Z",'
        ' "properties": {"qty": 0.1}}\n'
        '{"id": "b", "customer": "c", "type": "api.call", "time": "2024-02-01T00:00:00Z",'
        ' "properties": {"qty": 0.2}}\n'
    )
    columnar = ColumnarAccumulator(PLAIN, CYCLE, window=WINDOW)
    columnar.add(path)
    assert list(columnar.usage().values()) == [Decimal("0.3")]


@pytest.mark.parametrize("number", ["0.5", "5"])  # with a fraction: the exact line reader
def test_a_bad_json_line_is_rejected_alone_with_its_line_number(tmp_path, number):
    good = (
        '{{"id": "{}", "customer": "c", "type": "api.call", "time": "2024-02-01T00:00:00Z",'
        ' "properties": {{"qty": ' + number + "}}}}"
    )
    lines = [
        good.format("a"),
        "{not json",
        "",
        good.format("b").replace('"qty"', '"qty": 1, "qty"'),
        good.format("c"),
    ]
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    columnar = ColumnarAccumulator(PLAIN, CYCLE, window=WINDOW)
    report = columnar.add(path)
    assert [r.reason.split(":")[0] for r in report.rejected] == ["line 2", "line 4"]
    assert "appears twice" in report.rejected[1].reason
    assert list(columnar.usage().values()) == [2 * Decimal(number)]


def test_an_unbounded_cycle_locates_far_apart_events():
    cycle = BillingCycle(anchor=date(2024, 1, 1), timezone="Europe/Berlin")
    events = [
        {"id": f"e{n}", "customer": "c", "type": "api.call",
         "time": f"{1990 + n * 15}-06-01T00:00:00+00:00", "properties": {"qty": "2"}}
        for n in range(5)
    ]
    plain = Accumulator(PLAIN, cycle)
    columnar = ColumnarAccumulator(PLAIN, cycle)
    assert columnar.add(events) == plain.add(events)
    assert columnar.usage() == plain.usage()


def test_a_failing_iterator_applies_nothing_as_in_the_accumulator():
    events = [
        {"id": f"e{n}", "customer": "c", "type": "api.call",
         "time": "2024-02-01T00:00:00Z", "properties": {"qty": "1"}}
        for n in range(5)
    ]

    def stream() -> Any:
        yield from events
        raise OSError("the source broke")

    plain, columnar = _both(PLAIN)
    with pytest.raises(OSError, match="the source broke"):
        plain.add(stream())
    with pytest.raises(OSError, match="the source broke"):
        columnar.add(stream())
    _same(plain, columnar)
    assert len(columnar.usage()) == 0
    assert columnar.distinct_events == 0


_NUMBER_TEXTS = [
    "0", "7", "-5", "+5", "007", "-0", "0x1F", " 7 ", "1E+2", "1.50", "999999999", "1000000000",
    "-999999999", "-1000000000", "9223372036854775807", "-9223372036854775808", "12abc", "",
]


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.sampled_from(_NUMBER_TEXTS), min_size=1, max_size=40))
def test_number_texts_read_as_the_accumulator_reads_them(texts):
    """Whole numbers are cast in int64 only when plain; every other text is read exactly."""
    events = [
        {"id": f"n{i}", "customer": f"c{i % 3}", "type": "api.call",
         "time": "2024-02-01T10:00:00+01:00", "properties": {"qty": text}}
        for i, text in enumerate(texts)
    ]
    plain, columnar = _both(PLAIN)
    assert columnar.add(events) == plain.add(events)
    _same(plain, columnar)


def test_a_lone_surrogate_is_rejected_with_check_events_reason():
    events = [
        {"id": "a", "customer": "c", "type": "api.call", "time": "2024-02-01T00:00:00Z",
         "properties": {"qty": "1"}},
        {"id": "b", "customer": "c\ud800", "type": "api.call", "time": "2024-02-01T00:00:00Z",
         "properties": {"qty": "1"}},
        {"id": "c", "customer": "c", "type": "api.call", "time": "2024-02-01T00:00:00Z",
         "properties": {"qty": "x\udfff"}},
    ]
    plain, columnar = _both(PLAIN)
    report = columnar.add(events)
    assert report == plain.add(events)
    assert [r.index for r in report.rejected] == [1, 2]
    _same(plain, columnar)


def test_rejections_in_many_chunks_keep_their_positions():
    """Chunks are finished by a worker thread: positions and order stay the batch's."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    events: list[Any] = [
        {"id": f"e{n}", "customer": f"c{n % 5}", "type": "api.call",
         "time": (start + timedelta(minutes=n)).isoformat(),
         "properties": {"qty": "abc" if n % 9_973 == 0 else str(n % 100)}}
        for n in range(100_000)
    ]
    events[40_000] = "not an event"
    events[70_001] = dict(events[70_001], time="2024-02-30T00:00:00+00:00")
    plain, columnar = _both(PLAIN)
    report = columnar.add(events)
    assert report == plain.add(events)
    assert len(report.rejected) > 10
    _same(plain, columnar)


def test_ids_of_equal_hash_are_told_apart_by_their_text(monkeypatch):
    """Every id hashed alike: the first copies come from the id texts, exactly."""
    from meterlib.metering import columnar_rules  # noqa: PLC0415

    encode = columnar_rules.MeterValues.encode

    def colliding(self: Any, piece: Any) -> None:
        encode(self, piece)
        self.id_hashes = self.id_hashes * 0

    monkeypatch.setattr(columnar_rules.MeterValues, "encode", colliding)
    events = [
        {"id": f"e{n % 40}", "customer": f"c{n % 40 % 3}", "type": "api.call",
         "time": f"2024-02-{1 + n % 40 % 28:02d}T10:00:00+01:00",
         "properties": {"qty": str(n % 40 if n < 60 else n)}}
        for n in range(90)
    ]
    plain, columnar = _both(PLAIN)
    report = columnar.add(events)
    assert report == plain.add(events)
    assert report.duplicates
    assert report.conflicts
    _same(plain, columnar)


@pytest.mark.parametrize("chunked", [False, True])
def test_times_outside_the_documented_range_are_rejected_as_check_event_does(chunked):
    """The range rule (1900 to 2200 in UTC) holds on the column path, edges included."""
    times = [
        "1850-01-01T00:00:00Z",
        "1900-01-01T00:30:00+01:00",  # 1899-12-31T23:30Z: before the range
        "1899-12-31T23:30:00-01:00",  # 1900-01-01T00:30Z: inside
        "2200-12-31T23:59:59.999999Z",
        "2201-01-01T00:00:00+00:00",
        "2201-01-01T00:30:00+01:00",  # 2200-12-31T23:30Z: inside
        "9999-12-31T23:59:59-01:00",
        "2024-02-01T00:00:00Z",
    ]
    events = [
        {"id": f"t{i}", "customer": "c", "type": "api.call", "time": text,
         "properties": {"qty": "1"}}
        for i, text in enumerate(times)
    ]
    if chunked:  # one long chunk of good times around them (the whole-chunk check)
        events = [dict(events[-1], id=f"g{i}") for i in range(100)] + events
    cycle = BillingCycle(anchor=date(2024, 1, 1), timezone="Europe/Berlin")
    plain = Accumulator(PLAIN, cycle)
    columnar = ColumnarAccumulator(PLAIN, cycle)
    report = columnar.add(events)
    assert report == plain.add(events)
    assert len(report.rejected) == 4
    assert columnar.add(pa.Table.from_pylist(events)) == plain.add(events)
    _same(plain, columnar)


def test_periods_with_gaps_locate_as_the_accumulator():
    """A list of periods with a gap between them: events in the gap are outside."""
    from meterlib.periods import Period  # noqa: PLC0415

    day = timedelta(days=1)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    periods = [
        Period(start, start + 3 * day),
        Period(start + 3 * day, start + 5 * day),
        Period(start + 8 * day, start + 9 * day),
    ]
    events = [
        {"id": f"g{n}", "customer": f"c{n % 2}", "type": "api.call",
         "time": (start + n * day / 2 - day).isoformat(), "properties": {"qty": str(n)}}
        for n in range(24)
    ]
    plain = Accumulator(PLAIN, periods)
    columnar = ColumnarAccumulator(PLAIN, periods)
    report = columnar.add(events)
    assert report == plain.add(events)
    assert report.outside
    _same(plain, columnar)
