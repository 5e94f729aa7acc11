"""Reading issued documents, accounts and balances out of the ledger's SQLite file.

:class:`DocumentQueries` is the read side of :class:`~meterlib.ledger.documents.DocumentStore`
(which inherits it): documents by number, customer or the invoice they correct, what an
invoice owes, payments, and a customer's credit balance. The schema is described in
:mod:`meterlib.ledger.documents`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import MeterlibError
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.lifecycle import (
    DocumentKind,
    InvoiceAccount,
    InvoicePayment,
    IssuedDocument,
    IssuedInvoice,
)
from meterlib.invoicing.notes import Note, NoteLine, correction_lines_in, note_from_json
from meterlib.invoicing.serialize import invoice_from_json
from meterlib.ledger.document_rows import COLUMNS, EPOCH, decimal_sum, document_of

__all__ = ["DocumentQueries", "DocumentStoreError"]


class DocumentStoreError(MeterlibError, LookupError):
    """A document operation is not possible: unknown number, already void, wrong kind."""


class DocumentQueries:
    """The read side of the document store, on its connection ``_db``."""

    _db: sqlite3.Connection

    def _get(self, db: sqlite3.Connection, number: str) -> IssuedDocument:
        row = db.execute(
            f"SELECT {COLUMNS} FROM documents WHERE number = ?", (number,)  # noqa: S608
        ).fetchone()
        if row is None:
            raise DocumentStoreError(f"no issued document numbered {number!r}")
        return document_of(row)

    def _payable(self, db: sqlite3.Connection, number: str) -> IssuedDocument:
        """Document ``number`` if payments may name it: an invoice, or a period's debit note."""
        found = self._get(db, number)
        if found.payable:
            return found
        raise DocumentStoreError(
            f"{number!r} is a {found.kind.value}, not an invoice (nor a debit note over a "
            "period no invoice billed)"
        )

    def document(self, number: str) -> IssuedDocument:
        """The issued document ``number``, with the exact JSON it was issued with."""
        return self._get(self._db, number)

    def invoice(self, number: str) -> Invoice:
        """Issued invoice ``number`` as a value."""
        found = self.document(number)
        if found.kind is not DocumentKind.INVOICE:
            raise DocumentStoreError(f"{number!r} is a {found.kind.value}, not an invoice")
        return invoice_from_json(found.body)

    def issued_invoice(self, number: str) -> IssuedInvoice:
        """Issued invoice ``number`` with its stored form and its account now."""
        return IssuedInvoice(self.invoice(number), self.document(number), self.account(number))

    def note(self, number: str) -> Note:
        """Issued credit or debit note ``number`` as a value."""
        found = self.document(number)
        if found.kind is DocumentKind.INVOICE:
            raise DocumentStoreError(f"{number!r} is an invoice, not a note")
        return note_from_json(found.body)

    def documents(
        self,
        *,
        customer: str | None = None,
        kind: DocumentKind | None = None,
        corrects: str | None = None,
    ) -> Iterator[IssuedDocument]:
        """Issued documents in the order they were issued, optionally filtered."""
        query = f"SELECT {COLUMNS} FROM documents WHERE 1 = 1"  # noqa: S608
        params: list[Any] = []
        for column, value in (("customer", customer), ("corrects", corrects)):
            if value is not None:
                query += f" AND {column} = ?"
                params.append(value)
        if kind is not None:
            query += " AND kind = ?"
            params.append(DocumentKind(kind).value)
        for row in self._db.execute(query + " ORDER BY issued_us, rowid", params):
            yield document_of(row)

    def notes_of(self, invoice: str) -> list[Note]:
        """The notes correcting ``invoice``, oldest first."""
        return [note_from_json(d.body) for d in self.documents(corrects=invoice)]

    def corrections_of(self, invoice: str) -> list[NoteLine]:
        """The corrections of ``invoice`` made because usage changed, as note lines.

        They are the lines of its late-usage notes and the correction lines later invoices
        carry for it. Credits granted by hand and back-billing notes (a re-valuation at other
        prices) are not corrections of usage under the contract and are left out.
        """
        found: list[NoteLine] = []
        for document in self.documents(corrects=invoice):
            note = note_from_json(document.body)
            if note.cause == "late_usage":
                found.extend(note.lines)
        rows = self._db.execute(
            "SELECT document FROM document_links WHERE invoice = ? ORDER BY rowid", (invoice,)
        ).fetchall()
        for (number,) in rows:
            found.extend(correction_lines_in(self.invoice(number), invoice))
        return found

    def invoice_index(self) -> list[tuple[str, str, datetime, datetime, datetime]]:
        """Every invoice that is not void, in the order issued (bodies are not read).

        Each as ``(number, customer, period start, period end, issued at)``.
        """
        parsed: dict[str, datetime] = {}

        def moment(text: str) -> datetime:
            found = parsed.get(text)
            if found is None:
                found = parsed[text] = datetime.fromisoformat(text)
            return found

        return [
            (number, customer, moment(start), moment(end), EPOCH + timedelta(microseconds=us))
            for number, customer, start, end, us in self.invoice_rows()
        ]

    def invoice_rows(self) -> list[tuple[str, str, str, str, int]]:
        """:meth:`invoice_index` as stored: period bounds as ISO text, issue time in µs."""
        return self._db.execute(
            "SELECT number, customer, period_start, period_end, issued_us FROM documents "
            "WHERE kind = 'invoice' AND number NOT IN (SELECT number FROM document_voids) "
            "ORDER BY issued_us, rowid"
        ).fetchall()

    def current_invoice(self, customer: str, period_start: datetime) -> IssuedDocument | None:
        """The customer's invoice for the period starting ``period_start`` that is not void."""
        row = self._db.execute(
            f"SELECT {COLUMNS} FROM documents WHERE customer = ? AND period_start = ? "  # noqa: S608
            "AND kind = 'invoice' AND number NOT IN (SELECT number FROM document_voids) "
            "ORDER BY rowid DESC LIMIT 1",
            (customer, period_start.isoformat()),
        ).fetchone()
        return None if row is None else document_of(row)

    def account(self, number: str) -> InvoiceAccount:
        """What issued invoice ``number`` owes now, what was paid, and its status."""
        return self._account(self._db, number)

    def _account(self, db: sqlite3.Connection, number: str) -> InvoiceAccount:
        found = self._payable(db, number)
        adjustments = decimal_sum(r[0] for r in db.execute(
            "SELECT total FROM documents WHERE corrects = ?", (number,)))
        paid = decimal_sum(r[0] for r in db.execute(
            "SELECT amount FROM applications WHERE invoice = ?", (number,)))
        void = db.execute(
            "SELECT reason, replaced_by FROM document_voids WHERE number = ?", (number,)
        ).fetchone()
        return InvoiceAccount(
            number=number, customer=found.customer, currency=found.currency, total=found.total,
            adjustments=adjustments, paid=paid, void=void is not None,
            void_reason=None if void is None else void[0],
            replaced_by=None if void is None else void[1],
        )

    def payments(self, invoice: str | None = None) -> list[InvoicePayment]:
        """Recorded payments, in the order recorded (those against ``invoice`` when given)."""
        query = "SELECT invoice, amount, paid_on, reference, method FROM payments"
        params: tuple[Any, ...] = ()
        if invoice is not None:
            query += " WHERE invoice = ?"
            params = (invoice,)
        return [
            InvoicePayment(r[0], r[1], date.fromisoformat(r[2]), r[3], r[4])
            for r in self._db.execute(query + " ORDER BY payment", params)
        ]

    def applications(self, invoice: str) -> list[tuple[date, Decimal]]:
        """The money applied to ``invoice`` in order: ``(day, amount)``.

        A payment counts on its payment date, credit balance drawn on the (UTC) day it was
        drawn; amounts given back to the credit balance are negative.
        """
        rows = self._db.execute(
            "SELECT a.amount, p.paid_on, a.at_us FROM applications AS a LEFT JOIN payments AS p "
            "ON p.payment = a.payment WHERE a.invoice = ? ORDER BY a.rowid",
            (invoice,),
        ).fetchall()
        return [
            (
                date.fromisoformat(r[1]) if r[1] is not None
                else (EPOCH + timedelta(microseconds=r[2])).date(),
                to_decimal(r[0], "amount"),
            )
            for r in rows
        ]

    def balance(self, customer: str, currency: str) -> Decimal:
        """The customer's credit balance: payments less what was applied to its invoices."""
        return self._balance(self._db, customer, currency)

    def _balance(self, db: sqlite3.Connection, customer: str, currency: str) -> Decimal:
        key = (customer, currency)
        received = decimal_sum(r[0] for r in db.execute(
            "SELECT amount FROM payments WHERE customer = ? AND currency = ?", key))
        applied = decimal_sum(r[0] for r in db.execute(
            "SELECT amount FROM applications WHERE customer = ? AND currency = ?", key))
        return EXACT.subtract(received, applied)

    def series_last(self) -> Mapping[str, int]:
        """The last sequence used in each series, by prefix."""
        return dict(self._db.execute("SELECT prefix, last FROM document_series").fetchall())
