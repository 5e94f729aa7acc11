"""What an accumulator remembers per event id: stored entries, column slots and their comparison.

For every distinct event id (accepted or outside every period) an accumulator keeps the event's
content and its rank ``(part, sequence)``, to tell a duplicate from a conflict, to report both
versions of a conflict and to undo a losing copy on merge. An entry is stored in one of three
forms: a flat tuple of atoms (:func:`pack`, the common event: time as text, text properties), a
tuple with the parsed time and property pairs, or an ``int`` *slot* into the shared columns of a
chunk taken by the column path (:class:`Columns`). :class:`Store` holds every field of an
accumulator and turns any stored form back into an :data:`Entry`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from meterlib.metering._buckets import EPOCH, PeriodIndex
from meterlib.metering.accumulator.plan import SUM, Cell, CompiledMeter
from meterlib.metering.aggregations import State
from meterlib.metering.events import PropertyValue, UsageEvent, same_properties, value_text
from meterlib.metering.meters import Meter
from meterlib.metering.report import Conflict

__all__ = [
    "ABSENT",
    "CHUNK",
    "MICRO",
    "SLOT_BITS",
    "SLOT_MASK",
    "Columns",
    "Content",
    "Entry",
    "Props",
    "Store",
    "Stored",
    "canonical",
    "content_json",
    "event_of",
    "meter_spec",
    "pack",
    "same",
    "same_props",
    "unpack",
]

MICRO = timedelta(microseconds=1)
#: The saved state of a cell that did not exist before a call of ``add`` (see ``Store._undo``).
ABSENT: Any = object()

#: Properties as a tuple of pairs: an immutable snapshot that the garbage collector can stop
#: tracking, which keeps collections cheap when millions of ids are remembered.
Props = tuple[tuple[str, PropertyValue], ...]
#: What an accumulator remembers of one event id: ``(customer, type, time, properties, part,
#: sequence)``; the first four are the content that tells duplicates from conflicts.
Entry = tuple[str, str, datetime, Props, int, int]
#: How an entry is stored: the tuple above, or (for the common event whose time came as text
#: and whose properties are all text) a flat tuple of atoms, see :func:`pack`.
Stored = tuple[Any, ...]
#: The content of one version of an event.
Content = tuple[str, str, datetime, Props]

# Events per chunk of add(): large enough that a chunk's column passes cost little per event,
# small enough that a chunk holding one unusual event (taken event by event) costs little.
SLOT_BITS = 11
CHUNK = 1 << SLOT_BITS  # a slot is chunk number << SLOT_BITS | position (see Columns)
SLOT_MASK = (1 << SLOT_BITS) - 1


def pack(
    checked: tuple[str, str, str, datetime, Mapping[str, PropertyValue]],
    text: str,
    rank: tuple[int, int],
) -> Stored:
    """The stored form of a new id (``checked`` by ``check_event``, its time read from ``text``).

    ``rank`` is ``(part, sequence)``. When every property is text, the entry is stored flat as
    ``(customer, type, time text, part, sequence, name, value, name, value, ...)``: one tuple of
    strings and ints, which the garbage collector stops tracking at its first young collection
    (an entry holding a datetime and nested tuples can reach the old generations, and full
    collections over millions of ids are what made remembering them slow), and no datetime is
    kept. :func:`unpack` turns either form into an ``Entry``; the time text parses back to
    the very datetime ``check_event`` read from it.
    """
    _, customer, kind, time, props = checked
    part, sequence = rank
    flat: list[str] = []
    for name, found in props.items():
        if type(name) is not str or type(found) is not str:
            return (customer, kind, time, tuple(props.items()), part, sequence)
        flat += (name, found)
    return (customer, kind, text, part, sequence, *flat)


def unpack(stored: Stored) -> Entry:
    """The entry tuple of a stored entry (the inverse of :func:`pack`)."""
    if type(stored[2]) is not str:
        return stored
    customer, kind, text, part, sequence, *flat = stored
    props = tuple(zip(flat[::2], flat[1::2], strict=True))
    return (customer, kind, datetime.fromisoformat(text), props, part, sequence)


class Columns:
    """The events of one chunk that the column path took, column by column.

    An id first seen in such a chunk is stored as an ``int`` *slot*: the chunk's number times
    ``CHUNK`` plus the event's position in it. The lists are private and never change, so
    copies and merges of an accumulator share them. With exactly one property per event,
    ``names`` lists their names (or is the one name they all have) and ``values`` their values;
    otherwise ``names`` is ``None`` and ``values`` holds each event's flat ``(name, value, ...)``.
    """

    __slots__ = ("customers", "kind", "names", "part", "sequences", "texts", "values")

    def __init__(
        self,
        *,
        part: int,
        kind: str,
        customers: list[str],
        texts: list[str],
        names: list[str] | str | None,
        values: list[Any],
        sequences: Sequence[int],
    ) -> None:
        """The columns of one chunk (see the class docstring)."""
        self.part = part
        self.kind = kind
        self.customers = customers
        self.texts = texts
        self.names = names
        self.values = values
        self.sequences = sequences

    def flat(self, i: int) -> tuple[Any, ...]:
        """The event at position ``i`` in the flat stored form of :func:`pack`."""
        names = self.names
        if names is None:
            props = self.values[i]
        else:
            props = (names if type(names) is str else names[i], self.values[i])
        return (self.customers[i], self.kind, self.texts[i], self.part, self.sequences[i], *props)


def same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    """True when two copies of an id have the same content (as ``UsageEvent.content``).

    The same customer, type, instant and properties (:func:`same_props`): the one duplicate rule
    of both paths of the accumulator and of the columnar accumulator; other copies conflict.
    ``a`` and ``b``: ``(customer, type, instant, properties, ...)`` (a :data:`Content`, an
    :data:`Entry`, or the columnar form with the instant in POSIX microseconds; both alike).
    """
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and same_props(a[3], b[3])


#: Property values compared as text (:func:`~meterlib.metering.events.same_properties`).
same_props = same_properties


def _props_json(props: Props) -> dict[str, Any]:
    # Text stays a JSON string; a number becomes {"decimal": "..."} so "5" and 5 stay apart.
    return {k: v if type(v) is str else {"decimal": str(v)} for k, v in props}


def content_json(event_id: str, content: Content | Entry) -> list[Any]:
    """One version of an event in the JSON form: ``[id, customer, type, time, properties]``."""
    customer, kind, time, props = content[:4]
    return [event_id, customer, kind, time.isoformat(), _props_json(props)]


def canonical(event_id: str, content: Content | Entry) -> str:
    """A text that orders copies of one id deterministically (ties in rank, refused lists)."""
    customer, kind, time, props = content[:4]
    micro = (time - EPOCH) // MICRO
    body = [event_id, customer, kind, micro, sorted((k, value_text(v)) for k, v in props)]
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def event_of(event_id: str, content: Content | Entry) -> UsageEvent:
    """The :class:`UsageEvent` of one stored version."""
    customer, kind, time, props = content[:4]
    return UsageEvent(event_id, customer, kind, time, MappingProxyType(dict(props)))


def meter_spec(meter: Meter) -> dict[str, Any]:
    """A meter's definition as JSON data (how accumulators compare and store their meters)."""
    return meter.model_dump(mode="json", by_alias=True, exclude_none=True)


