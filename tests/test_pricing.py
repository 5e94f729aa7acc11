"""Unit tests of the price models: rating, modifiers, charges and validation."""

from __future__ import annotations

import decimal
from dataclasses import FrozenInstanceError, fields
from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from meterlib._numbers import EXACT, exact_sum
from meterlib.errors import (
    DocumentError,
    FloatNotAllowedError,
    InvalidValueError,
    MeterlibError,
    RatingError,
)
from meterlib.pricing import (
    Charge,
    ChargeLine,
    FlatPrice,
    GraduatedPrice,
    MatrixPrice,
    PackagePrice,
    PercentagePrice,
    PerUnitPrice,
    Price,
    Tier,
    VolumePrice,
)
from meterlib.pricing.charge import new_charge, new_line
from meterlib.rounding import RoundingMode

D = Decimal

STRIPE_TIERS = [
    {"up_to": "5", "unit_amount": "7"},
    {"up_to": "10", "unit_amount": "6.5"},
    {"up_to": None, "unit_amount": "6"},
]
LAGO_TIERS = [
    {"up_to": "10", "unit_amount": "10", "flat_amount": "2"},
    {"up_to": "20", "unit_amount": "5", "flat_amount": "3"},
    {"up_to": None, "unit_amount": "5", "flat_amount": "3"},
]


def only_error(excinfo: pytest.ExceptionInfo[DocumentError]) -> tuple[tuple[int | str, ...], str]:
    """The location and message of the one error pydantic found, kept as the error's cause."""
    assert len(excinfo.value.problems) == 1, excinfo.value.problems
    cause = excinfo.value.__cause__
    assert isinstance(cause, ValidationError)
    errors = cause.errors(include_url=False)
    assert len(errors) == 1, errors
    return errors[0]["loc"], errors[0]["msg"]


def check_invariants(charge: Charge) -> None:
    # Expected figures are computed in meterlib's context, not the (possibly narrow) caller's.
    assert charge.subtotal == exact_sum(line.amount for line in charge.lines)
    assert charge.amount == EXACT.add(charge.subtotal, charge.adjustment)
    assert charge.billable == EXACT.subtract(charge.quantity, charge.included)
    assert (charge.adjustment_reason is None) == (charge.adjustment == 0)


# Flat, per unit, package ----------------------------------------------------------------------


def test_flat_charges_its_amount_whatever_the_quantity_and_ignores_included():
    price = FlatPrice(amount="49.99", included="100")
    for quantity in ("0", "5", "1000000"):
        charge = price.rate(quantity)
        check_invariants(charge)
        assert charge.amount == D("49.99")
        assert charge.included == 0
        assert charge.billable == D(quantity)
    [line] = price.rate(7).lines
    assert line == ChargeLine("flat amount", None, None, None, D(7), D(0), D("49.99"), D("49.99"))


def test_per_unit_multiplies_exactly_even_below_a_cent():
    charge = PerUnitPrice(unit_amount="0.0005").rate(30)
    check_invariants(charge)
    assert charge.amount == D("0.0150")
    assert str(charge.amount) == "0.0150"
    assert charge.rounded() == D("0.02")
    assert charge.model == "per_unit"
    assert charge.currency == "USD"


def test_per_unit_takes_included_units_first_and_not_below_zero():
    price = PerUnitPrice(unit_amount="0.04", included="1000")
    charge = price.rate(1500)
    check_invariants(charge)
    assert (charge.included, charge.billable, charge.amount) == (D(1000), D(500), D("20.00"))
    charge = price.rate(400)
    assert (charge.included, charge.billable, charge.amount) == (D(400), D(0), D(0))


@pytest.mark.parametrize(
    ("quantity", "round_", "packages"),
    [
        ("0", "up", 0),
        ("1", "up", 1),
        ("10", "up", 1),
        ("10.001", "up", 2),
        ("121", "up", 13),
        ("9.999", "down", 0),
        ("10", "down", 1),
        ("121", "down", 12),
    ],
)
def test_package_counts_whole_packages(quantity, round_, packages):
    price = PackagePrice(package_size="10", package_amount="100", round=round_)
    charge = price.rate(quantity)
    check_invariants(charge)
    [line] = charge.lines
    assert line.quantity == packages
    assert line.unit_amount == 100
    assert charge.amount == packages * 100


