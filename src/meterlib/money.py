"""Money: an exact amount in one currency.

Currency is part of every amount: arithmetic across currencies raises, and ``Money.zero("EUR")``
gives ``sum()`` a typed start. ``repr`` and ``str`` are locale-free; display goes through
:mod:`meterlib.render.format` with an explicit locale.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from meterlib._numbers import EXACT, to_decimal
from meterlib.currency import check_currency, minor_units
from meterlib.errors import (
    CurrencyMismatchError,
    InvalidValueError,
    PrecisionError,
    WrongTypeError,
    describe,
)
from meterlib.rounding import RoundingMode, round_amount

__all__ = ["Money", "allocate"]


def _exact(
    operation: Callable[[Decimal, Decimal], Decimal], left: Decimal, right: Decimal, what: str
) -> Decimal:
    """Apply an :data:`EXACT` operation; a result that does not fit is a named error."""
    try:
        return operation(left, right)
    except decimal.DecimalException as error:
        raise PrecisionError(f"{what} of {left} and {right}") from error


@dataclass(frozen=True, slots=True, init=False)
class Money:
    """An exact ``Decimal`` amount and an ISO 4217 currency code checked against CLDR."""

    amount: Decimal
    currency: str

    def __init__(self, amount: Decimal | int | str, currency: str) -> None:
        """Build an amount; ``amount`` goes through the number funnel (floats are refused)."""
        object.__setattr__(self, "amount", to_decimal(amount, "amount"))
        object.__setattr__(self, "currency", check_currency(currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Zero in ``currency``: the typed start for ``sum()``."""
        return cls(Decimal(0), currency)

    @classmethod
    def _trusted(cls, amount: Decimal, currency: str) -> Money:
        # Internal fast path for results of arithmetic on already-validated values.
        money = object.__new__(cls)
        object.__setattr__(money, "amount", amount)
        object.__setattr__(money, "currency", currency)
        return money

    # -- arithmetic -------------------------------------------------------------------------

    def _same(self, other: Money, operation: str) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatchError(self.currency, other.currency, operation)
        return other

    def __add__(self, other: object) -> Money:
        """Add two amounts of one currency."""
        if not isinstance(other, Money):
            return NotImplemented
        right = self._same(other, "add")
        return Money._trusted(_exact(EXACT.add, self.amount, right.amount, "a sum"), self.currency)

    def __radd__(self, other: object) -> Money:
        """Support ``sum()`` over amounts without a start value."""
        if type(other) is int and other == 0:
            return self
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        """Subtract an amount of the same currency."""
        if not isinstance(other, Money):
            return NotImplemented
        right = self._same(other, "subtract")
        return Money._trusted(
            _exact(EXACT.subtract, self.amount, right.amount, "a difference"), self.currency
        )

    def __neg__(self) -> Money:
        """The opposite amount (a credit for a debit)."""
        return Money._trusted(EXACT.minus(self.amount), self.currency)

    def __abs__(self) -> Money:
        """The amount without its sign."""
        return Money._trusted(EXACT.abs(self.amount), self.currency)

    def __mul__(self, factor: object) -> Money:
        """Scale by an exact factor (a quantity or a rate); floats are refused."""
        if isinstance(factor, Money) or not isinstance(factor, Decimal | int | str | float):
            return NotImplemented
        return Money._trusted(
            _exact(EXACT.multiply, self.amount, to_decimal(factor, "factor"), "a product"),
            self.currency,
        )

    __rmul__ = __mul__

    # -- comparison -------------------------------------------------------------------------

    def __lt__(self, other: object) -> bool:
        """Order amounts of one currency; other operands give ``NotImplemented``."""
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: object) -> bool:
        """Order amounts of one currency; other operands give ``NotImplemented``."""
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: object) -> bool:
        """Order amounts of one currency; other operands give ``NotImplemented``."""
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: object) -> bool:
        """Order amounts of one currency; other operands give ``NotImplemented``."""
        if not isinstance(other, Money):
            return NotImplemented
        return self.amount >= self._same(other, "compare").amount

    def __bool__(self) -> bool:
        """True when the amount is not zero."""
        return bool(self.amount)

    # -- rounding ---------------------------------------------------------------------------

    def round(self, mode: RoundingMode | str = RoundingMode.HALF_UP) -> Money:
        """Round to the currency's minor units (CLDR) with ``mode``."""
        return Money._trusted(round_amount(self.amount, self.currency, mode), self.currency)

    @property
    def is_rounded(self) -> bool:
        """True when the amount has no digits below the currency's minor unit."""
        exponent = self.amount.as_tuple().exponent
        return isinstance(exponent, int) and (
            exponent >= -minor_units(self.currency)
            or self.amount == round_amount(self.amount, self.currency)
        )

    def allocate(
        self,
        ratios: Sequence[Decimal | int | str],
        mode: RoundingMode | str = RoundingMode.HALF_UP,
    ) -> list[Money]:
        """Split into parts proportional to ``ratios`` that add up exactly; see :func:`allocate`."""
        return allocate(self, ratios, mode)

    # -- text -------------------------------------------------------------------------------

    def __str__(self) -> str:
        """Locale-free text such as ``'12.50 USD'``; display goes through meterlib.render.format."""
        return f"{self.amount} {self.currency}"

    def __repr__(self) -> str:
        """Evaluable representation."""
        return f"Money('{self.amount}', '{self.currency}')"

    # -- pydantic ---------------------------------------------------------------------------

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validate from ``Money`` or ``{"amount": "1.50", "currency": "USD"}``."""

        def from_any(value: Any) -> Money:
            if isinstance(value, Money):
                return value
            if isinstance(value, dict) and set(value) == {"amount", "currency"}:
                try:
                    return cls(value["amount"], value["currency"])
                except InvalidValueError as error:
                    raise ValueError(str(error)) from None
            raise ValueError(
                "must be Money or a mapping with exactly 'amount' and 'currency' "
                f"(got {describe(value)})"
            )

        return core_schema.no_info_plain_validator_function(
            from_any,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda m: {"amount": str(m.amount), "currency": m.currency},
                when_used="json",
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Describe Money in JSON Schema as an object of two strings."""
        return {
            "type": "object",
            "properties": {
                "amount": {"type": "string", "description": "exact decimal"},
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            },
            "required": ["amount", "currency"],
            "additionalProperties": False,
        }


