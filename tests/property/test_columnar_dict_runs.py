"""The dict chunks' column path (read a run of dicts at a time) accepts what check_event accepts.

:mod:`meterlib.metering.dict_columns` reads a chunk of dicts ``SUB`` at a time; these tests make
the runs a few events long so that every run boundary is crossed (a property name that changes
between runs, a bad value in a later run), and hold the columnar accumulator to the accumulator
on nasty input: values of the wrong type (bool, float, None, int, bytes, a ``str`` subclass),
odd time texts, huge or odd decimal texts, properties that are not a plain dict.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("pyarrow")
pytest.importorskip("polars")

from meterlib.metering import dict_columns
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.columnar import ColumnarAccumulator
from meterlib.metering.meters import Meter
from meterlib.testing.events import CYCLE, METERS, WINDOW, edge_values, event_dicts, split_points

PLAIN = [
    Meter.model_validate(
        {"name": "units", "type": "api.call", "aggregation": "sum", "property": "qty"}
    ),
    Meter.model_validate({"name": "seats", "type": "seat.seen", "aggregation": "count"}),
]


class Text(str):
    """A str subclass: check_event refuses it (Arrow and polars would take it as text)."""

    __slots__ = ()


#: Values of the wrong type for a text field or a property.
WRONG = [True, False, 1.5, float("nan"), None, 7, b"bytes", Text("sub"), Decimal("2.50")]
#: Time texts around the shapes the column path parses itself.
ODD_TIMES = [
    "2024-02-01 10:00:00+01:00",
    "2024-02-01t10:00:00z",
    "2024-02-01T10:00:00+0100",
    "2024-02-01T10:00:00+01",
    "2024-02-01T10:00:00.1234567+01:00",
    "2024-02-01T10:00:00,5+01:00",
    "2024-02-01T10:00+01:00",
    "2024-02-01T10+01:00",
    "2024-02-01",
    "20240201T100000+0100",
    "2024-W05-4T10:00:00+01:00",
    "2024-02-01T10:00:00.5Z",
    "2024-02-01T10:00:00.000000-00:00",
    "2024-02-29T23:59:59.999999+14:00",
    "2023-02-29T10:00:00Z",
    "2024-02-01T10:00:60Z",
    "2024-02-01T24:00:00Z",
    "2024-02-01T10:00:00+24:00",
    "2024-02-01T10:00:00+23:59",
    "2024-02-01T10:00:00-00:30:15",
    "2024-13-01T10:00:00Z",
    "0000-01-01T00:00:00Z",
    "+2024-02-01T10:00:00Z",
    "２０２４-02-01T10:00:00Z",
    "2024-02-01T10:00:00Z ",
    "",
]
#: Property texts around what the int64 sums take.
ODD_NUMBERS = [
    "9" * 40,
    "-" + "9" * 30 + ".5",
    "1e1000000",
    "1E+2",
    "0.1",
    "-0",
    "007",
    "+5",
    " 5",
    "999999999",
    "1000000000",
    "",
    "١٢",
]


@st.composite
def nasty(draw: st.DrawFn, event: dict[str, Any]) -> Any:
    """``event`` with one nasty part (or unchanged)."""
    how = draw(st.integers(0, 9))
    event = {**event, "properties": dict(event["properties"])}
    if how == 0:
        event[draw(st.sampled_from(["id", "customer", "type", "time"]))] = draw(
            st.sampled_from(WRONG)
        )
    elif how == 1:
        event["time"] = draw(st.sampled_from(ODD_TIMES))
    elif how == 2:
        event["properties"]["qty"] = draw(st.sampled_from([*WRONG, *ODD_NUMBERS]))
    elif how == 3:
        event["properties"]["qty"] = draw(edge_values())
    elif how == 4:
        event["properties"] = draw(
            st.sampled_from(
                [
                    None,
                    [],
                    "qty",
                    MappingProxyType(event["properties"]),
                    {},
                    {1: "2"},
                    {"": "3"},
                    {"other": "4"},
                    {"qty": None},
                ]
            )
        )
    elif how == 5:
        field = draw(st.sampled_from(["id", "customer", "type", "time", "properties"]))
        del event[field]
        if draw(st.booleans()):
            event["extra"] = "x"
    elif how == 6:
        event[draw(st.sampled_from(["id", "customer", "type"]))] = ""
    return event


@st.composite
def runs(draw: st.DrawFn) -> list[Any]:
    """Events whose properties are mostly one ``qty`` (the one-name path), with nasty ones."""
    count = draw(st.integers(1, 24))
    events: list[Any] = []
    for n in range(count):
        event = draw(event_dicts(f"e{n % max(1, count - 3)}"))
        if draw(st.integers(0, 3)):
            event["properties"] = {"qty": event["properties"]["qty"]}
        if not draw(st.integers(0, 4)):
            event = draw(nasty(event))
        events.append(event)
    return events


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    events=runs(),
    sub=st.sampled_from([1, 2, 3, 5, 2048]),
    plain_meters=st.booleans(),
)
def test_runs_of_dicts_count_as_the_accumulator(data, events, sub, plain_meters):
    meters = PLAIN if plain_meters else METERS
    plain = Accumulator(meters, CYCLE, window=WINDOW)
    columnar = ColumnarAccumulator(meters, CYCLE, window=WINDOW)
    bounds = [0, *data.draw(split_points(len(events))), len(events)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dict_columns, "SUB", sub)
        for lo, hi in itertools.pairwise(bounds):
            assert columnar.add(events[lo:hi]) == plain.add(events[lo:hi])
    assert columnar.usage() == plain.usage()
    assert columnar.conflicts == plain.conflicts
    assert Accumulator.from_json(columnar.to_json()) == plain


def _event(n: int, props: Any) -> dict[str, Any]:
    return {
        "id": f"e{n}",
        "customer": "c",
        "type": "api.call",
        "time": "2024-02-01T10:00:00+01:00",
        "properties": props,
    }


@pytest.mark.parametrize("sub", [1, 2, 2048])
def test_a_property_valued_none_is_refused_among_other_names(sub, monkeypatch):
    """``{"y": None}`` is not a missing ``y``: check_event refuses it, so does the column path."""
    monkeypatch.setattr(dict_columns, "SUB", sub)
    events = [_event(0, {"qty": "1"}), _event(1, {"y": None}), _event(2, {"qty": "2", "y": "a"})]
    plain = Accumulator(PLAIN, CYCLE, window=WINDOW)
    columnar = ColumnarAccumulator(PLAIN, CYCLE, window=WINDOW)
    report = columnar.add(events)
    assert report == plain.add(events)
    assert [r.index for r in report.rejected] == [1]
    assert columnar.usage() == plain.usage()


@pytest.mark.parametrize(
    "props",
    [
        [{"qty": "1"}, {"qty": "2"}, {"other": "3"}, {"qty": "4"}],
        [{}, {}, {"qty": "3"}, {"qty": "4"}],
        [{"qty": "1"}, {"qty": "2"}, {}, {}],
        [{"": "1"}, {"": "2"}, {"": "3"}, {"qty": "4"}],
        [{"qty": "1"}, {"qty": "2"}, {"qty": 3}, {"qty": "4"}],
        [{"qty": "1"}, {"qty": "2"}, {"qty": "3", "b": "x"}, {"qty": "4"}],
    ],
)
def test_property_names_that_change_between_runs(props, monkeypatch):
    """Runs of two events: a later run with another name, none, or a number."""
    monkeypatch.setattr(dict_columns, "SUB", 2)
    events = [_event(n, p) for n, p in enumerate(props)]
    plain = Accumulator(PLAIN, CYCLE, window=WINDOW)
    columnar = ColumnarAccumulator(PLAIN, CYCLE, window=WINDOW)
    assert columnar.add(events) == plain.add(events)
    assert columnar.usage() == plain.usage()
    assert Accumulator.from_json(columnar.to_json()) == plain
