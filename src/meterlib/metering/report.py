"""What one batch of events did to an accumulator: nothing is lost silently.

Every event of a batch lands in exactly one of five places, so the counts always add up to what
was received::

    received == accepted + duplicates + len(conflicts) + outside + len(rejected)

- ``accepted``: new event ids inside a period of interest; they count (``unmetered`` of them
  matched no meter, a subset reported so an unknown event type is seen, not silently dropped).
- ``duplicates``: an id already seen with the same content; ignored.
- ``conflicts``: an id already seen with different content; the first copy stays and both
  versions are reported.
- ``outside``: valid new events outside every period of interest; their ids are remembered, so
  a later copy inside a period is still a duplicate (the first copy wins wherever its time
  falls).
- ``rejected``: invalid events, with the reason; they change nothing, not even the set of ids
  seen.

Reports are values (frozen, slotted): batch work returns results and a list of problems and
never stops at the first bad event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.metering.events import UsageEvent

__all__ = ["BatchReport", "Conflict", "RejectedEventsError", "Rejection"]


class RejectedEventsError(MeterlibError, ValueError):
    """Raised by :meth:`BatchReport.check` when a batch had invalid events.

    Batch work never raises on a bad event by itself; a caller that wants all-or-nothing
    input (a test fixture, a strict import) asks for it. ``rejected`` holds every rejection.
    """

    def __init__(self, rejected: tuple[Rejection, ...]) -> None:
        self.rejected = rejected
        first = rejected[0].reason if rejected else "no reason"
        more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
        super().__init__(f"{len(rejected)} invalid event(s): {first}{more}")


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two versions of one event id with different content.

    ``first`` is the version that counts (the earliest in the stream), ``second`` the one that
    was refused.
    """

    first: UsageEvent
    second: UsageEvent

    @property
    def event_id(self) -> str:
        """The id both versions share."""
        return self.first.id


@dataclass(frozen=True, slots=True)
class Rejection:
    """An invalid event: where it was in its batch, its id if it had a usable one, and why.

    ``index`` counts from 0 within the batch passed to ``add``; ``field`` names the offending
    field (``time``, ``properties.tweets``, ...) when one is to blame; ``reason`` is the full
    message of the validation error.
    """

    index: int
    event_id: str | None
    field: str | None
    reason: str

    @classmethod
    def of(cls, index: int, raw: object, error: InvalidValueError) -> Rejection:
        """The rejection of input ``raw`` at ``index`` for ``error``; its id when one is known."""
        event_id = getattr(error, "event_id", None)
        if event_id is None and isinstance(raw, Mapping):
            event_id = raw.get("id")
        return cls(
            index=index,
            event_id=event_id if type(event_id) is str else None,
            field=error.field or None,
            reason=str(error),
        )


@dataclass(frozen=True, slots=True)
class BatchReport:
    """Counts and problems of one call to ``Accumulator.add`` (see the module docstring)."""

    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    outside: int = 0
    unmetered: int = 0
    conflicts: tuple[Conflict, ...] = ()
    rejected: tuple[Rejection, ...] = ()

    @property
    def conflict_count(self) -> int:
        """How many events conflicted with an earlier version of their id."""
        return len(self.conflicts)

    @property
    def rejected_count(self) -> int:
        """How many events were invalid."""
        return len(self.rejected)

    @property
    def clean(self) -> bool:
        """True when no event conflicted and none was rejected."""
        return not self.conflicts and not self.rejected

    def check(self) -> BatchReport:
        """Return the report, or raise :class:`RejectedEventsError` when an event was rejected."""
        if self.rejected:
            raise RejectedEventsError(self.rejected)
        return self

    def _repr_html_(self) -> str:
        """Show the report in Jupyter."""
        from meterlib.render.html import batch_report_fragment  # noqa: PLC0415

        return batch_report_fragment(self)
    def to_records(self) -> list[dict[str, Any]]:
        """One record per outcome with its count of ``events``; the counts sum to ``received``.

        The outcomes are ``accepted``, ``duplicate``, ``conflict``, ``outside`` and ``rejected``.
        ``unmetered`` is a part of ``accepted``, so it is not a row; see :meth:`problem_records`
        for the conflicting and rejected events themselves.
        """
        counts = (
            ("accepted", self.accepted),
            ("duplicate", self.duplicates),
            ("conflict", self.conflict_count),
            ("outside", self.outside),
            ("rejected", self.rejected_count),
        )
        return [{"outcome": outcome, "events": events} for outcome, events in counts]

    def problem_records(self) -> list[dict[str, Any]]:
        """One record per conflicting or rejected event.

        Fields: ``problem``, ``event_id``, ``index`` (the position in the batch, rejections
        only), ``field`` and ``reason``.
        """
        conflicts = [
            {
                "problem": "conflict",
                "event_id": c.event_id,
                "index": None,
                "field": None,
                "reason": "a different version of an id already seen (the first copy counts)",
            }
            for c in self.conflicts
        ]
        rejected = [
            {
                "problem": "rejected",
                "event_id": r.event_id,
                "index": r.index,
                "field": r.field,
                "reason": r.reason,
            }
            for r in self.rejected
        ]
        return conflicts + rejected

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``meterlib[pandas]``)."""
        from meterlib.frames import records_to_pandas  # noqa: PLC0415

        return records_to_pandas(self.to_records(), ("outcome", "events"))

    def summary(self) -> str:
        """One locale-free line of counts, for logs and command output."""
        parts = [
            f"{self.accepted} accepted",
            f"{self.duplicates} duplicate{'s' if self.duplicates != 1 else ''}",
            f"{self.conflict_count} conflict{'s' if self.conflict_count != 1 else ''}",
            f"{self.outside} outside",
            f"{self.rejected_count} rejected",
        ]
        text = f"{self.received} received: " + ", ".join(parts)
        if self.unmetered:
            text += f" ({self.unmetered} accepted matched no meter)"
        return text
