"""What a past period is re-billed with: the :class:`RebillBasis` protocol and price schedules.

A rebill basis turns one period's usage into what it should have cost, with the breakdown and
the version of the terms that priced it. The user chooses the basis: the contract's own overage
terms, or another price list (the published price of the tier the usage really needed). Both
are dated schedules of prices, so both are a :class:`PriceSchedule`; a basis built on plans and
contracts (invoicing) implements the same protocol.

**Allowance.** The statement shows each period's allowance: the usage the terms cover before any
unit costs extra. For a price it is (:func:`allowance_of`):

- ``included`` units, plus,
- for a graduated or volume price whose tier 1 has a zero unit price and a bound, tier 1's
  ``up_to`` (a base fee in tier 1's flat amount buys those units);
- none at all for a flat price (it covers any usage) or a percentage price (it prices value,
  not units).

A version, or the whole case, may state the contractual allowance instead; that wins.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Protocol, runtime_checkable

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.periods import Period
from meterlib.pricing import (
    CapacityPrice,
    ChargeLine,
    FlatPrice,
    GraduatedPrice,
    MatrixPrice,
    PercentagePrice,
    Price,
    VolumePrice,
)
from meterlib.rounding import RoundingMode, round_amount
from meterlib.schedule import NotInForceError, check_schedule, in_force

__all__ = [
    "DateSpan",
    "PriceSchedule",
    "PriceVersion",
    "RatedPeriod",
    "RebillBasis",
    "SplitsPeriods",
    "allowance_of",
]


@dataclass(frozen=True, slots=True)
class DateSpan:
    """Calendar days ``[start, end)``: a billing period as back-billing sees it (dates in UTC)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        """Refuse anything but dates, and empty or reversed spans."""
        if type(self.start) is not date:
            raise InvalidValueError("start", self.start, "a date")
        if type(self.end) is not date:
            raise InvalidValueError("end", self.end, "a date")
        if self.end <= self.start:
            raise InvalidValueError("end", self.end, f"after start {self.start.isoformat()}")

    @property
    def label(self) -> str:
        """``2023-03`` for a calendar month, else ``2023-03-15..2023-04-15``."""
        s, e = self.start, self.end
        if s.day == 1 and e.day == 1 and (e.year * 12 + e.month) - (s.year * 12 + s.month) == 1:
            return f"{s.year:04d}-{s.month:02d}"
        return f"{s.isoformat()}..{e.isoformat()}"

    def to_period(self) -> Period:
        """The same span as a core :class:`~meterlib.periods.Period` (midnight UTC bounds)."""
        return Period(
            datetime.combine(self.start, time(0), UTC), datetime.combine(self.end, time(0), UTC)
        )


@dataclass(frozen=True, slots=True)
class RatedPeriod:
    """What one period's usage should have cost under a basis."""

    amount: Decimal
    """The exact charge, before rounding."""
    rounded: Decimal
    """The charge rounded to minor units: what would have been invoiced."""
    lines: tuple[ChargeLine, ...]
    """The breakdown (one line per tier touched, or per invoice line for plan-based bases)."""
    version: str
    """Label of the version of the terms that priced the period."""
    allowance: Decimal | None
    """Usage those terms cover before any unit costs extra; ``None`` when they state none."""


@runtime_checkable
class RebillBasis(Protocol):
    """Anything that can say what a past period should have cost.

    ``rate`` must be a pure function of the period and the usage: the statement relies on it
    to be independent of the order periods are given in.
    """

    @property
    def currency(self) -> str:
        """ISO 4217 code of every amount the basis produces."""
        ...

    def rate(self, period: DateSpan, usage: Decimal) -> RatedPeriod:
        """Price ``usage`` for ``period`` with the terms in force at the period's start."""
        ...


@runtime_checkable
class SplitsPeriods(Protocol):
    """A basis whose terms may change inside a period: the engine splits the period there."""

    def change_dates(self, period: DateSpan) -> tuple[date, ...]:
        """The days inside ``period`` (after its first) on which other terms take effect."""
        ...


