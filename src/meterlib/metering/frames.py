"""Events in columns: Arrow tables, polars and pandas frames, files and lists, checked per column.

The columnar accumulator (:mod:`meterlib.metering.columnar`) reads its input through
:func:`read_pieces`, which turns any of these into :class:`Piece` objects: runs of consecutive
events of the batch whose fields passed the same rules as
:func:`~meterlib.metering.events.check_event`, held as Arrow columns (``id``, ``customer``,
``type``, ``text``: the time as received, ``micro``: POSIX microseconds) plus the properties,
and a list of :class:`~meterlib.metering.report.Rejection` for the events that failed, with
``check_event``'s own message.

**The rules, per column.** A chunk of plain dicts (or a table) whose ids, customers and types
are non-empty text, whose properties are mappings of text to text and whose times match
``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`` is checked column by column in C: the time is parsed by
Arrow, and any row whose time does not have that shape (or names a date that does not exist) is
parsed by :func:`datetime.fromisoformat` as ``check_event`` would, so the same times are accepted
with the same instants. A chunk with anything else (a number or a datetime among the values,
a missing or unknown field, a :class:`~meterlib.metering.events.UsageEvent`) goes through
``check_event`` event by event: the same acceptance, the same messages, only slower. A chunk
of dicts is picked apart by :mod:`meterlib.metering.dict_columns` (a few thousand dicts at a
time); a column whose times all share one of the layouts ``isoformat`` writes
(:mod:`meterlib.metering.column_times`) is parsed by Arrow without checking each text's shape.

Tables: a ``properties`` struct column of text fields is read as the events' properties, a null
field meaning the event lacks that property. Other column types (timestamps, numbers) and extra
columns take the event-by-event path on the rows as Python values.

pyarrow and numpy are imported when this module is; they belong to the ``columnar`` extra.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

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

from meterlib.metering._buckets import micros
from meterlib.metering.column_times import one_layout
from meterlib.metering.dict_columns import FIELDS, dict_columns, text_column
from meterlib.metering.events import EARLIEST, LATEST, PropertyValue, check_event, in_range
from meterlib.metering.readers import read_jsonl
from meterlib.metering.report import Rejection

__all__ = ["Content", "Piece", "Props", "read_pieces", "read_prepared"]

#: Events per chunk of a list of dicts: bounds the Python lists held at once.
CHUNK = 1 << 15
#: Rows per slice of a table.
SLICE = 1 << 20
# The time shapes Arrow parses exactly as datetime.fromisoformat does (year 0 aside, see below).
_TIME = (
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_UTC_MICROS = pa.timestamp("us", "UTC")
# check_event's time range (EARLIEST <= instant < LATEST) in POSIX microseconds.
_FIRST_MICRO = pa.scalar(micros(EARLIEST), pa.int64())
_END_MICRO = pa.scalar(micros(LATEST), pa.int64())

Prepared = TypeVar("Prepared")

#: Properties of one event as stored: pairs of name and value (text, or Decimal when given so).
Props = tuple[tuple[str, PropertyValue], ...]
#: What tells copies of one id apart: ``(customer, type, micro, props, time text)``.
Content = tuple[str, str, int, Props, str]


@dataclass(eq=False)
class Piece:
    """Consecutive valid events of a batch, in columns (see the module docstring).

    ``positions`` are the events' indexes in the batch. ``values`` holds one text column per
    property name (null where the event lacks it); ``props`` holds the properties of rows whose
    values are not all text (they are then not in ``values``). ``raw(i)`` is the input of row
    ``i`` as a mapping, for messages.
    """

    positions: np.ndarray[Any, np.dtype[np.int64]]
    table: pa.Table
    values: dict[str, pa.Array]
    props: dict[int, Props] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def row_props(self, i: int) -> Props:
        """The properties of row ``i``."""
        found = self.props.get(i)
        if found is not None:
            return found
        pairs = ((name, column[i].as_py()) for name, column in self.values.items())
        return tuple((name, value) for name, value in pairs if value is not None)

    def all_props(self) -> list[Props]:
        """The properties of every row, in order (one pass per column)."""
        names = list(self.values)
        columns = [self.values[name].to_pylist() for name in names]
        rows: list[Props] = []
        for i, found in enumerate(zip(*columns, strict=True) if columns else ((),) * len(self)):
            given = self.props.get(i)
            if given is not None:
                rows.append(given)
            else:
                rows.append(
                    tuple((n, v) for n, v in zip(names, found, strict=True) if v is not None)
                )
        return rows

    def take(self, rows: np.ndarray[Any, np.dtype[np.int64]]) -> Piece:
        """The piece of rows ``rows`` (sorted) of this one."""
        indices = pa.array(rows, pa.int64())
        props: dict[int, Props] = {}
        if self.props:
            where = {int(old): new for new, old in enumerate(rows.tolist())}
            props = {where[old]: found for old, found in self.props.items() if old in where}
        return Piece(
            self.positions[rows],
            self.table.take(indices),
            {name: column.take(indices) for name, column in self.values.items()},
            props,
        )

    def contents(self, rows: list[int]) -> list[Content]:
        """``(customer, type, micro, props, time text)`` of each row of ``rows``."""
        indices = pa.array(rows, pa.int64())
        taken = self.table.take(indices).to_pydict()
        names = list(self.values)
        columns = [self.values[name].take(indices).to_pylist() for name in names]
        found: list[Content] = []
        for i, row in enumerate(rows):
            props = self.props.get(row)
            if props is None:
                pairs = ((name, column[i]) for name, column in zip(names, columns, strict=True))
                props = tuple((name, value) for name, value in pairs if value is not None)
            found.append(
                (taken["customer"][i], taken["type"][i], taken["micro"][i], props, taken["text"][i])
            )
        return found


def _text(values: list[Any]) -> pa.Array:
    """A column of texts (``None``: null); ``UnicodeEncodeError`` for a lone surrogate."""
    return text_column(values)


def _piece(
    start: int,
    columns: dict[str, Any],
    values: dict[str, pa.Array],
    micro: pa.Array,
    props: dict[int, Props] | None = None,
) -> Piece:
    table = pa.table(
        {
            "id": columns["id"],
            "customer": columns["customer"],
            "type": columns["type"],
            "text": columns["time"],
            "micro": micro,
        }
    )
    positions = np.arange(start, start + table.num_rows, dtype=np.int64)
    return Piece(positions, table, values, props or {})


def _times(texts: pa.Array) -> tuple[pa.Array, list[int]]:
    """POSIX microseconds of each time text, and the rows Arrow left to Python (null there).

    A column of one common layout (:func:`~meterlib.metering.column_times.one_layout`) is
    parsed by Arrow at once; any other, or one Arrow refuses, has each text's shape checked.
    """
    if one_layout(texts):
        try:
            micro = pc.cast(pc.cast(texts, _UTC_MICROS), pa.int64())
        except pa.ArrowInvalid:
            pass  # a field out of range somewhere: text by text below
        else:
            if _in_range(micro):
                return micro, []
    shaped = pc.fill_null(pc.match_substring_regex(texts, _TIME), False)  # noqa: FBT003
    shaped = pc.and_(shaped, pc.invert(pc.starts_with(texts, "0000")))
    if pc.all(shaped).as_py():
        try:
            micro = pc.cast(pc.cast(texts, _UTC_MICROS), pa.int64())
        except pa.ArrowInvalid:
            shaped = pa.array([False] * len(texts))  # a day that does not exist: all in Python
        else:
            if _in_range(micro):
                return micro, []
    good = pc.if_else(shaped, texts, None)
    try:
        micro = pc.cast(pc.cast(good, _UTC_MICROS), pa.int64())
    except pa.ArrowInvalid:
        micro = pa.nulls(len(texts), pa.int64())
        shaped = pa.array([False] * len(texts))
    # Instants outside check_event's range go to Python too (it rejects them with its reason).
    inside = pc.and_(pc.greater_equal(micro, _FIRST_MICRO), pc.less(micro, _END_MICRO))
    shaped = pc.and_(shaped, pc.fill_null(inside, False))  # noqa: FBT003
    left = np.flatnonzero(~shaped.to_numpy(zero_copy_only=False)).tolist()
    return micro, left


def _in_range(micro: pa.Array) -> bool:
    """True when every instant lies in check_event's range (``EARLIEST <= t < LATEST``)."""
    bounds = pc.min_max(micro)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is None or (low >= _FIRST_MICRO.as_py() and high < _END_MICRO.as_py())


