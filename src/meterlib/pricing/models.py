"""Price models: what a unit of usage costs, as frozen pydantic models in one tagged union.

Six models share the tag field ``model``: ``flat``, ``per_unit``, ``package``, ``graduated``,
``volume`` and ``percentage``. Every model carries a ``currency`` (``"USD"`` by default) and three
modifiers:

- ``included``: units given free before the model applies (``quantity - included``, not below
  zero). ``flat`` ignores it. Tiers apply to what is left, so tier 1's flat amount is still
  charged when every unit was included.
- ``minimum`` / ``maximum``: the period's charge is raised to at least / cut to at most this much.

Prices are validated when built (rising tier bounds, no negative amounts, ``minimum`` not above
``maximum``, a currency CLDR knows, ...); an invalid price cannot exist. Rating never rounds:
``price.rate(quantity)`` returns an exact :class:`~meterlib.pricing.charge.Charge` that explains
itself, and rounding to minor units is the caller's named step (``charge.rounded()``).

Amounts and quantities are ``Decimal``: models accept ``Decimal``, ``int`` or decimal strings,
refuse ``float``, and write amounts to JSON as strings so no digit is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal, Self, TypeAlias

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from meterlib._model import MeterlibModel
from meterlib._numbers import EXACT, NonNegativeAmount, to_decimal
from meterlib.currency import CurrencyCode
from meterlib.errors import InvalidValueError, RatingError
from meterlib.pricing._tiers import TierTable, graduated_lines, volume_line
from meterlib.pricing.charge import Charge, ChargeLine, new_charge, new_line, plain

__all__ = [
    "FlatPrice",
    "GraduatedPrice",
    "PackagePrice",
    "PerUnitPrice",
    "PercentagePrice",
    "Price",
    "QuantityLike",
    "Tier",
    "VolumePrice",
]

_ZERO = Decimal(0)

# EXACT's operations bound once: looking a method up on a Context costs as much as the operation.
_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply
_divmod = EXACT.divmod

#: What ``rate`` accepts as a quantity: anything the number funnel turns into a Decimal.
QuantityLike: TypeAlias = Decimal | int | str


def _quantity(value: QuantityLike, field: str = "quantity") -> Decimal:
    """Turn ``value`` into a non-negative Decimal through the number funnel."""
    quantity = to_decimal(value, field)
    if quantity < 0:
        raise InvalidValueError(field, value, ">= 0")
    return quantity


class _PriceBase(MeterlibModel):
    """Fields and steps every price model shares: currency, modifiers and the final charge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """The tag naming the model; each subclass fixes it to a literal."""
    currency: CurrencyCode = "USD"
    """ISO 4217 code of every amount in the price, checked against CLDR."""
    included: NonNegativeAmount = _ZERO
    """Units given free before the model applies."""
    minimum: NonNegativeAmount | None = None
    """The period's charge is raised to at least this much."""
    maximum: NonNegativeAmount | None = None
    """The period's charge is cut to at most this much."""

    @model_validator(mode="after")
    def _minimum_not_above_maximum(self) -> Self:
        minimum, maximum = self.minimum, self.maximum
        if minimum is not None and maximum is not None and minimum > maximum:
            raise PydanticCustomError(
                "minimum_above_maximum",
                "minimum {minimum} is above maximum {maximum}",
                {"minimum": plain(minimum), "maximum": plain(maximum)},
            )
        return self

    def _billable(self, quantity: Decimal) -> tuple[Decimal, Decimal]:
        """Split ``quantity`` into (units made free by ``included``, units left to price)."""
        included = self.included
        if not included:
            return _ZERO, quantity
        if quantity <= included:
            return quantity, _ZERO
        return included, _subtract(quantity, included)

    def _charge(
        self,
        quantity: Decimal,
        included: Decimal,
        billable: Decimal,
        lines: tuple[ChargeLine, ...],
        subtotal: Decimal,
    ) -> Charge:
        """Apply ``minimum`` and ``maximum`` to ``subtotal`` and build the charge."""
        amount = subtotal
        adjustment = _ZERO
        reason = None
        minimum = self.minimum
        if minimum is not None and subtotal < minimum:
            amount = minimum
            adjustment = _subtract(minimum, subtotal)
            reason = f"raised to the minimum {plain(minimum)}"
        else:
            maximum = self.maximum
            if maximum is not None and subtotal > maximum:
                amount = maximum
                adjustment = _subtract(maximum, subtotal)
                reason = f"cut to the maximum {plain(maximum)}"
        return new_charge(
            self.currency,
            self.model,
            quantity,
            included,
            billable,
            lines,
            subtotal,
            adjustment,
            reason,
            amount,
        )


class FlatPrice(_PriceBase):
    """The same charge whatever the quantity; ``included`` has no effect on it."""

    model: Literal["flat"] = "flat"
    amount: NonNegativeAmount
    """The charge for the period."""

    def rate(self, quantity: QuantityLike) -> Charge:
        """Charge ``amount`` for any non-negative ``quantity``."""
        units = _quantity(quantity)
        line = new_line("flat amount", None, None, None, units, _ZERO, self.amount, self.amount)
        return self._charge(units, _ZERO, units, (line,), self.amount)


