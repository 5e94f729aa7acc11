"""meterlib: exact, explainable usage-based billing arithmetic.

The names here are the public API; modules whose names start with an underscore are internal.
Optional engines (``meterlib.sql`` for DuckDB and SQL dialects) are imported from their own
packages so that ``import meterlib`` needs only the core dependencies.

Every name is imported when first used (PEP 562), so ``import meterlib`` stays fast and a
command or a script pays only for the parts it touches: ``meterlib.Money`` imports
:mod:`meterlib.money`, ``meterlib.rebill`` the back-billing package.
"""

from __future__ import annotations

from importlib import import_module

# ``typing`` itself costs a noticeable part of a bare start-up; type checkers treat this name
# as true, the interpreter as false.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from meterlib._numbers import Amount, NonNegativeAmount, to_decimal
    from meterlib.backbill import (
        BilledPeriod,
        InterestPolicy,
        Payment,
        PriceSchedule,
        Statement,
        UsageRecord,
        load_case,
        rebill,
    )
    from meterlib.backbill.audit import audit, rebill_audit
    from meterlib.credits import (
        CreditLedger,
        Grant,
        Limit,
        LimitKind,
        RateWindow,
        Recurrence,
        UsageIndex,
        check,
    )
    from meterlib.currency import CurrencyCode, minor_units
    from meterlib.errors import (
        CurrencyMismatchError,
        DocumentError,
        FloatNotAllowedError,
        InvalidValueError,
        MeterlibError,
        NaiveDatetimeError,
        RatingError,
        UnknownCurrencyError,
    )
    from meterlib.invoicing import Contract, Invoice, Plan, invoice, load_contract
    from meterlib.invoicing.lifecycle import (
        DocumentKind,
        DocumentStatus,
        InvoiceAccount,
        InvoicePayment,
        IssuedDocument,
        IssuedInvoice,
        Numbering,
        NumberSeries,
    )
    from meterlib.invoicing.notes import Note, NoteLine, PeriodRef, credit_lines, with_corrections
    from meterlib.ledger import Ledger
    from meterlib.ledger.backbilling import IssuedStatement, billed_periods, issue_statement
    from meterlib.ledger.backends import open_ledger
    from meterlib.ledger.documents import DocumentStore, DocumentStoreError
    from meterlib.ledger.duck import DuckLedger
    from meterlib.ledger.recheck import CorrectionPolicy, recheck
    from meterlib.metering.accumulator import Accumulator
    from meterlib.metering.events import EventError, UsageEvent
    from meterlib.metering.meters import Aggregation, Meter, load_meters, parse_meters
    from meterlib.metering.report import BatchReport
    from meterlib.metering.table import UsageKey, UsageTable
    from meterlib.money import Money, allocate
    from meterlib.periods import BillingCycle, Cadence, Period
    from meterlib.pricing import (
        CapacityPrice,
        CapacityTier,
        Charge,
        ChargeLine,
        ChargePart,
        FlatPrice,
        GraduatedPrice,
        MatrixCell,
        MatrixPrice,
        PackagePrice,
        PercentagePrice,
        PeriodPart,
        PerUnitPrice,
        Price,
        ProratedEvent,
        Tier,
        VolumePrice,
        load_price,
        parse_price,
        price_from_dict,
        price_from_json,
        price_json_schema,
        price_to_dict,
        price_to_json,
        rate_input,
        rate_part,
        rate_parts,
    )
    from meterlib.proration import Proration, ProrationBasis, prorate
    from meterlib.render.format import format_date_local, format_money, format_number
    from meterlib.rounding import RoundingMode, round_amount
    from meterlib.schedule import NotInForceError, in_force

    __version__: str
    """The installed version, from the package metadata (``meterlib --version`` prints it)."""