def _python_times(
    start: int, texts: list[str], left: list[int], micro: pa.Array, raw: Any
) -> tuple[pa.Array, list[int], list[Rejection]]:
    """Parse the rows ``left`` as check_event does; the rows that fail are rejected."""
    found = micro.to_pylist()
    bad: list[int] = []
    rejected: list[Rejection] = []
    for i in left:
        try:
            moment = datetime.fromisoformat(texts[i])
        except ValueError:
            moment = None
        if moment is None or moment.utcoffset() is None or not in_range(moment):
            bad.append(i)
            given = raw(i)
            try:
                check_event(given)
            except InvalidValueError as error:
                rejected.append(Rejection.of(start + i, given, error))
            else:  # pragma: no cover  (the shapes above are check_event's own rule)
                raise AssertionError(f"time {texts[i]!r} accepted by check_event alone")
            continue
        found[i] = micros(moment)
    return pa.array(found, pa.int64()), bad, rejected


def _finish(
    start: int,
    columns: dict[str, Any],
    values: dict[str, pa.Array],
    raw: Any,
    texts: list[str] | None = None,
) -> tuple[list[Piece], list[Rejection]]:
    """Parse the times of a checked chunk and split off the rows whose time is refused."""
    micro, left = _times(columns["time"])
    if not left:
        return [_piece(start, columns, values, micro)], []
    if texts is None:
        texts = columns["time"].to_pylist()
    micro, bad, rejected = _python_times(start, texts, left, micro, raw)
    piece = _piece(start, columns, values, micro)
    if bad:
        keep = np.setdiff1d(np.arange(len(piece), dtype=np.int64), np.array(bad, np.int64))
        piece = piece.take(keep)
    return ([piece] if len(piece) else []), rejected


