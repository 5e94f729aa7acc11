"""The one reading of a meter from an event: filters, group keys, the value, and why it cannot.

Every engine that counts events for meters in Python (the in-memory
:class:`~meterlib.metering.accumulator.Accumulator` and the ledger's meter check at append time)
reads them through :func:`read_event`, so an event is counted, skipped or rejected with the
same words whichever engine takes it. The rules:

- a meter counts an event of its ``type`` when every filter holds: the property is present and
  its text (:func:`~meterlib.metering.events.value_text`) is one of the accepted texts;
- each ``group_by`` property (sorted by name) must be present; its text is the group key;
- ``count`` reads no value, ``unique_count`` the text of its property, every other aggregation
  its property as a decimal (text through the number funnel, numbers as given).

A missing or unreadable value raises an :class:`~meterlib.metering.events.EventError` naming the
event, the property, the value and the meter (:func:`meter_error`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError
from meterlib.metering.events import EventError, PropertyValue, value_text
from meterlib.metering.meters import Aggregation, Filter, Meter
from meterlib.metering.table import GroupKey

__all__ = [
    "NUMBER_CACHE",
    "MeterReader",
    "accepted_texts",
    "check_meters",
    "meter_error",
    "read_event",
    "read_number",
    "read_text",
]

#: Decimal texts a reader's cache remembers (quantities repeat: 1, 10, 250, ...); bounded, so
#: a stream of distinct values costs nothing.
NUMBER_CACHE = 1 << 16


def accepted_texts(condition: Filter) -> tuple[str, ...]:
    """The texts a filter accepts (``equals`` as one text, or ``one_of``)."""
    if condition.equals is not None:
        return (condition.equals,)
    return tuple(condition.one_of or ())


def meter_error(
    event_id: object, meter: str, name: str, value: Any, expected: str, *, how: str = "reads it"
) -> EventError:
    """The error of an event that meter ``meter`` cannot read at property ``name``."""
    return EventError(event_id, f"properties.{name}", value, f"{expected} (meter {meter!r} {how})")


def read_text(event_id: object, meter: str, props: Mapping[str, PropertyValue], name: str) -> str:
    """The text of property ``name`` (a group key, a ``unique_count`` value); EventError if none."""
    found = props.get(name)
    if found is None:
        raise meter_error(event_id, meter, name, None, "a value")
    return value_text(found)


def read_number(
    event_id: object,
    meter: str,
    name: str,
    props: Mapping[str, PropertyValue],
    cache: dict[str, Decimal],
) -> Decimal:
    """Property ``name`` as a decimal; EventError when absent or not a decimal.

    Text goes through the number funnel; ``cache`` remembers up to :data:`NUMBER_CACHE` texts.
    """
    found = props.get(name)
    if not isinstance(found, str):
        if found is None:
            raise meter_error(event_id, meter, name, None, "a decimal value")
        return found
    number = cache.get(found)
    if number is None:
        try:
            number = to_decimal(found, f"properties.{name}")
        except InvalidValueError as error:
            raise meter_error(
                event_id, meter, name, found, error.expected, how="reads it as a number"
            ) from None
        if len(cache) < NUMBER_CACHE:
            cache[found] = number
    return number


class MeterReader:
    """One meter compiled for reading events: filters as sets of texts, group keys in order.

    ``position`` is the meter's place in the list of meters it was compiled with.
    """

    __slots__ = ("aggregation", "filters", "group_by", "meter", "name", "position", "prop")

    def __init__(self, position: int, meter: Meter) -> None:
        """Compile ``meter``, the ``position``-th of its list."""
        self.position = position
        self.meter = meter
        self.name = meter.name
        self.aggregation = meter.aggregation
        self.prop = meter.property or ""
        self.filters = tuple(
            (key, frozenset(accepted_texts(f))) for key, f in sorted(meter.filters.items())
        )
        self.group_by = tuple(sorted(set(meter.group_by)))


Reader = TypeVar("Reader", bound=MeterReader)


def read_event(
    readers: Sequence[Reader],
    event_id: object,
    props: Mapping[str, PropertyValue],
    cache: dict[str, Decimal],
) -> list[tuple[Reader, GroupKey, Any]]:
    """What each reader (of the event's type) reads from the event: ``(reader, group, value)``.

    Readers whose filters do not hold are left out. The value is ``None`` for ``count``, the
    property's text for ``unique_count`` and a ``Decimal`` otherwise. EventError when a meter
    whose filters hold cannot read the event.
    """
    readings: list[tuple[Reader, GroupKey, Any]] = []
    for reader in readers:
        matched = True
        for name, accepted in reader.filters:
            found = props.get(name)
            if found is None or value_text(found) not in accepted:
                matched = False
                break
        if not matched:
            continue
        group: GroupKey = ()
        if reader.group_by:
            group = tuple(
                (name, read_text(event_id, reader.name, props, name)) for name in reader.group_by
            )
        aggregation = reader.aggregation
        if aggregation is Aggregation.COUNT:
            value: Any = None
        elif aggregation is Aggregation.UNIQUE_COUNT:
            value = read_text(event_id, reader.name, props, reader.prop)
        else:
            value = read_number(event_id, reader.name, reader.prop, props, cache)
        readings.append((reader, group, value))
    return readings


def check_meters(meters: Any) -> None:
    """Refuse anything but a sequence of :class:`Meter` definitions with distinct names."""
    if not isinstance(meters, Sequence) or not all(isinstance(m, Meter) for m in meters):
        raise InvalidValueError("meters", meters, "a sequence of Meter definitions")
    names = [m.name for m in meters]
    if len(set(names)) != len(names):
        raise InvalidValueError("meters", names, "meters with distinct names")
