"""Effective-dated look-ups: which version of a term was in force on a day.

Prices, plans and interest rates change on dates. A schedule is a list of versions, each with an
``effective_from`` date; the version in force on a day is the one with the latest
``effective_from`` on or before it. The look-up returns the version itself, so every result
can say which version priced it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date
from typing import Protocol, TypeVar

from meterlib.errors import InvalidValueError, MeterlibError

__all__ = ["Dated", "NotInForceError", "check_schedule", "in_force", "index_in_force"]


class Dated(Protocol):
    """Anything with an ``effective_from`` date."""

    @property
    def effective_from(self) -> date:
        """The first day this version applies."""
        ...


D = TypeVar("D", bound=Dated)


class NotInForceError(MeterlibError, LookupError):
    """No version of a schedule was in force on the day asked for."""

    def __init__(self, what: str, day: date, first: date | None) -> None:
        self.day = day
        detail = f"the first starts {first.isoformat()}" if first else "the schedule is empty"
        super().__init__(f"no {what} was in force on {day.isoformat()} ({detail})")


def check_schedule(versions: Sequence[D], field: str = "versions") -> Sequence[D]:
    """Refuse an empty schedule or ``effective_from`` dates that do not rise strictly."""
    if not versions:
        raise InvalidValueError(field, versions, "at least one version")
    for index in range(1, len(versions)):
        before, after = versions[index - 1].effective_from, versions[index].effective_from
        if after <= before:
            raise InvalidValueError(
                f"{field}[{index}].effective_from",
                after,
                f"after the previous version's {before.isoformat()} (dates must rise strictly)",
            )
    return versions


def index_in_force(starts: Sequence[date], day: date, what: str = "price") -> int:
    """Index of the version in force on ``day``, given the versions' ascending start dates.

    The one dated look-up in meterlib: the latest start on or before ``day``. Raises
    :class:`NotInForceError` naming ``what`` when ``day`` is before the first start.
    """
    index = bisect_right(starts, day)
    if index == 0:
        raise NotInForceError(what, day, starts[0] if starts else None)
    return index - 1


def in_force(
    versions: Sequence[D],
    day: date,
    what: str = "price",
    *,
    starts: Sequence[date] | None = None,
) -> D:
    """The version in force on ``day``: the latest ``effective_from`` on or before it.

    ``versions`` must be in ascending order (see :func:`check_schedule`). ``starts``, their
    ``effective_from`` dates, may be passed by a schedule that keeps them, to save the list.
    """
    known = [v.effective_from for v in versions] if starts is None else starts
    return versions[index_in_force(known, day, what)]
