"""Price documents: parsing, JSON in and out, errors as DocumentError, the example files."""

from __future__ import annotations

import json
import typing
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.errors import DocumentError, MeterlibError
from meterlib.pricing import (
    FlatPrice,
    GraduatedPrice,
    PackagePrice,
    PercentagePrice,
    PerUnitPrice,
    Price,
    Tier,
    VolumePrice,
    load_price,
    parse_price,
    price_from_dict,
    price_from_json,
    price_json_schema,
    price_to_dict,
    price_to_json,
)

D = Decimal
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "prices"

PRICES = [
    FlatPrice(amount="49.99", currency="EUR"),
    PerUnitPrice(unit_amount="0.0005", included="1000", minimum="1.50"),
    PackagePrice(package_size="5", package_amount="40.00", round="down", maximum="400"),
    GraduatedPrice(tiers=[{"up_to": "10", "flat_amount": "2"}, {"unit_amount": "1.5E-3"}]),
    VolumePrice(tiers=[{"up_to": "100", "unit_amount": "2"}, {"up_to": "200", "unit_amount": "1"}]),
    PercentagePrice(rate="0.0299", fixed_fee="0.30", min_per_event="0", max_per_event="12"),
]


def problems(excinfo: pytest.ExceptionInfo[DocumentError]) -> list[tuple[str, str]]:
    assert excinfo.value.what == "price"
    return excinfo.value.problems


# Reading ------------------------------------------------------------------------------------------


def test_parse_price_builds_each_model_with_defaults():
    price = parse_price({"model": "package", "package_size": "10", "package_amount": "100"})
    assert price == PackagePrice(package_size="10", package_amount="100")
    assert isinstance(price, PackagePrice)
    assert (price.currency, price.round, price.included, price.minimum) == (
        "USD",
        "up",
        Decimal(0),
        None,
    )
    tiers = parse_price({"model": "graduated", "tiers": [{"up_to": "5"}, {"unit_amount": "1"}]})
    assert isinstance(tiers, GraduatedPrice)
    assert tiers.tiers == (Tier(up_to=D(5)), Tier(unit_amount=D(1)))


def test_json_numbers_are_read_as_decimals_never_floats():
    price = parse_price('{"model": "per_unit", "unit_amount": 0.1, "included": 1000}')
    assert isinstance(price, PerUnitPrice)
    assert price.unit_amount == D("0.1")
    assert str(price.unit_amount) == "0.1"
    assert price.rate(1003).amount == D("0.3")


def test_parse_price_takes_bytes():
    assert parse_price(b'{"model": "flat", "amount": "5"}') == FlatPrice(amount="5")


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (
            {"model": "per_unit", "unit_amount": "-0.01"},
            [("unit_amount", "must be >= 0 (got -0.01)")],
        ),
        (
            {"model": "graduated", "tiers": [{"up_to": "10"}, {"up_to": "-5"}]},
            [("tiers.1.up_to", "must be >= 0 (got -5)")],
        ),
        (
            {"model": "graduated", "tiers": [{"up_to": "10"}, {"up_to": "5"}, {}]},
            [
                (
                    "tiers",
                    (
                        "tier up_to values must rise strictly,"
                        " but tier 2 has up_to 5, not above tier 1's 10"
                    ),
                )
            ],
        ),
        (
            {"model": "per_unit", "unit_amount": "1", "minimum": "10", "maximum": "5"},
            [("", "minimum 10 is above maximum 5")],
        ),
        (
            {"model": "package", "package_size": "0", "package_amount": "5"},
            [("package_size", "must be > 0 (got 0)")],
        ),
        (
            {"model": "per_unit", "unit_amount": "1", "currency": "XYZ"},
            [
                (
                    "currency",
                    "must be an ISO 4217 currency code known to CLDR (got 'XYZ' that is text)",
                )
            ],
        ),
        (
            {"model": "percentage", "rate": "-1"},
            [("rate", "must be >= 0 (got -1)")],
        ),
        (
            {"model": "per_unit"},
            [("unit_amount", "Field required")],
        ),
        (
            {"model": "per_unit", "unit_amount": "1", "colour": "red"},
            [("colour", "Extra inputs are not permitted (got 'red' that is text)")],
        ),
        (
            {"model": "package", "package_size": "1", "package_amount": "1", "round": "sideways"},
            [("round", "Input should be 'up' or 'down' (got 'sideways' that is text)")],
        ),
        (
            {"model": "per_unit", "unit_amount": 0.5},
            [
                (
                    "unit_amount",
                    (
                        "must be an exact decimal (Decimal, int or a decimal string such as '0.1'),"
                        " never a float (got 0.5 that is a binary float)"
                    ),
                ),
            ],
        ),
    ],
)
def test_invalid_documents_list_each_problem_at_its_location(document, expected):
    with pytest.raises(DocumentError) as excinfo:
        parse_price(document)
    assert problems(excinfo) == expected


