from decimal import Decimal

import pytest
from pydantic import BaseModel

from meterlib.currency import minor_units
from meterlib.errors import (
    CurrencyMismatchError,
    FloatNotAllowedError,
    InvalidValueError,
    UnknownCurrencyError,
)
from meterlib.money import Money, allocate
from meterlib.render.format import format_money, format_number
from meterlib.rounding import RoundingMode, round_amount


@pytest.mark.parametrize(("code", "units"), [("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)])
def test_minor_units_come_from_cldr(code, units):
    assert minor_units(code) == units


def test_unknown_currency_is_refused_with_its_code():
    with pytest.raises(UnknownCurrencyError, match=r"'currency' must be an ISO 4217.*'XYZ'"):
        Money("1", "XYZ")


def test_float_amount_is_refused():
    with pytest.raises(FloatNotAllowedError, match=r"0\.1 that is a float"):
        Money(0.1, "USD")  # type: ignore[arg-type]


def test_float_factor_is_refused():
    with pytest.raises(FloatNotAllowedError, match="'factor'"):
        Money("1", "USD") * 1.5  # type: ignore[operator]


def test_arithmetic_within_one_currency():
    a = Money("10.10", "USD")
    b = Money("0.05", "USD")
    assert a + b == Money("10.15", "USD")
    assert a - b == Money("10.05", "USD")
    assert -b == Money("-0.05", "USD")
    assert a * 3 == Money("30.30", "USD")
    assert "2" * b == Money("0.10", "USD")
    assert sum([a, b]) == Money("10.15", "USD")
    assert sum([a, b], Money.zero("USD")) == Money("10.15", "USD")
    assert b < a
    assert a >= Money(a.amount, "USD")


def test_mixing_currencies_raises():
    with pytest.raises(CurrencyMismatchError, match="USD and EUR"):
        Money("1", "USD") + Money("1", "EUR")
    with pytest.raises(CurrencyMismatchError):
        _ = Money("1", "USD") < Money("1", "EUR")


def test_adding_a_plain_number_raises():
    with pytest.raises(InvalidValueError):
        Money("1", "USD") + Decimal(1)  # type: ignore[operator]


def test_repr_and_str_are_locale_free():
    money = Money("1234.5", "EUR")
    assert repr(money) == "Money('1234.5', 'EUR')"
    assert str(money) == "1234.5 EUR"


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("1234.5", "EUR", "de_DE", "1.234,50\xa0€"),
        ("1234.5", "USD", "en_US", "$1,234.50"),
        ("1234", "JPY", "ja_JP", "￥1,234"),
        ("1.235", "KWD", "en_US", "KWD1.235"),
    ],
)
def test_display_goes_through_babel_with_an_explicit_locale(amount, currency, locale, shown):
    assert format_money(Money(amount, currency), locale) == shown


def test_display_can_keep_sub_cent_digits():
    assert format_money(Money("0.0005", "USD"), "en_US", exact=True) == "$0.0005"
    assert format_number(Decimal("1234567.125"), "de_DE") == "1.234.567,125"


def test_unknown_locale_is_refused():
    with pytest.raises(InvalidValueError, match="'locale'"):
        format_money(Money("1", "USD"), "xx_YY_ZZ")


@pytest.mark.parametrize(
    ("amount", "currency", "mode", "expected"),
    [
        ("2.665", "USD", RoundingMode.HALF_UP, "2.67"),
        ("2.665", "USD", RoundingMode.HALF_EVEN, "2.66"),
        ("2.675", "USD", RoundingMode.HALF_EVEN, "2.68"),
        ("-2.665", "USD", RoundingMode.HALF_UP, "-2.67"),
        ("1.5", "JPY", RoundingMode.HALF_UP, "2"),
        ("2.5", "JPY", RoundingMode.HALF_EVEN, "2"),
        ("1.23456", "KWD", RoundingMode.HALF_UP, "1.235"),
    ],
)
def test_rounding_modes(amount, currency, mode, expected):
    assert round_amount(Decimal(amount), currency, mode) == Decimal(expected)
    assert Money(amount, currency).round(mode) == Money(expected, currency)


def test_allocate_hands_out_the_remainder():
    parts = allocate(Money("100", "USD"), [1, 1, 1])
    assert parts == [Money("33.34", "USD"), Money("33.33", "USD"), Money("33.33", "USD")]
    assert Money("0.05", "USD").allocate([1, 1]) == [Money("0.03", "USD"), Money("0.02", "USD")]
    assert Money("-0.05", "USD").allocate([1, 1]) == [Money("-0.03", "USD"), Money("-0.02", "USD")]
    assert Money("10", "JPY").allocate([1, 2]) == [Money("3", "JPY"), Money("7", "JPY")]


def test_allocate_refuses_bad_ratios():
    with pytest.raises(InvalidValueError, match="ratios"):
        allocate(Money("1", "USD"), [])
    with pytest.raises(InvalidValueError, match=r"ratios\[1\]"):
        allocate(Money("1", "USD"), [1, -1])
    with pytest.raises(InvalidValueError, match="sum is above zero"):
        allocate(Money("1", "USD"), [0, 0])


class _Line(BaseModel):
    total: Money


def test_money_in_a_model_round_trips_through_json():
    line = _Line(total=Money("12.50", "EUR"))
    text = line.model_dump_json()
    assert text == '{"total":{"amount":"12.50","currency":"EUR"}}'
    assert _Line.model_validate_json(text) == line
    with pytest.raises(ValueError, match="currency"):
        _Line.model_validate({"total": {"amount": "1", "currency": "XYZ"}})
