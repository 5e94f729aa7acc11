"""Aggregate parts of an event stream in separate processes and merge the partial aggregates.

Each worker builds an :class:`~meterlib.metering.accumulator.Accumulator` for one contiguous
chunk of ``events.jsonl`` (its ``part`` is the chunk's index, so "first received" across chunks
follows the file order), and sends it back as JSON text. The parent merges the parts and checks
that the result equals one accumulator fed the whole file: same usage, same conflicts.

Run it from the repository root: ``python examples/metering/parallel_aggregate.py``.
"""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from decimal import Decimal
from functools import reduce
from pathlib import Path
from typing import Any

from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import load_meters
from meterlib.periods import BillingCycle

HERE = Path(__file__).resolve().parent
CYCLE = BillingCycle(anchor=date(2024, 1, 1), timezone="UTC")
WORKERS = 4


def read_lines() -> tuple[list[Any], list[int]]:
    """Parsed events (numbers as Decimal) and the line numbers that are not valid JSON."""
    events: list[Any] = []
    broken: list[int] = []
    lines = (HERE / "events.jsonl").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            events.append(json.loads(line, parse_float=Decimal))
        except json.JSONDecodeError:
            broken.append(number)
    return events, broken


def aggregate_part(part: int, events: list[Any]) -> str:
    """Worker: the partial aggregate of one chunk, as JSON text."""
    accumulator = Accumulator(load_meters(HERE / "meters.toml"), CYCLE, part=part)
    report = accumulator.add(events)
    print(f"part {part}: {report.summary()}")
    return accumulator.to_json()


def main() -> None:
    """Split, aggregate in a process pool, merge, compare with the whole."""
    events, broken = read_lines()
    print(f"{len(events)} events read; lines not valid JSON (reported, not lost): {broken}")
    size = -(-len(events) // WORKERS)
    chunks = [events[i : i + size] for i in range(0, len(events), size)]
    with ProcessPoolExecutor(max_workers=WORKERS) as pool:
        texts = list(pool.map(aggregate_part, range(len(chunks)), chunks))
    parts = [Accumulator.from_json(text) for text in texts]
    merged = reduce(lambda a, b: a | b, reversed(parts))  # any order gives the same result

    whole = Accumulator(load_meters(HERE / "meters.toml"), CYCLE)
    whole.add(events)
    if merged.usage() != whole.usage() or merged.conflicts != whole.conflicts:
        raise SystemExit("merged parts differ from the whole stream")
    print("merged parts equal the whole stream: same usage, same conflicts")
    for conflict in merged.conflicts:
        first, second = conflict.first.to_dict(), conflict.second.to_dict()
        print(f"conflict on {conflict.event_id}: kept {first['properties']}")
        print(f"{'':>{len(conflict.event_id) + 13}}refused {second['properties']}")
    print(merged.usage().render("text"), end="")


if __name__ == "__main__":
    main()
