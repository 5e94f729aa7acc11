"""The accumulator's per-event path: each event checked, deduplicated, bucketed and counted.

Every event that the column path (:mod:`.columns`) does not take comes here, one at a time:
checked by :func:`~meterlib.metering.events.check_event` (the one edge check), read by the
meters of its type (:func:`~meterlib.metering.reading.read_event`), remembered by id (see
:mod:`.store`) and folded into its cells. An invalid or unreadable event is rejected with its
reason and changes nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from meterlib.errors import InvalidValueError
from meterlib.metering._buckets import EPOCH, MISSING, DayTable
from meterlib.metering.accumulator.columns import Tally
from meterlib.metering.accumulator.plan import COUNT, LATEST, SUM, Reading
from meterlib.metering.accumulator.store import ABSENT, MICRO, Store, pack, same
from meterlib.metering.events import check_event
from meterlib.metering.reading import read_event, read_number
from meterlib.metering.report import Rejection

__all__ = ["EventPath"]

_ZERO = Decimal(0)


class EventPath(Store):
    """The per-event path of ``Accumulator.add`` (see the module docstring)."""

    __slots__ = ()

    def _add_each(  # noqa: PLR0912, PLR0915  (the hot path is one flat loop on purpose)
        self, events: list[Any], offset: int, tally: Tally
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
        part = self._part
        sequence = self._received
        check = check_event
        missing = MISSING
        accepted = duplicates = outside = unmetered = 0
        conflicts = tally.conflicts
        refusals = tally.refusals
        saves = [tally.saved.setdefault(plan.position, {}) for plan in self._plans]
        absent = ABSENT
        rejected = tally.rejected
        readings: Sequence[Reading] = ()
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
                event_id, customer, kind, time, props = check(raw, copy=False)
                # A time given as text is kept as text (see store.pack) and bucketed by its
                # local day; check_event parsed it with fromisoformat, so its zone is fixed.
                text = raw.get("time") if type(raw) is dict else None
                if type(text) is not str:
                    text = None
                single = simple.get(kind)
                if single is not None:
                    value = numbers.get(props.get(single.prop))
                    if value is None and single.code == SUM:
                        value = read_number(event_id, single.name, single.prop, props, numbers)
                elif kind in by_type:
                    readings = read_event(by_type[kind], event_id, props, numbers)
                else:
                    readings = ()
            except InvalidValueError as error:
                rejected.append(Rejection.of(position, raw, error))
                continue
            stored = seen.get(event_id)
            if stored is not None:
                entry = self._entry(stored)
                if same(entry, (customer, kind, time, props)):
                    duplicates += 1
                else:
                    version = (customer, kind, time, tuple(props.items()))
                    conflicts.append(self._refuse(event_id, version, refusals))
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
                    ((name, found),) = props.items()
                if len(props) == 1 and type(found) is str and type(name) is str:
                    seen[event_id] = (customer, kind, text, part, sequence, name, found)
                else:
                    seen[event_id] = pack(
                        (event_id, customer, kind, time, props), text, (part, sequence)
                    )
            else:
                micro = (time - EPOCH) // MICRO
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
                old = cells.get(cell, absent)
                kept = saves[single.position]
                if cell not in kept:
                    kept[cell] = old
                if old is absent:
                    old = _ZERO if single.code == SUM else 0
                cells[cell] = old + value if single.code == SUM else old + 1
                continue
            if not readings:
                unmetered += 1
                continue
            for plan, group, reading in readings:
                cell = (key, customer, group)
                code = plan.code
                cells = states[plan.position]
                kept = saves[plan.position]
                if cell not in kept:
                    old = cells.get(cell, absent)
                    kept[cell] = old if old is absent else plan.kind.copy(old)
                if code == COUNT:
                    cells[cell] = cells.get(cell, 0) + 1
                elif code == SUM:
                    cells[cell] = cells.get(cell, _ZERO) + reading
                else:
                    micro = (time - EPOCH) // MICRO if code >= LATEST else 0
                    plan.kind.add(cells, cell, plan.item(index, key, micro, event_id, reading))
        self._received = sequence
        tally.accepted += accepted
        tally.duplicates += duplicates
        tally.outside += outside
        tally.unmetered += unmetered
