"""Pricing: price models, rating a quantity into an explained charge, and price documents.

>>> from decimal import Decimal
>>> price = parse_price({"model": "per_unit", "unit_amount": "0.0005"})
>>> charge = price.rate(30)
>>> charge.amount, charge.rounded()
(Decimal('0.0150'), Decimal('0.02'))
"""

from __future__ import annotations

from meterlib.pricing.charge import Charge, ChargeLine
from meterlib.pricing.documents import (
    load_price,
    parse_price,
    price_from_json,
    price_json_schema,
    price_to_json,
)
from meterlib.pricing.models import (
    FlatPrice,
    GraduatedPrice,
    PackagePrice,
    PercentagePrice,
    PerUnitPrice,
    Price,
    QuantityLike,
    Tier,
    VolumePrice,
)

__all__ = [
    "Charge",
    "ChargeLine",
    "FlatPrice",
    "GraduatedPrice",
    "PackagePrice",
    "PerUnitPrice",
    "PercentagePrice",
    "Price",
    "QuantityLike",
    "Tier",
    "VolumePrice",
    "load_price",
    "parse_price",
    "price_from_json",
    "price_json_schema",
    "price_to_json",
]
