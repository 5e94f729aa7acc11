"""Usage events: what a billing service receives, validated once at the edge.

An event is ``id`` (the idempotency key), ``customer``, ``type``, ``time`` (time-zone aware) and
``properties``. Property values stay as given (strings stay text, so ids are never mistaken for
numbers); ``int`` and ``Decimal`` values become ``Decimal``; floats, bools, NaN and infinities are
refused. A meter reads a numeric property through the number funnel when it aggregates.

Events are slotted frozen dataclasses, not pydantic models: millions are validated per second on
the hot path, and :meth:`UsageEvent.from_dict` does it without building a model per event.

**The edge rules.** :func:`check_event` is the one check every event meets, whatever engine
(accumulator, SQLite ledger, DuckDB) and input format (JSON Lines, CSV, Parquet, Python
objects) it comes through; file readers (:mod:`meterlib.metering.readers`, reading JSON with
:mod:`meterlib._json`) add what only text has (UTF-8, JSON syntax, duplicate keys, nesting):

- ``id``, ``customer`` and ``type`` are non-empty strings; no other top-level field;
- ``time`` is ISO 8601 text with an offset (or an aware datetime), naive times refused, and its
  instant lies in :data:`EARLIEST` ≤ t < :data:`LATEST` (the years 1900 to 2200 in UTC):
  ``9999-12-31T23:00:00-05:00`` or ``0001-01-01T00:00:00Z`` are refused, so no later step
  overflows a date;
- every text (id, customer, type, property names and text values) is valid Unicode: a lone
  surrogate such as ``"\ud800"`` cannot be stored in UTF-8 and is refused;
- property values are text or numbers; numbers go through the funnel
  (:func:`meterlib._numbers.to_decimal`: ASCII digits, bounded exponent and magnitude, no
  float, NaN or infinity); nested objects and lists are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError, describe

__all__ = [
    "EARLIEST",
    "LATEST",
    "CheckedEvent",
    "EventError",
    "PropertyValue",
    "UsageEvent",
    "check_event",
    "check_text",
    "in_range",
    "parse_property",
    "parse_time",
    "same_properties",
    "value_text",
]

PropertyValue = Decimal | str

_FIELDS = frozenset({"id", "customer", "type", "time", "properties"})

#: The earliest event time meterlib accepts (inclusive).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
#: The end of the event times meterlib accepts (exclusive): the years 1900 to 2200.
LATEST = datetime(2201, 1, 1, tzinfo=UTC)
_TIME_RANGE = "a time from 1900-01-01T00:00:00Z up to, not including, 2201-01-01T00:00:00Z"
_SURROGATE = re.compile("[\ud800-\udfff]")


class EventError(InvalidValueError):
    """An event is invalid; the message names the event id, the field, the value and the rule."""

    def __init__(self, event_id: object, field: str, value: Any, expected: str) -> None:
        self.event_id = event_id
        super().__init__(field, value, expected)
        self.args = (f"event {event_id!r}: {field!r} must be {expected} (got {describe(value)})",)

    def __str__(self) -> str:
        """The message naming event, field, value and rule."""
        return str(self.args[0])


def value_text(value: PropertyValue) -> str:
    """A property value as text: text stays as given, a number in plain notation.

    The one rule behind filters, ``unique_count`` and group keys, so ``Decimal("5")`` and
    ``"5"`` are the same value, and ``Decimal("1E+2")`` reads ``"100"``. Trailing zeros are
    kept: ``"5.0"`` is a different text from ``"5"``.
    """
    if type(value) is str:
        return value
    return format(value, "f")


def parse_time(value: Any, event_id: object = None, field: str = "time") -> datetime:
    """An aware datetime from a datetime or ISO 8601 text with an offset; naive is refused."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise EventError(event_id, field, value, "an ISO 8601 time with an offset") from None
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise EventError(event_id, field, value, "an ISO 8601 time with an offset")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise EventError(event_id, field, value, "a time with an offset (naive times are refused)")
    if not 1900 < parsed.year < 2200 and not in_range(parsed):
        raise EventError(event_id, field, value, _TIME_RANGE)
    return parsed


