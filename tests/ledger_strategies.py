"""Hypothesis strategies for the ledger's laws, built on the shared metering strategies.

:func:`batched_streams` draws a stream from :func:`tests.metering_strategies.event_sets` (with
duplicates, re-sends in other offsets, conflicts, boundary and outside events), mixes in
invalid events (a naive time, a quantity that is not a number, a missing quantity, a float, an
unknown field), and cuts it into batches.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from hypothesis import strategies as st

from meterlib.testing.events import event_sets, split_points

__all__ = ["batched_streams", "invalid_events"]


@st.composite
def invalid_events(draw: st.DrawFn, valid: dict[str, Any]) -> dict[str, Any]:
    """A broken copy of ``valid`` (under a new id or the same one)."""
    event = {**valid, "properties": dict(valid["properties"])}
    if draw(st.booleans()):
        event["id"] = f"bad-{draw(st.integers(0, 9))}"
    how = draw(st.integers(0, 4))
    if how == 0:
        event["time"] = event["time"][:19]  # naive
    elif how == 1:
        event["properties"]["qty"] = "12abc"
    elif how == 2:
        # a missing quantity (events of a type no meter reads may have none to lose)
        event["properties"].pop("qty", None)
    elif how == 3:
        event["properties"]["qty"] = 0.5  # a float
    else:
        event["propertis"] = {}
    return event


@st.composite
def batched_streams(draw: st.DrawFn, *, max_events: int = 30) -> list[list[Any]]:
    """A stream of raw events with hard cases and invalid events, cut into batches."""
    stream: list[Any] = draw(event_sets(max_events=max_events, typed_numbers=True))
    if stream:
        for _ in range(draw(st.integers(0, 3))):
            broken = draw(invalid_events(draw(st.sampled_from(stream))))
            stream.insert(draw(st.integers(0, len(stream))), broken)
    cuts = draw(split_points(len(stream)))
    bounds = [0, *cuts, len(stream)]
    return [stream[a:b] for a, b in pairwise(bounds)]
