"""meterlib: exact, explainable usage-based billing arithmetic.

The names here are the public API; modules whose names start with an underscore are internal.
Optional engines (``meterlib.sql`` for DuckDB and SQL dialects) are imported from their own
packages so that ``import meterlib`` needs only the core dependencies.
"""

from __future__ import annotations

from meterlib._numbers import Amount, NonNegativeAmount, to_decimal
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
from meterlib.metering.events import EventError, UsageEvent
from meterlib.metering.meters import Aggregation, Meter, load_meters, parse_meters
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
    "Aggregation",
    "Amount",
    "BillingCycle",
    "Cadence",
    "Charge",
    "ChargeLine",
    "CurrencyCode",
    "CurrencyMismatchError",
    "DocumentError",
    "EventError",
    "FlatPrice",
    "FloatNotAllowedError",
    "GraduatedPrice",
    "InvalidValueError",
    "Meter",
    "MeterlibError",
    "Money",
    "NaiveDatetimeError",
    "NonNegativeAmount",
    "NotInForceError",
    "PackagePrice",
    "PerUnitPrice",
    "PercentagePrice",
    "Period",
    "Price",
    "Proration",
    "ProrationBasis",
    "RatingError",
    "RoundingMode",
    "RoundingPolicy",
    "Tier",
    "UnknownCurrencyError",
    "UsageEvent",
    "VolumePrice",
    "allocate",
    "format_date_local",
    "format_money",
    "format_number",
    "in_force",
    "load_meters",
    "load_price",
    "minor_units",
    "parse_meters",
    "parse_price",
    "price_from_json",
    "price_json_schema",
    "price_to_json",
    "prorate",
    "round_amount",
    "to_decimal",
]
