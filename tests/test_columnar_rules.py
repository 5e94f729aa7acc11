"""The columnar path reads meters by the rules of metering.reading: one rule, one message."""

from __future__ import annotations

from collections.abc import Callable

import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("polars")

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.metering import reading
from meterlib.metering.accumulator.store import same_props as accumulator_same_props
from meterlib.metering.columnar_rules import (
    ColumnarMeter,
    first_copies,
    read_meters,
    read_number,
    read_text,
    same_props,
    whole_numbers,
)
from meterlib.metering.events import EventError, same_properties
from meterlib.metering.meters import Meter

SUM = Meter.model_validate(
    {"name": "units", "type": "api.call", "aggregation": "sum", "property": "qty",
     "group_by": ["region"], "filters": {"tier": {"equals": "pro"}}}
)


def _error(call: Callable[[], object]) -> str:
    with pytest.raises(EventError) as caught:
        call()
    return str(caught.value)


@pytest.mark.parametrize("found", [None, "abc", "1e999999", " "])
def test_read_number_is_readings_rule(found):
    plan = ColumnarMeter(0, SUM)
    props = {} if found is None else {"qty": found}
    expected = _error(lambda: reading.read_number("e1", "units", "qty", props, {}))
    assert _error(lambda: read_number("e1", plan, found)) == expected


def test_read_meters_and_read_text_are_readings_rules():
    plan = ColumnarMeter(0, SUM)
    reader = reading.MeterReader(0, SUM)
    props = {"tier": "pro", "qty": "2.50"}
    expected = _error(lambda: reading.read_event([reader], "e1", props, {}))
    assert _error(lambda: read_meters((plan,), "e1", props)) == expected
    assert _error(lambda: read_text("e1", plan, props, "region")) == _error(
        lambda: reading.read_text("e1", "units", props, "region")
    )
    found = read_meters((plan,), "e1", {**props, "region": "eu"})
    assert [(p.name, group, value) for p, group, value in found] == [
        ("units", (("region", "eu"),), reading.read_number("e", "u", "qty", props, {}))
    ]
    assert read_meters((plan,), "e1", {"tier": "free"}) == []
    assert same_props is accumulator_same_props is same_properties


def test_whole_numbers_cast_only_plain_texts_of_nine_digits():
    texts = pa.array(
        ["12", "+5", "007", "0x1F", None, "-999999999", "1000000000", "-0", "1.5"],
        pa.large_string(),
    )
    numbers, good = whole_numbers(texts)
    assert good.tolist() == [True, False, False, False, False, True, False, False, False]
    assert numbers[good].tolist() == [12, -999999999]


@settings(deadline=None, max_examples=200)
@given(
    numbers=st.lists(st.integers(0, 400), max_size=300),
    modulus=st.sampled_from([1, 3, 97, 2**61 - 1]),
    extra=st.integers(0, 2000),
)
def test_first_copies_are_the_first_rows_of_each_id(numbers, modulus, extra):
    """Few or many repeats, hashes that collide or not: the first row of each id, exactly."""
    numbers = numbers + list(range(1000, 1000 + extra))  # many unique ids: the bitmap branch
    ids = pa.chunked_array([pa.array([f"e{n}" for n in numbers], pa.large_string())])
    hashes = np.array([(n * 2654435761) % modulus for n in numbers], dtype=np.uint64)
    first, first_row = first_copies(ids, hashes)
    seen: dict[int, int] = {}
    expected_rows = [seen.setdefault(n, row) for row, n in enumerate(numbers)]
    assert first_row.tolist() == expected_rows
    assert first.tolist() == [r == row for row, r in enumerate(expected_rows)]
