"""The columnar accumulator: the Accumulator's results from Arrow columns, for large batches.

:class:`ColumnarAccumulator` gives what :class:`~meterlib.metering.accumulator.Accumulator`
gives for the same events: the same figures (:meth:`~ColumnarAccumulator.usage`), the same
:class:`~meterlib.metering.report.BatchReport` from :meth:`~ColumnarAccumulator.add`
(duplicates, conflicts with both versions, rejections with ``check_event``'s reasons and the
same indexes), the same :meth:`~ColumnarAccumulator.to_json` document (so
``Accumulator.from_json(columnar.to_json())`` works, and the other way round with
:meth:`~ColumnarAccumulator.from_json`) and the same merge. It takes Arrow tables, polars and
pandas frames, Parquet and JSON Lines files and lists (or iterables) of event dicts; see
:mod:`meterlib.metering.frames` for how the input is checked column by column.

**How.** Each batch is checked and parsed in columns (pyarrow), a chunk of dicts at a time for
lists, each piece's ids hashed and customers numbered as it is read. Duplicates are found from
64-bit hashes of the ids (polars): the hashes are sorted (numpy) to find the values that repeat,
only the rows holding one of those are numbered by Arrow dictionary codes (a row is its id's first
copy when its code is new), each later row's id compared as text with the first row of its hash
(equal hashes of different ids: the ids' texts are numbered instead), and with one pass against the
ids seen before (so give it large batches: each call hashes the ids seen so far once), periods are
found by a binary search over the period boundaries (numpy), and plain ``sum`` and ``count`` meters
(no filter, no ``group_by``) add up each cell's whole-number values as 64-bit integers (numpy; cells
numbered in the order of their first event), turned into one exact ``Decimal`` per cell at the end;
any other value (a fraction, an exponent, a sign ``+``, a leading zero, more than 9 digits) is added
to its cell as a ``Decimal``, never a float. Other meters read their events in Python through
:mod:`meterlib.metering.reading` (the rules every engine shares) and the same
:class:`~meterlib.metering.aggregations.PartialKind` as the accumulator. Only the events of an id
seen before are compared in Python (duplicate or conflict, by the accumulator's own rule).

**Merging** (``a.merge(b)`` or ``a | b``) goes through the accumulator's own merge on the
serialized form, so it is the accumulator's merge by construction; it costs a serialization of
both parts.

pyarrow, numpy and polars are imported when this module is; they belong to the ``columnar``
extra.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError
from meterlib.frames import MissingDependencyError

try:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as missing:  # pragma: no cover - its own CI step installs the extra
    raise MissingDependencyError(
        "the columnar path", "numpy, pyarrow and polars", "columnar"
    ) from missing

from meterlib.metering._buckets import PeriodIndex, micros
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.accumulator.store import same
from meterlib.metering.aggregations import State
from meterlib.metering.columnar_rules import (
    Cell,
    ColumnarMeter,
    MeterValues,
    StoredSegment,
    canonical,
    cell_totals,
    customer_codes,
    events_json,
    first_copies,
    gather,
    locate,
    meter_values,
    props_json,
    props_load,
    same_rows,
    usage_event,
)
from meterlib.metering.events import EventError
from meterlib.metering.frames import Content, Piece, read_pieces, read_prepared
from meterlib.metering.meters import Aggregation, Meter, parse_meters
from meterlib.metering.report import BatchReport, Conflict, Rejection
from meterlib.metering.table import GroupKey, UsageTable
from meterlib.periods import BillingCycle, Period

__all__ = ["ColumnarAccumulator"]

_ZERO = Decimal(0)


class ColumnarAccumulator:
    """The :class:`Accumulator`'s results from columns (see the module docstring)."""

    __slots__ = (
        "_by_type",
        "_ids",
        "_index",
        "_meters",
        "_part",
        "_plans",
        "_received",
        "_refused",
        "_segments",
        "_specs",
        "_states",
    )

    def __init__(
        self,
        meters: Any,
        periods: BillingCycle | list[Period] | tuple[Period, ...],
        *,
        window: Period | None = None,
        part: int = 0,
    ) -> None:
        """As :class:`Accumulator` (the same checks and messages)."""
        template = Accumulator(meters, periods, window=window, part=part)
        self._load(json.loads(template.to_json()))

    def _load(self, data: dict[str, Any]) -> None:
        self._specs = data["meters"]
        self._meters = tuple(parse_meters(self._specs))
        self._index = PeriodIndex.from_spec(data["periods"])
        self._part: int = data["part"]
        self._received: int = data["received"]
        self._plans = tuple(ColumnarMeter(i, m) for i, m in enumerate(self._meters))
        by_type: dict[str, list[ColumnarMeter]] = {}
        for plan in self._plans:
            by_type.setdefault(plan.meter.event_type, []).append(plan)
        self._by_type = {k: tuple(v) for k, v in by_type.items()}
        self._states: list[dict[Cell, State]] = [{} for _ in self._plans]
        #: First copies of every id seen: pieces with their (part, sequence) per row.
        self._segments: list[StoredSegment] = []
        self._ids: pa.Array | None = None
        self._refused: dict[str, list[Content]] = {}

    # -- reading ---------------------------------------------------------------------------

    @property
    def meters(self) -> tuple[Meter, ...]:
        """The meters, in the order given."""
        return self._meters

    @property
    def part(self) -> int:
        """The part number that ranks this accumulator's events when merging."""
        return self._part

    @property
    def distinct_events(self) -> int:
        """How many distinct event ids were seen (accepted or outside every period)."""
        return sum(len(segment) for segment in self._segments)

    def usage(self) -> UsageTable:
        """The figure of every cell that saw events."""
        index = self._index
        customers: list[str] = []
        names: list[str] = []
        periods: list[Period] = []
        groups: list[GroupKey] = []
        figures: list[Decimal] = []
        for plan in self._plans:
            value_of = plan.kind.value
            for (key, customer, group), state in self._states[plan.position].items():
                start, end = index.span(key)
                value = value_of(state, end - start)
                if value is not None:
                    customers.append(customer)
                    names.append(plan.name)
                    periods.append(index.period(key))
                    groups.append(group)
                    figures.append(value)
        return UsageTable.from_columns(customers, names, periods, groups, figures)

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        """Every conflict known: the version that counts and each refused version, by id."""
        found: list[Conflict] = []
        firsts = self._first_copies(sorted(self._refused))
        for event_id in sorted(self._refused):
            winner = firsts[event_id]
            versions = sorted(self._refused[event_id], key=lambda c: canonical(event_id, c[:4]))
            found.extend(
                Conflict(usage_event(event_id, winner), usage_event(event_id, c)) for c in versions
            )
        return tuple(found)

    # -- adding ----------------------------------------------------------------------------

    def add(self, events: Any) -> BatchReport:
        """Validate, deduplicate and count a batch; the report :meth:`Accumulator.add` gives.

        ``events``: an Arrow table or record batch, a polars or pandas frame, the path of a
        Parquet or JSON Lines file, or a list or iterable of events (dicts or UsageEvents).
        """
        pieces: list[Piece] = []
        readings: list[MeterValues] = []
        rejected: list[Rejection] = []
        received = 0
        # Nothing is applied until every event was read: a failing iterator changes nothing,
        # as in the accumulator (a batch counts whole or not at all).
        for _, refused, size, checked in read_prepared(events, self._check_meters):
            received += size
            rejected += refused
            for kept, values, refusals in checked:
                rejected += refusals
                if len(kept):
                    pieces.append(kept)
                    readings.append(values)
        rejected.sort(key=lambda r: r.index)
        counts = {"accepted": 0, "duplicates": 0, "outside": 0, "unmetered": 0}
        conflicts: list[Conflict] = []
        if pieces:
            with localcontext(EXACT):
                self._add_pieces(pieces, readings, counts, conflicts)
        return BatchReport(
            received=received, conflicts=tuple(conflicts), rejected=tuple(rejected), **counts
        )

    def _check_meters(self, piece: Piece) -> tuple[Piece, MeterValues, list[Rejection]]:
        """The piece without the events a meter cannot read, what they read, and those rejected.

        Called by :func:`read_prepared` for each piece, before anything is applied.
        """
        errors: dict[int, EventError] = {}
        values = meter_values(piece, self._by_type, errors)
        if not errors:
            values.encode(piece)
            return piece, values, []
        ids = piece.table.column("id")
        rejected = [
            Rejection.of(int(piece.positions[row]), {"id": ids[row].as_py()}, error)
            for row, error in errors.items()
        ]
        keep = np.setdiff1d(np.arange(len(piece), dtype=np.int64), np.fromiter(errors, np.int64))
        kept = piece.take(keep)
        values = meter_values(kept, self._by_type)
        values.encode(kept)
        return kept, values, rejected

    def _seen_ids(self) -> pa.Array | None:
        if self._ids is None and self._segments:
            self._ids = pa.concat_arrays([segment.ids() for segment in self._segments])
        return self._ids

    def _add_pieces(
        self,
        pieces: list[Piece],
        values: list[MeterValues],
        counts: dict[str, int],
        conflicts: list[Conflict],
    ) -> None:
        sizes = np.array([len(p) for p in pieces], dtype=np.int64)
        offsets = np.concatenate(([0], np.cumsum(sizes)))
        # One array of the batch's ids: taken from several times below (a take from a chunked
        # array joins its chunks each time).
        ids = pa.concat_arrays([p.table.column("id").combine_chunks() for p in pieces])
        new, first_row = first_copies(
            ids, np.concatenate([v.id_hashes for v in values if v.id_hashes is not None])
        )
        seen = self._seen_ids()
        before = np.full(len(ids), -1, dtype=np.int64)
        if seen is not None:
            found = pc.index_in(ids, value_set=seen)
            before = pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
            new &= before < 0
        micro = np.concatenate([p.table.column("micro").to_numpy() for p in pieces])
        keys, located = locate(self._index, micro, new)
        accepted = new & located
        counts["accepted"] += int(accepted.sum())
        counts["outside"] += int(new.sum()) - int(accepted.sum())
        if not new.all():
            self._repeats(
                pieces,
                offsets,
                ids=ids,
                new=new,
                first_row=first_row,
                before=before,
                counts=counts,
                conflicts=conflicts,
            )
        # Store the first copies, with their rank, before counting (the ids are now known).
        sequence = self._received + np.cumsum(new)
        self._received += int(new.sum())
        for i, piece in enumerate(pieces):
            lo, hi = offsets[i], offsets[i + 1]
            rows = np.flatnonzero(new[lo:hi])
            if len(rows):
                parts = np.full(len(rows), self._part, dtype=np.int64)
                chosen = None if len(rows) == len(piece) else rows
                self._segments.append(StoredSegment(piece, chosen, parts, sequence[lo:hi][rows]))
        self._ids = None
        self._count(pieces, values, offsets, keys=keys, accepted=accepted, counts=counts)

    def _repeats(
        self,
        pieces: list[Piece],
        offsets: np.ndarray[Any, Any],
        *,
        ids: pa.Array,
        new: np.ndarray[Any, Any],
        first_row: np.ndarray[Any, Any],
        before: np.ndarray[Any, Any],
        counts: dict[str, int],
        conflicts: list[Conflict],
    ) -> None:
        """Events of ids seen before (earlier batches or earlier here): duplicates, conflicts.

        ``first_row``: the row of the first copy in the batch of each row's id.
        """
        rows = np.flatnonzero(~new)
        earlier = rows[before[rows] < 0]
        firsts: dict[int, int] = {}
        if len(earlier):
            firsts = dict(zip(earlier.tolist(), first_row[earlier].tolist(), strict=True))
            equal = same_rows(
                pieces, np.array(list(firsts), np.int64), np.array(list(firsts.values()), np.int64)
            )
            if equal is not None and equal.any():
                counts["duplicates"] += int(equal.sum())
                done = set(np.array(list(firsts), np.int64)[equal].tolist())
                rows = np.array([r for r in rows.tolist() if r not in done], np.int64)
                firsts = {r: f for r, f in firsts.items() if r not in done}
        if not len(rows):
            return
        mine = self._contents(pieces, offsets, rows.tolist() + list(set(firsts.values())))
        known = before[rows]
        stored = self._stored_contents(sorted({int(k) for k in known if k >= 0}))
        id_list = ids.take(pa.array(rows, pa.int64())).to_pylist()
        for row, event_id, at in zip(rows.tolist(), id_list, known.tolist(), strict=True):
            version = mine[row]
            winner = stored[at] if at >= 0 else mine[firsts[row]]
            if same(winner, version):
                counts["duplicates"] += 1
                continue
            versions = self._refused.setdefault(event_id, [])
            if not any(same(v, version) for v in versions):
                versions.append(version)
            first, second = usage_event(event_id, winner), usage_event(event_id, version)
            conflicts.append(Conflict(first, second))

    @staticmethod
    def _contents(
        pieces: list[Piece], offsets: np.ndarray[Any, Any], rows: list[int]
    ) -> dict[int, Content]:
        """The contents of the batch's rows ``rows`` (global row numbers)."""
        return gather(pieces, offsets, rows)

    def _stored_contents(self, at: list[int]) -> dict[int, Content]:
        """The stored first copies at global positions ``at`` of the seen ids."""
        sizes = [len(segment) for segment in self._segments]
        offsets = np.concatenate(([0], np.cumsum(np.array(sizes, np.int64))))
        return gather(self._segments, offsets, at)

    def _first_copies(self, wanted: list[str]) -> dict[str, Content]:
        seen = self._seen_ids()
        if seen is None or not wanted:
            return {}
        at = pc.index_in(pa.array(wanted, pa.large_string()), value_set=seen).to_pylist()
        stored = self._stored_contents(sorted(set(at)))
        return {event_id: stored[g] for event_id, g in zip(wanted, at, strict=True)}

    def _count(
        self,
        pieces: list[Piece],
        values: list[MeterValues],
        offsets: np.ndarray[Any, Any],
        *,
        keys: np.ndarray[Any, Any],
        accepted: np.ndarray[Any, Any],
        counts: dict[str, int],
    ) -> None:
        """Add the accepted events to their cells."""
        types = pa.chunked_array([p.table.column("type").combine_chunks() for p in pieces])
        customers = pa.chunked_array([p.table.column("customer").combine_chunks() for p in pieces])
        in_types = pc.is_in(types, value_set=pa.array(list(self._by_type), pa.large_string()))
        metered = in_types.to_numpy(zero_copy_only=False)
        counts["unmetered"] += int((accepted & ~metered).sum())
        if not (accepted & metered).any():
            return
        for kind, plans in self._by_type.items():
            if not all(plan.simple for plan in plans):
                continue
            mask = accepted & pc.equal(types, kind).to_numpy(zero_copy_only=False)
            if mask.any():
                for plan in plans:
                    self._count_simple(
                        plan,
                        pieces,
                        offsets,
                        values=values,
                        keys=keys,
                        customers=customers,
                        mask=mask,
                    )
        # Meters read in Python: the rows of their types, in order.
        micro = None
        for i, piece in enumerate(pieces):
            found = values[i].readings
            if not found:
                continue
            lo = int(offsets[i])
            customer_list = piece.table.column("customer").to_pylist()
            id_list = piece.table.column("id").to_pylist()
            micro = piece.table.column("micro").to_pylist()
            for row, readings in found.items():
                g = lo + row
                if not accepted[g]:
                    continue
                if not readings:
                    counts["unmetered"] += 1
                    continue
                key = int(keys[g])
                for plan, group, value in readings:
                    cell = (key, customer_list[row], group)
                    item = self._item(plan, key, micro[row], id_list[row], value)
                    plan.kind.add(self._states[plan.position], cell, item)

    def _item(self, plan: ColumnarMeter, key: int, micro: int, event_id: str, value: Any) -> Any:
        aggregation = plan.meter.aggregation
        if aggregation is Aggregation.COUNT:
            return 1
        if aggregation is Aggregation.LATEST:
            return (micro, event_id, value)
        if aggregation is Aggregation.WEIGHTED_SUM:
            return EXACT.multiply(value, Decimal(self._index.span(key)[1] - micro))
        return value

    def _count_simple(
        self,
        plan: ColumnarMeter,
        pieces: list[Piece],
        offsets: np.ndarray[Any, Any],
        *,
        values: list[MeterValues],
        keys: np.ndarray[Any, Any],
        customers: pa.ChunkedArray,
        mask: np.ndarray[Any, Any],
    ) -> None:
        """A plain sum or count meter: integer sums grouped by cell, then exact per cell."""
        cells = self._states[plan.position]
        rows = np.flatnonzero(mask)
        codes, customer_names = customer_codes(values, customers)
        summing = plan.meter.aggregation is Aggregation.SUM
        whole = None
        if summing:
            whole = np.concatenate([v.whole[plan.position] for v in values])[rows]
        for key, customer, total in cell_totals(keys[rows], codes[rows], customer_names, whole):
            cell = (key, customer, ())
            if summing:
                cells[cell] = EXACT.add(cells.get(cell, _ZERO), Decimal(total))
            else:
                cells[cell] = cells.get(cell, 0) + total
        if not summing:
            return
        for i, found in enumerate(values):
            lo = int(offsets[i])
            customer_list: list[str] | None = None
            for row, value in found.extra[plan.position].items():
                if not mask[lo + row]:
                    continue
                if customer_list is None:
                    customer_list = pieces[i].table.column("customer").to_pylist()
                cell = (int(keys[lo + row]), customer_list[row], ())
                cells[cell] = EXACT.add(cells[cell], value)

    # -- merging and serialization ---------------------------------------------------------

    def to_accumulator(self) -> Accumulator:
        """The equal :class:`Accumulator` (through the shared serialized form)."""
        return Accumulator.from_json(self.to_json())

    @classmethod
    def from_accumulator(cls, accumulator: Accumulator) -> ColumnarAccumulator:
        """The equal columnar accumulator."""
        return cls.from_json(accumulator.to_json())

    def merge(self, other: ColumnarAccumulator | Accumulator) -> ColumnarAccumulator:
        """Both parts in a new accumulator: :meth:`Accumulator.merge` (see module docstring)."""
        if isinstance(other, ColumnarAccumulator):
            theirs = other.to_accumulator()
        elif isinstance(other, Accumulator):
            theirs = other
        else:
            raise InvalidValueError("other", other, "an Accumulator or a ColumnarAccumulator")
        return ColumnarAccumulator.from_accumulator(self.to_accumulator().merge(theirs))

    __or__ = merge

    def __eq__(self, other: object) -> bool:
        """Equal as accumulators: same meters, periods, cells, events and conflicts."""
        if isinstance(other, ColumnarAccumulator):
            return self.to_accumulator() == other.to_accumulator()
        if isinstance(other, Accumulator):
            return self.to_accumulator() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable: add changes it

    def __repr__(self) -> str:
        """A locale-free summary."""
        cells = sum(len(cells) for cells in self._states)
        return (
            f"ColumnarAccumulator({len(self._meters)} meters, {self.distinct_events} events, "
            f"{cells} cells, part {self._part})"
        )

    def to_json(self) -> str:
        """The document :meth:`Accumulator.to_json` writes for the same events."""
        states: dict[str, list[Any]] = {}
        for plan in self._plans:
            states[plan.name] = [
                [key, customer, [list(pair) for pair in group], plan.kind.dump(state)]
                for (key, customer, group), state in self._states[plan.position].items()
            ]
        refused = [
            [k, c[0], c[1], datetime.fromisoformat(c[4]).isoformat(), props_json(c[3])]
            for k, versions in self._refused.items()
            for c in versions
        ]
        document = {
            "format": "meterlib.accumulator/1",
            "meters": self._specs,
            "periods": self._index.spec(),
            "part": self._part,
            "received": self._received,
            "events": list(events_json(self._segments)),
            "refused": refused,
            "states": states,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ColumnarAccumulator:
        """The accumulator a :meth:`to_json` (or ``Accumulator.to_json``) document describes."""
        Accumulator.from_json(text)  # the same checks and messages
        data = json.loads(text, parse_float=Decimal)
        result = cls.__new__(cls)
        result._load(data)
        events = data["events"]
        if events:
            rows = [
                {
                    "id": e[0],
                    "customer": e[1],
                    "type": e[2],
                    "time": e[3],
                    "properties": props_load(e[4]),
                }
                for e in events
            ]
            pieces = [piece for found, _, _ in read_pieces(rows) for piece in found]
            parts = np.array([e[5] for e in events], dtype=np.int64)
            sequences = np.array([e[6] for e in events], dtype=np.int64)
            start = 0
            for piece in pieces:
                end = start + len(piece)
                result._segments.append(
                    StoredSegment(piece, None, parts[start:end], sequences[start:end])
                )
                start = end
        for event_id, customer, kind, time, props in data["refused"]:
            moment = datetime.fromisoformat(time)
            version = (customer, kind, micros(moment), tuple(props_load(props).items()), time)
            result._refused.setdefault(event_id, []).append(version)
        names = {plan.name: plan for plan in result._plans}
        for name, cells in data["states"].items():
            plan = names[name]
            target = result._states[plan.position]
            for key, customer, group, dumped in cells:
                pairs = tuple((str(k), str(v)) for k, v in group)
                target[(key, customer, pairs)] = plan.kind.load(dumped)
        return result
