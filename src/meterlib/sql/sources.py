"""Event files and the SQLite ledger as one DuckDB view in the events-table layout.

:func:`register_source` turns a source into the view ``meterlib_events`` that the compiled
queries read (columns ``id``, ``customer``, ``type``, ``time``, one column per property read,
and the receipt-order columns). Event files pass meterlib's edge on the way in (see below)
and reach DuckDB as clean columns; DuckDB does the deduplication and the aggregation.

**Sources.** A path, a glob, or a list of them; the kind comes from the suffix:

- ``.parquet``: flat columns (``id``, ``customer``, ``type``, ``time``, one column per
  property), and/or a ``properties`` column holding a struct, a map or a JSON object as text;
- ``.csv``: a header row, the same flat columns (or ``properties.NAME`` columns, or a
  ``properties`` column of JSON), every cell read as text so no number is guessed into a
  binary type;
- ``.jsonl``, ``.ndjson``, ``.json``: JSON Lines, one event object per line as
  :meth:`~meterlib.metering.events.UsageEvent.to_dict` writes it
  (``{"id", "customer", "type", "time", "properties": {...}}``); JSON numbers are exact
  (``1.5`` is the decimal 1.5, as in ``meterlib ingest``);
- ``.sqlite``, ``.sqlite3``, ``.db``: the ledger (see :func:`load_sqlite`).

Globs are expanded in Python and the files read in sorted path order; a glob that matches no
file is an error, never an empty result.

**One edge for every engine.** Clean Parquet files (flat typed columns, every row sure to pass
the edge, established by the files' own statistics when they prove it, else by one aggregate
pass over the files; see :func:`_clean_parquet` and :func:`proven_by_statistics`) are read by
DuckDB itself. JSON Lines and CSV lines that are plainly good (a strict shape that
the rules surely accept with the same fields) are checked and copied by DuckDB in bulk
(:mod:`meterlib.sql.lines`). All other events are read by meterlib's own readers
(:mod:`meterlib.metering.readers`) and every event is checked by
:func:`~meterlib.metering.events.check_event` and, with meters, read by
:func:`~meterlib.metering.reading.read_event`, exactly as ``meterlib ingest`` and the
accumulator check it, streaming, before the rows reach DuckDB as clean typed columns (Arrow
chunks of :data:`CHUNK` rows). A row that fails is *rejected*: it is left out and reported
(:attr:`EventsView.rejected`, the ``rejected`` of
:func:`~meterlib.sql.duckdb_engine.scan_source`) with its line number (its row number in a
Parquet file) and the same reason the other engines give; the query runs on the rest. Times
must carry an offset and lie in the years 1900 to 2200 (see :mod:`meterlib.metering.events`).
What DuckDB itself then refuses is a number with more places than the query's ``scale`` or
more integer digits than ``DECIMAL(38, scale)`` holds: the whole query stops with a clean
:class:`~meterlib.sql.duckdb_engine.SqlEngineError`, never rounding.

**First received.** With a ``received_at`` field or column (an instant: ISO text with an offset
or a time-zone aware timestamp), copies of an id are ranked by it, then by file order;
``NULL`` ranks last. Without it, by file order: the file's position in the sorted list, then
the row's position in the file. ``received_at`` is a field of these sources only (``meterlib
ingest`` stamps its own).
"""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meterlib.errors import InvalidValueError
from meterlib.metering.meters import Meter
from meterlib.metering.report import Rejection
from meterlib.sql.cells import ExactColumns
from meterlib.sql.checked import TABLE, load_checked
from meterlib.sql.compile import CORE_COLUMNS

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "VIEW",
    "EventsView",
    "expand",
    "load_sqlite",
    "proven_by_statistics",
    "register_source",
]

#: The name of the view the compiled queries read.
VIEW = "meterlib_events"

_PARQUET = frozenset({".parquet"})
_CSV = frozenset({".csv"})
_JSON = frozenset({".jsonl", ".ndjson", ".json"})
_SQLITE = frozenset({".sqlite", ".sqlite3", ".db"})
_OFFSET = "([zZ]|[+-][0-9][0-9](:?[0-9][0-9])?)$"
#: Rows fetched from SQLite per chunk.
CHUNK = 100_000


