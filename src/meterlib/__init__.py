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
from meterlib.rounding import RoundingMode, round_amount
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
    "CurrencyCode",
    "CurrencyMismatchError",
    "DocumentError",
    "EventError",
    "FlatPrice",
    "FloatNotAllowedError",
    "GraduatedPrice",
    "InterestPolicy",
    "InvalidValueError",
    "Invoice",
    "Meter",
    "MeterlibError",
    "Money",
    "NaiveDatetimeError",
    "NonNegativeAmount",
    "NotInForceError",
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
    "Statement",
    "Tier",
    "UnknownCurrencyError",
    "UsageEvent",
    "UsageKey",
    "UsageRecord",
    "UsageTable",
    "VolumePrice",
    "allocate",
    "format_date_local",
    "format_money",
    "format_number",
    "in_force",
    "invoice",
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
    "round_amount",
    "to_decimal",
]
