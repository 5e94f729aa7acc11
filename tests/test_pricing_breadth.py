"""Blocks, overflow, capacity, matrix, free events, discount, prorated tiers and parts of a period.

The rules are the conformance form's section "More pricing"; the figures below are worked by
hand in each test's comment.
"""

from __future__ import annotations

import json
import tracemalloc
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from meterlib._numbers import EXACT, exact_sum
from meterlib.backbill import BilledPeriod, PriceSchedule, PriceVersion, UsageRecord, rebill
from meterlib.errors import DocumentError, MeterlibError, RatingError
from meterlib.invoicing import Plan
from meterlib.pricing import (
    CapacityPrice,
    GraduatedPrice,
    MatrixPrice,
    PercentagePrice,
    PerUnitPrice,
    ProratedEvent,
    ProratedEventLike,
    VolumePrice,
    parse_price,
    price_json_schema,
    price_to_dict,
    rate_input,
    rate_part,
    rate_parts,
)

D = Decimal

BLOCKS = [
    {"up_to": "1000", "block_size": "10", "block_amount": "1.00"},
    {"up_to": None, "block_size": "10", "block_amount": "0.50"},
]


def check_invariants(charge: Any) -> None:
    assert charge.subtotal == exact_sum(line.amount for line in charge.lines)
    assert charge.amount == EXACT.add(charge.subtotal, charge.adjustment)


# Blocks -------------------------------------------------------------------------------------------


def test_graduated_blocks_bill_a_started_block_whole_in_each_tier():
    price = GraduatedPrice(tiers=BLOCKS, currency="EUR")
    charge = price.rate(1505)  # 100 blocks x 1.00 + 51 blocks x 0.50
    check_invariants(charge)
    assert charge.amount == D("125.50")
    assert [line.quantity for line in charge.lines] == [D(100), D(51)]
    assert charge.lines[1].description == "tier 2: q > 1000: 505 units in 51 blocks of 10"
    assert charge.lines[1].unit_amount == D("0.50")
    assert price.rate(0).amount == 0  # a tier with no unit in it has no block


def test_volume_blocks_round_the_whole_quantity_in_the_holding_tier():
    price = VolumePrice(tiers=BLOCKS)
    assert price.rate(1500).amount == D(75)  # 150 blocks x 0.50
    assert price.rate(1001).amount == D("50.50")  # 101 blocks x 0.50
    assert price.rate(999).amount == D(100)  # 100 blocks x 1.00


def test_blocks_mix_with_per_unit_tiers_and_take_included_first():
    price = GraduatedPrice(
        tiers=[{"up_to": "10", "unit_amount": "1"}, {"block_size": "5", "block_amount": "2"}],
        included="3",
    )
    # 14 - 3 = 11: 10 x 1, then 1 unit in 1 block of 5 at 2
    assert price.rate(14).amount == D(12)


# Overflow -----------------------------------------------------------------------------------------

WATER = [{"up_to": "1000", "unit_amount": "1.50"}, {"up_to": "10000", "unit_amount": "2.00"}]


def test_overflow_last_tier_prices_above_the_bound_in_the_last_tier():
    assert VolumePrice(tiers=WATER, overflow="last_tier").rate(12000).amount == D(24000)
    assert GraduatedPrice(tiers=WATER, overflow="last_tier").rate(12000).amount == D(23500)
    with pytest.raises(RatingError, match="overflow to 'last_tier'"):
        VolumePrice(tiers=WATER).rate(12000)


def test_overflow_last_tier_rounds_the_last_tiers_blocks_once():
    price = GraduatedPrice(
        overflow="last_tier",
        tiers=[
            {"up_to": "100", "unit_amount": "1"},
            {"up_to": "200", "block_size": "30", "block_amount": "5"},
        ],
    )
    charge = price.rate(245)  # 100 + ceil(145 / 30) = 5 blocks x 5
    assert charge.amount == D(125)
    assert "overflow above 200" in charge.lines[-1].description


# Capacity -----------------------------------------------------------------------------------------

