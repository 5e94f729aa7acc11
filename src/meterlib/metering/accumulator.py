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
(accepted or outside every period), the event's content and its rank: roughly 0.5 KB per id in
memory, and the same content in :meth:`~Accumulator.to_json`. That is the price of exact
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
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal, localcontext
from types import MappingProxyType
from typing import Any

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError
from meterlib.metering._buckets import EPOCH, PeriodIndex
from meterlib.metering.aggregations import KINDS, PartialKind, State
from meterlib.metering.events import EventError, PropertyValue, UsageEvent, value_text
from meterlib.metering.meters import Aggregation, Meter, parse_meters
from meterlib.metering.report import BatchReport, Conflict, Rejection
from meterlib.metering.table import GroupKey, UsageKey, UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = ["Accumulator"]

_MICRO = timedelta(microseconds=1)
_FIELDS = frozenset({"id", "customer", "type", "time", "properties"})
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
#: The content of one version of an event.
_Content = tuple[str, str, datetime, "_Props"]
#: Properties as a tuple of pairs: an immutable snapshot that the garbage collector can stop
#: tracking, which keeps collections cheap when millions of ids are remembered.
_Props = tuple[tuple[str, PropertyValue], ...]
#: A cell inside one meter's states: ``(period key, customer, group)``.
_Cell = tuple[int, str, GroupKey]
#: One matching meter's reading of an event: ``(plan, group, value)``.
_Reading = tuple["_Plan", GroupKey, Any]


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


def _validate(raw: Any) -> tuple[str, str, str, datetime, dict[str, PropertyValue]]:  # noqa: PLR0912  (one branch per rule, kept flat for speed)
    """Check one event (a UsageEvent or a mapping) and return its fields; raise EventError."""
    if type(raw) is dict or isinstance(raw, Mapping):
        event_id = raw.get("id")
        if type(event_id) is not str or not event_id:
            raise EventError(event_id, "id", event_id, "a non-empty string")
        if not raw.keys() <= _FIELDS:
            unknown = min(str(key) for key in raw.keys() - _FIELDS)
            value = next(v for k, v in raw.items() if str(k) == unknown)
            raise EventError(event_id, unknown, value, f"one of {sorted(_FIELDS)}")
        customer = raw.get("customer")
        kind = raw.get("type")
        time = raw.get("time")
        properties = raw.get("properties")
    elif isinstance(raw, UsageEvent):
        event_id, customer, kind = raw.id, raw.customer, raw.type
        time, properties = raw.time, raw.properties
        if type(event_id) is not str or not event_id:
            raise EventError(event_id, "id", event_id, "a non-empty string")
    else:
        raise EventError(None, "event", raw, "a UsageEvent or a mapping of event fields")
    if type(customer) is not str or not customer:
        raise EventError(event_id, "customer", customer, "a non-empty string")
    if type(kind) is not str or not kind:
        raise EventError(event_id, "type", kind, "a non-empty string")
    if type(time) is str:
        try:
            moment = datetime.fromisoformat(time)
        except ValueError:
            raise EventError(event_id, "time", time, "an ISO 8601 time with an offset") from None
    elif isinstance(time, datetime):
        moment = time
    else:
        raise EventError(event_id, "time", time, "an ISO 8601 time with an offset")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise EventError(event_id, "time", time, "a time with an offset (naive times are refused)")
    if properties is None:
        return event_id, customer, kind, moment, {}
    if not isinstance(properties, Mapping):
        raise EventError(
            event_id, "properties", properties, "a mapping of property names to values"
        )
    props = dict(properties)
    for value in props.values():
        if type(value) is not str:
            props = {key: _property(event_id, key, value) for key, value in props.items()}
            break
    return event_id, customer, kind, moment, props


def _property(event_id: str, key: Any, value: Any) -> PropertyValue:
    if type(key) is not str:
        raise EventError(event_id, "properties", key, "string keys")
    if type(value) is str:
        return value
    try:
        return to_decimal(value, f"properties.{key}")
    except InvalidValueError as error:
        raise EventError(event_id, f"properties.{key}", value, error.expected) from None


