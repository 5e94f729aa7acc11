"""Laws of the pricing breadth: blocks of one, overflow, one-cell matrices, parts, prorated
tiers held in full, a discount of zero."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import assume, given
from hypothesis import strategies as st

from meterlib._numbers import EXACT, exact_sum
from meterlib.errors import RatingError
from meterlib.pricing import (
    GraduatedPrice,
    PercentagePrice,
    PerUnitPrice,
    VolumePrice,
    rate_input,
    rate_parts,
)
from tests.strategies import (
    additions,
    decimals,
    graduated_prices,
    in_blocks_of_one,
    one_cell_matrices,
    prices,
    quantities,
    tier_tuples,
    whole_quantities,
)

tiered = st.sampled_from([GraduatedPrice, VolumePrice])


def _rate_or_skip(price: GraduatedPrice | VolumePrice, quantity: Decimal) -> Decimal:
    try:
        return price.rate(quantity).amount
    except RatingError:
        assume(False)  # above a bounded last tier: nothing to compare
        raise


@given(tiered, tier_tuples(bounded_last=None, places=0), whole_quantities)
def test_a_block_size_of_one_is_per_unit_for_whole_quantities(model, tiers, quantity):
    # whole bounds too: a bound of 0.5 splits a unit across two tiers, and each part fills a block
    plain = model(tiers=tiers)
    blocks = model(tiers=in_blocks_of_one(tiers))
    assert _rate_or_skip(blocks, quantity) == _rate_or_skip(plain, quantity)


@given(tiered, tier_tuples(bounded_last=True), decimals("0.0001", 1_000_000, places=4))
def test_overflow_last_tier_is_the_last_bound_removed_above_it(model, tiers, above):
    bound = tiers[-1].up_to
    assert bound is not None
    quantity = EXACT.add(bound, above)
    unbounded = (*tiers[:-1], tiers[-1].model_copy(update={"up_to": None}))
    overflow = model(tiers=tiers, overflow="last_tier")
    assert overflow.rate(quantity).amount == model(tiers=unbounded).rate(quantity).amount
    try:
        model(tiers=tiers).rate(quantity)
    except RatingError:
        pass
    else:  # pragma: no cover - the law's other half
        raise AssertionError("a quantity above a bounded last tier must be refused by default")


@given(one_cell_matrices(), st.data())
def test_a_one_cell_matrix_matching_everything_is_its_cells_price(matrix_and_values, data):
    matrix, values = matrix_and_values
    usage = data.draw(
        st.lists(st.tuples(st.sampled_from(values), decimals(0, 100_000, places=3)), min_size=1),
    )
    charge = matrix.rate_usage([({"d": value}, quantity) for value, quantity in usage])
    total = exact_sum(quantity for _, quantity in usage)
    cell = matrix.cells[0].price
    assert charge.amount == cell.rate(total).amount
    assert charge.parts[0].charge == cell.rate(total)


@given(
    st.one_of(prices(), graduated_prices(bounded_last=None)),
    st.lists(quantities, min_size=1, max_size=5),
)
def test_the_parts_of_a_period_add_up_to_one_final_rating(price, steps):
    assume(not isinstance(price, PercentagePrice))
    cumulative = list(_running(steps))
    try:
        whole = rate_input(price, cumulative[-1])
        parts = rate_parts(price, cumulative)
    except RatingError:
        assume(False)  # above a bounded last tier
        raise
    assert exact_sum(part.amount for part in parts) == whole.amount
    assert exact_sum(part.rounded for part in parts) == whole.rounded()


@given(st.lists(st.lists(decimals(0, 10_000, places=2), max_size=4), min_size=1, max_size=4))
def test_the_parts_of_a_percentage_period_add_up(batches):
    price = PercentagePrice(rate="0.029", fixed_fee="0.30", min_per_event="0.5", minimum="5")
    cumulative = list(_running_lists(batches))
    parts = rate_parts(price, cumulative)
    whole = price.rate_events(cumulative[-1])
    assert exact_sum(part.amount for part in parts) == whole.amount
    assert exact_sum(part.rounded for part in parts) == whole.rounded()


@given(tiered, tier_tuples(bounded_last=False), additions())
def test_prorated_tiers_held_in_full_are_the_plain_price(model, tiers, events):
    total = exact_sum(event["units"] for event in events)
    prorated = model(tiers=tiers, prorated=True).rate_events(events)
    assert prorated.amount == model(tiers=tiers).rate(total).amount


@given(prices(), quantities, st.lists(decimals(0, 10_000, places=2), max_size=4))
def test_a_discount_of_zero_changes_nothing(price, quantity, events):
    discounted = price.model_copy(update={"discount": Decimal(0)})
    usage = events if isinstance(price, PercentagePrice) else quantity
    try:
        expected = rate_input(price, usage)
    except RatingError:
        assume(False)
        raise
    assert rate_input(discounted, usage) == expected


@given(decimals(0, 1, places=3), decimals(0, 100_000, places=3))
def test_a_discount_takes_its_share_off_before_the_bounds(discount, quantity):
    price = PerUnitPrice(unit_amount="0.1", discount=discount)
    undiscounted = EXACT.multiply(quantity, Decimal("0.1"))
    assert price.rate(quantity).amount == EXACT.multiply(undiscounted, EXACT.subtract(1, discount))


def _running(steps: list[Decimal]) -> list[Decimal]:
    total = Decimal(0)
    result = []
    for step in steps:
        total = EXACT.add(total, step)
        result.append(total)
    return result


def _running_lists(batches: list[list[Decimal]]) -> list[list[Decimal]]:
    events: list[Decimal] = []
    result = []
    for batch in batches:
        events = [*events, *batch]
        result.append(events)
    return result
