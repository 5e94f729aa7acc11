"""Invoices as HTML: a self-contained page to send, and a fragment for Jupyter.

:func:`invoice_document` writes one page (no external file, font or script): the seller and
customer blocks, the invoice number, status and dates, the lines with their tier breakdown,
discounts, taxes, money credits (after the taxes, under "Credits applied") and totals, then the
invoice's account (amount due, amount paid, remaining balance), printable on A4 or Letter.
:func:`invoice_fragment` writes the status, lines, totals and account under a scoped stylesheet
(``Invoice._repr_html_``). Without an account the invoice is a draft
(:mod:`meterlib.render.accounts`). Every piece of text is escaped.
"""

from __future__ import annotations

from babel import Locale

from meterlib._numbers import EXACT
from meterlib.invoicing.contracts import Party
from meterlib.invoicing.invoice import Invoice, InvoiceLine
from meterlib.invoicing.lifecycle import InvoiceAccount, IssuedDocument
from meterlib.render.accounts import account_rows, correction_text, status_name, status_notice
from meterlib.render.format import Formatter
from meterlib.render.html.page import bdi, document, e, fragment
from meterlib.render.labels import InvoiceLabels, money_credits

__all__ = ["account_html", "invoice_document", "invoice_fragment", "status_badge"]


def status_badge(status: str, fmt: Formatter) -> str:
    """The status as a coloured badge (``draft``, ``issued``, ``paid``, ``void``)."""
    return (
        f'<span class="status st-{e(status)}" data-status="{e(status)}">'
        f"{e(status_name(status, fmt))}</span>"
    )


def account_html(
    invoice: Invoice,
    account: InvoiceAccount | None,
    fmt: Formatter,
    issued: IssuedDocument | None = None,
) -> str:
    """The account as a table (status, amounts due and paid, remaining), and any notice."""
    status = "draft" if account is None else account.status.value
    body = "".join(
        f'<tr class="{"total" if row.role == "total" else ""}">'
        f'<th class="s wrap" scope="row">{e(row.label)}</th>'
        + (
            f"<td>{status_badge(status, fmt)}</td>"
            if row.role == "status"
            else f"<td>{bdi(row.value)}</td>"
        )
        + "</tr>"
        for row in account_rows(invoice, account, fmt, issued)
    )
    notice = status_notice(account, fmt)
    shown = f'<p class="notice st-{status}">{e(notice)}</p>' if notice else ""
    return (
        f'{shown}<div class="scroll"><table class="totals account" data-status="{status}">'
        f"{body}</table></div>"
    )


def _party(party: Party | None, fallback: str, labels: InvoiceLabels) -> str:
    _ = labels.gettext
    if party is None:
        return f'<div class="name">{bdi(fallback)}</div>'
    parts = [f'<div class="name">{bdi(party.name)}</div>']
    parts += [f"<div>{bdi(line)}</div>" for line in party.address]
    if party.email:
        parts.append(f'<div class="muted">{bdi(party.email)}</div>')
    if party.tax_id:
        parts.append(
            '<div class="muted">' + e(_("Tax ID")) + f' {bdi(party.tax_id)}</div>'
        )
    return "".join(parts)


def _lines(invoice: Invoice, labels: InvoiceLabels) -> str:
    _ = labels.gettext
    rows = []

    def corrects(line: InvoiceLine) -> str:
        text = correction_text(line, labels)
        return f"<br>{e(text)}" if text else ""

    for line in money_credits(invoice).lines:
        tiers = ""
        if line.tiers:
            cells = "".join(
                f'<tr><td class="s">{bdi(what)}</td><td class="s">{e(how)}</td></tr>'
                for what, how in (labels.tier(row) for row in line.tiers)
            )
            tiers = f'<table class="tiers">{cells}</table>'
        discount = ""
        if line.discount:
            discount = '<div class="discount">' + e(
                _("discount {amount} → {net}").format(
                    amount=labels.money(EXACT.minus(line.discount)), net=labels.money(line.net)
                )
            ) + "</div>"
        rows.append(
            "<tr>"
            f'<td class="wrap"><div class="what">{bdi(line.description)}</div>'
            f'<div class="detail">{e(labels.span(line))} · '
            f"{e(labels.detail(line))}{corrects(line)}</div>{tiers}</td>"
            f"<td>{e(labels.quantity(line))}</td>"
            f"<td>{e(labels.line_unit_price(line))}</td>"
            f"<td>{e(labels.money(line.rounded))}{discount}</td>"
            "</tr>",
        )
    return (
        '<div class="scroll"><table class="grid lines"><thead><tr>'
        '<th class="s">' + e(_("Description")) + '</th><th>' + e(_("Quantity")) + '</th>'
        "<th>" + e(_("Unit price")) + "</th><th>" + e(_("Amount")) + "</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
    )