@dataclass(frozen=True, slots=True)
class UnreadableLine:
    """A line of a JSON Lines file that holds no event; ``reason`` names its line number."""

    reason: str


def _each(start: int, rows: list[Any]) -> tuple[list[Piece], list[Rejection]]:
    """The event-by-event path: ``check_event`` on every row of a chunk."""
    ids: list[str] = []
    customers: list[str] = []
    kinds: list[str] = []
    texts: list[str] = []
    microseconds: list[int] = []
    positions: list[int] = []
    props: dict[int, Props] = {}
    rejected: list[Rejection] = []
    for position, raw in enumerate(rows, start):
        if type(raw) is UnreadableLine:
            rejected.append(Rejection(position, None, None, raw.reason))
            continue
        try:
            event_id, customer, kind, moment, found = check_event(raw)
        except InvalidValueError as error:
            rejected.append(Rejection.of(position, raw, error))
            continue
        given = raw.get("time") if isinstance(raw, Mapping) else None
        props[len(ids)] = tuple(found.items())
        ids.append(event_id)
        customers.append(customer)
        kinds.append(kind)
        texts.append(given if type(given) is str else moment.isoformat())
        microseconds.append(micros(moment))
        positions.append(position)
    if not ids:
        return [], rejected
    table = pa.table(
        {
            "id": _text(ids),
            "customer": _text(customers),
            "type": _text(kinds),
            "text": _text(texts),
            "micro": pa.array(microseconds, pa.int64()),
        }
    )
    return [Piece(np.array(positions, np.int64), table, {}, props)], rejected


