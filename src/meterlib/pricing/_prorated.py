"""Prorated tiers: rating recurring units (seats) added and removed during a period.

Each event adds (positive ``units``) or removes (negative) units, and ``prorated`` is the part
of them the period holds (the same sign, no larger: a seat held for half the period is
``prorated`` 0.5 per unit). This follows Lago's prorated graduated and volume charges:

- graduated: a running total of full units starts at zero and each event moves it by its
  ``units``; the stretch it moves over is split across the tiers' ranges, and each tier gets
  the event's prorated units in proportion (``overlap x prorated / |units|``: added for an
  addition, taken off for a removal). The unit part is the sum of each tier's prorated units
  times its ``unit_amount``, zero if negative; the flat part is the ``flat_amount`` of every tier
  up to the one holding the highest running total reached (tier 1 at least).
- volume: the tier holding the final running total prices the sum of the prorated units (zero if
  negative), plus its ``flat_amount``.
- a final running total below zero makes the model's charge zero.

Splits are fractions, computed exactly (:class:`fractions.Fraction`) and turned into decimals
once per tier, so a charge whose exact value is a finite decimal comes out exact.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from meterlib._numbers import EXACT, quotient, to_decimal
from meterlib.errors import InvalidValueError, RatingError
from meterlib.pricing._tiers import TierTable
from meterlib.pricing.charge import ChargeLine, new_line, plain

__all__ = ["ProratedEvent", "ProratedEventLike", "prorated_graduated", "prorated_volume"]

_ZERO = Decimal(0)
_add = EXACT.add
_multiply = EXACT.multiply


@dataclass(frozen=True, slots=True)
class ProratedEvent:
    """Units added (positive) or removed (negative), and the part of them the period holds."""

    units: Decimal
    """Full units added or removed; never zero."""
    prorated: Decimal
    """The share of ``units`` the period holds: same sign, no larger, never zero."""

    def __post_init__(self) -> None:
        units, prorated = self.units, self.prorated
        if not units:
            raise InvalidValueError("units", units, "a number of units added or removed, not 0")
        if not prorated or (prorated < 0) != (units < 0) or abs(prorated) > abs(units):
            raise InvalidValueError(
                "prorated",
                prorated,
                f"of the same sign as units {plain(units)}, not zero and no larger in size",
            )

    @classmethod
    def of(cls, value: ProratedEventLike, index: int = 0) -> ProratedEvent:
        """Build an event from itself, a ``{"units", "prorated"}`` mapping or a pair."""
        if isinstance(value, ProratedEvent):
            return value
        where = f"events[{index}]"
        if isinstance(value, Mapping):
            unknown = set(value) - {"units", "prorated"}
            if unknown or "units" not in value or "prorated" not in value:
                raise InvalidValueError(where, value, "an object with 'units' and 'prorated'")
            units, prorated = value["units"], value["prorated"]
        elif isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2:
            units, prorated = value
        else:
            raise InvalidValueError(where, value, "a ProratedEvent, a mapping or a pair")
        return cls(to_decimal(units, f"{where}.units"), to_decimal(prorated, f"{where}.prorated"))


#: What prorated rating accepts as one event.
ProratedEventLike = ProratedEvent | Mapping[str, object] | Sequence[object]


def _decimal(value: Fraction) -> Decimal:
    """The decimal of ``value``: exact when it ends within 40 places, else rounded to 40."""
    # The one deliberate rounding of a split: a fraction such as 1/3 has no finite decimal.
    return quotient(Decimal(value.numerator), Decimal(value.denominator))


def _walk(events: Iterable[ProratedEventLike]) -> tuple[list[ProratedEvent], Decimal, Decimal]:
    """Return the events, the highest running total reached and the final running total."""
    parsed = [ProratedEvent.of(event, index) for index, event in enumerate(events)]
    total = highest = _ZERO
    for event in parsed:
        total = _add(total, event.units)
        highest = max(highest, total)
    return parsed, highest, total


def _locate_highest(table: TierTable, highest: Decimal) -> int:
    """The tier holding the highest running total; a bounded last tier is checked against it."""
    try:
        return table.locate(highest)
    except RatingError as error:
        raise RatingError(f"the running total of units reached {plain(highest)}: {error}") from None


def _zero_line(reason: str) -> ChargeLine:
    return new_line(reason, None, None, None, _ZERO, _ZERO, _ZERO, _ZERO)


def _floor_line(unit_part: Decimal) -> ChargeLine:
    """The line that brings a negative unit part back to zero."""
    lift = EXACT.minus(unit_part)
    return new_line(
        f"prorated units come to {plain(unit_part)}: the unit part counts as zero",
        None,
        None,
        None,
        _ZERO,
        _ZERO,
        lift,
        lift,
    )


def prorated_graduated(
    table: TierTable,
    events: Iterable[ProratedEventLike],
) -> tuple[tuple[ChargeLine, ...], Decimal, Decimal]:
    """Rate prorated events tier by tier; return the lines, their sum and the final total.

    Raises :class:`~meterlib.errors.RatingError` when the highest running total lies above a
    bounded last tier.
    """
    parsed, highest, final = _walk(events)
    reached = _locate_highest(table, highest)
    if final < 0:
        return (
            (_zero_line(f"final running total {plain(final)} is below zero: no charge"),),
            (_ZERO),
            final,
        )
    rows = table.rows
    uppers = table.uppers
    shares = [Fraction(0)] * (reached + 1)
    total = _ZERO
    for event in parsed:
        after = _add(total, event.units)
        low, high = (total, after) if after > total else (after, total)
        low = max(low, _ZERO)
        ratio = Fraction(event.prorated) / abs(Fraction(event.units))
        for index in range(bisect_right(uppers, low), min(bisect_left(uppers, high), reached) + 1):
            row = rows[index]
            top = high if row.upper is None else min(high, row.upper)
            overlap = EXACT.subtract(top, max(low, row.lower))
            if overlap > 0:
                shares[index] += Fraction(overlap) * ratio
        total = after
    lines: list[ChargeLine] = []
    unit_part = _ZERO
    flats = _ZERO
    for index in range(reached + 1):
        row = rows[index]
        units = _decimal(shares[index])
        cost = _multiply(units, row.unit_amount)
        unit_part = _add(unit_part, cost)
        flats = _add(flats, row.flat_amount)
        lines.append(
            new_line(
                f"{row.description}, prorated",
                row.number,
                row.lower,
                row.upper,
                units,
                row.unit_amount,
                row.flat_amount,
                _add(cost, row.flat_amount),
            ),
        )
    if unit_part < 0:
        lines.append(_floor_line(unit_part))
        unit_part = _ZERO
    return tuple(lines), _add(unit_part, flats), final


def prorated_volume(
    table: TierTable,
    events: Iterable[ProratedEventLike],
) -> tuple[tuple[ChargeLine, ...], Decimal, Decimal]:
    """Rate prorated events at the tier holding the final running total.

    Raises :class:`~meterlib.errors.RatingError` when the highest running total lies above a
    bounded last tier.
    """
    parsed, highest, final = _walk(events)
    _locate_highest(table, highest)
    if final < 0:
        return (
            (_zero_line(f"final running total {plain(final)} is below zero: no charge"),),
            (_ZERO),
            final,
        )
    row = table.rows[table.locate(final)]
    units = _ZERO
    for event in parsed:
        units = _add(units, event.prorated)
    cost = _multiply(units, row.unit_amount)
    lines = [
        new_line(
            f"{row.description}, prorated (final running total {plain(final)})",
            row.number,
            row.lower,
            row.upper,
            units,
            row.unit_amount,
            row.flat_amount,
            _add(cost, row.flat_amount),
        ),
    ]
    if cost < 0:
        lines.append(_floor_line(cost))
        cost = _ZERO
    return tuple(lines), _add(cost, row.flat_amount), final