@dataclass(frozen=True, slots=True)
class EventsView:
    """What :func:`register_source` built: columns, copy ranking, rows refused at the edge."""

    properties: tuple[str, ...]
    content: tuple[str, ...]
    order_by: tuple[str, ...]
    #: Properties holding exact numbers within the scale, with their types (see ExactColumns).
    exact_columns: frozenset[str]
    rejected: tuple[Rejection, ...] = ()


def expand(source: str | Path | Sequence[str | Path]) -> list[str]:
    """The files a source names: each glob expanded, sorted; an error when one matches nothing."""
    items = [source] if isinstance(source, str | Path) else list(source)
    if not items:
        raise InvalidValueError("source", source, "at least one file or glob")
    files: list[str] = []
    for item in items:
        if not isinstance(item, str | Path):
            raise InvalidValueError("source", item, "a path or a glob")
        matched = sorted(glob.glob(str(item)))  # noqa: PTH207  (a glob pattern, not a Path)
        if not matched:
            raise InvalidValueError("source", str(item), "a file or a glob matching files")
        files.extend(matched)
    kinds = {_kind(f) for f in files}
    if len(kinds) != 1:
        raise InvalidValueError(
            "source", files, "files of one kind (Parquet, CSV, JSON Lines, SQLite)"
        )
    return files


def _kind(path: str) -> str:
    suffix = Path(path).suffix.lower()
    for kind, suffixes in (
        ("parquet", _PARQUET),
        ("csv", _CSV),
        ("json", _JSON),
        ("sqlite", _SQLITE),
    ):
        if suffix in suffixes:
            return kind
    raise InvalidValueError(
        "source", path, "a .parquet, .csv, .jsonl/.ndjson/.json or .sqlite/.db file"
    )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _fail(message_sql: str, target: str) -> str:
    """A DuckDB expression that stops the query with ``message_sql`` (see ``sql._values``)."""
    return f"CAST({message_sql} AS {target})"


def _time_sql(column: str, kind: str, field: str) -> str:
    if kind == "TIMESTAMP WITH TIME ZONE":
        return column
    if kind in {"VARCHAR", "JSON"}:
        text = f"CAST({column} AS VARCHAR)"
        message = (
            f"'meterlib: event ''' || \"id\" || ''': {field} = ' || "
            f"COALESCE('''' || {text} || '''', 'missing') || "
            "' must be an ISO 8601 time with an offset'"
        )
        nulls = f"WHEN {column} IS NULL THEN NULL " if field != "time" else ""
        return (
            f"CAST(CASE {nulls}WHEN regexp_matches({text}, {_quote(_OFFSET)}) THEN {text} "
            f"ELSE {_fail(message, 'BIGINT')}::VARCHAR END AS TIMESTAMPTZ)"
        )
    if kind.startswith(("BIGINT", "INTEGER", "DECIMAL", "HUGEINT", "UBIGINT")) and field != "time":
        return column
    raise InvalidValueError(
        field, kind, "a TIMESTAMP WITH TIME ZONE column or ISO text with an offset"
    )


def _json_property(name: str) -> str:
    path = _quote('$."' + name.replace('"', '\\"') + '"')
    message = (
        f"'meterlib: event ''' || \"id\" || ''': properties.{name.replace(chr(39), chr(39) * 2)} "
        "is a JSON number with a fraction or beyond 64 bits, which DuckDB reads as a binary "
        "double; write it as a JSON string'"
    )
    return (
        f"CASE WHEN json_type(properties, {path}) = 'DOUBLE' "
        f"THEN {_fail(message, 'BIGINT')}::VARCHAR "
        f"ELSE json_extract_string(properties, {path}) END"
    )


def _exact(kind: str, scale: int) -> bool:
    if kind in {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    }:
        return True
    if kind.startswith("DECIMAL("):
        return int(kind[8:-1].split(",")[1]) <= scale
    return False


