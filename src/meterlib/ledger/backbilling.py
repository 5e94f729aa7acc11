"""Back-billing on the document store: issued invoices in, adjustment documents out.

:func:`billed_periods` turns a customer's issued invoices (not void) into the
:class:`~meterlib.backbill.BilledPeriod` values :func:`~meterlib.backbill.rebill` re-bills:
the period's local dates, what the invoice owes (its total and its notes), its due date, its
number, and the money applied to it with the day it arrived (recorded payments on their
payment date, credit balance drawn on the day it was drawn), so interest runs on what was
really unpaid, from the recorded payments.

:func:`issue_statement` issues a statement's debit and credit notes into the store, with
cause ``backbill``: numbered in the store's own credit- and debit-note series, gapless with
the notes of late usage and of credits granted by hand (the numbers a statement shows before
it is issued are provisional; the issued statement shows the store's). One model of
correction, one set of series, for late usage, credits and back-billing alike:

- a period whose billed entry names an issued invoice gets notes that **correct that invoice**
  (what it owes grows or shrinks by them; Kill Bill and Lago attach every adjustment to an
  invoice the same way);
- a period whose billed entry names **no invoice** (billed outside the ledger, or never) gets
  notes over **the period itself** (``corrects`` empty, the period's dates kept; in the JSON
  ``"invoice": null`` and ``"period"``): a debit note over a period is owed and paid like an
  invoice and draws on the customer's credit balance (Lago would issue a one-off invoice,
  Kill Bill an external charge: meterlib keeps it a note, so that every back-billing document
  is in the note series); a credit note over a period goes to the customer's credit balance,
  which the next invoice draws on (Kill Bill's credit balance adjustment, Lago's credit);
- a billed entry naming an invoice the store does not hold, or a void one, is refused, and
  nothing is issued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT
from meterlib.backbill import BackbillCase, BilledPeriod, Payment, Statement
from meterlib.backbill.statement import AdjustmentDocument, StatementLine
from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import DocumentKind, IssuedDocument
from meterlib.invoicing.notes import NoteLine, PeriodRef, note_from_json
from meterlib.ledger.documents import DocumentStore, DocumentStoreError

__all__ = ["IssuedStatement", "billed_periods", "issue_statement", "with_recorded_payments"]

_ZERO = Decimal(0)


def _payments(store: DocumentStore, number: str) -> tuple[Payment, ...]:
    """The money applied to ``number``, by day; what was given back comes off the latest."""
    received: list[list[Any]] = []
    returned = _ZERO
    for day, amount in store.applications(number):
        if amount > 0:
            received.append([day, amount])
        else:
            returned = EXACT.add(returned, -amount)
    for entry in reversed(received):
        taken = min(entry[1], returned)
        entry[1] = EXACT.subtract(entry[1], taken)
        returned = EXACT.subtract(returned, taken)
    return tuple(Payment(day, amount) for day, amount in received if amount > 0)


def billed_periods(store: DocumentStore, customer: str) -> list[BilledPeriod]:
    """The customer's issued invoices that are not void, as billed periods (see above)."""
    found = []
    for document in store.documents(customer=customer, kind=DocumentKind.INVOICE):
        account = store.account(document.number)
        if account.void:
            continue
        bill = store.invoice(document.number)
        last = bill.period.end
        found.append(
            BilledPeriod(
                bill.period.start.date(),
                last.date(),
                account.amount_due,
                invoice=document.number,
                due=bill.due_on,
                payments=_payments(store, document.number),
            )
        )
    return found


def with_recorded_payments(case: BackbillCase, store: DocumentStore) -> tuple[BackbillCase, int]:
    """``case`` with the payments the store recorded, and how many billed periods got them.

    A billed period that names an invoice the store holds, and states no payments of its own,
    takes the money applied to that invoice (see :func:`billed_periods`); every other period
    is left as the case gives it.
    """
    known = {d.number for d in store.documents(kind=DocumentKind.INVOICE)}
    changed = 0
    periods = []
    for period in case.billed:
        if period.payments is None and period.invoice in known:
            periods.append(replace(period, payments=_payments(store, str(period.invoice))))
            changed += 1
        else:
            periods.append(period)
    return replace(case, billed=tuple(periods)), changed