#: Where each public name lives: imported from there on first use.
_EXPORTS: dict[str, str] = {
    "Accumulator": "meterlib.metering.accumulator",
    "Aggregation": "meterlib.metering.meters",
    "Amount": "meterlib._numbers",
    "BatchReport": "meterlib.metering.report",
    "BilledPeriod": "meterlib.backbill",
    "BillingCycle": "meterlib.periods",
    "Cadence": "meterlib.periods",
    "CapacityPrice": "meterlib.pricing",
    "CapacityTier": "meterlib.pricing",
    "Charge": "meterlib.pricing",
    "ChargeLine": "meterlib.pricing",
    "ChargePart": "meterlib.pricing",
    "Contract": "meterlib.invoicing",
    "CorrectionPolicy": "meterlib.ledger.recheck",
    "CreditLedger": "meterlib.credits",
    "CurrencyCode": "meterlib.currency",
    "CurrencyMismatchError": "meterlib.errors",
    "DocumentError": "meterlib.errors",
    "DocumentKind": "meterlib.invoicing.lifecycle",
    "DocumentStatus": "meterlib.invoicing.lifecycle",
    "DocumentStore": "meterlib.ledger.documents",
    "DocumentStoreError": "meterlib.ledger.documents",
    "DuckLedger": "meterlib.ledger.duck",
    "EventError": "meterlib.metering.events",
    "FlatPrice": "meterlib.pricing",
    "FloatNotAllowedError": "meterlib.errors",
    "GraduatedPrice": "meterlib.pricing",
    "Grant": "meterlib.credits",
    "InterestPolicy": "meterlib.backbill",
    "InvalidValueError": "meterlib.errors",
    "Invoice": "meterlib.invoicing",
    "InvoiceAccount": "meterlib.invoicing.lifecycle",
    "InvoicePayment": "meterlib.invoicing.lifecycle",
    "IssuedDocument": "meterlib.invoicing.lifecycle",
    "IssuedInvoice": "meterlib.invoicing.lifecycle",
    "IssuedStatement": "meterlib.ledger.backbilling",
    "Ledger": "meterlib.ledger",
    "Limit": "meterlib.credits",
    "LimitKind": "meterlib.credits",
    "MatrixCell": "meterlib.pricing",
    "MatrixPrice": "meterlib.pricing",
    "Meter": "meterlib.metering.meters",
    "MeterlibError": "meterlib.errors",
    "Money": "meterlib.money",
    "NaiveDatetimeError": "meterlib.errors",
    "NonNegativeAmount": "meterlib._numbers",
    "NotInForceError": "meterlib.schedule",
    "Note": "meterlib.invoicing.notes",
    "NoteLine": "meterlib.invoicing.notes",
    "NumberSeries": "meterlib.invoicing.lifecycle",
    "Numbering": "meterlib.invoicing.lifecycle",
    "PackagePrice": "meterlib.pricing",
    "Payment": "meterlib.backbill",
    "PerUnitPrice": "meterlib.pricing",
    "PercentagePrice": "meterlib.pricing",
    "Period": "meterlib.periods",
    "PeriodPart": "meterlib.pricing",
    "PeriodRef": "meterlib.invoicing.notes",
    "Plan": "meterlib.invoicing",
    "Price": "meterlib.pricing",
    "PriceSchedule": "meterlib.backbill",
    "ProratedEvent": "meterlib.pricing",
    "Proration": "meterlib.proration",
    "ProrationBasis": "meterlib.proration",
    "RateWindow": "meterlib.credits",
    "RatingError": "meterlib.errors",
    "Recurrence": "meterlib.credits",
    "RoundingMode": "meterlib.rounding",
    "Statement": "meterlib.backbill",
    "Tier": "meterlib.pricing",
    "UnknownCurrencyError": "meterlib.errors",
    "UsageEvent": "meterlib.metering.events",
    "UsageIndex": "meterlib.credits",
    "UsageKey": "meterlib.metering.table",
    "UsageRecord": "meterlib.backbill",
    "UsageTable": "meterlib.metering.table",
    "VolumePrice": "meterlib.pricing",
    "allocate": "meterlib.money",
    "audit": "meterlib.backbill.audit",
    "billed_periods": "meterlib.ledger.backbilling",
    "check": "meterlib.credits",
    "credit_lines": "meterlib.invoicing.notes",
    "format_date_local": "meterlib.render.format",
    "format_money": "meterlib.render.format",
    "format_number": "meterlib.render.format",
    "in_force": "meterlib.schedule",
    "invoice": "meterlib.invoicing",
    "issue_statement": "meterlib.ledger.backbilling",
    "load_case": "meterlib.backbill",
    "load_contract": "meterlib.invoicing",
    "load_meters": "meterlib.metering.meters",
    "load_price": "meterlib.pricing",
    "minor_units": "meterlib.currency",
    "open_ledger": "meterlib.ledger.backends",
    "parse_meters": "meterlib.metering.meters",
    "parse_price": "meterlib.pricing",
    "price_from_dict": "meterlib.pricing",
    "price_from_json": "meterlib.pricing",
    "price_json_schema": "meterlib.pricing",
    "price_to_dict": "meterlib.pricing",
    "price_to_json": "meterlib.pricing",
    "prorate": "meterlib.proration",
    "rate_input": "meterlib.pricing",
    "rate_part": "meterlib.pricing",
    "rate_parts": "meterlib.pricing",
    "rebill": "meterlib.backbill",
    "rebill_audit": "meterlib.backbill.audit",
    "recheck": "meterlib.ledger.recheck",
    "round_amount": "meterlib.rounding",
    "to_decimal": "meterlib._numbers",
    "with_corrections": "meterlib.invoicing.notes",
}