def test_every_problem_is_listed_and_the_message_joins_them():
    with pytest.raises(DocumentError) as excinfo:
        parse_price(
            {"model": "volume", "tiers": [{"up_to": "-1", "unit_amount": "x"}], "included": "-2"}
        )
    assert problems(excinfo) == [
        ("included", "must be >= 0 (got -2)"),
        ("tiers.0.up_to", "must be >= 0 (got -1)"),
        (
            "tiers.0.unit_amount",
            "must be a decimal number written as text, such as '12.50' (got 'x' that is text)",
        ),
    ]
    assert str(excinfo.value).startswith(
        "invalid price: included: must be >= 0 (got -2); tiers.0.up_to:"
    )


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"model": "stairstep"}, "Input tag 'stairstep' found using 'model' does not match"),
        ({"unit_amount": "1"}, "Unable to extract tag using discriminator 'model'"),
    ],
)
def test_an_unknown_or_missing_model_is_a_problem_of_the_model_field(document, fragment):
    with pytest.raises(DocumentError) as excinfo:
        parse_price(document)
    [(location, message)] = problems(excinfo)
    assert location == "model"
    assert fragment in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"model": "per_unit", "unit_amount": NaN}', "NaN is not a number a price can hold"),
        ('{"model": "flat", "amount": -Infinity}', "-Infinity is not a number a price can hold"),
        ('{"model": "flat", ', "not valid JSON: Expecting property name enclosed in double quotes"),
        (b"\xff\xfe{", "not valid JSON:"),
        ("[1, 2]", "must be an object (got [1, 2] that is a list)"),
    ],
)
def test_text_that_is_not_a_price_object_is_a_document_error(text, message):
    with pytest.raises(DocumentError) as excinfo:
        parse_price(text)
    [(location, found)] = problems(excinfo)
    assert location == ""
    assert found.startswith(message)


def test_document_errors_belong_to_the_meterlib_hierarchy():
    with pytest.raises(MeterlibError):
        parse_price('{"model": "flat"}')
    with pytest.raises(ValueError, match="invalid price: amount: Field required"):
        parse_price('{"model": "flat"}')


def test_load_price_reads_a_file_and_names_it_in_a_note(tmp_path):
    good = tmp_path / "good.json"
    good.write_text('{"model": "per_unit", "unit_amount": "0.04"}', encoding="utf-8")
    assert load_price(good) == PerUnitPrice(unit_amount="0.04")
    assert load_price(str(good)) == PerUnitPrice(unit_amount="0.04")
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "per_unit", "unit_amount": "-1"}', encoding="utf-8")
    with pytest.raises(DocumentError) as excinfo:
        load_price(bad)
    assert excinfo.value.__notes__ == [f"while reading the price document {bad}"]
    with pytest.raises(FileNotFoundError):
        load_price(tmp_path / "missing.json")


# Writing ------------------------------------------------------------------------------------------


def test_price_to_dict_writes_amounts_as_strings_model_first_modifiers_last():
    text = json.dumps(price_to_dict(PerUnitPrice(unit_amount="0.0005", included="1000")))
    assert text == (
        '{"model": "per_unit", "currency": "USD", "unit_amount": "0.0005",'
        ' "included": "1000", "minimum": null, "maximum": null}'
    )


def test_percentage_prices_write_their_fraction_as_rate():
    document = price_to_dict(PercentagePrice(rate="0.029", fixed_fee="0.30"))
    assert document["rate"] == "0.029"
    assert "fraction" not in document


