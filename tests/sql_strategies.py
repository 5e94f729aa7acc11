"""Strategies and writers for the SQL engines' tests: event streams as files DuckDB reads.

The event streams themselves come from :func:`tests.metering_strategies.event_sets` (the same
hard cases the accumulator is tested on); this module writes a stream, in arrival order, as
JSON Lines, CSV (one column per property) or Parquet, so the same stream reaches both engines.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

__all__ = ["FORMATS", "formats", "write_events"]

#: File formats an event stream can be written in.
FORMATS = ("jsonl", "csv", "parquet")


def formats() -> st.SearchStrategy[str]:
    """One of :data:`FORMATS`."""
    return st.sampled_from(FORMATS)


def _text(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


def _write_csv(path: Path, events: Sequence[dict[str, Any]]) -> None:
    names = sorted({name for event in events for name in event.get("properties", {})})
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "customer", "type", "time", *names])
        for event in events:
            properties = event.get("properties", {})
            writer.writerow(
                [
                    event["id"],
                    event["customer"],
                    event["type"],
                    event["time"],
                    *(
                        "" if properties.get(n) is None else str(_text(properties[n]))
                        for n in names
                    ),
                ]
            )


def write_events(folder: Path, events: Sequence[dict[str, Any]], fmt: str) -> Path:
    """Write ``events`` (raw event dicts, in arrival order) into ``folder`` as ``fmt``."""
    if fmt == "jsonl":
        path = folder / "events.jsonl"
        lines = [json.dumps(event, default=_text) for event in events]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path
    text = folder / "events.csv"
    _write_csv(text, events)
    if fmt == "csv":
        return text
    import duckdb  # noqa: PLC0415  (test helper; DuckDB is in the test extra)

    path = folder / "events.parquet"
    with duckdb.connect() as connection:
        scan = connection.read_csv(str(text), header=True, all_varchar=True)
        scan.write_parquet(str(path))
    text.unlink()
    return path
