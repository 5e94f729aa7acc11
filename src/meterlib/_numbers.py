"""The one funnel through which outside numbers become ``Decimal``.

Nothing else in meterlib calls ``Decimal(x)`` on outside input. ``float`` is refused because it
carries binary error (``Decimal(0.1)`` is not 0.1); ``bool`` is refused because ``True`` is an
``int`` by accident, not a quantity; NaN and infinities are refused because no charge is either.

Arithmetic runs in :data:`EXACT`, a context wide enough that sums and products of realistic
billing figures are exact, so results never depend on the caller's ambient decimal context.
"""

from __future__ import annotations

import decimal
import re
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from meterlib.errors import FloatNotAllowedError, InvalidValueError, describe

__all__ = [
    "EXACT",
    "Amount",
    "NonNegativeAmount",
    "exact",
    "to_decimal",
]

#: Context for all meterlib arithmetic: 200 significant digits, and every signal that would
#: silently lose information trapped.
EXACT = decimal.Context(
    prec=200,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

# A plain decimal literal: optional sign, digits with an optional fraction, optional exponent.
# Spaces, underscores and words such as "NaN" or "Infinity" are refused.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def exact() -> AbstractContextManager[decimal.Context]:
    """Return a context manager that runs the block in :data:`EXACT`."""
    return decimal.localcontext(EXACT)


def to_decimal(value: Any, field: str = "value") -> Decimal:
    """Turn ``value`` into a finite ``Decimal`` or raise an error naming ``field``.

    Accepts ``Decimal``, ``int`` and decimal strings. Refuses ``float``, ``bool``, NaN and
    infinities, and anything else.
    """
    # Exact type checks first: they are the hot path.
    kind = type(value)
    if kind is Decimal:
        if value.is_finite():
            return value  # type: ignore[no-any-return]
        raise InvalidValueError(field, value, "a finite decimal (not NaN or infinity)")
    if kind is str:
        text = value.strip()
        if _DECIMAL_TEXT.fullmatch(text):
            return Decimal(text)
        raise InvalidValueError(field, value, "a decimal number written as text, such as '12.50'")
    if kind is int:
        return Decimal(value)
    if isinstance(value, float):
        raise FloatNotAllowedError(field, value)
    if isinstance(value, bool):
        raise InvalidValueError(field, value, "a number, not a bool")
    if isinstance(value, Decimal | int):  # subclasses
        return to_decimal(Decimal(value), field)
    if isinstance(value, str):
        return to_decimal(str(value), field)
    raise InvalidValueError(field, value, "a Decimal, an int or a decimal string")


def _validate(value: Any) -> Decimal:
    # Inside pydantic the field's name is carried by the error's location, so the message
    # says only what was expected and what came.
    try:
        return to_decimal(value, "value")
    except InvalidValueError as error:
        raise ValueError(f"must be {error.expected} (got {describe(value)})") from None


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"must be >= 0 (got {value})")
    return value


_SCHEMA = WithJsonSchema(
    {
        "type": "string",
        "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$",
        "description": "An exact decimal written as a string, such as '0.0005'.",
    },
)

#: A ``Decimal`` model field: accepts ``Decimal``, ``int`` or a decimal string, refuses float,
#: and serializes to JSON as a string so no digit is lost.
Amount = Annotated[
    Decimal,
    BeforeValidator(_validate),
    PlainSerializer(str, return_type=str, when_used="json"),
    _SCHEMA,
]

#: An :data:`Amount` that may not be negative (prices, sizes, allowances).
NonNegativeAmount = Annotated[
    Decimal,
    BeforeValidator(_validate),
    AfterValidator(_non_negative),
    PlainSerializer(str, return_type=str, when_used="json"),
    _SCHEMA,
]