CAPACITY = {
    "model": "capacity",
    "tiers": [
        {"limits": {"bandwidth": "100", "members": "500"}, "amount": "5.00"},
        {"limits": {"bandwidth": None, "members": None}, "amount": "10.00"},
    ],
}


def test_capacity_charges_the_first_tier_every_dimension_fits():
    price = parse_price(CAPACITY)
    assert isinstance(price, CapacityPrice)
    assert price.rate_quantities({"bandwidth": "50", "members": "350"}).amount == D(5)
    assert price.rate_quantities({"bandwidth": "101"}).amount == D(10)  # members counts 0
    charge = price.rate_quantities({})
    assert (charge.amount, charge.lines[0].description) == (D(0), "no capacity used")


def test_capacity_overflow_and_single_dimension_rate():
    price = CapacityPrice(tiers=[{"limits": {"seats": "10"}, "amount": "100"}])
    assert price.rate(10).amount == D(100)
    with pytest.raises(RatingError, match="no tier holds it"):
        price.rate(11)
    over = price.model_copy(update={"overflow": "last_tier"})
    assert over.rate(11).lines[0].description == "capacity tier 1: seats <= 10 (overflow)"
    with pytest.raises(RatingError, match="rate_quantities"):
        parse_price(CAPACITY).rate(5)


# Matrix -------------------------------------------------------------------------------------------

LAGO_FILTERS = {
    "model": "matrix",
    "dimensions": ["region", "provider"],
    "cells": [
        {
            "match": {"region": ["africa"], "provider": ["aws"]},
            "price": {"model": "per_unit", "unit_amount": "1"},
        },
        {
            "match": {"region": ["africa", "europe", "us"], "provider": ["aws", "gcp"]},
            "price": {"model": "per_unit", "unit_amount": "0.5"},
        },
    ],
    "default": {"model": "per_unit", "unit_amount": "2"},
}


def test_matrix_routes_to_the_cell_that_outranks_the_others_or_the_default():
    price = parse_price(LAGO_FILTERS)
    assert isinstance(price, MatrixPrice)
    usage = [
        ({"region": "africa", "provider": "aws"}, "10"),
        ({"region": "europe", "provider": "gcp"}, "20"),
        ({"region": "asia", "provider": "aws"}, "4"),
    ]
    charge = price.rate_usage(usage)
    check_invariants(charge)
    assert charge.amount == D(28)  # 10 x 1 + 20 x 0.5 + 4 x 2
    assert [part.cell for part in charge.parts] == [1, 2, None]
    assert charge.parts[0].label == "cell 1 (region: africa; provider: aws)"
    assert charge.parts[2].label == "default"
    assert price.route({"region": "us", "provider": "gcp"}) == 2
    assert "cell 2 (region: africa, europe, us; provider: aws, gcp):" in charge.explain()


def test_matrix_more_dimensions_outrank_fewer_and_unordered_cells_are_refused():
    per_unit = {"model": "per_unit", "unit_amount": "1"}
    price = MatrixPrice.model_validate(
        {
            "dimensions": ["a", "b"],
            "cells": [
                {"match": {"a": ["x"]}, "price": per_unit},
                {"match": {"a": ["x"], "b": ["y"]}, "price": {**per_unit, "unit_amount": "3"}},
                {"match": {"b": ["y", "z"]}, "price": per_unit},
            ],
        },
    )
    assert price.route({"a": "x", "b": "y"}) == 2  # names a and b: outranks both
    with pytest.raises(RatingError, match="matches cells 1, 3 and none of them outranks"):
        price.route({"a": "x", "b": "z"})
    with pytest.raises(RatingError, match="no default"):
        price.route({})


def test_matrix_group_values_rates_each_combination_with_its_cells_whole_price():
    document = {
        "model": "matrix",
        "dimensions": ["region"],
        "cells": [
            {"match": {"region": ["us"]}, "price": {"model": "per_unit", "unit_amount": "2"}}
        ],
        "default": {"model": "graduated", "tiers": [{"unit_amount": "1", "flat_amount": "10"}]},
    }
    usage = [({"region": "eu"}, 3), ({"region": "apac"}, 4), ({"region": "us"}, 5)]
    assert parse_price(document).rate_usage(usage).amount == D(27)  # type: ignore[union-attr]
    by_values = parse_price({**document, "group": "values"})
    charge = by_values.rate_usage(usage)  # type: ignore[union-attr]
    assert charge.amount == D(37)  # (10 + 3) + (10 + 4) + 5 x 2
    assert [part.values for part in charge.parts] == [
        (("region", "us"),),
        (("region", "apac"),),
        (("region", "eu"),),
    ]
    assert charge.parts[1].label == "region=apac: default"


