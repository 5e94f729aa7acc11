"""Issued documents for people: an invoice with its status and balance, notes, lists, payments.

An issued invoice is rendered as the invoice itself followed by its account: status, number,
amount due (total and notes), amount paid, remaining balance, the reason and replacement of a
void, and the payments received when they are given. A credit or debit note names the invoice it
corrects and, line by line, the invoice line and the late events behind it; a note over a period
no issued invoice billed (back-billing) names that period instead, its first and last day. A
list shows one row per document. Text and HTML take an explicit locale (labels through the
gettext catalogs, figures through Babel); JSON and CSV are exact and locale-free, and ``json``
prints a document as the JSON it was issued with, byte for byte.

:class:`PaymentList` and :class:`DocumentList` are lists that display themselves in Jupyter.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale

from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import (
    DocumentKind,
    InvoiceAccount,
    InvoicePayment,
    IssuedDocument,
    IssuedInvoice,
)
from meterlib.invoicing.notes import Note
from meterlib.render.accounts import (
    cause_name,
    kind_name,
    late_events_text,
    note_line_target,
    note_period,
    note_title,
    period_span,
    status_name,
)
from meterlib.render.csv import Cell, csv_cell, invoice_csv
from meterlib.render.format import Formatter
from meterlib.render.html.issued import (
    ListRow,
    document_list_document,
    document_list_fragment,
    issued_document,
    note_document,
    payments_fragment,
)
from meterlib.render.text import invoice_text

__all__ = [
    "DOCUMENT_FORMATS",
    "DocumentList",
    "ListedDocument",
    "PaymentList",
    "render_document_list",
    "render_issued",
    "render_note",
    "render_payments",
]

DOCUMENT_FORMATS = ("text", "json", "html", "csv")


def _unknown(fmt: str) -> InvalidValueError:
    return InvalidValueError("format", fmt, f"one of {', '.join(DOCUMENT_FORMATS)}")


@dataclass(frozen=True, slots=True)
class ListedDocument:
    """One row of a document list: the document, and for an invoice its account."""

    document: IssuedDocument
    account: InvoiceAccount | None


def _table_text(header: Sequence[str], rows: Sequence[Sequence[str]], left: int) -> str:
    """Aligned columns, the first ``left`` start-aligned, the rest end-aligned."""
    table = [list(header), *[list(r) for r in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in table
    ) + "\n"


def _payments_text(payments: Sequence[InvoicePayment], f: Formatter) -> str:
    _ = f.gettext
    if not payments:
        return ""
    rows = [
        (p.invoice, f.day(p.paid_on), p.reference or "", p.method or "", f.money(p.amount))
        for p in payments
    ]
    head = (_("Invoice"), _("Date"), _("Reference"), _("Method"), _("Amount"))
    return _("Payments") + "\n" + _table_text(head, rows, 4)


def _payments_csv(payments: Sequence[InvoicePayment]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("invoice", "paid_on", "amount", "reference", "method"))
    writer.writerows(
        (csv_cell(p.invoice), p.paid_on.isoformat(), str(p.amount), csv_cell(p.reference),
         csv_cell(p.method))
        for p in payments
    )
    return out.getvalue()


def render_issued(
    issued: IssuedInvoice,
    fmt: str,
    locale: str | Locale = "en_US",
    payments: Sequence[InvoicePayment] = (),
) -> str:
    """An issued invoice in ``fmt``: the invoice, its status and account, its ``payments``.

    ``json`` prints the JSON it was issued with, unchanged (byte for byte); ``csv`` is the
    invoice's lines, then ``field,value`` rows of the account (exact figures), then the
    payments.
    """
    invoice, account = issued.invoice, issued.account
    if fmt == "json":
        return issued.document.body + "\n"
    if fmt == "text":
        text = invoice_text(invoice, locale, account, issued.document)
        more = _payments_text(payments, Formatter(invoice.currency, locale))
        return text + ("\n" + more if more else "")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(
            [
                ("field", "value"),
                ("status", account.status.value),
                ("number", account.number),
                ("issued_on", invoice.issued_on.isoformat()),
                ("due_on", invoice.due_on.isoformat()),
                ("total", str(account.total)),
                ("adjustments", str(account.adjustments)),
                ("amount_due", str(account.amount_due)),
                ("amount_paid", str(account.paid)),
                ("remaining", str(account.remaining)),
                ("void_reason", csv_cell(account.void_reason)),
                ("replaced_by", csv_cell(account.replaced_by)),
            ]
        )
        text = invoice_csv(invoice, locale) + "\n" + out.getvalue()
        return text + ("\n" + _payments_csv(payments) if payments else "")
    if fmt == "html":
        return issued_document(issued, locale, payments)
    raise _unknown(fmt)


def _note_text(note: Note, f: Formatter) -> str:
    _ = f.gettext
    period = note_period(note, f)
    if period:
        corrects = _("Corrects the period {period}").format(period=period)
    else:
        corrects = _("Corrects invoice: {invoice}").format(invoice=note.invoice)
    lines = [
        note_title(note, f),
        corrects,
        _("Customer: {customer}").format(customer=note.customer),
        _("Issued: {date}").format(date=f.day(note.issued_on)),
        _("Reason: {reason} ({cause})").format(reason=note.reason, cause=cause_name(note.cause, f)),
        "",
    ]
    for line in note.lines:
        target = note_line_target(line, f, note)
        lines.append(f"{line.description}  [{target}]  {f.money(line.amount)}")
        if line.late_events:
            lines.append("  " + late_events_text(line.late_events, f))
    label = _("Total credited") if note.total < 0 else _("Total charged")
    lines += ["", f"{label}: {f.money(note.total)}"]
    return "\n".join(lines) + "\n"


def render_note(note: Note, body: str, fmt: str, locale: str | Locale = "en_US") -> str:
    """A credit or debit note in ``fmt``, naming the invoice and lines it corrects.

    A note over a period no invoice billed names the period (``period_start`` and
    ``period_end`` in CSV, exact; empty for a note on an invoice).

    ``body`` is the JSON the note was issued with (printed as is for ``json``).
    """
    if fmt == "json":
        return body + "\n"
    if fmt == "text":
        return _note_text(note, Formatter(note.currency, locale))
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("note", "invoice", "kind", "description", "corrects_line", "line_kind",
                         "quantity", "amount", "late_events", "period_start", "period_end"))
        writer.writerows(
            (
                note.number,
                note.invoice,
                note.kind.value,
                csv_cell(line.description),
                "" if line.line is None else line.line + 1,
                line.kind,
                "" if line.quantity is None else str(line.quantity),
                str(line.amount),
                " ".join(f"{e.event_id}@{e.received.isoformat()}" for e in line.late_events),
                csv_cell(note.period_start),
                csv_cell(note.period_end),
            )
            for line in note.lines
        )
        return out.getvalue()
    if fmt == "html":
        return note_document(note, locale)
    raise _unknown(fmt)


def _list_record(item: ListedDocument) -> dict[str, Any]:
    doc, account = item.document, item.account
    return {
        "number": doc.number,
        "kind": doc.kind.value,
        "status": "issued" if account is None else account.status.value,
        "customer": doc.customer,
        "currency": doc.currency,
        "period_start": None if doc.period_start is None else doc.period_start.isoformat(),
        "corrects": doc.corrects,
        "issued_at": doc.issued_at.isoformat(),
        "early": doc.early,
        "total": str(doc.total),
        "amount_due": None if account is None else str(account.amount_due),
        "amount_paid": None if account is None else str(account.paid),
        "remaining": None if account is None else str(account.remaining),
    }


def _list_cells(item: ListedDocument) -> list[Cell]:
    """The CSV row of a document: exact figures, times ISO, text neutralized."""
    doc, account = item.document, item.account
    return [
        doc.number, doc.kind.value, "issued" if account is None else account.status.value,
        doc.customer, doc.currency, doc.period_start, doc.corrects, doc.issued_at, doc.early,
        doc.total, None if account is None else account.amount_due,
        None if account is None else account.paid, None if account is None else account.remaining,
    ]


_COLUMNS = ["number", "kind", "status", "customer", "currency", "period_start", "corrects",
            "issued_at", "early", "total", "amount_due", "amount_paid", "remaining"]


def _shown_rows(items: Sequence[ListedDocument], locale: str | Locale) -> list[ListRow]:
    rows: list[ListRow] = []
    for item in items:
        doc, account = item.document, item.account
        f = Formatter(doc.currency, locale)
        status = "issued" if account is None else account.status.value

        def money(value: Any, f: Formatter = f) -> str:
            return "" if value is None else f.money(value)

        corrects = doc.corrects or ""
        if (doc.kind is not DocumentKind.INVOICE and doc.corrects is None
                and doc.period_start is not None and doc.period_end is not None):
            corrects = period_span(doc.period_start, doc.period_end, f)  # a note over a period
        rows.append(
            (
                doc.number, doc.kind.value, status, doc.customer, corrects,
                f.day(doc.issued_at.date()), money(doc.total),
                money(None if account is None else account.amount_due),
                money(None if account is None else account.paid),
                money(None if account is None else account.remaining),
            )
        )
    return rows


def render_document_list(
    items: Sequence[ListedDocument], fmt: str, locale: str | Locale = "en_US"
) -> str:
    """One row per document: number, kind, status, customer, totals.

    JSON and CSV hold exact figures and every field; text and HTML are for people.
    """
    if fmt == "json":
        return json.dumps([_list_record(i) for i in items], indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COLUMNS)
        writer.writerows([csv_cell(c) for c in _list_cells(item)] for item in items)
        return out.getvalue()
    rows = _shown_rows(items, locale)
    if fmt == "text":
        f = Formatter("XXX", locale)
        _ = f.gettext
        head = (_("Number"), _("Kind"), _("Status"), _("Customer"), _("Corrects"), _("Issued"),
                _("Total"), _("Amount due"), _("Amount paid"), _("Remaining balance"))
        shown = [
            (n, kind_name(k, f), status_name(s, f) if s else "", *rest)
            for n, k, s, *rest in rows
        ]
        return _table_text(head, shown, 6)
    if fmt == "html":
        return document_list_document(rows, locale)
    raise _unknown(fmt)


def render_payments(
    payments: Sequence[InvoicePayment], currency: str, fmt: str, locale: str | Locale = "en_US"
) -> str:
    """Payments received (``DocumentStore.payments()``) in ``fmt``; JSON and CSV exact."""
    if fmt == "json":
        return json.dumps(
            [
                {"invoice": p.invoice, "paid_on": p.paid_on.isoformat(), "amount": str(p.amount),
                 "currency": currency, "reference": p.reference, "method": p.method}
                for p in payments
            ],
            indent=2,
            ensure_ascii=False,
        ) + "\n"
    if fmt == "csv":
        return _payments_csv(payments)
    if fmt == "text":
        f = Formatter(currency, locale)
        return _payments_text(payments, f) or f.gettext("No payments recorded.") + "\n"
    if fmt == "html":
        return payments_fragment(payments, currency, locale)
    raise _unknown(fmt)


@dataclass(frozen=True, slots=True)
class PaymentList:
    """Payments in one currency that display themselves (Jupyter, ``str``).

    >>> PaymentList(store.payments("INV-000001"), "EUR")  # doctest: +SKIP
    """

    payments: Sequence[InvoicePayment]
    currency: str
    locale: str = "en_US"

    def render(self, fmt: str = "text") -> str:
        """The payments in ``fmt`` (see :func:`render_payments`)."""
        return render_payments(self.payments, self.currency, fmt, self.locale)

    def __str__(self) -> str:
        """The payments as a text table."""
        return self.render("text")

    def _repr_html_(self) -> str:
        """A scoped HTML table for Jupyter."""
        return payments_fragment(self.payments, self.currency, self.locale)


@dataclass(frozen=True, slots=True)
class DocumentList:
    """Listed documents that display themselves (Jupyter, ``str``)."""

    items: Sequence[ListedDocument]
    locale: str = "en_US"

    def render(self, fmt: str = "text") -> str:
        """The list in ``fmt`` (see :func:`render_document_list`)."""
        return render_document_list(self.items, fmt, self.locale)

    def __str__(self) -> str:
        """The list as a text table."""
        return self.render("text")

    def _repr_html_(self) -> str:
        """A scoped HTML table for Jupyter."""
        return document_list_fragment(_shown_rows(self.items, self.locale), self.locale)

