"""Periods billed in parts (progressive billing, threshold invoices, split lines).

A period may be billed before it ends: at a usage threshold, or at each of several dates. Each
part bills the charge on the period's usage so far (cumulative, from the period's start), minus
what earlier parts billed:

- a part that does not end the period (``final=False``) is rated without the price's
  ``minimum`` (nor a matrix cell's): the minimum waits for the final part. ``maximum``,
  ``discount``, ``included``, ``min_per_event`` and ``max_per_event`` apply to every part, on the
  cumulative usage;
- what was billed is given as one figure (``billed``), or as the cumulative usage at which the
  period was last billed (``billed_usage``): the earlier parts then billed the price's charge on
  it, rated as a part that is not final;
- ``amount`` is the exact charge minus what was billed; ``rounded`` is the charge rounded to
  minor units minus what was billed (rounded the same way), so rounding is done on cumulative
  figures and each part corrects what earlier rounding left (at 0.001 a unit, 333 units bill
  0.33 and 666 units then bill 0.67 - 0.33 = 0.34);
- a part may be negative: a credit, when usage falls or a volume price reprices the period.

This is how OpenMeter rates split lines and its delta engine, how Kill Bill bills against items
already invoiced for a period, and how Orb's threshold invoices subtract what was invoiced
before. Kill Bill refuses a negative part; meterlib gives it, as OpenMeter's delta engine does.
OpenMeter's split-line engine bills a volume price only on the period's last line; meterlib bills
volume in parts like the delta engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.pricing.capacity import CapacityPrice
from meterlib.pricing.charge import Charge, plain
from meterlib.pricing.matrix import MatrixPrice
from meterlib.pricing.models import Price, QuantityLike
from meterlib.pricing.percentage import PercentagePrice
from meterlib.pricing.tiered import GraduatedPrice, VolumePrice
from meterlib.rounding import RoundingMode

__all__ = ["PeriodPart", "RatingInput", "rate_input", "rate_part", "rate_parts"]

_ZERO = Decimal(0)

#: What a price rates, as its model says: a quantity; event values (``percentage``); prorated
#: events (prorated ``graduated``/``volume``); dimension -> quantity (``capacity``); or usage
#: entries ``(values, quantity)`` (``matrix``).
RatingInput = QuantityLike | Iterable[Any] | Mapping[str, QuantityLike]


def rate_input(price: Price, usage: RatingInput, *, final: bool = True) -> Charge:
    """Rate ``usage`` with ``price`` through the method its model takes (see :data:`RatingInput`).

    ``final=False`` rates a part that does not end the period: ``minimum`` does not apply.
    """
    if isinstance(price, MatrixPrice):
        return price.rate_usage(_entries(usage, "usage"), final=final)
    if isinstance(price, CapacityPrice) and isinstance(usage, Mapping):
        return price.rate_quantities(usage, final=final)
    if (isinstance(price, PercentagePrice) and _is_sequence(usage)) or (
        isinstance(price, GraduatedPrice | VolumePrice) and price.prorated
    ):
        return price.rate_events(_entries(usage, "events"), final=final)
    return price.rate(_single(usage), final=final)


def _is_sequence(value: object) -> bool:
    return isinstance(value, Iterable) and not isinstance(value, str | bytes | Mapping)


def _entries(usage: RatingInput, what: str) -> Iterable[Any]:
    if not _is_sequence(usage):
        raise InvalidValueError(what, usage, "a list (this price rates a list of entries)")
    return usage  # type: ignore[return-value]  # checked just above


def _single(usage: RatingInput) -> QuantityLike:
    if isinstance(usage, Decimal | int | str) and not isinstance(usage, bool):
        return usage
    raise InvalidValueError("quantity", usage, "one quantity (this price rates a quantity)")


@dataclass(frozen=True, slots=True)
class PeriodPart:
    """One part of a period billed in parts: the cumulative charge and what this part bills."""

    charge: Charge
    """The charge on the period's usage from its start to the end of this part."""
    final: bool
    """Whether this part ends the period (only then does ``minimum`` apply)."""
    billed: Decimal
    """What earlier parts billed, exactly."""
    billed_rounded: Decimal
    """What earlier parts billed, in rounded figures."""
    amount: Decimal
    """The part's exact amount: ``charge.amount - billed``."""
    rounded: Decimal
    """The part's amount in minor units: ``charge.rounded() - billed_rounded``."""

    def explain(self, mode: RoundingMode = RoundingMode.HALF_UP) -> str:
        """Return the cumulative charge's breakdown, then what was billed and this part."""
        kind = "final part" if self.final else "part (not final: no minimum)"
        rows = [
            f"{kind} of a period billed in parts",
            self.charge.explain(mode),
            f"billed before {plain(self.billed)} (rounded {plain(self.billed_rounded)})",
            (
                f"this part {plain(self.amount)} {self.charge.currency},"
                f" rounded {plain(self.rounded)}"
            ),
        ]
        return "\n".join(rows)


def rate_part(
    price: Price,
    usage: RatingInput,
    *,
    billed: QuantityLike | None = None,
    billed_usage: RatingInput | None = None,
    final: bool = False,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> PeriodPart:
    """Rate one part of a period: the charge on cumulative ``usage`` minus what was billed.

    Give what earlier parts billed as ``billed`` (one figure) or as ``billed_usage`` (the
    cumulative usage at the last billing, rated as a part that is not final), not both; with
    neither, nothing was billed. Raises :class:`~meterlib.errors.InvalidValueError` when both
    are given.
    """
    if billed is not None and billed_usage is not None:
        raise InvalidValueError(
            "billed_usage",
            billed_usage,
            "left out when 'billed' is given (give one of them)",
        )
    charge = rate_input(price, usage, final=final)
    if billed_usage is not None:
        before = rate_input(price, billed_usage, final=False)
        exact, rounded = before.amount, before.rounded(mode)
    else:
        exact = rounded = _ZERO if billed is None else to_decimal(billed, "billed")
    return PeriodPart(
        charge,
        final,
        exact,
        rounded,
        EXACT.subtract(charge.amount, exact),
        EXACT.subtract(charge.rounded(mode), rounded),
    )


def rate_parts(
    price: Price,
    cumulative: Sequence[RatingInput],
    *,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> list[PeriodPart]:
    """Bill a period in parts, one per cumulative usage given; the last part is final.

    Each part after the first is billed against the usage of the part before it, so the parts'
    amounts add up to one final rating of the whole period, exactly and in rounded figures.
    """
    parts: list[PeriodPart] = []
    last = len(cumulative) - 1
    for index, usage in enumerate(cumulative):
        earlier = cumulative[index - 1] if index else None
        parts.append(
            rate_part(price, usage, billed_usage=earlier, final=index == last, mode=mode),
        )
    return parts
