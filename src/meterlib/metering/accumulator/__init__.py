"""The in-memory accumulator: events in, one usage figure per cell out, nothing lost silently.

An :class:`Accumulator` is built from meters and the periods of interest. :meth:`~Accumulator.add`
takes a batch of :class:`~meterlib.metering.events.UsageEvent` objects or raw mappings (parsed
JSON lines, CSV rows), validates the raw ones, removes duplicates by event id, buckets each event
into its billing period and folds its contribution into a small mergeable *partial state* per
(meter, period, customer, group) cell (see :mod:`meterlib.metering.aggregations`). It returns a
:class:`~meterlib.metering.report.BatchReport` that accounts for every event of the batch. An
invalid event is rejected with its reason; it never stops the batch and never changes a figure.

**Order and batch independence.** Every aggregation's partial state is order-free (``latest``
breaks time ties by the greater event id), and deduplication keeps the first received copy of
an id, so the figures depend only on which copy of each id came first, never on how the stream
was cut into batches.

**Merging.** :meth:`~Accumulator.merge` (or ``a | b``) combines accumulators filled from parts of
one stream into a new accumulator equal to one fed the whole stream, in any order and grouping;
the empty accumulator is the identity. Accumulators with different meters or periods of interest
are refused, naming what differs. "First received" across parts is decided by the *rank*
``(part, sequence)`` of each copy: ``part`` is given when the accumulator is built (give the
parts of a stream increasing numbers in stream order, such as chunk indexes) and ``sequence``
counts the new ids an accumulator received. A merge keeps the copy with the lower rank (equal
ranks fall back to comparing the copies' content, so the choice never depends on merge order).
When both parts counted a copy of the same id, the losing copy is taken out again: subtracted
from additive cells when both copies contributed the same, otherwise by recomputing the cells it
touched from the events of that customer.

**What is kept, and its cost.** To tell a duplicate from a conflict, to report both versions of
a conflict and to undo a losing copy on merge, an accumulator keeps, for every distinct event id
(accepted or outside every period), the event's content and its rank: for the common event
(time as text, text properties) the texts as received, in one flat tuple or, for ids added by
the column path of :meth:`~Accumulator.add`, as an int slot into that chunk's shared columns
(no datetime and no per-id container the garbage collector must walk), else a tuple with the
parsed time; and the same content in :meth:`~Accumulator.to_json`. That is the price of exact
deduplication across processes; the cell states themselves stay small. Refused versions of an
id (conflicts) are kept once each, so :attr:`~Accumulator.conflicts` lists every conflict known,
whether it was found while adding or while merging.

**Serialization.** :meth:`~Accumulator.to_json` and :meth:`~Accumulator.from_json` round-trip an
accumulator exactly (decimals as strings), so separate processes can aggregate parts of a
stream and one process can merge them.

**Where the parts live.** :mod:`.store` (what is remembered per event id), :mod:`.plan` (a meter
compiled for the hot paths), :mod:`.rows` (the per-event path), :mod:`.columns` (the column
path), :mod:`.state` (merge, equality, JSON form); meters are read through
:mod:`meterlib.metering.reading` and events checked by
:func:`meterlib.metering.events.check_event`, as every other engine does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, localcontext
from typing import Any

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError
from meterlib.metering._buckets import periods_of_interest
from meterlib.metering.accumulator.columns import ColumnPath, Tally, chunks
from meterlib.metering.accumulator.rows import EventPath
from meterlib.metering.accumulator.state import MergeState
from meterlib.metering.accumulator.store import canonical, event_of
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import Meter
from meterlib.metering.reading import check_meters
from meterlib.metering.report import BatchReport, Conflict
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = ["Accumulator"]


class Accumulator(MergeState, ColumnPath, EventPath):
    """Mergeable in-memory aggregation of usage events (see the module docstring)."""

    __slots__ = ()

    def __init__(
        self,
        meters: Sequence[Meter],
        periods: BillingCycle | Sequence[Period],
        *,
        window: Period | None = None,
        part: int = 0,
    ) -> None:
        """Count events for ``meters`` in the periods of interest.

        ``periods`` is a billing cycle (every period, or with ``window`` those overlapping it)
        or a list of periods that do not overlap. ``part`` ranks this accumulator's events
        against those of other parts when merging: lower parts were received first.
        """
        check_meters(meters)
        index = periods_of_interest(periods, window)
        if type(part) is not int or part < 0:
            raise InvalidValueError("part", part, "a whole number >= 0")
        self._setup(tuple(meters), index, part)

    # -- reading ---------------------------------------------------------------------------

    @property
    def meters(self) -> tuple[Meter, ...]:
        """The meters, in the order given."""
        return self._meters

    @property
    def part(self) -> int:
        """The part number that ranks this accumulator's events when merging."""
        return self._part

    @property
    def distinct_events(self) -> int:
        """How many distinct event ids were seen (accepted or outside every period)."""
        return len(self._seen)

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Every conflict known: the version that counts and each refused version, by id."""
        found: list[Conflict] = []
        for event_id in sorted(self._refused):
            winner = self._entry(self._seen[event_id])
            versions = sorted(self._refused[event_id], key=lambda c: canonical(event_id, c))
            first = event_of(event_id, winner)
            found.extend(Conflict(first, event_of(event_id, c)) for c in versions)
        return tuple(found)

    def usage(self) -> UsageTable:
        """The figure of every cell that saw events."""
        index = self._index
        values: dict[UsageKey, Decimal] = {}
        for plan in self._plans:
            kind = plan.kind
            for (key, customer, group), state in self._states[plan.position].items():
                start, end = index.span(key)
                value = kind.value(state, end - start)
                if value is not None:
                    values[UsageKey(customer, plan.name, index.period(key), group)] = value
        return UsageTable(values)

    # -- adding ----------------------------------------------------------------------------

    def add(self, events: Iterable[UsageEvent | Mapping[str, Any]]) -> BatchReport:
        """Validate, deduplicate and count a batch; report where every event went.

        Never raises on a bad event: it is rejected with its reason and changes nothing.

        The batch is taken in chunks of consecutive events. A chunk of plain dicts of one event
        type (counted by one plain ``sum`` or ``count`` meter, or by none) whose events are all
        valid goes through :meth:`_add_columns`, which does the same work column by column;
        any other chunk goes event by event through :meth:`_add_each`. Both give the same
        figures, counts, conflicts and stored events as taking the events one at a time.

        The batch is applied whole or not at all: when anything raises part-way (iterating
        ``events``, an interruption, an unexpected error), the accumulator is put back exactly
        as it was before the call and the error is raised.
        """
        tally = Tally()
        received = 0
        mark = self._mark()
        with localcontext(EXACT):
            try:
                for chunk in chunks(events):
                    if not self._add_columns(chunk, tally):
                        tally.fold()
                        self._add_each(chunk, received, tally)
                    received += len(chunk)
                tally.fold()
            except BaseException:
                tally.rows.clear()
                self._undo(mark, tally.saved, tally.refusals)
                raise
        return BatchReport(
            received=received,
            accepted=tally.accepted,
            duplicates=tally.duplicates,
            outside=tally.outside,
            unmetered=tally.unmetered,
            conflicts=tuple(tally.conflicts),
            rejected=tuple(tally.rejected),
        )
