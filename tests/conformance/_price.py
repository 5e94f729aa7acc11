"""Conformance kind ``price``: rate one period's quantity (or a percentage price's events).

The price is built through :func:`meterlib.pricing.parse_price`, so an invalid price raises
meterlib's ``DocumentError``. Importing this module registers the runner in ``_kinds.RUNNERS``.
"""

from __future__ import annotations

from typing import Any

import pytest

from meterlib.pricing import Charge, PercentagePrice, parse_price
from tests.conformance import _kinds
from tests.conformance._common import check_fields, expect_error, same_number

_CASE_FIELDS = frozenset({"price", "quantity", "events", "amount", "rounded", "error"})
_MODIFIERS = frozenset({"model", "currency", "included", "minimum", "maximum"})
_PRICE_FIELDS: dict[str, frozenset[str]] = {
    "flat": _MODIFIERS | {"amount"},
    "per_unit": _MODIFIERS | {"unit_amount"},
    "package": _MODIFIERS | {"package_size", "package_amount", "round"},
    "graduated": _MODIFIERS | {"tiers"},
    "volume": _MODIFIERS | {"tiers"},
    "percentage": _MODIFIERS | {"rate", "fixed_fee", "min_per_event", "max_per_event"},
}
_TIER_FIELDS = frozenset({"up_to", "unit_amount", "flat_amount"})


def _check_price_fields(price: Any) -> None:
    if not isinstance(price, dict):
        pytest.fail(f"price must be an object, got {price!r}")
    model = price.get("model")
    if model not in _PRICE_FIELDS:
        pytest.fail(f"price has a model this runner does not understand: {model!r}")
    check_fields(price, _PRICE_FIELDS[model], where=f"{model} price")
    for tier in price.get("tiers") or []:
        check_fields(tier, _TIER_FIELDS, where="tier")


def _rate(case: dict[str, Any]) -> Charge:
    price = parse_price(case["price"])
    if "events" in case:
        if not isinstance(price, PercentagePrice):
            pytest.fail(f"events given for a {price.model} price: only percentage takes events")
        return price.rate_events(case["events"])
    return price.rate(case["quantity"])


def run_price_case(case: dict[str, Any]) -> None:
    """Build the case's price, rate its quantity or events, compare the figures."""
    check_fields(case, _CASE_FIELDS)
    _check_price_fields(case.get("price"))
    if ("quantity" in case) == ("events" in case):
        pytest.fail("a price case gives exactly one of 'quantity' and 'events'")
    if "error" not in case and "amount" not in case and "rounded" not in case:
        pytest.fail("a price case expects 'amount', 'rounded' or 'error'")
    charge = expect_error(case, lambda: _rate(case))
    if charge is None:
        return
    if "amount" in case:
        same_number(case["amount"], charge.amount, "amount")
    if "rounded" in case:
        same_number(case["rounded"], charge.rounded(), "rounded")


_kinds.RUNNERS["price"] = run_price_case
