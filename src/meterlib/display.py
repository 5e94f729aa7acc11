"""Display of money, numbers and dates for people, through Babel with an explicit locale.

Kept apart from arithmetic: nothing here changes a value, and nothing reads the machine's
locale. Every function takes the locale as an argument (``"en_US"``, ``"de_DE"``, ...).
"""

from __future__ import annotations

import decimal
from datetime import date, datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

from meterlib._numbers import ROUNDED
from meterlib.currency import minor_units
from meterlib.errors import InvalidValueError
from meterlib.money import Money

__all__ = ["format_date_local", "format_money", "format_number", "parse_locale"]


def parse_locale(locale: str | Locale) -> Locale:
    """Turn ``"de_DE"`` or ``"de-DE"`` into a Babel locale, or raise naming the value."""
    if isinstance(locale, Locale):
        return locale
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise InvalidValueError("locale", locale, "a CLDR locale such as 'en_US'") from None


def format_money(money: Money, locale: str | Locale, *, exact: bool = False) -> str:
    """Format ``money`` for ``locale``: EUR 1234.5 in ``de_DE`` is ``1.234,50 €``.

    By default the currency's minor units are shown (the amount should already be rounded);
    ``exact=True`` keeps every digit of a sub-cent amount such as a unit price of 0.0005.
    """
    loc = parse_locale(locale)
    exponent = money.amount.as_tuple().exponent
    # Babel rounds in the ambient decimal context: give it meterlib's, never the caller's.
    with decimal.localcontext(ROUNDED):
        if exact and isinstance(exponent, int) and -exponent > minor_units(money.currency):
            return format_currency(
                money.amount, money.currency, locale=loc, decimal_quantization=False
            )
        return format_currency(money.amount, money.currency, locale=loc)


def format_number(value: Decimal | int, locale: str | Locale) -> str:
    """Format a quantity with the locale's grouping and decimal signs, keeping every digit."""
    with decimal.localcontext(ROUNDED):
        return format_decimal(value, locale=parse_locale(locale), decimal_quantization=False)


def format_date_local(value: date | datetime, locale: str | Locale, fmt: str = "medium") -> str:
    """Format a date (or the date of a datetime) for ``locale``."""
    loc = parse_locale(locale)
    if isinstance(value, datetime):
        return format_datetime(value, format=fmt, locale=loc)
    return format_date(value, format=fmt, locale=loc)