def allowance_of(price: Price) -> Decimal | None:
    """The usage ``price`` covers before a unit costs extra (see the module docstring)."""
    if isinstance(price, FlatPrice | PercentagePrice | CapacityPrice | MatrixPrice):
        return None  # no included units: flat ignores them, the others take none
    included = price.included
    if isinstance(price, GraduatedPrice | VolumePrice):
        first = price.tiers[0]
        if first.up_to is not None and not first.unit_amount:
            return EXACT.add(included, first.up_to)
    return included


@dataclass(frozen=True, slots=True, init=False)
class PriceVersion:
    """A price in force from ``effective_from``; ``label`` names it on every statement line."""

    effective_from: date
    price: Price
    label: str
    allowance: Decimal | None
    """The contractual allowance while this version is in force, when it is not the price's."""

    def __init__(
        self,
        effective_from: date,
        price: Price,
        label: str = "",
        allowance: Decimal | int | str | None = None,
    ) -> None:
        """Default the label to the date, pass an explicit allowance through the funnel."""
        if type(effective_from) is not date:
            raise InvalidValueError("effective_from", effective_from, "a date")
        stated = None
        if allowance is not None:
            stated = to_decimal(allowance, "allowance")
            if stated < 0:
                raise InvalidValueError("allowance", allowance, ">= 0")
        object.__setattr__(self, "effective_from", effective_from)
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "label", label or f"from {effective_from.isoformat()}")
        object.__setattr__(self, "allowance", stated)


@dataclass(frozen=True, slots=True, init=False)
class PriceSchedule:
    """A :class:`RebillBasis` made of dated prices: the price in force at a period's start rates it.

    Every price must be in the schedule's currency; rounding to minor units uses ``mode`` once on
    each period's total, as an invoice would have.
    """

    versions: tuple[PriceVersion, ...]
    currency: str
    mode: RoundingMode
    _allowances: dict[int, Decimal | None] = field(repr=False, compare=False)
    _starts: list[date] = field(repr=False, compare=False)

    def __init__(
        self,
        versions: Iterable[PriceVersion],
        *,
        mode: RoundingMode = RoundingMode.HALF_UP,
    ) -> None:
        """Check dates rise strictly and every price shares one currency."""
        ordered = tuple(versions)
        check_schedule(ordered, "schedule")
        currency = ordered[0].price.currency
        for index, version in enumerate(ordered):
            if version.price.currency != currency:
                raise InvalidValueError(
                    f"schedule[{index}].price.currency",
                    version.price.currency,
                    f"{currency!r}, the currency of the schedule's first price",
                )
        object.__setattr__(self, "versions", ordered)
        object.__setattr__(self, "_starts", [v.effective_from for v in ordered])
        object.__setattr__(self, "currency", currency)
        object.__setattr__(self, "mode", RoundingMode(mode))
        object.__setattr__(
            self,
            "_allowances",
            {
                id(v): v.allowance if v.allowance is not None else allowance_of(v.price)
                for v in ordered
            },
        )

    @classmethod
    def single(cls, price: Price, label: str = "price") -> PriceSchedule:
        """A schedule of one price, in force on every day."""
        return cls([PriceVersion(date.min, price, label)])

    def version_on(self, day: date) -> PriceVersion:
        """The version in force on ``day``; raises NotInForceError before the first."""
        return in_force(self.versions, day, "rebill price")

    def change_dates(self, period: DateSpan) -> tuple[date, ...]:
        """The days inside ``period`` (after its first) on which another version takes effect."""
        return tuple(day for day in self._starts if period.start < day < period.end)

    def rate(self, period: DateSpan, usage: Decimal) -> RatedPeriod:
        """Rate ``usage`` with the price in force on the period's first day."""
        index = bisect_right(self._starts, period.start)
        if index == 0:
            raise NotInForceError("rebill price", period.start, self._starts[0])
        version = self.versions[index - 1]
        charge = version.price.rate(usage)
        return RatedPeriod(
            charge.amount,
            round_amount(charge.amount, self.currency, self.mode),
            charge.lines,
            version.label,
            self._allowances[id(version)],
        )
