"""The untiered quantity prices: ``flat``, ``per_unit`` and ``package``.

Each takes one quantity; ``per_unit`` and ``package`` take ``included`` off it first (``flat``
ignores it). ``final=False`` rates a part of a period that is not its last: ``minimum`` waits
for the final part (see :mod:`meterlib.pricing.progressive`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import field_validator
from pydantic_core import PydanticCustomError

from meterlib._numbers import EXACT, NonNegativeAmount
from meterlib.pricing._base import QuantityLike, QuantityPrice, quantity_of
from meterlib.pricing.charge import Charge, new_line, plain

__all__ = ["FlatPrice", "PackagePrice", "PerUnitPrice"]

_ZERO = Decimal(0)

_add = EXACT.add
_multiply = EXACT.multiply
_divmod = EXACT.divmod


class FlatPrice(QuantityPrice):
    """The same charge whatever the quantity; ``included`` has no effect on it."""

    model: Literal["flat"] = "flat"
    amount: NonNegativeAmount
    """The charge for the period."""

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Charge ``amount`` for any non-negative ``quantity``."""
        units = quantity_of(quantity)
        line = new_line("flat amount", None, None, None, units, _ZERO, self.amount, self.amount)
        return self._charge(units, _ZERO, units, (line,), self.amount, final)


class PerUnitPrice(QuantityPrice):
    """``billable x unit_amount``."""

    model: Literal["per_unit"] = "per_unit"
    unit_amount: NonNegativeAmount
    """Price of one unit."""

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Charge every billable unit at ``unit_amount``."""
        units = quantity_of(quantity)
        included, billable = self._billable(units)
        unit_amount = self.unit_amount
        amount = _multiply(billable, unit_amount)
        line = new_line("per unit", None, None, None, billable, unit_amount, _ZERO, amount)
        return self._charge(units, included, billable, (line,), amount, final)


class PackagePrice(QuantityPrice):
    """Units sold in whole packages: ``packages x package_amount``.

    ``packages`` is ``billable / package_size`` rounded to a whole number: up (the default, a
    started package is paid in full) or down (only complete packages are paid).
    """

    model: Literal["package"] = "package"
    package_size: NonNegativeAmount
    """Units in one package; must be above zero."""
    package_amount: NonNegativeAmount
    """Price of one package."""
    round: Literal["up", "down"] = "up"
    """How a part package counts: ``up`` as a whole one, ``down`` as none."""

    @field_validator("package_size")
    @classmethod
    def _positive_size(cls, size: Decimal) -> Decimal:
        if not size:
            raise PydanticCustomError(
                "greater_than",
                "must be > 0 (got {value})",
                {"value": plain(size)},
            )
        return size

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Charge the whole packages the billable units fill (see the class docstring)."""
        units = quantity_of(quantity)
        included, billable = self._billable(units)
        packages, rest = _divmod(billable, self.package_size)
        if rest and self.round == "up":
            packages = _add(packages, 1)
        amount = _multiply(packages, self.package_amount)
        line = new_line(
            f"packages of {plain(self.package_size)}: {plain(billable)} units rounded {self.round}",
            None,
            None,
            None,
            packages,
            self.package_amount,
            _ZERO,
            amount,
        )
        return self._charge(units, included, billable, (line,), amount, final)
