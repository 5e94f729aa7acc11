"""Entitlements: a meter's limit per usage period (soft or hard), rate windows, and ``check``.

A :class:`Limit` allows ``amount`` of a meter per usage period of ``cycle`` (the period resets
at each period start, like OpenMeter's metered entitlements and their ``usagePeriod``). A
``soft`` limit lets usage continue and the usage above it is billed as overage; a ``hard``
limit makes usage above it a breach and :func:`check` answers ``allowed=False`` once it is
reached. A :class:`RateWindow` allows at most ``max_events`` events of a meter in any sliding
window of ``window`` (e.g. 100 per 15 minutes); it is always hard.

:class:`UsageIndex` holds, per customer and meter, the event instants in order with running
sums of the metered quantity, so the usage in any span is two binary searches: it is built
once from events (an accumulator's input, or the ledger through
:func:`meterlib.ledger.credits.usage_index`) and then answers :func:`check` per request.
Only ``sum`` and ``count`` meters have running sums; other aggregations are refused.

:func:`check` also answers from an :class:`~meterlib.metering.accumulator.Accumulator` built on
the limit's cycle: an accumulator keeps one figure per period, not event instants, so its
"usage so far" is everything it has counted in the period of ``at`` (feed it events as they
arrive and check at the present moment: then the answer equals the ledger's), and it cannot
answer a rate window (refused). Each such check reads the accumulator's usage table (a pass
over its cells); for per-request speed keep a :class:`UsageIndex`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.metering._buckets import micros
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.reading import MeterReader, read_event
from meterlib.periods import BillingCycle, Period, aware

__all__ = ["Check", "Limit", "LimitKind", "RateWindow", "Series", "UsageIndex", "check"]

_ZERO = Decimal(0)


class LimitKind(StrEnum):
    """What usage above a limit is."""

    SOFT = "soft"
    """Billed as overage; access continues."""
    HARD = "hard"
    """A breach; access is refused once the limit is reached."""


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``amount`` of ``meter`` per period of ``cycle`` (see the module docstring)."""

    meter: str
    amount: Decimal
    cycle: BillingCycle
    kind: LimitKind = LimitKind.HARD
    _found: dict[int, tuple[int, int, Period]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _starts: list[int] = field(default_factory=list, init=False, repr=False, compare=False)
    _refusal: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Pass the amount through the funnel (>= 0) and the kind through its enum."""
        value = to_decimal(self.amount, "limit.amount")
        if value < 0:
            raise InvalidValueError("limit.amount", self.amount, ">= 0")
        object.__setattr__(self, "amount", value)
        object.__setattr__(self, "kind", LimitKind(self.kind))
        object.__setattr__(self, "_refusal", f"hard limit {value} of {self.meter} reached")

    def period_at(self, moment_us: int, moment: datetime) -> tuple[int, Period]:
        """The start (µs) and the usage period holding ``moment`` (remembered once located)."""
        starts = self._starts
        position = bisect_right(starts, moment_us) - 1
        if position >= 0:
            start_us, end_us, period = self._found[starts[position]]
            if moment_us < end_us:
                return start_us, period
        period = self.cycle.locate(moment)
        start_us = micros(period.start)
        if start_us not in self._found:
            self._found[start_us] = (start_us, micros(period.end), period)
            insort(starts, start_us)
        return start_us, period


@dataclass(frozen=True, slots=True)
class RateWindow:
    """At most ``max_events`` events of ``meter`` in any window of length ``window``."""

    meter: str
    max_events: int
    window: timedelta
    _span: int = field(default=0, init=False, repr=False, compare=False)
    _refusal: str = field(default="", init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Check the count and the window length; keep the length in microseconds."""
        if type(self.max_events) is not int or self.max_events < 0:
            raise InvalidValueError("rate_window.max_events", self.max_events, "an int >= 0")
        if not isinstance(self.window, timedelta) or self.window <= timedelta(0):
            raise InvalidValueError("rate_window.window", self.window, "a positive timedelta")
        object.__setattr__(self, "_span", self.window // timedelta(microseconds=1))
        object.__setattr__(self, "_refusal", f" {self.meter} events in the last {self.window}")


@dataclass(slots=True)
class Series:
    """One customer's events of one meter: instants (µs, ascending) and running sums."""

    times: list[int] = field(default_factory=list)
    sums: list[Decimal] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    def upto(self, end_us: int, *, inclusive: bool = True) -> tuple[int, Decimal]:
        """Events and quantity at instants before ``end_us`` (or at it, when inclusive)."""
        index = (bisect_right if inclusive else bisect_left)(self.times, end_us)
        return index, (self.sums[index - 1] if index else _ZERO)


class UsageIndex:
    """Per customer and meter, event instants with running sums (see the module docstring).

    Events may be added in any order; the index sorts once, on the first query after adding.
    Events a meter does not count (other type, filters) are skipped; unreadable ones raise.
    """

    def __init__(self, meters: Sequence[Meter], *, group_by: str | None = None) -> None:
        """An empty index for ``meters``; ``group_by`` names a property kept per event."""
        for meter in meters:
            if meter.aggregation not in {Aggregation.SUM, Aggregation.COUNT}:
                raise InvalidValueError(
                    f"meters.{meter.name}.aggregation", meter.aggregation.value, "sum or count"
                )
        self._readers = [MeterReader(i, m) for i, m in enumerate(meters)]
        self._group_by = group_by
        self._raw: dict[tuple[str, str], list[tuple[int, str, Decimal, str]]] = {}
        self._series: dict[tuple[str, str], Series] = {}
        self._cache: dict[str, Decimal] = {}

    @classmethod
    def of(
        cls, events: Iterable[UsageEvent], meters: Sequence[Meter], *, group_by: str | None = None
    ) -> UsageIndex:
        """An index of ``events``."""
        index = cls(meters, group_by=group_by)
        index.add(events)
        return index

    def add(self, events: Iterable[UsageEvent]) -> None:
        """Index ``events`` (each read by every meter of its type)."""
        readers = self._readers
        group_by = self._group_by
        for event in events:
            mine = [r for r in readers if r.meter.event_type == event.type]
            if not mine:
                continue
            group = ""
            if group_by is not None:
                found = event.properties.get(group_by)
                group = "" if found is None else str(found)
            when = micros(event.time)
            for reader, _key, value in read_event(mine, event.id, event.properties, self._cache):
                quantity = Decimal(1) if value is None else value
                key = (event.customer, reader.name)
                self._raw.setdefault(key, []).append((when, event.id, quantity, group))
                self._series.pop(key, None)

    def series(self, customer: str, meter: str) -> Series:
        """The customer's series of ``meter`` (empty when it has no events)."""
        key = (customer, meter)
        found = self._series.get(key)
        if found is not None:
            return found
        if found is None:
            found = Series()
            total = _ZERO
            for when, _id, quantity, group in sorted(self._raw.get(key, ())):
                total = EXACT.add(total, quantity)
                found.times.append(when)
                found.sums.append(total)
                found.groups.append(group)
            self._series[key] = found
        return found

    def customers(self) -> list[str]:
        """Every customer with an indexed event."""
        return sorted({customer for customer, _meter in self._raw})

    def usage(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """Quantity of ``meter`` for ``customer`` at instants in ``[start, end)``."""
        series = self.series(customer, meter)
        return EXACT.subtract(
            series.upto(micros(end), inclusive=False)[1],
            series.upto(micros(start), inclusive=False)[1],
        )


class Check(NamedTuple):
    """What :func:`check` answers for one customer at one moment (an immutable tuple)."""

    customer: str
    meter: str
    at: datetime
    period: Period
    usage: Decimal
    """Usage in the current period up to and including ``at``."""
    limit: Decimal
    remaining: Decimal
    """What the limit still allows (0 once reached or passed)."""
    kind: LimitKind
    window_events: int | None
    """Events in the rate window ending at ``at`` (``None`` without a window)."""
    allowed: bool
    reason: str
    """Why access is refused ("" when allowed)."""


def _accumulated(source: Accumulator, customer: str, meter: str, period: Period) -> Decimal:
    """The accumulator's figure of ``meter`` for ``customer`` in ``period`` (summed over groups).

    Refuses an accumulator whose periods cut across the limit's: its cells would not answer.
    """
    total = _ZERO
    for key, value in source.usage().items():
        if key.meter != meter:
            continue
        cell = key.period
        if cell.start == period.start and cell.end == period.end:
            if key.customer == customer:
                total = EXACT.add(total, value)
        elif cell.start < period.end and period.start < cell.end:
            raise InvalidValueError(
                "source",
                f"an accumulator with the period {cell.label()}",
                f"an accumulator built on the limit's cycle (period {period.label()})",
            )
    return total


def check(
    source: UsageIndex | Accumulator,
    customer: str,
    limit: Limit,
    at: datetime,
    *,
    window: RateWindow | None = None,
) -> Check:
    """Usage so far in ``at``'s period, the limit, what remains, and whether to allow access.

    A hard limit refuses once usage has reached it; a soft limit always allows (usage above is
    overage). A rate window refuses when it already holds ``max_events`` events. ``source`` is
    a :class:`UsageIndex` or an accumulator (see the module docstring: no rate window then).
    """
    now = micros(aware(at, "at"))
    start_us, period = limit.period_at(now, at)
    if isinstance(source, Accumulator):
        if window is not None:
            raise InvalidValueError(
                "window", window, "None with an accumulator (it keeps no event instants)"
            )
        used = _accumulated(source, customer, limit.meter, period)
    else:
        series = source.series(customer, limit.meter)
        times, sums = series.times, series.sums
        upto = bisect_right(times, now)
        before = bisect_left(times, start_us, 0, upto)
        used = (
            EXACT.subtract(sums[upto - 1], sums[before - 1] if before else _ZERO)
            if upto
            else _ZERO
        )
    remaining = max(_ZERO, EXACT.subtract(limit.amount, used))
    allowed, reason = True, ""
    if limit.kind is LimitKind.HARD and used >= limit.amount:
        allowed, reason = False, limit._refusal
    counted: int | None = None
    if window is not None and isinstance(source, UsageIndex):
        times = source.series(customer, window.meter).times
        counted = bisect_right(times, now) - bisect_right(times, now - window._span)
        if counted >= window.max_events and allowed:
            allowed = False
            reason = str(counted) + window._refusal
    return Check(
        customer,
        limit.meter,
        at,
        period,
        used,
        limit.amount,
        remaining,
        limit.kind,
        counted,
        allowed,
        reason,
    )
