"""What rating a price returns: a :class:`Charge` made of :class:`ChargeLine` rows.

A charge explains itself: every line says which part of the quantity it priced and how, the
subtotal is the exact sum of the lines, ``adjustment`` is what a per-period ``minimum`` or
``maximum`` added or removed, and ``amount`` is the exact final charge. Rounding to the
currency's minor units is left to the caller and done once on the total (:meth:`Charge.rounded`),
because rounding is a policy applied at named points, never hidden inside arithmetic.

Both classes are frozen slotted dataclasses rather than pydantic models: rating runs in hot loops
and builds them for every call, and the values it puts in them are already validated.

Invariants, for every charge a price returns::

    charge.subtotal == sum(line.amount for line in charge.lines)
    charge.amount == charge.subtotal + charge.adjustment
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from meterlib._numbers import EXACT
from meterlib.rounding import RoundingMode, round_amount

__all__ = ["Charge", "ChargeLine", "ChargePart"]


def plain(value: Decimal) -> str:
    """Write ``value`` in plain positional notation, locale-free (``1E+3`` -> ``1000``)."""
    return format(value, "f")


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """One row of a charge: a part of the quantity and what it costs.

    ``quantity`` counts what the line priced in the line's own unit: units for tiered and
    per-unit prices, whole packages for package prices, event value for percentage prices, and
    the whole quantity for flat prices. Except where a per-event ``min_per_event`` or
    ``max_per_event`` clamped an event (the description then says so), every line obeys
    ``amount == quantity * unit_amount + flat_amount`` exactly.
    """

    description: str
    """What the line prices, such as ``"tier 2: 10 < q <= 20"``."""
    tier: int | None
    """1-based index of the tier that priced the line, or ``None`` for untiered prices."""
    lower: Decimal | None
    """Lower bound of the tier's range (exclusive, except ``0`` for tier 1), else ``None``."""
    upper: Decimal | None
    """Upper bound of the tier's range (inclusive); ``None`` for an unbounded or untiered line."""
    quantity: Decimal
    """How much the line priced (see the class docstring for the unit)."""
    unit_amount: Decimal
    """Price of one unit of ``quantity``."""
    flat_amount: Decimal
    """Fixed amount the line adds once."""
    amount: Decimal
    """The line's exact subtotal."""

    def formula(self) -> str:
        """Show how the line's amount was reached, such as ``"5 x 6.5 + 0 = 32.5"``.

        A line whose amount differs from ``quantity x unit_amount + flat_amount`` (an event
        clamped to a per-event bound) ends with ``-> amount``.
        """
        computed = EXACT.add(EXACT.multiply(self.quantity, self.unit_amount), self.flat_amount)
        text = (
            f"{plain(self.quantity)} x {plain(self.unit_amount)} + {plain(self.flat_amount)}"
            f" = {plain(computed)}"
        )
        if computed != self.amount:
            text += f" -> {plain(self.amount)}"
        return text


class ChargePart(NamedTuple):
    """The charge of one part of a composite price: a matrix cell, or one combination of values.

    A named tuple (immutable, and cheap to build in the matrix's hot path). ``label`` says what
    the part is, such as ``"cell 1 (region: eu, us)"`` or ``"region=eu: default"``; ``cell`` is
    the 1-based number of the matrix cell that priced it (``None`` for the default); ``values``
    is the combination of dimension values it rated (``group="values"``), else empty; ``charge``
    is the part's own exact charge, with its own breakdown and modifiers.
    """

    label: str
    cell: int | None
    values: tuple[tuple[str, str | None], ...]
    charge: Charge


@dataclass(frozen=True, slots=True)
class Charge:
    """The exact result of rating one period's quantity (or events) with one price."""

    currency: str
    """ISO 4217 code of every amount in the charge."""
    model: str
    """The price model that rated it (``"graduated"``, ``"per_unit"``, ...)."""
    quantity: Decimal
    """The quantity rated, as given (for events: their total value)."""
    included: Decimal
    """How much of ``quantity`` the price's ``included`` allowance made free."""
    billable: Decimal
    """``quantity - included``: what the model priced."""
    lines: tuple[ChargeLine, ...]
    """The breakdown, one row per tier touched, event or untiered price."""
    subtotal: Decimal
    """The exact sum of the lines' amounts."""
    adjustment: Decimal
    """What the price's ``minimum`` added or its ``maximum`` removed; ``0`` when neither."""
    adjustment_reason: str | None
    """Why the charge was adjusted, such as ``"raised to the minimum 150"``; else ``None``."""
    amount: Decimal
    """The exact final charge: ``subtotal + adjustment``."""
    parts: tuple[ChargePart, ...] = ()
    """For a price made of other prices (``matrix``): the charge of each cell or combination,
    one per line, in the same order. Empty for every other price."""

    def rounded(self, mode: RoundingMode = RoundingMode.HALF_UP) -> Decimal:
        """Return the charge rounded to the currency's minor units, once, on the total."""
        return round_amount(self.amount, self.currency, mode)

    def _repr_html_(self) -> str:
        """Show the charge in Jupyter."""
        from meterlib.render.html import charge_fragment  # noqa: PLC0415

        return charge_fragment(self)

    def explain(self, mode: RoundingMode = RoundingMode.HALF_UP) -> str:
        """Return a plain-text breakdown: one row per line, then the exact and rounded total.

        The text is locale-free (decimals in plain notation, ``.`` as the decimal point), so it
        is the same on every machine and can be asserted in tests.
        """
        width = max((len(line.description) for line in self.lines), default=0)
        rows = [
            f"{self.model} price in {self.currency}",
            (
                f"quantity {plain(self.quantity)}, included {plain(self.included)},"
                f" billable {plain(self.billable)}"
            ),
        ]
        rows.extend(f"  {line.description:<{width}}  {line.formula()}" for line in self.lines)
        for part in self.parts:
            rows.append(f"  {part.label}:")
            rows.extend(f"    {row}" for row in part.charge.explain(mode).splitlines())
        rows.append(f"subtotal {plain(self.subtotal)}")
        if self.adjustment_reason is not None:
            rows.append(f"adjustment {self.adjustment:+f}: {self.adjustment_reason}")
        rows.append(
            f"total {plain(self.amount)} {self.currency},"
            f" rounded {mode.value} to {plain(self.rounded(mode))}",
        )
        return "\n".join(rows)


