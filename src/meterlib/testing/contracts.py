"""Hypothesis strategies for invoicing: price documents, plans, contracts and usage.

:func:`contracts` draws a monthly contract from 2023-01-01 with one plan, or two with a plan
change in March 2023; :func:`span_usage` draws usage for each segment of March
(:data:`MARCH`), ready for :func:`mapping_usage` and
:func:`~meterlib.invoicing.invoice`. Every invoice drawn this way adds up (meterlib's own
invoice laws check it), so a downstream invoicing service can compare its totals with
meterlib's for the same contract and usage. Needs hypothesis
(``pip install 'meterlib[testing]'``).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from meterlib.frames import MissingDependencyError
from meterlib.invoicing import Contract, MappingUsage
from meterlib.periods import Period

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover  (exercised in a subprocess by the tests)
    raise MissingDependencyError("meterlib.testing.contracts", "hypothesis", "testing") from error

__all__ = [
    "MARCH",
    "METERS",
    "contracts",
    "currencies",
    "mapping_usage",
    "plans",
    "price_documents",
    "span_usage",
]

#: Currencies with 0, 2 and 3 minor units.
currencies = st.sampled_from(["USD", "EUR", "JPY", "KWD"])

METERS = ("calls", "tokens", "storage")


def _amounts(high: int, places: int) -> st.SearchStrategy[str]:
    return st.decimals(
        min_value=0, max_value=high, places=places, allow_nan=False, allow_infinity=False
    ).map(str)


@st.composite
def price_documents(draw: st.DrawFn) -> dict[str, Any]:
    """A per-unit or graduated price document without currency (the plan's applies)."""
    if draw(st.booleans()):
        return {
            "model": "per_unit",
            "unit_amount": draw(_amounts(5, 4)),
            "included": draw(_amounts(100, 0)),
        }
    bound = draw(st.integers(min_value=1, max_value=1000))
    return {
        "model": "graduated",
        "tiers": [
            {
                "up_to": str(bound),
                "unit_amount": draw(_amounts(2, 4)),
                "flat_amount": draw(_amounts(10, 2)),
            },
            {"unit_amount": draw(_amounts(2, 5))},
        ],
    }


@st.composite
def plans(draw: st.DrawFn, name: str, currency: str) -> dict[str, Any]:
    """A plan document: fees, metered charges, maybe a commitment, discounts and taxes."""
    fee_count = draw(st.integers(min_value=0, max_value=2))
    fees = [
        {
            "name": f"fee{i}",
            "amount": draw(_amounts(500, 2)),
            "timing": draw(st.sampled_from(["advance", "arrears"])),
        }
        for i in range(fee_count)
    ]
    meters = draw(st.lists(st.sampled_from(METERS), min_size=1, max_size=3, unique=True))
    metered = [{"name": m, "meter": m, "price": draw(price_documents())} for m in meters]
    charges = [f["name"] for f in fees] + meters
    discounts: list[dict[str, Any]] = []
    for i in range(draw(st.integers(min_value=0, max_value=2))):
        applies = draw(st.none() | st.lists(st.sampled_from(charges), min_size=1, unique=True))
        if draw(st.booleans()):
            discount: dict[str, Any] = {
                "kind": "percentage",
                "name": f"d{i}",
                "percent": draw(_amounts(100, 2)),
            }
        else:
            discount = {"kind": "fixed", "name": f"d{i}", "amount": draw(_amounts(1000, 2))}
        if applies is not None:
            discount["applies_to"] = applies
        discounts.append(discount)
    taxes = [
        {"name": f"tax{i}", "percent": draw(_amounts(30, 3))}
        for i in range(draw(st.integers(min_value=0, max_value=2)))
    ]
    plan: dict[str, Any] = {
        "name": name,
        "currency": currency,
        "fees": fees,
        "metered": metered,
        "discounts": discounts,
        "taxes": taxes,
        "tax_rounding": draw(st.sampled_from(["per_line", "per_invoice"])),
        "rounding": draw(st.sampled_from(["half_up", "half_even"])),
    }
    if draw(st.booleans()):
        plan["commitment"] = draw(_amounts(2000, 2))
    return plan


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    """A monthly contract from 2023-01-01 with one or two plans.

    The second plan, when drawn, starts in March 2023 (inside the period :data:`MARCH`).
    """
    currency = draw(currencies)
    first = draw(plans("first", currency))
    phases = [{"start": "2023-01-01", "plan": "first"}]
    plan_docs = {"first": first}
    if draw(st.booleans()):
        plan_docs["second"] = draw(plans("second", currency))
        change = date(2023, 3, 1) + timedelta(days=draw(st.integers(min_value=1, max_value=30)))
        phases.append({"start": change.isoformat(), "plan": "second"})
    return Contract.model_validate(
        {
            "customer": "cus_law",
            "billing": {
                "anchor": "2023-01-01",
                "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
            },
            "plans": plan_docs,
            "phases": phases,
        },
    )


#: The period the laws bill: March 2023 (index 2 of a cycle anchored on 1 January).
MARCH = 2


@st.composite
def span_usage(draw: st.DrawFn, contract: Contract) -> dict[tuple[str, Any, Any], Decimal]:
    """Usage for every meter on every segment of March, keyed ``(meter, start, end)``."""
    period: Period = contract.period(MARCH)
    usage: dict[tuple[str, Any, Any], Decimal] = {}
    for segment in contract.segments(period):
        for meter in METERS:
            usage[(meter, segment.start, segment.end)] = draw(
                st.decimals(
                    min_value=0, max_value=100_000, places=2, allow_nan=False, allow_infinity=False
                )
            )
    return usage


def mapping_usage(usage: dict[tuple[str, Any, Any], Decimal]) -> MappingUsage:
    """The usage as a :class:`MappingUsage`."""
    return MappingUsage(spans=usage)