class PerUnitPrice(_PriceBase):
    """``billable x unit_amount``."""

    model: Literal["per_unit"] = "per_unit"
    unit_amount: NonNegativeAmount
    """Price of one unit."""

    def rate(self, quantity: QuantityLike) -> Charge:
        """Charge every billable unit at ``unit_amount``."""
        units = _quantity(quantity)
        included, billable = self._billable(units)
        unit_amount = self.unit_amount
        amount = _multiply(billable, unit_amount)
        line = new_line("per unit", None, None, None, billable, unit_amount, _ZERO, amount)
        return self._charge(units, included, billable, (line,), amount)


class PackagePrice(_PriceBase):
    """Units sold in whole packages: ``packages x package_amount``.

    ``packages`` is ``billable / package_size`` rounded to a whole number: up (the default, a
    started package is paid in full) or down (only complete packages are paid).
    """

    model: Literal["package"] = "package"
    package_size: NonNegativeAmount
    """Units in one package; must be above zero."""
    package_amount: NonNegativeAmount
    """Price of one package."""
    round: Literal["up", "down"] = "up"
    """How a part package counts: ``up`` as a whole one, ``down`` as none."""

    @field_validator("package_size")
    @classmethod
    def _positive_size(cls, size: Decimal) -> Decimal:
        if not size:
            raise PydanticCustomError(
                "greater_than",
                "must be > 0 (got {value})",
                {"value": plain(size)},
            )
        return size

    def rate(self, quantity: QuantityLike) -> Charge:
        """Charge the whole packages the billable units fill (see the class docstring)."""
        units = _quantity(quantity)
        included, billable = self._billable(units)
        packages, rest = _divmod(billable, self.package_size)
        if rest and self.round == "up":
            packages = _add(packages, 1)
        amount = _multiply(packages, self.package_amount)
        line = new_line(
            f"packages of {plain(self.package_size)}: {plain(billable)} units rounded {self.round}",
            None,
            None,
            None,
            packages,
            self.package_amount,
            _ZERO,
            amount,
        )
        return self._charge(units, included, billable, (line,), amount)


