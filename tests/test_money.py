import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from pydantic import BaseModel

from meterlib.currency import minor_units
from meterlib.errors import (
    CurrencyMismatchError,
    FloatNotAllowedError,
    InvalidValueError,
    PrecisionError,
    UnknownCurrencyError,
)
from meterlib.money import Money, allocate
from meterlib.render.format import format_money, format_number
from meterlib.rounding import RoundingMode, round_amount, round_fraction


@pytest.mark.parametrize(("code", "units"), [("USD", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4)])
def test_minor_units_come_from_cldr(code, units):
    assert minor_units(code) == units


def test_unknown_currency_is_refused_with_its_code():
    with pytest.raises(UnknownCurrencyError, match=r"'currency' must be an ISO 4217.*'XYZ'"):
        Money("1", "XYZ")


def test_float_amount_is_refused():
    with pytest.raises(FloatNotAllowedError, match=r"0\.1 that is a binary float"):
        Money(0.1, "USD")  # type: ignore[arg-type]


def test_float_factor_is_refused():
    with pytest.raises(FloatNotAllowedError, match="'factor'"):
        Money("1", "USD") * 1.5


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
    # Money returns NotImplemented to foreign operands, so Python raises its TypeError.
    with pytest.raises(TypeError, match="unsupported operand"):
        Money("1", "USD") + Decimal(1)
    with pytest.raises(TypeError, match="unsupported operand"):
        Decimal(1) - Money("1", "USD")  # type: ignore[operator]
    with pytest.raises(TypeError, match="unsupported operand"):
        Money("1", "USD") * Money("1", "USD")


@pytest.mark.parametrize("other", [2, Decimal(2), "2", None])
def test_ordering_against_a_foreign_operand_is_a_type_error(other):
    money = Money("1", "USD")
    for compare in (
        lambda: money < other,
        lambda: money <= other,
        lambda: money > other,
        lambda: money >= other,
        lambda: other < money,
    ):
        with pytest.raises(TypeError, match="not supported between"):
            compare()  # type: ignore[no-untyped-call]
    assert money != other


def test_comparisons_at_equal_amounts():
    one, same = Money("1.50", "USD"), Money("1.5", "USD")
    assert not one < same
    assert one <= same
    assert not one > same
    assert one >= same
    assert one == same
    smaller = Money("1.49", "USD")
    assert smaller < one
    assert smaller <= one
    assert not smaller > one
    assert not smaller >= one
    assert one > smaller
    assert one >= smaller
    assert not one < smaller
    assert not one <= smaller


def test_sum_starts_at_zero_only():
    assert sum([Money("1", "USD"), Money("2", "USD")]) == Money("3", "USD")
    with pytest.raises(TypeError):
        _ = 5 + Money("1", "USD")


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


def test_allocate_gives_the_leftover_to_the_largest_remainder_then_the_earliest():
    # 10 cents by 1:2 -> exact 3.33 and 6.67 cents: the one cent left goes to the second part,
    # whose remainder (0.67) is the larger, though it comes later.
    assert allocate(Money("0.10", "USD"), [1, 2]) == [Money("0.03", "USD"), Money("0.07", "USD")]
    # 2 cents by 1:1:1 -> 0.67 each: the two cents go to the first two parts.
    assert allocate(Money("0.02", "USD"), [1, 1, 1]) == [
        Money("0.01", "USD"),
        Money("0.01", "USD"),
        Money("0", "USD"),
    ]
    # 1 cent by 1:3:3 -> remainders 0.14, 0.43, 0.43: the tie between the last two goes to
    # the earlier of them, never to the first part.
    assert allocate(Money("0.01", "USD"), [1, 3, 3]) == [
        Money("0", "USD"),
        Money("0.01", "USD"),
        Money("0", "USD"),
    ]


def test_allocate_does_not_depend_on_the_callers_context():
    ratios = ["1.2345", "1.2345", "0.0001"]
    expected = allocate(Money("100", "USD"), ratios)
    assert sum(expected, Money.zero("USD")) == Money("100", "USD")
    with decimal.localcontext(prec=3, rounding=decimal.ROUND_DOWN):
        parts = allocate(Money("100", "USD"), ratios)
        total = sum(parts, Money.zero("USD"))
    assert parts == expected
    assert total == Money("100", "USD")


def test_allocate_refuses_what_is_not_money():
    with pytest.raises(TypeError, match="'money' must be a Money amount"):
        allocate(Decimal(1), [1, 1])  # type: ignore[arg-type]


def test_money_arithmetic_does_not_depend_on_the_callers_context():
    left, right = Money("1234.5678", "USD"), Money("0.0001", "USD")
    with decimal.localcontext(prec=3):
        assert (left + right).amount == Decimal("1234.5679")
        assert (left - right).amount == Decimal("1234.5677")
        assert (left * "3.3").amount == Decimal("4074.07374")


def test_a_result_beyond_the_exact_context_is_a_named_error():
    big = Money("9" * 39, "USD")
    product = big * ("9" * 39) * ("9" * 39) * ("9" * 39)  # 156 digits: still exact
    with pytest.raises(PrecisionError, match="200 significant digits"):
        _ = product * ("1." + "1" * 39) * ("1." + "1" * 39)


@pytest.mark.parametrize(
    ("amount", "mode", "expected"),
    [
        ("0.005", "half_even", "0.00"),
        ("0.015", "half_even", "0.02"),
        ("0.005", "half_up", "0.01"),
    ],
)
def test_rounding_modes_may_be_named(amount, mode, expected):
    assert round_amount(Decimal(amount), "USD", mode) == Decimal(expected)
    assert Money(amount, "USD").round(mode) == Money(expected, "USD")


def test_round_amount_refuses_floats_and_unknown_modes():
    with pytest.raises(FloatNotAllowedError, match="'amount'"):
        round_amount(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="'mode' must be one of 'half_up', 'half_even'"):
        round_amount(Decimal("0.1"), "USD", "bankers")
    with pytest.raises(TypeError, match="'mode' must be a rounding mode"):
        round_amount(Decimal("0.1"), "USD", 5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "currency", "half_up", "half_even"),
    [
        (Fraction(1, 200), "USD", "0.01", "0.00"),  # 0.005: a tie, even digit below
        (Fraction(3, 200), "USD", "0.02", "0.02"),  # 0.015: a tie, even digit above
        (Fraction(5, 200), "USD", "0.03", "0.02"),  # 0.025
        (Fraction(-1, 200), "USD", "-0.01", "0.00"),  # ties away from zero, or to even
        (Fraction(-3, 200), "USD", "-0.02", "-0.02"),
        (Fraction(5, 2), "JPY", "3", "2"),
        (Fraction(7, 2), "JPY", "4", "4"),
        (Fraction(1, 3), "USD", "0.33", "0.33"),  # not a tie: both round down
        (Fraction(2, 3), "USD", "0.67", "0.67"),  # not a tie: both round up
        (Fraction(1001, 200000), "USD", "0.01", "0.01"),  # just above a tie
        (Fraction(999, 200000), "USD", "0.00", "0.00"),  # just below a tie
    ],
)
def test_round_fraction_ties_in_both_modes(value, currency, half_up, half_even):
    assert round_fraction(value, currency, RoundingMode.HALF_UP) == Decimal(half_up)
    assert round_fraction(value, currency, RoundingMode.HALF_EVEN) == Decimal(half_even)
    assert round_fraction(value, currency, "half_even") == Decimal(half_even)
