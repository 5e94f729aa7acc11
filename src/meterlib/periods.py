"""Billing periods: half-open ``[start, end)`` intervals counted from an anchor.

Period ``i`` starts at ``anchor + i`` cadence steps, computed from the anchor each time (never
chained), in the cycle's IANA time zone, with the day of month clamped to the month's end. So a
monthly cycle anchored on 31 January starts periods on 28 February, 31 March, 30 April, ...;
chaining (Jan 31 -> Feb 28 -> Mar 28) would drift. Steps are taken in local wall time, so a
monthly period always starts at the same local hour across DST changes. A wall time that a DST
change skips or repeats resolves as :mod:`zoneinfo` does with ``fold=0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from pydantic import ConfigDict, field_validator

from meterlib._model import MeterlibModel
from meterlib.errors import InvalidValueError, NaiveDatetimeError

__all__ = ["BillingCycle", "Cadence", "Period", "add_months", "aware", "zone"]


def add_months(anchor: date, months: int) -> date:
    """``anchor`` plus ``months`` calendar months, clamped to the month's end (Jan 31 + 1 = Feb 28).

    Always counted from the anchor, so a sequence of such dates never drifts. This is meterlib's
    one month arithmetic (dateutil's ``relativedelta``), shared by billing periods, lookback
    and compounding dates.
    """
    result: date = anchor + relativedelta(months=months)
    return result


class Cadence(StrEnum):
    """How long a billing period is."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    YEARLY = "yearly"


_MONTHS = {Cadence.MONTHLY: 1, Cadence.QUARTERLY: 3, Cadence.YEARLY: 12}


def zone(name: str, field: str = "timezone") -> ZoneInfo:
    """The IANA time zone called ``name``, or an error naming ``field`` and the value."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidValueError(field, name, "an IANA time zone such as 'Europe/Berlin'") from None


def aware(value: Any, field: str) -> datetime:
    """Return ``value`` if it is a time-zone aware datetime, else raise naming ``field``."""
    if not isinstance(value, datetime):
        raise InvalidValueError(field, value, "a time-zone aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(field, value)
    return value


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval of time ``[start, end)`` between two aware datetimes."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        """Refuse naive bounds and empty or reversed intervals."""
        aware(self.start, "start")
        aware(self.end, "end")
        if self.end <= self.start:
            raise InvalidValueError("end", self.end, f"after start {self.start.isoformat()}")

    def __contains__(self, instant: datetime) -> bool:
        """True when ``start <= instant < end`` (compared as instants, DST-safe)."""
        moment = aware(instant, "instant").timestamp()
        return self.start.timestamp() <= moment < self.end.timestamp()

    @property
    def duration(self) -> timedelta:
        """Elapsed time from start to end, as instants."""
        return self.end.astimezone(UTC) - self.start.astimezone(UTC)

    @property
    def days(self) -> int:
        """Whole calendar days from the start date to the end date, in the bounds' zone."""
        return (self.end.date() - self.start.date()).days

    def label(self) -> str:
        """A short locale-free label: ``2023-03`` for a calendar month, else ``start/end``."""
        s, e = self.start, self.end
        if (
            s.day == 1
            and s.time() == time(0)
            and e.time() == time(0)
            and e.day == 1
            and (e.year * 12 + e.month) - (s.year * 12 + s.month) == 1
        ):
            return f"{s.year:04d}-{s.month:02d}"
        return f"{s.isoformat()}/{e.isoformat()}"

    def __str__(self) -> str:
        """ISO 8601 interval text."""
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"


class BillingCycle(MeterlibModel):
    """Periods of one cadence counted from an anchor in a time zone.

    ``anchor`` is an aware datetime (its local wall time in ``timezone`` is used) or a date
    (midnight local time in ``timezone``). Naive datetimes are refused: they do not say which
    instant they mean.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    anchor: datetime | date
    cadence: Cadence = Cadence.MONTHLY
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except InvalidValueError as error:
            raise ValueError(f"must be {error.expected} (got {value!r})") from None
        return value

    @field_validator("anchor", mode="before")
    @classmethod
    def _date_text_is_a_date(cls, value: Any) -> Any:
        """Read ``"YYYY-MM-DD"`` as a date: JSON can only write a date anchor as text."""
        if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
            try:
                return date.fromisoformat(value)
            except ValueError:
                return value
        return value

    @field_validator("anchor")
    @classmethod
    def _aware_anchor(cls, value: datetime | date) -> datetime | date:
        if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
            raise ValueError(
                f"must be a date or a time-zone aware datetime (got naive {value.isoformat()})"
            )
        return value

    @cached_property
    def _zone(self) -> ZoneInfo:
        return zone(self.timezone)

    @cached_property
    def _wall_anchor(self) -> datetime:
        """The anchor as naive local wall time in the cycle's zone."""
        if isinstance(self.anchor, datetime):
            return self.anchor.astimezone(self._zone).replace(tzinfo=None)
        return datetime.combine(self.anchor, time(0))

    def _step(self, index: int) -> relativedelta | timedelta:
        if self.cadence is Cadence.WEEKLY:
            return timedelta(days=7 * index)
        return relativedelta(months=_MONTHS[self.cadence] * index)

    def start(self, index: int) -> datetime:
        """The start of period ``index`` (0 is the anchor's; negative indexes go back)."""
        return (self._wall_anchor + self._step(index)).replace(tzinfo=self._zone)

    def period(self, index: int) -> Period:
        """Period ``index``: ``[start(index), start(index + 1))``."""
        return Period(self.start(index), self.start(index + 1))

    def index_of(self, instant: datetime) -> int:
        """The index of the period holding ``instant`` (naive datetimes are refused)."""
        moment = aware(instant, "instant").timestamp()
        wall = instant.astimezone(self._zone).replace(tzinfo=None)
        anchor = self._wall_anchor
        if self.cadence is Cadence.WEEKLY:
            guess = (wall - anchor).days // 7
        else:
            months = (wall.year - anchor.year) * 12 + (wall.month - anchor.month)
            guess = months // _MONTHS[self.cadence]
        while self.start(guess).timestamp() > moment:
            guess -= 1
        while self.start(guess + 1).timestamp() <= moment:
            guess += 1
        return guess

    def locate(self, instant: datetime) -> Period:
        """The period holding ``instant``."""
        return self.period(self.index_of(instant))

    def periods(self, count: int, first: int = 0) -> list[Period]:
        """``count`` consecutive periods starting with period ``first``."""
        if count < 0:
            raise InvalidValueError("count", count, ">= 0")
        starts = [self.start(first + i) for i in range(count + 1)]
        return [Period(a, b) for a, b in pairwise(starts)]

    def periods_between(self, start: datetime, end: datetime) -> list[Period]:
        """The periods that overlap ``[start, end)``, in order."""
        if aware(end, "end") <= aware(start, "start"):
            return []
        first = self.index_of(start)
        last = self.index_of(end - timedelta(microseconds=1))
        return self.periods(last - first + 1, first)
