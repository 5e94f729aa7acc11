"""JSON Lines and CSV event files checked in DuckDB for the common case, the rest exactly.

:func:`screen_jsonl` is the fast half of :func:`meterlib.sql.checked.load_checked` for JSON
Lines: the file is read in large blocks, split into lines and checked as UTF-8 in C (Arrow; no
Python string per line), the lines go to DuckDB as one Arrow column beside their indexes, and
DuckDB decides in one parallel pass (each line parsed once) which lines are *plainly good*:

- the whole line matches a strict shape: a JSON object whose values are strings without
  escapes or control characters, or one object of such strings (depth 2 at most, so no
  nesting limit can be reached, no surrogate can be written, no number needs reading);
- it has five fields and they are ``id``, ``customer``, ``type``, ``time``, ``properties``
  (so no key appears twice), ``properties`` is an object whose keys appear once, the first
  three are non-empty text;
- ``time`` is ``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`` with a year from 1900 to 2199, a day
  that exists, and an instant in meterlib's range (:data:`~meterlib.metering.events.EARLIEST`
  to :data:`~meterlib.metering.events.LATEST`);
- for every meter of the event's type, each property the meter reads is present, and a
  property it reads as a number is plain ASCII digits (``12``, ``0.25``).

Such a line is exactly what :func:`~meterlib.metering.readers.read_jsonl`,
:func:`~meterlib.metering.events.check_event` and
:func:`~meterlib.metering.reading.read_event` accept with the same fields, so DuckDB copies its
fields into the checked table itself and no Python touches it; only the indexes of the
other lines come back to Python. Every other line (a blank line, a BOM, a number, an escape,
a missing field, a bad time, ...) is handed back to the caller, who reads it with those exact
Python functions: rejections keep their reasons and line numbers. A block that is not valid
UTF-8 is handed back whole.

CSV (:func:`screen_csv`) takes the same course with a header :func:`csv_header` knows: a
plainly good row is one line of plain cells (no quote, backslash or control character), as
many as the header's columns, with the same conditions on ids, time and meter properties; its
numbers must be written as the number funnel gives them back (:data:`CSV_PLAIN`), since the
checked table holds the decimal the meter read. Every other line goes to the exact CSV reader,
restarted at that line (see :mod:`meterlib.sql.checked`); a line inside a quoted field that
an earlier line opened is part of that record, never a row of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from meterlib.metering.meters import Aggregation, Meter

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = [
    "BLOCK",
    "Block",
    "CsvHeader",
    "arrow_table",
    "blocks",
    "csv_header",
    "plain_text",
    "screen_csv",
    "screen_jsonl",
]

#: Bytes read per block (cut at the last line break in it).
BLOCK = 1 << 25

_S = '"[^"\\\\[:cntrl:]]*"'
_W = "[ \t]*"
_OBJ = f"\\{{{_W}({_S}{_W}:{_W}{_S}({_W},{_W}{_S}{_W}:{_W}{_S})*)?{_W}\\}}"
_FIELD = f'("(id|customer|type|time)"{_W}:{_W}{_S}|"properties"{_W}:{_W}{_OBJ})'
#: The shape of a plainly good line (RE2, matched against the whole line): five fields, so
#: with all five names present (checked on the parsed line) no name appears twice.
LINE_SHAPE = f"{_W}\\{{{_W}{_FIELD}({_W},{_W}{_FIELD}){{4}}{_W}\\}}{_W}\r?"
#: Times whose shape Python and DuckDB read as the same instant (years 1900 to 2199).
TIME_SHAPE = (
    "(19[0-9][0-9]|2[01][0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]([.][0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
)
#: Numbers every engine reads as the same decimal, with no bound in reach.
PLAIN = "[0-9]{1,20}([.][0-9]{1,20})?"
#: Numbers in a CSV cell a plainly good line may hold: plain decimals written as the number
#: funnel gives them back (``format(Decimal(text), "f") == text``: no leading zero).
CSV_PLAIN = "(0|[1-9][0-9]{0,19})([.][0-9]{1,20})?"
_CORE = ("id", "customer", "type", "time")
#: The control characters (as RE2's ``[:cntrl:]``), and the line breaks among them.
_CONTROLS = bytes([*range(32), 127])
_BREAKS = b"\r\n"
_STRUCT = (
    '{"id": "VARCHAR", "customer": "VARCHAR", "type": "VARCHAR", "time": "VARCHAR", '
    '"properties": "JSON"}'
)


@dataclass(frozen=True, slots=True)
class Block:
    """Consecutive lines of a file: the first one's number, and the lines.

    ``lines`` is an Arrow string array when the block is valid UTF-8 (split in C, never a
    Python string per line), else the lines as bytes.
    """

    first: int
    lines: pa.Array | list[bytes]
    ends: bool  # the last line ended with a line break
    #: No quote, backslash or control character in any line, but a carriage return just
    #: before a line break (so no line holds anything a CSV cell or JSON text must escape).
    plain: bool = False

    def raw(self, i: int) -> str | bytes:
        """Line ``i`` of the block as a file iterator gives it (with its line break)."""
        last = i == len(self.lines) - 1 and not self.ends
        line = self.lines[i]
        if isinstance(line, bytes):
            return line if last else line + b"\n"
        text: str = line.as_py()
        return text if last else text + "\n"


def blocks(path: str) -> Iterator[Block]:
    """The lines of ``path`` in blocks of about :data:`BLOCK` bytes, decoded when valid UTF-8."""
    first = 1
    rest = b""
    with Path(path).open("rb") as stream:
        while True:
            data = stream.read(BLOCK)
            chunk = rest + data
            if not data:
                if chunk:
                    yield _block(first, chunk, ends=False)
                return
            cut = chunk.rfind(b"\n")
            if cut < 0:
                rest = chunk
                continue
            rest = chunk[cut + 1 :]
            block = _block(first, chunk[:cut], ends=True)
            first += len(block.lines)
            yield block


def _block(first: int, data: bytes, *, ends: bool) -> Block:
    import pyarrow as pa  # noqa: PLC0415  (optional dependency)
    import pyarrow.compute as pc  # noqa: PLC0415

    parts = pc.split_pattern(pa.array([data], pa.binary()), pattern="\n").flatten()
    try:  # the cast checks UTF-8
        return Block(first, parts.cast(pa.string()), ends, plain_text(data))
    except pa.ArrowInvalid:
        return Block(first, data.split(b"\n"), ends)


def plain_text(data: bytes) -> bool:
    """No quote, backslash or control character in ``data`` but CRLF and LF line breaks."""
    return (
        b'"' not in data
        and b"\\" not in data
        and len(data.translate(None, _BREAKS)) == len(data.translate(None, _CONTROLS))
        and data.count(b"\r") == data.count(b"\r\n")
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _numeric(meter: Meter) -> bool:
    return meter.aggregation not in {Aggregation.COUNT, Aggregation.UNIQUE_COUNT}


def _path(name: str) -> str:
    return '$."' + name + '"'


def _needed(meter: Meter) -> list[str]:
    return sorted(set(meter.group_by) | ({meter.property} if meter.property else set()))


def _meter_checks(
    meters: Sequence[Meter], kind: str, values: dict[str, str], plain: str = PLAIN
) -> list[str]:
    """Conditions a plainly good line meets for the meters (conservative: filters ignored).

    ``values`` names the column holding each property's text (SQL); ``plain`` is the shape
    a number must have.
    """
    checks = []
    for meter in meters:
        for name in _needed(meter):
            value = values[name]
            rule = f"{value} IS NOT NULL"
            if name == meter.property and _numeric(meter):
                rule += f" AND regexp_full_match({value}, {_quote(plain)})"
            checks.append(f"({kind} <> {_quote(meter.event_type)} OR ({rule}))")
    return checks


def _values(properties: Sequence[str], meters: Sequence[Meter]) -> dict[str, str]:
    """The screening table's column for each property read (never a user's name: no clash)."""
    names = sorted({*properties, *(n for m in meters for n in _needed(m))})
    return {name: f"v{i}" for i, name in enumerate(names)}


def _plain_name(name: str) -> bool:
    return '"' not in name and "\\" not in name and name.isprintable()


def screen_jsonl(
    connection: duckdb.DuckDBPyConnection,
    block: Block,
    *,
    table: str,
    properties: Sequence[str],
    meters: Sequence[Meter],
    start: int,
    exact: Callable[[list[int]], list[int]],
) -> int:
    """Copy the plainly good lines of ``block`` into ``table``; ``exact`` reads the rest.

    ``exact(rest)`` receives the indexes (in the block, ascending) of the lines not taken,
    reads them with the exact rules (their receipt positions follow ``start``), and returns
    those of them that are blank (not lines at all: they take no receipt position). A plainly
    good line ``i`` gets the receipt position ``start + 1 + i`` less the blank lines before it.
    Returns the number of lines that count (the lines of the block less the blank ones).
    """
    import pyarrow as pa  # noqa: PLC0415  (optional dependency)

    count = len(block.lines)
    names = {*properties, *(n for m in meters for n in (*m.group_by, m.property or ""))}
    if not count or isinstance(block.lines, list) or not all(map(_plain_name, names - {""})):
        return count - len(exact(list(range(count))))
    # The index as an Arrow column too (a positional join would scan in one thread).
    numbers = pa.array(range(count), pa.int64())
    connection.register("meterlib_lines", pa.table({"meterlib_n": numbers, "line": block.lines}))
    try:
        _screen(connection, properties, meters)
    finally:
        connection.unregister("meterlib_lines")
    values = _values(properties, meters)
    columns = "".join(f", {values[name]}" for name in properties)
    return count - _take(
        connection,
        table,
        start,
        exact,
        f"id, customer, kind, moment, NULL, props{columns}",
    )


def _take(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    start: int,
    exact: Callable[[list[int]], list[int]],
    fields: str,
) -> int:
    """Hand the lines ``meterlib_screen`` did not find plainly good to ``exact``, insert the rest.

    Returns the number of lines ``exact`` said take no receipt position (those are never
    inserted, even when plainly good: a CSV line inside a quoted field of an earlier line).
    """
    import pyarrow as pa  # noqa: PLC0415  (optional dependency)

    registered = False
    taken = 0
    try:
        found = connection.execute(
            "SELECT meterlib_n FROM meterlib_screen WHERE NOT ok ORDER BY meterlib_n"
        )
        blank = exact([int(n) for (n,) in found.fetchall()])
        taken = len(blank)
        where = "ok"
        if blank and blank[-1] == len(blank) - 1:
            # The first lines only (a CSV header): one shift for every line after them.
            shift = str(len(blank))
            where += f" AND meterlib_n >= {len(blank)}"
        elif blank:
            # Receipt positions after blank lines: the good line's index less the blanks before it.
            steps = pa.table({"b": pa.array(blank, pa.int64()), "k": range(1, len(blank) + 1)})
            connection.register("meterlib_blank", steps)
            registered = True
            shift = "COALESCE((SELECT max(k) FROM meterlib_blank WHERE b < meterlib_n), 0)"
            where += " AND meterlib_n NOT IN (SELECT b FROM meterlib_blank)"
        else:
            shift = "0"
        connection.execute(
            f"INSERT INTO {table} SELECT meterlib_n + {start + 1} - {shift}, {fields} "  # noqa: S608  (names quoted)
            f"FROM meterlib_screen WHERE {where}"
        )
    finally:
        if registered:
            connection.unregister("meterlib_blank")
        connection.execute("DROP TABLE IF EXISTS meterlib_screen")
    return taken


def _screen(
    connection: duckdb.DuckDBPyConnection,
    properties: Sequence[str],
    meters: Sequence[Meter],
) -> None:
    """Create ``meterlib_screen``: each line's index ``meterlib_n``, ``ok`` if plainly good, fields.

    One statement of nested projections (no filter an optimizer could push through them and
    so evaluate an expression twice); each line is parsed once, its properties once more.
    Every JSON function runs inside ``CASE WHEN <shape>`` (or on its parsed result), so it
    only ever sees valid JSON whatever order the engine evaluates the conditions in.
    """
    values = _values(properties, meters)
    parsed = (
        f"CASE WHEN regexp_full_match(line, {_quote(LINE_SHAPE)}) "
        f"THEN json_transform(line, {_quote(_STRUCT)}) END"
    )
    fields = "".join(
        f", json_extract_string(s.properties, {_quote(_path(name))}) AS {values[name]}"
        for name in values
    )
    checks = [
        "id <> ''",
        "customer <> ''",
        "kind <> ''",
        "props IS NOT NULL",
        "once",
        f"regexp_full_match(moment_text, {_quote(TIME_SHAPE)})",
        "moment >= TIMESTAMPTZ '1900-01-01 00:00:00+00'",
        "moment < TIMESTAMPTZ '2201-01-01 00:00:00+00'",
        *_meter_checks(meters, "kind", values),
    ]
    canonical = (
        "CASE WHEN keys = sorted THEN CAST(props AS VARCHAR) ELSE "
        "to_json(map_from_entries(list_sort(map_entries("
        "CAST(props AS MAP(VARCHAR, VARCHAR)))))) END"
    )
    kept = "".join(f", {column}" for column in values.values())
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE meterlib_screen AS "  # noqa: S608  (constant names, quoted texts)
        f"SELECT meterlib_n, COALESCE({' AND '.join(checks)}, false) AS ok, "
        "id, customer, kind, moment, "
        f"CASE WHEN once THEN {canonical} END AS props{kept} FROM ("
        "SELECT *, list_sort(keys) AS sorted, len(list_distinct(keys)) = len(keys) AS once FROM ("
        "SELECT meterlib_n, s.id AS id, s.customer AS customer, s.type AS kind, "
        "s.time AS moment_text, "
        "s.properties AS props, json_keys(s.properties) AS keys, "
        f"try_cast(s.time AS TIMESTAMPTZ) AS moment{fields} FROM ("
        f"SELECT meterlib_n, {parsed} AS s FROM meterlib_lines)))"
    )


@dataclass(frozen=True, slots=True)
class CsvHeader:
    """A CSV header whose rows can be screened: its columns and the property of each column."""

    columns: tuple[str, ...]
    #: Property name of each column holding one (``properties.x`` or a bare ``x``), by index.
    properties: dict[int, str]


def csv_header(line: str) -> CsvHeader | None:
    """The header of a CSV file (its first line, BOM included) if its rows can be screened.

    That is a header the exact reader reads as the same plain columns (no quote, no control
    character), naming ``id``, ``customer``, ``type`` and ``time``, no column twice and no
    property twice, without a ``properties`` or ``received_at`` column, each property name
    plain. Any other header (a duplicate column included) is None: the exact rules read the
    file.
    """
    text = line.removeprefix("\ufeff").removesuffix("\r")
    if '"' in text or not text.isprintable():
        return None
    columns = tuple(text.split(","))
    if len(set(columns)) != len(columns) or not set(_CORE) <= set(columns):
        return None
    properties: dict[int, str] = {}
    for index, column in enumerate(columns):
        if column in _CORE:
            continue
        if column in {"properties", "received_at"}:
            return None
        name = column.removeprefix("properties.")
        if not name or not _plain_name(name) or name in properties.values():
            return None
        properties[index] = name
    return CsvHeader(columns, properties)


def screen_csv(
    connection: duckdb.DuckDBPyConnection,
    block: Block,
    header: CsvHeader,
    *,
    table: str,
    properties: Sequence[str],
    meters: Sequence[Meter],
    start: int,
    exact: Callable[[list[int]], list[int]],
) -> int:
    """Copy the plainly good CSV rows of ``block`` into ``table``; ``exact`` reads the rest.

    A plainly good line is one row of plain cells (no quote, backslash or control character:
    each cell is its own text, in CSV and in JSON; a CRLF line break), as many as the header
    has columns, ``id``, ``customer`` and ``type`` not empty, ``time`` as for JSON Lines,
    and each property a meter of the event's type reads present (an empty cell is no
    property), a number read by it :data:`CSV_PLAIN`. Such a line is read by
    :func:`~meterlib.metering.readers.read_csv` as one row whatever follows it, so it is
    exactly what the exact rules accept with the same fields.

    ``exact(rest)`` as for :func:`screen_jsonl`, except that the indexes it returns (lines
    taking no receipt position: the header, blank lines, lines inside a quoted field that an
    earlier line opened) may include plainly good lines, which are then not inserted.
    """
    import pyarrow as pa  # noqa: PLC0415  (optional dependency)

    count = len(block.lines)
    names = {*properties, *(n for m in meters for n in (*m.group_by, m.property or ""))}
    if not count or isinstance(block.lines, list) or not all(map(_plain_name, names - {""})):
        return count - len(exact(list(range(count))))
    numbers = pa.array(range(count), pa.int64())
    connection.register("meterlib_lines", pa.table({"meterlib_n": numbers, "line": block.lines}))
    try:
        _screen_csv(connection, header, properties, meters, plain=block.plain)
    finally:
        connection.unregister("meterlib_lines")
    values = _values(properties, meters)
    columns = "".join(f", {values[name]}" for name in properties)
    return count - _take(
        connection, table, start, exact, f"id, customer, kind, moment, NULL, props{columns}"
    )


def _screen_csv(
    connection: duckdb.DuckDBPyConnection,
    header: CsvHeader,
    properties: Sequence[str],
    meters: Sequence[Meter],
    *,
    plain: bool,
) -> None:
    """Create ``meterlib_screen`` for CSV lines (the columns of :func:`_screen`)."""
    width = len(header.columns)
    # A line of plain cells (checked per line unless the whole block is plain), split at the
    # separators after the carriage return of a CRLF line break (at most one: plain cells).
    cells = "string_split(rtrim(line, chr(13)), ',')"
    if not plain:
        shape = _quote('[^"\\\\[:cntrl:]]*\r?')
        cells = f"CASE WHEN regexp_full_match(line, {shape}) THEN {cells} END"
    core = {column: f"s[{i + 1}]" for i, column in enumerate(header.columns) if column in _CORE}
    column_of = {name: f"NULLIF(s[{i + 1}], '')" for i, name in header.properties.items()}
    values = _values(properties, meters)
    fields = "".join(
        f", {column_of.get(name, 'CAST(NULL AS VARCHAR)')} AS {values[name]}" for name in values
    )
    # Every property present, keys sorted: the JSON text encode_json gives (plain cells).
    pairs = ", ".join(
        f"CASE WHEN s[{i + 1}] <> '' THEN {_quote(chr(34) + name + chr(34) + ':' + chr(34))} "
        f"|| s[{i + 1}] || '\"' END"
        for i, name in sorted(header.properties.items(), key=lambda item: item[1])
    )
    props = f"'{{' || concat_ws(',', {pairs}) || '}}'" if pairs else "'{}'"
    checks = [
        f"width = {width}",
        "id <> ''",
        "customer <> ''",
        "kind <> ''",
        f"regexp_full_match(moment_text, {_quote(TIME_SHAPE)})",
        "moment >= TIMESTAMPTZ '1900-01-01 00:00:00+00'",
        "moment < TIMESTAMPTZ '2201-01-01 00:00:00+00'",
        *_meter_checks(meters, "kind", values, CSV_PLAIN),
    ]
    kept = "".join(f", {column}" for column in values.values())
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE meterlib_screen AS "  # noqa: S608  (constant names, quoted texts)
        f"SELECT meterlib_n, COALESCE({' AND '.join(checks)}, false) AS ok, "
        f"id, customer, kind, moment, props{kept} FROM ("
        f"SELECT meterlib_n, len(s) AS width, {core['id']} AS id, {core['customer']} AS customer, "
        f"{core['type']} AS kind, {core['time']} AS moment_text, "
        f"try_cast({core['time']} AS TIMESTAMPTZ) AS moment, {props} AS props{fields} FROM ("
        f"SELECT meterlib_n, {cells} AS s FROM meterlib_lines))"
    )


def arrow_table(connection: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """The result of ``sql`` as an Arrow table (DuckDB 1.x and 2.x name the call apart)."""
    relation = connection.sql(sql)
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    table: pa.Table = fetch()
    return table