def _rejection(index: int, raw: Any, error: InvalidValueError) -> Rejection:
    event_id = getattr(error, "event_id", None)
    if event_id is None and isinstance(raw, Mapping):
        event_id = raw.get("id")
    return Rejection(
        index=index,
        event_id=event_id if type(event_id) is str else None,
        field=error.field or None,
        reason=str(error),
    )


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
        self._seen: dict[str, _Entry] = {}
        self._refused: dict[str, list[_Content]] = {}
        self._states: list[dict[_Cell, State]] = [{} for _ in self._plans]
        self._numbers: dict[str, Decimal] = {}

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
            winner = self._seen[event_id]
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

    def add(  # noqa: PLR0912, PLR0915  (the hot path is one flat loop on purpose: no calls)
        self, events: Iterable[UsageEvent | Mapping[str, Any]]
    ) -> BatchReport:
        """Validate, deduplicate and count a batch; report where every event went.

        Never raises on a bad event: it is rejected with its reason and changes nothing.
        """
        seen = self._seen
        by_type = self._by_type
        simple = self._simple
        numbers = self._numbers
        states = self._states
        index = self._index
        bounds, keys = index.bounds, index.keys
        read = self._read
        part = self._part
        sequence = self._received
        fromisoformat = datetime.fromisoformat
        received = accepted = duplicates = outside = unmetered = 0
        conflicts: list[Conflict] = []
        rejected: list[Rejection] = []
        readings: Sequence[_Reading] = ()
        # Raw input is untyped until checked; these names hold checked values after the try.
        event_id: Any
        customer: Any
        kind: Any
        time: Any
        props: Any
        cell: Any
        with localcontext(EXACT):
            for position, raw in enumerate(events):
                received += 1
                try:
                    # Fast path: a plain dict of exactly the five fields, text values only.
                    # Anything unusual goes through _validate, which also names the problem.
                    fast = None
                    if type(raw) is dict and len(raw) == 5:
                        event_id = raw.get("id")
                        customer = raw.get("customer")
                        kind = raw.get("type")
                        text = raw.get("time")
                        props = raw.get("properties")
                        if (
                            type(event_id) is str
                            and event_id
                            and type(customer) is str
                            and customer
                            and type(kind) is str
                            and kind
                            and type(text) is str
                            and type(props) is dict
                        ):
                            try:
                                time = fromisoformat(text)
                            except ValueError:
                                time = None
                            if time is not None and time.tzinfo is not None:
                                fast = True
                                for found in props.values():
                                    if type(found) is not str:
                                        fast = None
                                        break
                    if fast is None:
                        event_id, customer, kind, time, props = _validate(raw)
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
                    rejected.append(_rejection(position, raw, error))
                    continue
                entry = seen.get(event_id)
                if entry is not None:
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
                micro = (time - EPOCH) // _MICRO
                j = bisect_right(bounds, micro) - 1
                key = keys[j] if 0 <= j < len(keys) else index.locate(micro)
                sequence += 1
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
                        plan.kind.add(cells, cell, self._item(plan, key, micro, event_id, reading))
        self._received = sequence
        return BatchReport(
            received=received,
            accepted=accepted,
            duplicates=duplicates,
            outside=outside,
            unmetered=unmetered,
            conflicts=tuple(conflicts),
            rejected=tuple(rejected),
        )

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
        return Conflict(_event(event_id, self._seen[event_id]), _event(event_id, content))

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
            for event_id, theirs in other._seen.items():
                mine = seen.get(event_id)
                if mine is None:
                    seen[event_id] = theirs
                    continue
                winner, loser = (mine, theirs) if _first(event_id, mine, theirs) else (theirs, mine)
                seen[event_id] = winner
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
        winner = self._seen[event_id]
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
        for event_id, entry in self._seen.items():
            if entry[0] not in customers:
                continue
            for position, cell, item in self._contributions(event_id, entry):
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
            and all(_same(entry, other._seen[k]) for k, entry in self._seen.items())
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
                [*_content_json(k, entry), entry[4], entry[5]] for k, entry in self._seen.items()
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
            checked = _validate(
                {"id": event_id, "customer": customer, "type": kind, "time": time,
                 "properties": _props_load(props)}
            )
            entry = (
                *checked[1:4],
                tuple(checked[4].items()),
                _whole(part, "events.part"),
                _whole(seq, "events.sequence"),
            )
            result._seen[event_id] = entry
        for item in data["refused"]:
            event_id, customer, kind, time, props = item
            if event_id not in result._seen:
                raise DocumentError("accumulator", [("refused", f"unknown event id {event_id!r}")])
            checked = _validate(
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
