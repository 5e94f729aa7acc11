"""The ``capacity`` price (Kill Bill's ``CAPACITY`` usage): one amount, chosen by what fits.

Each tier gives ``limits`` (dimension -> the most that dimension may reach, ``None`` for no
limit) and an ``amount``. The charge is the amount of the first tier in which every quantity is
at most its limit, whatever the quantities inside it. Every tier names the same dimensions, and
no limit falls from one tier to the next. A dimension left out of the quantities counts as
zero; when every quantity is zero the model's charge is zero. When no tier holds the
quantities, ``overflow="last_tier"`` charges the last tier's amount; the default refuses them.

Quantities are the period's figures as given (Kill Bill bills the peak): the price does not
aggregate. A capacity price takes no ``included``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, field_validator
from pydantic_core import PydanticCustomError

from meterlib._model import MeterlibModel
from meterlib._numbers import NonNegativeAmount
from meterlib.errors import InvalidValueError, RatingError
from meterlib.pricing._base import PriceBase, QuantityLike, quantity_of
from meterlib.pricing.charge import Charge, new_line, plain
from meterlib.pricing.tiered import Overflow

__all__ = ["CapacityPrice", "CapacityTier"]

_ZERO = Decimal(0)


class CapacityTier(MeterlibModel):
    """One capacity tier: the limit of each dimension, and the amount charged within them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    limits: dict[str, NonNegativeAmount | None]
    """Dimension -> the most it may reach in this tier (``None``: no limit)."""
    amount: NonNegativeAmount
    """The charge when every quantity fits this tier (and no earlier one)."""

    @field_validator("limits")
    @classmethod
    def _some_limit(
        cls,
        limits: dict[str, Decimal | None],
    ) -> dict[str, Decimal | None]:
        if not limits:
            raise PydanticCustomError(
                "limits_empty",
                "must name at least one dimension (got none)",
            )
        return limits

    def holds(self, quantities: Mapping[str, Decimal]) -> bool:
        """Tell whether every quantity is at most its limit in this tier."""
        limits = self.limits
        for dimension, quantity in quantities.items():
            limit = limits[dimension]
            if limit is not None and quantity > limit:
                return False
        return True

    def describe(self, number: int) -> str:
        """Describe the tier, such as ``"capacity tier 1: seats <= 10, storage <= 5"``."""
        parts = (
            f"{name} <= {plain(limit)}" if limit is not None else f"{name} unlimited"
            for name, limit in self.limits.items()
        )
        return f"capacity tier {number}: {', '.join(parts)}"


class CapacityPrice(PriceBase):
    """One amount, from the first tier whose limits every quantity fits (see the module)."""

    model: Literal["capacity"] = "capacity"
    tiers: tuple[CapacityTier, ...]
    """The tiers, in order; every tier names the same dimensions."""
    overflow: Overflow = "error"
    """Quantities no tier holds: ``error`` refuses them, ``last_tier`` charges the last tier."""

    @field_validator("tiers")
    @classmethod
    def _same_dimensions_rising(cls, tiers: tuple[CapacityTier, ...]) -> tuple[CapacityTier, ...]:
        if not tiers:
            raise PydanticCustomError("tiers_empty", "must hold at least one tier (got none)")
        names = set(tiers[0].limits)
        for number, tier in enumerate(tiers[1:], 2):
            if set(tier.limits) != names:
                raise PydanticCustomError(
                    "capacity_dimensions_differ",
                    "every tier must name the same dimensions as tier 1 ({first}), but tier"
                    " {number} names {these}",
                    {
                        "first": ", ".join(sorted(names)),
                        "number": number,
                        "these": ", ".join(sorted(tier.limits)),
                    },
                )
            previous = tiers[number - 2].limits
            for name, limit in tier.limits.items():
                before = previous[name]
                if before is None and limit is None:
                    continue
                if before is None or (limit is not None and limit < before):
                    raise PydanticCustomError(
                        "capacity_limit_falls",
                        "limits may not fall from one tier to the next, but {name} falls from"
                        " {before} in tier {previous} to {limit} in tier {number}",
                        {
                            "name": name,
                            "before": "no limit" if before is None else plain(before),
                            "previous": number - 1,
                            "limit": "no limit" if limit is None else plain(limit),
                            "number": number,
                        },
                    )
        return tiers

    def _quantities(self, quantities: Mapping[str, QuantityLike]) -> dict[str, Decimal]:
        known = self.tiers[0].limits
        read: dict[str, Decimal] = {}
        for name, value in quantities.items():
            if name not in known:
                raise InvalidValueError(
                    "quantities",
                    name,
                    f"a dimension the tiers name ({', '.join(sorted(known))})",
                )
            read[name] = quantity_of(value, f"quantities[{name!r}]")
        return read

    def rate_quantities(
        self,
        quantities: Mapping[str, QuantityLike],
        *,
        final: bool = True,
    ) -> Charge:
        """Charge the amount of the first tier that holds ``quantities`` (dimension -> figure).

        Raises :class:`~meterlib.errors.RatingError` when no tier holds them and ``overflow``
        is ``error``.
        """
        read = self._quantities(quantities)
        peak = max(read.values(), default=_ZERO)
        if not any(read.values()):
            line = new_line("no capacity used", None, None, None, _ZERO, _ZERO, _ZERO, _ZERO)
            return self._charge(peak, _ZERO, peak, (line,), _ZERO, final)
        tiers = self.tiers
        number = next((n for n, tier in enumerate(tiers, 1) if tier.holds(read)), 0)
        if not number:
            if self.overflow != "last_tier":
                shown = ", ".join(f"{name} {plain(value)}" for name, value in read.items())
                raise RatingError(
                    f"cannot rate capacity {shown}: no tier holds it (the last tier's limits"
                    " are exceeded; set overflow to 'last_tier' to charge the last tier)",
                )
            number = len(tiers)
        tier = tiers[number - 1]
        description = tier.describe(number)
        if not tier.holds(read):
            description = f"{description} (overflow)"
        line = new_line(description, number, None, None, _ZERO, _ZERO, tier.amount, tier.amount)
        return self._charge(peak, _ZERO, peak, (line,), tier.amount, final)

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Rate one quantity: allowed when the tiers name exactly one dimension."""
        names = list(self.tiers[0].limits)
        if len(names) != 1:
            raise RatingError(
                f"this capacity price has {len(names)} dimensions ({', '.join(names)}): rate"
                " them with rate_quantities({dimension: quantity})",
            )
        return self.rate_quantities({names[0]: quantity}, final=final)