def in_range(moment: datetime) -> bool:
    """True when the aware ``moment`` lies in ``EARLIEST <= moment < LATEST``."""
    offset = moment.utcoffset()
    if offset is None:
        return False
    try:
        instant = moment.replace(tzinfo=None) - offset
    except OverflowError:  # year 1 with a positive offset, year 9999 with a negative one
        return False
    return EARLIEST.replace(tzinfo=None) <= instant < LATEST.replace(tzinfo=None)


def check_text(event_id: object, field: str, value: str) -> str:
    """``value`` when it is valid Unicode text; EventError for a lone surrogate."""
    if value.isascii() or _SURROGATE.search(value) is None:
        return value
    raise EventError(event_id, field, value, "valid Unicode text (no lone surrogate)")


def parse_property(event_id: object, key: Any, value: Any) -> PropertyValue:
    """One property as stored: text stays text, numbers go through the funnel (never float)."""
    if type(key) is not str:
        raise EventError(event_id, "properties", key, "string keys")
    check_text(event_id, "properties", key)
    if type(value) is str:
        return check_text(event_id, f"properties.{key}", value)
    try:
        return to_decimal(value, f"properties.{key}")
    except InvalidValueError as error:
        raise EventError(event_id, f"properties.{key}", value, error.expected) from None


def same_properties(
    first: Mapping[str, PropertyValue] | Iterable[tuple[str, PropertyValue]],
    second: Mapping[str, PropertyValue] | Iterable[tuple[str, PropertyValue]],
) -> bool:
    """Properties of two copies of one id compared as :meth:`UsageEvent.content` does.

    The same names, and values equal as text (:func:`value_text`): ``2`` and ``"2"`` agree,
    ``"2.0"`` and ``"2"`` do not, nor ``Decimal("2.0")`` and ``Decimal("2")``. Mappings or
    ``(name, value)`` pairs. The one rule of every engine that tells duplicates from conflicts.
    """
    a, b = dict(first), dict(second)
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if type(value) is str and type(other) is str:
            if value != other:
                return False
        elif value_text(value) != value_text(other):
            return False
    return True


