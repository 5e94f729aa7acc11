"""Issued documents for people: an invoice with its status and balance, notes, lists.

An issued invoice is rendered as the invoice itself (:mod:`~meterlib.render.text`,
:mod:`~meterlib.render.html`) followed by its account: status, number, amount due (total and
notes), amount paid, remaining balance, and
the reason and replacement of a void. A credit or debit note names the invoice it corrects and,
line by line, the invoice line and the late events behind it. A list shows one row per
document. Every form takes an explicit locale; JSON is exact and locale-free.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import InvoiceAccount, IssuedDocument, IssuedInvoice
from meterlib.invoicing.notes import Note
from meterlib.money import Money
from meterlib.render.csv import invoice_csv
from meterlib.render.format import format_date_local, format_money
from meterlib.render.html.invoice import invoice_document
from meterlib.render.text import invoice_text

__all__ = ["DOCUMENT_FORMATS", "ListedDocument", "render_document_list", "render_issued",
           "render_note"]

DOCUMENT_FORMATS = ("text", "json", "html", "csv")


@dataclass(frozen=True, slots=True)
class ListedDocument:
    """One row of a document list: the document, and for an invoice its account."""

    document: IssuedDocument
    account: InvoiceAccount | None


def _money(amount: Any, currency: str, locale: str) -> str:
    return format_money(Money(amount, currency), locale)


def _account_rows(account: InvoiceAccount, locale: str) -> list[tuple[str, str]]:
    cur = account.currency
    rows = [
        ("Status", account.status.value),
        ("Number", account.number),
        ("Invoice total", _money(account.total, cur, locale)),
    ]
    if account.adjustments:
        rows.append(("Credit and debit notes", _money(account.adjustments, cur, locale)))
    rows += [
        ("Amount due", _money(account.amount_due, cur, locale)),
        ("Amount paid", _money(account.paid, cur, locale)),
        ("Remaining balance", _money(account.remaining, cur, locale)),
    ]
    if account.void:
        rows.append(("Void", account.void_reason or ""))
        if account.replaced_by:
            rows.append(("Replaced by", account.replaced_by))
    return rows


def render_issued(issued: IssuedInvoice, fmt: str, locale: str = "en_US") -> str:
    """An issued invoice in ``fmt``: the invoice, then its status and what is paid and due.

    ``json`` prints the JSON it was issued with, unchanged (byte for byte).
    """
    invoice, account, body = issued.invoice, issued.account, issued.document.body
    rows = _account_rows(account, locale)
    if fmt == "json":
        return body + "\n"
    if fmt == "text":
        width = max(len(label) for label, _ in rows)
        block = "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)
        return invoice_text(invoice, locale).rstrip("\n") + "\n\n" + block + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows([("field", "value"), *rows])
        return invoice_csv(invoice, locale) + "\n" + out.getvalue()
    if fmt == "html":
        table = "".join(
            f"<tr><td>{escape(label)}</td><td class=\"num\">{escape(value)}</td></tr>"
            for label, value in rows
        )
        status = account.status.value
        block = f'<table class="totals account" data-status="{status}">{table}</table>'
        page = invoice_document(invoice, locale)
        anchor = '<div class="foot">' if '<div class="foot">' in page else "</body>"
        head, _, tail = page.partition(anchor)
        return head + block + anchor + tail
    raise InvalidValueError("format", fmt, f"one of {', '.join(DOCUMENT_FORMATS)}")


def _note_rows(note: Note, locale: str) -> list[tuple[str, str, str, str]]:
    rows = []
    for line in note.lines:
        where = "whole invoice" if line.line is None else f"line {line.line + 1}"
        if line.kind == "tax":
            where = "tax"
        events = ", ".join(
            f"{e.event_id} (received {e.received.isoformat()})" for e in line.late_events
        )
        rows.append((line.description, where, _money(line.amount, note.currency, locale), events))
    return rows


def render_note(note: Note, body: str, fmt: str, locale: str = "en_US") -> str:
    """A credit or debit note in ``fmt``, naming the invoice and lines it corrects."""
    title = "Debit note" if note.kind.value == "debit_note" else "Credit note"
    rows = _note_rows(note, locale)
    total = _money(note.total, note.currency, locale)
    head = [
        f"{title} {note.number}",
        f"Corrects invoice: {note.invoice}",
        f"Customer: {note.customer}",
        f"Issued: {format_date_local(note.issued_on, locale)}",
        f"Reason: {note.reason} ({note.cause.replace('_', ' ')})",
    ]
    if fmt == "json":
        return body + "\n"
    if fmt == "text":
        lines = [*head, ""]
        for what, where, amount, events in rows:
            lines.append(f"{what}  [{where}]  {amount}")
            if events:
                lines.append(f"  late events: {events}")
        lines += ["", f"Total: {total}"]
        return "\n".join(lines) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("note", "invoice", "description", "corrects", "amount", "late_events"))
        writer.writerows((note.number, note.invoice, *row) for row in rows)
        return out.getvalue()
    if fmt == "html":
        body_rows = "".join(
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
        )
        heads = "".join(f"<p>{escape(text)}</p>" for text in head[1:])
        return (
            f'<!DOCTYPE html><html lang="{escape(locale[:2])}"><head><meta charset="utf-8">'
            f"<title>{escape(head[0])}</title></head><body><h1>{escape(head[0])}</h1>{heads}"
            "<table><tr><th>Description</th><th>Corrects</th><th>Amount</th>"
            f"<th>Late events</th></tr>{body_rows}</table>"
            f"<p><strong>Total: {escape(total)}</strong></p></body></html>\n"
        )
    raise InvalidValueError("format", fmt, f"one of {', '.join(DOCUMENT_FORMATS)}")


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


def render_document_list(items: Sequence[ListedDocument], fmt: str) -> str:
    """One row per document: number, kind, status, customer, totals (exact figures)."""
    records = [_list_record(item) for item in items]
    columns = ["number", "kind", "status", "customer", "currency", "period_start", "corrects",
               "issued_at", "early", "total", "amount_due", "amount_paid", "remaining"]
    if fmt == "json":
        return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
    cells = [[("" if r[c] is None else str(r[c])) for c in columns] for r in records]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(cells)
        return out.getvalue()
    if fmt == "text":
        shown = ["number", "kind", "status", "customer", "total", "amount_due", "remaining",
                 "corrects"]
        index = [columns.index(c) for c in shown]
        table = [shown, *[[row[i] for i in index] for row in cells]]
        widths = [max(len(row[i]) for row in table) for i in range(len(shown))]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in table
        ) + "\n"
    if fmt == "html":
        head = "".join(f"<th>{escape(c)}</th>" for c in columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>"
            for row in cells
        )
        return (
            '<!DOCTYPE html><html><head><meta charset="utf-8"><title>Documents</title></head>'
            f"<body><table><tr>{head}</tr>{rows}</table></body></html>\n"
        )
    raise InvalidValueError("format", fmt, f"one of {', '.join(DOCUMENT_FORMATS)}")