def _total_row(label: str, amount: str, kind: str) -> str:
    """A row of the totals: ``credits`` is the heading of the money credits, ``credit`` one."""
    if kind == "credits":
        return f'<tr class="credits"><td class="s wrap what" colspan="2">{e(label)}</td></tr>'
    if kind == "credit":  # the line's description, as the engine wrote it
        return f'<tr><td class="s wrap">{bdi(label)}</td><td class="credit">{e(amount)}</td></tr>'
    return f'<tr class="{kind}"><td class="s wrap">{e(label)}</td><td>{e(amount)}</td></tr>'


def _totals(invoice: Invoice, labels: InvoiceLabels) -> str:
    """Subtotal, discounts, taxes, then any money credits under their heading, then the total."""
    _ = labels.gettext
    shown = money_credits(invoice)
    rows = [(_("Subtotal"), labels.money(shown.subtotal), "")]
    rows.extend(
        (
            labels.discount_name(d.name, d.kind, d.value),
            labels.money(EXACT.minus(d.amount)),
            "",
        )
        for d in invoice.discounts
    )
    rows.extend(
        (
            _("{tax} on {base}").format(
                tax=labels.tax_name(tax.name, tax.percent, tax.rounding),
                base=labels.money(tax.base),
            ),
            labels.money(tax.amount),
            "",
        )
        for tax in invoice.taxes
    )
    if shown.credits:
        rows.append((_("Total before credits"), labels.money(shown.before_credits), ""))
        rows.append((_("Credits applied"), "", "credits"))
        rows.extend(
            (line.description, labels.money(line.rounded), "credit") for line in shown.credits
        )
    rows.append(
        (
            _("Total ({currency})").format(currency=invoice.currency),
            labels.money(invoice.total),
            "total",
        )
    )
    body = "".join(_total_row(label, amount, kind) for label, amount, kind in rows)
    return f'<div class="scroll"><table class="totals">{body}</table></div>'


def invoice_fragment(
    invoice: Invoice,
    locale: str | Locale = "en_US",
    account: InvoiceAccount | None = None,
    issued: IssuedDocument | None = None,
    extra: str = "",
) -> str:
    """Status, lines, totals and account as an HTML fragment under its own scoped stylesheet.

    ``extra`` is HTML added at the end (an issued invoice's payments).
    """
    labels = InvoiceLabels(invoice, locale)
    _ = labels.gettext
    head = _("Invoice {number}").format(number=invoice.number)
    status = "draft" if account is None else account.status.value
    dates = " · ".join(
        (
            _("Issued: {date}").format(date=labels.day(invoice.issued_on)),
            _("Due: {date}").format(date=labels.day(invoice.due_on)),
        )
    )
    return fragment(
        f'<div class="what"><bdi>{e(head)}</bdi> {status_badge(status, labels)}</div>'
        f'<div class="detail">{bdi(invoice.customer)} · {e(labels.period(invoice))} · '
        f"{e(dates)}</div>"
        f"{_lines(invoice, labels)}{_totals(invoice, labels)}"
        f"{account_html(invoice, account, labels, issued)}{extra}",
        labels,
    )


def invoice_document(
    invoice: Invoice,
    locale: str | Locale = "en_US",
    account: InvoiceAccount | None = None,
    issued: IssuedDocument | None = None,
    extra: str = "",
) -> str:
    """A complete, self-contained HTML page for the invoice (see the module docstring).

    Without ``account`` the invoice is a draft; ``extra`` is HTML added after the account.
    """
    labels = InvoiceLabels(invoice, locale)
    _ = labels.gettext
    status = "draft" if account is None else account.status.value
    meta = "".join(
        f'<tr><th class="s muted" scope="row">{e(label)}</th><td>{value}</td></tr>'
        for label, value in (
            (_("Invoice no."), bdi(invoice.number)),
            (_("Status"), status_badge(status, labels)),
            (_("Issued"), e(labels.day(invoice.issued_on))),
            (_("Due"), e(labels.day(invoice.due_on))),
            (_("Period"), e(labels.period(invoice))),
        )
    )
    terms = (invoice.due_on - invoice.issued_on).days
    seller = _party(invoice.seller, "", labels) if invoice.seller else ""
    foot = " ".join(
        (
            _("Payment due within {days} days, by {date}.").format(
                days=labels.number(terms), date=labels.day(invoice.due_on)
            ),
            _("All amounts in {currency}.").format(currency=invoice.currency),
            _("Times are in {zone}.").format(zone=invoice.timezone),
        )
    )
    body = (
        f'<div class="head"><div>{seller}</div>'
        '<div class="end"><h1>' + e(_("INVOICE"))
        + f'</h1><table class="meta">{meta}</table></div>'
        "</div>"
        '<div class="parties"><div>'
        f'<div class="label">' + e(_("Bill to")) + f'</div>'
        f"{_party(invoice.bill_to, invoice.customer, labels)}"
        f'<div class="muted">' + e(_("Customer ID")) + f' {bdi(invoice.customer)}</div></div></div>'
        f"{_lines(invoice, labels)}{_totals(invoice, labels)}"
        f"{account_html(invoice, account, labels, issued)}{extra}"
        f'<div class="foot">{e(foot)}</div>'
    )
    return document(_("Invoice {number}").format(number=invoice.number), body, labels)