def test_matrix_minimum_of_a_cell_waits_for_the_final_part():
    price = MatrixPrice(
        dimensions=("region",),
        cells=[
            {
                "match": {"region": ["eu"]},
                "price": {"model": "per_unit", "unit_amount": "1", "minimum": "5"},
            }
        ],
    )
    assert price.rate_usage([({"region": "eu"}, 1)]).amount == D(5)
    assert price.rate_usage([({"region": "eu"}, 1)], final=False).amount == D(1)


def test_matrix_cell_prices_take_the_matrix_currency_in_documents():
    price = parse_price({**LAGO_FILTERS, "currency": "EUR"})
    assert isinstance(price, MatrixPrice)
    assert {cell.price.currency for cell in price.cells} == {"EUR"}
    assert price.default is not None
    assert price.default.currency == "EUR"


# Free events and free amount ----------------------------------------------------------------------


def test_free_events_or_free_amount_whichever_runs_out_first():
    price = PercentagePrice(rate="0.012", fixed_fee="0.10", free_events="3", free_amount="500")
    charge = price.rate_events(["200", "100", "100", "50"])
    assert charge.amount == D("0.70")
    assert [line.description for line in charge.lines[:3]] == [
        "event 1: 200 free (free events left 2, free amount left 300)",
        "event 2: 100 free (free events left 1, free amount left 200)",
        "event 3: 100 free (free events left 0, free amount left 100)",
    ]
    assert (charge.included, charge.billable) == (D(400), D(50))


def test_free_amount_used_up_exactly_is_free_and_excess_pays():
    price = PercentagePrice(rate="0.013", fixed_fee="2", free_amount="150")
    charge = price.rate_events(["50", "100", "400"])
    assert charge.amount == D("7.2")  # the 100 uses the allowance up and is free
    price = PercentagePrice(rate="0.01", fixed_fee="1", free_amount="30")
    charge = price.rate_events(["50", "50"])  # 20 x 1% + 1, then 50 x 1% + 1
    assert charge.amount == D("2.7")
    assert charge.lines[0].description == "event 1: 30 of 50 free"


def test_a_zero_allowance_is_used_up_before_the_first_event():
    price = PercentagePrice(rate="0.01", free_events="0", free_amount="1000")
    assert price.rate_events(["100"]).amount == D(1)
    assert PercentagePrice(rate="0.01", free_events="3.0").free_events == 3


# Discount -----------------------------------------------------------------------------------------


def test_discount_comes_off_before_minimum_and_maximum():
    price = PerUnitPrice(unit_amount="0.10", discount="0.10", minimum="50", maximum="500")
    charge = price.rate(200)  # 20 -> 18 -> 50
    check_invariants(charge)
    assert charge.amount == D(50)
    assert (
        charge.adjustment_reason
        == "discount 0.10 off 20.00 gives 18.0000, raised to the minimum 50"
    )
    assert PerUnitPrice(unit_amount="10", discount="0.5", maximum="100").rate(27).amount == D(100)
    assert PerUnitPrice(unit_amount="10", discount="0.5").rate(3).amount == D(15)


# Prorated tiers -----------------------------------------------------------------------------------


