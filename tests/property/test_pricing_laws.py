"""Laws of pricing: tiers add up, charges never fall, packages cover, JSON round-trips."""

from __future__ import annotations

import decimal
import json
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from meterlib._numbers import EXACT, exact, exact_sum
from meterlib.currency import minor_units
from meterlib.errors import RatingError
from meterlib.pricing import (
    Charge,
    ChargeLine,
    GraduatedPrice,
    PercentagePrice,
    VolumePrice,
    parse_price,
    price_to_dict,
)
from meterlib.rounding import RoundingMode
from meterlib.testing.strategies import (
    decimals,
    graduated_prices,
    package_prices,
    percentage_prices,
    prices,
    quantities,
    volume_prices,
)

modes = st.sampled_from(list(RoundingMode))
event_values = st.lists(decimals(0, 100_000, places=2), max_size=8)


def rate_any(price: object, quantity: Decimal, events: list[Decimal]) -> Charge:
    """Rate a price of any model: events for percentage prices, the quantity otherwise."""
    if isinstance(price, PercentagePrice):
        return price.rate_events(events)
    try:
        return price.rate(quantity)  # type: ignore[attr-defined, no-any-return]  # every price model has rate()
    except RatingError:
        assume(False)  # above a bounded last tier: no charge to check
        raise


@given(prices(), quantities, event_values)
def test_every_charge_adds_up(price, quantity, events):
    charge = rate_any(price, quantity, events)
    with exact():  # the law's own arithmetic in meterlib's context, not the caller's
        assert charge.subtotal == sum((line.amount for line in charge.lines), Decimal(0))
        assert charge.amount == charge.subtotal + charge.adjustment
        assert charge.billable == charge.quantity - charge.included
        assert charge.currency == price.currency
        assert charge.model == price.model
        if price.minimum is not None:
            assert charge.amount >= price.minimum
        if price.maximum is not None:
            assert charge.amount <= price.maximum


@given(graduated_prices(with_modifiers=False), quantities)
def test_graduated_total_is_the_sum_of_its_tier_lines(price, quantity):
    charge = price.rate(quantity)
    with exact():  # the law's own arithmetic in meterlib's context, not the caller's
        assert charge.amount == sum((line.amount for line in charge.lines), Decimal(0))
        assert sum((line.quantity for line in charge.lines), Decimal(0)) == quantity
        assert [line.tier for line in charge.lines] == list(range(1, len(charge.lines) + 1))
        for line in charge.lines:
            assert line.amount == line.quantity * line.unit_amount + line.flat_amount
            if line.upper is not None:
                assert line.quantity <= line.upper - line.lower


@given(graduated_prices(), quantities, quantities)
def test_graduated_charge_never_falls_as_quantity_grows(price, first, second):
    low, high = sorted([first, second])
    assert price.rate(low).amount <= price.rate(high).amount


@given(graduated_prices(with_modifiers=False, bounded_last=True), quantities)
def test_a_bounded_last_tier_rates_up_to_its_bound_and_refuses_above(price, quantity):
    bound = price.tiers[-1].up_to
    assert bound is not None
    if quantity <= bound:
        assert price.rate(quantity).lines[-1].tier is not None
    else:
        with pytest.raises(RatingError, match=f"bounded at up_to {bound:f}"):
            price.rate(quantity)


@given(volume_prices(with_modifiers=False), quantities)
def test_volume_is_quantity_times_the_chosen_tier_plus_its_flat(price, quantity):
    chosen = next(tier for tier in price.tiers if tier.up_to is None or quantity <= tier.up_to)
    charge = price.rate(quantity)
    with exact():  # the law's own arithmetic in meterlib's context, not the caller's
        assert charge.amount == quantity * chosen.unit_amount + chosen.flat_amount
        [line] = charge.lines
        assert line.tier == price.tiers.index(chosen) + 1


@given(package_prices(), quantities)
def test_packages_cover_the_billable_quantity(price, quantity):
    charge = price.rate(quantity)
    with exact():  # the law's own arithmetic in meterlib's context, not the caller's
        [line] = charge.lines
        packages, size = line.quantity, price.package_size
        assert packages == packages.to_integral_value()
        if price.round == "up":
            assert packages * size >= charge.billable
            assert packages * size < charge.billable + size
        else:
            assert packages * size <= charge.billable
            assert (packages + 1) * size > charge.billable
        assert charge.subtotal == packages * price.package_amount


@given(percentage_prices(with_modifiers=False), event_values)
def test_percentage_charge_is_the_sum_of_its_clamped_events(price, events):
    charge = price.rate_events(events)
    with exact():  # the law's own arithmetic in meterlib's context, not the caller's
        assert len(charge.lines) == len(events)
        fee = price.fixed_fee or Decimal(0)
        for value, line in zip(events, charge.lines, strict=True):
            expected = value * price.fraction + fee
            if price.min_per_event is not None:
                expected = max(expected, price.min_per_event)
            if price.max_per_event is not None:
                expected = min(expected, price.max_per_event)
            assert line.amount == expected


@given(percentage_prices(), event_values, st.integers(min_value=0, max_value=8))
def test_percentage_free_amount_is_never_charged(price, events, split):
    allowance = price.free_amount or Decimal(0)
    charge = price.rate_events(events)
    assert charge.included == min(allowance, exact_sum(events))
    covered = [line for line in charge.lines if line.quantity == 0 and line.amount == 0]
    assert len(covered) <= len(events)
    # rating the events in two batches, the second with what the first left of the allowance,
    # charges exactly the same lines
    first = price.rate_events(events[:split])
    left = price.model_copy(update={"free_amount": EXACT.subtract(allowance, first.included)})
    assert first.lines + left.rate_events(events[split:]).lines[: len(events[split:])] == tuple(
        _relabel(charge.lines, split),
    )


def _relabel(lines: tuple[ChargeLine, ...], split: int) -> list[ChargeLine]:
    """Event numbers restart at 1 in the second batch: renumber to compare the lines."""
    result = []
    for index, line in enumerate(lines):
        if index < split:
            result.append(line)
            continue
        description = line.description.replace(
            f"event {index + 1}", f"event {index - split + 1}", 1
        )
        result.append(replace(line, description=description))
    return result



@given(prices(), quantities, event_values, modes)
def test_rounding_moves_the_amount_by_at_most_half_a_minor_unit(price, quantity, events, mode):
    charge = rate_any(price, quantity, events)
    rounded = charge.rounded(mode)
    with exact():
        half = Decimal(1).scaleb(-minor_units(price.currency)) / 2
        assert abs(rounded - charge.amount) <= half
        assert rounded == rounded.quantize(Decimal(1).scaleb(-minor_units(price.currency)))


@given(prices(), quantities, event_values)
def test_rating_ignores_the_callers_decimal_context(price, quantity, events):
    expected = rate_any(price, quantity, events)
    with decimal.localcontext(prec=2, rounding=decimal.ROUND_FLOOR):
        again = rate_any(price, quantity, events)
    assert again == expected
    assert [str(line.amount) for line in again.lines] == [
        str(line.amount) for line in expected.lines
    ]


@given(prices())
def test_json_round_trip_is_the_identity(price):
    text = json.dumps(price_to_dict(price))
    again = parse_price(text)
    assert again == price
    assert type(again) is type(price)
    assert json.dumps(price_to_dict(again)) == text


@given(st.one_of(graduated_prices(), volume_prices()), quantities)
def test_a_copy_rates_like_the_original(price, quantity):
    copy = price.model_copy()
    assert isinstance(copy, GraduatedPrice | VolumePrice)
    assert copy.rate(quantity) == price.rate(quantity)
