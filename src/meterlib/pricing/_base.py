"""What every price model shares: currency, the modifiers, and the steps that end every rating.

The steps of a rating, in order: ``included`` comes off the quantity (for the models that take
it), the model prices what is left, ``discount`` is taken off the model's charge, then
``minimum`` raises it and ``maximum`` cuts it. ``minimum`` applies only to a period's final
part (``final=True``, the default): a part of a period billed progressively
(:mod:`meterlib.pricing.progressive`) leaves it to the part that ends the period.

Models without an ``included`` allowance (percentage, capacity, matrix) build on
:class:`PriceBase`; the others on :class:`QuantityPrice`. A field a model does not take is
refused (``extra="forbid"``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Self

from pydantic import ConfigDict, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from meterlib._model import MeterlibModel
from meterlib._numbers import EXACT, NonNegativeAmount, to_decimal
from meterlib.currency import CurrencyCode
from meterlib.errors import InvalidValueError
from meterlib.pricing.charge import Charge, ChargeLine, ChargePart, new_charge, plain

__all__ = ["OMITTED_AT_DEFAULT", "PriceBase", "QuantityLike", "QuantityPrice", "quantity_of"]

_ZERO = Decimal(0)
_ONE = Decimal(1)

_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply

#: What ``rate`` accepts as a quantity: anything the number funnel turns into a Decimal.
QuantityLike = Decimal | int | str

#: Optional fields added after the first six models, left out of a written price while they hold
#: their default, so a price that uses none of them is written exactly as before.
OMITTED_AT_DEFAULT: dict[str, object] = {
    "discount": None,
    "overflow": "error",
    "prorated": False,
    "free_events": None,
    "free_amount": None,
    "default": None,
    "block_size": None,
    "block_amount": None,
}


def quantity_of(value: QuantityLike, field: str = "quantity") -> Decimal:
    """Turn ``value`` into a non-negative Decimal through the number funnel."""
    if type(value) is Decimal and value.is_finite() and value >= 0:
        return value  # the hot path: already what the funnel would return
    quantity = to_decimal(value, field)
    if quantity < 0:
        raise InvalidValueError(field, value, ">= 0")
    return quantity


class PriceBase(MeterlibModel):
    """Fields and steps every price model shares: currency, modifiers and the final charge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """The tag naming the model; each subclass fixes it to a literal."""
    currency: CurrencyCode = "USD"
    """ISO 4217 code of every amount in the price, checked against CLDR."""
    minimum: NonNegativeAmount | None = None
    """The period's charge is raised to at least this much (on the period's final part)."""
    maximum: NonNegativeAmount | None = None
    """The period's charge is cut to at most this much."""
    discount: NonNegativeAmount | None = None
    """A fraction (``0.15`` is 15 %) taken off the model's charge before minimum and maximum."""

    @model_validator(mode="after")
    def _minimum_not_above_maximum(self) -> Self:
        minimum, maximum = self.minimum, self.maximum
        if minimum is not None and maximum is not None and minimum > maximum:
            raise PydanticCustomError(
                "minimum_above_maximum",
                "minimum {minimum} is above maximum {maximum}",
                {"minimum": plain(minimum), "maximum": plain(maximum)},
            )
        discount = self.discount
        if discount is not None and discount > _ONE:
            raise PydanticCustomError(
                "discount_above_one",
                "discount must be a fraction in [0, 1] (got {discount})",
                {"discount": plain(discount)},
            )
        return self

    @model_serializer(mode="wrap")
    def _omit_new_defaults(self, handler: Any) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        for key, default in OMITTED_AT_DEFAULT.items():
            if key in data and data[key] == default:
                del data[key]
        if data.get("prorated") is True:  # a prorated price takes no included, not even 0
            data.pop("included", None)
        return data

    def _charge(  # noqa: PLR0917  (positional like new_charge; hot path)
        self,
        quantity: Decimal,
        included: Decimal,
        billable: Decimal,
        lines: tuple[ChargeLine, ...],
        subtotal: Decimal,
        final: bool = True,  # noqa: FBT001, FBT002  (hot path: positional)
        parts: tuple[ChargePart, ...] = (),
    ) -> Charge:
        """Take ``discount`` off ``subtotal``, then apply ``minimum`` and ``maximum``."""
        amount = subtotal
        reason = None
        discount = self.discount
        if discount:
            amount = _subtract(subtotal, _multiply(subtotal, discount))
            reason = f"discount {plain(discount)} off {plain(subtotal)} gives {plain(amount)}"
        minimum = self.minimum
        if final and minimum is not None and amount < minimum:
            amount = minimum
            step = f"raised to the minimum {plain(minimum)}"
            reason = step if reason is None else f"{reason}, {step}"
        else:
            maximum = self.maximum
            if maximum is not None and amount > maximum:
                amount = maximum
                step = f"cut to the maximum {plain(maximum)}"
                reason = step if reason is None else f"{reason}, {step}"
        adjustment = _ZERO if amount is subtotal else _subtract(amount, subtotal)
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
            parts,
        )


class QuantityPrice(PriceBase):
    """A price rated on one quantity, with an ``included`` allowance taken off it first."""

    included: NonNegativeAmount = _ZERO
    """Units given free before the model applies."""

    def _billable(self, quantity: Decimal) -> tuple[Decimal, Decimal]:
        """Split ``quantity`` into (units made free by ``included``, units left to price)."""
        included = self.included
        if not included:
            return _ZERO, quantity
        if quantity <= included:
            return quantity, _ZERO
        return included, _subtract(quantity, included)
