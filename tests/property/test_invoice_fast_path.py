"""The invoicing engine's fast path builds the invoices the straightforward engine built.

``meterlib.invoicing.engine`` reads each plan once (:mod:`meterlib.invoicing.terms`), keeps
period look-ups per cycle, recognises usage sources by class and builds lines and invoices with
the twin-class builders. ``tests/reference_invoicing.py`` is the engine before those speed-ups;
on random contracts (versioned fees and prices, plan changes and contract ends inside periods,
discounts, taxes, commitments, matrix prices, several time zones and currencies) billed for
several periods, both must give equal invoices and the same JSON, or the same error. Each
contract is billed twice, so the second invoice comes from the kept terms and periods.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.errors import MeterlibError
from meterlib.invoicing import Contract, MappingUsage, TableUsage, invoice, invoice_to_json
from meterlib.invoicing.invoice import Invoice
from meterlib.metering.table import UsageKey
from meterlib.periods import Period
from meterlib.testing.contracts import METERS, currencies, plans
from tests import reference_invoicing as reference

MATRIX = {
    "model": "matrix",
    "dimensions": ["model", "region"],
    "cells": [
        {"match": {"model": ["large"]}, "price": {"model": "per_unit", "unit_amount": "0.02"}},
        {
            "match": {"model": ["large"], "region": ["eu"]},
            "price": {"model": "per_unit", "unit_amount": "0.0315"},
        },
    ],
    "default": {"model": "per_unit", "unit_amount": "0.01"},
    "minimum": "5",
}
GROUPS = (
    (("model", "large"), ("region", "eu")),
    (("model", "large"), ("region", "us")),
    (("model", "small"), ("region", "us")),
)
PERIODS = range(6)  # January to June 2023


def _day(draw: st.DrawFn, first: date, last: date) -> date:
    return first + timedelta(days=draw(st.integers(0, (last - first).days)))


@st.composite
def _versioned(draw: st.DrawFn, plan: dict[str, Any]) -> dict[str, Any]:
    """``plan`` with some fees and prices turned into dated versions (and maybe a matrix)."""
    fees = []
    for item in plan["fees"]:
        fee = item
        if draw(st.booleans()):
            # the first version may start after January: billing January must then fail alike
            first = draw(st.sampled_from([date(2022, 12, 1), date(2023, 1, 1), date(2023, 2, 10)]))
            later = draw(st.lists(st.integers(1, 200), max_size=2, unique=True))
            dates = [first, *sorted(first + timedelta(days=n) for n in later)]
            versions: list[dict[str, Any]] = [
                {"effective_from": d.isoformat(), "amount": f"{draw(st.integers(0, 999))}.{i}5"}
                for i, d in enumerate(dates)
            ]
            fee = {k: v for k, v in fee.items() if k != "amount"} | {"versions": versions}
        fees.append(fee)
    metered = []
    for drawn in plan["metered"]:
        charge = drawn
        if draw(st.integers(0, 4)) == 0:
            charge = {**charge, "price": MATRIX}
        elif draw(st.booleans()):
            change = _day(draw, date(2023, 1, 2), date(2023, 6, 30))
            unit = draw(st.sampled_from(["0.5", "0.0015"]))
            newer: dict[str, Any] = {"model": "per_unit", "unit_amount": unit}
            prices: list[dict[str, Any]] = [
                {"effective_from": "2023-01-01", "price": charge["price"]},
                {"effective_from": change.isoformat(), "price": newer},
            ]
            charge = {k: v for k, v in charge.items() if k != "price"} | {"versions": prices}
        metered.append(charge)
    return {**plan, "fees": fees, "metered": metered}


@st.composite
def _contracts(draw: st.DrawFn) -> Contract:
    currency = draw(currencies)
    documents = {"first": draw(_versioned(draw(plans("first", currency))))}
    phases = [{"start": "2023-01-01", "plan": "first"}]
    if draw(st.booleans()):
        documents["second"] = draw(_versioned(draw(plans("second", currency))))
        change = _day(draw, date(2023, 1, 2), date(2023, 5, 31))
        phases.append({"start": change.isoformat(), "plan": "second"})
    document: dict[str, Any] = {
        "customer": "cus_fast",
        "billing": {
            "anchor": "2023-01-01",
            "timezone": draw(st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"])),
        },
        "plans": documents,
        "phases": phases,
        "payment_terms_days": draw(st.integers(0, 60)),
    }
    if draw(st.booleans()):
        document["ends"] = _day(draw, date(2023, 6, 1), date(2023, 7, 31)).isoformat()
    return Contract.model_validate(document)


@st.composite
def _billed(draw: st.DrawFn) -> tuple[Contract, TableUsage]:
    contract = draw(_contracts())
    cells: dict[UsageKey, Decimal] = {}
    amounts = st.decimals(min_value=0, max_value=50_000, places=2)
    for index in PERIODS:
        for segment in contract.segments(contract.period(index)):
            span = Period(segment.start, segment.end)
            for meter in METERS:
                for group in draw(st.lists(st.sampled_from(GROUPS), max_size=3, unique=True)):
                    cells[UsageKey(contract.customer, meter, span, group)] = draw(amounts)
    return contract, TableUsage(cells)


def _outcome(bill: Any, contract: Contract, usage: Any, index: int) -> Invoice | str:
    try:
        made: Invoice = bill(contract, usage, contract.period(index))
    except MeterlibError as error:
        return f"{type(error).__name__}: {error}"
    return made


@settings(max_examples=150, deadline=None)
@given(_billed())
def test_the_engine_builds_what_the_reference_engine_built(case) -> None:
    contract, usage = case
    for _ in range(2):  # the second time from the kept terms and periods
        for index in PERIODS:
            expected = _outcome(reference.invoice, contract, usage, index)
            found = _outcome(invoice, contract, usage, index)
            if isinstance(expected, str):
                assert found == expected
                continue
            assert isinstance(found, Invoice)
            assert type(found) is Invoice
            assert all(type(line) is type(expected.lines[0]) for line in found.lines)
            assert found == expected
            assert invoice_to_json(found) == invoice_to_json(expected)
            found.check()


@settings(max_examples=50, deadline=None)
@given(_contracts(), st.decimals(min_value=0, max_value=10_000, places=3))
def test_a_plain_mapping_of_usage_is_billed_as_the_reference_engine_bills_it(
    contract, quantity
) -> None:
    usage = dict.fromkeys(METERS, quantity)
    expected = _outcome(reference.invoice, contract, usage, 0)
    found = _outcome(invoice, contract, usage, 0)
    assert found == expected
    mapping = MappingUsage({"calls": quantity}, period=contract.period(1))
    assert _outcome(invoice, contract, mapping, 1) == _outcome(
        reference.invoice, contract, mapping, 1
    )
