"""Currencies and their minor units, from CLDR through Babel.

CLDR's minor units are used even where ISO 4217 differs (IQD has 3 in ISO, 0 in CLDR), because
CLDR is what displays and rounds money in practice.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from babel.numbers import get_currency_precision, list_currencies
from pydantic import BeforeValidator, WithJsonSchema

from meterlib.errors import UnknownCurrencyError, describe

__all__ = ["CurrencyCode", "check_currency", "minor_units"]


@cache
def _known() -> frozenset[str]:
    return frozenset(list_currencies())


def check_currency(code: Any, field: str = "currency") -> str:
    """Return ``code`` if CLDR knows it as a currency, else raise naming ``field``."""
    if type(code) is str and code in _known():
        return code
    raise UnknownCurrencyError(field, code)


@cache
def minor_units(code: str) -> int:
    """Digits after the decimal point for ``code`` (USD 2, JPY 0, KWD 3, CLF 4)."""
    return int(get_currency_precision(check_currency(code)))


def _validate(value: Any) -> str:
    if type(value) is str and value in _known():
        return value
    raise ValueError(f"must be an ISO 4217 currency code known to CLDR (got {describe(value)})")


#: A model field holding a currency code checked against CLDR.
CurrencyCode = Annotated[
    str,
    BeforeValidator(_validate),
    WithJsonSchema(
        {
            "type": "string",
            "enum": sorted(_known()),
            "description": "An ISO 4217 currency code known to CLDR, such as 'USD'",
        }
    ),
]
