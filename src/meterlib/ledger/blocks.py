r"""Ingest files read in blocks of lines: in columns when pyarrow is installed, else line by line.

:func:`read_blocks` cuts a JSON Lines or CSV stream into blocks of consecutive lines. A block
whose lines are all plain (see below) is parsed in columns by ``pyarrow.json`` or
``pyarrow.csv`` and checked with vectorised rules, giving a :class:`ColumnBlock`: the stored rows
of its events (:data:`meterlib.ledger.rows.Row` layout) with their line numbers. Any other block
goes through the line-by-line reader (:func:`meterlib.metering.readers.read_lines`, the
zero-dependency default) and comes back as its :data:`~meterlib.metering.readers.RawLine`
tuples, so every rejection keeps the reader's reason and true line number.

**A plain block** is what the line reader and :func:`~meterlib.metering.events.check_event`
would accept whole with no rule beyond the common case, so both readers store the same rows:
ASCII only (so no byte-order mark, invalid UTF-8, non-ASCII digit or lone surrogate), no
backslash (no escapes), no control character but the line break (no ``\r``), no ``null``
anywhere, no blank line; JSON: one object per line with exactly ``id``, ``customer``, ``type``,
``time`` (all non-empty text) and ``properties`` (an object of text values, no key twice:
one key per ``":``), nothing nested deeper; CSV: no quote character, a header of ``id``,
``customer``, ``type``, ``time`` and ``properties.NAME`` columns, each once, every row with
all cells. Times must read ``YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|±HH:MM)`` with a year from 1901 to
2199 and name a day that exists. Anything else, a parse error included, sends the whole block
to the line reader: unusual input costs speed, never a different answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from itertools import chain, islice
from typing import IO, Any

from meterlib.metering.readers import Format, RawLine, read_csv, read_jsonl

__all__ = ["BLOCK_LINES", "ColumnBlock", "columns_available", "read_blocks"]

#: Lines per block unless the caller says otherwise.
BLOCK_LINES = 50_000

_TIME = (
    r"^(190[1-9]|19[1-9]\d|20\d\d|21\d\d)-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:"
    r"[0-5]\d(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
_FIELDS = ("id", "customer", "type", "time")
# Every byte that may stand in a plain block: printable ASCII and the line break.
_PLAIN = bytes(range(0x20, 0x7F)) + b"\n"
_LINE_NUMBER = re.compile(r"^(line|row) (\d+):")


def columns_available() -> bool:
    """True when pyarrow is installed (the ``columnar`` or ``duckdb`` extra)."""
    try:
        import pyarrow.compute  # noqa: PLC0415  (optional dependency)
        import pyarrow.csv  # noqa: PLC0415
        import pyarrow.json  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class ColumnBlock:
    """A plain block read in columns: its events as stored rows, and their line numbers.

    ``table`` has the columns ``id, customer, type, time_us, offset_us, props, numbers`` (the
    stored row layout; ``numbers`` is null: every property value of a plain block is text);
    ``lines`` holds the line number of each row. Every row is a valid event.
    """

    table: Any
    lines: list[int]

    def __len__(self) -> int:
        return int(self.table.num_rows)


def read_blocks(
    stream: IO[bytes], fmt: Format, *, lines: int = BLOCK_LINES
) -> Iterator[ColumnBlock | list[RawLine]]:
    """The blocks of a stream in order: a :class:`ColumnBlock` for a plain one, else raw lines."""
    if fmt not in {"jsonl", "csv"}:
        raise ValueError(f"unknown format {fmt!r}; expected 'jsonl' or 'csv'")
    header: bytes | None = None
    start = 1
    if fmt == "csv":
        header = stream.readline()
        if not header:
            return
        start = 2
    first = True
    while True:
        block = list(islice(stream, lines))
        if not block:
            if header is not None and first:
                yield list(read_csv([header]))
            return
        found = _columns(block, start, fmt, header)
        if found is not None:
            yield found
        elif fmt == "csv":
            # A quoted CSV cell may hold line breaks, so a block's end need not end a row: the
            # rest of the file goes through the line reader as one stream.
            rest = chain(block, stream)
            yield from _csv_rest(rest, start, header or b"", first=first, lines=lines)
            return
        else:
            yield _line_by_line(block, start, first=first)
        start += len(block)
        first = False


def _csv_rest(
    rest: Iterator[bytes], start: int, header: bytes, *, first: bool, lines: int
) -> Iterator[list[RawLine]]:
    """The rest of a CSV file through the line reader, in lists, numbered as in the file."""
    # The header again (line 1), then the rest: its lines are numbered from 2.
    found: Iterator[RawLine] = read_csv(chain([header], rest))
    if not first:
        found = (_renumbered(raw, start - 2) for raw in found if raw[0] != 1)
    while part := list(islice(found, lines)):
        yield part


def _line_by_line(block: list[bytes], start: int, *, first: bool) -> list[RawLine]:
    """A JSON Lines block through the line reader, numbered as in the whole file."""
    if first:
        return list(read_jsonl(block))
    # A blank line first keeps a byte-order mark on the block's first line what it is
    # mid-file (not skipped); the reader skips the blank line and numbers the block from 2.
    found = list(read_jsonl(chain([b"\n"], block)))
    return [_renumbered(raw, start - 2) for raw in found]


def _renumbered(raw: RawLine, shift: int) -> RawLine:
    number, data, event, problem = raw
    if problem is not None:
        problem = _LINE_NUMBER.sub(lambda m: f"{m[1]} {int(m[2]) + shift}:", problem, count=1)
    return number + shift, data, event, problem


def _plain(data: bytes) -> bool:
    return (
        data.isascii()
        and not data.translate(None, _PLAIN)
        and b"\\" not in data
        and b"null" not in data
        and b"\n\n" not in data
        and not data.startswith(b"\n")
    )


def _columns(
    block: list[bytes], start: int, fmt: Format, header: bytes | None
) -> ColumnBlock | None:
    """The block in columns when it is plain (module docstring), else None."""
    if not block[-1].endswith(b"\n"):
        block = [*block[:-1], block[-1] + b"\n"]
    data = b"".join(block)
    if not _plain(data):
        return None
    import pyarrow as pa  # noqa: PLC0415  (optional dependency)

    try:
        table = _parse_json(data, len(block)) if fmt == "jsonl" else _parse_csv(
            header or b"", data, len(block)
        )
    except (pa.ArrowInvalid, ValueError):
        return None
    if table is None:
        return None
    rows = _rows(table)
    if rows is None:
        return None
    return ColumnBlock(rows, list(range(start, start + len(block))))


def _parse_json(data: bytes, count: int) -> Any:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.json as pj  # noqa: PLC0415

    schema = pa.schema([(name, pa.string()) for name in _FIELDS])
    table = pj.read_json(
        BytesIO(data),
        read_options=pj.ReadOptions(block_size=len(data) + 1),
        parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer"),
    )
    if table.num_rows != count or table.column_names != [*_FIELDS, "properties"]:
        return None
    kind = table.schema.field("properties").type
    if not pa.types.is_struct(kind) or any(
        not pa.types.is_string(kind.field(i).type) for i in range(kind.num_fields)
    ):
        return None
    props = table.column("properties").combine_chunks()
    values = dict(zip([kind.field(i).name for i in range(kind.num_fields)], props.flatten(),
                      strict=True))
    # One key per '":' (no quote stands inside a plain text): as many as the table holds, or
    # a key was given twice (pyarrow refuses that too) or spaced from its colon (allowed, but
    # rare enough to leave to the line reader).
    keys = 5 * count + sum(len(v) - v.null_count for v in values.values())
    if data.count(b'":') != keys or props.null_count:
        return None
    return table, values


def _parse_csv(header: bytes, data: bytes, count: int) -> Any:
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415
    import pyarrow.csv as pv  # noqa: PLC0415

    if not _plain(header) or b'"' in header or b'"' in data or not header.endswith(b"\n"):
        return None
    names = header.decode().rstrip("\n").split(",")
    props = [n.removeprefix("properties.") for n in names if n not in _FIELDS]
    if (
        len(set(names)) != len(names)
        or not set(_FIELDS) <= set(names)
        or any(not n.startswith("properties.") for n in names if n not in _FIELDS)
        or "" in props
        or len(set(props)) != len(props)
    ):
        return None
    table = pv.read_csv(
        BytesIO(data),
        read_options=pv.ReadOptions(column_names=names, block_size=len(data) + 1),
        parse_options=pv.ParseOptions(quote_char=False),
        convert_options=pv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()),
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    if table.num_rows != count:
        return None
    values: dict[str, Any] = {}
    for name in names:
        if name not in _FIELDS:
            column = table.column(name).combine_chunks()
            # An empty cell is an absent property.
            values[name.removeprefix("properties.")] = pc.if_else(
                pc.equal(column, ""), None, column
            )
    return table.select(list(_FIELDS)), values


def _rows(parsed: tuple[Any, dict[str, Any]]) -> Any:
    """The stored rows of a parsed block, or None when a rule needs the line reader."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    table, values = parsed
    columns = {name: table.column(name).combine_chunks() for name in _FIELDS}
    for name in ("id", "customer", "type"):
        if columns[name].null_count or pc.min(pc.binary_length(columns[name])).as_py() == 0:
            return None
    texts = columns["time"]
    if texts.null_count or not pc.all(pc.match_substring_regex(texts, _TIME)).as_py():
        return None
    try:
        time_us = pc.cast(pc.cast(texts, pa.timestamp("us", "UTC")), pa.int64())
    except pa.ArrowInvalid:  # a day that does not exist
        return None
    # The offset as written: "Z" is +00:00, which reads back as UTC (as the line path keeps it).
    zone = pc.if_else(pc.ends_with(texts, "Z"), "+00:00", pc.utf8_slice_codeunits(texts, -6))
    hours = pc.cast(pc.utf8_slice_codeunits(zone, 1, 3), pa.int64())
    minutes = pc.cast(pc.utf8_slice_codeunits(zone, 4, 6), pa.int64())
    sign = pc.if_else(pc.starts_with(zone, "-"), -1, 1)
    offset_us = pc.multiply(
        pc.cast(sign, pa.int64()),
        pc.multiply(pc.add(pc.multiply(hours, 60), minutes), 60_000_000),
    )
    # Each present property as '"name":"value",' (no escaping needed in a plain block), the
    # absent ones empty; joined, the last comma cut. (Joins that skip nulls are not used: one
    # pyarrow version drops the rows where every value is null.)
    parts = [
        pc.fill_null(pc.binary_join_element_wise(f'"{name}":"', value, '",', ""), "")
        for name, value in values.items()
    ]
    body = pa.array(["{}"] * len(texts), pa.string())
    if parts:
        inner = pc.utf8_rtrim(pc.binary_join_element_wise(*parts, ""), characters=",")
        body = pc.binary_join_element_wise("{", inner, "}", "")
    return pa.table(
        {
            "id": columns["id"],
            "customer": columns["customer"],
            "type": columns["type"],
            "time_us": time_us,
            "offset_us": offset_us,
            "props": body,
            "numbers": pa.nulls(len(texts), pa.string()),
        }
    )
