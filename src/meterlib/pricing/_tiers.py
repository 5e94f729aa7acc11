"""Tier arithmetic for graduated and volume prices, precomputed once per price.

A tier covers the quantities above the previous tier's ``up_to`` and up to and including its own:
``(previous up_to, up_to]``; tier 1 covers ``[0, up_to]``, so zero falls in tier 1. The tier that
holds a quantity ``q`` is therefore the first whose ``up_to`` is at least ``q``, found by
bisection over the bounded ``up_to`` values.

Everything that does not depend on the quantity is computed when the price is built: each tier's
bounds and description, the line of every bounded tier when it is used in full, and the running
sum of those full lines, gathered per tier in one :data:`TierStep` tuple. Rating a graduated
price (``GraduatedPrice.rate``) then builds a single new line (the tier the quantity ends in)
and joins it to the full lines below it, and a volume price likewise one line. The table keeps
each full line once, so its memory grows linearly with the tier count; for the first
:data:`PREFIXES_KEPT` tiers it also keeps the tuple of full lines below each tier, so most
ratings join two tuples instead of slicing one (a bounded, constant cost).

A tier may be sold in blocks (``block_size``, ``block_amount``): the units it prices are rounded
up to whole blocks, and its line counts blocks at ``block_amount`` each. With
``overflow="last_tier"`` a bounded last tier covers everything above the previous bound, as if
its own bound were ``None`` (the table is built that way, so the rule has one copy).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from meterlib._numbers import EXACT
from meterlib.errors import RatingError
from meterlib.pricing.charge import ChargeLine, new_line, plain

__all__ = [
    "TierLike",
    "TierStep",
    "TierTable",
    "describe_tier",
    "volume_line",
]

_ZERO = Decimal(0)

#: Tiers whose prefix of full lines is kept ready (at most PREFIXES_KEPT^2 / 2 references).
PREFIXES_KEPT = 32

# EXACT's operations bound once: looking a method up on a Context costs as much as the operation.
_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply
_divmod = EXACT.divmod


class TierLike(Protocol):
    """What the table needs from a tier (the pydantic ``Tier`` model provides it)."""

    @property
    def up_to(self) -> Decimal | None:
        """Inclusive upper bound, or ``None`` for an unbounded last tier."""

    @property
    def unit_amount(self) -> Decimal:
        """Price of each unit in the tier."""

    @property
    def flat_amount(self) -> Decimal:
        """Amount charged once when the tier is used."""

    @property
    def block_size(self) -> Decimal | None:
        """Units in one block, or ``None`` for a tier priced per unit."""

    @property
    def block_amount(self) -> Decimal | None:
        """Price of one block (``None`` means zero)."""


def describe_tier(number: int, lower: Decimal, upper: Decimal | None) -> str:
    """Describe the range of tier ``number`` (1-based), such as ``"tier 2: 10 < q <= 20"``."""
    if number == 1:
        return "tier 1: q >= 0" if upper is None else f"tier 1: 0 <= q <= {plain(upper)}"
    if upper is None:
        return f"tier {number}: q > {plain(lower)}"
    return f"tier {number}: {plain(lower)} < q <= {plain(upper)}"


@dataclass(frozen=True, slots=True)
class _Row:
    """One tier with its range resolved."""

    number: int
    lower: Decimal
    upper: Decimal | None
    unit_amount: Decimal
    flat_amount: Decimal
    description: str
    block_size: Decimal | None
    """Units in one block; ``unit_amount`` is then the price of a block."""

    def priced(self, units: Decimal) -> Decimal:
        """How many of the line's units ``units`` makes: itself, or the blocks it starts."""
        size = self.block_size
        if size is None:
            return units
        blocks, rest = _divmod(units, size)
        return _add(blocks, 1) if rest else blocks

    def line(self, units: Decimal) -> ChargeLine:
        """The line of this tier pricing ``units`` of it."""
        count = self.priced(units)
        amount = _add(_multiply(count, self.unit_amount), self.flat_amount)
        description = self.description
        if self.block_size is not None:
            description = (
                f"{description}: {plain(units)} units in {plain(count)} blocks of"
                f" {plain(self.block_size)}"
            )
        return new_line(
            description,
            self.number,
            self.lower,
            self.upper,
            count,
            self.unit_amount,
            self.flat_amount,
            amount,
        )


#: What rating a quantity held by a tier reads of it (``GraduatedPrice.rate`` unpacks it):
#: description, number, lower, upper, unit amount, flat amount, the full lines below it
#: (``None`` above :data:`PREFIXES_KEPT`: slice ``full``), their sum, and the tier's row when it
#: is sold in blocks (else ``None``).
TierStep = tuple[
    str,
    int,
    Decimal,
    Decimal | None,
    Decimal,
    Decimal,
    tuple[ChargeLine, ...] | None,
    Decimal,
    _Row | None,
]


