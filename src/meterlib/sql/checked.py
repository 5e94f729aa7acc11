"""Event files checked at meterlib's edge and handed to DuckDB as clean typed columns.

:func:`load_checked` reads JSON Lines, CSV or Parquet files with meterlib's own readers
(:mod:`meterlib.metering.readers`), checks every event with
:func:`~meterlib.metering.events.check_event` and, with meters, with
:func:`~meterlib.metering.reading.read_event` (the one meter reading of the accumulator and
the ledger: the same rules and words), and appends the rows that pass to the DuckDB temp
table :data:`TABLE` in Arrow chunks.
A row that fails is a :class:`~meterlib.metering.report.Rejection` naming its line (its row in
a Parquet file) and reason, never an error that stops the query, so the DuckDB path rejects
exactly what ``meterlib ingest`` and the accumulator reject. JSON Lines and CSV take the fast
path of :mod:`meterlib.sql.lines` for their plainly good lines.

The table has ``meterlib_row`` (receipt order: file order, then line order), ``id``,
``customer``, ``type``, ``time`` (``TIMESTAMPTZ``), ``received_at`` (``TIMESTAMPTZ``, ``NULL``
when not given), ``meterlib_properties`` (every property, keys sorted, values as
:func:`~meterlib.metering.events.value_text`: the content two copies of an id are compared
by, as :meth:`~meterlib.metering.events.UsageEvent.content` compares them) and one text column
per property a meter reads. A property meters read only as a number is given as the decimal
the meter reading (:func:`~meterlib.metering.reading.read_event`, through the number funnel)
read, in plain notation, so DuckDB sums exactly the decimals the other engines sum.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from meterlib._fast import encode_json
from meterlib.errors import InvalidValueError
from meterlib.metering.events import check_event, parse_time, value_text
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.readers import RawLine, read_csv, read_jsonl, read_parquet
from meterlib.metering.reading import MeterReader, check_meters, read_event
from meterlib.metering.report import Rejection
from meterlib.sql.lines import Block, CsvHeader, blocks, csv_header, screen_csv, screen_jsonl

if TYPE_CHECKING:
    import duckdb

__all__ = ["CHUNK", "TABLE", "Loaded", "load_checked"]

#: The DuckDB temp table the checked rows go to.
TABLE = "meterlib_checked"
#: Rows handed to DuckDB per Arrow chunk.
CHUNK = 100_000

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What :func:`load_checked` did: the rows it refused, and whether any had ``received_at``."""

    rejected: tuple[Rejection, ...]
    received_at: bool


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lines(path: str, kind: str) -> Iterator[RawLine]:
    if kind == "parquet":
        yield from read_parquet(path)
        return
    with Path(path).open("rb") as stream:
        if kind == "csv":
            yield from read_csv(stream, bare="property")
        else:
            yield from read_jsonl(stream)


