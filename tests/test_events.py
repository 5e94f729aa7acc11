from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterlib.errors import InvalidValueError
from meterlib.metering.events import EventError, UsageEvent, parse_time, value_text


def raw(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "e1",
        "customer": "c",
        "type": "api.call",
        "time": "2024-01-01T10:00:00+02:00",
        "properties": {"qty": "1.50", "n": 3, "d": Decimal("0.1"), "user": "007"},
    }
    return {**base, **changes}


def test_from_dict_keeps_text_and_turns_numbers_into_decimal():
    event = UsageEvent.from_dict(raw())
    assert event.properties == {
        "qty": "1.50",
        "n": Decimal(3),
        "d": Decimal("0.1"),
        "user": "007",
    }
    assert event.instant == datetime(2024, 1, 1, 8, tzinfo=UTC)
    assert UsageEvent.from_dict(event.to_dict()).content() == event.content()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"time": "2024-01-01T10:00:00"}, "event 'e1': 'time' must be a time with an offset"),
        ({"properties": {"qty": 1.5}}, "event 'e1': 'properties.qty' must be an exact decimal"),
        ({"properties": {"qty": Decimal("Infinity")}}, "'properties.qty' must be a finite"),
        ({"properties": {"qty": True}}, "'properties.qty' must be a number, not a bool"),
        ({"id": ""}, "event '': 'id' must be a non-empty string"),
        ({"propertis": {}}, "event 'e1': 'propertis' must be one of"),
    ],
)
def test_errors_name_event_field_value_and_rule(changes, message):
    with pytest.raises(EventError) as caught:
        UsageEvent.from_dict(raw(**changes))
    assert message in str(caught.value)
    assert str(caught.value).startswith("event ")
    assert isinstance(caught.value, InvalidValueError)


def test_parse_time_refuses_naive_datetimes():
    with pytest.raises(EventError, match="naive"):
        parse_time(datetime(2024, 1, 1))  # noqa: DTZ001  (the naive time is the point)


def test_value_text_is_plain():
    assert value_text("1E+2") == "1E+2"
    assert value_text(Decimal("1E+2")) == "100"
    assert value_text(Decimal("0.10")) == "0.10"


def test_same_properties_is_the_content_rule_of_usage_events():
    from decimal import Decimal  # noqa: PLC0415

    from meterlib.metering.events import same_properties  # noqa: PLC0415

    assert same_properties({"q": "5"}, {"q": Decimal(5)})
    assert not same_properties({"q": Decimal("5.0")}, {"q": Decimal(5)})
    assert not same_properties({"q": "2.0"}, [("q", "2")])
    assert not same_properties({"q": "1"}, {"q": "1", "r": "2"})