def test_prorated_graduated_splits_each_event_across_the_tiers():
    price = GraduatedPrice(
        prorated=True,
        tiers=[
            {"up_to": "10", "unit_amount": "2", "flat_amount": "20"},
            {"unit_amount": "1", "flat_amount": "5"},
        ],
    )
    events: list[ProratedEventLike] = [
        {"units": "8", "prorated": "8"},
        ("4", "2"),
        ProratedEvent(D(-6), D("-1.5")),
    ]
    charge = price.rate_events(events)
    check_invariants(charge)
    assert charge.amount == D("41.5")  # 16 + 3 - 2.5 + 20 + 5
    # tier 1: 8 + 2 x 1/2 - 4 x 1/4 = 8; tier 2: 2 x 1/2 - 2 x 1/4 = 0.5
    assert [line.quantity for line in charge.lines] == [D(8), D("0.5")]
    assert charge.quantity == D(6)  # the final running total
    with pytest.raises(RatingError, match="rate_events"):
        price.rate(5)
    with pytest.raises(RatingError, match="not prorated"):
        GraduatedPrice(tiers=[{"unit_amount": "1"}]).rate_events([("1", "1")])


def test_prorated_fractions_are_exact_where_the_charge_is_a_finite_decimal():
    # 3 units a third held, then 3 more two thirds held: (1 + 2) x 1 = 3, split over 2 tiers
    price = GraduatedPrice(
        prorated=True, tiers=[{"up_to": "3", "unit_amount": "1"}, {"unit_amount": "1"}]
    )
    assert price.rate_events([("3", "1"), ("3", "2")]).amount == D(3)


def test_prorated_negative_unit_part_counts_zero_and_flats_remain():
    price = VolumePrice(
        prorated=True,
        tiers=[{"up_to": "10", "unit_amount": "2", "flat_amount": "3"}, {"unit_amount": "1"}],
    )
    charge = price.rate_events([("4", "1"), ("-2", "-1.5")])
    check_invariants(charge)
    assert charge.amount == D(3)  # prorated units -0.5: unit part 0, the flat 3 remains
    below = GraduatedPrice(prorated=True, tiers=[{"unit_amount": "10"}], minimum="3")
    assert below.rate_events([("2", "1"), ("-3", "-0.5")]).amount == D(3)


# Parts of a period --------------------------------------------------------------------------------


def test_parts_bill_cumulative_charges_minus_what_was_billed():
    price = PerUnitPrice(unit_amount="0.001")
    first, second = rate_parts(price, ["333", "666"])
    assert (first.rounded, second.rounded) == (D("0.33"), D("0.34"))  # 0.67 - 0.33
    assert (first.final, second.final) == (False, True)
    assert "billed before 0.333 (rounded 0.33)" in second.explain()


def test_minimum_only_on_the_final_part_and_credits_are_given():
    price = PerUnitPrice(unit_amount="0.010", minimum="100")
    assert rate_part(price, "3000").amount == D(30)
    assert rate_part(price, "5000", billed_usage="3000", final=True).amount == D(70)
    volume = VolumePrice(
        tiers=[{"up_to": "10000", "unit_amount": "0.0010"}, {"unit_amount": "0.0008"}]
    )
    part = rate_part(volume, "10001", billed_usage="10000")
    assert (part.amount, part.rounded) == (D("-1.9992"), D("-2.00"))
    with pytest.raises(MeterlibError, match="billed_usage"):
        rate_part(price, "1", billed="1", billed_usage="1")


def test_rate_input_takes_each_models_input():
    assert rate_input(parse_price(CAPACITY), {"members": "600"}).amount == D(10)
    assert rate_input(PercentagePrice(rate="0.5"), ["2", "4"]).amount == D(3)
    assert rate_input(PercentagePrice(rate="0.5"), "6").amount == D(3)
    with pytest.raises(MeterlibError, match="'quantity' must be one quantity"):
        rate_input(PerUnitPrice(unit_amount="1"), ["1"])
    with pytest.raises(MeterlibError, match="'usage' must be a list"):
        rate_input(parse_price(LAGO_FILTERS), "5")


# Documents ----------------------------------------------------------------------------------------

NEW_PRICES = [
    {"model": "graduated", "tiers": BLOCKS, "overflow": "last_tier", "discount": "0.1"},
    {"model": "volume", "tiers": WATER, "prorated": True},
    CAPACITY,
    {**LAGO_FILTERS, "group": "values", "minimum": "1"},
    {"model": "percentage", "rate": "0.01", "free_events": "3", "free_amount": "500"},
]


