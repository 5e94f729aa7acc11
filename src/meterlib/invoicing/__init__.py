"""Invoicing: plans, contracts, and invoices that add up to the cent.

>>> from datetime import date
>>> contract = parse_contract({
...     "customer": "cus_1",
...     "billing": {"anchor": "2023-01-01"},
...     "plans": {"api": {"currency": "USD", "fees": [{"name": "platform", "amount": "20"}],
...               "metered": [{"name": "calls", "meter": "calls",
...                            "price": {"model": "per_unit", "unit_amount": "0.001"}}]}},
...     "phases": [{"start": "2023-01-01", "plan": "api"}],
... })
>>> bill = invoice(contract, MappingUsage({"calls": 12345}, period=contract.period(2)),
...                date(2023, 3, 1))
>>> [str(line.rounded) for line in bill.lines], str(bill.total)
(['20.00', '12.35'], '32.35')

Modules: :mod:`~meterlib.invoicing.plans` (what a plan charges),
:mod:`~meterlib.invoicing.contracts` (which plan when), :mod:`~meterlib.invoicing.usage`
(where usage comes from), :mod:`~meterlib.invoicing.engine` (the arithmetic and its
conventions), :mod:`~meterlib.invoicing.invoice` (the result),
:mod:`~meterlib.invoicing.serialize` (exact JSON) and :mod:`~meterlib.invoicing.documents`
(contract files). Text, HTML and CSV for people are in :mod:`meterlib.render`.
"""

from __future__ import annotations

from meterlib.invoicing.contracts import Contract, Party, Phase, Segment
from meterlib.invoicing.documents import load_contract, parse_contract
from meterlib.invoicing.engine import invoice, invoice_number, resolve_period
from meterlib.invoicing.invoice import DiscountLine, Invoice, InvoiceLine, LineKind, TaxLine
from meterlib.invoicing.limits import LimitTerm, RateWindowTerm
from meterlib.invoicing.plans import (
    Discount,
    FeeVersion,
    FixedDiscount,
    MeteredCharge,
    MeteredPriceVersion,
    PercentageDiscount,
    Plan,
    RecurringFee,
    TaxRate,
    TaxRounding,
    Timing,
)
from meterlib.invoicing.serialize import (
    invoice_from_dict,
    invoice_from_json,
    invoice_to_dict,
    invoice_to_json,
)
from meterlib.invoicing.usage import (
    LedgerUsage,
    MappingUsage,
    TableUsage,
    UsageNotFoundError,
    UsageSource,
)

__all__ = [
    "Contract",
    "Discount",
    "DiscountLine",
    "FeeVersion",
    "FixedDiscount",
    "Invoice",
    "InvoiceLine",
    "LedgerUsage",
    "LimitTerm",
    "LineKind",
    "MappingUsage",
    "MeteredCharge",
    "MeteredPriceVersion",
    "Party",
    "PercentageDiscount",
    "Phase",
    "Plan",
    "RateWindowTerm",
    "RecurringFee",
    "Segment",
    "TableUsage",
    "TaxLine",
    "TaxRate",
    "TaxRounding",
    "Timing",
    "UsageNotFoundError",
    "UsageSource",
    "invoice",
    "invoice_from_dict",
    "invoice_from_json",
    "invoice_number",
    "invoice_to_dict",
    "invoice_to_json",
    "load_contract",
    "parse_contract",
    "resolve_period",
]
