"""The one funnel through which outside numbers become ``Decimal``.

Nothing else in meterlib calls ``Decimal(x)`` on outside input. ``float`` is refused because it
carries binary error (``Decimal(0.1)`` is not 0.1); ``bool`` is refused because ``True`` is an
``int`` by accident, not a quantity; NaN and infinities are refused because no charge is either.

Arithmetic runs in :data:`EXACT`, a context wide enough that sums and products of realistic
billing figures are exact, so results never depend on the caller's ambient decimal context.

Limits, checked when a number enters (documented in the README, "Conventions"):

- digits are ASCII ``0``-``9`` only (no Arabic-Indic or fullwidth digits), at most
  :data:`MAX_TEXT` characters of text;
- the magnitude is below ``10**MAX_MAGNITUDE`` (``1e40``), and no digit lies below
  ``10**-MAX_PLACES`` (40 decimal places).

With those bounds a product of two numbers has at most 160 digits, so sums and products stay
exact in :data:`EXACT` (200 digits). A result that would still need rounding there raises
:class:`~meterlib.errors.PrecisionError` (``Inexact`` and ``Overflow`` are trapped); the
deliberate roundings run in :data:`ROUNDED` with their mode named: to minor units, and
quotients that never end in decimal (averages over time, proration fractions), which
:func:`quotient` rounds half-even to ``MAX_PLACES`` decimal places, so that a quotient is a
number like any other and its products with prices stay exact.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, PlainSerializer, WithJsonSchema

from meterlib.errors import (
    FloatNotAllowedError,
    InvalidValueError,
    PrecisionError,
    WrongTypeError,
    describe,
)

__all__ = [
    "EXACT",
    "MAX_MAGNITUDE",
    "MAX_PLACES",
    "MAX_TEXT",
    "ROUNDED",
    "Amount",
    "NonNegativeAmount",
    "computed_figure",
    "exact",
    "exact_sum",
    "exactly",
    "quotient",
    "to_decimal",
]

#: Numbers meterlib accepts are below ``10**MAX_MAGNITUDE`` in absolute value.
MAX_MAGNITUDE = 40
#: Numbers meterlib accepts have no digit below ``10**-MAX_PLACES``.
MAX_PLACES = 40
#: Longest decimal text meterlib reads as a number.
MAX_TEXT = 100

#: Context for all meterlib arithmetic: 200 significant digits, and every signal that would
#: silently lose information trapped: a result that does not fit raises instead of rounding.
EXACT = decimal.Context(
    prec=200,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[
        decimal.InvalidOperation,
        decimal.DivisionByZero,
        decimal.Overflow,
        decimal.Inexact,
        decimal.Underflow,
    ],
)

#: The context of meterlib's named, deliberate roundings: to a currency's minor units (the
#: mode is always passed explicitly), and of quotients that never end in decimal (an average
#: over time such as ``1/3``, rounded half-even to 200 significant digits).
ROUNDED = decimal.Context(
    prec=200,
    rounding=decimal.ROUND_HALF_EVEN,
    Emax=999_999,
    Emin=-999_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

# A plain decimal literal: optional sign, ASCII digits with an optional fraction, an optional
# exponent of at most four digits. Spaces, underscores, non-ASCII digits and words such as
# "NaN" or "Infinity" are refused. The groups give the fraction and the exponent, so the
# number's lowest digit is known from the text without asking the Decimal.
_DECIMAL_TEXT = re.compile(
    r"[+-]?(?:[0-9]+(?:\.([0-9]*))?|\.([0-9]+))(?:[eE]([+-]?[0-9]{1,4}))?", re.ASCII
)
_INT_LIMIT = 10**MAX_MAGNITUDE
_LIMITS = f"below 1e{MAX_MAGNITUDE} in size with at most {MAX_PLACES} decimal places"
# Quantizing to 10**-MAX_PLACES signals Inexact exactly when a digit lies below it: cheaper
# than reading the exponent from Decimal.as_tuple() on the hot path.
_LOWEST = Decimal(1).scaleb(-MAX_PLACES)
_PLACES_CHECK = decimal.Context(
    prec=MAX_MAGNITUDE + MAX_PLACES + 2,
    traps=[decimal.Inexact, decimal.InvalidOperation],
).quantize


def exact() -> AbstractContextManager[decimal.Context]:
    """Return a context manager that runs the block in :data:`EXACT`."""
    return decimal.localcontext(EXACT)


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """The sum of ``values`` in :data:`EXACT`, whatever the caller's context (``sum()`` is not)."""
    total = Decimal(0)
    add = EXACT.add
    for value in values:
        total = add(total, value)
    return total