@pytest.mark.parametrize("document", NEW_PRICES, ids=lambda d: d["model"])
def test_new_prices_round_trip_exactly(document):
    price = parse_price(document)
    text = json.dumps(price_to_dict(price))
    again = parse_price(text)
    assert again == price
    assert json.dumps(price_to_dict(again)) == text


def test_a_price_using_no_new_field_is_written_as_before():
    price = GraduatedPrice(tiers=[{"up_to": "5", "unit_amount": "1"}, {"unit_amount": "2"}])
    text = json.dumps(price_to_dict(price))
    for name in ("discount", "overflow", "prorated", "block_size", "block_amount"):
        assert name not in text
    blocks = price_to_dict(GraduatedPrice(tiers=BLOCKS))
    assert blocks["tiers"][0] == {
        "up_to": "1000",
        "flat_amount": "0",
        "block_size": "10",
        "block_amount": "1.00",
    }


def test_the_schema_describes_the_new_models_and_fields():
    schema = json.dumps(price_json_schema())
    for name in (
        "CapacityPrice",
        "MatrixPrice",
        "block_size",
        "free_events",
        "discount",
        "overflow",
    ):
        assert name in schema


# Errors: every one names the field and the value --------------------------------------------------

TIERS = [{"up_to": None, "unit_amount": "1"}]
CELL = {"match": {"region": ["eu"]}, "price": {"model": "per_unit", "unit_amount": "1"}}
MATRIX = {"model": "matrix", "dimensions": ["region"], "cells": [CELL]}
CAP_TIER = {"limits": {"seats": "10"}, "amount": "1"}

INVALID = [
    (
        {"model": "graduated", "tiers": [{"block_size": "0", "block_amount": "1"}]},
        "block_size",
        "0",
    ),
    ({"model": "graduated", "tiers": [{"block_size": "-1"}]}, "block_size", "-1"),
    ({"model": "volume", "tiers": [{"block_size": "5", "unit_amount": "1"}]}, "unit_amount", "5"),
    ({"model": "graduated", "tiers": [{"block_amount": "2"}]}, "block_amount", "2"),
    (
        {"model": "graduated", "tiers": [{"block_size": "5", "block_amount": "-2"}]},
        "block_amount",
        "-2",
    ),
    ({"model": "graduated", "tiers": TIERS, "overflow": "top"}, "overflow", "top"),
    ({"model": "per_unit", "unit_amount": "1", "overflow": "last_tier"}, "overflow", "last_tier"),
    ({"model": "capacity", "tiers": [{"amount": "1"}]}, "limits", "Field required"),
    ({"model": "capacity", "tiers": [{"limits": {}, "amount": "1"}]}, "limits", "none"),
    (
        {"model": "capacity", "tiers": [CAP_TIER, {"limits": {"users": None}, "amount": "2"}]},
        "dimensions",
        "users",
    ),
    (
        {"model": "capacity", "tiers": [CAP_TIER, {"limits": {"seats": "5"}, "amount": "2"}]},
        "seats",
        "5",
    ),
    (
        {"model": "capacity", "tiers": [{"limits": {"seats": None}, "amount": "1"}, CAP_TIER]},
        "seats",
        "no limit",
    ),
    ({"model": "capacity", "tiers": [{"limits": {"seats": "-1"}, "amount": "1"}]}, "seats", "-1"),
    ({"model": "capacity", "tiers": [{"limits": {"seats": "1"}, "amount": "-1"}]}, "amount", "-1"),
    (
        {
            "model": "capacity",
            "tiers": [{"limits": {"seats": "1"}, "amount": "1", "block_size": "1"}],
        },
        "block_size",
        "1",
    ),
    ({"model": "capacity", "tiers": [CAP_TIER], "included": "1"}, "included", "1"),
    ({**MATRIX, "dimensions": []}, "dimensions", "none"),
    ({**MATRIX, "dimensions": ["region", "region"]}, "dimensions", "region twice"),
    ({**MATRIX, "cells": []}, "cells", "none"),
    ({**MATRIX, "cells": [{**CELL, "match": {"zone": ["a"]}}]}, "zone", "region"),
    ({**MATRIX, "cells": [{**CELL, "match": {"region": []}}]}, "region", "[]"),
    ({**MATRIX, "cells": [{**CELL, "match": {}}]}, "match", "{}"),
    (
        {**MATRIX, "cells": [CELL, {**CELL, "price": {"model": "flat", "amount": "1"}}]},
        "cells 1 and 2",
        "match",
    ),
    ({**MATRIX, "cells": [{**CELL, "price": MATRIX}]}, "price", "matrix"),
    (
        {**MATRIX, "cells": [{**CELL, "price": {"model": "percentage", "rate": "0.1"}}]},
        "price",
        "percentage",
    ),
    ({**MATRIX, "default": {"model": "capacity", "tiers": [CAP_TIER]}}, "default", "capacity"),
    (
        {**MATRIX, "default": {"model": "graduated", "tiers": TIERS, "prorated": True}},
        "default",
        "prorated",
    ),
    (
        {
            **MATRIX,
            "cells": [{**CELL, "price": {"model": "flat", "amount": "1", "currency": "EUR"}}],
        },
        "EUR",
        "USD",
    ),
    ({**MATRIX, "group": "combination"}, "group", "combination"),
    ({**MATRIX, "included": "5"}, "included", "5"),
    ({"model": "percentage", "rate": "0.1", "free_events": "2.5"}, "free_events", "2.5"),
    ({"model": "percentage", "rate": "0.1", "free_events": "-1"}, "free_events", "-1"),
    ({"model": "percentage", "rate": "0.1", "free_amount": "-1"}, "free_amount", "-1"),
    ({"model": "percentage", "rate": "0.1", "included": "5"}, "included", "5"),
    ({"model": "per_unit", "unit_amount": "1", "discount": "1.01"}, "discount", "1.01"),
    ({"model": "per_unit", "unit_amount": "1", "discount": "-0.1"}, "discount", "-0.1"),
    ({"model": "graduated", "tiers": TIERS, "prorated": True, "included": "1"}, "included", "1"),
    ({"model": "graduated", "tiers": [{"block_size": "1"}], "prorated": True}, "block_size", "1"),
    ({"model": "graduated", "tiers": TIERS, "prorated": "yes"}, "prorated", "yes"),
    ({"model": "per_unit", "unit_amount": "1", "prorated": True}, "prorated", "True"),
    ({"model": "flat"}, "amount", "Field required"),
]