def register_source(
    connection: duckdb.DuckDBPyConnection,
    source: str | Path | Sequence[str | Path],
    properties: Sequence[str],
    *,
    scale: int,
    meters: Sequence[Meter] | None = None,
) -> EventsView:
    """Create the view :data:`VIEW` over ``source`` exposing ``properties`` as columns.

    Event files are checked at meterlib's edge on the way (see the module docstring): rows
    that fail, and with ``meters`` rows a meter cannot read, are left out and listed in
    :attr:`EventsView.rejected`.
    """
    files = expand(source)
    kind = _kind(files[0])
    if kind == "sqlite":
        return _register_ledger(connection, files, properties, scale=scale)
    if kind == "parquet":
        fast = _clean_parquet(connection, files, properties, meters or (), scale)
        if fast is not None:
            return fast
    loaded = load_checked(connection, files, kind, properties, meters)
    columns = ['"id"', '"customer"', '"type"', '"time"', '"meterlib_row"', '"meterlib_properties"']
    columns.extend(_ident(name) for name in properties)
    order: tuple[str, ...] = ("meterlib_row",)
    if loaded.received_at:
        columns.append('"received_at"')
        order = ("received_at", *order)
    connection.execute(
        f"CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT {', '.join(columns)} FROM {TABLE}"  # noqa: S608  (names quoted)
    )
    return EventsView(
        tuple(properties),
        (*properties, "meterlib_properties"),
        order,
        frozenset(),
        loaded.rejected,
    )


_INTEGERS = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    }
)
#: Text the number funnel reads as a decimal and DECIMAL(38, 12) holds exactly (conservative).
_PLAIN = "^[+-]?[0-9]{1,26}([.][0-9]{0,12})?$"
_CORE_TEXT = ("id", "customer", "type")


def _clean_parquet(
    connection: duckdb.DuckDBPyConnection,
    files: list[str],
    properties: Sequence[str],
    meters: Sequence[Meter],
    scale: int,
) -> EventsView | None:
    """The view straight over Parquet files when no row can fail the edge, else None.

    A conservative test, on the schema and then the files' statistics
    (:func:`proven_by_statistics`) or, when they cannot prove it, one aggregate pass in
    DuckDB: flat typed
    columns (text ids, a ``TIMESTAMP WITH TIME ZONE`` time, properties as integers, decimals
    or text), no missing or empty id, customer or type, times within the accepted range,
    every text a meter reads as a number a plain decimal, and no value a meter needs missing
    in an event of its type. Then :func:`load_checked` would reject nothing, and DuckDB reads
    the files itself (fast); any doubt takes the checked path, which names each problem.
    """
    listing = "[" + ", ".join(_quote(f) for f in files) + "]"
    scan = f"read_parquet({listing}, filename = true, file_row_number = true, union_by_name = true)"
    types = {
        str(name): str(kind_)
        for name, kind_, *_ in connection.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()  # noqa: S608  (paths quoted)
    }
    others = [c for c in types if c not in {*CORE_COLUMNS, "filename", "file_row_number"}]
    if (
        any(types.get(c) != "VARCHAR" for c in _CORE_TEXT)
        or types.get("time") != "TIMESTAMP WITH TIME ZONE"
        or {"properties", "received_at"} & set(others)
        or any(
            not (types[c] in _INTEGERS or types[c].startswith("DECIMAL(") or types[c] == "VARCHAR")
            for c in others
        )
        or any(p not in types for p in properties)
    ):
        return None
    checks = [
        " OR ".join(f"{_ident(c)} IS NULL OR {_ident(c)} = ''" for c in _CORE_TEXT),
        (
            '"time" IS NULL OR "time" < TIMESTAMPTZ \'1900-01-01 00:00:00+00\' '
            "OR \"time\" >= TIMESTAMPTZ '2201-01-01 00:00:00+00'"
        ),
    ]
    texts: list[str] = []  # checks that need the values themselves (number texts)
    present: set[str] = set()  # columns a meter needs in every event of its type
    for meter in meters:
        needed = [*meter.group_by, *meter.filters]
        if meter.property:
            needed.append(meter.property)
            if types[meter.property] == "VARCHAR" and meter.aggregation.value not in {
                "count",
                "unique_count",
            }:
                texts.append(
                    f'{_ident(meter.property)} IS NOT NULL AND "type" = '
                    f"{_quote(meter.event_type)} AND NOT regexp_matches("
                    f"{_ident(meter.property)}, {_quote(_PLAIN)})"
                )
        wanted = sorted(set(needed) - set(meter.filters))
        present.update(wanted)
        checks.extend(
            f'"type" = {_quote(meter.event_type)} AND {_ident(c)} IS NULL' for c in wanted
        )
    checks.extend(texts)
    if not proven_by_statistics(connection, files, [*_CORE_TEXT, "time", *present], texts):
        counts = ", ".join(f"count(*) FILTER (WHERE {check})" for check in checks)
        found = connection.execute(f"SELECT {counts} FROM {scan}").fetchone()  # noqa: S608  (names quoted)
        if found is None or any(found):
            return None
    columns = ['"id"', '"customer"', '"type"', '"time"']
    # Receipt order as one integer: the file's place in the sorted list, then the row.
    place = f"(CAST(list_position({listing}, filename) AS BIGINT) - 1) * {1 << 40} + "
    columns.append(f"{place if len(files) > 1 else ''}file_row_number AS meterlib_row")
    columns += [_ident(c) for c in others]
    body = ", ".join(columns)
    connection.execute(f"CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT {body} FROM {scan}")  # noqa: S608  (names quoted)
    exact = ExactColumns({p: types[p] for p in properties if _exact(types[p], scale)})
    return EventsView(tuple(properties), tuple(others), ("meterlib_row",), exact)


