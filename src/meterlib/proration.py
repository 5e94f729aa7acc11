"""Proration: the part of a period's amount that a partial span of the period owes.

The share is ``active length / period length``, measured in whole calendar days (``days``, the
convention of Stripe's and Kill Bill's day-based proration) or in seconds. The result is an exact
fraction; rounding to minor units happens once, where the caller says, so prorated parts of a
split span add up exactly before rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

from meterlib.errors import InvalidValueError
from meterlib.money import Money
from meterlib.periods import Period, aware
from meterlib.rounding import RoundingMode, round_fraction

__all__ = ["Proration", "ProrationBasis", "prorate", "span_length"]


class ProrationBasis(StrEnum):
    """The unit in which spans are measured for proration."""

    DAYS = "days"
    SECONDS = "seconds"


Bound = date | datetime


def span_length(start: Bound, end: Bound, basis: ProrationBasis) -> int:
    """Length of ``[start, end)``: whole calendar days, or microseconds for ``seconds``.

    Dates count as midnight. For ``days``, datetimes count by their local calendar date. For
    ``seconds``, datetimes must be aware; the length is an exact integer of microseconds.
    """
    if basis is ProrationBasis.DAYS:
        return (_as_date(end) - _as_date(start)).days
    return (_as_instant(end, "end") - _as_instant(start, "start")) // timedelta(microseconds=1)


def _as_date(value: Bound) -> date:
    return value.date() if isinstance(value, datetime) else value


def _as_instant(value: Bound, field: str) -> datetime:
    if isinstance(value, datetime):
        return aware(value, field)
    raise InvalidValueError(field, value, "an aware datetime for proration by seconds")


@dataclass(frozen=True, slots=True)
class Proration:
    """A prorated amount: ``amount × active / total``, exact until :meth:`rounded`."""

    amount: Money
    basis: ProrationBasis
    active: int
    total: int

    @property
    def fraction(self) -> Fraction:
        """The share of the period that was active."""
        return Fraction(self.active, self.total)

    @property
    def exact(self) -> Fraction:
        """The exact prorated amount, as a fraction of the currency unit."""
        return Fraction(self.amount.amount) * self.fraction

    def rounded(self, mode: RoundingMode = RoundingMode.HALF_UP) -> Money:
        """The prorated amount rounded once to minor units."""
        return Money(round_fraction(self.exact, self.amount.currency, mode), self.amount.currency)


def prorate(
    amount: Money,
    period: Period | tuple[Bound, Bound],
    active: tuple[Bound, Bound],
    basis: ProrationBasis | str = ProrationBasis.DAYS,
) -> Proration:
    """Prorate ``amount`` (the whole period's charge) to the ``active`` part of ``period``."""
    basis = _basis(basis)
    p_start, p_end = (period.start, period.end) if isinstance(period, Period) else period
    a_start, a_end = active
    total = span_length(p_start, p_end, basis)
    used = span_length(a_start, a_end, basis)
    if total <= 0:
        raise InvalidValueError("period", (p_start, p_end), "a span of positive length")
    if used < 0:
        raise InvalidValueError("active", active, "a span whose end is not before its start")
    if span_length(p_start, a_start, basis) < 0 or span_length(a_end, p_end, basis) < 0:
        raise InvalidValueError("active", active, f"a span inside the period {p_start}..{p_end}")
    return Proration(amount=amount, basis=basis, active=used, total=total)


def _basis(value: ProrationBasis | str) -> ProrationBasis:
    try:
        return ProrationBasis(value)
    except ValueError:
        raise InvalidValueError("basis", value, "'days' or 'seconds'") from None