Read = tuple[list[Piece], list[Rejection]]


def _dicts(start: int, chunk: list[Any]) -> Read:
    """A chunk of raw events: the column path when it is plain text dicts, else event by event."""
    try:
        finish = _dict_columns(start, chunk)
    except UnicodeEncodeError:  # a lone surrogate: check_event names it
        finish = None
    return _each(start, chunk) if finish is None else finish()


def _dict_columns(start: int, chunk: list[Any]) -> Callable[[], Read] | None:
    """A chunk of plain text dicts read into Arrow columns; what is left: parse the times.

    ``None`` when the chunk is anything else (see :mod:`meterlib.metering.dict_columns`).
    """
    found = dict_columns(chunk)
    if found is None:
        return None
    columns, values = found
    return partial(_finish, start, columns, values, chunk.__getitem__)


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows of a table as event mappings (a null property meaning an absent one)."""
    rows: list[dict[str, Any]] = table.to_pylist()
    for row in rows:
        given = row.get("properties")
        if isinstance(given, dict):
            row["properties"] = {k: v for k, v in given.items() if v is not None}
    return rows


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _table(start: int, table: pa.Table) -> tuple[list[Piece], list[Rejection]]:
    """A slice of a table: the column path when its columns are text, else row by row."""
    names = table.column_names
    schema = table.schema
    required = ("id", "customer", "type", "time")
    props_type = schema.field("properties").type if "properties" in names else None
    if (
        not set(names) <= set(FIELDS)
        or not all(n in names and _is_text(schema.field(n).type) for n in required)
        or not (
            props_type is None
            or pa.types.is_null(props_type)
            or (
                pa.types.is_struct(props_type)
                and all(_is_text(props_type.field(i).type) for i in range(props_type.num_fields))
            )
        )
    ):
        return _each(start, _rows(table))
    columns = {n: pc.cast(table.column(n).combine_chunks(), pa.large_string()) for n in required}
    ok = pa.array([True] * table.num_rows)
    for n in ("id", "customer", "type"):
        ok = pc.and_(ok, pc.fill_null(pc.greater(pc.utf8_length(columns[n]), 0), False))  # noqa: FBT003
    ok = pc.and_(ok, pc.is_valid(columns["time"]))
    values: dict[str, pa.Array] = {}
    if props_type is not None and pa.types.is_struct(props_type):
        flat = table.column("properties").combine_chunks().flatten()
        for i in range(props_type.num_fields):
            values[props_type.field(i).name] = pc.cast(flat[i], pa.large_string())
    if pc.all(ok).as_py():
        return _finish(start, columns, values, lambda i: _rows(table.slice(i, 1))[0])
    # Rows with a missing id, customer, type or time: those rows event by event, in order.
    pieces: list[Piece] = []
    rejected: list[Rejection] = []
    flags = ok.to_numpy(zero_copy_only=False)
    run = 0
    while run < len(flags):
        end = run
        while end < len(flags) and flags[end] == flags[run]:
            end += 1
        part = table.slice(run, end - run)
        if flags[run]:
            found, refused = _table(start + run, part)
        else:
            found, refused = _each(start + run, _rows(part))
        pieces += found
        rejected += refused
        run = end
    return pieces, rejected


def _read_file(path: Path) -> pa.Table | list[Any]:
    """A Parquet or JSON Lines file as a table (or, for JSON with fractions, exact rows)."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq  # noqa: PLC0415  (only for Parquet input)

        return pq.read_table(path)
    if suffix in {".jsonl", ".ndjson", ".json"}:
        import pyarrow.json as pj  # noqa: PLC0415  (only for JSON input)

        schema = pa.schema([(n, pa.string()) for n in ("id", "customer", "type", "time")])
        try:
            table = pj.read_json(
                path,
                parse_options=pj.ParseOptions(
                    explicit_schema=schema, unexpected_field_behavior="infer"
                ),
            )
        except pa.ArrowInvalid:
            table = None
        if table is not None and not any(
            pa.types.is_floating(t) or (pa.types.is_nested(t) and _has_float(t))
            for t in table.schema.types
        ):
            return table
        # Numbers with fractions (Arrow would read them as floats) or lines Arrow refuses:
        # parsed exactly, line by line, numbers as Decimal.
        # A line that cannot be read is rejected on its own, with its line number and the
        # reason the line reader of every other engine gives; the lines after it still count.
        rows: list[Any] = []
        with path.open("rb") as lines:
            for _, _, data, problem in read_jsonl(lines):
                rows.append(UnreadableLine(problem) if problem is not None else data)
        return rows
    raise InvalidValueError("events", str(path), "a .parquet, .jsonl or .ndjson file")