@pytest.mark.parametrize(("document", "field", "value"), INVALID)
def test_invalid_prices_are_refused_naming_field_and_value(document, field, value):
    with pytest.raises(DocumentError) as caught:
        parse_price(document)
    assert field in str(caught.value)
    assert value in str(caught.value)


UNRATABLE = [
    (CAPACITY, {"bandwidth": "-1"}, "quantities['bandwidth']", "-1"),
    (CAPACITY, {"storage": "1"}, "quantities", "storage"),
    (LAGO_FILTERS, [{"values": {"region": "eu"}, "quantity": "-1"}], "usage[0].quantity", "-1"),
    (LAGO_FILTERS, [{"values": {"zone": "eu"}, "quantity": "1"}], "values", "zone"),
    (LAGO_FILTERS, [{"values": {"region": 5}, "quantity": "1"}], "region", "5"),
    (MATRIX, [{"values": {"region": "us"}, "quantity": "1"}], "region=us", "no default"),
    (
        LAGO_FILTERS,
        [{"values": {"region": ["eu"], "provider": "aws"}, "quantity": "1"}],
        "region",
        "['eu']",
    ),
    (LAGO_FILTERS, ["eu"], "usage[0]", "'eu'"),
    (
        {"model": "graduated", "tiers": TIERS, "prorated": True},
        [{"units": "0", "prorated": "0"}],
        "units",
        "0",
    ),
    (
        {"model": "graduated", "tiers": TIERS, "prorated": True},
        [{"units": "2", "prorated": "-1"}],
        "prorated",
        "-1",
    ),
    (
        {"model": "graduated", "tiers": TIERS, "prorated": True},
        [{"units": "2", "prorated": "3"}],
        "prorated",
        "3",
    ),
    (
        {"model": "graduated", "tiers": TIERS, "prorated": True},
        [{"units": "2"}],
        "events[0]",
        "units",
    ),
    (
        {"model": "graduated", "tiers": [{"up_to": "5"}], "prorated": True},
        [("7", "1"), ("-3", "-1")],
        "7",
        "up_to 5",
    ),
    ({"model": "percentage", "rate": "0.1"}, ["5", "-1"], "events[1]", "-1"),
]


