"""Issued documents as HTML: invoices with their account, notes, payments and document lists.

Every form is either a standalone page (no script, no outside resource, printable on A4) or a
fragment for Jupyter under its own scoped stylesheet (:mod:`meterlib.render.html.page`), with
figures through Babel and labels through the gettext catalogs for the locale asked. A credit or
debit note names the invoice it corrects and, line by line, the invoice line and the late
events behind it; a note over a period no issued invoice billed names that period.
"""

from __future__ import annotations

from collections.abc import Sequence

from babel import Locale

from meterlib._numbers import exact_sum
from meterlib.invoicing.lifecycle import DocumentKind, InvoicePayment, IssuedInvoice
from meterlib.invoicing.notes import Note
from meterlib.render.accounts import (
    cause_name,
    kind_name,
    late_events_text,
    note_line_target,
    note_period,
    note_title,
)
from meterlib.render.format import Formatter
from meterlib.render.html.invoice import invoice_document, invoice_fragment, status_badge
from meterlib.render.html.page import bdi, document, e, fragment

__all__ = [
    "ListRow",
    "document_list_document",
    "document_list_fragment",
    "issued_document",
    "issued_fragment",
    "note_document",
    "note_fragment",
    "payments_fragment",
    "payments_table",
]

#: One row of a document list, as shown: number, kind, status, customer, corrects, issued on,
#: total, amount due, amount paid, remaining (figures already formatted).
ListRow = tuple[str, str, str, str, str, str, str, str, str, str]


