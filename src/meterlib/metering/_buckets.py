"""Which period of interest holds an instant, answered on integer microseconds.

The accumulator's hot path buckets millions of events, so instants are POSIX microseconds
(``int``, never ``float``) and the periods of interest are a sorted list of boundaries searched
with :func:`bisect.bisect_right`. ``keys[j]`` names the period that covers
``[bounds[j], bounds[j + 1])``, or is ``None`` for a gap between explicit periods.

Periods come either from a :class:`~meterlib.periods.BillingCycle` (keys are the cycle's period
indexes; with a window only the periods overlapping it are of interest, without one every
period is, and boundaries are computed and cached as events reach them) or from an explicit
list of non-overlapping periods (keys are positions in the list).

Most events arrive as ISO 8601 text with a fixed UTC offset, and a local calendar day in one
offset almost always lies inside a single period. :meth:`PeriodIndex.days` hands out, per
offset, a table from the local day's ordinal to the key of the period holding that whole day;
the accumulator looks an event's day up there and asks :meth:`PeriodIndex.locate_day` only for a
day that is not known yet or straddles a boundary (then the local hour is looked up, and only a
straddling hour computes exact microseconds).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from meterlib.errors import InvalidValueError
from meterlib.periods import BillingCycle, Period, aware

__all__ = ["EPOCH", "MISSING", "DayTable", "PeriodIndex", "micros", "periods_of_interest"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

# An unbounded cycle caches boundaries around the periods events reach; an event further than
# this many periods from the cached range is located directly, without growing the cache.
_CACHE_REACH = 2400
_CACHE_SLACK = 6
_DAY = 86_400_000_000  # microseconds
_HOUR = 3_600_000_000
_EPOCH_DAY = EPOCH.toordinal()
#: Marks a day that the day tables do not know (a straddling day is never stored).
MISSING: Any = object()


def micros(instant: datetime) -> int:
    """POSIX time of an aware datetime in whole microseconds."""
    return (instant - EPOCH) // _MICRO


def instant(micro: int) -> datetime:
    """The UTC datetime of a POSIX time in microseconds."""
    return EPOCH + timedelta(microseconds=micro)


class DayTable(dict[int, int | None]):
    """Local day ordinal -> period key for one fixed offset; ``hours`` for straddling days."""

    __slots__ = ("hours",)

    def __init__(self) -> None:
        """An empty table."""
        super().__init__()
        self.hours: dict[int, int | None] = {}


class PeriodIndex:
    """The periods of interest of an accumulator and a fast look-up of the one holding a time."""

    __slots__ = (
        "_all",
        "_cycle",
        "_lo",
        "_periods",
        "_spans",
        "_window",
        "bounded",
        "bounds",
        "keys",
        "tables",
    )

    def __init__(
        self,
        source: BillingCycle | Sequence[Period],
        window: tuple[datetime, datetime] | None = None,
    ) -> None:
        """Index the periods of ``source`` that overlap ``window`` (all of them without one)."""
        self._spans: dict[int, tuple[int, int]] = {}
        #: The day table of each fixed offset met so far (see :meth:`days`).
        self.tables: dict[timezone, DayTable] = {}
        self._periods: dict[int, Period] = {}
        self.bounds: list[int] = []
        self.keys: list[int | None] = []
        self._window: tuple[int, int] | None = None
        if window is not None:
            start, end = aware(window[0], "window start"), aware(window[1], "window end")
            if end <= start:
                raise InvalidValueError("window", window, "a (start, end) pair with end > start")
            self._window = (micros(start), micros(end))
        self._lo = 0
        self._all: list[Period] = []
        self.bounded = True
        if isinstance(source, BillingCycle):
            self._cycle: BillingCycle | None = source
            if window is None:
                self.bounded = False
            else:
                first = source.index_of(window[0])
                chosen = source.periods_between(window[0], window[1])
                self._set_range(source, first, first + len(chosen))
            return
        self._cycle = None
        self._all = list(source)
        self._index_list()

    def _index_list(self) -> None:
        periods = self._all
        for index, period in enumerate(periods):
            if not isinstance(period, Period):
                raise InvalidValueError(f"periods.{index}", period, "a Period")
            if index and micros(periods[index - 1].end) > micros(period.start):
                raise InvalidValueError(
                    f"periods.{index}", period, "periods sorted by time that do not overlap"
                )
        for index, period in enumerate(periods):
            lo, hi = micros(period.start), micros(period.end)
            if self._window is not None and (hi <= self._window[0] or lo >= self._window[1]):
                continue
            self._periods[index] = period
            self._spans[index] = (lo, hi)
            if self.bounds and self.bounds[-1] == lo:
                self.bounds.append(hi)
            else:
                if self.bounds:
                    self.keys.append(None)  # the gap since the previous period
                self.bounds.extend((lo, hi))
            self.keys.append(index)
        if not self.keys:
            raise InvalidValueError("periods", periods, "at least one period of interest")

    def _set_range(self, cycle: BillingCycle, lo: int, hi: int) -> None:
        """Cache cycle periods ``lo .. hi - 1`` (contiguous), in place so look-ups see them."""
        self._lo = lo
        self.bounds[:] = [micros(cycle.start(i)) for i in range(lo, hi + 1)]
        self.keys[:] = list(range(lo, hi))

    def locate(self, micro: int) -> int | None:
        """The key of the period of interest holding ``micro``, or ``None`` when none does."""
        j = bisect_right(self.bounds, micro) - 1
        if 0 <= j < len(self.keys):
            return self.keys[j]
        cycle = self._cycle
        if self.bounded or cycle is None:
            return None
        index = cycle.index_of(instant(micro))
        lo, hi = (index, index + 1) if not self.keys else (self._lo, self._lo + len(self.keys))
        lo, hi = min(lo, index - _CACHE_SLACK), max(hi, index + 1 + _CACHE_SLACK)
        if hi - lo <= _CACHE_REACH:
            self._set_range(cycle, lo, hi)
        return index

    def days(self, zone: timezone) -> DayTable:
        """The day table of a fixed offset: local day ordinal -> key (``None``: outside).

        Filled by :meth:`locate_day`; a day missing from it is looked up there. Only for
        ``datetime.timezone`` offsets, whose local days all have the same length.
        """
        table = self.tables.get(zone)
        if table is None:
            table = self.tables[zone] = DayTable()
        return table

    def locate_day(self, moment: datetime, table: DayTable) -> int | None:
        """:meth:`locate` for ``moment`` (fixed offset), remembering its local day in ``table``.

        A local day (or, for a day that straddles a boundary, the local hour) is remembered
        when it lies wholly in one stretch between two known boundaries: inside a period, in a
        gap, or before or after a bounded index.
        """
        day = moment.toordinal()
        hour = day * 24 + moment.hour
        found = table.hours.get(hour, MISSING)
        if found is not MISSING:
            return found  # type: ignore[no-any-return]
        offset = moment.utcoffset()
        if offset is None:
            raise InvalidValueError("time", moment, "a time with an offset")
        start = (day - _EPOCH_DAY) * _DAY - offset // _MICRO
        micro = (
            start
            + (moment.hour * 3600 + moment.minute * 60 + moment.second) * 1_000_000
            + moment.microsecond
        )
        key = self.locate(micro)
        if self._whole(start, start + _DAY):
            table[day] = key
        else:
            start += moment.hour * _HOUR
            if self._whole(start, start + _HOUR):
                table.hours[hour] = key
        return key

    def _whole(self, lo: int, hi: int) -> bool:
        """True when ``[lo, hi)`` lies in one stretch between known boundaries (see above)."""
        bounds = self.bounds
        if not bounds:
            return False
        j = bisect_right(bounds, lo) - 1
        if 0 <= j < len(self.keys):
            return hi <= bounds[j + 1]
        return self.bounded and (j >= 0 or hi <= bounds[0])

    def span(self, key: int) -> tuple[int, int]:
        """Start and end of period ``key`` in POSIX microseconds."""
        found = self._spans.get(key)
        if found is None:
            period = self.period(key)
            found = self._spans[key] = (micros(period.start), micros(period.end))
        return found

    def period(self, key: int) -> Period:
        """The period called ``key``."""
        found = self._periods.get(key)
        if found is None:
            if self._cycle is None:
                raise InvalidValueError("period", key, "a period of interest")
            found = self._periods[key] = self._cycle.period(key)
        return found

    def key_of(self, period: Period) -> int:
        """The key of ``period``; an error when it is not one of the periods of interest."""
        if not isinstance(period, Period):
            raise InvalidValueError("period", period, "a Period")
        if self._cycle is not None:
            key: int | None = self._cycle.index_of(period.start)
        else:
            key = next((k for k, p in self._periods.items() if p == period), None)
        if (
            key is not None
            and self.period(key) == period
            and (not self.bounded or key in self.keys)
        ):
            return key
        raise InvalidValueError("period", period, "one of the accumulator's periods of interest")

    def spec(self) -> dict[str, Any]:
        """A JSON-ready description that :meth:`from_spec` turns back into an equal index."""
        spec: dict[str, Any] = {"window": list(self._window) if self._window else None}
        if self._cycle is not None:
            anchor = self._cycle.anchor
            spec["cycle"] = {
                "anchor": anchor.isoformat(),
                "anchor_is_date": not isinstance(anchor, datetime),
                "cadence": self._cycle.cadence.value,
                "timezone": self._cycle.timezone,
            }
        else:
            spec["periods"] = [[p.start.isoformat(), p.end.isoformat()] for p in self._all]
        return spec

    @classmethod
    def from_spec(cls, spec: Any) -> PeriodIndex:
        """The index that :meth:`spec` described."""
        if not isinstance(spec, dict):
            raise InvalidValueError("periods", spec, "a description of the periods of interest")
        window = spec["window"]
        bounds = None if window is None else (instant(window[0]), instant(window[1]))
        if "cycle" in spec:
            data = spec["cycle"]
            text = data["anchor"]
            anchor = (
                date.fromisoformat(text) if data["anchor_is_date"] else datetime.fromisoformat(text)
            )
            cycle = BillingCycle(anchor=anchor, cadence=data["cadence"], timezone=data["timezone"])
            return cls(cycle, bounds)
        periods = [
            Period(datetime.fromisoformat(s), datetime.fromisoformat(e)) for s, e in spec["periods"]
        ]
        return cls(periods, bounds)

    def __eq__(self, other: object) -> bool:
        """Two indexes are equal when they describe the same periods of interest."""
        if not isinstance(other, PeriodIndex):
            return NotImplemented
        return self.spec() == other.spec()

    __hash__ = None  # type: ignore[assignment]  # a mutable cache inside: not hashable


def periods_of_interest(
    periods: BillingCycle | Sequence[Period], window: Period | None
) -> PeriodIndex:
    """The index of the periods of interest: ``periods``, with ``window`` for a cycle."""
    if window is not None and not isinstance(window, Period):
        raise InvalidValueError("window", window, "a Period or None")
    return PeriodIndex(periods, None if window is None else (window.start, window.end))
