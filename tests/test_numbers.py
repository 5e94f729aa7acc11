import decimal
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from meterlib._numbers import Amount, NonNegativeAmount, to_decimal
from meterlib.errors import FloatNotAllowedError, InvalidValueError, MeterlibError


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
    assert "0.1 that is a float" in message
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
    assert "never a float (got 0.5 that is a float)" in error["msg"]


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
