"""Tiered prices: ``graduated`` and ``volume``, with blocks, overflow and prorated tiers.

- A tier covers ``(previous up_to, up_to]`` (tier 1 from zero); only the last may be unbounded.
- Blocks (Kill Bill's tiered blocks, Flexprice's package size in a tier): a tier with
  ``block_size`` sells its units in blocks of that size at ``block_amount`` each, a partly used
  block billed whole. ``graduated`` rounds the units inside each tier up to blocks; ``volume``
  rounds the whole quantity up to blocks of the tier holding it.
- ``overflow``: ``"error"`` (the default, Lago's rule) refuses a quantity above a bounded last
  tier; ``"last_tier"`` (Kill Bill's ``TOP_TIER``) prices it in the last tier, as if that tier
  had no bound (with blocks, the last tier's units are rounded up to blocks once).
- ``prorated`` (Lago's prorated charges, for recurring units such as seats): the price rates
  events that add or remove units with the share of the period each was held
  (:meth:`GraduatedPrice.rate_events`; the rules are in :mod:`meterlib.pricing._prorated`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal, NoReturn, Self

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from meterlib._model import MeterlibModel
from meterlib._numbers import EXACT, NonNegativeAmount
from meterlib.errors import RatingError
from meterlib.pricing._base import QuantityLike, QuantityPrice, quantity_of
from meterlib.pricing._prorated import ProratedEventLike, prorated_graduated, prorated_volume
from meterlib.pricing._tiers import TierStep, TierTable, volume_line
from meterlib.pricing.charge import (
    CHARGE_CLASS,
    LINE_CLASS,
    Charge,
    ChargeLine,
    ChargeSlots,
    LineSlots,
    plain,
)

__all__ = ["GraduatedPrice", "Overflow", "Tier", "VolumePrice"]

_ZERO = Decimal(0)
_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply
_new = object.__new__

#: A tiered price's rating plan (see :attr:`_TieredPrice._plan`).
_Plan = tuple[
    tuple[TierStep, ...],
    tuple[Decimal, ...],
    tuple[ChargeLine, ...],
    TierTable,
    Decimal | None,
    bool,
    str,
    str,
]

#: What happens to usage above a bounded last tier: refused, or priced in the last tier.
Overflow = Literal["error", "last_tier"]


class Tier(MeterlibModel):
    """One tier of a graduated or volume price.

    A tier covers ``(previous up_to, up_to]`` (tier 1 from zero); ``up_to=None`` means no
    bound and is allowed on the last tier only. A tier sold in blocks gives ``block_size`` and
    ``block_amount`` and no ``unit_amount``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to: NonNegativeAmount | None = None
    """Inclusive upper bound of the tier, or ``None`` for an unbounded last tier."""
    unit_amount: NonNegativeAmount = _ZERO
    """Price of each unit in the tier (zero for a tier sold in blocks)."""
    flat_amount: NonNegativeAmount = _ZERO
    """Amount charged once when the tier is used."""
    block_size: NonNegativeAmount | None = None
    """Units in one block: the tier's units are rounded up to whole blocks; above zero."""
    block_amount: NonNegativeAmount | None = None
    """Price of one block (``None`` means zero); only with ``block_size``."""

    @field_validator("block_size")
    @classmethod
    def _positive_block(cls, size: Decimal | None) -> Decimal | None:
        if size is not None and not size:
            raise PydanticCustomError("greater_than", "must be > 0 (got {value})", {"value": "0"})
        return size

    @model_validator(mode="after")
    def _blocks_or_units(self) -> Self:
        if self.block_size is None:
            if self.block_amount is not None:
                raise PydanticCustomError(
                    "block_amount_without_block_size",
                    "block_amount {amount} needs a block_size (got none)",
                    {"amount": plain(self.block_amount)},
                )
        elif "unit_amount" in self.model_fields_set:
            raise PydanticCustomError(
                "block_and_unit_amount",
                "a tier sold in blocks of {size} takes block_amount, not unit_amount (got"
                " unit_amount {unit})",
                {"size": plain(self.block_size), "unit": plain(self.unit_amount)},
            )
        return self

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key in ("block_size", "block_amount"):
            if data.get(key) is None:
                data.pop(key, None)
        if self.block_size is not None:
            data.pop("unit_amount", None)
        return data