@dataclass(frozen=True, slots=True)
class IssuedStatement:
    """A statement whose adjustment documents were issued into a document store."""

    statement: Statement
    """The statement, its documents carrying the numbers and issue dates they were issued
    with (the store's series) instead of the provisional ones."""
    documents: tuple[IssuedDocument, ...]
    """The notes as stored, in the statement's document order."""

    @property
    def numbers(self) -> tuple[str, ...]:
        """The issued numbers, in order."""
        return tuple(document.number for document in self.documents)


def _period(line: StatementLine) -> tuple[datetime, datetime]:
    return (datetime.combine(line.start, time(0), UTC), datetime.combine(line.end, time(0), UTC))


def _target(
    store: DocumentStore,
    document: AdjustmentDocument,
    line: StatementLine,
    customer: str | None,
    named: str | None,
) -> str | PeriodRef:
    """The issued invoice a statement document corrects, or the period it bills.

    ``customer`` is whom a period is billed to; ``named`` the customer the caller named (an
    invoice must be that customer's: a statement's own customer may be a display name).
    """
    if document.corrects is None:
        if customer is None:
            raise InvalidValueError(
                "customer", None, f"the customer to bill {document.period} to (its billed "
                "entry names no invoice and the statement names no customer)"
            )
        start, end = _period(line)
        return PeriodRef(customer, document.currency, start, end)
    original = store.document(document.corrects)
    if original.kind is not DocumentKind.INVOICE:
        raise DocumentStoreError(f"{document.corrects!r} is a {original.kind.value}, not an "
                                 "invoice")
    account = store.account(document.corrects)
    if account.void:
        raise DocumentStoreError(
            f"invoice {document.corrects} ({document.period}) is void"
            + (f"; its replacement is {account.replaced_by}" if account.replaced_by else "")
            + ": name the invoice that bills the period now"
        )
    if original.currency != document.currency:
        raise InvalidValueError(
            "currency", document.currency, f"{original.currency}, the currency of invoice "
            f"{document.corrects}"
        )
    if named is not None and original.customer != named:
        raise InvalidValueError(
            "customer", named, f"{original.customer!r}, the customer of invoice "
            f"{document.corrects}"
        )
    return document.corrects


def issue_statement(
    store: DocumentStore,
    statement: Statement,
    *,
    customer: str | None = None,
    at: datetime | None = None,
) -> IssuedStatement:
    """Issue the statement's adjustment documents into ``store`` (see the module docstring).

    Each becomes a debit or credit note with cause ``backbill``, numbered in the store's note
    series (gapless with every other note), all in one transaction. A document whose period
    names an invoice corrects it (the invoice must be in the store, not void, in the same
    currency, and ``customer``'s when given); one whose period names none is a note over that
    period (midnight UTC of the statement's dates) for ``customer`` (default: the
    statement's). Returns the statement with the issued numbers, and the stored notes.
    """
    lines = {line.label: line for line in statement.lines}
    who = customer if customer is not None else statement.customer
    reason = f"{statement.title} ({statement.scenario}), valued {statement.as_of.isoformat()}"
    notes: list[tuple[str | PeriodRef, Iterable[NoteLine]]] = []
    for document in statement.documents:
        line = lines[document.period]
        target = _target(store, document, line, who, customer)
        invoice = target if isinstance(target, str) else None
        start, end = _period(line)
        debit = document.kind == "debit_note"
        notes.append((target, [
            NoteLine(
                invoice=invoice, line=None, kind="backbill", charge="backbill", plan=None,
                start=start, end=end, description=item.description, quantity=None,
                amount=item.amount if debit else EXACT.minus(item.amount),
            )
            for item in document.lines
        ]))
    issued = store.issue_notes(notes, cause="backbill", reason=reason, at=at)
    numbered = tuple(
        replace(document, number=stored.number, issue_date=note_from_json(stored.body).issued_on)
        for document, stored in zip(statement.documents, issued, strict=True)
    )
    return IssuedStatement(replace(statement, documents=numbered), tuple(issued))
