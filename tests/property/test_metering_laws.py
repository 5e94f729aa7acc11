"""Laws of the accumulator: merging is a commutative monoid, splits and batches do not matter."""

from __future__ import annotations

import itertools
from functools import reduce
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from meterlib.metering.accumulator import Accumulator
from meterlib.testing.events import CYCLE, METERS, WINDOW, event_sets, split_points


def fresh(part: int = 0) -> Accumulator:
    return Accumulator(METERS, CYCLE, window=WINDOW, part=part)


def filled(events: list[dict[str, Any]], part: int = 0) -> Accumulator:
    accumulator = fresh(part)
    accumulator.add(events)
    return accumulator


def same(a: Accumulator, b: Accumulator) -> None:
    assert a == b
    assert a.usage() == b.usage()
    assert a.conflicts == b.conflicts


def parts_of(events: list[dict[str, Any]], cuts: list[int]) -> list[list[dict[str, Any]]]:
    bounds = [0, *cuts, len(events)]
    return [events[lo:hi] for lo, hi in itertools.pairwise(bounds)]


@st.composite
def accumulators(draw: st.DrawFn) -> Accumulator:
    return filled(draw(event_sets(max_events=15, typed_numbers=True)), draw(st.integers(0, 3)))


@given(accumulators(), accumulators(), accumulators())
def test_merge_is_associative(a, b, c):
    same((a | b) | c, a | (b | c))


@given(accumulators(), accumulators())
def test_merge_is_commutative(a, b):
    same(a | b, b | a)


@given(accumulators())
def test_the_empty_accumulator_is_the_identity(a):
    same(a | fresh(), a)
    same(fresh() | a, a)


@given(accumulators(), accumulators())
def test_merge_leaves_its_inputs_unchanged(a, b):
    before_a, before_b = a.to_json(), b.to_json()
    a.merge(b)
    assert a.to_json() == before_a
    assert b.to_json() == before_b


@given(st.data(), event_sets(typed_numbers=True))
def test_any_split_merged_in_any_order_equals_the_whole(data, events):
    cuts = data.draw(split_points(len(events)))
    parts = [filled(part, number) for number, part in enumerate(parts_of(events, cuts))]
    order = data.draw(st.permutations(range(len(parts))))
    # Merge in the drawn order, grouping pairwise from the right or the left as drawn.
    shuffled = [parts[i] for i in order]
    if data.draw(st.booleans()):
        merged = reduce(lambda acc, part: acc | part, shuffled)
    else:
        merged = reduce(lambda acc, part: part | acc, reversed(shuffled))
    same(merged, filled(events))


@given(event_sets(typed_numbers=True))
def test_feeding_the_same_events_twice_changes_nothing(events):
    accumulator = filled(events)
    before = accumulator.to_json()
    report = accumulator.add(events)
    assert accumulator.to_json() == before
    assert report.accepted == report.outside == 0
    assert report.received == report.duplicates + report.conflict_count


@given(st.data(), event_sets(typed_numbers=True))
def test_batch_boundaries_do_not_matter(data, events):
    cuts = data.draw(split_points(len(events)))
    accumulator = fresh()
    for batch in parts_of(events, cuts):
        accumulator.add(batch)
    same(accumulator, filled(events))


@given(st.data(), event_sets(typed_numbers=True))
def test_arrival_order_does_not_matter_once_each_id_has_one_version(data, events):
    first: dict[str, dict[str, Any]] = {}
    for event in events:
        first.setdefault(event["id"], event)
    # Keep exact re-sends (same content), drop conflicting versions: then order cannot matter.
    conflicted = {c.event_id for c in filled(events).conflicts}
    kept = [e for e in events if e["id"] not in conflicted] + [first[i] for i in conflicted]
    shuffled = data.draw(st.permutations(kept))
    assert filled(list(shuffled)).usage() == filled(kept).usage()


@given(st.data(), event_sets(typed_numbers=True))
def test_parts_survive_json_between_processes(data, events):
    cuts = data.draw(split_points(len(events)))
    parts = [filled(part, number) for number, part in enumerate(parts_of(events, cuts))]
    texts = [part.to_json() for part in parts]
    loaded = [Accumulator.from_json(text) for text in texts]
    assert [part.to_json() for part in loaded] == texts
    same(reduce(lambda acc, part: acc | part, loaded, fresh()), filled(events))


@given(event_sets(typed_numbers=True))
def test_every_event_is_accounted_for(events):
    report = fresh().add(events)
    assert report.received == len(events)
    assert report.received == (
        report.accepted
        + report.duplicates
        + report.conflict_count
        + report.outside
        + report.rejected_count
    )
    assert report.rejected_count == 0
