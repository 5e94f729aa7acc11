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
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext
from itertools import accumulate, chain, compress, islice, repeat
from operator import and_, attrgetter, eq, getitem, is_, is_not, itemgetter, not_
from types import MappingProxyType
from typing import Any

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError
from meterlib.metering._buckets import EPOCH, MISSING, DayTable, PeriodIndex
from meterlib.metering.aggregations import KINDS, PartialKind, State
from meterlib.metering.events import (
    EventError,
    PropertyValue,
    UsageEvent,
    check_event,
    value_text,
)
from meterlib.metering.meters import Aggregation, Meter, parse_meters
from meterlib.metering.report import BatchReport, Conflict, Rejection
from meterlib.metering.table import GroupKey, UsageKey, UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = ["Accumulator"]

_MICRO = timedelta(microseconds=1)
_FORMAT = "meterlib.accumulator/1"
_ZERO = Decimal(0)
# Decimal texts remembered per accumulator: quantities repeat (1, 10, 250, ...), and reading a
# cached value skips the funnel's parse. Bounded, so a stream of distinct values costs nothing.
_NUMBER_CACHE = 1 << 16

_COUNT, _SUM, _MIN, _MAX, _UNIQUE, _LATEST, _WEIGHTED = range(7)
_CODES = {
    Aggregation.COUNT: _COUNT,
    Aggregation.SUM: _SUM,
    Aggregation.MIN: _MIN,
    Aggregation.MAX: _MAX,
    Aggregation.UNIQUE_COUNT: _UNIQUE,
    Aggregation.LATEST: _LATEST,
    Aggregation.WEIGHTED_SUM: _WEIGHTED,
}

#: What an accumulator remembers of one event id: ``(customer, type, time, properties, part,
#: sequence)``; the first four are the content that tells duplicates from conflicts.
_Entry = tuple[str, str, datetime, "_Props", int, int]
#: How an entry is stored: the tuple above, or (for the common event whose time came as text
#: and whose properties are all text) a flat tuple of atoms, see :func:`_pack`.
_Stored = tuple[Any, ...]
#: The content of one version of an event.
_Content = tuple[str, str, datetime, "_Props"]
#: Properties as a tuple of pairs: an immutable snapshot that the garbage collector can stop
#: tracking, which keeps collections cheap when millions of ids are remembered.
_Props = tuple[tuple[str, PropertyValue], ...]
#: A cell inside one meter's states: ``(period key, customer, group)``.
_Cell = tuple[int, str, GroupKey]
#: One matching meter's reading of an event: ``(plan, group, value)``.
_Reading = tuple["_Plan", GroupKey, Any]


def _pack(
    checked: tuple[str, str, str, datetime, Mapping[str, PropertyValue]],
    text: str,
    rank: tuple[int, int],
) -> _Stored:
    """The stored form of a new id (``checked`` by :func:`_validate`, its time read from ``text``).

    ``rank`` is ``(part, sequence)``. When every property is text, the entry is stored flat as
    ``(customer, type, time text, part, sequence, name, value, name, value, ...)``: one tuple of
    strings and ints, which the garbage collector stops tracking at its first young collection
    (an entry holding a datetime and nested tuples can reach the old generations, and full
    collections over millions of ids are what made remembering them slow), and no datetime is
    kept. :func:`_unpack` turns either form into an ``_Entry``; the time text parses back to
    the very datetime :func:`_validate` read from it.
    """
    _, customer, kind, time, props = checked
    part, sequence = rank
    flat: list[str] = []
    for name, found in props.items():
        if type(name) is not str or type(found) is not str:
            return (customer, kind, time, tuple(props.items()), part, sequence)
        flat += (name, found)
    return (customer, kind, text, part, sequence, *flat)


def _unpack(stored: _Stored) -> _Entry:
    """The entry tuple of a stored entry (the inverse of :func:`_pack`)."""
    if type(stored[2]) is not str:
        return stored
    customer, kind, text, part, sequence, *flat = stored
    props = tuple(zip(flat[::2], flat[1::2], strict=True))
    return (customer, kind, datetime.fromisoformat(text), props, part, sequence)


