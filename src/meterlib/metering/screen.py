"""What meters require of a checked event: the values they read must be there and readable.

:class:`MeterScreen` applies, to an event that passed :func:`~meterlib.metering.events.check_event`,
the rules every engine applies before counting it: for each meter of the event's type whose
filters it passes, each ``group_by`` property and a ``unique_count`` property must be present,
and the property a numeric aggregation reads must be a number the funnel accepts. The rules and
the words are the accumulator's and the ledger's, so an event is rejected alike by all engines
(the DuckDB path runs this screen before the rows reach DuckDB).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError
from meterlib.metering.events import EventError, PropertyValue, value_text
from meterlib.metering.meters import Aggregation, Meter

__all__ = ["MeterScreen"]


class MeterScreen:
    """The readability check of a set of meters, by event type."""

    __slots__ = ("by_type",)

    def __init__(self, meters: Sequence[Meter]) -> None:
        """Screen events for ``meters``."""
        self.by_type: dict[str, list[Meter]] = {}
        for meter in meters:
            self.by_type.setdefault(meter.event_type, []).append(meter)

    def read(self, event_id: str, kind: str, props: Mapping[str, PropertyValue]) -> bool:
        """True when a meter reads the event; EventError when one cannot read it."""
        metered = False
        for meter in self.by_type.get(kind, ()):
            if not all(
                props.get(name) is not None and value_text(props[name]) in _accepted(f)
                for name, f in sorted(meter.filters.items())
            ):
                continue
            for name in sorted(set(meter.group_by)):
                _text(event_id, meter, props, name)
            if meter.aggregation is Aggregation.UNIQUE_COUNT:
                _text(event_id, meter, props, meter.property or "")
            elif meter.aggregation is not Aggregation.COUNT:
                _number(event_id, meter, props)
            metered = True
        return metered


def _accepted(found: object) -> tuple[str, ...]:
    equals = getattr(found, "equals", None)
    return (equals,) if equals is not None else tuple(getattr(found, "one_of", None) or ())


def _text(event_id: str, meter: Meter, props: Mapping[str, PropertyValue], name: str) -> str:
    found = props.get(name)
    if found is None:
        raise EventError(
            event_id, f"properties.{name}", None, f"a value (meter {meter.name!r} reads it)"
        )
    return value_text(found)


def _number(event_id: str, meter: Meter, props: Mapping[str, PropertyValue]) -> Decimal:
    name = meter.property or ""
    found = props.get(name)
    if found is None:
        raise EventError(
            event_id, f"properties.{name}", None, f"a decimal value (meter {meter.name!r} reads it)"
        )
    if not isinstance(found, str):
        return found
    try:
        return to_decimal(found, f"properties.{name}")
    except InvalidValueError as error:
        raise EventError(
            event_id,
            f"properties.{name}",
            found,
            f"{error.expected} (meter {meter.name!r} reads it as a number)",
        ) from None