@dataclass(frozen=True, slots=True)
class TierTable:
    """A validated tier sequence, resolved for fast rating.

    ``source`` is the tier sequence the table was built from; a price compares it by identity to
    notice a copy whose tiers were replaced without rebuilding the table.
    """

    source: Sequence[TierLike]
    overflow: bool
    """Whether the last tier also covers everything above its bound (``last_tier``)."""
    events_only: bool
    """Whether the price is prorated: it rates events, never a quantity."""
    rows: tuple[_Row, ...]
    uppers: tuple[Decimal, ...]
    """The ``up_to`` of every bounded tier, rising strictly."""
    full: tuple[ChargeLine, ...]
    """``full[i]``: the graduated line of bounded tier ``i + 1`` used in full."""
    prefixes: tuple[tuple[ChargeLine, ...], ...]
    """``prefixes[i] == full[:i]`` for ``i`` below :data:`PREFIXES_KEPT`."""
    before: tuple[Decimal, ...]
    """``before[i]``: the exact sum of ``full[:i]``."""
    steps: tuple[TierStep, ...]
    """``steps[i]``: what rating a quantity held by tier ``i + 1`` reads, in one tuple."""

    @classmethod
    def build(
        cls, tiers: Sequence[TierLike], *, overflow: bool = False, events_only: bool = False
    ) -> TierTable:
        """Resolve ``tiers`` (already validated: bounds rising, only the last unbounded).

        ``overflow``: the last tier also covers everything above its bound (``last_tier``);
        ``events_only``: the price is prorated (recorded for the price to check).
        """
        rows: list[_Row] = []
        lower = _ZERO
        last = len(tiers)
        for number, tier in enumerate(tiers, 1):
            upper = tier.up_to
            description = describe_tier(number, lower, upper)
            if overflow and number == last and upper is not None:
                description = (
                    f"{describe_tier(number, lower, None)} (overflow above {plain(upper)})"
                )
                upper = None
            size = tier.block_size
            rows.append(
                _Row(
                    number,
                    lower,
                    upper,
                    tier.unit_amount if size is None else (tier.block_amount or _ZERO),
                    tier.flat_amount,
                    description,
                    size,
                ),
            )
            if upper is not None:
                lower = upper
        full: list[ChargeLine] = []
        before = [_ZERO]
        for row in rows:
            if row.upper is None:
                break
            line = row.line(EXACT.subtract(row.upper, row.lower))
            full.append(line)
            before.append(EXACT.add(before[-1], line.amount))
        prefixes = tuple(tuple(full[:index]) for index in range(min(len(rows), PREFIXES_KEPT)))
        steps = tuple(
            (
                row.description,
                row.number,
                row.lower,
                row.upper,
                row.unit_amount,
                row.flat_amount,
                prefixes[index] if index < len(prefixes) else None,
                before[index],
                row if row.block_size is not None else None,
            )
            for index, row in enumerate(rows)
        )
        return cls(
            source=tiers,
            overflow=overflow,
            events_only=events_only,
            rows=tuple(rows),
            uppers=tuple(row.upper for row in rows if row.upper is not None),
            full=tuple(full),
            prefixes=prefixes,
            before=tuple(before),
            steps=steps,
        )

    def locate(self, quantity: Decimal) -> int:
        """Return the 0-based index of the tier holding ``quantity`` (not negative).

        Raises :class:`RatingError` when the last tier is bounded and ``quantity`` lies above it.
        """
        index = bisect_left(self.uppers, quantity)
        if index == len(self.rows):
            raise RatingError(
                f"cannot rate quantity {plain(quantity)}: the last tier is bounded at up_to "
                f"{plain(self.uppers[-1])}, so quantities above {plain(self.uppers[-1])} have "
                "no price (add an unbounded last tier, or set overflow to 'last_tier', to price"
                " them)",
            )
        return index


def volume_line(table: TierTable, quantity: Decimal) -> ChargeLine:
    """Price every unit of ``quantity`` at the tier holding it, plus that tier's flat amount."""
    steps = table.steps
    index = bisect_left(table.uppers, quantity)
    if index >= len(steps):
        table.locate(quantity)  # raises: above a bounded last tier
    description, number, lower, upper, unit, flat, _, _, blocks = steps[index]
    if blocks is None:
        amount = _add(_multiply(quantity, unit), flat)
        return new_line(description, number, lower, upper, quantity, unit, flat, amount)
    return blocks.line(quantity)
