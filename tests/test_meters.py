from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.errors import DocumentError
from meterlib.metering.meters import Aggregation, Filter, Meter, load_meters, parse_meters

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "metering"


def test_example_meters_load_from_toml_and_json(tmp_path):
    meters = load_meters(EXAMPLES / "meters.toml")
    assert {m.aggregation for m in meters} == set(Aggregation) - {Aggregation.MIN}
    as_json = tmp_path / "meters.json"
    as_json.write_text(
        '{"meters": [{"name": "n", "type": "t", "aggregation": "sum", "property": "p"}]}',
        encoding="utf-8",
    )
    (meter,) = load_meters(as_json)
    assert (meter.name, meter.event_type, meter.property) == ("n", "t", "p")


def test_filters_compare_as_text():
    meter = Meter.model_validate(
        {
            "name": "m",
            "type": "t",
            "aggregation": "count",
            "filters": {"plan": {"one_of": ["pro", "100"]}, "ok": {"equals": "yes"}},
        }
    )
    assert meter.matches("t", {"plan": "pro", "ok": "yes"})
    assert meter.matches("t", {"plan": Decimal("1E+2"), "ok": "yes"})
    assert not meter.matches("t", {"plan": "pro"})
    assert not meter.matches("other", {"plan": "pro", "ok": "yes"})


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"name": "m", "type": "t", "aggregation": "sum"}, "needs a 'property'"),
        ({"name": "m", "type": "t", "aggregation": "count", "property": "p"}, "reads no property"),
        ({"name": "m", "type": "t", "aggregation": "median", "property": "p"}, "aggregation"),
        ({"name": "m", "type": "t", "aggregation": "count", "extra": 1}, "extra"),
    ],
)
def test_invalid_meters_name_the_problem(spec, problem):
    with pytest.raises(DocumentError, match=problem):
        parse_meters([spec])


def test_meter_names_are_unique():
    spec = {"name": "m", "type": "t", "aggregation": "count"}
    with pytest.raises(DocumentError, match="used twice"):
        parse_meters({"meters": [spec, spec]})


def test_a_filter_needs_exactly_one_condition():
    with pytest.raises(ValueError, match="exactly one"):
        Filter.model_validate({})
