"""Back-billing on the document store: issued invoices in, adjustment documents out.

:func:`billed_periods` turns a customer's issued invoices (not void) into the
:class:`~meterlib.backbill.BilledPeriod` values :func:`~meterlib.backbill.rebill` re-bills:
the period's local dates, what the invoice owes (its total and its notes), its due date, its
number, and the money applied to it with the day it arrived (recorded payments on their
payment date, credit balance drawn on the day it was drawn), so interest runs on what was
really unpaid, from the recorded payments.

:func:`issue_statement` issues a statement's debit and credit notes into the store: numbered in
the store's own credit- and debit-note series (the numbers the statement shows are
provisional), each pointing at the invoice it corrects, with cause ``backbill``. One model of
correction, one set of series, for late usage, credits and back-billing alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT
from meterlib.backbill import BackbillCase, BilledPeriod, Payment, Statement
from meterlib.invoicing.lifecycle import DocumentKind, IssuedDocument
from meterlib.invoicing.notes import NoteLine
from meterlib.ledger.documents import DocumentStore, DocumentStoreError

__all__ = ["billed_periods", "issue_statement", "with_recorded_payments"]

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


def issue_statement(
    store: DocumentStore, statement: Statement, *, at: datetime | None = None
) -> list[IssuedDocument]:
    """Issue the statement's adjustment documents into ``store`` (see the module docstring).

    Every document must correct an invoice the store holds; otherwise nothing is issued and
    :class:`~meterlib.ledger.documents.DocumentStoreError` names it. All are issued in one
    transaction.
    """
    for document in statement.documents:
        if document.corrects is None:
            raise DocumentStoreError(
                f"{document.title.lower()} {document.number} for {document.period} names no "
                "invoice; back-billing can issue only corrections of issued invoices"
            )
        store.document(document.corrects)
    reason = f"{statement.title} ({statement.scenario}), valued {statement.as_of.isoformat()}"
    notes: list[tuple[str, Iterable[NoteLine]]] = []
    for document in statement.documents:
        sign = 1 if document.kind == "debit_note" else -1
        notes.append((str(document.corrects), [
            NoteLine(
                invoice=str(document.corrects), line=None, kind="backbill", charge="backbill",
                plan=None, start=None, end=None, description=line.description, quantity=None,
                amount=line.amount * sign,
            )
            for line in document.lines
        ]))
    return store.issue_notes(notes, cause="backbill", reason=reason, at=at)