def test_package_subtracts_included_before_counting_packages():
    price = PackagePrice(package_size="100", package_amount="5", included="100")
    charge = price.rate(201)
    check_invariants(charge)
    assert charge.billable == 101
    assert charge.amount == 10
    assert charge.lines[0].description == "packages of 100: 101 units rounded up"


def test_package_size_may_be_a_fraction():
    charge = PackagePrice(package_size="0.5", package_amount="3").rate("1.2")
    assert charge.lines[0].quantity == 3
    assert charge.amount == 9


# Graduated and volume ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "amount", "tiers_touched"),
    [
        ("0", "2", [1]),
        ("1", "12", [1]),
        ("10", "102", [1]),
        ("11", "110", [1, 2]),
        ("20", "155", [1, 2]),
        ("21", "163", [1, 2, 3]),
    ],
)
def test_graduated_prices_each_tier_and_charges_touched_flats(quantity, amount, tiers_touched):
    charge = GraduatedPrice(tiers=LAGO_TIERS).rate(quantity)
    check_invariants(charge)
    assert charge.amount == D(amount)
    assert [line.tier for line in charge.lines] == tiers_touched
    assert sum(line.quantity for line in charge.lines) == D(quantity)


def test_graduated_lines_carry_their_ranges():
    charge = GraduatedPrice(tiers=STRIPE_TIERS).rate(25)
    assert charge.lines == (
        ChargeLine("tier 1: 0 <= q <= 5", 1, D(0), D(5), D(5), D(7), D(0), D(35)),
        ChargeLine("tier 2: 5 < q <= 10", 2, D(5), D(10), D(5), D("6.5"), D(0), D("32.5")),
        ChargeLine("tier 3: q > 10", 3, D(10), None, D(15), D(6), D(0), D(90)),
    )
    assert charge.amount == D("157.5")


def test_a_tier_covers_its_bound_and_the_next_starts_just_above():
    price = GraduatedPrice(
        tiers=[
            {"up_to": "5", "flat_amount": "100"},
            {"up_to": "10", "flat_amount": "50"},
            {"unit_amount": "5"},
        ],
    )
    assert price.rate(5).amount == 100
    assert price.rate("5.001").amount == 150
    assert price.rate("5.001").lines[1].quantity == D("0.001")


def test_graduated_charges_tier_one_flat_when_every_unit_is_included():
    price = GraduatedPrice(tiers=LAGO_TIERS, included="50")
    charge = price.rate(30)
    check_invariants(charge)
    assert (charge.included, charge.billable) == (D(30), D(0))
    assert charge.lines == (
        ChargeLine("tier 1: 0 <= q <= 10", 1, D(0), D(10), D(0), D(10), D(2), D(2)),
    )
    assert charge.amount == 2


def test_graduated_applies_tiers_to_what_is_left_after_included():
    charge = GraduatedPrice(tiers=LAGO_TIERS, included="5").rate(16)
    assert charge.billable == 11
    assert charge.amount == 110


def test_a_single_unbounded_tier_is_described_from_zero():
    charge = GraduatedPrice(tiers=[Tier(unit_amount=D(2))]).rate(3)
    assert charge.lines[0].description == "tier 1: q >= 0"
    assert charge.amount == 6


@pytest.mark.parametrize(
    ("quantity", "tier", "amount"),
    [("0", 1, "10"), ("1", 1, "12"), ("100", 1, "210"), ("100.5", 2, "100.5"), ("300", 3, "200")],
)
def test_volume_prices_every_unit_at_the_tier_holding_the_total(quantity, tier, amount):
    price = VolumePrice(
        tiers=[
            {"up_to": "100", "unit_amount": "2", "flat_amount": "10"},
            {"up_to": "200", "unit_amount": "1"},
            {"unit_amount": "0.5", "flat_amount": "50"},
        ],
    )
    charge = price.rate(quantity)
    check_invariants(charge)
    [line] = charge.lines
    assert line.tier == tier
    assert line.quantity == D(quantity)
    assert charge.amount == D(amount)