def _has_float(kind: pa.DataType) -> bool:
    if pa.types.is_floating(kind):
        return True
    if pa.types.is_struct(kind):
        return any(_has_float(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _has_float(kind.value_type)
    return False


def as_table(events: Any) -> pa.Table | None:
    """``events`` as an Arrow table when it is a table or frame, else ``None``."""
    if isinstance(events, pa.Table):
        return events
    if isinstance(events, pa.RecordBatch):
        return pa.Table.from_batches([events])
    module = type(events).__module__
    if module.startswith("polars") and hasattr(events, "to_arrow"):
        return events.to_arrow()
    if module.startswith("pandas") and hasattr(events, "columns"):
        return pa.Table.from_pandas(events, preserve_index=False)
    return None


def read_pieces(events: Any) -> Iterator[tuple[list[Piece], list[Rejection], int]]:
    """Pieces, rejections and size of each slice of a batch, in order (see module docstring)."""
    for found, refused, size, _ in read_prepared(events, _nothing):
        yield found, refused, size


def _nothing(_: Piece) -> None:
    return None


def read_prepared(
    events: Any, prepare: Callable[[Piece], Prepared]
) -> Iterator[tuple[list[Piece], list[Rejection], int, list[Prepared]]]:
    """As :func:`read_pieces`, with ``prepare(piece)`` of each piece, in order.

    (A worker thread finishing each chunk while the next one is read was tried: with other
    processes busy on the cores it was slower, the two threads waiting on each other for the
    GIL; so each chunk is read and prepared in the caller's thread.)
    """
    for found, refused, size in _read_pieces(events):
        yield found, refused, size, [prepare(piece) for piece in found]


def _read_pieces(events: Any) -> Iterator[tuple[list[Piece], list[Rejection], int]]:
    """:func:`read_pieces` in one thread."""
    if isinstance(events, str | os.PathLike):
        events = _read_file(Path(events))
    table = as_table(events)
    if table is not None:
        for start in range(0, table.num_rows, SLICE):
            part = table.slice(start, SLICE)
            yield (*_table(start, part), part.num_rows)
        return
    if isinstance(events, Mapping):
        raise InvalidValueError("events", events, "a table, a frame, a file or events")
    source: Iterable[Any] = events
    if type(source) is list or type(source) is tuple:
        for start in range(0, len(source), CHUNK):
            part = list(source[start : start + CHUNK])
            yield (*_dicts(start, part), len(part))
        return
    iterator = iter(source)
    start = 0
    while True:
        chunk: list[Any] = []
        try:
            chunk.extend(islice(iterator, CHUNK))
        except BaseException:
            # The events read before the failure still count (as in the accumulator), then
            # the error goes to the caller.
            if chunk:
                yield (*_dicts(start, chunk), len(chunk))
            raise
        if not chunk:
            return
        yield (*_dicts(start, chunk), len(chunk))
        start += len(chunk)