def test_the_written_document_can_be_indented():
    text = json.dumps(price_to_dict(FlatPrice(amount="1")), indent=2)
    assert text.startswith('{\n  "model": "flat",\n  "currency": "USD",\n  "amount": "1",')


@pytest.mark.parametrize("price", PRICES, ids=lambda price: price.model)
def test_json_round_trip_is_exact(price):
    text = json.dumps(price_to_dict(price))
    again = parse_price(text)
    assert again == price
    assert type(again) is type(price)
    assert json.dumps(price_to_dict(again)) == text


@pytest.mark.parametrize("price", PRICES, ids=lambda price: price.model)
def test_dict_round_trip_is_exact(price):
    document = price_to_dict(price)
    assert price_from_dict(document) == price
    assert parse_price(document) == price
    assert price_to_dict(price_from_dict(document)) == document


def test_price_from_dict_refuses_text_it_is_not_a_parser():
    with pytest.raises(DocumentError, match="must be an object"):
        price_from_dict('{"model": "flat", "amount": "5"}')  # type: ignore[arg-type]


def test_the_old_json_names_warn_and_name_their_replacement():
    price = PerUnitPrice(unit_amount="0.0005", included="1000")
    with pytest.warns(DeprecationWarning, match=r"price_to_json is deprecated.*price_to_dict"):
        text = price_to_json(price, indent=2)
    assert text == json.dumps(price_to_dict(price), indent=2)
    with pytest.warns(DeprecationWarning, match=r"price_from_json is deprecated.*parse_price"):
        again = price_from_json(text)
    assert again == price


def test_round_trip_keeps_every_digit_and_exponent():
    price = PerUnitPrice(unit_amount="1.50E-7", minimum="10.000")
    again = parse_price(json.dumps(price_to_dict(price)))
    assert isinstance(again, PerUnitPrice)
    assert str(again.unit_amount) == "1.50E-7"
    assert str(again.minimum) == "10.000"


# Schema -------------------------------------------------------------------------------------------


def test_the_schema_covers_every_model_told_apart_by_model():
    schema = price_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:meterlib:schema:price"
    assert schema["discriminator"]["propertyName"] == "model"
    union = typing.get_args(typing.get_args(Price)[0])
    tags = {typing.get_args(model.model_fields["model"].annotation)[0] for model in union}
    assert set(schema["discriminator"]["mapping"]) == tags
    percentage = schema["$defs"]["PercentagePrice"]
    assert "rate" in percentage["properties"]
    assert percentage["required"] == ["model", "rate"]
    unit_amount = schema["$defs"]["PerUnitPrice"]["properties"]["unit_amount"]
    assert [kind["type"] for kind in unit_amount["anyOf"]] == ["string", "number"]
    assert json.loads(json.dumps(schema)) == schema


# Example documents --------------------------------------------------------------------------------


def test_every_example_loads_and_round_trips():
    paths = sorted(EXAMPLES.glob("*.json"))
    assert len(paths) >= 2
    for path in paths:
        price = load_price(path)
        assert parse_price(json.dumps(price_to_dict(price))) == price


def test_the_api_example_is_a_four_tier_graduated_price():
    price = load_price(EXAMPLES / "api_graduated.json")
    assert isinstance(price, GraduatedPrice)
    assert len(price.tiers) == 4
    assert price.tiers[-1].up_to is None
    # 49 base for the first 100,000 calls, 900,000 x 0.0004, 1,500,000 x 0.0003
    charge = price.rate(2_500_000)
    assert [line.tier for line in charge.lines] == [1, 2, 3]
    assert charge.amount == D("859")
    assert price.rate(0).amount == D("49")


def test_the_other_examples_rate_as_documented():
    storage = load_price(EXAMPLES / "storage_volume.json")
    assert storage.rate("1205").amount == D("26.400")  # 1200 GB after 5 free, all at 0.022
    payments = load_price(EXAMPLES / "card_payments_percentage.json")
    assert isinstance(payments, PercentagePrice)
    assert payments.rate_events(["100.00", "2000.00"]).amount == D("28.2000")  # 3.20 + 25 (capped)
    seats = load_price(EXAMPLES / "seats_package.json")
    assert seats.rate(12).amount == D("120.00")
    assert seats.rate(0).amount == D("40.00")  # the minimum
