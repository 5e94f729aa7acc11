r"""Line readers: usage events from JSON Lines, CSV and Parquet files, one raw event per line.

Readers turn a byte stream into ``(line number, input, event, problem)`` tuples (see
:data:`RawLine`), streaming, so memory stays flat however long the file. A line that cannot be
read becomes a problem with its true line number and reason, never an exception, so one bad line
never stops an ingest nor hides the lines after it; the event mappings are validated later, by
:func:`~meterlib.metering.events.check_event` (the one edge check every engine runs).

**Text** is UTF-8, decoded line by line: a line with an invalid byte is rejected on its own
(``line 5002: not valid UTF-8 text ...``) and the next line is read as usual. A byte-order mark
at the start of a file is skipped.

**JSON Lines**: one JSON object per line, read by :func:`meterlib._json.loads_line`: numbers as
``Decimal`` (never a float), no ``NaN`` or ``Infinity``, no key twice in one object, at most
:data:`meterlib._json.MAX_DEPTH` levels of nesting, no lone surrogate (``"\ud800"``); a line
may end in ``\n`` or ``\r\n``; blank lines are skipped. A last line without its line break is
read like any other.

**CSV** (a header row): columns ``id``, ``customer``, ``type`` and ``time``, and the properties
in either form, or both:

- one column per property named ``properties.NAME`` (``properties.tokens``); an empty cell
  means the event has no such property. Cells are text, so a CSV ``5`` is the text ``"5"``,
  as a JSON ``"5"`` is (a JSON number ``5`` is a number: the same id sent both ways is a
  conflict, by the rule of :meth:`~meterlib.metering.events.UsageEvent.content`);
- a ``properties`` column holding a JSON object (read by :func:`meterlib._json.loads`).

A property named in both forms, a row with more or fewer cells than the header, or a
``properties`` cell that is not a JSON object is a problem of that line. A header naming one
column twice is refused (line 1), and then every row is a problem too, so none is lost
silently. Any other column is kept as an event field, so validation rejects it by name instead
of losing it (``bare="property"`` reads it as a property instead: the flat layout of
:mod:`meterlib.sql.sources`).

**Parquet** (:func:`read_parquet`, needs ``pyarrow``): one event per row, numbered from 1;
columns as for CSV, where ``properties`` may also be a struct or a map column; typed values
stay typed (an integer is a number, a float is refused by the number funnel, a timestamp
must carry a time zone).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal, cast

from meterlib._json import JsonError, line_parser, loads

__all__ = [
    "Format",
    "RawLine",
    "detect_format",
    "line_text",
    "read_csv",
    "read_jsonl",
    "read_lines",
    "read_parquet",
]

#: The input formats the readers know.
Format = Literal["jsonl", "csv"]

#: One line read: ``(line number from 1, the line's input, the event mapping or None, the
#: problem or None)``. The input is the line as read for JSON Lines (bytes from a binary
#: file; :func:`line_text` makes it text) and the row's cells (a dict of column to text) for
#: CSV; exactly one of event and problem is None.
RawLine = tuple[int, Any, dict[str, Any] | None, str | None]

_PREFIX = "properties."
_BOM = b"\xef\xbb\xbf"
_CORE = frozenset({"id", "customer", "type", "time", "properties", "received_at"})


def detect_format(name: str | Path) -> Format:
    """``csv`` for a ``.csv`` file name, else ``jsonl`` (``.jsonl``, ``.ndjson``, stdin)."""
    return "csv" if Path(str(name)).suffix.lower() == ".csv" else "jsonl"


def _utf8_problem(error: UnicodeDecodeError) -> str:
    return f"not valid UTF-8 text ({error.reason} at byte {error.start} of the line)"


def read_jsonl(lines: Iterable[bytes | str]) -> Iterator[RawLine]:
    """Events from JSON Lines: one object a line; bad lines become problems, blank ones skipped.

    ``lines`` is a binary file, a text file or any iterable of lines.
    """
    parse = line_parser()
    first = True
    for number, line in enumerate(lines, start=1):
        if first:
            first = False
            if isinstance(line, bytes):
                line = line.removeprefix(_BOM)  # noqa: PLW2901  (the BOM is no part of the line)
            else:
                line = line.removeprefix("\ufeff")  # noqa: PLW2901
        if isinstance(line, bytes):
            try:
                text = line.decode()
            except UnicodeDecodeError as error:
                yield number, line, None, f"line {number}: not valid JSON: {_utf8_problem(error)}"
                continue
        else:
            text = line
        try:
            data = parse(text)
        except JsonError as error:
            if not text.strip():
                continue
            yield number, line_text(line), None, f"line {number}: {error}"
            continue
        if type(data) is not dict:
            problem = (
                f"line {number}: expected a JSON object (one event), got a JSON {_json_kind(data)}"
            )
            yield number, line_text(line), None, problem
            continue
        yield number, line, data, None


def read_csv(
    stream: IO[bytes] | Iterable[str] | Iterable[bytes], *, bare: str = "field"
) -> Iterator[RawLine]:
    """Events from CSV with a header row (see the module docstring for the columns).

    ``stream`` is a binary file (UTF-8, decoded line by line) or an iterable of text lines.
    ``bare`` says what a column outside the event layout is: ``"field"`` (kept as an event
    field, which validation then refuses by name) or ``"property"`` (a property).
    """
    if bare not in {"field", "property"}:
        raise ValueError(f"bare must be 'field' or 'property', got {bare!r}")
    bad: dict[int, str] = {}
    yield from _read_csv(_decoded(cast("Iterable[bytes | str]", stream), bad), bad, bare)


def _decoded(lines: Iterable[bytes | str], bad: dict[int, str]) -> Iterator[str]:
    """Each line as text; an undecodable line is noted in ``bad`` and given with U+FFFD."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, str):
            yield line.removeprefix("\ufeff") if number == 1 else line
            continue
        if number == 1:
            line = line.removeprefix(_BOM)  # noqa: PLW2901  (the BOM is no part of the line)
        try:
            yield line.decode()
        except UnicodeDecodeError as error:
            bad[number] = _utf8_problem(error)
            yield line.decode("utf-8", errors="replace")