@pytest.mark.parametrize("model", [GraduatedPrice, VolumePrice])
def test_a_bounded_last_tier_refuses_quantities_above_it(model):
    price = model(
        tiers=[{"up_to": "10", "unit_amount": "1.5"}, {"up_to": "1110", "unit_amount": "1"}]
    )
    assert price.rate(1110).lines[-1].tier == 2
    with pytest.raises(
        RatingError, match=r"cannot rate quantity 2000: the last tier is bounded at up_to 1110"
    ):
        price.rate(2000)


def test_the_bound_applies_to_the_billable_quantity():
    price = GraduatedPrice(tiers=[{"up_to": "10", "unit_amount": "1"}], included="5")
    assert price.rate(15).amount == 10
    with pytest.raises(RatingError, match="quantity 11"):
        price.rate(16)


def test_a_copy_with_other_tiers_rates_with_its_own_tiers():
    price = GraduatedPrice(tiers=STRIPE_TIERS)
    copy = price.model_copy(update={"tiers": (Tier(unit_amount=D(1)),)})
    assert copy.rate(25).amount == 25
    assert price.rate(25).amount == D("157.5")


# Minimum and maximum ---------------------------------------------------------------------------


def test_minimum_raises_the_charge_and_says_so():
    charge = PerUnitPrice(unit_amount="1", minimum="150").rate(100)
    check_invariants(charge)
    assert (charge.subtotal, charge.adjustment, charge.amount) == (D(100), D(50), D(150))
    assert charge.adjustment_reason == "raised to the minimum 150"


def test_maximum_cuts_the_charge_and_says_so():
    charge = VolumePrice(
        tiers=[{"up_to": "5", "flat_amount": "100"}, {"flat_amount": "150"}], maximum="125"
    ).rate(7)
    check_invariants(charge)
    assert (charge.subtotal, charge.adjustment, charge.amount) == (D(150), D(-25), D(125))
    assert charge.adjustment_reason == "cut to the maximum 125"


def test_no_adjustment_inside_the_bounds():
    charge = PerUnitPrice(unit_amount="1", minimum="10", maximum="20").rate(15)
    assert (charge.adjustment, charge.adjustment_reason, charge.amount) == (D(0), None, D(15))


def test_minimum_equal_to_maximum_fixes_the_charge():
    price = PerUnitPrice(unit_amount="1", minimum="10", maximum="10")
    assert {price.rate(q).amount for q in (0, 10, 99)} == {D(10)}


# Percentage --------------------------------------------------------------------------------------


def test_percentage_events_cost_value_times_rate_plus_fee():
    charge = PercentagePrice(rate="0.013", fixed_fee="2").rate_events(["50", "100", "250", "400"])
    check_invariants(charge)
    assert charge.amount == D("18.4")
    assert charge.quantity == 800
    assert len(charge.lines) == 4
    assert charge.lines[0] == ChargeLine(
        "event 1", None, None, None, D(50), D("0.013"), D(2), D("2.650")
    )


def test_percentage_events_are_clamped_one_by_one():
    price = PercentagePrice(rate="0.0299", fixed_fee="2", min_per_event="1.75", max_per_event="12")
    charge = price.rate_events([10, 80, 10000])
    check_invariants(charge)
    assert [line.amount for line in charge.lines] == [D("2.299"), D("4.392"), D(12)]
    assert charge.lines[2].description == "event 3, cut to max_per_event 12"
    charge = PercentagePrice(rate="0.0299", min_per_event="1.75").rate_events([10])
    assert charge.lines[0].description == "event 1, raised to min_per_event 1.75"
    assert charge.amount == D("1.75")


def test_percentage_free_amount_is_consumed_in_event_order():
    price = PercentagePrice(rate="0.01", fixed_fee="0.30", min_per_event="0.50", free_amount="150")
    charge = price.rate_events(["100", "80", "20"])
    check_invariants(charge)
    # event 1 wholly covered: nothing, not even the fee or the per-event minimum;
    # event 2 covered for 50, charged on 30: 0.30 + 0.30 = 0.60; event 3: 0.20 + 0.30 = 0.50.
    assert [line.amount for line in charge.lines] == [D(0), D("0.60"), D("0.50")]
    assert [line.quantity for line in charge.lines] == [D(0), D(30), D(20)]
    assert charge.lines[0].description == "event 1: 100 free (free amount left 50)"
    assert charge.lines[1].description == "event 2: 50 of 80 free"
    assert (charge.quantity, charge.included, charge.billable) == (D(200), D(150), D(50))
    assert charge.amount == D("1.10")


