"""Rounding to a currency's minor units: a policy, applied at named points only.

Full precision is kept through quantity x price; rounding happens where a policy says so (per
line by default), with the mode explicit. The default mode is ``half_up`` (ties away from zero),
the convention of Stripe, Lago and OpenMeter invoices; ``half_even`` (banker's rounding) is
available for ledgers that want it.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from functools import cache

from pydantic import BaseModel, ConfigDict

from meterlib._numbers import EXACT
from meterlib.currency import minor_units

__all__ = ["RoundingMode", "RoundingPolicy", "quantum", "round_amount", "round_fraction"]


class RoundingMode(StrEnum):
    """How ties are broken when an amount is rounded to minor units."""

    HALF_UP = "half_up"
    """Ties away from zero: 2.665 -> 2.67, -2.665 -> -2.67."""
    HALF_EVEN = "half_even"
    """Ties to the even digit: 2.665 -> 2.66, 2.675 -> 2.68."""

    @property
    def decimal_rounding(self) -> str:
        """The :mod:`decimal` rounding constant for this mode."""
        return decimal.ROUND_HALF_UP if self is RoundingMode.HALF_UP else decimal.ROUND_HALF_EVEN


@cache
def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent (USD -> 0.01, JPY -> 1)."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_amount(
    amount: Decimal,
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Decimal:
    """Round ``amount`` to the minor units of ``currency`` with ``mode``."""
    return amount.quantize(quantum(currency), rounding=mode.decimal_rounding, context=EXACT)


def round_fraction(
    value: Fraction,
    currency: str,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> Decimal:
    """Round an exact fraction to minor units without an intermediate decimal rounding.

    Proration and interest produce ratios such as 9/31 whose decimal expansion never ends;
    rounding the fraction itself avoids rounding twice.
    """
    places = minor_units(currency)
    scaled = value * 10**places
    whole, rest = divmod(abs(scaled.numerator), scaled.denominator)
    twice = 2 * rest
    if twice > scaled.denominator or (
        twice == scaled.denominator and (mode is RoundingMode.HALF_UP or whole % 2 == 1)
    ):
        whole += 1
    if scaled < 0:
        whole = -whole
    return Decimal(whole).scaleb(-places, context=EXACT).quantize(quantum(currency), context=EXACT)


class RoundingPolicy(BaseModel):
    """Where and how amounts are rounded to minor units.

    ``per_line`` (the default) rounds every invoice line and sums the rounded lines, so the
    total always equals what the customer sees; ``per_total`` sums exact lines and rounds once.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    mode: RoundingMode = RoundingMode.HALF_UP
    per_line: bool = True

    def round(self, amount: Decimal, currency: str) -> Decimal:
        """Round ``amount`` to ``currency``'s minor units with this policy's mode."""
        return round_amount(amount, currency, self.mode)