class _Columns:
    """Checked rows gathered column by column, flushed to DuckDB a chunk at a time."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, properties: Sequence[str]) -> None:
        import pyarrow as pa  # noqa: PLC0415  (optional dependency, imported when used)

        self.connection = connection
        self.properties = tuple(properties)
        names = ["meterlib_row", "id", "customer", "type", "time", "received_at"]
        names += ["meterlib_properties", *self.properties]
        self.names = names
        self.rows: list[tuple[Any, ...]] = []
        stamp = pa.timestamp("us", tz="UTC")
        types = [pa.int64(), pa.string(), pa.string(), pa.string(), stamp, stamp, pa.string()]
        types += [pa.string()] * len(self.properties)
        self.schema = pa.schema(list(zip(names, types, strict=True)))
        sql_types = ["BIGINT", "VARCHAR", "VARCHAR", "VARCHAR", "TIMESTAMPTZ", "TIMESTAMPTZ"]
        sql_types += ["VARCHAR"] * (1 + len(self.properties))
        connection.execute(
            f"CREATE OR REPLACE TEMP TABLE {TABLE} ("
            + ", ".join(f"{_ident(n)} {t}" for n, t in zip(names, sql_types, strict=True))
            + ")"
        )

    def add(self, row: tuple[Any, ...]) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        import pyarrow as pa  # noqa: PLC0415

        arrays = []
        for index, values in enumerate(zip(*self.rows, strict=True)):
            kind = self.schema.field(index).type
            if pa.types.is_timestamp(kind):
                arrays.append(pa.array(values, type=pa.int64()).cast(kind))
            else:
                arrays.append(pa.array(values, type=kind))
        self.rows = []
        chunk = pa.Table.from_arrays(arrays, schema=self.schema)
        self.connection.register("meterlib_chunk", chunk)
        try:
            self.connection.execute(f"INSERT INTO {TABLE} SELECT * FROM meterlib_chunk")  # noqa: S608  (constant names)
        finally:
            self.connection.unregister("meterlib_chunk")


def _numeric(meters: Sequence[Meter]) -> frozenset[str]:
    """Properties meters read only as numbers (never as text: filters, groups, unique counts)."""
    numbers = {
        m.property
        for m in meters
        if m.property and m.aggregation not in {Aggregation.COUNT, Aggregation.UNIQUE_COUNT}
    }
    texts = {name for m in meters for name in (*m.group_by, *m.filters)}
    texts |= {m.property or "" for m in meters if m.aggregation is Aggregation.UNIQUE_COUNT}
    return frozenset(name for name in numbers - texts if name)


class _Checker:
    """The exact Python rules for one raw line: check, read the meters, add or reject."""

    def __init__(
        self,
        columns: _Columns,
        meters: Sequence[Meter] | None,
        word: str,
    ) -> None:
        self.columns = columns
        self.readers: dict[str, list[MeterReader]] | None = None
        if meters is not None:
            check_meters(meters)
            self.readers = {}
            for index, meter in enumerate(meters):
                self.readers.setdefault(meter.event_type, []).append(MeterReader(index, meter))
        self.cache: dict[str, Decimal] = {}
        self.numeric = _numeric(meters or ())
        self.rejected: list[Rejection] = []
        self.stamped = False
        self.word = word

    def take(self, index: int, where: str, line: RawLine) -> None:
        """Line ``line``, the ``index``-th read (from 0): a checked row, or a rejection."""
        number, data, raw, problem = line
        if raw is None:
            found = data.get("id") if isinstance(data, dict) else None
            event_id = found if type(found) is str else None
            self.rejected.append(Rejection(index, event_id, None, f"{where}{problem}"))
            return
        received = raw.pop("received_at", None)
        try:
            event_id, customer, kind_, time, props = check_event(raw, copy=False)
            readers = self.readers
            readings = (
                ()
                if readers is None
                else read_event(readers.get(kind_, ()), event_id, props, self.cache)
            )
            stamp = None if received is None else parse_time(received, event_id, "received_at")
        except InvalidValueError as error:
            rejection = Rejection.of(index, raw, error)
            reason = f"{where}{self.word} {number}: {rejection.reason}"
            self.rejected.append(replace(rejection, reason=reason))
            return
        self.stamped = self.stamped or stamp is not None
        texts = {k: v if type(v) is str else value_text(v) for k, v in props.items()}
        # The decimals the meters read, for properties read only as numbers.
        numeric = self.numeric
        read = {r.prop: v for r, _, v in readings if r.prop in numeric and v is not None}
        columns = self.columns
        columns.add(
            (
                index + 1,
                event_id,
                customer,
                kind_,
                (time - _EPOCH) // _MICRO,
                None if stamp is None else (stamp - _EPOCH) // _MICRO,
                encode_json(dict(sorted(texts.items()))),
                *[
                    format(read[name], "f") if name in read else texts.get(name)
                    for name in columns.properties
                ],
            )
        )


def _exact_line(number: int, raw: str | bytes) -> RawLine | None:
    """Line ``number`` of a file read by :func:`read_jsonl` alone; None for a blank line.

    Line 1 is read as the first line of a file (a BOM is skipped), any other line after a
    blank first line, so it is read exactly as in the middle of the file.
    """
    found = list(read_jsonl([raw] if number == 1 else [raw[:0], raw]))
    if not found:
        return None
    read_number, data, event, problem = found[0]
    if problem is not None and read_number != number:
        problem = f"line {number}" + problem[len(f"line {read_number}") :]
    return number, data, event, problem


def _load_jsonl(
    connection: duckdb.DuckDBPyConnection,
    path: str,
    checker: _Checker,
    *,
    position: int,
    where: str,
    meters: Sequence[Meter],
) -> int:
    """One JSON Lines file: plainly good lines by DuckDB, the rest by the exact rules."""
    for block in blocks(path):

        def exact(rest: list[int], block: Block = block, start: int = position) -> list[int]:
            blank: list[int] = []
            for i in rest:  # ascending; a blank line is never plainly good, so all are here
                line = _exact_line(block.first + i, block.raw(i))
                if line is None:
                    blank.append(i)
                    continue
                checker.take(start + i - len(blank), where, line)
            return blank

        position += screen_jsonl(
            connection,
            block,
            table=TABLE,
            properties=checker.columns.properties,
            meters=meters,
            start=position,
            exact=exact,
        )
    return position


class _CsvFile:
    """A CSV file's blocks, and its records read by the exact reader from any line on.

    The exact reader (:func:`~meterlib.metering.readers.read_csv`) is started afresh at a
    line, after the file's own header line: a record it reads there is the record the reader
    of the whole file reads, since the line before ended a record. A record may run on (a
    quoted field holding line breaks, blank lines before it) into later lines, also of later
    blocks, which are then read ahead and kept.
    """

    def __init__(self, path: str) -> None:
        self.source = blocks(path)
        self.ahead: deque[Block] = deque()
        self.head: str | bytes = b""
        #: The last line a record read so far took (line 1: the header).
        self.done = 1

    def next_block(self) -> Block | None:
        return self.ahead.popleft() if self.ahead else next(self.source, None)

    def _after(self, block: Block, index: int) -> Iterator[str | bytes]:
        yield from (block.raw(i) for i in range(index, len(block.lines)))
        seen = 0
        while True:
            if seen == len(self.ahead):
                later = next(self.source, None)
                if later is None:
                    return
                self.ahead.append(later)
            later = self.ahead[seen]
            seen += 1
            yield from (later.raw(i) for i in range(len(later.lines)))

    def record(self, block: Block, index: int) -> tuple[RawLine | None, int]:
        """The record read from line ``index`` of ``block`` on, and the lines it took.

        The record is None at the end of the file (blank lines only).
        """
        used = 0

        def lines() -> Iterator[str | bytes]:
            nonlocal used
            yield self.head
            for line in self._after(block, index):
                used += 1
                yield line

        found = next(read_csv(cast("Iterable[str]", lines()), bare="property"), None)
        if found is None:
            return None, used
        number, data, event, problem = found
        true = block.first + index + number - 2
        if problem is not None:
            problem = f"line {true}" + problem.removeprefix(f"line {number}")
        return (true, data, event, problem), used


def _load_csv(
    connection: duckdb.DuckDBPyConnection,
    path: str,
    checker: _Checker,
    *,
    position: int,
    where: str,
    meters: Sequence[Meter],
) -> int:
    """One CSV file: plainly good rows by DuckDB, the rest by the exact rules."""
    source = _CsvFile(path)
    block = source.next_block()
    header: CsvHeader | None = None
    if block is not None and block.lines and not isinstance(block.lines, list):
        header = csv_header(block.lines[0].as_py())
    if block is None or header is None:
        for line in _lines(path, "csv"):  # an empty file, or a header only the exact rules read
            checker.take(position, where, line)
            position += 1
        return position
    source.head = block.raw(0)
    while block is not None:

        def exact(rest: list[int], block: Block = block, start: int = position) -> list[int]:
            # Lines up to ``source.done`` belong to records read before (or are the header).
            none = list(range(min(max(source.done - block.first + 1, 0), len(block.lines))))
            for i in rest:  # ascending
                if block.first + i <= source.done:
                    continue
                record, used = source.record(block, i)
                source.done = block.first + i + used - 1
                if record is not None:
                    checker.take(start + i - len(none), where, record)
                    none.extend(range(i + 1, min(i + used, len(block.lines))))
                else:
                    none.extend(range(i, min(i + used, len(block.lines))))
            return none

        position += screen_csv(
            connection,
            block,
            header,
            table=TABLE,
            properties=checker.columns.properties,
            meters=meters,
            start=position,
            exact=exact,
        )
        block = source.next_block()
    return position


def load_checked(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[str],
    kind: str,
    properties: Sequence[str],
    meters: Sequence[Meter] | None = None,
) -> Loaded:
    """Read ``files`` (all of ``kind``: ``json``, ``csv`` or ``parquet``) into :data:`TABLE`.

    Rejection ``index`` counts every line read (from 0, across the files in order); its reason
    starts with the line (``line 7: ...``, ``row 7: ...`` for Parquet), preceded by the file
    name when there are several files. JSON Lines and CSV take the fast path of
    :mod:`meterlib.sql.lines` for their plainly good lines.
    """
    columns = _Columns(connection, properties)
    checker = _Checker(columns, meters, "row" if kind == "parquet" else "line")
    position = 0
    for path in files:
        where = f"{path}: " if len(files) > 1 else ""
        if kind == "json":
            position = _load_jsonl(
                connection, path, checker, position=position, where=where, meters=meters or ()
            )
            continue
        if kind == "csv":
            position = _load_csv(
                connection, path, checker, position=position, where=where, meters=meters or ()
            )
            continue
        for line in _lines(path, kind):
            checker.take(position, where, line)
            position += 1
    columns.flush()
    return Loaded(tuple(checker.rejected), checker.stamped)