def test_percentage_without_events_charges_only_the_minimum():
    assert PercentagePrice(rate="0.02").rate_events([]).amount == 0
    charge = PercentagePrice(rate="0.02", minimum="5").rate_events(iter([]))
    assert (charge.lines, charge.amount) == ((), D(5))


def test_percentage_rate_treats_the_quantity_as_one_aggregate_value():
    charge = PercentagePrice(rate="0.029", free_amount="100").rate("1100")
    check_invariants(charge)
    assert (charge.billable, charge.amount) == (D(1000), D(29))
    assert PercentagePrice(rate="0.029", fixed_fee="0").rate(100).amount == D("2.9")


@pytest.mark.parametrize("term", ["fixed_fee", "min_per_event", "max_per_event"])
def test_percentage_rate_refuses_an_aggregate_when_per_event_terms_are_set(term):
    price = PercentagePrice.model_validate({"rate": "0.029", term: "1"})
    with pytest.raises(RatingError, match=r"use rate_events\(values\)"):
        price.rate(100)


def test_percentage_is_built_with_rate_and_read_as_fraction():
    price = PercentagePrice(rate="0.013")
    assert price.fraction == D("0.013")
    assert price.model_dump()["rate"] == D("0.013")


def test_percentage_events_go_through_the_number_funnel():
    price = PercentagePrice(rate="0.01")
    with pytest.raises(
        InvalidValueError, match=r"'events\[1\]' must be >= 0 \(got '-5' that is text\)"
    ):
        price.rate_events(["10", "-5"])
    with pytest.raises(FloatNotAllowedError, match=r"'events\[0\]'"):
        price.rate_events([0.5])  # type: ignore[list-item]


# Quantities ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity", [15, "15", D(15), D("15.000"), "1.5E+1"])
def test_quantities_may_be_ints_strings_or_decimals(quantity):
    assert PerUnitPrice(unit_amount="2").rate(quantity).amount == 30


