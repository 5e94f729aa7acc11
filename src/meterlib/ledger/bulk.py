"""Where the rows of a columnar batch go: the few that need a decision, found in columns.

A batch read in columns (:class:`meterlib.ledger.blocks.ColumnBlock`) holds only valid events as
stored rows. Most of them are new ids seen once: they are stored, nothing to decide. The rows
whose id is repeated within the batch or was stored by an earlier batch are found with
vectorised look-ups, turned back into checked events and sorted by
:func:`~meterlib.ledger.events.sort_batch`, the one rule every backend applies, so a batch
reads the same whichever path stored it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meterlib.ledger.rows import Row, event_of
from meterlib.metering.events import CheckedEvent
from meterlib.metering.report import BatchReport, Conflict

__all__ = ["Sorted", "checked_of", "sort_rows", "to_rows"]


def to_rows(table: Any) -> list[Row]:
    """The stored rows of a table in the row layout, as Python tuples."""
    columns = [table.column(i).to_pylist() for i in range(7)]
    return list(zip(*columns, strict=True))


def checked_of(row: Sequence[Any]) -> CheckedEvent:
    """The checked event a stored row holds."""
    event = event_of(row)
    return event.id, event.customer, event.type, event.time, dict(event.properties)


@dataclass(frozen=True, slots=True)
class Sorted:
    """Where a columnar batch's rows go.

    ``skip`` lists the positions not to store (ids stored before, later copies of an id);
    ``found`` the conflicts as ``(position, conflict, refused row)`` in batch order.
    """

    received: int
    accepted: int
    duplicates: int
    skip: list[int]
    found: list[tuple[int, Conflict, Row]]

    def report(self) -> BatchReport:
        """The batch's report (nothing rejected: a columnar batch holds valid events only)."""
        return BatchReport(
            received=self.received,
            accepted=self.accepted,
            duplicates=self.duplicates,
            conflicts=tuple(conflict for _, conflict, _ in self.found),
        )


def repeated(table: Any) -> list[str]:
    """The ids that stand more than once in the table."""
    import pyarrow.compute as pc  # noqa: PLC0415  (optional dependency)

    counts = pc.value_counts(table.column("id"))
    many = pc.greater(counts.field("counts"), 1)
    return [str(value) for value in counts.field("values").filter(many).to_pylist()]


def sort_rows(table: Any, stored: Mapping[str, Sequence[Any]], again: Sequence[str]) -> Sorted:
    """Sort a batch against ``stored`` (rows of its ids stored before); ``again``: repeated ids.

    Only rows whose id is in ``stored`` or ``again`` are looked at one by one.
    """
    import numpy as np  # noqa: PLC0415  (optional dependency)
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    from meterlib.ledger.events import sort_batch  # noqa: PLC0415  (events imports this module)

    count = int(table.num_rows)
    keys = [*stored, *again]
    if not keys:
        return Sorted(count, count, 0, [], [])
    mask = pc.is_in(table.column("id"), value_set=pa.array(keys, pa.string()))
    positions = np.flatnonzero(mask.to_numpy(zero_copy_only=False)).tolist()
    rows = to_rows(table.take(pa.array(positions, pa.int64())))
    first: dict[str, tuple[int, CheckedEvent, bool, bool]] = {}
    later: list[tuple[int, CheckedEvent]] = []
    skip: list[int] = []
    for position, row in zip(positions, rows, strict=True):
        checked = checked_of(row)
        if row[0] in first:
            later.append((position, checked))
            skip.append(position)
            continue
        first[row[0]] = (position, checked, False, True)
        if row[0] in stored:
            skip.append(position)
    accepted, _, _, duplicates, found = sort_batch(first, later, stored)
    return Sorted(count, count - len(positions) + accepted, duplicates, skip, found)