class Tier(MeterlibModel):
    """One tier of a graduated or volume price.

    A tier covers ``(previous up_to, up_to]`` (tier 1 from zero); ``up_to=None`` means no
    bound and is allowed on the last tier only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to: NonNegativeAmount | None = None
    """Inclusive upper bound of the tier, or ``None`` for an unbounded last tier."""
    unit_amount: NonNegativeAmount = _ZERO
    """Price of each unit in the tier."""
    flat_amount: NonNegativeAmount = _ZERO
    """Amount charged once when the tier is used."""


class _TieredPrice(_PriceBase):
    """A price defined by a sequence of tiers; the tier table is resolved once, when built."""

    tiers: tuple[Tier, ...]
    """The tiers, ``up_to`` rising strictly; only the last may be unbounded."""

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

    def model_post_init(self, context: Any, /) -> None:
        """Resolve the tier table now, so the first rating costs no more than the others."""
        del context  # pydantic's validation context; this step needs none
        _ = self._table

    @cached_property
    def _table(self) -> TierTable:
        return TierTable.build(self.tiers)

    def _tier_table(self) -> TierTable:
        table = self._table
        if table.source is not self.tiers:
            # model_copy(update=...) copies the cached table but not its tiers: rebuild it.
            table = TierTable.build(self.tiers)
            self.__dict__["_table"] = table
        return table


class GraduatedPrice(_TieredPrice):
    """Each tier prices only the units inside it; one line per tier touched.

    A tier's ``flat_amount`` is charged once when any unit falls in it, and tier 1's even at
    zero billable quantity (so a base fee can live in tier 1).
    """

    model: Literal["graduated"] = "graduated"

    def rate(self, quantity: QuantityLike) -> Charge:
        """Charge the billable units tier by tier.

        Raises :class:`~meterlib.errors.RatingError` when the last tier is bounded and the
        billable quantity lies above it.
        """
        units = _quantity(quantity)
        included, billable = self._billable(units)
        lines, subtotal = graduated_lines(self._tier_table(), billable)
        return self._charge(units, included, billable, lines, subtotal)


class VolumePrice(_TieredPrice):
    """The tier holding the whole billable quantity prices every unit, plus its flat amount.

    Zero falls in tier 1. The charge has one line: the chosen tier.
    """

    model: Literal["volume"] = "volume"

    def rate(self, quantity: QuantityLike) -> Charge:
        """Charge all billable units at the tier that holds their total.

        Raises :class:`~meterlib.errors.RatingError` when the last tier is bounded and the
        billable quantity lies above it.
        """
        units = _quantity(quantity)
        included, billable = self._billable(units)
        line = volume_line(self._tier_table(), billable)
        return self._charge(units, included, billable, (line,), line.amount)


class PercentagePrice(_PriceBase):
    """A share of each event's value (a payment, a transfer), plus an optional fee per event.

    Each event costs ``value x rate + fixed_fee``, clamped to ``[min_per_event,
    max_per_event]`` when given; the charge is the sum, then ``minimum`` / ``maximum`` apply.
    Rate events with :meth:`rate_events`.

    ``included`` is an allowance of event *value*, consumed in the order events are given: an
    event wholly covered by what is left of it costs nothing (no fee, no per-event minimum); a
    partly covered one is charged, fee and clamp included, on its uncovered remainder.

    The fraction is called ``rate`` when building the price and in documents and JSON
    (``PercentagePrice(rate="0.013")`` is 1.3 %), like every other field. Only reading it
    differs: the attribute is :attr:`fraction`, because ``rate`` is the rating method that
    every price has.
    """

    # Built and written with the alias ``rate``, read as ``fraction``: see the class docstring.
    model_config = ConfigDict(serialize_by_alias=True)

    model: Literal["percentage"] = "percentage"
    fraction: NonNegativeAmount = Field(alias="rate")
    """Share of each event's value charged, as a fraction (``0.013`` is 1.3 %)."""
    fixed_fee: NonNegativeAmount | None = None
    """Amount added to every charged event."""
    min_per_event: NonNegativeAmount | None = None
    """Each charged event costs at least this much."""
    max_per_event: NonNegativeAmount | None = None
    """Each charged event costs at most this much."""

    @model_validator(mode="after")
    def _min_not_above_max_per_event(self) -> Self:
        low, high = self.min_per_event, self.max_per_event
        if low is not None and high is not None and low > high:
            raise PydanticCustomError(
                "min_per_event_above_max_per_event",
                "min_per_event {low} is above max_per_event {high}",
                {"low": plain(low), "high": plain(high)},
            )
        return self

    def rate(self, quantity: QuantityLike) -> Charge:
        """Charge ``quantity`` as one aggregate value: ``(quantity - included) x rate``.

        Per-event terms have no meaning for an aggregate, so a price with a non-zero
        ``fixed_fee`` or with ``min_per_event`` / ``max_per_event`` raises
        :class:`~meterlib.errors.RatingError`: rate its events with :meth:`rate_events`.
        """
        if self.fixed_fee or self.min_per_event is not None or self.max_per_event is not None:
            raise RatingError(
                "this percentage price has per-event terms (fixed_fee, min_per_event or "
                "max_per_event), so it cannot rate an aggregate quantity: "
                "use rate_events(values) with each event's value",
            )
        value = _quantity(quantity)
        included, billable = self._billable(value)
        amount = _multiply(billable, self.fraction)
        line = new_line(
            "percentage of the total value",
            None,
            None,
            None,
            billable,
            self.fraction,
            _ZERO,
            amount,
        )
        return self._charge(value, included, billable, (line,), amount)

    def rate_events(self, values: Iterable[QuantityLike]) -> Charge:
        """Charge each event's value in order (see the class docstring); one line per event.

        The charge's ``quantity`` is the events' total value, ``included`` the value the
        allowance covered and ``billable`` the value charged.
        """
        fraction = self.fraction
        fee = self.fixed_fee or _ZERO
        low, high = self.min_per_event, self.max_per_event
        free = self.included
        total = covered = _ZERO
        lines: list[ChargeLine] = []
        subtotal = _ZERO
        for number, raw in enumerate(values, 1):
            value = _quantity(raw, f"events[{number - 1}]")
            total = _add(total, value)
            label = f"event {number}"
            if free and free >= value:
                free = _subtract(free, value)
                covered = _add(covered, value)
                lines.append(
                    new_line(
                        f"{label}: {plain(value)} included",
                        None,
                        None,
                        None,
                        _ZERO,
                        fraction,
                        _ZERO,
                        _ZERO,
                    ),
                )
                continue
            if free:
                label = f"{label}: {plain(free)} of {plain(value)} included"
                covered = _add(covered, free)
                value = _subtract(value, free)
                free = _ZERO
            computed = _add(_multiply(value, fraction), fee)
            amount = computed
            if low is not None and amount < low:
                amount = low
                label = f"{label}, raised to min_per_event {plain(low)}"
            elif high is not None and amount > high:
                amount = high
                label = f"{label}, cut to max_per_event {plain(high)}"
            lines.append(new_line(label, None, None, None, value, fraction, fee, amount))
            subtotal = _add(subtotal, amount)
        return self._charge(total, covered, _subtract(total, covered), tuple(lines), subtotal)


#: Any price: the six models in one union told apart by the ``model`` field.
Price = Annotated[
    FlatPrice | PerUnitPrice | PackagePrice | GraduatedPrice | VolumePrice | PercentagePrice,
    Field(discriminator="model"),
]
