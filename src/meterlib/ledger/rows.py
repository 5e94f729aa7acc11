"""How the ledger stores an event in a row, and reads it back.

Times are integer POSIX microseconds in UTC (``time_us``), with the offset the event was
written in (``offset_us``) so it reads back as written. ``props`` is a JSON object of every
property value *as text* (:func:`~meterlib.metering.events.value_text`, so never a JSON number
and never a float); ``numbers`` lists the names of the properties that were given as numbers
rather than text (``NULL`` when none), which tells ``5`` from ``"5"`` as the accumulator does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

from meterlib._fast import encode_json
from meterlib._numbers import to_decimal
from meterlib.ledger.schema import EVENT_COLUMNS
from meterlib.metering._buckets import EPOCH, micros
from meterlib.metering.events import CheckedEvent, PropertyValue, UsageEvent, value_text

__all__ = [
    "Row",
    "canonical",
    "checked_event",
    "content",
    "event_of",
    "instant",
    "prefixed",
    "props_of",
    "stored_content",
    "to_row",
]

_MICRO = timedelta(microseconds=1)

#: One stored row: ``(id, customer, type, time_us, offset_us, props, numbers)``.
Row = tuple[str, str, str, int, int, str, str | None]


def to_row(checked: CheckedEvent) -> Row:
    """The stored form of a validated event (times in µs, properties as JSON text)."""
    event_id, customer, kind, moment, props = checked
    offset = moment.utcoffset()
    offset_us = 0 if offset is None else offset // _MICRO
    names: str | None = None
    for value in props.values():
        if type(value) is not str:
            numbers = sorted(k for k, v in props.items() if type(v) is not str)
            names = encode_json(numbers)
            props = {k: value_text(v) for k, v in props.items()}
            break
    time_us = (moment - EPOCH) // _MICRO
    return event_id, customer, kind, time_us, offset_us, encode_json(props), names


def props_of(body: str, numbers: str | None) -> dict[str, PropertyValue]:
    """The properties of a stored row: text as text, the names in ``numbers`` as decimals."""
    props: dict[str, PropertyValue] = json.loads(body)
    if numbers:
        for name in json.loads(numbers):
            props[name] = to_decimal(props[name], f"properties.{name}")
    return props


def _zone(offset_us: int) -> timezone:
    return UTC if offset_us == 0 else timezone(timedelta(microseconds=offset_us))


def event_of(row: Sequence[Any]) -> UsageEvent:
    """The event a stored row holds, its time in the offset it was written in."""
    event_id, customer, kind, time_us, offset_us, body, numbers = row[:7]
    moment = (EPOCH + timedelta(microseconds=time_us)).astimezone(_zone(offset_us))
    return UsageEvent(
        event_id, customer, kind, moment, MappingProxyType(props_of(body, numbers))
    )


def content(checked: CheckedEvent) -> tuple[str, str, int, dict[str, str]]:
    """What two copies of an id must share: times as instants, properties as their text.

    Properties compare by :func:`~meterlib.metering.events.value_text`, the rule of
    :func:`~meterlib.metering.events.same_properties` that every engine uses: ``2`` and ``"2"``
    are one value, ``Decimal("2.0")`` and ``Decimal("2")`` are not.
    """
    return checked[1], checked[2], micros(checked[3]), _texts(checked[4])


def _texts(props: Mapping[str, PropertyValue]) -> dict[str, str]:
    return {k: v if type(v) is str else value_text(v) for k, v in props.items()}


def stored_content(row: Sequence[Any]) -> tuple[str, str, int, dict[str, str]]:
    """:func:`content` of a stored row (its properties are stored as their text)."""
    texts: dict[str, str] = json.loads(row[5])
    return row[1], row[2], row[3], texts


def canonical(row: Row) -> str:
    """A text that names one version of an event, so each refused version is kept once.

    Two rows with equal :func:`content` have the same canonical text.
    """
    texts = json.loads(row[5])
    return json.dumps([row[1], row[2], row[3], texts], sort_keys=True, ensure_ascii=False)


def prefixed(table: str = "e") -> str:
    """The event columns of ``table`` (an alias in a query), in row order."""
    return ", ".join(f"{table}.{c.strip()}" for c in EVENT_COLUMNS.split(","))


def instant(time_us: int) -> datetime:
    """The UTC datetime of integer POSIX microseconds."""
    return EPOCH + timedelta(microseconds=time_us)


def checked_event(checked: CheckedEvent) -> UsageEvent:
    """The :class:`UsageEvent` of a checked event."""
    event_id, customer, kind, moment, props = checked
    return UsageEvent(event_id, customer, kind, moment, MappingProxyType(dict(props)))
