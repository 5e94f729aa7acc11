"""A column of times of one layout is parsed by Arrow at once: the instants fromisoformat reads.

:func:`meterlib.metering.column_times.one_layout` lets a column skip the per-text shape check;
these tests build columns of one layout with texts broken in place (a digit out of range, a
separator swapped, a year outside the range) and hold the column path to ``fromisoformat`` and
to the accumulator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyarrow")
pytest.importorskip("polars")

import pyarrow as pa

from meterlib.metering import frames
from meterlib.metering._buckets import micros
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.column_times import LAYOUTS, one_layout
from meterlib.metering.columnar import ColumnarAccumulator
from meterlib.metering.events import in_range
from meterlib.metering.meters import Meter
from meterlib.testing.events import CYCLE, WINDOW

SUM = [
    Meter.model_validate(
        {"name": "units", "type": "api.call", "aggregation": "sum", "property": "qty"}
    )
]
_SPECS = {
    20: ("seconds", "Z"),
    24: ("milliseconds", "Z"),
    25: ("seconds", ""),
    27: ("microseconds", "Z"),
    29: ("milliseconds", ""),
    32: ("microseconds", ""),
}


def _reference(text: str) -> int | None:
    """The instant check_event gives the text, or None when it refuses it."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.utcoffset() is None or not in_range(moment):
        return None
    return micros(moment)


@st.composite
def texts_of_one_length(draw: st.DrawFn) -> list[str]:
    """Time texts of one layout's length, some broken in place (the length kept)."""
    length = draw(st.sampled_from(sorted(LAYOUTS)))
    spec, zulu = _SPECS[length]
    texts: list[str] = []
    for _ in range(draw(st.integers(1, 40))):
        when = datetime(1899, 12, 31, tzinfo=UTC) + timedelta(
            microseconds=draw(st.integers(0, 302 * 366 * 86_400 * 10**6))
        )
        zone = UTC if zulu else timezone(timedelta(minutes=draw(st.integers(-1439, 1439))))
        text = when.astimezone(zone).isoformat(timespec=spec)
        text = text.replace("+00:00", "Z") if zulu else text
        if draw(st.integers(0, 5)) == 0:
            at = draw(st.integers(0, length - 1))
            text = text[:at] + draw(st.sampled_from("0123456789-:T+Z., x9")) + text[at + 1 :]
        texts.append(text)
    assert {len(t) for t in texts} == {length}
    return texts


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(texts=texts_of_one_length())
def test_times_left_to_arrow_are_the_instants_fromisoformat_reads(texts):
    column = pa.array(texts, pa.large_string())
    micro, left = frames._times(column)
    found = micro.to_pylist()
    for i, text in enumerate(texts):
        if i not in left:
            assert found[i] == _reference(text), text
    if all(_reference(t) is not None for t in texts):
        assert one_layout(column)
        assert not left


def test_one_layout_takes_sliced_and_narrow_columns():
    texts = [f"2024-02-{d:02d}T10:00:00.123456+01:00" for d in range(1, 29)] * 5
    column = pa.array(texts, pa.large_string())
    assert one_layout(column)
    assert one_layout(column.slice(3, 70))
    assert one_layout(pa.array(texts, pa.string()).slice(1))
    assert not one_layout(pa.array([*texts, "2024-02-01T10:00:00Z"], pa.large_string()))
    assert not one_layout(pa.array([*texts, None], pa.large_string()))
    broken = [*texts[:-1], "2024-02-01T10:00:00.123456+01/00"]
    assert not one_layout(pa.array(broken, pa.large_string()))


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(texts=texts_of_one_length())
def test_a_chunk_of_one_layout_counts_as_the_accumulator(texts):
    events: list[Any] = [
        {
            "id": f"e{i}",
            "customer": "c",
            "type": "api.call",
            "time": text,
            "properties": {"qty": "1"},
        }
        for i, text in enumerate(texts)
    ]
    plain = Accumulator(SUM, CYCLE, window=WINDOW)
    columnar = ColumnarAccumulator(SUM, CYCLE, window=WINDOW)
    assert columnar.add(events) == plain.add(events)
    assert columnar.usage() == plain.usage()
    assert columnar.add(pa.Table.from_pylist(events)) == plain.add(events)
