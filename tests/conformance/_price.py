"""Conformance kinds ``price`` and ``progressive``: rate one period's (or one part's) input.

A price takes exactly one input, as its model says: ``quantity``; ``events`` (a percentage
price's values, or a prorated price's ``{"units", "prorated"}``); ``quantities`` (capacity);
``usage`` (matrix). The price is built through :func:`meterlib.pricing.parse_price`, so an
invalid price raises meterlib's ``DocumentError``; the input is rated through
:func:`meterlib.pricing.rate_input` / :func:`meterlib.pricing.rate_part`. Importing this module
registers the runners in ``_kinds.RUNNERS``.
"""

from __future__ import annotations

from typing import Any

import pytest

from meterlib.pricing import Charge, PeriodPart, parse_price, rate_input, rate_part
from tests.conformance import _kinds
from tests.conformance._common import check_fields, expect_error, same_number

_INPUTS = ("quantity", "events", "quantities", "usage")
_EXPECTED = frozenset({"amount", "rounded", "error"})
_CASE_FIELDS = frozenset({"price", *_INPUTS}) | _EXPECTED
_PROGRESSIVE_FIELDS = _CASE_FIELDS | {"billed", "billed_usage", "final"}
_MODIFIERS = frozenset({"model", "currency", "minimum", "maximum", "discount"})
_QUANTITY = _MODIFIERS | {"included"}
_TIERED = _QUANTITY | {"tiers", "overflow", "prorated"}
_PRICE_FIELDS: dict[str, frozenset[str]] = {
    "flat": _QUANTITY | {"amount"},
    "per_unit": _QUANTITY | {"unit_amount"},
    "package": _QUANTITY | {"package_size", "package_amount", "round"},
    "graduated": _TIERED,
    "volume": _TIERED,
    "percentage": _MODIFIERS
    | {"rate", "fixed_fee", "min_per_event", "max_per_event", "free_events", "free_amount"},
    "capacity": _MODIFIERS | {"tiers", "overflow"},
    "matrix": _MODIFIERS | {"dimensions", "cells", "default", "group"},
}
_TIER_FIELDS = frozenset({"up_to", "unit_amount", "flat_amount", "block_size", "block_amount"})
_CAPACITY_TIER_FIELDS = frozenset({"limits", "amount"})
# Which input each model takes; prorated graduated and volume prices take events.
_INPUT_OF = {"percentage": "events", "capacity": "quantities", "matrix": "usage"}


def _check_price_fields(price: Any) -> None:
    """Fail on a model or field the runner does not understand (nested prices included).

    Fields a model does not take are left to meterlib, which must refuse them: the runner only
    fails on names it has never heard of.
    """
    if not isinstance(price, dict):
        pytest.fail(f"price must be an object, got {price!r}")
    model = price.get("model")
    if model not in _PRICE_FIELDS:
        pytest.fail(f"price has a model this runner does not understand: {model!r}")
    known = frozenset().union(*_PRICE_FIELDS.values())
    check_fields(price, known, where=f"{model} price")
    for tier in price.get("tiers") or []:
        if isinstance(tier, dict):
            check_fields(tier, _TIER_FIELDS | _CAPACITY_TIER_FIELDS, where="tier")
    for cell in price.get("cells") or []:
        if isinstance(cell, dict):
            check_fields(cell, {"match", "price"}, where="matrix cell")
            if isinstance(cell.get("price"), dict):
                _check_price_fields(cell["price"])
    if isinstance(price.get("default"), dict):
        _check_price_fields(price["default"])


def _input_field(case: dict[str, Any]) -> str:
    given = [name for name in _INPUTS if name in case]
    if len(given) != 1:
        pytest.fail(f"a {case['kind']} case gives exactly one input of {_INPUTS}, got {given}")
    price = case["price"]
    model = price.get("model")
    wanted = _INPUT_OF.get(model, "events" if price.get("prorated") is True else "quantity")
    if given[0] != wanted:
        pytest.fail(f"a {model} price takes {wanted!r}, the case gives {given[0]!r}")
    return given[0]


def _check_expectations(case: dict[str, Any]) -> None:
    if not _EXPECTED & set(case):
        pytest.fail(f"a {case['kind']} case expects 'amount', 'rounded' or 'error'")


def run_price_case(case: dict[str, Any]) -> None:
    """Build the case's price, rate its input, compare the figures."""
    check_fields(case, _CASE_FIELDS)
    _check_price_fields(case.get("price"))
    _check_expectations(case)
    field = _input_field(case)
    charge: Charge | None = expect_error(
        case,
        lambda: rate_input(parse_price(case["price"]), case[field]),
    )
    if charge is None:
        return
    if "amount" in case:
        same_number(case["amount"], charge.amount, "amount")
    if "rounded" in case:
        same_number(case["rounded"], charge.rounded(), "rounded")


def run_progressive_case(case: dict[str, Any]) -> None:
    """Rate one part of a period billed in parts, compare the part's figures."""
    check_fields(case, _PROGRESSIVE_FIELDS)
    _check_price_fields(case.get("price"))
    _check_expectations(case)
    field = _input_field(case)
    if "billed" in case and "billed_usage" in case:
        pytest.fail("a progressive case gives at most one of 'billed' and 'billed_usage'")
    final = case.get("final", False)
    if not isinstance(final, bool):
        pytest.fail(f"'final' must be true or false, got {final!r}")

    def run() -> PeriodPart:
        return rate_part(
            parse_price(case["price"]),
            case[field],
            billed=case.get("billed"),
            billed_usage=case.get("billed_usage"),
            final=final,
        )

    part = expect_error(case, run)
    if part is None:
        return
    if "amount" in case:
        same_number(case["amount"], part.amount, "amount")
    if "rounded" in case:
        same_number(case["rounded"], part.rounded, "rounded")


_kinds.RUNNERS["price"] = run_price_case
_kinds.RUNNERS["progressive"] = run_progressive_case