def _read_csv(text: Iterable[str], bad: dict[int, str], bare: str) -> Iterator[RawLine]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as error:
        header = []
        invalid: str | None = f"the header row cannot be read: {error}"
    else:
        invalid = _header_problem(header, bad)
    if invalid is not None:
        yield 1, "", None, f"line 1: {invalid}"
    done = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield reader.line_num, "", None, f"line {reader.line_num}: not valid CSV: {error}"
            done = reader.line_num
            continue
        number = reader.line_num
        lines = range(done + 1, number + 1)
        done = number
        if not cells:
            continue
        row = dict(zip(header, cells, strict=False))
        problem = _row_problem(
            header, cells, invalid, next((bad[n] for n in lines if n in bad), None)
        )
        if problem is None:
            event, problem = _csv_event(row, bare)
            if event is not None:
                yield number, row, event, None
                continue
        yield number, row, None, f"line {number}: {problem}"


def _row_problem(
    header: list[str], cells: list[str], invalid: str | None, broken: str | None
) -> str | None:
    """What keeps a row from being read, before its cells are looked at."""
    if invalid is not None:
        return "not read: the header row (line 1) is invalid"
    if broken is not None:
        return broken
    if len(cells) != len(header):
        return f"{len(cells)} cells where the header has {len(header)} columns"
    return None


def _header_problem(header: list[str], bad: dict[int, str]) -> str | None:
    if 1 in bad:
        return f"the header row cannot be read: {bad[1]}"
    seen: set[str] = set()
    for column in header:
        if column in seen:
            return f"the header names the column {column!r} twice"
        seen.add(column)
    return None


def _csv_event(row: dict[str, Any], bare: str) -> tuple[dict[str, Any] | None, str | None]:
    event: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, cell in row.items():
        if column == "properties":
            if cell is None or (type(cell) is str and not cell.strip()):
                continue
            found, problem = _properties_cell(cell)
            if problem is not None:
                return None, problem
            for name, value in found.items():
                if name in properties:
                    return None, f"property {name!r} is given twice"
                properties[name] = value
        elif column.startswith(_PREFIX) or (bare == "property" and column not in _CORE):
            if cell == "" or cell is None:
                continue
            name = column.removeprefix(_PREFIX) if column.startswith(_PREFIX) else column
            if name in properties:
                return None, f"property {name!r} is given twice"
            properties[name] = cell
        else:
            event[column] = cell
    event["properties"] = properties
    return event, None


def _properties_cell(cell: Any) -> tuple[dict[str, Any], str | None]:
    """The properties of a ``properties`` cell: JSON text, a struct (dict) or a map (pairs)."""
    if type(cell) is dict:
        return cell, None
    if type(cell) is list and all(type(p) is tuple and len(p) == 2 for p in cell):
        return _map_cell(cell)
    if type(cell) is not str:
        return {}, f"the 'properties' cell must be a JSON object (got {type(cell).__name__})"
    try:
        data = loads(cell)
    except JsonError as error:
        return {}, f"the 'properties' cell is {error}"
    if type(data) is not dict:
        return {}, f"the 'properties' cell must be a JSON object (got a JSON {_json_kind(data)})"
    return data, None


def _map_cell(pairs: list[tuple[Any, Any]]) -> tuple[dict[str, Any], str | None]:
    """A Parquet map cell (a list of key/value pairs) as properties; a key twice is a problem."""
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            return {}, f"property {name!r} is given twice"
        found[name] = value
    return found, None


def read_parquet(path: str | Path, *, batch_size: int = 65_536) -> Iterator[RawLine]:
    """Events from a Parquet file, one per row numbered from 1 (see the module docstring).

    Columns outside the event layout are properties (the flat layout); a ``null`` cell is no
    property. Rows are read in batches of ``batch_size``, so memory stays flat.
    """
    import pyarrow.parquet as pq  # noqa: PLC0415  (optional dependency, imported when used)

    number = 0
    for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            number += 1
            event, problem = _csv_event(row, "property")
            if problem is not None:
                yield number, row, None, f"row {number}: {problem}"
            else:
                yield number, row, event, None


def read_lines(stream: IO[bytes], fmt: Format) -> Iterator[RawLine]:
    """Events from a binary stream in format ``fmt``."""
    if fmt == "csv":
        return read_csv(stream)
    if fmt == "jsonl":
        return read_jsonl(stream)
    raise ValueError(f"unknown format {fmt!r}; expected 'jsonl' or 'csv'")


def line_text(line: bytes | str) -> str:
    """The text of a line as read, without its line break (bad UTF-8 shown as U+FFFD)."""
    if isinstance(line, bytes):
        return line.decode("utf-8", errors="replace").rstrip("\r\n")
    return line.rstrip("\r\n")


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"
