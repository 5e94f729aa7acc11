"""CSV exports of invoices, statements and usage tables, safe to open in a spreadsheet.

**Formula cells are neutralized by default.** A spreadsheet (Excel, LibreOffice, Google Sheets)
runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula, and tab or carriage
return at the start of a cell can smuggle one in (OWASP, "CSV Injection"). Customer ids,
descriptions, plan names and other *text* that came from documents or events may begin so; such
a text cell is written with a leading apostrophe (``'=HYPERLINK(...)``), which spreadsheets show
as text and do not run.

**Numbers stay numbers.** A cell meterlib writes from an exact figure (``Decimal`` or ``int``:
quantities, amounts, ``-12.50`` for a credit) is plain decimal text, never prefixed, so a
spreadsheet still sums it. Only text cells are checked; a text cell that merely looks like a
number (a customer id ``-12``) is text and is prefixed. Dates are ISO 8601 and booleans
``true``/``false``, which cannot begin a formula.

``neutralize_formulas=False`` (``--no-neutralize-formulas`` on the command line) writes every
cell exactly as it is, for programs that read the CSV and must see the original text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from babel import Locale

from meterlib.backbill.statement import Statement
from meterlib.invoicing.invoice import Invoice
from meterlib.metering.table import UsageTable, group_label
from meterlib.render.labels import InvoiceLabels

__all__ = [
    "FORMULA_PREFIXES",
    "INVOICE_FIELDS",
    "USAGE_FIELDS",
    "csv_cell",
    "invoice_csv",
    "neutralize",
    "statement_csv",
    "usage_csv",
]

#: A text cell beginning with one of these is neutralized (OWASP CSV injection list).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: The invoice CSV header, in order.
INVOICE_FIELDS = (
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

#: The usage CSV header, in order (the fields of ``UsageTable.to_records``).
USAGE_FIELDS = ("customer", "meter", "period_start", "period_end", "period", "group", "value")

Cell = str | Decimal | int | bool | date | None


def neutralize(text: str) -> str:
    """``text`` prefixed with ``'`` when a spreadsheet would run it as a formula."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_cell(value: Cell, *, neutralize_formulas: bool = True) -> str:
    """One cell as CSV text: exact figures in plain form, dates ISO, text neutralized.

    ``Decimal`` and ``int`` are written as plain decimals (no exponent) and never prefixed;
    ``None`` is empty; ``bool`` is ``true``/``false``; text is neutralized unless
    ``neutralize_formulas`` is false.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return neutralize(value) if neutralize_formulas else value


def _write(
    header: Sequence[str], rows: Iterable[Sequence[Cell]], *, neutralize_formulas: bool
) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(c, neutralize_formulas=neutralize_formulas) for c in row])
    return buffer.getvalue()


def invoice_csv(
    invoice: Invoice, locale: str | Locale = "en_US", *, neutralize_formulas: bool = True
) -> str:
    """One row per invoice line: exact figures as plain decimals, plus a localized amount.

    ``rounded_display`` is text for people (``-€5.00``) and is neutralized like any text.
    """
    labels = InvoiceLabels(invoice, locale)
    rows = [
        (
            invoice.number,
            invoice.customer,
            line.kind.value,
            line.charge,
            line.description,
            line.plan,
            line.start,
            line.end,
            line.quantity,
            line.unit,
            line.unit_price,
            line.price_version,
            line.amount,
            line.rounded,
            line.discount,
            line.net,
            invoice.currency,
            labels.money(line.rounded),
        )
        for line in invoice.lines
    ]
    return _write(INVOICE_FIELDS, rows, neutralize_formulas=neutralize_formulas)


def statement_csv(statement: Statement, *, neutralize_formulas: bool = True) -> str:
    """One row per period, the columns of ``StatementLine.to_record`` (exact, locale-free)."""
    records = statement.to_records()
    header = list(records[0]) if records else []
    rows = [[record[key] for key in header] for record in records]
    return _write(header, rows, neutralize_formulas=neutralize_formulas)


def usage_csv(table: UsageTable, *, neutralize_formulas: bool = True) -> str:
    """One row per usage cell: customer, meter, period bounds and label, group, exact value."""
    rows = [
        (
            key.customer,
            key.meter,
            key.period.start,
            key.period.end,
            key.period.label(),
            group_label(key.group),
            value,
        )
        for key, value in table.rows()
    ]
    return _write(USAGE_FIELDS, rows, neutralize_formulas=neutralize_formulas)
