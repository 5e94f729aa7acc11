"""Aggregated usage read from a file: the records a usage table renders as JSON or CSV.

``UsageTable.render("json")`` (and ``"csv"``) writes one record per cell with the fields
``customer``, ``meter``, ``period_start``, ``period_end`` (ISO 8601 with an offset) and
``value`` (decimal text), plus ``period`` and ``group`` labels. :func:`load_usage_records` reads
such a file back into a :class:`~meterlib.metering.table.UsageTable`, so usage computed
elsewhere (an export, a SQL query, a notebook) can be invoiced from the command line. Values go
through the number funnel; JSON numbers are read as ``Decimal``. Two records for one cell
(same customer, meter, period and group) are refused, not added.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterlib._json import document
from meterlib._numbers import to_decimal
from meterlib.errors import DocumentError, InvalidValueError, describe
from meterlib.metering.events import parse_time
from meterlib.metering.table import GroupKey, UsageKey, UsageTable
from meterlib.periods import Period

__all__ = ["load_usage_records", "parse_usage_records"]

_WHAT = "usage records"
_REQUIRED = ("customer", "meter", "period_start", "period_end", "value")


def _group(text: Any, where: str) -> GroupKey:
    if text in {None, ""}:
        return ()
    if not isinstance(text, str):
        raise InvalidValueError(f"{where}.group", text, "text such as 'region=eu;tier=pro'")
    pairs = []
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not sep or not name:
            raise InvalidValueError(f"{where}.group", text, "text such as 'region=eu;tier=pro'")
        pairs.append((name, value))
    return tuple(sorted(pairs))


def parse_usage_records(records: Any) -> UsageTable:
    """A usage table from JSON text or a list of records (see the module docstring)."""
    records = document(records, _WHAT)
    if not isinstance(records, list):
        raise DocumentError(_WHAT, [("", f"must be a list of records (got {describe(records)})")])
    cells: dict[UsageKey, Decimal] = {}
    problems: list[tuple[str, str]] = []
    for index, record in enumerate(records):
        where = str(index)
        try:
            if not isinstance(record, Mapping):
                raise InvalidValueError(where, record, "a record (an object)")
            missing = [name for name in _REQUIRED if name not in record]
            if missing:
                raise InvalidValueError(where, sorted(record), f"a record with {missing}")
            customer, meter = record["customer"], record["meter"]
            if not isinstance(customer, str) or not isinstance(meter, str):
                raise InvalidValueError(where, (customer, meter), "customer and meter as text")
            period = Period(
                parse_time(record["period_start"], field="period_start"),
                parse_time(record["period_end"], field="period_end"),
            )
            key = UsageKey(customer, meter, period, _group(record.get("group"), where))
            if key in cells:
                raise InvalidValueError(where, key, "one record per cell (this cell repeats)")
            cells[key] = to_decimal(record["value"], f"{where}.value")
        except InvalidValueError as error:
            problems.append((where, str(error)))
    if problems:
        raise DocumentError(_WHAT, problems)
    return UsageTable(cells)


def load_usage_records(path: str | os.PathLike[str]) -> UsageTable:
    """Read usage records from a ``.json`` or ``.csv`` file."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix.lower() == ".csv":
            records: Any = list(csv.DictReader(io.StringIO(text)))
        else:
            records = document(text, _WHAT)
        return parse_usage_records(records)
    except DocumentError as error:
        error.add_note(f"while reading {os.fspath(path)}")
        raise