class _TieredPrice(QuantityPrice):
    """A price defined by a sequence of tiers; the tier table is resolved once, when built."""

    tiers: tuple[Tier, ...]
    """The tiers, ``up_to`` rising strictly; only the last may be unbounded."""
    overflow: Overflow = "error"
    """Usage above a bounded last tier: ``error`` refuses it, ``last_tier`` prices it there."""
    prorated: Annotated[bool, Field(strict=True)] = False
    """Rate events with the share of the period their units were held (:meth:`rate_events`)."""

    @field_validator("tiers")
    @classmethod
    def _valid_tiers(cls, tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
        if not tiers:
            raise PydanticCustomError("tiers_empty", "must hold at least one tier (got none)")
        previous: Decimal | None = None
        for number, tier in enumerate(tiers, 1):
            up_to = tier.up_to
            if up_to is None:
                if number < len(tiers):
                    raise PydanticCustomError(
                        "tier_unbounded_not_last",
                        "only the last tier may be unbounded, but tier {number} of {count}"
                        " has up_to None",
                        {"number": number, "count": len(tiers)},
                    )
            elif previous is not None and up_to <= previous:
                raise PydanticCustomError(
                    "tiers_not_rising",
                    "tier up_to values must rise strictly, but tier {number} has up_to"
                    " {up_to}, not above tier {before}'s {previous}",
                    {
                        "number": number,
                        "up_to": plain(up_to),
                        "before": number - 1,
                        "previous": plain(previous),
                    },
                )
            previous = up_to
        return tiers

    @model_validator(mode="after")
    def _prorated_takes_no_blocks_or_included(self) -> Self:
        if not self.prorated:
            return self
        if "included" in self.model_fields_set:
            raise PydanticCustomError(
                "prorated_included",
                "a prorated price takes no included (got {included})",
                {"included": plain(self.included)},
            )
        for number, tier in enumerate(self.tiers, 1):
            if tier.block_size is not None:
                raise PydanticCustomError(
                    "prorated_blocks",
                    "a prorated price takes no blocks, but tier {number} has block_size {size}",
                    {"number": number, "size": plain(tier.block_size)},
                )
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Resolve the tier table now, so the first rating costs no more than the others."""
        del context  # pydantic's validation context; this step needs none
        _ = self._plan

    @cached_property
    def _table(self) -> TierTable:
        return self._build_table()

    def _build_table(self) -> TierTable:
        return TierTable.build(
            self.tiers, overflow=self.overflow == "last_tier", events_only=self.prorated
        )

    def _tier_table(self) -> TierTable:
        table = self._table
        if table.source is not self.tiers:
            # model_copy(update=...) copies the cached table but not its tiers: rebuild it.
            table = self._build_table()
            self.__dict__["_table"] = table
        return table

    def _quantity_table(self) -> TierTable:
        """The tier table, for rating a quantity: refused when the price is prorated."""
        table = self._tier_table()
        if table.events_only:
            self._refuse_quantity()
        return table

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the price; a copy with another ``overflow`` or ``prorated`` rebuilds its table.

        A copy with any field updated forgets its rating plan and resolves it afresh.
        """
        copy = super().model_copy(update=update, deep=deep)
        if update:
            copy.__dict__.pop("_plan", None)
            if "overflow" in update or "prorated" in update:
                copy.__dict__["_table"] = copy._build_table()
        return copy

    @cached_property
    def _plan(self) -> _Plan | None:
        """What rating a quantity reads, resolved once; ``None`` when the price is prorated.

        The tier table's steps, bounds, full lines and the table itself; the ``included``
        allowance (``None`` when zero); whether the price has no discount, minimum or maximum
        (its charge is then the subtotal); the currency and the model.
        """
        table = self._tier_table()
        if table.events_only:
            return None
        return (
            table.steps,
            table.uppers,
            table.full,
            table,
            self.included or None,
            self.discount is None and self.minimum is None and self.maximum is None,
            self.currency,
            self.model,
        )

    def _refuse_quantity(self) -> NoReturn:
        raise RatingError(
            f"this {self.model} price is prorated: it rates events of units added or removed"
            " with their prorated share, so use rate_events(events), not rate(quantity)",
        )

    def _refuse_events(self) -> NoReturn:
        raise RatingError(
            f"this {self.model} price is not prorated: rate its quantity with rate(quantity)",
        )


class GraduatedPrice(_TieredPrice):
    """Each tier prices only the units inside it; one line per tier touched.

    A tier's ``flat_amount`` is charged once when any unit falls in it, and tier 1's even at
    zero billable quantity (so a base fee can live in tier 1).
    """

    model: Literal["graduated"] = "graduated"

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Charge the billable units tier by tier.

        Raises :class:`~meterlib.errors.RatingError` when the last tier is bounded, ``overflow``
        is ``error`` and the billable quantity lies above it, or when the price is prorated.
        """
        plan = self._plan
        if plan is None:
            self._refuse_quantity()
        steps, uppers, full, table, allowance, plain_charge, currency, model = plan
        units = quantity
        if type(units) is not Decimal or not units.is_finite() or units < _ZERO:
            units = quantity_of(quantity)  # the hot path above skips the call
        included, billable = (_ZERO, units) if allowance is None else self._billable(units)
        # The tier holding the billable quantity: tiers below it are used in full (their lines
        # precomputed, see meterlib.pricing._tiers), it prices the units above its lower bound.
        index = bisect_left(uppers, billable)
        if index >= len(steps):
            table.locate(billable)  # raises: above a bounded last tier
        description, number, lower, upper, unit, flat, below, before, blocks = steps[index]
        inside = _subtract(billable, lower)
        if blocks is None:  # new_line(...), inlined (see meterlib.pricing.charge)
            amount = _add(_multiply(inside, unit), flat)
            line: Any = _new(LineSlots)
            line.description = description
            line.tier = number
            line.lower = lower
            line.upper = upper
            line.quantity = inside
            line.unit_amount = unit
            line.flat_amount = flat
            line.amount = amount
            line.__class__ = LINE_CLASS
        else:
            line = blocks.line(inside)
            amount = line.amount
        if below is None:  # above the tiers whose prefix is kept
            below = full[:index]
        lines = below + (line,)  # noqa: RUF005  (hot path: one tuple)
        subtotal = _add(before, amount)
        if not plain_charge:
            return self._charge(units, included, billable, lines, subtotal, final)
        # What _charge returns without modifiers: new_charge(...), inlined.
        charge: Any = _new(ChargeSlots)
        charge.currency = currency
        charge.model = model
        charge.quantity = units
        charge.included = included
        charge.billable = billable
        charge.lines = lines
        charge.subtotal = subtotal
        charge.adjustment = _ZERO
        charge.adjustment_reason = None
        charge.amount = subtotal
        charge.parts = ()
        charge.__class__ = CHARGE_CLASS
        rated: Charge = charge
        return rated

    def rate_events(self, events: Iterable[ProratedEventLike], *, final: bool = True) -> Charge:
        """Rate a prorated price's events (``{"units", "prorated"}``), in time order.

        The charge's ``quantity`` is the final running total of full units.
        """
        if not self.prorated:
            self._refuse_events()
        lines, subtotal, total = prorated_graduated(self._tier_table(), events)
        return self._charge(total, _ZERO, total, lines, subtotal, final)


class VolumePrice(_TieredPrice):
    """The tier holding the whole billable quantity prices every unit, plus its flat amount.

    Zero falls in tier 1. The charge has one line: the chosen tier.
    """

    model: Literal["volume"] = "volume"

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Charge all billable units at the tier that holds their total.

        Raises :class:`~meterlib.errors.RatingError` when the last tier is bounded, ``overflow``
        is ``error`` and the billable quantity lies above it, or when the price is prorated.
        """
        table = self._table
        if table.source is not self.tiers or table.events_only:
            table = self._quantity_table()
        units = quantity
        if type(units) is not Decimal or not units.is_finite() or units < _ZERO:
            units = quantity_of(quantity)  # the hot path above skips the call
        included, billable = self._billable(units) if self.included else (_ZERO, units)
        line = volume_line(table, billable)
        return self._charge(units, included, billable, (line,), line.amount, final)

    def rate_events(self, events: Iterable[ProratedEventLike], *, final: bool = True) -> Charge:
        """Rate a prorated price's events at the tier holding the final running total."""
        if not self.prorated:
            self._refuse_events()
        lines, subtotal, total = prorated_volume(self._tier_table(), events)
        return self._charge(total, _ZERO, total, lines, subtotal, final)


def exact_context_rater(price: GraduatedPrice) -> Callable[[Decimal], Charge] | None:
    """Return a function rating a checked quantity as ``price.rate`` does, or ``None``.

    For a composite price's hot path (a matrix rates each cell's summed usage with it). The
    function must run with :data:`~meterlib._numbers.EXACT` as the current decimal context
    (the matrix sets it once per rating): its arithmetic uses the operators, which cost half
    the context's methods. The quantity must already be a finite, non-negative ``Decimal``, so
    it is not checked again. Only a plain price has one (not prorated, no ``included``, no
    discount, minimum or maximum: ``final`` then changes nothing); else ``None``.
    """
    plan = price._plan
    if plan is None or plan[4] is not None or not plan[5]:
        return None
    steps, uppers, full, table, _, _, currency, model = plan
    count = len(steps)

    def rate_checked(units: Decimal) -> Charge:
        # The body of GraduatedPrice.rate past its checks, with the plan bound (keep the two
        # alike; tests/property/test_matrix_laws.py checks they give the same charges).
        index = bisect_left(uppers, units)
        if index >= count:
            table.locate(units)  # raises: above a bounded last tier
        description, number, lower, upper, unit, flat, below, before, blocks = steps[index]
        inside = units - lower
        if blocks is None:
            amount = inside * unit + flat
            line: Any = _new(LineSlots)
            line.description = description
            line.tier = number
            line.lower = lower
            line.upper = upper
            line.quantity = inside
            line.unit_amount = unit
            line.flat_amount = flat
            line.amount = amount
            line.__class__ = LINE_CLASS
        else:
            line = blocks.line(inside)
            amount = line.amount
        if below is None:
            below = full[:index]
        subtotal = before + amount
        charge: Any = _new(ChargeSlots)
        charge.currency = currency
        charge.model = model
        charge.quantity = charge.billable = units
        charge.included = charge.adjustment = _ZERO
        charge.lines = below + (line,)  # noqa: RUF005  (hot path: one tuple)
        charge.subtotal = charge.amount = subtotal
        charge.adjustment_reason = None
        charge.parts = ()
        charge.__class__ = CHARGE_CLASS
        rated: Charge = charge
        return rated

    return rate_checked
