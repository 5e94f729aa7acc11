"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

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
