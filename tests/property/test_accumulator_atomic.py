"""``Accumulator.add`` applies a batch whole or not at all.

Whatever raises part-way (the events' iterator, an interruption, an unexpected error inside),
the accumulator is left exactly as before the call: same JSON form, and adding the same batch
again afterwards gives what adding it once gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib.metering.accumulator import Accumulator
from tests.metering_strategies import CYCLE, METERS, WINDOW, event_sets


class BoomError(Exception):
    pass


def raising_after(events: list[dict[str, Any]], n: int, error: BaseException) -> Iterator[Any]:
    yield from events[:n]
    raise error


def filled(events: list[dict[str, Any]]) -> Accumulator:
    accumulator = Accumulator(METERS, CYCLE, window=WINDOW)
    accumulator.add(events)
    return accumulator


@given(
    before=event_sets(max_events=30, typed_numbers=True),
    batch=event_sets(max_events=30, typed_numbers=True),
    data=st.data(),
)
def test_a_batch_that_raises_part_way_changes_nothing(before, batch, data):
    accumulator = filled(before)
    snapshot = accumulator.to_json()
    n = data.draw(st.integers(0, len(batch)), label="raise after")
    error = data.draw(st.sampled_from([BoomError("boom"), KeyboardInterrupt()]), label="error")
    with pytest.raises(type(error)):
        accumulator.add(raising_after(batch, n, error))
    assert accumulator.to_json() == snapshot
    report = accumulator.add(batch)
    again = filled(before)
    assert report == again.add(batch)
    assert accumulator.to_json() == again.to_json()


@pytest.mark.parametrize("n", [0, 1, 2047, 2048, 2049, 4100])
def test_large_batches_on_both_paths_are_undone(n):
    def event(i: int, qty: str = "1") -> dict[str, Any]:
        return {
            "id": f"e{i}",
            "customer": f"c{i % 5}",
            "type": "api.call",
            "time": f"2024-02-{1 + i % 28:02d}T12:00:00+01:00",
            "properties": {"qty": qty, "region": "eu"},
        }

    accumulator = filled([event(i) for i in range(3000)])
    snapshot = accumulator.to_json()
    # New ids, duplicates and conflicts (ids below 3000 with another quantity).
    batch = [event(i, "2" if i % 3 else "1") for i in range(2000, 2000 + n)]
    with pytest.raises(BoomError):
        accumulator.add(raising_after(batch, n, BoomError()))
    assert accumulator.to_json() == snapshot


def test_an_error_inside_add_undoes_the_batch(monkeypatch):
    accumulator = filled([])
    snapshot = accumulator.to_json()
    events = [
        {
            "id": f"e{i}",
            "customer": "c",
            "type": "seat.seen",
            "time": "2024-01-05T00:00:00Z",
            "properties": {"qty": "1", "user": f"u{i}"},
        }
        for i in range(50)
    ]
    calls = 0
    original = Accumulator._add_each

    def failing(self: Accumulator, chunk: list[Any], offset: int, tally: Any) -> None:
        nonlocal calls
        calls += 1
        original(self, chunk[:25], offset, tally)
        raise MemoryError("out of memory half-way")

    monkeypatch.setattr(Accumulator, "_add_each", failing)
    with pytest.raises(MemoryError):
        accumulator.add(events)
    assert calls == 1
    assert accumulator.to_json() == snapshot
