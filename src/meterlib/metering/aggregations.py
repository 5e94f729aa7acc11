"""Mergeable partial states, one kind per aggregation.

An accumulator keeps, for every (meter, period, customer, group) cell, a small *partial state*
that can absorb one more event's contribution and merge with the state of the same cell built
elsewhere. Merging is associative and commutative, and the fresh state (the key's absence) is its
identity, so partial aggregates of disjoint parts of a stream combine into the aggregate of the
whole in any order and grouping.

=================  ===========================================  =================================
aggregation        partial state                                contribution of one event
=================  ===========================================  =================================
``count``          ``int`` events                               ``1``
``sum``            ``Decimal`` total                            the property's value
``min``/``max``    ``Decimal`` extreme                          the property's value
``unique_count``   ``set[str]`` distinct values, as text        the value as text
``latest``         ``(time µs, event id, Decimal)``, greatest   the triple
``weighted_sum``   ``Decimal`` Σ increment × (end − time) µs    increment × (period end − time)
=================  ===========================================  =================================

``latest`` keeps the triple that is greatest as a tuple: greatest time, then greatest event id.
Ids are unique in an accumulator, so the order is total and the result never depends on arrival
order, even when times tie.

``weighted_sum``: events carry *increments* of a running level that starts at zero at the
period's start. The level is ``Σ increments with time ≤ t``, so its integral over ``[start, end)``
is ``Σ increment × (end − time)``: every increment holds from its own time to the period's end.
That sum is order-free and additive, so the partial state is one ``Decimal`` (in microsecond
units, exact because times are integer microseconds) and the value is that integral divided by
the period's length. The division is exact when the quotient ends within 40 decimal places and
otherwise rounded once, half-even, to 40 places (:func:`meterlib._numbers.quotient`), the most
any meterlib number carries, so pricing the average stays exact; rounding for display or
pricing is a later, explicit step.

``count``, ``sum`` and ``weighted_sum`` are *additive*: the same event counted twice changes
them. The others are *idempotent*: absorbing an event already absorbed changes nothing. The
accumulator uses this to decide which cells need recomputing when two partial aggregates both
hold a copy of one event.
"""

from __future__ import annotations

from collections.abc import Hashable, MutableMapping
from decimal import Decimal
from typing import Any, ClassVar

from meterlib._numbers import EXACT, computed_figure, quotient, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.metering.meters import Aggregation

__all__ = ["KINDS", "PartialKind"]

_ZERO = Decimal(0)

#: A cell's partial state; its type depends on the aggregation (see the module docstring).
State = Any