class _Columns:
    """The events of one chunk that :meth:`Accumulator._add_columns` took, column by column.

    An id first seen in such a chunk is stored as an ``int`` *slot*: the chunk's number times
    ``_CHUNK`` plus the event's position in it. The lists are private and never change, so
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
        self.part = part
        self.kind = kind
        self.customers = customers
        self.texts = texts
        self.names = names
        self.values = values
        self.sequences = sequences

    def flat(self, i: int) -> tuple[Any, ...]:
        """The event at position ``i`` in the flat stored form of :func:`_pack`."""
        names = self.names
        if names is None:
            props = self.values[i]
        else:
            props = (names if type(names) is str else names[i], self.values[i])
        return (self.customers[i], self.kind, self.texts[i], self.part, self.sequences[i], *props)


# Events per chunk of add(): large enough that a chunk's column passes cost little per event,
# small enough that a chunk holding one unusual event (taken event by event) costs little.
_SLOT_BITS = 11
_CHUNK = 1 << _SLOT_BITS  # a slot is chunk number << _SLOT_BITS | position (see _Columns)
_GET_ID = itemgetter("id")
_GET_CUSTOMER = itemgetter("customer")
_GET_TYPE = itemgetter("type")
_GET_TIME = itemgetter("time")
_GET_PROPERTIES = itemgetter("properties")
_GET_YEAR = attrgetter("year")
_GET_ZONE = attrgetter("tzinfo")
_ONLY_DICT = frozenset({dict})
_ONLY_STR = frozenset({str})
_ONLY_ZONE = frozenset({timezone})
_ONLY_ONE = frozenset({1})
_SLOT_MASK = (1 << _SLOT_BITS) - 1
_ONLY_FIVE = frozenset({5})


class _Row(dict[str, Any]):
    """Running figures of one period's ``(key, customer, ())`` cells of one meter, by customer.

    :meth:`Accumulator._add_columns` adds to ``row[customer]`` (a str key, whose hash is kept)
    rather than to the cell (a tuple hashed on every look-up). A customer's first figure is the
    cell's own (:meth:`__missing__`), which also puts the cell in its place in the cell order;
    :meth:`fold` writes the figures back. So each cell sees the same additions in the same order.
    """

    __slots__ = ("cells", "empty", "key")

    def __init__(self, cells: dict[_Cell, Any], key: int, empty: Any) -> None:
        super().__init__()
        self.cells = cells
        self.key = key
        self.empty = empty

    def __missing__(self, customer: str) -> Any:
        cell = (self.key, customer, ())
        figure = self.cells.setdefault(cell, self.empty)
        self[customer] = figure
        return figure

    def fold(self) -> None:
        cells, key = self.cells, self.key
        for customer, figure in self.items():
            cells[(key, customer, ())] = figure


class _Tally:
    """The counts and problems of one call to ``add``, filled chunk by chunk.

    ``rows`` holds the running figures of the column path (see :class:`_Row`) by meter position
    and period key, until :meth:`fold` writes them to the cells.
    """

    __slots__ = (
        "accepted", "conflicts", "duplicates", "outside", "rejected", "rows", "unmetered"
    )

    def __init__(self) -> None:
        self.accepted = self.duplicates = self.outside = self.unmetered = 0
        self.conflicts: list[Conflict] = []
        self.rejected: list[Rejection] = []
        self.rows: dict[int, dict[int, _Row]] = {}

    def fold(self) -> None:
        """Write the running figures to the cells; needed before anything else reads them."""
        for rows in self.rows.values():
            for row in rows.values():
                row.fold()
        self.rows.clear()


def _chunks(events: Iterable[Any]) -> Iterator[list[Any]]:
    """The events in lists of at most ``_CHUNK``, in order.

    When iterating ``events`` raises, the events read before are still handed out, then the
    error is raised: ``add`` counts what it received before the failure, as one loop would.
    """
    if type(events) is list or type(events) is tuple:
        for start in range(0, len(events), _CHUNK):
            yield list(events[start : start + _CHUNK])
        return
    chunk: list[Any] = []
    append = chunk.append
    try:
        for raw in events:
            append(raw)
            if len(chunk) == _CHUNK:
                yield chunk
                chunk = []
                append = chunk.append
    except BaseException:
        if chunk:
            yield chunk
        raise
    if chunk:
        yield chunk


class _Plan:
    """One meter compiled for the hot path: filters as sets of texts, aggregation as a code."""

    __slots__ = ("code", "filters", "group_by", "kind", "meter", "name", "position", "prop")

    def __init__(self, position: int, meter: Meter) -> None:
        self.position = position
        self.meter = meter
        self.name = meter.name
        self.kind: PartialKind = KINDS[meter.aggregation]
        self.code = _CODES[meter.aggregation]
        self.prop = meter.property or ""
        self.filters = tuple(
            (key, frozenset((f.equals,) if f.equals is not None else (f.one_of or ())))
            for key, f in sorted(meter.filters.items())
        )
        self.group_by = tuple(sorted(set(meter.group_by)))


def _same(a: _Content | _Entry, b: _Content | _Entry) -> bool:
    """True when two copies of an id have the same content (as ``UsageEvent.content``)."""
    return a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and _same_props(a[3], b[3])


def _same_props(
    first: _Props | Mapping[str, PropertyValue], second: _Props | Mapping[str, PropertyValue]
) -> bool:
    """Property values compared as text: ``2`` and ``"2"`` agree, ``"2.0"`` and ``"2"`` do not."""
    a, b = dict(first), dict(second)
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if type(value) is str and type(other) is str:
            if value != other:
                return False
        elif value_text(value) != value_text(other):
            return False
    return True


def _props_json(props: _Props) -> dict[str, Any]:
    # Text stays a JSON string; a number becomes {"decimal": "..."} so "5" and 5 stay apart.
    return {k: v if type(v) is str else {"decimal": str(v)} for k, v in props}


def _content_json(event_id: str, content: _Content | _Entry) -> list[Any]:
    customer, kind, time, props = content[:4]
    return [event_id, customer, kind, time.isoformat(), _props_json(props)]


def _canonical(event_id: str, content: _Content | _Entry) -> str:
    """A text that orders copies of one id deterministically (ties in rank, refused lists)."""
    customer, kind, time, props = content[:4]
    micro = (time - EPOCH) // _MICRO
    body = [event_id, customer, kind, micro, sorted((k, value_text(v)) for k, v in props)]
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def _event(event_id: str, content: _Content | _Entry) -> UsageEvent:
    customer, kind, time, props = content[:4]
    return UsageEvent(event_id, customer, kind, time, MappingProxyType(dict(props)))


class Accumulator:
    """Mergeable in-memory aggregation of usage events (see the module docstring)."""

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
        given: Any = meters
        if not isinstance(given, Sequence) or not all(isinstance(m, Meter) for m in given):
            raise InvalidValueError("meters", meters, "a sequence of Meter definitions")
        names = [m.name for m in meters]
        if len(set(names)) != len(names):
            raise InvalidValueError("meters", names, "meters with distinct names")
        if window is not None and not isinstance(window, Period):
            raise InvalidValueError("window", window, "a Period or None")
        if type(part) is not int or part < 0:
            raise InvalidValueError("part", part, "a whole number >= 0")
        index = PeriodIndex(periods, None if window is None else (window.start, window.end))
        self._setup(tuple(meters), index, part)

    def _setup(self, meters: tuple[Meter, ...], index: PeriodIndex, part: int) -> None:
        self._meters = meters
        self._meter_specs = [_meter_spec(m) for m in meters]
        self._index = index
        self._plans = tuple(_Plan(i, m) for i, m in enumerate(meters))
        by_type: dict[str, list[_Plan]] = {}
        for plan in self._plans:
            by_type.setdefault(plan.meter.event_type, []).append(plan)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}
        # Event types counted by exactly one plain count or sum meter (no filter, no group_by)
        # take a shorter path through add.
        self._simple = {
            k: v[0]
            for k, v in self._by_type.items()
            if len(v) == 1 and not v[0].filters and not v[0].group_by and v[0].code <= _SUM
        }
        self._part = part
        self._received = 0
        self._seen: dict[str, _Stored | int] = {}
        self._refused: dict[str, list[_Content]] = {}
        self._states: list[dict[_Cell, State]] = [{} for _ in self._plans]
        self._numbers: dict[str, Decimal] = {}
        self._columns: list[_Columns] = []

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
            versions = sorted(self._refused[event_id], key=lambda c: _canonical(event_id, c))
            found.extend(Conflict(_event(event_id, winner), _event(event_id, c)) for c in versions)
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
        """
        tally = _Tally()
        received = 0
        with localcontext(EXACT):
            try:
                for chunk in _chunks(events):
                    if not self._add_columns(chunk, tally):
                        tally.fold()
                        self._add_each(chunk, received, tally)
                    received += len(chunk)
            finally:
                tally.fold()
        return BatchReport(
            received=received,
            accepted=tally.accepted,
            duplicates=tally.duplicates,
            outside=tally.outside,
            unmetered=tally.unmetered,
            conflicts=tuple(tally.conflicts),
            rejected=tuple(tally.rejected),
        )

    def _add_columns(  # noqa: PLR0911, PLR0912, PLR0915  (one pass per step, in order)
        self, chunk: list[Any], tally: _Tally
    ) -> bool:
        """:meth:`add` a chunk column by column, when it is the common case; else change nothing.

        The common case: plain dicts of the five fields, all of one event type that one plain
        ``sum`` or ``count`` meter counts (or no meter), ids, customers, types and times as
        text, properties as a dict of text, times with an offset, and every value the meter
        reads a valid decimal. Each check is one pass over a column in C (``map``, ``set``); the
        first that fails returns ``False`` before anything changed, and the chunk is taken event
        by event instead, which also names the problem. Otherwise the chunk is counted exactly
        as :meth:`_add_each` would: new ids in order (their sequences, stored entries and cells),
        then the ids seen before, in order (duplicates and conflicts).
        """
        if set(map(type, chunk)) != _ONLY_DICT or set(map(len, chunk)) != _ONLY_FIVE:
            return False
        try:
            ids = list(map(_GET_ID, chunk))
            customers = list(map(_GET_CUSTOMER, chunk))
            kinds = list(map(_GET_TYPE, chunk))
            texts = list(map(_GET_TIME, chunk))
            props = list(map(_GET_PROPERTIES, chunk))
        except KeyError:
            return False
        if (
            set(map(type, ids)) != _ONLY_STR
            or set(map(type, customers)) != _ONLY_STR
            or set(map(type, texts)) != _ONLY_STR
            or set(map(type, props)) != _ONLY_DICT
            or set(map(type, kinds)) != _ONLY_STR
            or len(set(kinds)) != 1
            or not (all(ids) and all(customers) and kinds[0])
        ):
            return False
        kind = kinds[0]
        plan = self._simple.get(kind)
        if plan is None and kind in self._by_type:
            return False
        # Properties, copied (the caller's dicts may change later): with exactly one property
        # per event, its name (one text when it is the meter's property for all) and a list of
        # values; else a flat tuple per event.
        names: list[str] | str | None = None
        flats: list[Any]
        single = set(map(len, props)) == _ONLY_ONE
        prop = plan.prop if plan is not None and plan.code == _SUM else None
        if single and prop is not None and all(map(dict.__contains__, props, repeat(prop))):
            names = prop
            flats = list(map(itemgetter(prop), props))
            if set(map(type, flats)) != _ONLY_STR:
                return False
        elif single:
            names = list(map(next, map(iter, props)))
            flats = list(map(getitem, props, names))
            if set(map(type, names)) != _ONLY_STR or set(map(type, flats)) != _ONLY_STR:
                return False
        else:
            flats = list(map(tuple, map(chain.from_iterable, map(dict.items, props))))
            if not set(map(type, chain.from_iterable(flats))) <= _ONLY_STR:
                return False
        try:
            times = list(map(datetime.fromisoformat, texts))
        except ValueError:
            return False
        zones = list(map(_GET_ZONE, times))
        if set(map(type, zones)) != _ONLY_ZONE:
            return False
        # The edge rules of check_event: years near the ends of its range and non-ASCII text
        # (which may hold a lone surrogate) take the event-by-event path and its full checks.
        years = set(map(_GET_YEAR, times))
        if min(years) <= 1900 or max(years) >= 2200:
            return False
        texts_of_props = chain.from_iterable(flats) if names is None else flats
        if not (
            "".join(ids).isascii()
            and "".join(customers).isascii()
            and kind.isascii()
            and "".join(texts_of_props).isascii()
            and (type(names) is not list or "".join(names).isascii())
        ):
            return False
        values: list[Any] = []
        if plan is not None and plan.code == _SUM:
            if names == prop:
                values = list(map(self._numbers.get, flats))
            else:
                try:
                    values = list(map(self._numbers.get, map(itemgetter(plan.prop), props)))
                except KeyError:
                    return False
            for i in compress(range(len(values)), map(is_, values, repeat(None))):
                try:
                    values[i] = self._number(ids[i], plan, props[i])
                except InvalidValueError:
                    return False

        # Every event is valid. Each id gets this chunk's slot for its position unless it has
        # one already (seen before, or earlier in the chunk): one dict pass decides which are new.
        seen = self._seen
        n = len(ids)
        start = len(self._columns) << _SLOT_BITS
        slots = range(start, start + n)
        found = list(map(seen.setdefault, ids, slots))
        fresh = list(map(eq, found, slots))
        count = sum(fresh)
        base = self._received
        self._received += count
        if count == n:
            sequences: Sequence[int] = range(base + 1, base + 1 + n)
        else:
            sequences = list(islice(accumulate(fresh, initial=base), 1, None))
        self._columns.append(
            _Columns(
                part=self._part,
                kind=kind,
                customers=customers,
                texts=texts,
                names=names,
                values=flats,
                sequences=sequences,
            )
        )

        # Periods: by local day per offset (see PeriodIndex.days); unknown days one by one.
        # Events of ids seen before are located too (1 in 100, say) and left out below.
        index = self._index
        tables: list[Any] = list(map(index.tables.get, zones))
        if None in tables:
            for zone in set(zones):
                index.days(zone)
            tables = list(map(index.tables.get, zones))
        keys: list[Any] = list(
            map(dict.get, tables, map(datetime.toordinal, times), repeat(MISSING))
        )
        for i in compress(range(n), map(is_, keys, repeat(MISSING))):
            keys[i] = index.locate_day(times[i], tables[i])
        counted = list(map(and_, fresh, map(is_not, keys, repeat(None))))
        accepted = sum(counted)
        tally.accepted += accepted
        tally.outside += count - accepted
        if accepted < n:
            keys = list(compress(keys, counted))
            customers_in = list(compress(customers, counted))
            values = list(compress(values, counted))
        else:
            customers_in = customers
        if plan is None:
            tally.unmetered += accepted
        else:
            cells = self._states[plan.position]
            rows = tally.rows.setdefault(plan.position, {})
            empty = _ZERO if plan.code == _SUM else 0
            for key in set(keys).difference(rows):
                rows[key] = _Row(cells, key, empty)
            targets = list(map(rows.__getitem__, keys))
            if plan.code == _SUM:
                for row, customer, value in zip(targets, customers_in, values, strict=False):
                    row[customer] = row[customer] + value
            else:
                for row, customer in zip(targets, customers_in, strict=False):
                    row[customer] = row[customer] + 1

        # Ids seen before (earlier chunks or earlier in this one): duplicates and conflicts.
        for i in compress(range(n), map(not_, fresh)):
            event_id = ids[i]
            customer, time, given = customers[i], times[i], props[i]
            flat = self._flat(found[i])
            if flat[:3] == (customer, kind, texts[i]) and flat[5:] == tuple(
                chain.from_iterable(given.items())
            ):
                tally.duplicates += 1  # the very same content, as received
                continue
            entry = _unpack(flat)
            if (
                entry[0] == customer
                and entry[1] == kind
                and entry[2] == time
                and _same_props(entry[3], given)
            ):
                tally.duplicates += 1
            else:
                version = (customer, kind, time, tuple(given.items()))
                tally.conflicts.append(self._refuse(event_id, version))
        return True

    def _add_each(  # noqa: PLR0912, PLR0915  (the hot path is one flat loop on purpose: no calls)
        self, events: list[Any], offset: int, tally: _Tally
    ) -> None:
        """:meth:`add` one event at a time; ``offset`` is the position of ``events[0]``."""
        seen = self._seen
        by_type = self._by_type
        simple = self._simple
        numbers = self._numbers
        states = self._states
        index = self._index
        bounds, keys = index.bounds, index.keys
        day_tables = index.days
        locate_day = index.locate_day
        read = self._read
        part = self._part
        sequence = self._received
        fromisoformat = datetime.fromisoformat
        missing = MISSING
        accepted = duplicates = outside = unmetered = 0
        conflicts = tally.conflicts
        rejected = tally.rejected
        readings: Sequence[_Reading] = ()
        tables: dict[Any, DayTable] = {}
        # Raw input is untyped until checked; these names hold checked values after the try.
        event_id: Any
        customer: Any
        kind: Any
        time: Any
        props: Any
        text: Any
        cell: Any
        for position, raw in enumerate(events, offset):
            try:
                # Fast path: a plain dict of exactly the five fields, text values only.
                # Anything unusual goes through _validate, which also names the problem.
                # On the way, a one-property event keeps its name and value for storing.
                text = None
                if type(raw) is dict and len(raw) == 5:
                    try:
                        event_id = raw["id"]
                        customer = raw["customer"]
                        kind = raw["type"]
                        text = raw["time"]
                        props = raw["properties"]
                    except KeyError:
                        text = None
                    else:
                        if (
                            type(event_id) is str
                            and event_id
                            and type(customer) is str
                            and customer
                            and type(kind) is str
                            and kind
                            and type(text) is str
                            and type(props) is dict
                            and event_id.isascii()
                            and customer.isascii()
                            and kind.isascii()
                        ):
                            try:
                                time = fromisoformat(text)
                            except ValueError:
                                text = None
                            else:
                                # The edge rules of check_event: other years and non-ASCII
                                # text take its full checks.
                                if time.tzinfo is None or not 1900 < time.year < 2200:
                                    text = None
                                elif len(props) == 1:
                                    for name in props:
                                        found = props[name]
                                    if (
                                        type(found) is not str
                                        or type(name) is not str
                                        or not found.isascii()
                                        or not name.isascii()
                                    ):
                                        text = None
                                else:
                                    for name, found in props.items():
                                        if (
                                            type(found) is not str
                                            or type(name) is not str
                                            or not found.isascii()
                                            or not name.isascii()
                                        ):
                                            text = None
                                            break
                        else:
                            text = None
                if text is None:
                    event_id, customer, kind, time, props = check_event(raw)
                single = simple.get(kind)
                if single is not None:
                    value = numbers.get(props.get(single.prop))
                    if value is None and single.code == _SUM:
                        value = self._number(event_id, single, props)
                elif kind in by_type:
                    readings = read(event_id, kind, props)
                else:
                    readings = ()
            except InvalidValueError as error:
                rejected.append(Rejection.of(position, raw, error))
                continue
            stored = seen.get(event_id)
            if stored is not None:
                entry = self._entry(stored)
                if (
                    entry[0] == customer
                    and entry[1] == kind
                    and entry[2] == time
                    and _same_props(entry[3], props)
                ):
                    duplicates += 1
                else:
                    version = (customer, kind, time, tuple(props.items()))
                    conflicts.append(self._refuse(event_id, version))
                continue
            sequence += 1
            if text is not None:
                # Bucket by the local day in the event's fixed offset (see PeriodIndex.days).
                zone = time.tzinfo
                table = tables.get(zone)
                if table is None:
                    table = tables[zone] = day_tables(zone)
                key = table.get(time.toordinal(), missing)
                if key is missing:
                    key = locate_day(time, table)
                if len(props) == 1:
                    seen[event_id] = (customer, kind, text, part, sequence, name, found)
                else:
                    seen[event_id] = _pack(
                        (event_id, customer, kind, time, props), text, (part, sequence)
                    )
            else:
                micro = (time - EPOCH) // _MICRO
                j = bisect_right(bounds, micro) - 1
                key = keys[j] if 0 <= j < len(keys) else index.locate(micro)
                seen[event_id] = (customer, kind, time, tuple(props.items()), part, sequence)
            if key is None:
                outside += 1
                continue
            accepted += 1
            if single is not None:
                cells = states[single.position]
                cell = (key, customer, ())
                if single.code == _SUM:
                    cells[cell] = cells.get(cell, _ZERO) + value
                else:
                    cells[cell] = cells.get(cell, 0) + 1
                continue
            if not readings:
                unmetered += 1
                continue
            for plan, group, reading in readings:
                cell = (key, customer, group)
                code = plan.code
                cells = states[plan.position]
                if code == _COUNT:
                    cells[cell] = cells.get(cell, 0) + 1
                elif code == _SUM:
                    cells[cell] = cells.get(cell, _ZERO) + reading
                else:
                    micro = (time - EPOCH) // _MICRO if code >= _LATEST else 0
                    plan.kind.add(cells, cell, self._item(plan, key, micro, event_id, reading))
        self._received = sequence
        tally.accepted += accepted
        tally.duplicates += duplicates
        tally.outside += outside
        tally.unmetered += unmetered

    def _read(self, event_id: str, kind: str, props: Mapping[str, PropertyValue]) -> list[_Reading]:
        """What each meter of this event type reads from it; EventError when it cannot."""
        readings: list[_Reading] = []
        for plan in self._by_type.get(kind, ()):
            matched = True
            for name, accepted in plan.filters:
                found = props.get(name)
                if found is None or value_text(found) not in accepted:
                    matched = False
                    break
            if not matched:
                continue
            group: GroupKey = ()
            if plan.group_by:
                group = tuple(
                    (name, self._text(event_id, plan, props, name)) for name in plan.group_by
                )
            code = plan.code
            if code == _COUNT:
                value: Any = None
            elif code == _UNIQUE:
                value = self._text(event_id, plan, props, plan.prop)
            else:
                value = self._number(event_id, plan, props)
            readings.append((plan, group, value))
        return readings

    @staticmethod
    def _text(event_id: str, plan: _Plan, props: Mapping[str, PropertyValue], name: str) -> str:
        found = props.get(name)
        if found is None:
            raise EventError(
                event_id, f"properties.{name}", None, f"a value (meter {plan.name!r} reads it)"
            )
        return value_text(found)

    def _number(self, event_id: str, plan: _Plan, props: Mapping[str, PropertyValue]) -> Decimal:
        found = props.get(plan.prop)
        if not isinstance(found, str):
            if found is None:
                raise EventError(
                    event_id,
                    f"properties.{plan.prop}",
                    None,
                    f"a decimal value (meter {plan.name!r} reads it)",
                )
            return found
        cache = self._numbers
        number = cache.get(found)
        if number is None:
            try:
                number = to_decimal(found, f"properties.{plan.prop}")
            except InvalidValueError as error:
                raise EventError(
                    event_id,
                    f"properties.{plan.prop}",
                    found,
                    f"{error.expected} (meter {plan.name!r} reads it as a number)",
                ) from None
            if len(cache) < _NUMBER_CACHE:
                cache[found] = number
        return number

    def _item(self, plan: _Plan, key: int, micro: int, event_id: str, value: Any) -> Any:
        """The contribution of one reading to its cell (see the aggregations table)."""
        code = plan.code
        if code == _COUNT:
            return 1
        if code == _LATEST:
            return (micro, event_id, value)
        if code == _WEIGHTED:
            return EXACT.multiply(value, Decimal(self._index.span(key)[1] - micro))
        return value

    def _contributions(
        self, event_id: str, entry: _Content | _Entry
    ) -> list[tuple[int, _Cell, Any]]:
        """Every (meter position, cell, contribution) of a stored copy; empty when outside."""
        customer, kind, time, props = entry[:4]
        micro = (time - EPOCH) // _MICRO
        key = self._index.locate(micro)
        if key is None or kind not in self._by_type:
            return []
        return [
            (plan.position, (key, customer, group), self._item(plan, key, micro, event_id, value))
            for plan, group, value in self._read(event_id, kind, dict(props))
        ]

    def _refuse(self, event_id: str, content: _Content) -> Conflict:
        """Remember a refused version of ``event_id`` (once) and describe the conflict."""
        versions = self._refused.setdefault(event_id, [])
        if not any(_same(known, content) for known in versions):
            versions.append(content)
        first = self._entry(self._seen[event_id])
        return Conflict(_event(event_id, first), _event(event_id, content))

    def _flat(self, stored: _Stored | int) -> _Stored:
        """A stored entry with a slot (see :class:`_Columns`) turned into its flat tuple."""
        if type(stored) is int:
            return self._columns[stored >> _SLOT_BITS].flat(stored & _SLOT_MASK)
        return stored  # type: ignore[return-value]

    def _entry(self, stored: _Stored | int) -> _Entry:
        """The ``_Entry`` of a stored entry, whatever its form."""
        return _unpack(self._flat(stored))

    def _same_stored(self, mine: _Stored | int, other: Accumulator, theirs: _Stored | int) -> bool:
        """True when two stored copies of an id have the same content (rank aside)."""
        a, b = self._flat(mine), other._flat(theirs)
        if type(a[2]) is str and a[:3] == b[:3] and a[5:] == b[5:]:
            return True
        return _same(_unpack(a), _unpack(b))

    # -- merging ---------------------------------------------------------------------------

    def _check_compatible(self, other: Accumulator) -> None:
        if not isinstance(other, Accumulator):
            raise InvalidValueError("other", other, "an Accumulator")
        if self._meter_specs != other._meter_specs:
            mine = {spec["name"]: spec for spec in self._meter_specs}
            theirs = {spec["name"]: spec for spec in other._meter_specs}
            for name in sorted(mine.keys() | theirs.keys()):
                if mine.get(name) != theirs.get(name):
                    raise InvalidValueError(
                        f"meters.{name}",
                        theirs.get(name),
                        f"the same definition in both accumulators ({mine.get(name)})",
                    )
            raise InvalidValueError(
                "meters", [s["name"] for s in other._meter_specs], "meters in the same order"
            )
        if self._index != other._index:
            raise InvalidValueError(
                "periods",
                other._index.spec(),
                f"the same periods of interest in both accumulators ({self._index.spec()})",
            )

    def _copy(self) -> Accumulator:
        result = Accumulator.__new__(Accumulator)
        result._meters = self._meters
        result._meter_specs = self._meter_specs
        result._index = PeriodIndex.from_spec(self._index.spec())
        result._plans = self._plans
        result._by_type = self._by_type
        result._simple = self._simple
        result._part = self._part
        result._received = self._received
        result._seen = dict(self._seen)
        result._refused = {k: list(v) for k, v in self._refused.items()}
        result._states = [
            {cell: plan.kind.copy(state) for cell, state in cells.items()}
            for plan, cells in zip(self._plans, self._states, strict=True)
        ]
        result._numbers = {}
        result._columns = list(self._columns)
        return result

    def merge(self, other: Accumulator) -> Accumulator:  # noqa: PLR0912  (the steps read in order)
        """A new accumulator holding both parts; the inputs are unchanged (see module doc)."""
        self._check_compatible(other)
        result = self._copy()
        for plan in self._plans:
            kind = plan.kind
            cells = result._states[plan.position]
            for cell, state in other._states[plan.position].items():
                kind.merge(cells, cell, kind.copy(state))
        dirty: set[tuple[int, _Cell]] = set()
        touched: set[str] = set()
        seen = result._seen
        with localcontext(EXACT):
            # Slots of the other accumulator's chunks move up past this one's chunks.
            shift = len(result._columns) << _SLOT_BITS
            result._columns.extend(other._columns)
            for event_id, given in other._seen.items():
                stored = given + shift if type(given) is int else given
                kept = seen.get(event_id)
                if kept is None:
                    seen[event_id] = stored
                    continue
                mine, theirs = result._entry(kept), result._entry(stored)
                if _first(event_id, mine, theirs):
                    winner, loser = mine, theirs
                else:
                    winner, loser = theirs, mine
                    seen[event_id] = stored
                if not _same(winner, loser):
                    result._refused.setdefault(event_id, []).append(loser[:4])
                    touched.add(event_id)
                lost = result._contributions(event_id, loser)
                if not lost:
                    continue
                if lost == result._contributions(event_id, winner):
                    for position, cell, item in lost:
                        kind = self._plans[position].kind
                        if kind.additive:
                            kind.subtract(result._states[position], cell, item)
                else:
                    dirty.update((position, cell) for position, cell, _ in lost)
            for event_id, versions in other._refused.items():
                result._refused.setdefault(event_id, []).extend(versions)
                touched.add(event_id)
            for event_id in touched:
                result._tidy_refused(event_id)
            if dirty:
                result._recompute(dirty)
        if other._part > result._part:
            result._part, result._received = other._part, other._received
        elif other._part == result._part:
            result._received = max(result._received, other._received)
        return result

    __or__ = merge

    def _tidy_refused(self, event_id: str) -> None:
        """Keep each refused version once, and never the version that counts."""
        winner = self._entry(self._seen[event_id])
        kept: list[_Content] = []
        for version in self._refused[event_id]:
            if not _same(version, winner) and not any(_same(k, version) for k in kept):
                kept.append(version)
        if kept:
            self._refused[event_id] = kept
        else:
            del self._refused[event_id]

    def _recompute(self, dirty: set[tuple[int, _Cell]]) -> None:
        """Rebuild the ``dirty`` cells from the stored events of their customers."""
        customers = {cell[1] for _, cell in dirty}
        for position, cell in dirty:
            self._states[position].pop(cell, None)
        for event_id, stored in self._seen.items():
            if self._flat(stored)[0] not in customers:
                continue
            for position, cell, item in self._contributions(event_id, self._entry(stored)):
                if (position, cell) in dirty:
                    self._plans[position].kind.add(self._states[position], cell, item)

    # -- equality and serialization --------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        """Same meters, periods, cell states, events (content, not rank) and conflicts."""
        if not isinstance(other, Accumulator):
            return NotImplemented
        return (
            self._meter_specs == other._meter_specs
            and self._index == other._index
            and self._states == other._states
            and self._seen.keys() == other._seen.keys()
            and all(
                self._same_stored(stored, other, other._seen[k])
                for k, stored in self._seen.items()
            )
            and self._refused_texts() == other._refused_texts()
        )

    __hash__ = None  # type: ignore[assignment]  # mutable: add changes it

    def __repr__(self) -> str:
        """A locale-free summary."""
        cells = sum(len(cells) for cells in self._states)
        return (
            f"Accumulator({len(self._meters)} meters, {len(self._seen)} events, "
            f"{cells} cells, part {self._part})"
        )

    def _refused_texts(self) -> dict[str, list[str]]:
        return {
            k: sorted(_canonical(k, c) for c in versions) for k, versions in self._refused.items()
        }

    def to_json(self) -> str:
        """The whole accumulator as JSON text; :meth:`from_json` reads it back exactly."""
        states: dict[str, list[Any]] = {}
        for plan in self._plans:
            kind = plan.kind
            states[plan.name] = [
                [key, customer, [list(pair) for pair in group], kind.dump(state)]
                for (key, customer, group), state in self._states[plan.position].items()
            ]
        document = {
            "format": _FORMAT,
            "meters": self._meter_specs,
            "periods": self._index.spec(),
            "part": self._part,
            "received": self._received,
            "events": [
                [*_content_json(k, entry), entry[4], entry[5]]
                for k, entry in ((k, self._entry(stored)) for k, stored in self._seen.items())
            ],
            "refused": [
                _content_json(k, c) for k, versions in self._refused.items() for c in versions
            ],
            "states": states,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Accumulator:
        """The accumulator that :meth:`to_json` wrote; a ``DocumentError`` when it is invalid."""
        try:
            return cls._load(json.loads(text, parse_float=Decimal))
        except MeterlibError as error:
            if isinstance(error, DocumentError):
                raise
            raise DocumentError("accumulator", [("", str(error))]) from None
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
            problem = f"{type(error).__name__}: {error}"
            raise DocumentError("accumulator", [("", problem)]) from None

    @classmethod
    def _load(cls, data: Any) -> Accumulator:
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise DocumentError("accumulator", [("format", f"expected {_FORMAT!r}")])
        result = cls.__new__(cls)
        result._setup(
            tuple(parse_meters(data["meters"])),
            PeriodIndex.from_spec(data["periods"]),
            _whole(data["part"], "part"),
        )
        result._received = _whole(data["received"], "received")
        for item in data["events"]:
            event_id, customer, kind, time, props, part, seq = item
            checked = check_event(
                {"id": event_id, "customer": customer, "type": kind, "time": time,
                 "properties": _props_load(props)}
            )
            rank = (_whole(part, "events.part"), _whole(seq, "events.sequence"))
            result._seen[event_id] = _pack(checked, time, rank)
        for item in data["refused"]:
            event_id, customer, kind, time, props = item
            if event_id not in result._seen:
                raise DocumentError("accumulator", [("refused", f"unknown event id {event_id!r}")])
            checked = check_event(
                {"id": event_id, "customer": customer, "type": kind, "time": time,
                 "properties": _props_load(props)}
            )
            result._refused.setdefault(event_id, []).append(
                (*checked[1:4], tuple(checked[4].items()))
            )
        names = {plan.name: plan for plan in result._plans}
        if set(data["states"]) != set(names):
            raise DocumentError("accumulator", [("states", "one list of cells per meter")])
        for name, cells in data["states"].items():
            plan = names[name]
            target = result._states[plan.position]
            for key, customer, group, dumped in cells:
                if type(customer) is not str:
                    raise DocumentError("accumulator", [(f"states.{name}", "customer text")])
                pairs = tuple((str(k), str(v)) for k, v in group)
                target[(_whole(key, "period key", signed=True), customer, pairs)] = plan.kind.load(
                    dumped
                )
        return result


def _first(event_id: str, a: _Entry, b: _Entry) -> bool:
    """True when copy ``a`` of ``event_id`` ranks before copy ``b`` (see module doc)."""
    if (a[4], a[5]) != (b[4], b[5]):
        return (a[4], a[5]) < (b[4], b[5])
    return _canonical(event_id, a) <= _canonical(event_id, b)


def _meter_spec(meter: Meter) -> dict[str, Any]:
    return meter.model_dump(mode="json", by_alias=True, exclude_none=True)


def _whole(value: Any, field: str, *, signed: bool = False) -> int:
    if type(value) is not int or (value < 0 and not signed):
        raise InvalidValueError(field, value, "a whole number")
    return value


def _props_load(props: Any) -> Any:
    if not isinstance(props, dict):
        raise InvalidValueError("properties", props, "an object of property values")
    loaded: dict[str, Any] = {}
    for key, value in props.items():
        if isinstance(value, dict):
            if set(value) != {"decimal"} or type(value["decimal"]) is not str:
                raise InvalidValueError(f"properties.{key}", value, '{"decimal": "<text>"}')
            loaded[key] = to_decimal(value["decimal"], f"properties.{key}")
        else:
            loaded[key] = value
    return loaded
