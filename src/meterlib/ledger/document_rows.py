"""How issued documents sit in SQLite: the schema, the row layout, time and amount encoding.

The schema (``meterlib.documents/1``) is described in :mod:`meterlib.ledger.documents`. Times
are integer POSIX microseconds (UTC), amounts decimal text (never REAL).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import DocumentKind, IssuedDocument

__all__ = [
    "COLUMNS",
    "DOCUMENTS_FORMAT",
    "EPOCH",
    "INSERT",
    "SCHEMA",
    "decimal_sum",
    "document_of",
    "instant",
    "iso",
    "micros",
    "timezone_of",
]

#: The version of the documents schema.
DOCUMENTS_FORMAT = "meterlib.documents/1"
#: The epoch the microsecond times count from.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

#: Every table, index and trigger of the documents (statements split on ``;\\n``).
SCHEMA = """
CREATE TABLE IF NOT EXISTS document_series (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    number TEXT PRIMARY KEY,
    series TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    kind TEXT NOT NULL,
    customer TEXT NOT NULL,
    currency TEXT NOT NULL,
    total TEXT NOT NULL,
    corrects TEXT,
    period_start TEXT,
    period_end TEXT,
    issued_us INTEGER NOT NULL,
    grace_us INTEGER,
    body TEXT NOT NULL,
    UNIQUE (series, sequence)
);
CREATE INDEX IF NOT EXISTS documents_by_customer ON documents (customer, period_start);
CREATE INDEX IF NOT EXISTS documents_by_invoice ON documents (corrects);
CREATE TABLE IF NOT EXISTS document_voids (
    number TEXT PRIMARY KEY, reason TEXT NOT NULL, voided_us INTEGER NOT NULL, replaced_by TEXT
);
CREATE TABLE IF NOT EXISTS payments (
    payment INTEGER PRIMARY KEY,
    customer TEXT NOT NULL,
    currency TEXT NOT NULL,
    invoice TEXT NOT NULL,
    amount TEXT NOT NULL,
    paid_on TEXT NOT NULL,
    reference TEXT,
    method TEXT,
    recorded_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS payments_by_customer ON payments (customer, currency);
CREATE TABLE IF NOT EXISTS applications (
    customer TEXT NOT NULL,
    currency TEXT NOT NULL,
    invoice TEXT NOT NULL,
    amount TEXT NOT NULL,
    source TEXT NOT NULL,
    payment INTEGER,
    at_us INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS applications_by_invoice ON applications (invoice);
CREATE INDEX IF NOT EXISTS applications_by_customer ON applications (customer, currency);
CREATE TABLE IF NOT EXISTS document_links (document TEXT NOT NULL, invoice TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS document_links_by_invoice ON document_links (invoice);
CREATE TRIGGER IF NOT EXISTS documents_frozen BEFORE UPDATE ON documents
    BEGIN SELECT RAISE(ABORT, 'issued documents never change'); END;
CREATE TRIGGER IF NOT EXISTS documents_kept BEFORE DELETE ON documents
    BEGIN SELECT RAISE(ABORT, 'issued documents are never deleted'); END;
"""

#: Inserts one document row, in :data:`COLUMNS` order.
INSERT = (
    "INSERT INTO documents (kind, number, series, sequence, customer, currency, total, corrects, "
    "period_start, period_end, issued_us, grace_us, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?, ?)"
)
#: The columns a document row is read in.
COLUMNS = (
    "kind, number, series, sequence, customer, currency, total, corrects, period_start, "
    "period_end, issued_us, grace_us, body"
)


def micros(moment: datetime) -> int:
    """POSIX microseconds of an aware datetime (refusing a naive one, as ``at``)."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise InvalidValueError("at", moment, "an aware datetime")
    return (moment - EPOCH) // _MICRO


def instant(micro: int | None) -> datetime | None:
    """The UTC datetime of POSIX microseconds, ``None`` for ``None``."""
    return None if micro is None else EPOCH + timedelta(microseconds=micro)


def document_of(row: tuple[Any, ...]) -> IssuedDocument:
    """The issued document of a row read in :data:`COLUMNS` order."""
    return IssuedDocument(
        kind=DocumentKind(row[0]),
        number=row[1],
        series=row[2],
        sequence=row[3],
        customer=row[4],
        currency=row[5],
        total=to_decimal(row[6], "total"),
        corrects=row[7],
        period_start=None if row[8] is None else datetime.fromisoformat(row[8]),
        period_end=None if row[9] is None else datetime.fromisoformat(row[9]),
        issued_at=EPOCH + timedelta(microseconds=row[10]),
        grace_ends=instant(row[11]),
        body=row[12],
    )


def timezone_of(body: str) -> str:
    """The billing time zone of an invoice's JSON (without reading the rest)."""
    return str(json.loads(body)["timezone"])


def iso(value: datetime | None) -> str | None:
    """ISO 8601 text of a datetime, ``None`` for ``None``."""
    return None if value is None else value.isoformat()


def decimal_sum(values: Iterable[str]) -> Decimal:
    """The exact sum of decimal texts."""
    total = Decimal(0)
    for value in values:
        total = EXACT.add(total, to_decimal(value, "amount"))
    return total