def allocate(
    money: Money,
    ratios: Sequence[Decimal | int | str],
    mode: RoundingMode | str = RoundingMode.HALF_UP,
) -> list[Money]:
    """Split ``money`` by ``ratios`` into parts of whole minor units that add up exactly.

    ``money`` is first rounded to minor units with ``mode`` (a split cannot hand out fractions
    of a cent). Each part gets the floor of its exact share; the minor units left over go one
    each to the parts with the largest remainders, earlier parts first on ties (the
    largest-remainder method). Equal ratios therefore give parts that differ by at most one
    minor unit, and the parts always sum to the rounded whole.
    """
    if not isinstance(money, Money):
        raise WrongTypeError("money", money, "a Money amount")
    if not ratios:
        raise InvalidValueError("ratios", ratios, "a non-empty sequence")
    weights = [to_decimal(r, f"ratios[{i}]") for i, r in enumerate(ratios)]
    for i, weight in enumerate(weights):
        if weight < 0:
            raise InvalidValueError(f"ratios[{i}]", weight, ">= 0")
    # The weights as integers on one scale (each is a whole number of 10**lowest), so every
    # share is an exact integer division: no decimal context (the caller's or ours) rounds it.
    lowest = min(int(weight.as_tuple().exponent) for weight in weights)
    scaled = [int(weight.scaleb(-lowest, context=EXACT)) for weight in weights]
    total_weight = sum(scaled)
    if total_weight == 0:
        raise InvalidValueError("ratios", ratios, "ratios whose sum is above zero")

    places = minor_units(money.currency)
    whole = round_amount(money.amount, money.currency, mode)
    units = int(whole.scaleb(places, context=EXACT))
    sign = -1 if units < 0 else 1
    units = abs(units)

    # Each share is units * w / W: its floor, and its remainder over the same W (so remainders
    # compare as integers).
    shares: list[int] = []
    remainders: list[tuple[int, int]] = []
    for index, part in enumerate(scaled):
        floor_share, remainder = divmod(units * part, total_weight)
        shares.append(floor_share)
        remainders.append((remainder, index))
    left = units - sum(shares)
    for _, index in sorted(remainders, key=lambda item: (-item[0], item[1]))[:left]:
        shares[index] += 1

    return [
        Money._trusted(Decimal(sign * share).scaleb(-places, context=EXACT), money.currency)
        for share in shares
    ]
