"""Hypothesis strategies for numbers, currencies, tiers and prices of every model.

Every value drawn is valid: the price strategies build meterlib's own models, so a downstream
test can draw any price and compare its own billing code against ``price.rate(quantity)``::

    from hypothesis import given
    from meterlib.testing.strategies import graduated_prices, quantities

    @given(graduated_prices(), quantities)
    def test_my_rating_agrees_with_meterlib(price, quantity):
        assert my_rate(price.model_dump(mode="json"), quantity) == price.rate(quantity).rounded()

Figures are ``Decimal`` with bounded places (never floats). ``with_modifiers`` adds
``included`` units and a per-period ``minimum``/``maximum``; ``bounded_last`` draws tiers whose
last tier has an ``up_to`` (``None`` draws either; quantities above it are refused by
``rate``). meterlib's own property tests use these strategies. Needs hypothesis
(``pip install 'meterlib[testing]'``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterlib.frames import MissingDependencyError
from meterlib.pricing import (
    FlatPrice,
    GraduatedPrice,
    MatrixPrice,
    PackagePrice,
    PercentagePrice,
    PerUnitPrice,
    Tier,
    VolumePrice,
)

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover  (exercised in a subprocess by the tests)
    raise MissingDependencyError("meterlib.testing.strategies", "hypothesis", "testing") from error

__all__ = [
    "additions",
    "currencies",
    "decimals",
    "flat_prices",
    "graduated_prices",
    "in_blocks_of_one",
    "modifiers",
    "money_amounts",
    "one_cell_matrices",
    "package_prices",
    "per_unit_prices",
    "percentage_prices",
    "prices",
    "quantities",
    "tier_tuples",
    "unit_amounts",
    "volume_prices",
    "whole_quantities",
]

#: Currencies with 0, 2, 3 and 4 minor units.
currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD", "CLF", "GBP"])


def decimals(
    min_value: str | int = 0,
    max_value: str | int = 1_000_000,
    places: int = 6,
) -> st.SearchStrategy[Decimal]:
    """Finite decimals in a range with at most ``places`` digits after the point."""
    return st.decimals(
        min_value=Decimal(min_value),
        max_value=Decimal(max_value),
        places=places,
        allow_nan=False,
        allow_infinity=False,
    )


#: Non-negative quantities with up to 4 decimal places.
quantities = decimals(0, 10_000_000, places=4)

#: Non-negative unit prices with up to 6 decimal places (sub-cent prices are common).
unit_amounts = decimals(0, 1_000, places=6)

#: Non-negative money amounts with up to 4 decimal places (fees, flat amounts, bounds).
money_amounts = decimals(0, 10_000, places=4)


@st.composite
def tier_tuples(
    draw: st.DrawFn,
    *,
    bounded_last: bool | None = False,
    places: int = 3,
) -> tuple[Tier, ...]:
    """Valid tiers: 1 to 5, ``up_to`` rising strictly, with ``places`` decimals.

    The last tier is unbounded unless ``bounded_last`` (``None`` draws either).
    """
    count = draw(st.integers(min_value=1, max_value=5))
    bounded = draw(st.booleans()) if bounded_last is None else bounded_last
    bounds = sorted(
        draw(
            st.lists(
                decimals(0, 1_000_000, places=places),
                min_size=count if bounded else count - 1,
                max_size=count if bounded else count - 1,
                unique=True,
            ),
        ),
    )
    ups: list[Decimal | None] = [*bounds, *([] if bounded else [None])]
    return tuple(
        Tier(up_to=up_to, unit_amount=draw(unit_amounts), flat_amount=draw(money_amounts))
        for up_to in ups
    )


@st.composite
def modifiers(draw: st.DrawFn) -> dict[str, Decimal | None]:
    """``included``, ``minimum`` and ``maximum`` for any price; each may be absent."""
    included = draw(st.one_of(st.just(Decimal(0)), decimals(0, 100_000, places=3)))
    low, high = sorted([draw(money_amounts), draw(money_amounts)])
    return {
        "included": included,
        "minimum": draw(st.sampled_from([None, low])),
        "maximum": draw(st.sampled_from([None, high])),
    }


def _with_modifiers(draw: st.DrawFn, *, use: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {"currency": draw(currencies)}
    if use:
        fields.update(draw(modifiers()))
    return fields


@st.composite
def flat_prices(draw: st.DrawFn, *, with_modifiers: bool = True) -> FlatPrice:
    """Any valid flat price."""
    return FlatPrice(amount=draw(money_amounts), **_with_modifiers(draw, use=with_modifiers))


@st.composite
def per_unit_prices(draw: st.DrawFn, *, with_modifiers: bool = True) -> PerUnitPrice:
    """Any valid per-unit price."""
    return PerUnitPrice(unit_amount=draw(unit_amounts), **_with_modifiers(draw, use=with_modifiers))


@st.composite
def package_prices(draw: st.DrawFn, *, with_modifiers: bool = True) -> PackagePrice:
    """Any valid package price (package sizes above zero, rounding up or down)."""
    return PackagePrice(
        package_size=draw(decimals("0.001", 10_000, places=3)),
        package_amount=draw(money_amounts),
        round=draw(st.sampled_from(["up", "down"])),
        **_with_modifiers(draw, use=with_modifiers),
    )


@st.composite
def graduated_prices(
    draw: st.DrawFn,
    *,
    with_modifiers: bool = True,
    bounded_last: bool | None = False,
) -> GraduatedPrice:
    """Any valid graduated price."""
    return GraduatedPrice(
        tiers=draw(tier_tuples(bounded_last=bounded_last)),
        **_with_modifiers(draw, use=with_modifiers),
    )


@st.composite
def volume_prices(
    draw: st.DrawFn,
    *,
    with_modifiers: bool = True,
    bounded_last: bool | None = False,
) -> VolumePrice:
    """Any valid volume price."""
    return VolumePrice(
        tiers=draw(tier_tuples(bounded_last=bounded_last)),
        **_with_modifiers(draw, use=with_modifiers),
    )


@st.composite
def percentage_prices(draw: st.DrawFn, *, with_modifiers: bool = True) -> PercentagePrice:
    """Any valid percentage price; per-event terms may be absent."""
    low, high = sorted([draw(money_amounts), draw(money_amounts)])
    fields = _with_modifiers(draw, use=with_modifiers)
    if "included" in fields:  # a percentage price's value allowance is free_amount
        fields["free_amount"] = fields.pop("included")
    return PercentagePrice(
        rate=draw(decimals(0, 1, places=5)),
        fixed_fee=draw(st.one_of(st.none(), money_amounts)),
        min_per_event=draw(st.sampled_from([None, low])),
        max_per_event=draw(st.sampled_from([None, high])),
        **fields,
    )


def prices(*, with_modifiers: bool = True) -> st.SearchStrategy[Any]:
    """Any valid price of any model (bounded last tiers included)."""
    return st.one_of(
        flat_prices(with_modifiers=with_modifiers),
        per_unit_prices(with_modifiers=with_modifiers),
        package_prices(with_modifiers=with_modifiers),
        graduated_prices(with_modifiers=with_modifiers, bounded_last=None),
        volume_prices(with_modifiers=with_modifiers, bounded_last=None),
        percentage_prices(with_modifiers=with_modifiers),
    )


#: Whole quantities, for laws that hold on whole units only (a block of 1 is one unit).
whole_quantities = st.integers(min_value=0, max_value=2_000_000).map(Decimal)


def in_blocks_of_one(tiers: tuple[Tier, ...]) -> tuple[Tier, ...]:
    """The same tiers sold in blocks of one unit at each tier's unit amount."""
    return tuple(
        Tier(
            up_to=tier.up_to,
            flat_amount=tier.flat_amount,
            block_size=Decimal(1),
            block_amount=tier.unit_amount,
        )
        for tier in tiers
    )


@st.composite
def additions(draw: st.DrawFn) -> list[dict[str, Decimal]]:
    """Prorated events that each add units held for the whole period (prorated in full)."""
    units = draw(st.lists(decimals("0.001", 100_000, places=3), min_size=1, max_size=6))
    return [{"units": value, "prorated": value} for value in units]


@st.composite
def one_cell_matrices(draw: st.DrawFn) -> tuple[MatrixPrice, list[str]]:
    """A matrix on dimension ``d`` whose one cell lists every value usage will carry."""
    values = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    cell_price = draw(
        st.one_of(
            flat_prices(with_modifiers=False),
            per_unit_prices(with_modifiers=False),
            package_prices(with_modifiers=False),
            graduated_prices(with_modifiers=False),
            volume_prices(with_modifiers=False),
        ),
    )
    matrix = MatrixPrice(
        currency=cell_price.currency,
        dimensions=("d",),
        cells=[{"match": {"d": values}, "price": cell_price}],
    )
    return matrix, values
