"""The fast builders of invoice lines and invoices give what the constructors give."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from meterlib.invoicing.contracts import Party
from meterlib.invoicing.invoice import (
    DiscountLine,
    Invoice,
    InvoiceLine,
    LineKind,
    TaxLine,
    new_invoice,
    new_invoice_line,
)
from meterlib.invoicing.plans import TaxRounding, Timing
from meterlib.invoicing.refs import CorrectionRef
from meterlib.periods import Period
from meterlib.pricing import parse_price

D = Decimal
START = datetime(2024, 3, 1, tzinfo=UTC)
END = datetime(2024, 4, 1, tzinfo=UTC)


def _line_values(corrects: CorrectionRef | None) -> tuple[object, ...]:
    rating = parse_price({"model": "per_unit", "unit_amount": "0.25", "currency": "USD"}).rate(
        D("12")
    )
    return (
        LineKind.USAGE,
        "calls",
        "API calls",
        "pro",
        START,
        END,
        D("12"),
        "calls",
        D("0.25"),
        date(2024, 2, 1),
        Timing.ARREARS,
        (14, 31),
        rating,
        D("3.00"),
        D("3.00"),
        D("0.30"),
        corrects,
    )


@pytest.mark.parametrize("corrects", [None, CorrectionRef("cus_1-20240201", 0, "usage")])
def test_new_invoice_line_is_the_constructor_s_line(corrects) -> None:
    values = _line_values(corrects)
    built = new_invoice_line(*values)  # type: ignore[arg-type]
    made = InvoiceLine(*values)  # type: ignore[arg-type]
    assert type(built) is InvoiceLine
    assert built == made
    assert hash(built) == hash(made)
    for field in dataclasses.fields(InvoiceLine):
        assert getattr(built, field.name) is getattr(made, field.name)
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.amount = D(0)  # type: ignore[misc]
    # the default of the last field is the constructor's
    assert new_invoice_line(*values[:-1]) == InvoiceLine(*values[:-1])  # type: ignore[arg-type]


def test_new_invoice_is_the_constructor_s_invoice() -> None:
    line = InvoiceLine(*_line_values(None))  # type: ignore[arg-type]
    values = (
        "cus_1-20240301",
        "cus_1",
        "USD",
        "UTC",
        Period(START, END),
        date(2024, 4, 1),
        date(2024, 5, 1),
        Party(name="Customer"),
        Party(name="Seller", tax_id="DE1"),
        (line,),
        (DiscountLine("partner", "percentage", D("10"), None, "pro", D("0.30")),),
        (TaxLine("vat", D("19"), TaxRounding.PER_LINE, D("2.70"), D("0.51")),),
        D("3.00"),
        D("0.30"),
        D("0.51"),
        D("3.21"),
    )
    built = new_invoice(*values)
    made = Invoice(*values)
    assert type(built) is Invoice
    assert built == made
    for field in dataclasses.fields(Invoice):
        assert getattr(built, field.name) is getattr(made, field.name)
    built.check()
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.total = D(0)  # type: ignore[misc]


def test_the_terms_kept_for_a_plan_do_not_keep_the_plan_or_contract_alive() -> None:
    import gc  # noqa: PLC0415
    import weakref  # noqa: PLC0415

    from meterlib.invoicing import Contract, TableUsage, invoice  # noqa: PLC0415

    contract = Contract.model_validate(
        {
            "customer": "c",
            "billing": {"anchor": "2024-01-01"},
            "plans": {"p": {"currency": "USD", "fees": [{"name": "base", "amount": "5"}]}},
            "phases": [{"start": "2024-01-01", "plan": "p"}],
        }
    )
    first = invoice(contract, TableUsage({}), contract.period(0))
    assert invoice(contract, TableUsage({}), contract.period(0)) == first  # from kept terms
    plan = weakref.ref(contract.plans["p"])
    gone = weakref.ref(contract)
    del contract
    gc.collect()
    assert gone() is None
    assert plan() is None