@contextmanager
def exactly(what: str) -> Iterator[None]:
    """Run a computation whose result must be exact; name it if it is not.

    Turns the signals :data:`EXACT` traps (a result needing more than 200 digits, an exponent
    out of range) into :class:`~meterlib.errors.PrecisionError` naming ``what``.
    """
    try:
        yield
    except (decimal.Inexact, decimal.Overflow, decimal.Underflow) as error:
        raise PrecisionError(what) from error
    except decimal.InvalidOperation as error:
        # quantize() signals InvalidOperation when its result needs more digits than EXACT has.
        raise PrecisionError(what) from error


def quotient(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator``, exact or rounded once, half-even, to ``MAX_PLACES`` places.

    Exact (as the division writes it) when the quotient ends within ``MAX_PLACES`` decimal
    places; otherwise rounded from the exact remainder, trailing zeros dropped.

    The one rounding of a quotient that never ends in decimal (``1/3``): the result obeys the
    same limits as every number read at the edge, so multiplying it by a price stays exact in
    :data:`EXACT` instead of needing more than 200 digits.
    """
    try:
        result = EXACT.divide(numerator, denominator)
    except decimal.Inexact:
        pass
    else:
        exponent = result.as_tuple().exponent
        if isinstance(exponent, int) and exponent >= -MAX_PLACES:
            return result
    # Exact integer arithmetic: n / d scaled by 10**MAX_PLACES, remainder decides the tie.
    n_sign, n_digits, n_exp = numerator.as_tuple()
    d_sign, d_digits, d_exp = denominator.as_tuple()
    if not isinstance(n_exp, int) or not isinstance(d_exp, int):
        raise PrecisionError("a quotient of a non-finite number")
    top = int("".join(map(str, n_digits)) or "0")
    bottom = int("".join(map(str, d_digits)) or "0")
    shift = n_exp - d_exp + MAX_PLACES
    if shift >= 0:
        top *= 10**shift
    else:
        bottom *= 10**-shift
    whole, left = divmod(top, bottom)
    if 2 * left > bottom or (2 * left == bottom and whole % 2):
        whole += 1
    places = MAX_PLACES
    while places and whole and whole % 10 == 0:
        whole //= 10
        places -= 1
    if not whole:
        places = 0
    text = f"{'-' if n_sign != d_sign and whole else ''}{whole}"
    return Decimal(text).scaleb(-places, EXACT)


def _bounded(value: Decimal, field: str, given: Any) -> Decimal:
    """Return ``value`` when it lies within meterlib's documented limits."""
    if value.is_finite():
        if value.adjusted() < MAX_MAGNITUDE or not value:
            try:
                _PLACES_CHECK(value, _LOWEST)
            except decimal.DecimalException:
                pass
            else:
                return value
        raise InvalidValueError(field, given, f"a number {_LIMITS}")
    raise InvalidValueError(field, given, "a finite decimal (not NaN or infinity)")


def to_decimal(value: Any, field: str = "value") -> Decimal:
    """Turn ``value`` into a finite ``Decimal`` or raise an error naming ``field``.

    Accepts ``Decimal``, ``int`` and decimal strings with ASCII digits. Refuses ``float``,
    ``bool``, NaN and infinities, numbers beyond the limits above, and anything else.
    """
    # Exact type checks first: they are the hot path.
    kind = type(value)
    if kind is Decimal:
        return _bounded(value, field, value)
    if kind is str:
        text = value.strip()
        match = _DECIMAL_TEXT.fullmatch(text) if len(text) <= MAX_TEXT else None
        if match is not None and match.lastindex != 3 and len(text) <= MAX_PLACES:
            # The common case: no exponent and at most 40 characters, so fewer than 40
            # digits on either side of the point.
            return Decimal(text)
        if match is None:
            raise InvalidValueError(
                field, value, "a decimal number written as text, such as '12.50'"
            )
        fraction, exponent = match.group(1) or match.group(2), match.group(3)
        places = len(fraction) if fraction else 0
        if exponent is not None:
            places -= int(exponent)
        number = Decimal(text)
        if places <= MAX_PLACES and (number.adjusted() < MAX_MAGNITUDE or not number):
            return number
        raise InvalidValueError(field, value, f"a number {_LIMITS}")
    if kind is int:
        if -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        raise InvalidValueError(field, value, f"a number {_LIMITS}")
    if isinstance(value, float):
        raise FloatNotAllowedError(field, value)
    if isinstance(value, bool):
        raise WrongTypeError(field, value, "a number, not a bool")
    if isinstance(value, Decimal | int):  # subclasses
        return to_decimal(Decimal(value), field)
    if isinstance(value, str):
        return to_decimal(str(value), field)
    raise WrongTypeError(field, value, "a number: a decimal, a whole number or decimal text")


def computed_figure(value: Any, field: str) -> Decimal:
    """A figure meterlib computed and wrote as text, read back (an accumulator's saved state).

    Sums of many accepted numbers and products such as quantity × seconds outgrow the limits
    on numbers entering from outside, so a saved figure is held only to what :data:`EXACT`
    keeps exactly: plain decimal text (an exponent allowed) of at most ``EXACT.prec``
    significant digits. Anything else raises :class:`~meterlib.errors.InvalidValueError`
    naming ``field``.
    """
    if type(value) is str:
        text = value.strip()
        if len(text) <= 2 * EXACT.prec and _DECIMAL_TEXT.fullmatch(text):
            number = Decimal(text)
            if len(number.as_tuple().digits) <= EXACT.prec:
                return number
    raise InvalidValueError(
        field, value, f"a decimal written as text with at most {EXACT.prec} significant digits"
    )


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


# JSON Schema of the numbers the funnel reads: decimal text (surrounding white space is
# stripped, as the funnel does) or a JSON number (read as Decimal by meterlib's readers).
_UNSIGNED = r"([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?"
_NEGATIVE_ZERO = r"(0+(\.0*)?|\.0+)([eE][+-]?[0-9]{1,4})?"
_NUMBER_LIMITS = {"exclusiveMinimum": -(10**MAX_MAGNITUDE), "exclusiveMaximum": 10**MAX_MAGNITUDE}
_DESCRIPTION = (
    f"An exact decimal: a string such as '0.0005' or a JSON number (read as a decimal, never"
    f" a float), below 1e{MAX_MAGNITUDE} in size with at most {MAX_PLACES} decimal places."
)

_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {"type": "string", "pattern": rf"^\s*[+-]?{_UNSIGNED}\s*$", "maxLength": MAX_TEXT},
            {"type": "number", **_NUMBER_LIMITS},
        ],
        "description": _DESCRIPTION,
    },
)
_NON_NEGATIVE_SCHEMA = WithJsonSchema(
    {
        "anyOf": [
            {
                "type": "string",
                "pattern": rf"^\s*(\+?{_UNSIGNED}|-{_NEGATIVE_ZERO})\s*$",
                "maxLength": MAX_TEXT,
            },
            {"type": "number", "minimum": 0, "exclusiveMaximum": 10**MAX_MAGNITUDE},
        ],
        "description": _DESCRIPTION + " Not negative.",
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
    _NON_NEGATIVE_SCHEMA,
]
