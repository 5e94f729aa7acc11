"""The accumulator's column path: a chunk of common events checked and counted column by column.

The common case of a batch (plain dicts of the five fields, all of one event type that one plain
``sum`` or ``count`` meter counts, or no meter) is taken a chunk at a time with one C-level pass
per column (``map``, ``set``) instead of one Python loop per event. A chunk that is not the
common case is left untouched for the per-event path (:mod:`.rows`), which also names problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from decimal import Decimal
from itertools import accumulate, chain, compress, islice, repeat
from operator import and_, attrgetter, eq, getitem, is_, is_not, itemgetter, not_
from typing import Any

from meterlib.errors import InvalidValueError
from meterlib.metering._buckets import MISSING
from meterlib.metering.accumulator.plan import SUM, Cell
from meterlib.metering.accumulator.store import (
    ABSENT,
    CHUNK,
    SLOT_BITS,
    Columns,
    Store,
    same,
    unpack,
)
from meterlib.metering.reading import read_number
from meterlib.metering.report import Conflict, Rejection

__all__ = ["ColumnPath", "Row", "Tally", "chunks"]

_ZERO = Decimal(0)
_GET_ID = itemgetter("id")
_GET_CUSTOMER = itemgetter("customer")
_GET_TYPE = itemgetter("type")
_GET_TIME = itemgetter("time")
_GET_PROPERTIES = itemgetter("properties")
_GET_YEAR = attrgetter("year")
_GET_ZONE = attrgetter("tzinfo")
_ONLY_DICT = frozenset({dict})
_ONLY_STR = frozenset({str})
_ONLY_ZONE = frozenset({timezone})
_ONLY_ONE = frozenset({1})
_ONLY_FIVE = frozenset({5})


class Row(dict[str, Any]):
    """Running figures of one period's ``(key, customer, ())`` cells of one meter, by customer.

    The column path adds to ``row[customer]`` (a str key, whose hash is kept) rather than to
    the cell (a tuple hashed on every look-up). A customer's first figure is the cell's own
    (:meth:`__missing__`), which also puts the cell in its place in the cell order;
    :meth:`fold` writes the figures back. So each cell sees the same additions in the same order.
    """

    __slots__ = ("cells", "empty", "key", "saved")

    def __init__(
        self, cells: dict[Cell, Any], key: int, empty: Any, saved: dict[Cell, Any]
    ) -> None:
        """Figures of period ``key`` in ``cells``, starting from ``empty``.

        ``saved`` receives each cell's figure before this call of ``add`` first touched it
        (``ABSENT`` for a new cell), so the call can be undone.
        """
        super().__init__()
        self.cells = cells
        self.key = key
        self.empty = empty
        self.saved = saved

    def __missing__(self, customer: str) -> Any:
        """The cell's own figure, which puts the cell in its place in the cell order."""
        cell = (self.key, customer, ())
        cells = self.cells
        if cell not in self.saved:
            self.saved[cell] = cells.get(cell, ABSENT)
        figure = cells.setdefault(cell, self.empty)
        self[customer] = figure
        return figure

    def fold(self) -> None:
        """Write the running figures back to the cells."""
        cells, key = self.cells, self.key
        for customer, figure in self.items():
            cells[(key, customer, ())] = figure


class Tally:
    """The counts and problems of one call to ``add``, filled chunk by chunk, and its undo.

    ``rows`` holds the running figures of the column path (see :class:`Row`) by meter position
    and period key, until :meth:`fold` writes them to the cells. ``saved`` holds, by meter
    position, each cell's state before the call first changed it (``ABSENT`` for a new
    cell) and ``refusals`` each refused version the call recorded, so that the call can be
    undone whole (``Accumulator.add`` applies a batch whole or not at all).
    """

    __slots__ = (
        "accepted",
        "conflicts",
        "duplicates",
        "outside",
        "refusals",
        "rejected",
        "rows",
        "saved",
        "unmetered",
    )

    def __init__(self) -> None:
        """Nothing counted yet."""
        self.accepted = self.duplicates = self.outside = self.unmetered = 0
        self.conflicts: list[Conflict] = []
        self.rejected: list[Rejection] = []
        self.rows: dict[int, dict[int, Row]] = {}
        self.saved: dict[int, dict[Cell, Any]] = {}
        self.refusals: list[tuple[str, bool]] = []

    def fold(self) -> None:
        """Write the running figures to the cells; needed before anything else reads them."""
        for rows in self.rows.values():
            for row in rows.values():
                row.fold()
        self.rows.clear()