@pytest.mark.parametrize(("document", "usage", "field", "value"), UNRATABLE)
def test_inputs_that_cannot_be_rated_are_refused_naming_field_and_value(
    document, usage, field, value
):
    price = parse_price(document)
    with pytest.raises(MeterlibError) as caught:
        rate_input(price, usage)
    assert field in str(caught.value)
    assert value in str(caught.value)


# Memory -------------------------------------------------------------------------------------------


def _peak_bytes(tier_count: int) -> int:
    tiers = [{"up_to": str(bound), "unit_amount": "1"} for bound in range(1, tier_count)]
    tiers.append({"unit_amount": "1"})
    tracemalloc.start()
    try:
        price = GraduatedPrice(tiers=tiers)
        price.rate(tier_count * 2)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_price_with_n_tiers_takes_memory_linear_in_n():
    # Each tier costs about 1.3 KB (its model, row and full line); keeping a tuple of every
    # prefix of full lines, as the table once did, costs 8 bytes x n^2 / 2: 256 MB for 8,000.
    small, large = _peak_bytes(2_000), _peak_bytes(8_000)
    assert large < 8_000 * 4_096
    assert large < 6 * small  # linear: about 4 times; quadratic: about 16 times


# Where prices are used ----------------------------------------------------------------------------


def test_new_prices_rebill_past_periods():
    blocks = parse_price({"model": "graduated", "tiers": BLOCKS, "discount": "0.5"})
    capacity = CapacityPrice(
        tiers=[{"limits": {"seats": "10"}, "amount": "100"}], overflow="last_tier"
    )
    schedule = PriceSchedule(
        [PriceVersion(date(2024, 1, 1), blocks), PriceVersion(date(2024, 2, 1), capacity)],
    )
    statement = rebill(
        schedule,
        [
            BilledPeriod(date(2024, 1, 1), date(2024, 2, 1), "0"),
            BilledPeriod(date(2024, 2, 1), date(2024, 3, 1), "0"),
        ],
        [
            UsageRecord(date(2024, 1, 1), date(2024, 2, 1), "1505"),
            UsageRecord(date(2024, 2, 1), date(2024, 3, 1), "12"),
        ],
        as_of=date(2024, 3, 1),
        due_days=30,
    )
    # January: 125.50 x (1 - 0.5) = 62.75; February: 12 seats above the last limit -> 100
    assert [line.rebilled for line in statement.lines] == [D("62.75"), D("100.00")]


def test_a_plan_takes_the_new_prices_in_its_currency():
    plan = Plan.model_validate(
        {
            "name": "p",
            "currency": "EUR",
            "billing": {"anchor": "2023-01-01", "cadence": "monthly", "timezone": "UTC"},
            "metered": [
                {"name": "tokens", "meter": "tokens", "unit": "tokens", "price": LAGO_FILTERS},
                {"name": "seats", "meter": "seats", "unit": "seats", "price": CAPACITY},
            ],
        },
    )
    matrix = plan.metered[0].versions[0].price
    assert isinstance(matrix, MatrixPrice)
    assert {cell.price.currency for cell in matrix.cells} == {"EUR"}


def test_a_copied_matrix_routes_with_its_own_cells():
    price = parse_price(LAGO_FILTERS)
    assert isinstance(price, MatrixPrice)
    usage = [({"region": "africa", "provider": "aws"}, "10")]
    assert price.rate_usage(usage).amount == D(10)
    cheaper = price.model_copy(update={"cells": price.cells[1:]})
    assert cheaper.rate_usage(usage).amount == D(5)  # cell 1 is gone: 10 x 0.5
    assert price.rate_usage(usage).amount == D(10)
