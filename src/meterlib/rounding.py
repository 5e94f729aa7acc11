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

from meterlib._numbers import EXACT, ROUNDED, exactly, to_decimal
from meterlib.currency import minor_units
from meterlib.errors import InvalidValueError, WrongTypeError

__all__ = ["RoundingMode", "quantum", "round_amount", "round_fraction", "rounding_mode"]


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


def rounding_mode(value: RoundingMode | str, field: str = "mode") -> RoundingMode:
    """Read a rounding mode given as a :class:`RoundingMode` or its name (``"half_even"``)."""
    if type(value) is RoundingMode:
        return value
    if isinstance(value, str):
        try:
            return RoundingMode(value)
        except ValueError:
            pass
        raise InvalidValueError(field, value, "one of 'half_up', 'half_even'")
    raise WrongTypeError(field, value, "a rounding mode: 'half_up' or 'half_even'")


@cache
def quantum(currency: str) -> Decimal:
    """The smallest unit of ``currency`` as a Decimal exponent (USD -> 0.01, JPY -> 1)."""
    return Decimal(1).scaleb(-minor_units(currency))


def round_amount(
    amount: Decimal | int | str,
    currency: str,
    mode: RoundingMode | str = RoundingMode.HALF_UP,
) -> Decimal:
    """Round ``amount`` to the minor units of ``currency`` with ``mode``.

    ``amount`` is a ``Decimal`` (or an ``int`` or decimal string read through the number
    funnel; floats are refused), ``mode`` a :class:`RoundingMode` or its name.
    """
    value = amount if type(amount) is Decimal else to_decimal(amount, "amount")
    if not value.is_finite():
        raise InvalidValueError("amount", amount, "a finite decimal (not NaN or infinity)")
    how = rounding_mode(mode)
    try:  # as exactly() does, with the message written only when needed (a hot path)
        return value.quantize(quantum(currency), rounding=how.decimal_rounding, context=ROUNDED)
    except (decimal.Inexact, decimal.Overflow, decimal.Underflow, decimal.InvalidOperation):
        with exactly(f"rounding {value} to {currency}"):
            return value.quantize(
                quantum(currency), rounding=how.decimal_rounding, context=ROUNDED
            )


def round_fraction(
    value: Fraction | int,
    currency: str,
    mode: RoundingMode | str = RoundingMode.HALF_UP,
) -> Decimal:
    """Round an exact fraction to minor units without an intermediate decimal rounding.

    Proration and interest produce ratios such as 9/31 whose decimal expansion never ends;
    rounding the fraction itself avoids rounding twice.
    """
    if not isinstance(value, Fraction | int) or type(value) is bool:
        raise WrongTypeError("value", value, "an exact Fraction")
    how = rounding_mode(mode)
    places = minor_units(currency)
    # value × 10**places as numerator / denominator (not reduced: divmod does not need it)
    numerator = value.numerator * 10**places
    denominator = value.denominator
    whole, rest = divmod(abs(numerator), denominator)
    twice = 2 * rest
    if twice > denominator or (
        twice == denominator and (how is RoundingMode.HALF_UP or whole % 2 == 1)
    ):
        whole += 1
    if numerator < 0:
        whole = -whole
    return Decimal(whole).scaleb(-places, context=EXACT).quantize(quantum(currency), context=EXACT)
