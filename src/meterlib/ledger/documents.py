"""Issued documents, their numbers and the payments against them, in the ledger's SQLite file.

A :class:`DocumentStore` keeps, beside the events of a ledger (same file, its own tables):

- every issued invoice, credit note and debit note as the exact JSON it was issued with
  (``documents.body``; read back byte for byte), with its number, kind, customer, total, the
  invoice it corrects (none for a back-billing note over a period no invoice billed: its
  period is kept instead) and when it was issued; rows are only ever inserted, never updated;
- one counter per number series (``document_series``), incremented in the same transaction
  that inserts the numbered document, so a number is used exactly when its document is stored:
  two processes issuing at once are serialized by SQLite's write lock (``BEGIN IMMEDIATE``),
  and a crash before the commit leaves neither the document nor a used number;
- voids (``document_voids``: reason, replacement), payments (``payments``) and what was
  applied to each invoice (``applications``: payments, and the credit balance drawn on or given
  back). A customer's credit balance is its payments minus what was applied.

Schema (``meterlib.documents/1``)::

    document_series(prefix TEXT PRIMARY KEY, last INTEGER)
    documents(number TEXT PRIMARY KEY, series, sequence, kind, customer, currency, total,
              corrects, period_start, period_end, issued_us, grace_us, body,
              UNIQUE(series, sequence))
    document_voids(number TEXT PRIMARY KEY, reason, voided_us, replaced_by)
    payments(payment INTEGER PRIMARY KEY, customer, currency, invoice, amount, paid_on,
             reference, method, recorded_us)
    applications(customer, currency, invoice, amount, source, payment, at_us)
    document_links(document, invoice): an invoice carrying correction lines of another

Amounts are decimal text, times integer POSIX microseconds (UTC).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.lifecycle import (
    DocumentKind,
    InvoiceAccount,
    InvoicePayment,
    IssuedDocument,
    Numbering,
)
from meterlib.invoicing.notes import Note, NoteLine, PeriodRef, note_to_json
from meterlib.invoicing.serialize import invoice_to_dict
from meterlib.ledger import Ledger
from meterlib.ledger.document_queries import DocumentQueries, DocumentStoreError
from meterlib.ledger.document_rows import (
    DOCUMENTS_FORMAT,
    INSERT,
    SCHEMA,
    document_of,
    iso,
    micros,
    timezone_of,
)
from meterlib.periods import Period, zone

__all__ = ["DOCUMENTS_FORMAT", "DocumentStore", "DocumentStoreError", "HasPath"]

_ZERO = Decimal(0)
_INVOICE = DocumentKind.INVOICE.value
#: ``json.dumps(data, ensure_ascii=False)`` without building an encoder per document
_ENCODER = json.JSONEncoder(ensure_ascii=False)


class HasPath(Protocol):
    """A ledger object: anything with the ``path`` of its SQLite file."""

    @property
    def path(self) -> Path:
        """The ledger file."""
        ...


def _now() -> datetime:
    return datetime.now(UTC)


class DocumentStore(DocumentQueries):
    """Issued documents and payments in a ledger file (see the module docstring).

    ``DocumentStore(target)`` takes the ledger file's path, a ledger object (its ``path``) or
    an open :class:`sqlite3.Connection` in autocommit mode (``isolation_level=None``). A path
    that is not yet a ledger becomes an empty one. ``numbering`` says which series each kind of
    document is numbered in.
    """

    def __init__(
        self,
        target: str | Path | HasPath | sqlite3.Connection,
        *,
        numbering: Numbering | None = None,
        durable: bool = True,
    ) -> None:
        """Open the store and create its tables when missing."""
        self.numbering = numbering or Numbering()
        self._owned = not isinstance(target, sqlite3.Connection)
        if isinstance(target, sqlite3.Connection):
            if target.isolation_level is not None:
                raise InvalidValueError(
                    "connection", target, "a connection opened with isolation_level=None"
                )
            self._db = target
        else:
            path = Path(target if isinstance(target, str | Path) else target.path)
            Ledger(path, durable=durable).close()  # creates or checks the ledger file
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 30000")
            self._db.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        try:
            self._write(self._create)
        except BaseException:
            self.close()
            raise

    def _create(self, db: sqlite3.Connection) -> None:
        for statement in SCHEMA.split(";\n"):
            if statement.strip():
                db.execute(statement)
        db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        found = db.execute("SELECT value FROM meta WHERE key = 'documents_format'").fetchone()
        if found is None:
            db.execute("INSERT INTO meta VALUES ('documents_format', ?)", (DOCUMENTS_FORMAT,))
        elif found[0] != DOCUMENTS_FORMAT:
            raise DocumentStoreError(
                f"the ledger's documents have format {found[0]!r}; this meterlib reads "
                f"{DOCUMENTS_FORMAT!r}"
            )

    def _write(self, work: Any) -> Any:
        """Run ``work(db)`` in one write transaction, rolled back whole on any error."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            result = work(db)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result

    def close(self) -> None:
        """Close the connection when the store opened it."""
        if self._owned:
            self._db.close()

    def __enter__(self) -> Self:
        """The store itself."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Close the store."""
        self.close()

    # -- numbering and inserting -----------------------------------------------------------

    def _next(self, db: sqlite3.Connection, kind: DocumentKind) -> tuple[str, int, str]:
        series = self.numbering.series(kind)
        row = db.execute(
            "SELECT last FROM document_series WHERE prefix = ?", (series.prefix,)
        ).fetchone()
        sequence = 1 if row is None else row[0] + 1
        number = series.format(sequence)
        db.execute(
            "INSERT INTO document_series VALUES (?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET last = excluded.last",
            (series.prefix, sequence),
        )
        return series.prefix, sequence, number

    def _insert_invoices(
        self, db: sqlite3.Connection, drafts: list[Invoice], at: datetime, grace: timedelta
    ) -> list[IssuedDocument]:
        """Number and store ``drafts`` in order, in the open transaction ``db``.

        The batch costs a few statements whatever its size: one query finds the periods
        already invoiced, one the customers with money on account, the series moves once and
        the rows go in with one ``executemany``; only invoices that carry correction lines or
        draw on a credit balance take statements of their own.
        """
        if not drafts:
            return []
        customers = json.dumps(sorted({bill.customer for bill in drafts}))
        taken = {
            (row[0], row[1]): row[2]
            for row in db.execute(
                "SELECT customer, period_start, number FROM documents WHERE kind = 'invoice' "
                "AND customer IN (SELECT value FROM json_each(?)) "
                "AND number NOT IN (SELECT number FROM document_voids)",
                (customers,),
            )
        }
        funded = {
            row[0]
            for row in db.execute(
                "SELECT customer FROM payments WHERE customer IN (SELECT value FROM json_each(?)) "
                "UNION SELECT customer FROM applications "
                "WHERE customer IN (SELECT value FROM json_each(?))",
                (customers, customers),
            )
        }
        series = self.numbering.series(DocumentKind.INVOICE)
        row = db.execute(
            "SELECT last FROM document_series WHERE prefix = ?", (series.prefix,)
        ).fetchone()
        last = 0 if row is None else row[0]
        stamp = micros(at)
        rows: list[tuple[Any, ...]] = []
        issued: list[IssuedDocument] = []
        # per batch, once per time zone and per period: the issue date, the period's bounds
        # as text and when its grace period ends (if after ``at``)
        days: dict[str, date] = {}
        spans: dict[Period, tuple[str, str, datetime | None]] = {}
        for draft in drafts:
            period = draft.period
            span = spans.get(period)
            if span is None:
                grace_ends = period.end + grace
                span = spans[period] = (period.start.isoformat(), period.end.isoformat(),
                                        grace_ends if grace_ends > at else None)
            start, end, grace_ends_or_none = span
            existing = taken.get((draft.customer, start))
            if existing is not None:
                raise DocumentStoreError(
                    f"{draft.customer!r} already has invoice {existing} for the period "
                    f"starting {start}; an issued invoice is corrected by notes "
                    "(recheck, credit-note) or voided and replaced, never issued twice"
                )
            last += 1
            number = series.format(last)
            taken[draft.customer, start] = f"{number} (earlier in this batch)"
            local = days.get(draft.timezone)
            if local is None:
                local = days[draft.timezone] = at.astimezone(zone(draft.timezone)).date()
            # the draft's JSON with the three fields issuing sets: the same text as
            # invoice_to_json of the draft with number, issue and due dates replaced
            data = invoice_to_dict(draft)
            data["number"] = number
            data["issued_on"] = local.isoformat()
            data["due_on"] = (local + (draft.due_on - draft.issued_on)).isoformat()
            body = _ENCODER.encode(data)
            rows.append((
                _INVOICE, number, series.prefix, last, draft.customer, draft.currency,
                str(draft.total), None, start, end, stamp,
                None if grace_ends_or_none is None else micros(grace_ends_or_none), body,
            ))
            issued.append(IssuedDocument(
                kind=DocumentKind.INVOICE, number=number, series=series.prefix, sequence=last,
                customer=draft.customer, currency=draft.currency, total=draft.total,
                corrects=None, period_start=period.start, period_end=period.end, issued_at=at,
                grace_ends=grace_ends_or_none, body=body,
            ))
        db.executemany(INSERT, rows)
        db.execute(
            "INSERT INTO document_series VALUES (?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET last = excluded.last",
            (series.prefix, last),
        )
        for draft, document in zip(drafts, issued, strict=True):
            for target in sorted({line.corrects.invoice for line in draft.lines
                                  if line.corrects}):
                self._get(db, target)  # a correction must point at an issued document
                db.execute("INSERT INTO document_links VALUES (?, ?)", (document.number, target))
            if draft.total < 0:
                self._release_excess(db, document.number, at)
                funded.add(draft.customer)
            elif draft.customer in funded:
                drawn = min(self._balance(db, draft.customer, draft.currency), draft.total)
                if drawn > 0:
                    db.execute(
                        "INSERT INTO applications VALUES (?, ?, ?, ?, 'credit balance', NULL, ?)",
                        (draft.customer, draft.currency, document.number, str(drawn), stamp),
                    )
        return issued

    def issue(
        self, draft: Invoice, *, at: datetime | None = None, grace: timedelta = timedelta(0)
    ) -> IssuedDocument:
        """Issue ``draft``: number it, date it ``at`` (now), store it; return what was stored.

        A customer has one invoice per period that is not void: issuing a second one is
        refused. The issued invoice has the next number of the invoice series, the local date
        of ``at`` as issue date and its due date moved by as many days. ``grace`` is how long
        after the period's end late usage is still folded into the draft (the contract's
        ``grace_period_days``); issuing earlier is allowed, and the result says so
        (:attr:`IssuedDocument.early`). A customer credit balance is drawn on at once.
        """
        moment = _now() if at is None else at
        micros(moment)
        [issued] = self._write(lambda db: self._insert_invoices(db, [draft], moment, grace))
        return issued  # type: ignore[no-any-return]

    def issue_many(
        self, drafts: Iterable[Invoice], *, at: datetime | None = None,
        grace: timedelta = timedelta(0),
    ) -> list[IssuedDocument]:
        """Issue many drafts in one transaction (all or none), numbered in the given order."""
        moment = _now() if at is None else at
        micros(moment)
        kept = list(drafts)
        return self._write(  # type: ignore[no-any-return]
            lambda db: self._insert_invoices(db, kept, moment, grace)
        )

    def issue_note(
        self,
        invoice: str,
        lines: Iterable[NoteLine],
        *,
        cause: str,
        reason: str,
        at: datetime | None = None,
    ) -> IssuedDocument:
        """Issue a credit or debit note of ``lines`` correcting issued invoice ``invoice``.

        A debit note when the lines add up to more than zero, else a credit note; ``cause``
        is ``late_usage``, ``backbill`` or ``credit`` (granted by hand, with its ``reason``).
        """
        [issued] = self.issue_notes([(invoice, tuple(lines))], cause=cause, reason=reason, at=at)
        return issued

    def issue_notes(
        self,
        notes: Iterable[tuple[str | PeriodRef, Iterable[NoteLine]]],
        *,
        cause: str,
        reason: str,
        at: datetime | None = None,
    ) -> list[IssuedDocument]:
        """Issue one note per ``(target, lines)`` in one transaction: all of them or none.

        A target is the number of the issued invoice the note corrects, or (back-billing
        only) a :class:`~meterlib.invoicing.notes.PeriodRef`: a period no issued invoice
        billed. A debit note over a period is paid like an invoice (and draws on the
        customer's credit balance at once); a credit note over a period goes to the
        customer's credit balance.
        """
        moment = _now() if at is None else at
        micros(moment)
        kept = [(target, tuple(lines)) for target, lines in notes]
        return self._write(  # type: ignore[no-any-return]
            lambda db: [self._insert_note(db, target, lines, cause, reason, moment)
                        for target, lines in kept]
        )

    def _insert_note(  # noqa: PLR0917  (the parts of a note)
        self,
        db: sqlite3.Connection,
        target: str | PeriodRef,
        lines: tuple[NoteLine, ...],
        cause: str,
        reason: str,
        moment: datetime,
    ) -> IssuedDocument:
        start: datetime | None
        end: datetime | None
        if isinstance(target, PeriodRef):
            invoice = None
            customer, currency, timezone = target.customer, target.currency, target.timezone
            start, end = target.start, target.end
        else:
            original = self._get(db, target)
            if original.kind is not DocumentKind.INVOICE:
                raise DocumentStoreError(f"{target!r} is a {original.kind.value}, not an invoice")
            invoice, customer, currency = target, original.customer, original.currency
            timezone = timezone_of(original.body)
            start, end = original.period_start, original.period_end
        total = _ZERO
        for line in lines:
            total = EXACT.add(total, line.amount)
        kind = DocumentKind.DEBIT_NOTE if total > 0 else DocumentKind.CREDIT_NOTE
        prefix, sequence, number = self._next(db, kind)
        draft = Note(
            number=number, customer=customer, currency=currency, invoice=invoice, cause=cause,
            reason=reason, issued_on=moment.astimezone(zone(timezone)).date(), lines=lines,
            total=total, period_start=None if invoice else start,
            period_end=None if invoice else end,
        )
        draft.check()
        body = note_to_json(draft)
        stamp = micros(moment)
        row = (
            kind.value, number, prefix, sequence, customer, currency, str(total), invoice,
            iso(start), iso(end), stamp, None, body,
        )
        db.execute(INSERT, row)
        if invoice is not None:
            if total < 0:  # only a credit can leave the invoice overpaid
                self._release_excess(db, invoice, moment)
        elif total < 0:  # a credit over a period: the customer's credit balance
            db.execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?, 'credit note to credit balance', "
                "NULL, ?)",
                (customer, currency, number, str(total), stamp),
            )
        else:  # a debit over a period is owed like an invoice: it draws on the balance
            drawn = min(self._balance(db, customer, currency), total)
            if drawn > 0:
                db.execute(
                    "INSERT INTO applications VALUES (?, ?, ?, ?, 'credit balance', NULL, ?)",
                    (customer, currency, number, str(drawn), stamp),
                )
        return document_of(row)

    def void(
        self,
        number: str,
        reason: str,
        *,
        replacement: Invoice | None = None,
        at: datetime | None = None,
    ) -> IssuedDocument | None:
        """Void issued invoice ``number`` with ``reason``; issue ``replacement`` if given.

        What was paid on it goes to the customer's credit balance, which the replacement (or
        the next invoice) draws on. Returns the replacement as stored, or ``None``.
        """
        if not reason.strip():
            raise InvalidValueError("reason", reason, "a reason for the void")
        moment = _now() if at is None else at
        micros(moment)

        def work(db: sqlite3.Connection) -> IssuedDocument | None:
            original = self._get(db, number)
            if original.kind is not DocumentKind.INVOICE:
                raise DocumentStoreError(
                    f"{number!r} is a {original.kind.value}; only invoices void"
                )
            if db.execute("SELECT 1 FROM document_voids WHERE number = ?", (number,)).fetchone():
                raise DocumentStoreError(f"invoice {number!r} is already void")
            db.execute(
                "INSERT INTO document_voids VALUES (?, ?, ?, NULL)",
                (number, reason, micros(moment)),
            )
            self._release_excess(db, number, moment)
            if replacement is None:
                return None
            [issued] = self._insert_invoices(db, [replacement], moment, timedelta(0))
            db.execute(
                "UPDATE document_voids SET replaced_by = ? WHERE number = ?",
                (issued.number, number),
            )
            return issued

        return self._write(work)  # type: ignore[no-any-return]

    # -- payments --------------------------------------------------------------------------

    def pay(self, payment: InvoicePayment, *, at: datetime | None = None) -> InvoiceAccount:
        """Record ``payment`` and return the invoice's account after it.

        The payment is applied up to what the invoice still owes; the rest stays with the
        customer as credit balance.
        """
        moment = _now() if at is None else at

        def work(db: sqlite3.Connection) -> InvoiceAccount:
            original = self._payable(db, payment.invoice)
            cursor = db.execute(
                "INSERT INTO payments (customer, currency, invoice, amount, paid_on, reference, "
                "method, recorded_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (original.customer, original.currency, payment.invoice, str(payment.amount),
                 payment.paid_on.isoformat(), payment.reference, payment.method, micros(moment)),
            )
            account = self._account(db, payment.invoice)
            applied = min(payment.amount, max(account.remaining, _ZERO))
            if applied > 0:
                db.execute(
                    "INSERT INTO applications VALUES (?, ?, ?, ?, 'payment', ?, ?)",
                    (original.customer, original.currency, payment.invoice, str(applied),
                     cursor.lastrowid, micros(moment)),
                )
            return self._account(db, payment.invoice)

        return self._write(work)  # type: ignore[no-any-return]

    def _release_excess(self, db: sqlite3.Connection, invoice: str, moment: datetime) -> None:
        account = self._account(db, invoice)
        if account.remaining < 0:
            db.execute(
                "INSERT INTO applications VALUES (?, ?, ?, ?, 'returned to credit balance', "
                "NULL, ?)",
                (account.customer, account.currency, invoice, str(account.remaining),
                 micros(moment)),
            )