def _grid(head: Sequence[str], rows: Sequence[str], start: int = 1, caption: str = "") -> str:
    """A table that scrolls inside its own box; the first ``start`` columns start-aligned."""
    heads = "".join(
        f'<th class="s" scope="col">{e(h)}</th>' if i < start else f'<th scope="col">{e(h)}</th>'
        for i, h in enumerate(head)
    )
    title = f"<h2>{e(caption)}</h2>" if caption else ""
    return (
        f'{title}<div class="scroll"><table class="grid"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def payments_table(payments: Sequence[InvoicePayment], f: Formatter) -> str:
    """The payments received, one row each, and their sum (empty when there are none)."""
    _ = f.gettext
    if not payments:
        return ""
    rows = [
        f'<tr><td class="s">{bdi(p.invoice)}</td><td class="s">{e(f.day(p.paid_on))}</td>'
        f'<td class="s wrap">{bdi(p.reference or "")}</td>'
        f'<td class="s">{bdi(p.method or "")}</td><td>{e(f.money(p.amount))}</td></tr>'
        for p in payments
    ]
    total = exact_sum(p.amount for p in payments)
    rows.append(
        '<tr class="total"><td class="s" colspan="4">' + e(_("Total received")) + "</td>"
        f"<td>{e(f.money(total))}</td></tr>"
    )
    head = [_("Invoice"), _("Date"), _("Reference"), _("Method"), _("Amount")]
    return _grid(head, rows, start=4, caption=_("Payments"))


def payments_fragment(
    payments: Sequence[InvoicePayment], currency: str, locale: str | Locale = "en_US"
) -> str:
    """A list of payments for Jupyter (a line saying so when there are none)."""
    f = Formatter(currency, locale)
    _ = f.gettext
    body = payments_table(payments, f) or (
        '<p class="muted">' + e(_("No payments recorded.")) + "</p>"
    )
    return fragment(body, f)


def issued_document(
    issued: IssuedInvoice,
    locale: str | Locale = "en_US",
    payments: Sequence[InvoicePayment] = (),
) -> str:
    """An issued invoice as a page: the invoice, its status and account, its payments."""
    f = Formatter(issued.invoice.currency, locale)
    return invoice_document(
        issued.invoice, f.locale, issued.account, issued.document, payments_table(payments, f)
    )


def issued_fragment(
    issued: IssuedInvoice,
    locale: str | Locale = "en_US",
    payments: Sequence[InvoicePayment] = (),
) -> str:
    """An issued invoice for Jupyter: status, lines, totals, account and payments."""
    f = Formatter(issued.invoice.currency, locale)
    return invoice_fragment(
        issued.invoice, f.locale, issued.account, issued.document, payments_table(payments, f)
    )


def _note_body(note: Note, f: Formatter) -> str:
    _ = f.gettext
    rows = []
    for line in note.lines:
        events = ""
        if line.late_events:
            events = f'<div class="detail">{e(late_events_text(line.late_events, f))}</div>'
        quantity = "" if line.quantity is None else f.number(line.quantity)
        cls = ' class="credit"' if line.amount < 0 else ""
        rows.append(
            f'<tr><td class="wrap"><div class="what">{bdi(line.description)}</div>'
            f'<div class="detail">{e(kind_name(line.kind, f))}</div>{events}</td>'
            f'<td class="s">{e(note_line_target(line, f, note))}</td><td>{e(quantity)}</td>'
            f"<td{cls}>{e(f.money(line.amount))}</td></tr>"
        )
    label = _("Total credited") if note.total < 0 else _("Total charged")
    rows.append(
        f'<tr class="total"><td class="s" colspan="3">{e(label)} ({e(note.currency)})</td>'
        f"<td>{e(f.money(note.total))}</td></tr>"
    )
    head = [_("Description"), _("Corrects"), _("Quantity"), _("Amount")]
    return _grid(head, rows, start=2)


def _corrects(note: Note, f: Formatter) -> tuple[str, str]:
    """The label and value (HTML) of what a note corrects: an invoice, or a period."""
    _ = f.gettext
    period = note_period(note, f)
    if period:
        return _("Corrects the period"), e(period)
    return _("Corrects invoice"), bdi(note.invoice or "")


def _note_facts(note: Note, f: Formatter) -> str:
    _ = f.gettext
    items = [
        _corrects(note, f),
        (_("Customer"), bdi(note.customer)),
        (_("Issued"), e(f.day(note.issued_on))),
        (_("Reason"), bdi(note.reason)),
        (_("Cause"), e(cause_name(note.cause, f))),
    ]
    return '<dl class="facts">' + "".join(
        f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items
    ) + "</dl>"


def note_fragment(note: Note, locale: str | Locale = "en_US") -> str:
    """A credit or debit note for Jupyter: what it corrects, line by line, and its total."""
    f = Formatter(note.currency, locale)
    return fragment(
        f'<div class="what">{e(note_title(note, f))}</div>{_note_facts(note, f)}'
        f"{_note_body(note, f)}",
        f,
    )


def note_document(note: Note, locale: str | Locale = "en_US") -> str:
    """A credit or debit note as a standalone, printable page."""
    f = Formatter(note.currency, locale)
    _ = f.gettext
    title = note_title(note, f)
    heading = _("Debit note") if note.kind is DocumentKind.DEBIT_NOTE else _("Credit note")
    period = note_period(note, f)
    if not period:
        what = _("This note corrects invoice {invoice}, which stays as issued.").format(
            invoice=note.invoice
        )
    elif note.kind is DocumentKind.DEBIT_NOTE:
        what = _("This note bills the period {period}, which no issued invoice billed.").format(
            period=period
        )
    else:
        what = _(
            "This note credits the period {period}, which no issued invoice billed; the credit"
            " goes to the customer's credit balance."
        ).format(period=period)
    foot = " ".join((what, _("All amounts in {currency}.").format(currency=note.currency)))
    corrects, target = _corrects(note, f)
    body = (
        f'<header class="head"><div><h1>{e(heading)}</h1>'
        f'<div class="muted">{bdi(note.number)}</div></div>'
        f'<div class="end"><div class="label">{e(corrects)}</div>'
        f'<div class="big">{target}</div></div></header>'
        f"{_note_facts(note, f)}{_note_body(note, f)}"
        f'<div class="foot">{e(foot)}</div>'
    )
    return document(title, body, f)


def _list_rows(rows: Sequence[ListRow], f: Formatter) -> list[str]:
    out = []
    for number, kind, status, customer, corrects, issued, *figures in rows:
        badge = status_badge(status, f) if status else ""
        out.append(
            f'<tr><td class="s">{bdi(number)}</td><td class="s">{e(kind_name(kind, f))}</td>'
            f'<td class="s">{badge}</td><td class="s">{bdi(customer)}</td>'
            f'<td class="s">{bdi(corrects)}</td><td class="s">{e(issued)}</td>'
            + "".join(f"<td>{e(v)}</td>" for v in figures)
            + "</tr>"
        )
    return out


def _list_head(f: Formatter) -> list[str]:
    _ = f.gettext
    return [
        _("Number"), _("Kind"), _("Status"), _("Customer"), _("Corrects"), _("Issued"),
        _("Total"), _("Amount due"), _("Amount paid"), _("Remaining balance"),
    ]


def document_list_fragment(rows: Sequence[ListRow], locale: str | Locale = "en_US") -> str:
    """Issued documents, one row each, for Jupyter."""
    f = Formatter("XXX", locale)
    return fragment(_grid(_list_head(f), _list_rows(rows, f), start=6), f)


def document_list_document(rows: Sequence[ListRow], locale: str | Locale = "en_US") -> str:
    """Issued documents, one row each, as a standalone page."""
    f = Formatter("XXX", locale)
    _ = f.gettext
    title = _("Issued documents")
    body = f"<h1>{e(title)}</h1>" + _grid(_list_head(f), _list_rows(rows, f), start=6)
    return document(title, body, f)