__all__ = [
    "Accumulator",
    "Aggregation",
    "Amount",
    "BatchReport",
    "BilledPeriod",
    "BillingCycle",
    "Cadence",
    "CapacityPrice",
    "CapacityTier",
    "Charge",
    "ChargeLine",
    "ChargePart",
    "Contract",
    "CorrectionPolicy",
    "CreditLedger",
    "CurrencyCode",
    "CurrencyMismatchError",
    "DocumentError",
    "DocumentKind",
    "DocumentStatus",
    "DocumentStore",
    "DocumentStoreError",
    "DuckLedger",
    "EventError",
    "FlatPrice",
    "FloatNotAllowedError",
    "GraduatedPrice",
    "Grant",
    "InterestPolicy",
    "InvalidValueError",
    "Invoice",
    "InvoiceAccount",
    "InvoicePayment",
    "IssuedDocument",
    "IssuedInvoice",
    "IssuedStatement",
    "Ledger",
    "Limit",
    "LimitKind",
    "MatrixCell",
    "MatrixPrice",
    "Meter",
    "MeterlibError",
    "Money",
    "NaiveDatetimeError",
    "NonNegativeAmount",
    "NotInForceError",
    "Note",
    "NoteLine",
    "NumberSeries",
    "Numbering",
    "PackagePrice",
    "Payment",
    "PerUnitPrice",
    "PercentagePrice",
    "Period",
    "PeriodPart",
    "PeriodRef",
    "Plan",
    "Price",
    "PriceSchedule",
    "ProratedEvent",
    "Proration",
    "ProrationBasis",
    "RateWindow",
    "RatingError",
    "Recurrence",
    "RoundingMode",
    "Statement",
    "Tier",
    "UnknownCurrencyError",
    "UsageEvent",
    "UsageIndex",
    "UsageKey",
    "UsageRecord",
    "UsageTable",
    "VolumePrice",
    "allocate",
    "audit",
    "billed_periods",
    "check",
    "credit_lines",
    "format_date_local",
    "format_money",
    "format_number",
    "in_force",
    "invoice",
    "issue_statement",
    "load_case",
    "load_contract",
    "load_meters",
    "load_price",
    "minor_units",
    "open_ledger",
    "parse_meters",
    "parse_price",
    "price_from_dict",
    "price_from_json",
    "price_json_schema",
    "price_to_dict",
    "price_to_json",
    "prorate",
    "rate_input",
    "rate_part",
    "rate_parts",
    "rebill",
    "rebill_audit",
    "recheck",
    "round_amount",
    "to_decimal",
    "with_corrections",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use, then keep it in this namespace."""
    if name == "__version__":
        from importlib import metadata  # noqa: PLC0415  (costs start-up; only when asked)

        try:
            value: Any = metadata.version("meterlib")
        except metadata.PackageNotFoundError:  # pragma: no cover  (a tree never installed)
            value = "0+unknown"
    else:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'meterlib' has no attribute {name!r}")
        value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names, for ``dir(meterlib)`` and completion in notebooks."""
    return sorted({*globals(), *__all__})
