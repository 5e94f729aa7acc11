"""Display of money, numbers, percentages and dates for people, through Babel, explicit locale.

Kept apart from arithmetic: nothing here changes a value, and nothing reads the machine's
locale. Every function takes the locale as an argument (``"en_US"``, ``"de_DE"``, ...).
:class:`Formatter` binds one locale and one currency for a whole document, and also carries
the document's translated labels (:mod:`meterlib.render.i18n`) and its writing direction.
"""

from __future__ import annotations

import decimal
from datetime import date, datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from meterlib._numbers import ROUNDED, to_decimal
from meterlib.currency import minor_units
from meterlib.errors import InvalidValueError
from meterlib.money import Money
from meterlib.render.i18n import translations

__all__ = [
    "Formatter",
    "format_date_local",
    "format_money",
    "format_number",
    "format_percent_local",
    "parse_locale",
]


def parse_locale(locale: str | Locale) -> Locale:
    """Turn ``"de_DE"`` or ``"de-DE"`` into a Babel locale, or raise naming the value."""
    if isinstance(locale, Locale):
        return locale
    try:
        return Locale.parse(locale.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError, AttributeError):
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


def format_percent_local(percent: Decimal | int | str, locale: str | Locale) -> str:
    """Format a percentage given in percent (``19`` is 19 %, ``Decimal("9.5")`` is 9.5 %).

    Every digit is kept; the sign, spacing and position follow the locale (``19 %`` in
    ``de_DE``, ``19%`` in ``en_US``).
    """
    with decimal.localcontext(ROUNDED):
        ratio = to_decimal(percent, "percent").scaleb(-2)
        return format_percent(ratio, locale=parse_locale(locale), decimal_quantization=False)


def format_date_local(value: date | datetime, locale: str | Locale, fmt: str = "medium") -> str:
    """Format a date (or the date of a datetime) for ``locale``."""
    loc = parse_locale(locale)
    if isinstance(value, datetime):
        return format_datetime(value, format=fmt, locale=loc)
    return format_date(value, format=fmt, locale=loc)


class Formatter:
    """One document's formatting: a locale, a currency, translated labels, a direction."""

    def __init__(self, currency: str, locale: str | Locale = "en_US") -> None:
        """Check the locale through Babel and load its label catalog."""
        self.currency = currency
        self.locale = parse_locale(locale)
        self._translations = translations(self.locale)

    @property
    def rtl(self) -> bool:
        """True for a right-to-left script (Arabic, Hebrew, Persian, Urdu, ...)."""
        return self.locale.character_order == "right-to-left"

    @property
    def direction(self) -> str:
        """``"rtl"`` or ``"ltr"``: the value of the HTML ``dir`` attribute."""
        return "rtl" if self.rtl else "ltr"

    @property
    def language(self) -> str:
        """The language code for ``<html lang>``: ``de``, ``ar``, ``pt-BR``."""
        if self.locale.territory and self.locale.language in {"pt", "zh"}:
            return f"{self.locale.language}-{self.locale.territory}"
        return self.locale.language

    def gettext(self, message: str) -> str:
        """The label ``message`` translated for the locale (English when no catalog has it).

        Renderers bind it as ``_ = fmt.gettext`` so that ``pybabel extract`` finds the labels.
        """
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The singular or plural label for ``count``, translated."""
        return self._translations.ngettext(singular, plural, count)

    def isolate(self, figure: str) -> str:
        """``figure`` as a bidi isolate (FSI … PDI) in a right-to-left locale, else unchanged.

        A figure such as ``€ 0.01`` keeps its own order inside Arabic or Hebrew text instead of
        being reordered with its neighbours (Unicode Bidirectional Algorithm, UAX #9).
        """
        return f"\u2068{figure}\u2069" if self.rtl and figure else figure

    def money(self, amount: Decimal) -> str:
        """An amount in the document's currency, in minor units."""
        return self.isolate(format_money(Money(amount, self.currency), self.locale))

    def unit_price(self, amount: Decimal) -> str:
        """An amount that keeps every digit of a sub-cent unit price."""
        return self.isolate(format_money(Money(amount, self.currency), self.locale, exact=True))

    def number(self, value: Decimal | int | None) -> str:
        """A quantity with the locale's signs, every digit kept; empty for ``None``."""
        return "" if value is None else self.isolate(format_number(value, self.locale))

    def percent(self, percent: Decimal | int | str) -> str:
        """A percentage given in percent, through Babel (``19 %`` in German)."""
        return self.isolate(format_percent_local(percent, self.locale))

    def day(self, value: date) -> str:
        """A date, medium length (``Mar 15, 2023``, ``15.03.2023``)."""
        return self.isolate(format_date_local(value, self.locale, "medium"))
