"""One exception hierarchy for meterlib.

Every error meterlib raises on purpose is a :class:`MeterlibError`. The concrete classes also
inherit the built-in a caller would naturally catch (``ValueError`` or ``TypeError``), so code
that predates meterlib keeps working. Messages name the field, the value and what was expected:
``'unit_amount' must be >= 0 (got -0.01 that is a decimal number)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "CurrencyMismatchError",
    "DocumentError",
    "FloatNotAllowedError",
    "InvalidValueError",
    "MeterlibError",
    "NaiveDatetimeError",
    "PrecisionError",
    "RatingError",
    "UnknownCurrencyError",
    "WrongTypeError",
    "describe",
]


def _kind(value: Any) -> str:
    """What ``value`` is, in the words of a document's author rather than Python's."""
    kinds: list[tuple[type | tuple[type, ...], str]] = [
        (bool, "a true/false value"),
        (str, "text"),
        (int, "a whole number"),
        (float, "a binary float"),
        (Decimal, "a decimal number"),
        (datetime, "a date and time"),
        (date, "a date"),
        (Mapping, "an object"),
        ((list, tuple), "a list"),
    ]
    if value is None:
        return "nothing (null)"
    for kind, words in kinds:
        if isinstance(value, kind):
            return words
    return f"a {type(value).__name__}"


def describe(value: Any) -> str:
    """Show a value in an error message with its kind, in the words of the user's input.

    Text ``'1'`` and the number ``1`` are told apart: ``'1' that is text``, ``1 that is a whole
    number``; a decimal shows as written (``1.5 that is a decimal number``).
    """
    text = str(value) if type(value) is Decimal else repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} that is {_kind(value)}"


class MeterlibError(Exception):
    """Base class of every error meterlib raises on purpose."""


class InvalidValueError(MeterlibError, ValueError):
    """An input value is not acceptable; the message names the field, the value and the rule."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field!r} must be {expected} (got {describe(value)})")


class WrongTypeError(InvalidValueError, TypeError):
    """An argument of the wrong kind (a list where an amount is expected, a float, ...)."""


class FloatNotAllowedError(WrongTypeError):
    """A binary float was given where an exact decimal is required."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(
            field,
            value,
            "an exact decimal (Decimal, int or a decimal string such as '0.1'), never a float",
        )


class UnknownCurrencyError(InvalidValueError):
    """A currency code that CLDR does not know."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(field, value, "an ISO 4217 currency code known to CLDR, such as 'USD'")


class NaiveDatetimeError(InvalidValueError):
    """A datetime without a time zone where an instant is required."""

    def __init__(self, field: str, value: Any) -> None:
        super().__init__(field, value, "a time-zone aware datetime (with an offset)")


class CurrencyMismatchError(MeterlibError, ValueError):
    """Arithmetic or comparison across two currencies."""

    def __init__(self, left: str, right: str, operation: str) -> None:
        self.left = left
        self.right = right
        super().__init__(f"cannot {operation} amounts in {left} and {right}: currencies differ")


class PrecisionError(MeterlibError, ArithmeticError):
    """A result would need rounding beyond meterlib's exact context (200 significant digits).

    meterlib never rounds silently: inputs are bounded (see :mod:`meterlib._numbers`) so that
    realistic sums and products are exact, and a computation that still overflows says so.
    """

    def __init__(self, what: str) -> None:
        self.what = what
        super().__init__(
            f"{what} needs more than 200 significant digits or an exponent out of range; "
            "meterlib refuses to round it: use smaller amounts or fewer decimal places"
        )


class RatingError(MeterlibError, ValueError):
    """A valid price cannot rate the given input (for example above a bounded last tier)."""


class DocumentError(MeterlibError, ValueError):
    """A document (JSON or TOML) does not describe a valid object.

    ``problems`` lists each problem as ``(location, message)``; the location is the dotted
    path of the offending field inside the document, such as ``tiers.1.up_to``.
    """

    def __init__(self, what: str, problems: list[tuple[str, str]]) -> None:
        self.what = what
        self.problems = problems
        lines = "; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in problems)
        super().__init__(f"invalid {what}: {lines}")
