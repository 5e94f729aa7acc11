"""Billing thresholds: invoices inside a period as soon as a threshold is crossed.

A :class:`Thresholds` names cumulative figures inside one period: ``amounts`` (the charge on
the period's usage so far, as Lago's progressive billing and Stripe's amount thresholds
watch) and ``usages`` (the usage so far, as Stripe's usage thresholds watch), each crossed at
most once, and an optional ``every`` amount that recurs after the last of ``amounts`` (Lago's
recurring threshold). :func:`threshold_invoices` walks the period's usage in time order and
issues a part as soon as a threshold is crossed: the charge on the cumulative usage minus what
earlier parts billed (:func:`meterlib.pricing.rate_part`, through the shared conformance
README's ``progressive`` kind: the price's ``minimum`` waits for the final part, ``maximum``
and rounding apply to cumulative figures). The period ends with a final part, so the parts
together equal one invoice for the whole period, exactly and in rounded figures.

A threshold on amounts compares the cumulative charge rated as a part that is not final
(without the minimum), rounded to minor units: the figure an invoice would show.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.periods import aware
from meterlib.pricing import PeriodPart, Price, rate_input, rate_part
from meterlib.rounding import RoundingMode

__all__ = ["ThresholdInvoice", "Thresholds", "threshold_invoices"]

_ZERO = Decimal(0)


def _figures(values: Iterable[Decimal | int | str], field: str) -> tuple[Decimal, ...]:
    found = tuple(to_decimal(v, field) for v in values)
    if any(v <= 0 for v in found) or list(found) != sorted(set(found)):
        raise InvalidValueError(field, found, "positive figures, strictly rising")
    return found


@dataclass(frozen=True, slots=True, init=False)
class Thresholds:
    """Cumulative thresholds inside a period (see the module docstring)."""

    amounts: tuple[Decimal, ...]
    usages: tuple[Decimal, ...]
    every: Decimal | None

    def __init__(
        self,
        amounts: Iterable[Decimal | int | str] = (),
        usages: Iterable[Decimal | int | str] = (),
        every: Decimal | int | str | None = None,
    ) -> None:
        """Check every figure is positive and each list strictly rising."""
        object.__setattr__(self, "amounts", _figures(amounts, "thresholds.amounts"))
        object.__setattr__(self, "usages", _figures(usages, "thresholds.usages"))
        step = None if every is None else to_decimal(every, "thresholds.every")
        if step is not None and step <= 0:
            raise InvalidValueError("thresholds.every", every, "> 0")
        object.__setattr__(self, "every", step)

    def next_amount(self, crossed: Decimal) -> Decimal | None:
        """The first amount threshold above ``crossed`` (the last one crossed, or 0)."""
        for value in self.amounts:
            if value > crossed:
                return value
        if self.every is None:
            return None
        base = self.amounts[-1] if self.amounts else _ZERO
        steps = (EXACT.subtract(crossed, base) // self.every) + 1 if crossed >= base else 1
        return EXACT.add(base, EXACT.multiply(self.every, steps))


@dataclass(frozen=True, slots=True)
class ThresholdInvoice:
    """One invoice of a period billed in parts: when, why, on what usage, and the part."""

    at: datetime | None
    """The instant of the event that crossed the threshold (``None`` for the period's end)."""
    reason: str
    usage: Decimal
    """The period's cumulative usage this part was rated on."""
    part: PeriodPart


def _by_instant(
    usage: Iterable[tuple[datetime, Decimal | int | str]],
) -> list[tuple[datetime, Decimal]]:
    """The usage summed per instant, in time order (events at one instant arrive together)."""
    summed: dict[datetime, Decimal] = {}
    for moment, raw in usage:
        quantity = to_decimal(raw, "quantity")
        if quantity < 0:
            raise InvalidValueError("quantity", raw, ">= 0")
        aware(moment, "usage instant")
        summed[moment] = EXACT.add(summed.get(moment, _ZERO), quantity)
    return sorted(summed.items())


def threshold_invoices(
    price: Price,
    usage: Iterable[tuple[datetime, Decimal | int | str]],
    thresholds: Thresholds,
    *,
    mode: RoundingMode = RoundingMode.HALF_UP,
) -> list[ThresholdInvoice]:
    """The invoices of one period: one per threshold crossing, then the final part.

    ``usage`` is the period's usage as ``(instant, quantity)`` in any order: it is summed per
    instant and walked in time order, so each part's instant is distinct. The price must rate a
    quantity.
    """
    invoices: list[ThresholdInvoice] = []
    total = _ZERO
    billed: Decimal | None = None
    next_usage = iter(thresholds.usages)
    usage_mark = next(next_usage, None)
    amount_mark = thresholds.next_amount(_ZERO)
    for moment, quantity in _by_instant(usage):
        total = EXACT.add(total, quantity)
        reasons: list[str] = []
        while usage_mark is not None and total >= usage_mark:
            reasons.append(f"usage {usage_mark}")
            usage_mark = next(next_usage, None)
        if amount_mark is not None:
            shown = rate_input(price, total, final=False).rounded(mode)
            while amount_mark is not None and shown >= amount_mark:
                reasons.append(f"amount {amount_mark}")
                amount_mark = thresholds.next_amount(amount_mark)
        if reasons:
            part = rate_part(price, total, billed_usage=billed, final=False, mode=mode)
            invoices.append(ThresholdInvoice(moment, ", ".join(reasons), total, part))
            billed = total
    final = rate_part(price, total, billed_usage=billed, final=True, mode=mode)
    invoices.append(ThresholdInvoice(None, "period end", total, final))
    return invoices
