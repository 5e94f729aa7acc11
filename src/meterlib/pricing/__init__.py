"""Pricing: price models, rating usage into an explained charge, price documents, parts.

>>> from decimal import Decimal
>>> price = parse_price({"model": "per_unit", "unit_amount": "0.0005"})
>>> charge = price.rate(30)
>>> charge.amount, charge.rounded()
(Decimal('0.0150'), Decimal('0.02'))
"""

from __future__ import annotations

from meterlib.pricing._prorated import ProratedEvent, ProratedEventLike
from meterlib.pricing.charge import Charge, ChargeLine, ChargePart
from meterlib.pricing.documents import (
    load_price,
    parse_price,
    price_from_dict,
    price_from_json,
    price_json_schema,
    price_to_dict,
    price_to_json,
)
from meterlib.pricing.models import (
    CapacityPrice,
    CapacityTier,
    CellPrice,
    FlatPrice,
    GraduatedPrice,
    MatrixCell,
    MatrixPrice,
    Overflow,
    PackagePrice,
    PercentagePrice,
    PerUnitPrice,
    Price,
    QuantityLike,
    Tier,
    UsageEntry,
    VolumePrice,
)
from meterlib.pricing.progressive import PeriodPart, RatingInput, rate_input, rate_part, rate_parts

__all__ = [
    "CapacityPrice",
    "CapacityTier",
    "CellPrice",
    "Charge",
    "ChargeLine",
    "ChargePart",
    "FlatPrice",
    "GraduatedPrice",
    "MatrixCell",
    "MatrixPrice",
    "Overflow",
    "PackagePrice",
    "PerUnitPrice",
    "PercentagePrice",
    "PeriodPart",
    "Price",
    "ProratedEvent",
    "ProratedEventLike",
    "QuantityLike",
    "RatingInput",
    "Tier",
    "UsageEntry",
    "VolumePrice",
    "load_price",
    "parse_price",
    "price_from_dict",
    "price_from_json",
    "price_json_schema",
    "price_to_dict",
    "price_to_json",
    "rate_input",
    "rate_part",
    "rate_parts",
]