def chunks(events: Iterable[Any]) -> Iterator[list[Any]]:
    """The events in lists of at most ``CHUNK``, in order (an error of ``events`` propagates)."""
    if type(events) is list or type(events) is tuple:
        for start in range(0, len(events), CHUNK):
            yield list(events[start : start + CHUNK])
        return
    chunk: list[Any] = []
    append = chunk.append
    for raw in events:
        append(raw)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
            append = chunk.append
    if chunk:
        yield chunk


class ColumnPath(Store):
    """The column path of ``Accumulator.add`` (see the module docstring)."""

    __slots__ = ()

    def _add_columns(  # noqa: PLR0911, PLR0912, PLR0915  (one pass per step, in order)
        self, chunk: list[Any], tally: Tally
    ) -> bool:
        """:meth:`add` a chunk column by column, when it is the common case; else change nothing.

        The common case: plain dicts of the five fields, all of one event type that one plain
        ``sum`` or ``count`` meter counts (or no meter), ids, customers, types and times as
        text, properties as a dict of text, times with an offset, and every value the meter
        reads a valid decimal. Each check is one pass over a column in C (``map``, ``set``); the
        first that fails returns ``False`` before anything changed, and the chunk is taken event
        by event instead, which also names the problem. Otherwise the chunk is counted exactly
        as the per-event path would: new ids in order (their sequences, stored entries and cells),
        then the ids seen before, in order (duplicates and conflicts).
        """
        if set(map(type, chunk)) != _ONLY_DICT or set(map(len, chunk)) != _ONLY_FIVE:
            return False
        try:
            ids = list(map(_GET_ID, chunk))
            customers = list(map(_GET_CUSTOMER, chunk))
            kinds = list(map(_GET_TYPE, chunk))
            texts = list(map(_GET_TIME, chunk))
            props = list(map(_GET_PROPERTIES, chunk))
        except KeyError:
            return False
        if (
            set(map(type, ids)) != _ONLY_STR
            or set(map(type, customers)) != _ONLY_STR
            or set(map(type, texts)) != _ONLY_STR
            or set(map(type, props)) != _ONLY_DICT
            or set(map(type, kinds)) != _ONLY_STR
            or len(set(kinds)) != 1
            or not (all(ids) and all(customers) and kinds[0])
        ):
            return False
        kind = kinds[0]
        plan = self._simple.get(kind)
        if plan is None and kind in self._by_type:
            return False
        # Properties, copied (the caller's dicts may change later): with exactly one property
        # per event, its name (one text when it is the meter's property for all) and a list of
        # values; else a flat tuple per event.
        names: list[str] | str | None = None
        flats: list[Any]
        single = set(map(len, props)) == _ONLY_ONE
        prop = plan.prop if plan is not None and plan.code == SUM else None
        if single and prop is not None and all(map(dict.__contains__, props, repeat(prop))):
            names = prop
            flats = list(map(itemgetter(prop), props))
            if set(map(type, flats)) != _ONLY_STR:
                return False
        elif single:
            names = list(map(next, map(iter, props)))
            flats = list(map(getitem, props, names))
            if set(map(type, names)) != _ONLY_STR or set(map(type, flats)) != _ONLY_STR:
                return False
        else:
            flats = list(map(tuple, map(chain.from_iterable, map(dict.items, props))))
            if not set(map(type, chain.from_iterable(flats))) <= _ONLY_STR:
                return False
        try:
            times = list(map(datetime.fromisoformat, texts))
        except ValueError:
            return False
        zones = list(map(_GET_ZONE, times))
        if set(map(type, zones)) != _ONLY_ZONE:
            return False
        # The edge rules of check_event: years near the ends of its range and non-ASCII text
        # (which may hold a lone surrogate) take the per-event path and its full checks.
        years = set(map(_GET_YEAR, times))
        if min(years) <= 1900 or max(years) >= 2200:
            return False
        texts_of_props = chain.from_iterable(flats) if names is None else flats
        if not (
            "".join(ids).isascii()
            and "".join(customers).isascii()
            and kind.isascii()
            and "".join(texts_of_props).isascii()
            and (type(names) is not list or "".join(names).isascii())
        ):
            return False
        values: list[Any] = []
        if plan is not None and plan.code == SUM:
            if names == prop:
                values = list(map(self._numbers.get, flats))
            else:
                try:
                    values = list(map(self._numbers.get, map(itemgetter(plan.prop), props)))
                except KeyError:
                    return False
            for i in compress(range(len(values)), map(is_, values, repeat(None))):
                try:
                    values[i] = read_number(ids[i], plan.name, plan.prop, props[i], self._numbers)
                except InvalidValueError:
                    return False

        # Every event is valid. Each id gets this chunk's slot for its position unless it has
        # one already (seen before, or earlier in the chunk): one dict pass decides which are new.
        seen = self._seen
        n = len(ids)
        start = len(self._columns) << SLOT_BITS
        slots = range(start, start + n)
        found = list(map(seen.setdefault, ids, slots))
        fresh = list(map(eq, found, slots))
        count = sum(fresh)
        base = self._received
        self._received += count
        if count == n:
            sequences: Sequence[int] = range(base + 1, base + 1 + n)
        else:
            sequences = list(islice(accumulate(fresh, initial=base), 1, None))
        self._columns.append(
            Columns(
                part=self._part,
                kind=kind,
                customers=customers,
                texts=texts,
                names=names,
                values=flats,
                sequences=sequences,
            )
        )

        # Periods: by local day per offset (see PeriodIndex.days); unknown days one by one.
        # Events of ids seen before are located too (1 in 100, say) and left out below.
        index = self._index
        tables: list[Any] = list(map(index.tables.get, zones))
        if None in tables:
            for zone in set(zones):
                index.days(zone)
            tables = list(map(index.tables.get, zones))
        keys: list[Any] = list(
            map(dict.get, tables, map(datetime.toordinal, times), repeat(MISSING))
        )
        for i in compress(range(n), map(is_, keys, repeat(MISSING))):
            keys[i] = index.locate_day(times[i], tables[i])
        counted = list(map(and_, fresh, map(is_not, keys, repeat(None))))
        accepted = sum(counted)
        tally.accepted += accepted
        tally.outside += count - accepted
        if accepted < n:
            keys = list(compress(keys, counted))
            customers_in = list(compress(customers, counted))
            values = list(compress(values, counted))
        else:
            customers_in = customers
        if plan is None:
            tally.unmetered += accepted
        else:
            cells = self._states[plan.position]
            rows = tally.rows.setdefault(plan.position, {})
            empty = _ZERO if plan.code == SUM else 0
            saved = tally.saved.setdefault(plan.position, {})
            for key in set(keys).difference(rows):
                rows[key] = Row(cells, key, empty, saved)
            targets = list(map(rows.__getitem__, keys))
            if plan.code == SUM:
                for row, customer, value in zip(targets, customers_in, values, strict=False):
                    row[customer] = row[customer] + value
            else:
                for row, customer in zip(targets, customers_in, strict=False):
                    row[customer] = row[customer] + 1

        # Ids seen before (earlier chunks or earlier in this one): duplicates and conflicts.
        for i in compress(range(n), map(not_, fresh)):
            event_id = ids[i]
            customer, time, given = customers[i], times[i], props[i]
            flat = self._flat(found[i])
            if flat[:3] == (customer, kind, texts[i]) and flat[5:] == tuple(
                chain.from_iterable(given.items())
            ):
                tally.duplicates += 1  # the very same content, as received
                continue
            entry = unpack(flat)
            if same(entry, (customer, kind, time, given)):
                tally.duplicates += 1
            else:
                version = (customer, kind, time, tuple(given.items()))
                tally.conflicts.append(self._refuse(event_id, version, tally.refusals))
        return True
