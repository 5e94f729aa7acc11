"""Line readers: usage events from JSON Lines and CSV files, one raw event per line.

Readers turn a byte stream into ``(line number, input, event, problem)`` tuples (see
:data:`RawLine`), streaming, so memory stays flat however long the file. A line that cannot be
read becomes a problem with its line number and reason, never an exception, so one bad line
never stops an ingest; the event mappings are validated later, by the ledger or the accumulator,
which reject invalid events with their own reasons.

**JSON Lines**: one JSON object per line, numbers parsed as ``Decimal`` (``parse_float=Decimal``,
so never a float); ``NaN`` and ``Infinity`` are refused; blank lines are skipped.

**CSV** (UTF-8, an optional byte-order mark, a header row): columns ``id``, ``customer``,
``type`` and ``time``, and the properties in either form, or both:

- one column per property named ``properties.NAME`` (``properties.tokens``); an empty cell
  means the event has no such property. Cells are text, so a CSV ``5`` is the text ``"5"``,
  as a JSON ``"5"`` is (a JSON number ``5`` is a number: the same id sent both ways is a
  conflict, by the rule of :meth:`~meterlib.metering.events.UsageEvent.content`);
- a ``properties`` column holding a JSON object (numbers parsed as ``Decimal``).

A property named in both forms, a row with more or fewer cells than the header, or a
``properties`` cell that is not a JSON object is a problem of that line. Any other column is
kept as an event field, so validation rejects it by name instead of losing it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Literal, cast

from meterlib._fast import json_scanner

__all__ = [
    "Format",
    "RawLine",
    "detect_format",
    "line_text",
    "read_csv",
    "read_jsonl",
    "read_lines",
]

#: The input formats the readers know.
Format = Literal["jsonl", "csv"]

#: One line read: ``(line number from 1, the line's input, the event mapping or None, the
#: problem or None)``. The input is the line as read for JSON Lines (bytes from a binary
#: file; :func:`line_text` makes it text) and the row's cells (a dict of column to text) for
#: CSV; exactly one of event and problem is None.
RawLine = tuple[int, Any, dict[str, Any] | None, str | None]

_PREFIX = "properties."


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number meterlib accepts (no NaN or infinity)")


# One decoder for every line: json.loads with keyword arguments builds a new one per call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_no_constant)
_LINE_BREAKS = frozenset({"\n", "\r\n"})


def detect_format(name: str | Path) -> Format:
    """``csv`` for a ``.csv`` file name, else ``jsonl`` (``.jsonl``, ``.ndjson``, stdin)."""
    return "csv" if Path(str(name)).suffix.lower() == ".csv" else "jsonl"


def read_jsonl(lines: Iterable[bytes | str]) -> Iterator[RawLine]:
    """Events from JSON Lines: one object a line; bad lines become problems, blank ones skipped.

    ``lines`` is a binary file, a text file or any iterable of lines.
    """
    decode = _DECODER.decode
    scan = json_scanner(_DECODER)
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode() if isinstance(line, bytes) else line
            # The decoder's own scanner, called directly: a line that is one JSON value
            # followed by nothing or its line break is what ``decode`` would return; anything
            # else (leading space, trailing data, an error) goes through ``decode`` for its
            # exact result or message.
            try:
                data, end = scan(text, 0)
            except (StopIteration, ValueError):
                data = decode(text)
            else:
                if end != len(text) and text[end:] not in _LINE_BREAKS:
                    data = decode(text)
        except (ValueError, UnicodeDecodeError) as error:
            text = line_text(line)
            if not text.strip():
                continue
            yield number, text, None, f"line {number}: not valid JSON: {error}"
            continue
        if type(data) is not dict:
            problem = (
                f"line {number}: expected a JSON object (one event), "
                f"got a JSON {_json_kind(data)}"
            )
            yield number, line_text(line), None, problem
            continue
        yield number, line, data, None


def read_csv(stream: IO[bytes] | Iterable[str]) -> Iterator[RawLine]:
    """Events from CSV with a header row (see the module docstring for the columns).

    ``stream`` is a binary file (read as UTF-8) or an iterable of text lines.
    """
    if not hasattr(stream, "readinto"):  # text lines
        yield from _read_csv(cast("Iterable[str]", stream))
        return
    wrapper = io.TextIOWrapper(cast("IO[bytes]", stream), encoding="utf-8-sig", newline="")
    try:
        yield from _read_csv(wrapper)
    finally:
        # The caller owns the binary stream: hand it back open instead of closing it with the
        # wrapper.
        if not wrapper.closed:
            wrapper.detach()


def _read_csv(text: Iterable[str]) -> Iterator[RawLine]:
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        return
    except (csv.Error, UnicodeDecodeError) as error:
        yield 1, "", None, f"line 1: the header row cannot be read: {error}"
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    width = len(header)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as error:
            yield reader.line_num, "", None, f"line {reader.line_num}: not valid CSV: {error}"
            continue
        number = reader.line_num
        if not cells:
            continue
        if len(cells) != width:
            row = dict(zip(header, cells, strict=False))
            yield number, row, None, (
                f"line {number}: {len(cells)} cells where the header has {width} columns"
            )
            continue
        row = dict(zip(header, cells, strict=True))
        event, problem = _csv_event(row)
        if problem is not None:
            yield number, row, None, f"line {number}: {problem}"
        else:
            yield number, row, event, None


def _csv_event(row: dict[str, str]) -> tuple[dict[str, Any] | None, str | None]:
    event: dict[str, Any] = {}
    properties: dict[str, Any] = {}
    for column, cell in row.items():
        if column == "properties":
            if not cell.strip():
                continue
            try:
                found = _DECODER.decode(cell)
            except ValueError as error:
                return None, f"the 'properties' cell is not valid JSON: {error}"
            if type(found) is not dict:
                return None, (
                    "the 'properties' cell must be a JSON object "
                    f"(got a JSON {_json_kind(found)})"
                )
            for name, value in found.items():
                if name in properties:
                    return None, f"property {name!r} is given twice"
                properties[name] = value
        elif column.startswith(_PREFIX):
            if cell == "":
                continue
            name = column[len(_PREFIX) :]
            if name in properties:
                return None, f"property {name!r} is given twice"
            properties[name] = cell
        else:
            event[column] = cell
    event["properties"] = properties
    return event, None


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
