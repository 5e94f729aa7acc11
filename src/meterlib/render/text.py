"""Invoices, statements and scenario comparisons as plain-text tables for terminals.

Text is for people: figures through Babel with an explicit locale, labels through the gettext
catalogs. Columns are aligned by character count; numbers are right-aligned.
"""

from __future__ import annotations

from collections.abc import Sequence

from babel import Locale

from meterlib._numbers import EXACT
from meterlib.backbill.statement import AdjustmentDocument, ScenarioComparison, Statement
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.lifecycle import InvoiceAccount, IssuedDocument
from meterlib.render.accounts import (
    AccountRow,
    account_rows,
    correction_text,
    status_name,
    status_notice,
)
from meterlib.render.format import Formatter
from meterlib.render.labels import (
    InvoiceLabels,
    breakdown_text,
    common_allowance,
    document_line_text,
    document_title,
    money_credits,
)

__all__ = ["account_text", "comparison_text", "invoice_text", "statement_text"]


def account_text(rows: Sequence[AccountRow]) -> str:
    """An invoice's account as ``label  value`` lines, the labels padded to one width."""
    width = max(len(row.label) for row in rows)
    return "\n".join(f"{row.label.ljust(width)}  {row.value}" for row in rows) + "\n"


def invoice_text(
    invoice: Invoice,
    locale: str | Locale = "en_US",
    account: InvoiceAccount | None = None,
    document: IssuedDocument | None = None,
) -> str:
    """The invoice as a fixed-width text table for a terminal, then its account.

    Money credits come after the taxes, under "Credits applied", before the total due (see
    :class:`~meterlib.render.labels.MoneyCredits`). Without ``account`` the invoice is a draft
    (see :mod:`meterlib.render.accounts`).
    """
    labels = InvoiceLabels(invoice, locale)
    _ = labels.gettext
    shown = money_credits(invoice)
    rows: list[tuple[str, str, str, str, str]] = []
    for line in shown.lines:
        rows.append(
            (
                line.description,
                labels.span(line),
                labels.quantity(line),
                labels.line_unit_price(line),
                labels.money(line.rounded),
            ),
        )
        rows.append((f"  {labels.detail(line)}", "", "", "", ""))
        corrects = correction_text(line, labels)
        if corrects:
            rows.append((f"  {corrects}", "", "", "", ""))
        for tier in line.tiers:
            what, how = labels.tier(tier)
            rows.append((f"    {what}", how, "", "", ""))
    header = (_("Description"), _("Period"), _("Quantity"), _("Unit price"), _("Amount"))
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
    status = status_name("draft" if account is None else account.status, labels)
    out = [
        _("Invoice {number} ({status})").format(number=invoice.number, status=status),
        _("Customer: {customer}").format(customer=customer),
    ]
    if invoice.seller is not None:
        out.append(_("From: {seller}").format(seller=invoice.seller.name))
    out += [
        "   ".join(
            (
                _("Period: {period}").format(period=labels.period(invoice)),
                _("Issued: {date}").format(date=labels.day(invoice.issued_on)),
                _("Due: {date}").format(date=labels.day(invoice.due_on)),
            )
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

    out.append(total(_("Subtotal"), labels.money(shown.subtotal)))
    for discount in invoice.discounts:
        name = labels.discount_name(discount.name, discount.kind, discount.value)
        out.append(total(name, labels.money(EXACT.minus(discount.amount))))
    for tax in invoice.taxes:
        name = labels.tax_name(tax.name, tax.percent, tax.rounding)
        base = labels.money(tax.base)
        out.append(
            total(_("{tax} on {base}").format(tax=name, base=base), labels.money(tax.amount))
        )
    if shown.credits:
        out.append(total(_("Total before credits"), labels.money(shown.before_credits)))
        out.append(total(_("Credits applied"), "").rstrip())
        out += [total(line.description, labels.money(line.rounded)) for line in shown.credits]
    out.append(
        total(
            _("Total ({currency})").format(currency=invoice.currency),
            labels.money(invoice.total),
        )
    )
    notice = status_notice(account, labels)
    out += ["", *([notice, ""] if notice else [])]
    return "\n".join(out) + "\n" + account_text(
        account_rows(invoice, account, labels, document)
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> list[str]:
    """Aligned columns: the first ``left`` columns left-aligned, the rest right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def row(cells: Sequence[str]) -> str:
        out = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths).rstrip()
    return [row(headers), rule, *(row(r) for r in rows[:-1]), rule, row(rows[-1])]


def summary_rows(statement: Statement, f: Formatter) -> list[tuple[str, str, str]]:
    """The statement's summary as ``(label, amount, css class)`` rows (text and HTML)."""
    _ = f.gettext
    t = statement.totals
    return [
        (_("Should have been billed"), f.money(t.rebilled), ""),
        (_("Was billed"), f.money(t.billed), ""),
        (
            _("Under-billed (net)") if t.delta >= 0 else _("Over-billed (net)"),
            f.money(t.delta),
            "",
        ),
        (_("Interest to {date}").format(date=f.day(statement.as_of)), f.money(t.interest), ""),
        (_("Total owed") if t.total >= 0 else _("Total to refund"), f.money(t.total), "total"),
    ]


def lookback_text(statement: Statement, f: Formatter) -> str:
    """The lookback rule in words."""
    _ = f.gettext
    if statement.cutoff is None:
        return _("none: every period is claimed")
    return _(
        "{years} years: periods due before {date} are time-barred, listed and not claimed"
    ).format(years=f.number(statement.lookback_years or 0), date=f.day(statement.cutoff))


def interest_text(statement: Statement, f: Formatter) -> str:
    """The interest terms in words."""
    _ = f.gettext
    return _(
        "{policy}, on unpaid amounts from each due date ({days} days after the period ends)"
        " to {date}"
    ).format(
        policy=f.isolate(statement.interest_policy),
        days=f.number(statement.due_days),
        date=f.day(statement.as_of),
    )


def statement_text(statement: Statement, locale: str | Locale = "en_US") -> str:
    """A statement a new reader understands at a glance: summary first, then the detail."""
    f = Formatter(statement.currency, locale)
    _ = f.gettext
    t = statement.totals
    out = [statement.title.upper(), "=" * len(statement.title)]
    scenario = statement.scenario
    if statement.description:
        scenario += f" ({statement.description})"
    terms = [
        (_("Customer"), statement.customer or ""),
        (_("Valued on"), f.day(statement.as_of)),
        (_("Scenario"), scenario),
        (_("Re-billed"), _("at the {basis} prices in force in each period").format(
            basis=statement.basis)),
        (_("Interest"), interest_text(statement, f)),
        (_("Lookback"), lookback_text(statement, f)),
    ]
    width = max(len(k) for k, _v in terms) + 2
    out += [f"{k + ':':<{width}} {v}" for k, v in terms if v]
    summary = summary_rows(statement, f)
    label_width = max(len(k) for k, _v, _c in summary)
    amount_width = max(len(v) for _k, v, _c in summary)
    out += ["", _("SUMMARY")]
    out += [
        f"  {(k.upper() if c else k).ljust(label_width)}  {v.rjust(amount_width)}"
        for k, v, c in summary
    ]
    out.append(
        "  ("
        + _("{claimed} periods claimed, {barred} time-barred; {overuse} {unit} over the allowance")
        .format(
            claimed=f.number(t.periods),
            barred=f.number(t.barred),
            overuse=f.number(t.overuse),
            unit=statement.unit,
        )
        + ")"
    )
    if t.not_yet_due:
        out.append(
            "  "
            + _("{count} periods not yet due on the valuation date: listed, not claimed").format(
                count=f.number(t.not_yet_due)
            )
        )
    shared = common_allowance(statement)
    if shared is None:
        heading = _("PERIODS (usage in {unit}; amounts in {currency})")
    else:
        heading = _(
            "PERIODS (usage in {unit}, allowance {allowance} a period; amounts in {currency})"
        )
    out += [
        "",
        heading.format(
            unit=statement.unit,
            currency=statement.currency,
            allowance=f.number(shared),
        ),
    ]
    out += _period_table(statement, f)
    out += ["", _("HOW EACH PERIOD WAS RE-BILLED")]
    labels = max(len(line.label) for line in statement.lines)
    out += [
        f"  {line.label.ljust(labels)}  {line.version}: {breakdown_text(line, f)}"
        f" = {f.money(line.rebilled)}"
        for line in statement.lines
    ]
    out += ["", _("ADJUSTMENT DOCUMENTS (the original invoices are not changed)")]
    out += _documents_text(statement, f)
    if statement.problems:
        out += ["", _("NOTES")]
        out += [f"  - {problem}" for problem in statement.problems]
    return "\n".join(out) + "\n"


def _period_table(statement: Statement, f: Formatter) -> list[str]:
    _ = f.gettext
    shared = common_allowance(statement)
    headers = [
        _("Period"), _("Usage"), _("Allowance"), _("Overuse"), _("Re-billed"), _("Billed"),
        _("Delta"), _("Due"), _("Days late"), _("Interest"), "",
    ]
    rows = [
        [
            line.label,
            f.number(line.usage),
            f.number(line.allowance),
            f.number(line.overuse),
            f.money(line.rebilled),
            f.money(line.billed),
            f.money(line.delta),
            line.due.isoformat(),
            f.number(line.days_late),
            f.money(line.interest),
            _("time-barred")
            if line.barred
            else _("not yet due")
            if line.not_yet_due
            else (_("credit") if line.delta < 0 else ""),
        ]
        for line in statement.lines
    ]
    t = statement.totals
    rows.append(
        [
            _("Total"),
            f.number(t.usage),
            "",
            f.number(t.overuse),
            f.money(t.rebilled),
            f.money(t.billed),
            f.money(t.delta),
            "",
            "",
            f.money(t.interest),
            _("barred periods excluded")
            if t.barred
            else _("periods not yet due excluded")
            if t.not_yet_due
            else "",
        ],
    )
    if shared is not None:
        del headers[2]
        for row in rows:
            del row[2]
    return ["  " + row for row in _table(headers, rows)]


def _document_rows(doc: AdjustmentDocument, statement: Statement, f: Formatter) -> str:
    return "; ".join(
        f"{document_line_text(doc, index, statement, f)} {f.money(line.amount)}"
        for index, line in enumerate(doc.lines)
    )


def _documents_text(statement: Statement, f: Formatter) -> list[str]:
    _ = f.gettext
    if not statement.documents:
        return ["  " + _("none: nothing to correct")]
    rows = [
        [
            doc.number,
            document_title(doc, f),
            doc.period,
            doc.corrects or _("(no invoice number)"),
            f.money(doc.signed_total),
        ]
        for doc in statement.documents
    ]
    rows.append(["", "", "", _("Net"), f.money(statement.totals.total)])
    headers = [_("Number"), _("Kind"), _("Period"), _("Corrects"), _("Amount")]
    return ["  " + row for row in _table(headers, rows, 4)]


def comparison_rows(comparison: ScenarioComparison, f: Formatter) -> list[list[str]]:
    """The comparison's rows: a label, then one figure per scenario (text and HTML)."""
    _ = f.gettext
    s = comparison.statements
    return [
        [_("Usage"), *(f.number(x.totals.usage) for x in s)],
        [_("Overuse"), *(f.number(x.totals.overuse) for x in s)],
        [_("Should have been billed"), *(f.money(x.totals.rebilled) for x in s)],
        [_("Was billed"), *(f.money(x.totals.billed) for x in s)],
        [_("Under-billed (net)"), *(f.money(x.totals.delta) for x in s)],
        [_("Interest"), *(f.money(x.totals.interest) for x in s)],
        [_("Total owed"), *(f.money(x.totals.total) for x in s)],
    ]


def comparison_text(comparison: ScenarioComparison, locale: str | Locale = "en_US") -> str:
    """Scenario totals side by side: one column per scenario."""
    first = comparison.statements[0]
    f = Formatter(first.currency, locale)
    _ = f.gettext
    headers = ["", *comparison.names]
    out = [
        _("SCENARIOS (valued on {date}, in {currency})").format(
            date=f.day(first.as_of), currency=first.currency
        )
    ]
    out += ["  " + row for row in _table(headers, comparison_rows(comparison, f))]
    notes = [
        f"  {s.scenario}: {s.description or s.interest_policy}" for s in comparison.statements
    ]
    return "\n".join([*out, *notes]) + "\n"