class Store:
    """Every field of an accumulator, and the stored entries of the event ids it has seen.

    ``_seen`` maps each id to its stored form (a tuple or a slot into ``_columns``);
    ``_refused`` keeps each refused version of an id once; ``_states`` holds the cells of each
    meter; ``_numbers`` caches decimal texts.
    """

    __slots__ = (
        "_by_type",
        "_columns",
        "_index",
        "_meter_specs",
        "_meters",
        "_numbers",
        "_part",
        "_plans",
        "_received",
        "_refused",
        "_seen",
        "_simple",
        "_states",
    )

    _meters: tuple[Meter, ...]
    _meter_specs: list[dict[str, Any]]
    _index: PeriodIndex
    _plans: tuple[CompiledMeter, ...]
    _by_type: dict[str, tuple[CompiledMeter, ...]]
    _simple: dict[str, CompiledMeter]
    _part: int
    _received: int
    _seen: dict[str, Stored | int]
    _refused: dict[str, list[Content]]
    _states: list[dict[Cell, State]]
    _numbers: dict[str, Decimal]
    _columns: list[Columns]

    def _setup(self, meters: tuple[Meter, ...], index: PeriodIndex, part: int) -> None:
        self._meters = meters
        self._meter_specs = [meter_spec(m) for m in meters]
        self._index = index
        self._plans = tuple(CompiledMeter(i, m) for i, m in enumerate(meters))
        by_type: dict[str, list[CompiledMeter]] = {}
        for plan in self._plans:
            by_type.setdefault(plan.meter.event_type, []).append(plan)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}
        # Event types counted by exactly one plain count or sum meter (no filter, no group_by)
        # take a shorter path through add.
        self._simple = {
            k: v[0]
            for k, v in self._by_type.items()
            if len(v) == 1 and not v[0].filters and not v[0].group_by and v[0].code <= SUM
        }
        self._part = part
        self._received = 0
        self._seen = {}
        self._refused = {}
        self._states = [{} for _ in self._plans]
        self._numbers = {}
        self._columns = []

    def _flat(self, stored: Stored | int) -> Stored:
        """A stored entry with a slot (see :class:`Columns`) turned into its flat tuple."""
        if type(stored) is int:
            return self._columns[stored >> SLOT_BITS].flat(stored & SLOT_MASK)
        return stored  # type: ignore[return-value]

    def _entry(self, stored: Stored | int) -> Entry:
        """The ``Entry`` of a stored entry, whatever its form."""
        return unpack(self._flat(stored))

    def _refuse(
        self, event_id: str, content: Content, refusals: list[tuple[str, bool]]
    ) -> Conflict:
        """Remember a refused version of ``event_id`` (once) and describe the conflict.

        ``refusals`` receives ``(event_id, new list)`` for each version remembered, to undo.
        """
        versions = self._refused.get(event_id)
        created = versions is None
        if versions is None:
            versions = self._refused[event_id] = []
        if not any(same(known, content) for known in versions):
            versions.append(content)
            refusals.append((event_id, created))
        elif created:  # pragma: no cover  (an empty list holds no version)
            del self._refused[event_id]
        first = self._entry(self._seen[event_id])
        return Conflict(event_of(event_id, first), event_of(event_id, content))

    def _mark(self) -> tuple[int, int, int]:
        """Where ``add`` starts: ids seen, chunks of columns, sequence (see :meth:`_undo`)."""
        return len(self._seen), len(self._columns), self._received

    def _undo(
        self,
        mark: tuple[int, int, int],
        saved: dict[int, dict[Cell, Any]],
        refusals: list[tuple[str, bool]],
    ) -> None:
        """Put the accumulator back as it was at ``mark``, before one call of ``add``.

        New ids were added at the end of ``_seen`` (dicts keep insertion order) and are taken
        off the end; each changed cell gets its saved state back (a new one is removed); each
        refused version recorded is taken back.
        """
        seen_before, columns_before, received = mark
        seen = self._seen
        while len(seen) > seen_before:
            seen.popitem()
        del self._columns[columns_before:]
        self._received = received
        for position, cells_saved in saved.items():
            cells = self._states[position]
            for cell, state in cells_saved.items():
                if state is ABSENT:
                    cells.pop(cell, None)
                else:
                    cells[cell] = state
        for event_id, created in reversed(refusals):
            versions = self._refused[event_id]
            versions.pop()
            if created and not versions:
                del self._refused[event_id]

    def _same_stored(self, mine: Stored | int, other: Store, theirs: Stored | int) -> bool:
        """True when two stored copies of an id have the same content (rank aside)."""
        a, b = self._flat(mine), other._flat(theirs)
        if type(a[2]) is str and a[:3] == b[:3] and a[5:] == b[5:]:
            return True
        return same(unpack(a), unpack(b))

    def _tidy_refused(self, event_id: str) -> None:
        """Keep each refused version once, and never the version that counts."""
        winner = self._entry(self._seen[event_id])
        kept: list[Content] = []
        for version in self._refused[event_id]:
            if not same(version, winner) and not any(same(k, version) for k in kept):
                kept.append(version)
        if kept:
            self._refused[event_id] = kept
        else:
            del self._refused[event_id]
