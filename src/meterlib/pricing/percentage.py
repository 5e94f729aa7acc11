"""The ``percentage`` price: a share of each event's value, with free events and a free amount.

Each event costs ``value x rate + fixed_fee``, clamped to ``[min_per_event, max_per_event]``
when given; the charge is the sum, then ``discount``, ``minimum`` and ``maximum`` apply.

``free_events`` (a whole number) and ``free_amount`` (a value) make events free before any of
that applies, in the order events are given (Lago's "the first 3 transactions or $500,
whichever runs out first"):

- while every allowance given has something left, an event is free when ``free_amount`` is not
  given or its value is at most what is left of it; a free event uses one of ``free_events``
  and its value of ``free_amount``, and costs nothing at all (no fee, no per-event minimum);
- an event worth more than what is left of ``free_amount`` pays on the excess, fee and clamp
  included, and the allowances end there;
- once either allowance is used up (an allowance of zero is used up from the start), every
  later event pays in full. An event that exactly uses up ``free_amount`` is free.

A percentage price takes no ``included``: ``free_amount`` is its value allowance.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from meterlib._numbers import EXACT, NonNegativeAmount, to_decimal
from meterlib.errors import InvalidValueError, RatingError, describe
from meterlib.pricing._base import PriceBase, QuantityLike, quantity_of
from meterlib.pricing.charge import Charge, ChargeLine, new_line, plain

__all__ = ["PercentagePrice"]

_ZERO = Decimal(0)
_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply


def _whole(value: Any) -> int:
    """A whole, non-negative number of events: ``3``, ``"3"`` and ``"3.0"`` are 3."""
    try:
        number = to_decimal(value, "free_events")
    except InvalidValueError as error:
        raise ValueError(f"must be {error.expected} (got {describe(value)})") from None
    if number < 0 or number != number.to_integral_value():
        raise ValueError(f"must be a whole number >= 0 (got {describe(value)})")
    return int(number)


#: A whole number of events, read through the number funnel and written as an integer.
WholeCount = Annotated[
    int,
    BeforeValidator(_whole),
    PlainSerializer(int, return_type=int),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\+?\d+(\.0*)?$"},
            ],
            "description": "A whole number of events, as an integer or a decimal string ('3').",
        },
    ),
]


class PercentagePrice(PriceBase):
    """A share of each event's value (a payment, a transfer), plus an optional fee per event.

    Rate events with :meth:`rate_events` (see the module docstring for the free allowances).

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
    free_events: WholeCount | None = None
    """How many events are free before the rate applies (with ``free_amount``: first to run out)."""
    free_amount: NonNegativeAmount | None = None
    """How much event value is free before the rate applies."""

    @model_validator(mode="before")
    @classmethod
    def _no_included(cls, data: Any) -> Any:
        if isinstance(data, dict) and "included" in data:
            raise PydanticCustomError(
                "percentage_included",
                "a percentage price takes no included (got {value}): its value allowance is"
                " free_amount",
                {"value": describe(data["included"])},
            )
        return data

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

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Charge ``quantity`` as one aggregate value: ``(quantity - free_amount) x rate``.

        Per-event terms have no meaning for an aggregate, so a price with a non-zero
        ``fixed_fee``, ``min_per_event`` / ``max_per_event`` or ``free_events`` raises
        :class:`~meterlib.errors.RatingError`: rate its events with :meth:`rate_events`.
        """
        if (
            self.fixed_fee
            or self.min_per_event is not None
            or self.max_per_event is not None
            or self.free_events is not None
        ):
            raise RatingError(
                "this percentage price has per-event terms (fixed_fee, min_per_event, "
                "max_per_event or free_events), so it cannot rate an aggregate quantity: "
                "use rate_events(values) with each event's value",
            )
        value = quantity_of(quantity)
        free = min(value, self.free_amount or _ZERO)
        billable = _subtract(value, free)
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
        return self._charge(value, free, billable, (line,), amount, final)

    def rate_events(self, values: Iterable[QuantityLike], *, final: bool = True) -> Charge:
        """Charge each event's value in order; one line per event.

        The charge's ``quantity`` is the events' total value, ``included`` the value the free
        allowances covered and ``billable`` the value charged.
        """
        fraction = self.fraction
        fee = self.fixed_fee or _ZERO
        low, high = self.min_per_event, self.max_per_event
        events_left, amount_left = self.free_events, self.free_amount
        free = (events_left is not None or amount_left is not None) and events_left != 0
        free = free and amount_left != 0
        total = covered = subtotal = _ZERO
        lines: list[ChargeLine] = []
        for number, raw in enumerate(values, 1):
            value = quantity_of(raw, f"events[{number - 1}]")
            total = _add(total, value)
            label = f"event {number}"
            if free:
                if amount_left is None or value <= amount_left:
                    covered = _add(covered, value)
                    if events_left is not None:
                        events_left -= 1
                    if amount_left is not None:
                        amount_left = _subtract(amount_left, value)
                    free = events_left != 0 and amount_left != 0
                    left = _left(events_left, amount_left)
                    lines.append(_free_line(f"{label}: {plain(value)} free{left}", fraction))
                    continue
                label = f"{label}: {plain(amount_left)} of {plain(value)} free"
                covered = _add(covered, amount_left)
                value = _subtract(value, amount_left)
                free = False
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
        return self._charge(
            total, covered, _subtract(total, covered), tuple(lines), subtotal, final
        )


def _left(events: int | None, amount: Decimal | None) -> str:
    """What is left of the free allowances, such as ``" (free events left 2)"``."""
    parts = []
    if events is not None:
        parts.append(f"free events left {events}")
    if amount is not None:
        parts.append(f"free amount left {plain(amount)}")
    return f" ({', '.join(parts)})" if parts else ""


def _free_line(label: str, fraction: Decimal) -> ChargeLine:
    return new_line(label, None, None, None, _ZERO, fraction, _ZERO, _ZERO)