class PartialKind:
    """How one aggregation absorbs contributions, merges states, and reads a value.

    Stateless: one instance per aggregation lives in :data:`KINDS`. States are kept in a plain
    dict owned by the caller, keyed by cell, and a missing key is the empty state.
    """

    aggregation: ClassVar[Aggregation]
    #: True when absorbing the same contribution twice changes the state.
    additive: ClassVar[bool]
    #: The value of a cell that no event reached.
    empty: ClassVar[Decimal | None]

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        """Absorb one event's contribution ``item`` into ``states[key]``."""
        raise NotImplementedError

    def merge(self, states: MutableMapping[Any, State], key: Hashable, other: State) -> None:
        """Merge the partial state ``other`` of the same cell into ``states[key]``."""
        raise NotImplementedError

    def subtract(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        """Take back a contribution that :meth:`add` absorbed (additive kinds only).

        A merge uses it when both parts counted a copy of one event: the copy that lost is
        taken out again. Idempotent kinds never need it, since a second copy changed nothing.
        """
        raise NotImplementedError

    def value(self, state: State, span: int) -> Decimal | None:
        """The cell's figure; ``span`` is the period's length in microseconds."""
        raise NotImplementedError

    def copy(self, state: State) -> State:
        """A state that shares nothing mutable with ``state``."""
        return state

    def dump(self, state: State) -> Any:
        """A JSON-ready form of ``state``; decimals as strings so no digit is lost."""
        return str(state)

    def load(self, data: Any) -> State:
        """The state that :meth:`dump` wrote, validated (a figure, not bounded as inputs are)."""
        return computed_figure(data, self.aggregation.value)


def _text(data: Any, field: str) -> str:
    if type(data) is not str:
        raise InvalidValueError(field, data, "a decimal written as a JSON string")
    return data


class _Count(PartialKind):
    aggregation = Aggregation.COUNT
    additive = True
    empty = _ZERO

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:  # noqa: ARG002  (counts one)
        states[key] = states.get(key, 0) + 1

    def merge(self, states: MutableMapping[Any, State], key: Hashable, other: State) -> None:
        states[key] = states.get(key, 0) + other

    def subtract(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:  # noqa: ARG002  (takes one)
        states[key] -= 1

    def value(self, state: State, span: int) -> Decimal | None:  # noqa: ARG002  (no span needed)
        return to_decimal(state)

    def load(self, data: Any) -> State:
        text = _text(data, "count")
        if not text.isdecimal() or not text.isascii():
            raise InvalidValueError("count", data, "a whole number of events written as text")
        return int(text)


class _Sum(PartialKind):
    aggregation = Aggregation.SUM
    additive = True
    empty = _ZERO

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        states[key] = EXACT.add(states.get(key, _ZERO), item)

    def merge(self, states: MutableMapping[Any, State], key: Hashable, other: State) -> None:
        states[key] = EXACT.add(states.get(key, _ZERO), other)

    def subtract(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        states[key] = EXACT.subtract(states[key], item)

    def value(self, state: State, span: int) -> Decimal | None:  # noqa: ARG002  (no span needed)
        return state  # type: ignore[no-any-return]


class _Min(PartialKind):
    aggregation = Aggregation.MIN
    additive = False
    empty = None

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        current = states.get(key)
        if current is None or item < current:
            states[key] = item

    def merge(self, states: MutableMapping[Any, State], key: Hashable, other: State) -> None:
        self.add(states, key, other)

    def value(self, state: State, span: int) -> Decimal | None:  # noqa: ARG002  (no span needed)
        return state  # type: ignore[no-any-return]


class _Max(_Min):
    aggregation = Aggregation.MAX

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        current = states.get(key)
        if current is None or item > current:
            states[key] = item


class _UniqueCount(PartialKind):
    aggregation = Aggregation.UNIQUE_COUNT
    additive = False
    empty = _ZERO

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        current = states.get(key)
        if current is None:
            states[key] = {item}
        else:
            current.add(item)

    def merge(self, states: MutableMapping[Any, State], key: Hashable, other: State) -> None:
        current = states.get(key)
        if current is None:
            states[key] = set(other)
        else:
            current.update(other)

    def value(self, state: State, span: int) -> Decimal | None:  # noqa: ARG002  (no span needed)
        return to_decimal(len(state))

    def copy(self, state: State) -> State:
        return set(state)

    def dump(self, state: State) -> Any:
        return sorted(state)

    def load(self, data: Any) -> State:
        if not isinstance(data, list) or not all(type(item) is str for item in data):
            raise InvalidValueError("unique_count", data, "a list of distinct values as text")
        return set(data)


class _Latest(PartialKind):
    aggregation = Aggregation.LATEST
    additive = False
    empty = None

    def add(self, states: MutableMapping[Any, State], key: Hashable, item: Any) -> None:
        current = states.get(key)
        # (time, id) decides; ids are unique within an accumulator, so the value never does.
        if current is None or item[:2] > current[:2]:
            states[key] = item

    def merge(self, states: MutableMapping[Any, State], key: Hashable, other: State) -> None:
        self.add(states, key, other)

    def value(self, state: State, span: int) -> Decimal | None:  # noqa: ARG002  (no span needed)
        return state[2]  # type: ignore[no-any-return]

    def dump(self, state: State) -> Any:
        micros, event_id, value = state
        return [str(micros), event_id, str(value)]

    def load(self, data: Any) -> State:
        if not (isinstance(data, list) and len(data) == 3 and type(data[1]) is str):
            raise InvalidValueError("latest", data, "a list [time in µs, event id, value]")
        micros = _text(data[0], "latest")
        if not micros.lstrip("-").isdecimal() or not micros.isascii():
            raise InvalidValueError("latest", data, "a time in whole microseconds as text")
        return (int(micros), data[1], to_decimal(_text(data[2], "latest"), "latest"))


class _WeightedSum(_Sum):
    aggregation = Aggregation.WEIGHTED_SUM

    def value(self, state: State, span: int) -> Decimal | None:
        return quotient(state, to_decimal(span))


#: The partial-state kind of every aggregation.
KINDS: dict[Aggregation, PartialKind] = {
    kind.aggregation: kind
    for kind in (_Count(), _Sum(), _Min(), _Max(), _UniqueCount(), _Latest(), _WeightedSum())
}