def proven_by_statistics(
    connection: duckdb.DuckDBPyConnection,
    files: Sequence[str],
    columns: Sequence[str],
    texts: Sequence[str],
) -> bool:
    """True when the files' own statistics prove the checks of ``_clean_parquet``.

    Read from the footers only (``parquet_metadata``), for every row group of every file:
    each of ``columns`` is there with a null count of 0 (no value missing, whatever the
    event's type), ``id``, ``customer`` and ``type`` have a least value that is not empty
    (the least value of a text column, even cut short, is at most every value, and only the
    empty text is below every non-empty one), and ``time`` has least and greatest values
    within the accepted years. Checks on the values themselves (``texts``: number texts)
    cannot be proven so: False then, as when a statistic is missing or a column absent from
    a file; the caller scans the rows instead. Only the new ``min_value``/``max_value``
    statistics are read (the deprecated ``min``/``max`` of old writers ordered text wrongly),
    and time statistics only as printed in UTC (``+00``).
    """
    if texts:
        return False
    listing = "[" + ", ".join(_quote(f) for f in files) + "]"
    wanted = sorted(set(columns))
    names = ", ".join(_quote(c) for c in wanted)
    core = ", ".join(_quote(c) for c in _CORE_TEXT)
    query = f"""
        WITH stats AS (
            SELECT file_name, row_group_id, path_in_schema AS name, stats_null_count AS nulls,
                   stats_min_value AS low, stats_max_value AS high
            FROM parquet_metadata({listing})
        ), groups AS (SELECT DISTINCT file_name, row_group_id FROM stats)
        SELECT
            (SELECT count(*) FROM groups),
            count(*) FILTER (WHERE name IN ({names})),
            count(*) FILTER (
                WHERE name IN ({names}) AND (nulls IS DISTINCT FROM 0
                    OR (name IN ({core}) AND (low IS NULL OR low = ''))
                    OR (name = 'time' AND NOT coalesce(
                        low LIKE '%+00' AND high LIKE '%+00'
                        AND TRY_CAST(low AS TIMESTAMPTZ) >= TIMESTAMPTZ '1900-01-01 00:00:00+00'
                        AND TRY_CAST(high AS TIMESTAMPTZ) < TIMESTAMPTZ '2201-01-01 00:00:00+00',
                        false)))
            ),
            (SELECT count(DISTINCT file_name) FROM groups)
        FROM stats
    """  # noqa: S608  (names and paths quoted)
    found = connection.execute(query).fetchone()
    if found is None:
        return False
    row_groups, seen, failed, covered = (int(v or 0) for v in found)
    return covered == len(set(files)) and seen == row_groups * len(wanted) and failed == 0


