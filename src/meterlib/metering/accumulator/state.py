"""Merging accumulators, comparing them, and their JSON form.

See the ``Accumulator`` docstring for what a merge means: the copy of an id with the lower
rank ``(part, sequence)`` counts, a losing copy is taken out of the cells again (subtracted
from additive cells, else by recomputing the cells it touched), and refused versions are kept
once each. :meth:`MergeState.to_json` and :meth:`MergeState.from_json` round-trip an
accumulator exactly (decimals as strings).
"""

from __future__ import annotations

import json
from decimal import Decimal, localcontext
from typing import Any, Self

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError
from meterlib.metering._buckets import EPOCH, PeriodIndex
from meterlib.metering.accumulator.plan import Cell
from meterlib.metering.accumulator.store import (
    MICRO,
    SLOT_BITS,
    Content,
    Entry,
    Store,
    canonical,
    content_json,
    pack,
    same,
)
from meterlib.metering.events import check_event
from meterlib.metering.meters import parse_meters
from meterlib.metering.reading import read_event

__all__ = ["FORMAT", "MergeState"]

#: The format named in an accumulator's JSON form.
FORMAT = "meterlib.accumulator/1"


class MergeState(Store):
    """Merge, equality and the JSON form of an accumulator (see the module docstring)."""

    __slots__ = ()

    def _contributions(self, event_id: str, entry: Content | Entry) -> list[tuple[int, Cell, Any]]:
        """Every (meter position, cell, contribution) of a stored copy; empty when outside."""
        customer, kind, time, props = entry[:4]
        micro = (time - EPOCH) // MICRO
        key = self._index.locate(micro)
        if key is None or kind not in self._by_type:
            return []
        readings = read_event(self._by_type[kind], event_id, dict(props), self._numbers)
        index = self._index
        return [
            (plan.position, (key, customer, group), plan.item(index, key, micro, event_id, value))
            for plan, group, value in readings
        ]

    # -- merging ---------------------------------------------------------------------------

    def _check_compatible(self, other: MergeState) -> None:
        if not isinstance(other, MergeState):
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

    def _copy(self) -> Self:
        result = type(self).__new__(type(self))
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

    def merge(self, other: Self) -> Self:  # noqa: PLR0912  (the steps read in order)
        """A new accumulator holding both parts; the inputs are unchanged (see module doc)."""
        self._check_compatible(other)
        result = self._copy()
        for plan in self._plans:
            kind = plan.kind
            cells = result._states[plan.position]
            for cell, state in other._states[plan.position].items():
                kind.merge(cells, cell, kind.copy(state))
        dirty: set[tuple[int, Cell]] = set()
        touched: set[str] = set()
        seen = result._seen
        with localcontext(EXACT):
            # Slots of the other accumulator's chunks move up past this one's chunks.
            shift = len(result._columns) << SLOT_BITS
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
                if not same(winner, loser):
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

    def _recompute(self, dirty: set[tuple[int, Cell]]) -> None:
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
        if not isinstance(other, MergeState):
            return NotImplemented
        return (
            self._meter_specs == other._meter_specs
            and self._index == other._index
            and self._states == other._states
            and self._seen.keys() == other._seen.keys()
            and all(
                self._same_stored(stored, other, other._seen[k]) for k, stored in self._seen.items()
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
            k: sorted(canonical(k, c) for c in versions) for k, versions in self._refused.items()
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
            "format": FORMAT,
            "meters": self._meter_specs,
            "periods": self._index.spec(),
            "part": self._part,
            "received": self._received,
            "events": [
                [*content_json(k, entry), entry[4], entry[5]]
                for k, entry in ((k, self._entry(stored)) for k, stored in self._seen.items())
            ],
            "refused": [
                content_json(k, c) for k, versions in self._refused.items() for c in versions
            ],
            "states": states,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Self:
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
    def _load(cls, data: Any) -> Self:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DocumentError("accumulator", [("format", f"expected {FORMAT!r}")])
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
                {
                    "id": event_id,
                    "customer": customer,
                    "type": kind,
                    "time": time,
                    "properties": _props_load(props),
                }
            )
            rank = (_whole(part, "events.part"), _whole(seq, "events.sequence"))
            result._seen[event_id] = pack(checked, time, rank)
        for item in data["refused"]:
            event_id, customer, kind, time, props = item
            if event_id not in result._seen:
                raise DocumentError("accumulator", [("refused", f"unknown event id {event_id!r}")])
            checked = check_event(
                {
                    "id": event_id,
                    "customer": customer,
                    "type": kind,
                    "time": time,
                    "properties": _props_load(props),
                }
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


def _first(event_id: str, a: Entry, b: Entry) -> bool:
    """True when copy ``a`` of ``event_id`` ranks before copy ``b`` (see module doc)."""
    if (a[4], a[5]) != (b[4], b[5]):
        return (a[4], a[5]) < (b[4], b[5])
    return canonical(event_id, a) <= canonical(event_id, b)


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
