"""meterlib: exact, explainable usage-based billing arithmetic.

The names here are the public API; modules whose names start with an underscore are internal.
Optional engines (``meterlib.sql`` for DuckDB and SQL dialects) are imported from their own
packages so that ``import meterlib`` needs only the core dependencies.
"""

from __future__ import annotations

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
from meterlib.currency import CurrencyCode, minor_units
from meterlib.display import format_date_local, format_money, format_number
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
from meterlib.invoicing.notes import Note, NoteLine, credit_lines, with_corrections
from meterlib.ledger.backbilling import billed_periods, issue_statement
from meterlib.ledger.documents import DocumentStore, DocumentStoreError
from meterlib.ledger.recheck import CorrectionPolicy, recheck
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.events import EventError, UsageEvent
from meterlib.metering.meters import Aggregation, Meter, load_meters, parse_meters
from meterlib.metering.report import BatchReport
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.money import Money, allocate
from meterlib.periods import BillingCycle, Cadence, Period
from meterlib.pricing import (
    Charge,
    ChargeLine,
    FlatPrice,
    GraduatedPrice,
    PackagePrice,
    PercentagePrice,
    PerUnitPrice,
    Price,
    Tier,
    VolumePrice,
    load_price,
    parse_price,
    price_from_json,
    price_json_schema,
    price_to_json,
)
from meterlib.proration import Proration, ProrationBasis, prorate
from meterlib.rounding import RoundingMode, RoundingPolicy, round_amount
from meterlib.schedule import NotInForceError, in_force

__all__ = [
    "Accumulator",
    "Aggregation",
    "Amount",
    "BatchReport",
    "BilledPeriod",
    "BillingCycle",
    "Cadence",
    "Charge",
    "ChargeLine",
    "Contract",
    "CorrectionPolicy",
    "CurrencyCode",
    "CurrencyMismatchError",
    "DocumentError",
    "DocumentKind",
    "DocumentStatus",
    "DocumentStore",
    "DocumentStoreError",
    "EventError",
    "FlatPrice",
    "FloatNotAllowedError",
    "GraduatedPrice",
    "InterestPolicy",
    "InvalidValueError",
    "Invoice",
    "InvoiceAccount",
    "InvoicePayment",
    "IssuedDocument",
    "IssuedInvoice",
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
    "Plan",
    "Price",
    "PriceSchedule",
    "Proration",
    "ProrationBasis",
    "RatingError",
    "RoundingMode",
    "RoundingPolicy",
    "Statement",
    "Tier",
    "UnknownCurrencyError",
    "UsageEvent",
    "UsageKey",
    "UsageRecord",
    "UsageTable",
    "VolumePrice",
    "allocate",
    "billed_periods",
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
    "parse_meters",
    "parse_price",
    "price_from_json",
    "price_json_schema",
    "price_to_json",
    "prorate",
    "rebill",
    "recheck",
    "round_amount",
    "to_decimal",
    "with_corrections",
]
