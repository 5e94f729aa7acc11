"""Invoices as a plain-text table for terminals, and their lines as CSV.

The text table lists each line with its span, quantity, unit price and amount, the tier
breakdown indented beneath usage lines, then discounts, subtotal, taxes and the total. CSV has
one row per invoice line (no breakdown), with localized figures beside exact ones so a
spreadsheet can both show and sum them.
"""

from __future__ import annotations

import csv
import io

from babel import Locale

from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.render._labels import Labels
from meterlib.pricing.charge import plain

__all__ = ["CSV_FIELDS", "render_csv", "render_text"]

#: The CSV header, in order.
CSV_FIELDS = (
    "invoice",
    "customer",
    "kind",
    "charge",
    "description",
    "plan",
    "start",
    "end",
    "quantity",
    "unit",
    "unit_price",
    "price_version",
    "amount",
    "rounded",
    "discount",
    "net",
    "currency",
    "rounded_display",
)


def render_text(invoice: Invoice, locale: str | Locale = "en_US") -> str:
    """The invoice as a fixed-width text table for a terminal."""
    labels = Labels(invoice, locale)
    rows: list[tuple[str, str, str, str, str]] = []
    for line in invoice.lines:
        rows.append(
            (
                line.description,
                labels.span(line),
                labels.quantity(line),
                labels.unit_price(line),
                labels.money(line.rounded),
            ),
        )
        rows.append((f"  {labels.detail(line)}", "", "", "", ""))
        for tier in line.tiers:
            what, how = labels.tier(tier)
            rows.append((f"    {what}", how, "", "", ""))
    header = ("Description", "Period", "Quantity", "Unit price", "Amount")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    widths[0] = max(widths[0], 24)

    def show(row: tuple[str, str, str, str, str]) -> str:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [row[i].rjust(widths[i]) for i in (2, 3, 4)]
        return "  ".join(cells).rstrip()

    width = sum(widths) + 8
    customer = invoice.customer
    if invoice.bill_to is not None:
        customer = f"{invoice.bill_to.name} ({customer})"
    out = [f"Invoice {invoice.number}", f"Customer: {customer}"]
    if invoice.seller is not None:
        out.append(f"From: {invoice.seller.name}")
    out += [
        (
            f"Period: {labels.period(invoice)}   Issued: {labels.day(invoice.issued_on)}"
            f"   Due: {labels.day(invoice.due_on)}"
        ),
        "",
        show(header),
        "-" * width,
    ]
    out += [show(row) for row in rows]
    out.append("-" * width)
    amount_width = max(widths[4], 14)

    def total(label: str, amount: str) -> str:
        return f"{label:>{width - amount_width - 2}}  {amount:>{amount_width}}"

    out.append(total("Subtotal", labels.money(invoice.subtotal)))
    for discount in invoice.discounts:
        value = (
            f"{labels.number(discount.value)} %"
            if discount.kind == "percentage"
            else labels.money(discount.value)
        )
        out.append(total(f"{discount.name} ({value})", labels.money(-discount.amount)))
    for tax in invoice.taxes:
        out.append(
            total(
                f"{labels.tax_name(tax.name, tax.percent, tax.rounding)} "
                f"on {labels.money(tax.base)}",
                labels.money(tax.amount),
            ),
        )
    out.append(total(f"Total ({invoice.currency})", labels.money(invoice.total)))
    return "\n".join(out) + "\n"


def render_csv(invoice: Invoice, locale: str | Locale = "en_US") -> str:
    """One CSV row per invoice line: exact figures as plain decimals, plus a localized amount."""
    labels = Labels(invoice, locale)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for line in invoice.lines:
        writer.writerow(
            (
                invoice.number,
                invoice.customer,
                line.kind.value,
                line.charge,
                line.description,
                line.plan,
                line.start.isoformat(),
                line.end.isoformat(),
                plain(line.quantity),
                line.unit,
                "" if line.unit_price is None else plain(line.unit_price),
                "" if line.price_version is None else line.price_version.isoformat(),
                plain(line.amount),
                plain(line.rounded),
                plain(line.discount),
                plain(line.net),
                invoice.currency,
                labels.money(line.rounded),
            ),
        )
    return buffer.getvalue()