# Fast construction. A frozen dataclass's generated ``__init__`` sets each field through
# ``object.__setattr__``, which costs several times a plain store to a slot; rating builds a
# line and a charge per call (a matrix rating forty-odd objects), so the builders below are the
# hot path. Each fills an instance of a twin class with the same slots (the same memory layout)
# and no frozen ``__setattr__``, then makes it an instance of the frozen class by ``__class__``
# assignment, which Python allows between classes of compatible layout. The result is an
# ordinary, frozen instance; the builders skip no check, because the generated ``__init__``
# makes none either. tests/test_pricing.py checks that each builder gives what the
# constructor gives, field by field.


class LineSlots:
    """A :class:`ChargeLine` under construction: the same slots, assignable."""

    __slots__ = ChargeLine.__slots__

    description: str
    tier: int | None
    lower: Decimal | None
    upper: Decimal | None
    quantity: Decimal
    unit_amount: Decimal
    flat_amount: Decimal
    amount: Decimal


class ChargeSlots:
    """A :class:`Charge` under construction: the same slots, assignable."""

    __slots__ = Charge.__slots__

    currency: str
    model: str
    quantity: Decimal
    included: Decimal
    billable: Decimal
    lines: tuple[ChargeLine, ...]
    subtotal: Decimal
    adjustment: Decimal
    adjustment_reason: str | None
    amount: Decimal
    parts: tuple[ChargePart, ...]


_new = object.__new__
#: The frozen classes, typed for ``__class__`` assignment (a hot path may inline the builders).
LINE_CLASS: Any = ChargeLine
CHARGE_CLASS: Any = Charge


def new_line(  # noqa: PLR0917  (positional like the dataclass's own __init__; hot path)
    description: str,
    tier: int | None,
    lower: Decimal | None,
    upper: Decimal | None,
    quantity: Decimal,
    unit_amount: Decimal,
    flat_amount: Decimal,
    amount: Decimal,
) -> ChargeLine:
    """Build a :class:`ChargeLine` as its constructor would, faster (the rating hot path)."""
    line: Any = _new(LineSlots)
    line.description = description
    line.tier = tier
    line.lower = lower
    line.upper = upper
    line.quantity = quantity
    line.unit_amount = unit_amount
    line.flat_amount = flat_amount
    line.amount = amount
    line.__class__ = LINE_CLASS
    built: ChargeLine = line
    return built


def new_charge(  # noqa: PLR0917  (positional like the dataclass's own __init__; hot path)
    currency: str,
    model: str,
    quantity: Decimal,
    included: Decimal,
    billable: Decimal,
    lines: tuple[ChargeLine, ...],
    subtotal: Decimal,
    adjustment: Decimal,
    adjustment_reason: str | None,
    amount: Decimal,
    parts: tuple[ChargePart, ...] = (),
) -> Charge:
    """Build a :class:`Charge` as its constructor would, faster (the rating hot path)."""
    charge: Any = _new(ChargeSlots)
    charge.currency = currency
    charge.model = model
    charge.quantity = quantity
    charge.included = included
    charge.billable = billable
    charge.lines = lines
    charge.subtotal = subtotal
    charge.adjustment = adjustment
    charge.adjustment_reason = adjustment_reason
    charge.amount = amount
    charge.parts = parts
    charge.__class__ = CHARGE_CLASS
    built: Charge = charge
    return built


def new_part(
    label: str,
    cell: int | None,
    values: tuple[tuple[str, str | None], ...],
    charge: Charge,
) -> ChargePart:
    """Build a :class:`ChargePart` as its constructor would, faster (the matrix hot path)."""
    return _new_tuple(ChargePart, (label, cell, values, charge))


_new_tuple = tuple.__new__
