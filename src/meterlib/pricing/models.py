"""Price models: what usage costs, as frozen pydantic models in one tagged union.

Eight models share the tag field ``model``:

- quantity prices (:mod:`meterlib.pricing.simple`, :mod:`meterlib.pricing.tiered`): ``flat``,
  ``per_unit``, ``package``, ``graduated`` and ``volume`` (tiers, optionally sold in blocks,
  with an ``overflow`` policy, or ``prorated`` for recurring units);
- ``percentage`` (:mod:`meterlib.pricing.percentage`): a share of each event's value, with free
  events and a free amount;
- ``capacity`` (:mod:`meterlib.pricing.capacity`): one amount, chosen by what fits;
- ``matrix`` (:mod:`meterlib.pricing.matrix`): usage priced by dimension values, cell by cell.

Every model carries a ``currency`` (``"USD"`` by default) and the modifiers ``discount``
(taken off the model's charge), ``minimum`` and ``maximum`` (applied in that order); quantity
prices also take ``included``, units given free before the model applies (``flat`` ignores
it). Tiers apply to what is left, so tier 1's flat amount is still charged when every unit was
included.

Prices are validated when built (rising tier bounds, no negative amounts, ``minimum`` not above
``maximum``, a currency CLDR knows, a field the model takes, ...); an invalid price cannot
exist. Rating never rounds: ``price.rate(quantity)`` returns an exact
:class:`~meterlib.pricing.charge.Charge` that explains itself, and rounding to minor units is
the caller's named step (``charge.rounded()``).

Amounts and quantities are ``Decimal``: models accept ``Decimal``, ``int`` or decimal strings,
refuse ``float``, and write amounts to JSON as strings so no digit is lost.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from meterlib.pricing._base import QuantityLike
from meterlib.pricing.capacity import CapacityPrice, CapacityTier
from meterlib.pricing.matrix import CellPrice, MatrixCell, MatrixPrice, UsageEntry
from meterlib.pricing.percentage import PercentagePrice
from meterlib.pricing.simple import FlatPrice, PackagePrice, PerUnitPrice
from meterlib.pricing.tiered import GraduatedPrice, Overflow, Tier, VolumePrice

__all__ = [
    "CapacityPrice",
    "CapacityTier",
    "CellPrice",
    "FlatPrice",
    "GraduatedPrice",
    "MatrixCell",
    "MatrixPrice",
    "Overflow",
    "PackagePrice",
    "PerUnitPrice",
    "PercentagePrice",
    "Price",
    "QuantityLike",
    "Tier",
    "UsageEntry",
    "VolumePrice",
]

#: Any price: the eight models in one union told apart by the ``model`` field.
Price = Annotated[
    FlatPrice
    | PerUnitPrice
    | PackagePrice
    | GraduatedPrice
    | VolumePrice
    | PercentagePrice
    | CapacityPrice
    | MatrixPrice,
    Field(discriminator="model"),
]