def test_a_float_quantity_is_refused():
    with pytest.raises(
        FloatNotAllowedError,
        match=r"'quantity' must be an exact decimal .* never a float \(got 1.5",
    ):
        PerUnitPrice(unit_amount="2").rate(1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("quantity", [True, None, "12abc", "NaN", D("Infinity")])
def test_other_non_numbers_are_refused(quantity):
    with pytest.raises(InvalidValueError, match="'quantity' must be"):
        PerUnitPrice(unit_amount="2").rate(quantity)


@pytest.mark.parametrize(
    "price",
    [
        FlatPrice(amount="1"),
        PerUnitPrice(unit_amount="1"),
        PackagePrice(package_size="1", package_amount="1"),
        GraduatedPrice(tiers=STRIPE_TIERS),
        VolumePrice(tiers=STRIPE_TIERS),
        PercentagePrice(rate="0.1"),
    ],
    ids=lambda price: price.model,
)
def test_a_negative_quantity_is_refused_by_every_model(price):
    with pytest.raises(
        InvalidValueError, match=r"'quantity' must be >= 0 \(got '-1' that is text\)"
    ):
        price.rate("-1")


# Charges -----------------------------------------------------------------------------------------


def test_explain_shows_every_tier_the_adjustment_and_both_totals():
    price = GraduatedPrice(tiers=LAGO_TIERS, included="2", maximum="150.555")
    assert price.rate(23).explain() == (
        "graduated price in USD\n"
        "quantity 23, included 2, billable 21\n"
        "  tier 1: 0 <= q <= 10  10 x 10 + 2 = 102\n"
        "  tier 2: 10 < q <= 20  10 x 5 + 3 = 53\n"
        "  tier 3: q > 20        1 x 5 + 3 = 8\n"
        "subtotal 163\n"
        "adjustment -12.445: cut to the maximum 150.555\n"
        "total 150.555 USD, rounded half_up to 150.56"
    )


def test_explain_writes_plain_numbers_and_the_mode_asked_for():
    price = GraduatedPrice(currency="EUR", tiers=[{"up_to": "1E+3", "unit_amount": "0.0025"}, {}])
    text = price.rate(2000).explain(RoundingMode.HALF_EVEN)
    assert "tier 1: 0 <= q <= 1000  1000 x 0.0025 + 0 = 2.5000" in text
    assert text.endswith("total 2.5000 EUR, rounded half_even to 2.50")
    assert "E+" not in text


def test_explain_marks_a_clamped_event():
    charge = PercentagePrice(rate="0.0299", max_per_event="12").rate_events(["10000"])
    assert "10000 x 0.0299 + 0 = 299.0000 -> 12" in charge.explain()


@pytest.mark.parametrize(
    ("currency", "mode", "rounded"),
    [
        ("USD", RoundingMode.HALF_UP, "2.67"),
        ("USD", RoundingMode.HALF_EVEN, "2.66"),
        ("JPY", RoundingMode.HALF_UP, "3"),
        ("KWD", RoundingMode.HALF_UP, "2.665"),
    ],
)
def test_rounded_rounds_the_total_once_in_the_currency(currency, mode, rounded):
    charge = PerUnitPrice(unit_amount="0.8883333", currency=currency).rate(3)
    assert charge.amount == D("2.6649999")
    charge = PerUnitPrice(unit_amount="0.8883333", currency=currency, minimum="2.665").rate(3)
    assert charge.rounded(mode) == D(rounded)


def test_charges_are_frozen_and_slotted():
    charge = PerUnitPrice(unit_amount="1").rate(1)
    with pytest.raises(FrozenInstanceError):
        charge.amount = D(2)  # type: ignore[misc]  # the point: assignment is refused
    assert not hasattr(charge, "__dict__")
    assert not hasattr(charge.lines[0], "__dict__")


def test_the_fast_builders_match_the_constructors():
    line_values = ("d", 2, D(1), D(2), D(1), D("0.5"), D(3), D("3.5"))
    assert new_line(*line_values) == ChargeLine(*line_values)
    assert len(line_values) == len(fields(ChargeLine))
    line = ChargeLine(*line_values)
    charge_values = (
        "USD", "graduated", D(5), D(1), D(4), (line,), D("3.5"), D(0), None, D("3.5"), (),
    )
    assert new_charge(*charge_values) == Charge(*charge_values)
    assert len(charge_values) == len(fields(Charge))
    assert hash(new_charge(*charge_values)) == hash(Charge(*charge_values))
    assert type(new_line(*line_values)) is ChargeLine
    assert type(new_charge(*charge_values)) is Charge


def test_charges_built_on_the_hot_paths_are_plain_frozen_charges():
    graduated = GraduatedPrice(tiers=[{"up_to": "10", "unit_amount": "1"}, {"unit_amount": "2"}])
    matrix = MatrixPrice.model_validate(
        {"dimensions": ["region"], "cells": [{"match": {"region": ["eu"]}, "price": graduated}]}
    )
    for charge in (graduated.rate(15), matrix.rate_usage([({"region": "eu"}, 15)])):
        assert type(charge) is Charge
        assert all(type(line) is ChargeLine for line in charge.lines)
        assert not hasattr(charge, "__dict__")
        with pytest.raises(FrozenInstanceError):
            charge.lines[-1].amount = D(0)  # type: ignore[misc]  # the point: refused
        assert charge == Charge(*(getattr(charge, field.name) for field in fields(Charge)))
    part = matrix.rate_usage([({"region": "eu"}, 15)]).parts[0]
    assert part.charge == graduated.rate(15)


def test_rating_does_not_depend_on_the_callers_decimal_context():
    price = GraduatedPrice(
        tiers=[{"up_to": "100000", "unit_amount": "0.000065"}, {"unit_amount": "0.0000123"}],
        maximum="1000000",
    )
    expected = price.rate("123456.789")
    events = PercentagePrice(rate="0.0299", fixed_fee="0.30").rate_events(["1234.5678"])
    package = PackagePrice(package_size="0.333", package_amount="1.23456").rate("1000.1")
    with decimal.localcontext(prec=3, rounding=decimal.ROUND_DOWN):
        assert price.rate("123456.789") == expected
        assert PercentagePrice(rate="0.0299", fixed_fee="0.30").rate_events(["1234.5678"]) == events
        assert (
            PackagePrice(package_size="0.333", package_amount="1.23456").rate("1000.1") == package
        )
        assert str(price.rate("123456.789").amount) == "6.7885185047"
        assert expected.rounded() == D("6.79")
        text = expected.explain()
    # 100000 x 0.000065 + 23456.789 x 0.0000123 = 6.5 + 0.2885185047
    assert expected.amount == D("6.7885185047")
    assert text == expected.explain()


# Validation ---------------------------------------------------------------------------------------


def test_tiers_must_rise_strictly():
    with pytest.raises(DocumentError) as excinfo:
        GraduatedPrice(tiers=[{"up_to": "10"}, {"up_to": "5"}, {}])
    assert only_error(excinfo) == (
        ("tiers",),
        "tier up_to values must rise strictly, but tier 2 has up_to 5, not above tier 1's 10",
    )
    with pytest.raises(DocumentError, match=r"tier 3 has up_to 20\.0, not above tier 2's 20$"):
        VolumePrice(tiers=[{"up_to": "10"}, {"up_to": "20"}, {"up_to": "20.0"}])


def test_only_the_last_tier_may_be_unbounded():
    with pytest.raises(DocumentError) as excinfo:
        GraduatedPrice(tiers=[{"up_to": None, "unit_amount": "1"}, {"up_to": "10"}])
    assert only_error(excinfo) == (
        ("tiers",),
        "only the last tier may be unbounded, but tier 1 of 2 has up_to None",
    )


def test_a_tiered_price_needs_a_tier():
    with pytest.raises(DocumentError) as excinfo:
        VolumePrice(tiers=[])
    assert only_error(excinfo) == (("tiers",), "must hold at least one tier (got none)")


@pytest.mark.parametrize(
    ("model", "fields_", "loc", "got"),
    [
        (PerUnitPrice, {"unit_amount": "-0.01"}, ("unit_amount",), "-0.01"),
        (FlatPrice, {"amount": "-1"}, ("amount",), "-1"),
        (PerUnitPrice, {"unit_amount": "1", "included": "-5"}, ("included",), "-5"),
        (PerUnitPrice, {"unit_amount": "1", "minimum": "-1"}, ("minimum",), "-1"),
        (PerUnitPrice, {"unit_amount": "1", "maximum": "-2"}, ("maximum",), "-2"),
        (PackagePrice, {"package_size": "-10", "package_amount": "1"}, ("package_size",), "-10"),
        (PackagePrice, {"package_size": "10", "package_amount": "-1"}, ("package_amount",), "-1"),
        (GraduatedPrice, {"tiers": [{"up_to": "-1"}, {}]}, ("tiers", 0, "up_to"), "-1"),
        (GraduatedPrice, {"tiers": [{"unit_amount": "-3"}]}, ("tiers", 0, "unit_amount"), "-3"),
        (
            VolumePrice,
            {"tiers": [{"up_to": "1"}, {"flat_amount": "-4"}]},
            ("tiers", 1, "flat_amount"),
            "-4",
        ),
        (PercentagePrice, {"rate": "-0.01"}, ("rate",), "-0.01"),
        (PercentagePrice, {"rate": "0.01", "fixed_fee": "-0.3"}, ("fixed_fee",), "-0.3"),
        (PercentagePrice, {"rate": "0.01", "min_per_event": "-1"}, ("min_per_event",), "-1"),
        (PercentagePrice, {"rate": "0.01", "max_per_event": "-1"}, ("max_per_event",), "-1"),
    ],
)
def test_negative_amounts_rates_sizes_and_allowances_are_refused(model, fields_, loc, got):
    with pytest.raises(DocumentError) as excinfo:
        model.model_validate(fields_)
    assert only_error(excinfo) == (loc, f"Value error, must be >= 0 (got {got})")


def test_a_package_size_of_zero_is_refused():
    with pytest.raises(DocumentError) as excinfo:
        PackagePrice(package_size="0", package_amount="5")
    assert only_error(excinfo) == (("package_size",), "must be > 0 (got 0)")


def test_minimum_above_maximum_is_refused():
    with pytest.raises(DocumentError) as excinfo:
        PerUnitPrice(unit_amount="1", minimum="10", maximum="5")
    assert only_error(excinfo) == ((), "minimum 10 is above maximum 5")


def test_min_per_event_above_max_per_event_is_refused():
    with pytest.raises(DocumentError) as excinfo:
        PercentagePrice(rate="0.01", min_per_event="5", max_per_event="1.5")
    assert only_error(excinfo) == ((), "min_per_event 5 is above max_per_event 1.5")


def test_an_unknown_currency_is_refused():
    with pytest.raises(DocumentError) as excinfo:
        PerUnitPrice(unit_amount="1", currency="XYZ")
    assert only_error(excinfo) == (
        ("currency",),
        "Value error, must be an ISO 4217 currency code known to CLDR (got 'XYZ' that is text)",
    )


@pytest.mark.parametrize(
    ("model", "fields_", "loc"),
    [
        (FlatPrice, {"amount": 9.99}, ("amount",)),
        (PerUnitPrice, {"unit_amount": 0.1}, ("unit_amount",)),
        (GraduatedPrice, {"tiers": [{"up_to": 10.5}, {}]}, ("tiers", 0, "up_to")),
        (PercentagePrice, {"rate": 0.029}, ("rate",)),
        (PerUnitPrice, {"unit_amount": "1", "included": 1.0}, ("included",)),
    ],
)
def test_floats_are_refused_when_building(model, fields_, loc):
    with pytest.raises(DocumentError) as excinfo:
        model.model_validate(fields_)
    where, message = only_error(excinfo)
    assert where == loc
    assert "never a float (got" in message
    assert "that is a binary float)" in message


def test_unknown_fields_are_refused():
    with pytest.raises(DocumentError, match="Extra inputs are not permitted"):
        PerUnitPrice.model_validate({"unit_amount": "1", "unit_price": "2"})
    with pytest.raises(DocumentError, match="Extra inputs are not permitted"):
        Tier.model_validate({"up_to": "1", "price": "2"})


def test_prices_are_frozen_hashable_values():
    price = GraduatedPrice(tiers=STRIPE_TIERS)
    with pytest.raises(DocumentError, match="frozen"):
        price.included = D(5)  # type: ignore[misc]  # the point: assignment is refused
    again = GraduatedPrice(tiers=STRIPE_TIERS)
    again.rate(3)
    assert price == again
    assert hash(price) == hash(again)
    assert price != GraduatedPrice(tiers=STRIPE_TIERS, included="1")


def test_the_price_union_picks_the_model_by_its_tag():
    adapter: TypeAdapter[Price] = TypeAdapter(Price)
    assert isinstance(adapter.validate_python({"model": "volume", "tiers": [{}]}), VolumePrice)
    assert isinstance(
        adapter.validate_python({"model": "percentage", "rate": "0.1"}), PercentagePrice
    )
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        adapter.validate_python({"model": "stairstep"})


def test_validation_errors_are_value_errors_and_rating_errors_are_meterlib_errors():
    with pytest.raises(ValueError, match="must be"):
        PerUnitPrice(unit_amount="-1")
    assert issubclass(RatingError, MeterlibError)
    assert issubclass(RatingError, ValueError)


@pytest.mark.parametrize(
    ("build", "location", "message"),
    [
        (lambda: Tier(up_to="-1"), "up_to", "must be >= 0 (got -1)"),
        (lambda: PerUnitPrice(unit_amount="-1"), "unit_amount", "must be >= 0 (got -1)"),
        (lambda: Tier.model_validate({"up_to": 0.5}), "up_to", "never a float"),
        (lambda: PerUnitPrice.model_validate_json('{"unit_amount": "x"}'), "unit_amount", "'x'"),
        (lambda: FlatPrice.model_validate_strings({"amount": "-2"}), "amount", "must be >= 0"),
    ],
)
def test_building_a_model_raises_a_meterlib_error_naming_the_field(build, location, message):
    with pytest.raises(DocumentError) as excinfo:
        build()
    assert isinstance(excinfo.value, MeterlibError)
    assert isinstance(excinfo.value, ValueError)
    [(where, text)] = excinfo.value.problems
    assert where == location
    assert message in text
    assert "pydantic" not in str(excinfo.value)
