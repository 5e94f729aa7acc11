import decimal
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from meterlib._numbers import (
    EXACT,
    MAX_PLACES,
    Amount,
    NonNegativeAmount,
    exact_sum,
    exactly,
    quotient,
    to_decimal,
)
from meterlib.errors import (
    DocumentError,
    FloatNotAllowedError,
    InvalidValueError,
    MeterlibError,
    PrecisionError,
)
from meterlib.pricing import PerUnitPrice
from meterlib.rounding import round_amount


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        (" 7 ", Decimal(7)),
        ("-0.0005", Decimal("-0.0005")),
        ("1e3", Decimal(1000)),
        (".5", Decimal("0.5")),
        (3, Decimal(3)),
        (Decimal("0.1"), Decimal("0.1")),
    ],
)
def test_accepts_exact_inputs(value, expected):
    result = to_decimal(value, "q")
    assert result == expected
    assert type(result) is Decimal


def test_float_is_refused_with_a_message_naming_field_and_value():
    with pytest.raises(FloatNotAllowedError) as info:
        to_decimal(0.1, "unit_amount")
    message = str(info.value)
    assert "'unit_amount'" in message
    assert "0.1 that is a binary float" in message
    assert isinstance(info.value, TypeError)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, MeterlibError)


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-inf", "1_000", "12abc", "", "1,5"])
def test_non_decimal_text_is_refused(value):
    with pytest.raises(InvalidValueError, match="'q' must be a decimal number"):
        to_decimal(value, "q")


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_non_finite_decimals_are_refused(value):
    with pytest.raises(InvalidValueError, match="finite"):
        to_decimal(value, "q")


@pytest.mark.parametrize("value", [True, None, [1], object()])
def test_other_types_are_refused(value):
    with pytest.raises(InvalidValueError):
        to_decimal(value, "q")


class _Model(BaseModel):
    amount: Amount
    size: NonNegativeAmount = Decimal(1)


def test_model_fields_refuse_float_and_name_the_field():
    with pytest.raises(ValidationError) as info:
        _Model(amount=0.5)
    error = info.value.errors()[0]
    assert error["loc"] == ("amount",)
    assert "never a float (got 0.5 that is a binary float)" in error["msg"]


def test_model_fields_serialize_as_strings_and_keep_every_digit():
    model = _Model(amount="0.0150", size=2)
    assert model.model_dump(mode="json") == {"amount": "0.0150", "size": "2"}
    assert _Model.model_validate_json(model.model_dump_json()) == model


def test_non_negative_field_refuses_negative_values():
    with pytest.raises(ValidationError, match=r"must be >= 0 \(got -1\)"):
        _Model(amount=1, size="-1")


def test_the_funnel_does_not_depend_on_the_ambient_context():
    with decimal.localcontext(prec=2):
        assert to_decimal("123.456", "q") == Decimal("123.456")


@pytest.mark.parametrize(
    "text",
    [
        "\u0661\u0662",  # Arabic-Indic digits
        "\uff11\uff12",  # fullwidth digits
        "1\u0660",
        "1e99999",  # an exponent of five digits
        "1e40",  # the magnitude limit
        "-1e40",
        "1" * 41,
        "0." + "0" * 40 + "1",  # 41 decimal places
        "1e-41",
        "0" * 101,  # longer than MAX_TEXT
        "1_000",
    ],
)
def test_numbers_beyond_the_documented_limits_are_refused(text):
    with pytest.raises(InvalidValueError, match="'q' must be"):
        to_decimal(text, "q")


@pytest.mark.parametrize(
    "text",
    ["9" * 40, "-" + "9" * 40, "0." + "0" * 39 + "1", "1e-40", "9.99e39", " 12.50 ", "0" * 100],
)
def test_numbers_within_the_limits_are_read_exactly(text):
    assert to_decimal(text, "q") == Decimal(text.strip())


