"""Invoices as HTML: a self-contained page to send, and a table for Jupyter.

:func:`render_html` writes one page with its CSS inline (no external file, font or script): the
seller and customer blocks, the invoice number and dates, the lines with their tier breakdown,
discounts, taxes and totals, laid out like an invoice a company would send and printable on
A4 or Letter. :func:`render_html_table` writes only the lines and totals, for notebooks
(``Invoice._repr_html_``). Every piece of text is escaped.
"""

from __future__ import annotations

from html import escape

from babel import Locale

from meterlib.invoicing.contracts import Party
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.render._labels import Labels

__all__ = ["render_html", "render_html_table"]

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#eef0f3;color:#1d2430;
 font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.page{max-width:860px;margin:24px auto;background:#fff;padding:40px 48px;
 box-shadow:0 2px 12px rgba(20,30,50,.12);border-radius:4px}
.top{display:flex;justify-content:space-between;align-items:flex-start;gap:32px}
.seller .name{font-size:20px;font-weight:700;color:#1b3a6b}
.muted{color:#5d6778}
.title{text-align:right}
.title h1{margin:0;font-size:30px;letter-spacing:.08em;color:#1b3a6b;font-weight:600}
.meta{margin-top:8px;border-collapse:collapse;margin-left:auto}
.meta td{padding:1px 0 1px 16px;text-align:right}
.meta td:first-child{color:#5d6778}
.parties{display:flex;gap:48px;margin:24px 0 22px}
.party h2{font-size:11px;text-transform:uppercase;letter-spacing:.1em;color:#5d6778;
 margin:0 0 6px;font-weight:600}
.party .name{font-weight:600}
table.lines{width:100%;border-collapse:collapse}
table.lines th{font-size:11px;text-transform:uppercase;letter-spacing:.08em;color:#5d6778;
 text-align:left;padding:8px 6px;border-bottom:2px solid #1b3a6b;font-weight:600}
table.lines td{padding:8px 6px;vertical-align:top;border-bottom:1px solid #e3e6eb}
table.lines .num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.lines th.num{text-align:right}
.what{font-weight:600}
.detail{font-size:12px;color:#5d6778}
table.tiers{border-collapse:collapse;margin-top:4px;font-size:12px;color:#5d6778}
table.tiers td{border:0;padding:1px 12px 1px 0;font-variant-numeric:tabular-nums;
 white-space:nowrap}
table.tiers td.num{text-align:right}
.discount{color:#1e7a46;font-size:12px}
.totals{margin:18px 0 0 auto;border-collapse:collapse;min-width:360px}
.totals td{padding:5px 6px}
.totals td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.totals tr.total td{border-top:2px solid #1b3a6b;font-size:17px;font-weight:700;
 padding-top:10px;color:#1b3a6b}
.foot{margin-top:28px;padding-top:14px;border-top:1px solid #e3e6eb;font-size:12px;
 color:#5d6778}
@media print{body{background:#fff}.page{box-shadow:none;margin:0;max-width:none}}
"""


def _party(party: Party | None, fallback: str) -> str:
    if party is None:
        return f'<div class="name">{escape(fallback)}</div>'
    parts = [f'<div class="name">{escape(party.name)}</div>']
    parts += [f"<div>{escape(line)}</div>" for line in party.address]
    if party.email:
        parts.append(f'<div class="muted">{escape(party.email)}</div>')
    if party.tax_id:
        parts.append(f'<div class="muted">Tax ID {escape(party.tax_id)}</div>')
    return "".join(parts)


def _lines(invoice: Invoice, labels: Labels) -> str:
    rows = []
    for line in invoice.lines:
        tiers = ""
        if line.tiers:
            cells = "".join(
                f"<tr><td>{escape(what)}</td><td class=num>{escape(how)}</td></tr>"
                for what, how in (labels.tier(row) for row in line.tiers)
            )
            tiers = f'<table class="tiers">{cells}</table>'
        discount = ""
        if line.discount:
            discount = (
                f'<div class="discount">discount {escape(labels.money(-line.discount))}'
                f" → {escape(labels.money(line.net))}</div>"
            )
        rows.append(
            "<tr>"
            f'<td><div class="what">{escape(line.description)}</div>'
            f'<div class="detail">{escape(labels.span(line))} · '
            f"{escape(labels.detail(line))}</div>{tiers}</td>"
            f'<td class="num">{escape(labels.quantity(line))}</td>'
            f'<td class="num">{escape(labels.unit_price(line))}</td>'
            f'<td class="num">{escape(labels.money(line.rounded))}{discount}</td>'
            "</tr>",
        )
    return (
        '<table class="lines"><thead><tr><th>Description</th>'
        '<th class="num">Quantity</th><th class="num">Unit price</th>'
        '<th class="num">Amount</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )


def _totals(invoice: Invoice, labels: Labels) -> str:
    rows = [("Subtotal", labels.money(invoice.subtotal), "")]
    for discount in invoice.discounts:
        value = (
            f"{labels.number(discount.value)} %"
            if discount.kind == "percentage"
            else labels.money(discount.value)
        )
        rows.append((f"{discount.name} ({value})", labels.money(-discount.amount), ""))
    rows.extend(
        (
            f"{labels.tax_name(tax.name, tax.percent, tax.rounding)} on {labels.money(tax.base)}",
            labels.money(tax.amount),
            "",
        )
        for tax in invoice.taxes
    )
    rows.append((f"Total due ({invoice.currency})", labels.money(invoice.total), "total"))
    body = "".join(
        f'<tr class="{kind}"><td>{escape(label)}</td><td class="num">{escape(amount)}</td></tr>'
        for label, amount, kind in rows
    )
    return f'<table class="totals">{body}</table>'


def render_html_table(invoice: Invoice, locale: str | Locale = "en_US") -> str:
    """The lines and totals as an HTML fragment with its own inline CSS (for notebooks)."""
    labels = Labels(invoice, locale)
    return (
        f"<div><style>{_CSS.replace('body{', '.mlinv{')}</style>"
        f'<div class="mlinv"><div class="detail">Invoice {escape(invoice.number)} · '
        f"{escape(invoice.customer)} · {escape(labels.period(invoice))}</div>"
        f"{_lines(invoice, labels)}{_totals(invoice, labels)}</div></div>"
    )


def render_html(invoice: Invoice, locale: str | Locale = "en_US") -> str:
    """A complete, self-contained HTML page for the invoice (see the module docstring)."""
    labels = Labels(invoice, locale)
    language = escape(labels.locale.language)
    seller = invoice.seller
    meta = "".join(
        f"<tr><td>{escape(label)}</td><td>{escape(value)}</td></tr>"
        for label, value in (
            ("Invoice no.", invoice.number),
            ("Issued", labels.day(invoice.issued_on)),
            ("Due", labels.day(invoice.due_on)),
            ("Period", labels.period(invoice)),
        )
    )
    terms = (invoice.due_on - invoice.issued_on).days
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Invoice {escape(invoice.number)}</title><style>{_CSS}</style></head>"
        '<body><div class="page">'
        '<div class="top">'
        f'<div class="seller">{_party(seller, "") if seller else ""}</div>'
        f'<div class="title"><h1>INVOICE</h1><table class="meta">{meta}</table></div>'
        "</div>"
        '<div class="parties">'
        f'<div class="party"><h2>Bill to</h2>{_party(invoice.bill_to, invoice.customer)}'
        f'<div class="muted">Customer ID {escape(invoice.customer)}</div></div>'
        "</div>"
        f"{_lines(invoice, labels)}{_totals(invoice, labels)}"
        '<div class="foot">'
        f"Payment due within {terms} days, by {escape(labels.day(invoice.due_on))}. "
        f"All amounts in {escape(invoice.currency)}. Times are in {escape(invoice.timezone)}."
        "</div>"
        "</div></body></html>\n"
    )