@dataclass(frozen=True, slots=True, eq=False)
class UsageEvent:
    """One usage event. Equality is id and content equality (see :meth:`content`)."""

    id: str
    customer: str
    type: str
    time: datetime
    properties: Mapping[str, PropertyValue]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UsageEvent:
        """Validate a mapping (a parsed JSON line, a CSV row) into an event.

        Errors name the event id, the field, the value and what was expected. Unknown top-level
        fields are refused so a misspelt ``propertis`` does not silently lose usage.
        """
        if not isinstance(data, Mapping):
            raise EventError(None, "event", data, "a mapping of event fields")
        event_id, customer, kind, time, properties = check_event(data)
        return cls(event_id, customer, kind, time, MappingProxyType(properties))

    @property
    def instant(self) -> datetime:
        """The event's time in UTC."""
        return self.time.astimezone(UTC)

    def content(self) -> tuple[Any, ...]:
        """What two copies of one id must share to be duplicates rather than a conflict.

        Times are compared as instants, so the same moment written with two offsets is the
        same event; property values are compared as text (:func:`value_text`), so ``2`` and
        ``"2"`` are the same value (a re-send that went through JSON text is still a duplicate)
        while ``"2.0"`` and ``"2"`` are not.
        """
        return (
            self.customer,
            self.type,
            self.time.astimezone(UTC),
            tuple(sorted((key, value_text(value)) for key, value in self.properties.items())),
        )

    def __eq__(self, other: object) -> bool:
        """Same id and same :meth:`content`."""
        if not isinstance(other, UsageEvent):
            return NotImplemented
        return self.id == other.id and self.content() == other.content()

    def __hash__(self) -> int:
        """Hash of id and content, consistent with equality."""
        return hash((self.id, self.content()))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (decimals as strings, time as ISO 8601)."""
        return {
            "id": self.id,
            "customer": self.customer,
            "type": self.type,
            "time": self.time.isoformat(),
            "properties": {k: str(v) for k, v in self.properties.items()},
        }


#: The fields of a checked event: ``(id, customer, type, time, properties)``.
CheckedEvent = tuple[str, str, str, datetime, dict[str, PropertyValue]]


def check_event(raw: Any, *, copy: bool = True) -> CheckedEvent:  # noqa: PLR0912, PLR0915
    # (one branch per rule and a fast path for plain dicts, kept flat for speed)
    """Check one event (a UsageEvent or a mapping) and return its fields; raise EventError.

    The one validation every engine shares (accumulator, ledger), so an event is accepted or
    rejected, with the same words, whichever path it takes. Property values come back as
    stored: text stays text, numbers as ``Decimal``. With ``copy=False`` a plain mapping of
    text values is returned as given, for callers that neither keep nor change it.
    """
    if type(raw) is dict and len(raw) == 5:
        # Fast path: a plain dict of exactly the five fields (five typed values found means no
        # other key), an offset time and text property values; anything else takes the rules.
        event_id = raw.get("id")
        customer = raw.get("customer")
        kind = raw.get("type")
        text = raw.get("time")
        props = raw.get("properties")
        if (
            type(event_id) is str
            and event_id
            and type(customer) is str
            and customer
            and type(kind) is str
            and kind
            and type(text) is str
            and type(props) is dict
            and event_id.isascii()
            and customer.isascii()
            and kind.isascii()
        ):
            try:
                moment = datetime.fromisoformat(text)
            except ValueError:
                moment = None
            if (
                moment is not None
                and moment.utcoffset() is not None
                and 1900 < moment.year < 2200  # surely in range; the edge years take the rules
            ):
                for key, value in props.items():
                    if (
                        type(value) is not str
                        or type(key) is not str
                        or not value.isascii()
                        or not key.isascii()
                    ):
                        break
                else:
                    return event_id, customer, kind, moment, dict(props) if copy else props
    if type(raw) is dict or isinstance(raw, Mapping):
        event_id = raw.get("id")
        if type(event_id) is not str or not event_id:
            raise EventError(event_id, "id", event_id, "a non-empty string")
        if not raw.keys() <= _FIELDS:
            unknown = min(str(key) for key in raw.keys() - _FIELDS)
            value = next(v for k, v in raw.items() if str(k) == unknown)
            raise EventError(event_id, unknown, value, f"one of {sorted(_FIELDS)}")
        customer = raw.get("customer")
        kind = raw.get("type")
        time = raw.get("time")
        properties = raw.get("properties")
    elif isinstance(raw, UsageEvent):
        event_id, customer, kind = raw.id, raw.customer, raw.type
        time, properties = raw.time, raw.properties
        if type(event_id) is not str or not event_id:
            raise EventError(event_id, "id", event_id, "a non-empty string")
    else:
        raise EventError(None, "event", raw, "a UsageEvent or a mapping of event fields")
    check_text(event_id, "id", event_id)
    if type(customer) is not str or not customer:
        raise EventError(event_id, "customer", customer, "a non-empty string")
    check_text(event_id, "customer", customer)
    if type(kind) is not str or not kind:
        raise EventError(event_id, "type", kind, "a non-empty string")
    check_text(event_id, "type", kind)
    if type(time) is str:
        try:
            moment = datetime.fromisoformat(time)
        except ValueError:
            raise EventError(event_id, "time", time, "an ISO 8601 time with an offset") from None
    elif isinstance(time, datetime):
        moment = time
    else:
        raise EventError(event_id, "time", time, "an ISO 8601 time with an offset")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventError(event_id, "time", time, "a time with an offset (naive times are refused)")
    if not 1900 < moment.year < 2200 and not in_range(moment):
        raise EventError(event_id, "time", time, _TIME_RANGE)
    if properties is None:
        return event_id, customer, kind, moment, {}
    if not isinstance(properties, Mapping):
        raise EventError(
            event_id, "properties", properties, "a mapping of property names to values"
        )
    props = {key: parse_property(event_id, key, value) for key, value in properties.items()}
    return event_id, customer, kind, moment, props