def test_decimals_and_ints_meet_the_same_limits():
    with pytest.raises(InvalidValueError, match="below 1e40"):
        to_decimal(Decimal("1e999999"), "amount")
    with pytest.raises(InvalidValueError, match="below 1e40"):
        to_decimal(10**40, "amount")
    with pytest.raises(InvalidValueError, match="at most 40 decimal places"):
        to_decimal(Decimal("1e-41"), "amount")
    assert to_decimal(10**40 - 1, "amount") == Decimal(10**40 - 1)


def test_a_huge_price_amount_is_refused_when_built():
    with pytest.raises(DocumentError, match="unit_amount"):
        PerUnitPrice(unit_amount="1e999999")


def test_exact_arithmetic_does_not_round_silently():
    # 1e39 + 1e-40 + 10 needs 80 digits: exact in EXACT, whatever the caller's context.
    with decimal.localcontext(prec=3):
        total = exact_sum([Decimal("1e39"), Decimal("1e-40"), Decimal(10)])
    assert total == Decimal("1" + "0" * 37 + "10." + "0" * 39 + "1")
    # A result that would need more than 200 digits raises a named error instead.
    with pytest.raises(PrecisionError, match="more than 200 significant digits"), exactly("a sum"):
        EXACT.add(Decimal("1e150"), Decimal("1e-60"))


def test_the_caller_cannot_change_a_result():
    price = PerUnitPrice(unit_amount="0.000123456789")
    expected = price.rate("123456789.123").amount
    with decimal.localcontext(prec=3, rounding=decimal.ROUND_FLOOR):
        assert price.rate("123456789.123").amount == expected
        assert round_amount(expected, "USD", "half_even") == Decimal("15241.58")
    assert expected == EXACT.multiply(Decimal("123456789.123"), Decimal("0.000123456789"))


@pytest.mark.parametrize("value", [[1], {"a": 1}, None, True, object()])
def test_a_value_of_the_wrong_kind_is_a_type_error_naming_the_field(value):
    with pytest.raises(TypeError, match="'q' must be a number") as caught:
        to_decimal(value, "q")
    assert isinstance(caught.value, InvalidValueError)
    assert isinstance(caught.value, MeterlibError)


# --- quotient: the one rounding of a quotient that never ends in decimal ------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        ("5", "2", "2.5"),  # ends: exact, as written by the division
        ("1", "8", "0.125"),
        ("0", "3", "0"),
        ("1", "3", "0." + "3" * 40),
        ("2", "3", "0." + "6" * 39 + "7"),
        ("-2", "3", "-0." + "6" * 39 + "7"),
        ("1", "2e40", "0"),  # 0.5e-40: a tie, to the even 0
        ("3", "2e40", "2E-40"),  # 1.5e-40: a tie, to the even 2
        ("5", "2e40", "2E-40"),  # 2.5e-40: a tie, to the even 2
    ],
)
def test_quotient_is_exact_or_rounded_half_even_to_40_places(
    numerator: str, denominator: str, expected: str
) -> None:
    result = quotient(Decimal(numerator), Decimal(denominator))
    assert result == Decimal(expected)
    assert result.as_tuple().exponent >= -MAX_PLACES  # type: ignore[operator]


@given(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=1, max_value=10**12),
)
def test_quotient_is_within_half_a_unit_of_the_40th_place(top: int, bottom: int) -> None:
    result = quotient(Decimal(top), Decimal(bottom))
    error = abs(Fraction(result) - Fraction(top, bottom))
    assert error <= Fraction(1, 2 * 10**MAX_PLACES)


def test_a_non_terminating_average_prices_exactly() -> None:
    # A 200-digit average times 0.0105 needed more digits than the exact context has.
    average = quotient(Decimal(1), Decimal(3))
    charge = PerUnitPrice(unit_amount="0.0105").rate(average)
    assert charge.amount == EXACT.multiply(average, Decimal("0.0105"))
