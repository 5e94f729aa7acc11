"""What the columnar accumulator reads, keeps and compares, one event's rules at a time.

The accumulator's rules for reading a meter from an event (:func:`read_meters`,
:func:`read_number`, with the same messages), for telling a duplicate from a conflict
(:func:`same_props`, :func:`same_rows` in columns), the stored first copies
(:class:`StoredSegment`), each event's period (:func:`locate`) and the JSON forms of
properties, for :mod:`meterlib.metering.columnar`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from meterlib._numbers import to_decimal
from meterlib.frames import MissingDependencyError

try:
    import numpy as np
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as missing:  # pragma: no cover - its own CI step installs the extra
    raise MissingDependencyError(
        "the columnar path", "numpy, pyarrow and polars", "columnar"
    ) from missing

from meterlib.metering import reading
from meterlib.metering._buckets import PeriodIndex
from meterlib.metering.aggregations import KINDS, PartialKind
from meterlib.metering.events import EventError, UsageEvent, same_properties, value_text
from meterlib.metering.frames import Content, Piece, Props
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.reading import MeterReader
from meterlib.metering.table import GroupKey

__all__ = [
    "Cell",
    "ColumnarMeter",
    "MeterValues",
    "Reading",
    "StoredSegment",
    "canonical",
    "cell_totals",
    "customer_codes",
    "events_json",
    "first_copies",
    "gather",
    "locate",
    "meter_values",
    "new_codes",
    "props_json",
    "props_load",
    "read_meters",
    "read_number",
    "same_props",
    "same_rows",
    "usage_event",
    "whole_numbers",
]

_ZERO = Decimal(0)
#: Period keys this close together are numbered by subtraction (else by sorting them).
_DENSE_PERIODS = 1 << 16
#: A fixed seed: the same id hashes alike in every piece and call.
_SEED = 0x6D657465726C6962
#: When more than one row in this many repeats a hash, every row is numbered (no bitmap).
_DENSE_REPEATS = 8
# Whole numbers of at most 9 digits add up in int64 without overflow for 10**9 events per cell;
# this shape (no sign "+": Arrow reads none) is cast when some other text is among them.
_WHOLE = r"^-?\d{1,9}$"
_LIMIT = pa.scalar(10**9, pa.int64())
_FLOOR = pa.scalar(-(10**9), pa.int64())
Cell = tuple[int, str, GroupKey]
Reading = tuple["ColumnarMeter", GroupKey, Any]
#: Decimal texts already read (bounded by reading.NUMBER_CACHE).
_NUMBERS: dict[str, Decimal] = {}


class ColumnarMeter(MeterReader):
    """One meter compiled for reading, its partial kind, and whether the column path sums it.

    Filters, group keys and property come from :class:`~meterlib.metering.reading.MeterReader`;
    ``simple``: a plain ``sum`` or ``count`` (no filter, no ``group_by``).
    """

    __slots__ = ("kind", "simple")

    def __init__(self, position: int, meter: Meter) -> None:
        super().__init__(position, meter)
        self.kind: PartialKind = KINDS[meter.aggregation]
        self.simple = (
            meter.aggregation in (Aggregation.COUNT, Aggregation.SUM)
            and not self.filters
            and not self.group_by
        )


# The rules themselves live in meterlib.metering.reading (one place for every engine); the
# functions below only adapt this module's call shapes to them.


def read_number(event_id: str, plan: ColumnarMeter, found: Any) -> Decimal:
    """The value meter ``plan`` reads when its property holds ``found`` (``reading``'s rule)."""
    props = {} if found is None else {plan.prop: found}
    return reading.read_number(event_id, plan.name, plan.prop, props, _NUMBERS)


def read_text(event_id: str, plan: ColumnarMeter, props: dict[str, Any], name: str) -> str:
    """The text of property ``name`` (``reading``'s rule and message)."""
    return reading.read_text(event_id, plan.name, props, name)


def read_meters(
    plans: tuple[ColumnarMeter, ...], event_id: str, props: dict[str, Any]
) -> list[Reading]:
    """What each meter reads from an event (``reading.read_event``, in meter order)."""
    return reading.read_event(plans, event_id, props, _NUMBERS)


#: Property values compared as text: the duplicate rule of every engine (one definition).
same_props = same_properties


def canonical(event_id: str, content: tuple[str, str, int, Props]) -> str:
    customer, kind, micro, props = content
    body = [event_id, customer, kind, micro, sorted((k, value_text(v)) for k, v in props)]
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def props_json(props: Props) -> dict[str, Any]:
    return {k: v if type(v) is str else {"decimal": str(v)} for k, v in props}


class MeterValues:
    """What the meters read from one piece: integer sums, Decimal extras, Python readings.

    Also, once :meth:`encode` ran: a 64-bit hash of each id (equal ids, equal hashes; the
    caller checks ids of equal hash are equal) and each customer's code in ``customer_names``.
    """

    __slots__ = ("customer_codes", "customer_names", "extra", "id_hashes", "readings", "whole")

    def __init__(self) -> None:
        self.whole: dict[int, np.ndarray[Any, np.dtype[np.int64]]] = {}
        self.extra: dict[int, dict[int, Decimal]] = {}
        self.readings: dict[int, list[Reading]] = {}
        self.id_hashes: np.ndarray[Any, Any] | None = None
        self.customer_codes: np.ndarray[Any, Any] | None = None
        self.customer_names: pa.Array | None = None

    def encode(self, piece: Piece) -> None:
        """Hash the piece's ids and number its customers."""
        self.id_hashes = pl.Series(piece.table.column("id")).hash(seed=_SEED).to_numpy()
        encoded = pc.dictionary_encode(piece.table.column("customer").combine_chunks())
        self.customer_codes = encoded.indices.to_numpy(zero_copy_only=False)
        self.customer_names = encoded.dictionary


class StoredSegment:
    """The first copies an add stored: rows ``rows`` of a piece (all when ``None``), ranked."""

    __slots__ = ("parts", "piece", "rows", "sequences")

    def __init__(
        self,
        piece: Piece,
        rows: np.ndarray[Any, Any] | None,
        parts: np.ndarray[Any, Any],
        sequences: np.ndarray[Any, Any],
    ) -> None:
        self.piece, self.rows, self.parts, self.sequences = piece, rows, parts, sequences

    def __len__(self) -> int:
        return len(self.piece) if self.rows is None else len(self.rows)

    def ids(self) -> pa.Array:
        found = self.piece.table.column("id").combine_chunks()
        return found if self.rows is None else found.take(pa.array(self.rows, pa.int64()))

    def selected(self) -> Piece:
        """The stored rows as a piece of their own."""
        return self.piece if self.rows is None else self.piece.take(self.rows)

    def contents(self, rows: list[int]) -> list[Content]:
        if self.rows is not None:
            rows = self.rows[np.array(rows, np.int64)].tolist()
        return self.piece.contents(rows)


def meter_values(
    piece: Piece,
    by_type: dict[str, tuple[ColumnarMeter, ...]],
    errors: dict[int, EventError] | None = None,
) -> MeterValues:
    """What the meters of each event type read from each row of ``piece``.

    A plain ``sum`` meter's whole-number texts of at most 9 digits become int64 (summed per
    cell later); any other value is read as the accumulator reads it (``read_number``). A
    row a meter cannot read goes to ``errors`` (the first meter's error, in meter order).
    """
    values = MeterValues()
    types = piece.table.column("type").combine_chunks()
    ids: list[str] | None = None
    for kind in pc.unique(types).to_pylist():
        plans = by_type.get(kind)
        if not plans:
            continue
        rows = np.flatnonzero(pc.equal(types, kind).to_numpy(zero_copy_only=False))
        if not all(plan.simple for plan in plans):
            if ids is None:
                ids = piece.table.column("id").to_pylist()
            for row in rows.tolist():
                try:
                    values.readings[row] = read_meters(plans, ids[row], dict(piece.row_props(row)))
                except EventError as error:
                    if errors is not None:
                        errors.setdefault(row, error)
            continue
        for plan in plans:
            if plan.meter.aggregation is not Aggregation.SUM:
                continue
            _sum_values(piece, plan, rows, values, errors)
    return values


def _sum_values(
    piece: Piece,
    plan: ColumnarMeter,
    rows: np.ndarray[Any, Any],
    values: MeterValues,
    errors: dict[int, EventError] | None,
) -> None:
    whole = np.zeros(len(piece), dtype=np.int64)
    extra: dict[int, Decimal] = {}
    column = piece.values.get(plan.prop)
    left: list[int]
    if column is None:
        left = rows.tolist()
    else:
        every = len(rows) == len(piece)
        texts = column if every else column.take(pa.array(rows, pa.int64()))
        numbers, good = whole_numbers(texts)
        if every and good.all():
            whole = numbers
            left = []
        else:
            whole[rows[good]] = numbers[good]
            left = rows[~good].tolist()
    ids = piece.table.column("id").to_pylist() if left else []
    for row in left:
        given = piece.props.get(row)
        if given is not None:
            found = dict(given).get(plan.prop)
        else:
            found = None if column is None else column[row].as_py()
        try:
            extra[row] = read_number(ids[row], plan, found)
        except EventError as error:
            if errors is not None:
                errors.setdefault(row, error)
    values.whole[plan.position] = whole
    values.extra[plan.position] = extra


def whole_numbers(
    texts: pa.Array,
) -> tuple[np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.bool_]]]:
    """Each text's value where it is a plain whole number of at most 9 digits, and which are.

    Plain: the text Arrow writes for the number it reads (so no sign ``+``, no leading zero, no
    other notation); every other text is read by ``read_number``, exactly. At most 9 digits:
    sums of up to 10**9 of them fit in int64.
    """
    try:
        numbers = pc.cast(texts, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Some text is not a whole number: only the ones of the whole-number shape are cast.
        shaped = pc.fill_null(pc.match_substring_regex(texts, _WHOLE), False)  # noqa: FBT003
        numbers = pc.cast(pc.if_else(shaped, texts, None), pa.int64())
    plain = pc.and_(
        pc.equal(pc.cast(numbers, texts.type), texts),
        pc.and_(pc.less(numbers, _LIMIT), pc.greater(numbers, _FLOOR)),
    )
    good = pc.fill_null(plain, False).to_numpy(zero_copy_only=False)  # noqa: FBT003
    found = pc.fill_null(numbers, 0).to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    return found, good


def same_rows(
    pieces: list[Piece], rows: np.ndarray[Any, Any], firsts: np.ndarray[Any, Any]
) -> np.ndarray[Any, Any] | None:
    """Which rows have the very content of their first copy, compared in columns.

    Customer, type, instant and property texts (text compared as text, as ``value_text`` does
    for text). ``None`` when the pieces' properties are not all text columns of the same names;
    a row found different here is compared again in Python (this check only finds duplicates).
    """
    names = list(pieces[0].values)
    if any(p.props or list(p.values) != names for p in pieces):
        return None

    def column(name: str, source: str = "table") -> pa.Array:
        parts = [
            (p.table.column(name).combine_chunks() if source == "table" else p.values[name])
            for p in pieces
        ]
        # Joined once, taken from twice with the batch's row numbers (a take from a chunked
        # array would join the chunks each time).
        return pa.concat_arrays(parts)

    left, right = pa.array(rows, pa.int64()), pa.array(firsts, pa.int64())
    same = np.ones(len(rows), dtype=bool)
    for name, source in [("customer", "table"), ("type", "table"), ("micro", "table")] + [
        (n, "values") for n in names
    ]:
        values = column(name, source)
        a, b = values.take(left), values.take(right)
        equal = pc.fill_null(pc.equal(a, b), False)  # noqa: FBT003
        both_null = pc.and_(pc.is_null(a), pc.is_null(b))
        same &= pc.or_(equal, both_null).to_numpy(zero_copy_only=False)
    return same


def gather(
    pieces: list[Piece] | list[StoredSegment], offsets: np.ndarray[Any, Any], rows: list[int]
) -> dict[int, Content]:
    """The contents of global rows ``rows`` of ``pieces`` (``offsets``: where each starts)."""
    wanted = sorted(set(rows))
    where = np.searchsorted(offsets, np.array(wanted, np.int64), side="right") - 1
    by_piece: dict[int, list[int]] = {}
    for row, i in zip(wanted, where.tolist(), strict=True):
        by_piece.setdefault(i, []).append(row)
    found: dict[int, Content] = {}
    for i, group in by_piece.items():
        lo = int(offsets[i])
        found.update(zip(group, pieces[i].contents([g - lo for g in group]), strict=True))
    return found


def usage_event(event_id: str, content: Content) -> UsageEvent:
    customer, kind, _, props, text = content
    time = datetime.fromisoformat(text)
    return UsageEvent(event_id, customer, kind, time, MappingProxyType(dict(props)))


def props_load(props: dict[str, Any]) -> dict[str, Any]:
    return {
        k: to_decimal(v["decimal"], f"properties.{k}") if isinstance(v, dict) else v
        for k, v in props.items()
    }


def first_copies(
    ids: pa.Array | pa.ChunkedArray, hashes: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Whether each row is the first of its id in ``ids``, and the row of that first copy.

    ``hashes``: a hash of each id. Rows are numbered by hash in order of first appearance
    (dictionary codes), so a row is the first of its hash exactly when its code is above every
    code before it, and the ``k``-th such row is the first of code ``k``. Each later row's id is
    then compared as text with the first row of its hash: equal hashes of different ids (rare)
    send the batch to the same numbering on the id texts themselves.
    """
    if not len(ids):
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64)
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    if len(hashes) == len(ids):
        first, first_row = _first_hashes(hashes)
        later = np.flatnonzero(~first)
        if not len(later):
            return first, first_row
        same = pc.equal(
            ids.take(pa.array(later, pa.int64())),
            ids.take(pa.array(first_row[later], pa.int64())),
        )
        if pc.all(same).as_py():
            return first, first_row
    codes = pc.dictionary_encode(ids).indices.to_numpy(zero_copy_only=False)
    first = new_codes(codes)
    return first, np.flatnonzero(first)[codes]


def _first_hashes(
    hashes: np.ndarray[Any, Any],
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Whether each row is the first of its hash, and the row of that first one.

    Sorting the hashes (fast in numpy) finds the values that occur more than once; only the
    rows holding one of those (found through a bitmap of their low bits, then exactly) are
    numbered by dictionary codes. A batch where many values repeat numbers every row.
    """
    size = len(hashes)
    ordered = np.sort(hashes)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated) * _DENSE_REPEATS > size:
        rows = np.arange(size, dtype=np.int64)
    else:
        first = np.ones(size, dtype=bool)
        first_row = np.arange(size, dtype=np.int64)
        if not len(repeated):
            return first, first_row
        bits = max(16, len(repeated).bit_length() + 6)
        low = np.uint64((1 << bits) - 1)
        marked = np.zeros(1 << bits, dtype=bool)
        marked[repeated & low] = True
        maybe = np.flatnonzero(marked[hashes & low])
        values = np.unique(repeated)
        at = np.minimum(np.searchsorted(values, hashes[maybe]), len(values) - 1)
        rows = maybe[values[at] == hashes[maybe]]
    codes = pc.dictionary_encode(pa.array(hashes[rows])).indices.to_numpy(zero_copy_only=False)
    firsts = new_codes(codes)
    if len(rows) == size:
        return firsts, np.flatnonzero(firsts)[codes]
    first[rows] = firsts
    first_row[rows] = rows[np.flatnonzero(firsts)[codes]]
    return first, first_row


def new_codes(codes: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Rows whose dictionary code is above every code before them (first appearances)."""
    highest = np.maximum.accumulate(codes)
    first = np.empty(len(codes), dtype=bool)
    first[0] = True
    np.greater(highest[1:], highest[:-1], out=first[1:])
    return first


def customer_codes(
    values: list[MeterValues], customers: pa.ChunkedArray
) -> tuple[np.ndarray[Any, Any], list[str]]:
    """Each row's customer as a code into the returned names (the pieces' codes, unified)."""
    if any(v.customer_codes is None or v.customer_names is None for v in values):
        encoded = pc.dictionary_encode(customers.combine_chunks())
        codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, encoded.dictionary.to_pylist()
    # The pieces' dictionaries one after the other, numbered in order of first appearance: the
    # code each piece's customer code stands for.
    names = [v.customer_names for v in values if v.customer_names is not None]
    unified = pc.dictionary_encode(pa.concat_arrays(names))
    remap = unified.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    parts: list[np.ndarray[Any, Any]] = []
    start = 0
    for found, dictionary in zip(values, names, strict=True):
        end = start + len(dictionary)
        parts.append(remap[start:end][found.customer_codes])
        start = end
    return np.concatenate(parts), unified.dictionary.to_pylist()


def cell_totals(
    keys: np.ndarray[Any, Any],
    codes: np.ndarray[Any, Any],
    names: list[str],
    whole: np.ndarray[Any, Any] | None,
) -> list[tuple[int, str, int]]:
    """``(period key, customer, total)`` of each cell, in the order of its first row.

    ``keys``: each row's period key; ``codes``: its customer's code in ``names``; ``whole``:
    its int64 value (summed exactly: values of at most 9 digits), or ``None`` to count rows.
    Cells are numbered by dictionary codes of (period, customer), which keep first appearance:
    the accumulator's cell order.
    """
    if not len(keys):
        return []
    low, high = int(keys.min()), int(keys.max())
    if high - low < _DENSE_PERIODS:
        period_codes = keys - low
        period_keys = np.arange(low, high + 1, dtype=np.int64)
    else:
        period_keys, period_codes = np.unique(keys, return_inverse=True)
    width = max(len(names), 1)
    pairs = period_codes.astype(np.int64) * width + codes
    cell_codes = pc.dictionary_encode(pa.array(pairs, pa.int64()))
    order = cell_codes.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    pair_of = cell_codes.dictionary.to_numpy(zero_copy_only=False)
    if whole is not None:
        totals = np.zeros(len(pair_of), dtype=np.int64)
        np.add.at(totals, order, whole)
    else:
        totals = np.bincount(order, minlength=len(pair_of))
    return [
        (int(period_keys[pair // width]), names[pair % width], total)
        for pair, total in zip(pair_of.tolist(), totals.tolist(), strict=True)
    ]


def events_json(segments: list[StoredSegment]) -> Iterator[list[Any]]:
    """The stored first copies in the accumulator's JSON form, in order."""
    for segment in segments:
        piece, parts, sequences = segment.selected(), segment.parts, segment.sequences
        columns = piece.table.select(["id", "customer", "type", "text"]).to_pydict()
        props = piece.all_props()
        rows = zip(
            columns["id"], columns["customer"], columns["type"], columns["text"], strict=True
        )
        for i, (event_id, customer, kind, text) in enumerate(rows):
            yield [
                event_id,
                customer,
                kind,
                datetime.fromisoformat(text).isoformat(),
                props_json(props[i]),
                int(parts[i]),
                int(sequences[i]),
            ]


def locate(
    index: PeriodIndex, micro: np.ndarray[Any, Any], new: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Period key of each event (POSIX microseconds ``micro``) and whether it has one.

    Only the events marked ``new`` are asked of an unbounded index (which grows as asked).
    """
    if not index.bounded and new.any():
        wanted = micro[new]
        index.locate(int(wanted.min()))
        index.locate(int(wanted.max()))
    bounds = np.array(index.bounds, dtype=np.int64)
    table = index.keys
    # Slot j of these (j = bounds at or before the instant) describes period j - 1: slot 0
    # and the slots past the last period are outside every period.
    slots = len(bounds) + 1
    known = np.zeros(slots, dtype=bool)
    values = np.zeros(slots, dtype=np.int64)
    known[1 : len(table) + 1] = [k is not None for k in table]
    values[1 : len(table) + 1] = [k if k is not None else 0 for k in table]
    j = np.searchsorted(bounds, micro, side="right")
    keys = values[j]
    located = known[j]
    if not index.bounded:
        covered = np.zeros(slots, dtype=bool)
        covered[1 : len(table) + 1] = True
        inside = covered[j]
        for row in np.flatnonzero(new & ~inside).tolist():
            key = index.locate(int(micro[row]))
            if key is not None:
                keys[row] = key
                located[row] = True
    return keys, located