def _register_ledger(
    connection: duckdb.DuckDBPyConnection,
    files: list[str],
    properties: Sequence[str],
    *,
    scale: int,
) -> EventsView:
    """The view over a ledger's events (checked when they were stored)."""
    if len(files) != 1:
        raise InvalidValueError("source", files, "one SQLite ledger file")
    load_sqlite(connection, files[0])
    scan = "meterlib_ledger"
    order: tuple[str, ...] = ("meterlib_row",)
    types = {
        str(name): str(kind_)
        for name, kind_, *_ in connection.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()  # noqa: S608  (constant name)
    }
    from_json = "properties" in types and types["properties"] in {"JSON", "VARCHAR"}
    columns = [
        '"id"::VARCHAR AS "id"',
        '"customer"::VARCHAR AS "customer"',
        '"type"::VARCHAR AS "type"',
        f'{_time_sql(_ident("time"), types["time"], "time")} AS "time"',
        "meterlib_row",
    ]
    exact: dict[str, str] = {}
    content: list[str] = []
    for name in properties:
        if name in types:
            columns.append(f"{_ident(name)} AS {_ident(name)}")
            if _exact(types[name], scale):
                exact[name] = types[name]
        elif from_json:
            columns.append(f"{_json_property(name)} AS {_ident(name)}")
        else:
            columns.append(f"CAST(NULL AS VARCHAR) AS {_ident(name)}")
        content.append(name)
    if from_json:
        columns.append('CAST("properties" AS VARCHAR) AS "meterlib_properties"')
        content.append("meterlib_properties")
    if "received_at" in types:
        received = _time_sql(_ident("received_at"), types["received_at"], "received_at")
        columns.append(f'{received} AS "received_at"')
        order = ("received_at", *order)
    body = ", ".join(columns)
    connection.execute(f"CREATE OR REPLACE TEMP VIEW {VIEW} AS SELECT {body} FROM {scan}")  # noqa: S608  (names quoted)
    return EventsView(tuple(properties), tuple(content), order, ExactColumns(exact))


def _ledger_table(ledger: sqlite3.Connection) -> str:
    """``ledger_events`` (the events-table view) in a meterlib ledger, else ``events``."""
    has_meta = ledger.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if has_meta:
        found = ledger.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        if found and str(found[0]).startswith("meterlib.ledger/"):
            return "ledger_events"
    return "events"


def load_sqlite(connection: duckdb.DuckDBPyConnection, path: str, table: str | None = None) -> None:
    """Copy a ledger's events into the DuckDB temp table ``meterlib_ledger``, chunk by chunk.

    DuckDB's own SQLite scanner is an extension downloaded at first use, which this library
    cannot rely on, so rows are read with Python's :mod:`sqlite3` (read-only) in chunks of
    :data:`CHUNK` and handed to DuckDB as Arrow columns of text: rows cross Python as tuples of
    text, never as event objects. The table needs ``id``, ``customer``, ``type``, ``time``
    (ISO text with an offset) and ``properties`` (JSON text); ``received_at`` when it has one.
    Receipt order is SQLite's ``rowid`` (insertion order) after ``received_at``. Without a
    ``table``, a meterlib ledger (written by :class:`~meterlib.ledger.Ledger`) is read
    through its ``ledger_events`` view, any other file through its ``events`` table.
    """
    import pyarrow as pa  # noqa: PLC0415  (only the SQLite path needs it)

    uri = Path(path).resolve().as_uri() + "?mode=ro"
    with sqlite3.connect(uri, uri=True) as ledger:
        table = table or _ledger_table(ledger)
        found = {row[1] for row in ledger.execute(f"PRAGMA table_info({_ident(table)})")}
        wanted = [c for c in (*CORE_COLUMNS, "properties", "received_at") if c in found]
        if not {*CORE_COLUMNS, "properties"} <= found:
            raise InvalidValueError(
                "source", path, f"a SQLite ledger with a table {table!r} of events"
            )
        names = ["meterlib_row", *wanted]
        schema = pa.schema([("meterlib_row", pa.int64()), *((c, pa.string()) for c in wanted)])
        connection.execute(
            "CREATE OR REPLACE TEMP TABLE meterlib_ledger ("
            + ", ".join(
                f"{_ident(c)} {'BIGINT' if c == 'meterlib_row' else 'VARCHAR'}" for c in names
            )
            + ")"
        )
        selected = ", ".join(_ident(c) for c in wanted)
        cursor = ledger.execute(
            f"SELECT rowid, {selected} FROM {_ident(table)} ORDER BY rowid"  # noqa: S608  (names quoted)
        )
        while rows := cursor.fetchmany(CHUNK):
            chunk = pa.Table.from_arrays(
                [
                    pa.array([r[i] for r in rows], type=schema.field(i).type)
                    for i in range(len(names))
                ],
                schema=schema,
            )
            _insert(connection, chunk)


def _insert(connection: duckdb.DuckDBPyConnection, chunk: Any) -> None:
    connection.register("meterlib_chunk", chunk)
    try:
        connection.execute("INSERT INTO meterlib_ledger SELECT * FROM meterlib_chunk")
    finally:
        connection.unregister("meterlib_chunk")
