"""Back-billing statements for people and programs: text, HTML, JSON and CSV.

Rendering never changes a figure. Text and HTML are for people and go through
:mod:`meterlib.display` with an explicit locale (Babel); JSON and CSV are for programs and are
locale-free, with every amount as exact decimal text (``"6126.00"``) and dates in ISO 8601.
The HTML document lives in :mod:`meterlib.backbill.render_html`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from meterlib.backbill.statement import (
    AdjustmentDocument,
    ScenarioComparison,
    Statement,
    StatementLine,
)
from meterlib.display import format_date_local, format_money, format_number, parse_locale
from meterlib.errors import InvalidValueError
from meterlib.money import Money
from meterlib.pricing import ChargeLine

__all__ = [
    "FORMATS",
    "Format",
    "breakdown_text",
    "comparison_to_dict",
    "render",
    "render_comparison_text",
    "render_text",
    "statement_to_csv",
    "statement_to_dict",
]

Format = Literal["text", "html", "json", "csv"]
FORMATS: tuple[Format, ...] = ("text", "html", "json", "csv")


# --- data (JSON, CSV) ---------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """JSON-ready: decimals as plain text, dates ISO, tuples as lists."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _charge_line(line: ChargeLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "tier": line.tier,
        "quantity": _plain(line.quantity),
        "unit_amount": _plain(line.unit_amount),
        "flat_amount": _plain(line.flat_amount),
        "amount": _plain(line.amount),
    }


def _document(doc: AdjustmentDocument) -> dict[str, Any]:
    return {
        "kind": doc.kind,
        "number": doc.number,
        "issue_date": doc.issue_date.isoformat(),
        "corrects": doc.corrects,
        "period": doc.period,
        "currency": doc.currency,
        "lines": [{"description": x.description, "amount": _plain(x.amount)} for x in doc.lines],
        "total": _plain(doc.total),
    }


def _line(line: StatementLine) -> dict[str, Any]:
    record = {key: _plain(value) for key, value in line.to_record().items()}
    record["rebilled_exact"] = _plain(line.rebilled_exact)
    record["breakdown"] = [_charge_line(x) for x in line.breakdown]
    return record


def statement_to_dict(statement: Statement) -> dict[str, Any]:
    """Everything on the statement as JSON-ready data (amounts and dates as strings)."""
    return {
        "title": statement.title,
        "customer": statement.customer,
        "currency": statement.currency,
        "as_of": statement.as_of.isoformat(),
        "scenario": statement.scenario,
        "description": statement.description,
        "basis": statement.basis,
        "interest_policy": statement.interest_policy,
        "due_days": statement.due_days,
        "lookback_years": statement.lookback_years,
        "cutoff": None if statement.cutoff is None else statement.cutoff.isoformat(),
        "unit": statement.unit,
        "periods": [_line(line) for line in statement.lines],
        "totals": {key: _plain(value) for key, value in statement.totals.to_record().items()},
        "documents": [_document(doc) for doc in statement.documents],
        "problems": list(statement.problems),
    }


def comparison_to_dict(comparison: ScenarioComparison) -> list[dict[str, Any]]:
    """The scenario comparison as JSON-ready rows."""
    return [
        {key: _plain(value) for key, value in row.items()} for row in comparison.to_records()
    ]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _plain(value)


def statement_to_csv(statement: Statement) -> str:
    """One CSV row per period (the columns of :meth:`StatementLine.to_record`)."""
    records = statement.to_records()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _cell(value) for key, value in record.items()})
    return buffer.getvalue()


# --- text ---------------------------------------------------------------------------------


class _Fmt:
    """Locale-bound formatting of the statement's figures."""

    def __init__(self, currency: str, locale: str) -> None:
        self.currency = currency
        self.locale = parse_locale(locale)

    def money(self, amount: Decimal) -> str:
        return format_money(Money(amount, self.currency), self.locale)

    def unit_price(self, amount: Decimal) -> str:
        return format_money(Money(amount, self.currency), self.locale, exact=True)

    def number(self, value: Decimal | int | None) -> str:
        return "" if value is None else format_number(value, self.locale)

    def day(self, value: date) -> str:
        return format_date_local(value, self.locale, "medium")


def breakdown_text(line: StatementLine, fmt: _Fmt) -> str:
    """``100 + 990,000 x $0.005 + 1,400,000 x $0.00084``: how the period was re-billed."""
    parts = []
    for part in line.breakdown:
        pieces = []
        if part.flat_amount and not part.unit_amount:
            parts.append(f"{fmt.number(part.quantity)} for {fmt.money(part.flat_amount)} flat")
            continue
        if part.quantity and part.unit_amount:
            pieces.append(f"{fmt.number(part.quantity)} x {fmt.unit_price(part.unit_amount)}")
        if part.flat_amount:
            pieces.append(f"{fmt.money(part.flat_amount)} flat")
        if not pieces:
            pieces.append(f"{fmt.number(part.quantity)} free")
        parts.append(" + ".join(pieces))
    return "; ".join(parts)


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


def render_text(statement: Statement, locale: str = "en_US") -> str:
    """A statement a new reader understands at a glance: summary first, then the detail."""
    f = _Fmt(statement.currency, locale)
    t = statement.totals
    out = [statement.title.upper(), "=" * len(statement.title)]
    if statement.customer:
        out.append(f"Customer:   {statement.customer}")
    out.append(f"Valued on:  {f.day(statement.as_of)}")
    scenario = statement.scenario
    if statement.description:
        scenario += f" ({statement.description})"
    out.append(f"Scenario:   {scenario}")
    out.append(f"Re-billed:  at the {statement.basis} prices in force in each period")
    out.append(f"Interest:   {statement.interest_policy}, on unpaid amounts")
    out.append(f"            from each due date ({statement.due_days} days after the period ends)")
    if statement.cutoff is not None:
        out.append(
            f"Lookback:   {statement.lookback_years} years: periods due before"
            f" {f.day(statement.cutoff)} are time-barred and not claimed",
        )
    else:
        out.append("Lookback:   none: every period is claimed")
    summary = [
        ("Should have been billed", f.money(t.rebilled)),
        ("Was billed", f.money(t.billed)),
        ("Under-billed (net)" if t.delta >= 0 else "Over-billed (net)", f.money(t.delta)),
        (f"Interest to {f.day(statement.as_of)}", f.money(t.interest)),
        ("TOTAL OWED" if t.total >= 0 else "TOTAL TO REFUND", f.money(t.total)),
    ]
    width = max(len(k) for k, _ in summary)
    amount_width = max(len(v) for _, v in summary)
    out += ["", "SUMMARY"]
    out += [f"  {k.ljust(width)}  {v.rjust(amount_width)}" for k, v in summary]
    pending = f", {t.not_yet_due} not yet due" if t.not_yet_due else ""
    out.append(
        f"  ({t.periods} periods claimed, {t.barred} time-barred{pending};"
        f" {f.number(t.overuse)} {statement.unit} over the allowance)",
    )
    shared = common_allowance(statement)
    allowance = "" if shared is None else f", allowance {f.number(shared)} a period"
    out += [
        "",
        f"PERIODS (usage in {statement.unit}{allowance}; amounts in {statement.currency})",
    ]
    out += _period_table(statement, f)
    out += ["", "HOW EACH PERIOD WAS RE-BILLED"]
    labels = max(len(line.label) for line in statement.lines)
    out += [
        f"  {line.label.ljust(labels)}  {line.version}: {breakdown_text(line, f)}"
        f" = {f.money(line.rebilled)}"
        for line in statement.lines
    ]
    out += ["", "ADJUSTMENT DOCUMENTS (the original invoices are not changed)"]
    out += _documents_text(statement, f)
    if statement.problems:
        out += ["", "NOTES"]
        out += [f"  - {problem}" for problem in statement.problems]
    return "\n".join(out) + "\n"


def common_allowance(statement: Statement) -> Decimal | None:
    """The allowance when every period has the same one (shown once, not per row)."""
    values = {line.allowance for line in statement.lines}
    if len(values) == 1:
        (only,) = values
        return only
    return None


def _period_table(statement: Statement, f: _Fmt) -> list[str]:
    shared = common_allowance(statement)
    headers = [
        "Period", "Usage", "Allowance", "Overuse", "Re-billed", "Billed", "Delta",
        "Due", "Days late", "Interest", "",
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
            str(line.days_late),
            f.money(line.interest),
            "time-barred" if line.barred
            else "not yet due" if line.not_yet_due
            else ("credit" if line.delta < 0 else ""),
        ]
        for line in statement.lines
    ]
    t = statement.totals
    rows.append(
        [
            "Total",
            f.number(t.usage),
            "",
            f.number(t.overuse),
            f.money(t.rebilled),
            f.money(t.billed),
            f.money(t.delta),
            "",
            "",
            f.money(t.interest),
            "barred periods excluded" if t.barred
            else "not-yet-due periods excluded" if t.not_yet_due else "",
        ],
    )
    if shared is not None:
        del headers[2]
        for row in rows:
            del row[2]
    return ["  " + row for row in _table(headers, rows)]


def _documents_text(statement: Statement, f: _Fmt) -> list[str]:
    if not statement.documents:
        return ["  none: nothing to correct"]
    rows = [
        [
            doc.number,
            doc.title,
            doc.period,
            doc.corrects or "(no invoice number)",
            f.money(doc.signed_total),
        ]
        for doc in statement.documents
    ]
    rows.append(["", "", "", "Net", f.money(statement.totals.total)])
    headers = ["Number", "Kind", "Period", "Corrects", "Amount"]
    return ["  " + row for row in _table(headers, rows, 4)]


def render_comparison_text(comparison: ScenarioComparison, locale: str = "en_US") -> str:
    """Scenario totals side by side: one column per scenario."""
    first = comparison.statements[0]
    f = _Fmt(first.currency, locale)
    headers = ["", *comparison.names]
    rows = [
        ["Usage", *(f.number(s.totals.usage) for s in comparison.statements)],
        ["Overuse", *(f.number(s.totals.overuse) for s in comparison.statements)],
        ["Should have been billed", *(f.money(s.totals.rebilled) for s in comparison.statements)],
        ["Was billed", *(f.money(s.totals.billed) for s in comparison.statements)],
        ["Under-billed (net)", *(f.money(s.totals.delta) for s in comparison.statements)],
        ["Interest", *(f.money(s.totals.interest) for s in comparison.statements)],
        ["Total owed", *(f.money(s.totals.total) for s in comparison.statements)],
    ]
    out = [f"SCENARIOS (valued on {f.day(first.as_of)}, in {first.currency})"]
    out += ["  " + row for row in _table(headers, rows)]
    notes = [
        f"  {s.scenario}: {s.description or s.interest_policy}" for s in comparison.statements
    ]
    return "\n".join([*out, *notes]) + "\n"


def render(
    statement: Statement,
    fmt: Format = "text",
    *,
    locale: str = "en_US",
    comparison: ScenarioComparison | None = None,
) -> str:
    """The statement in ``fmt``; a ``comparison`` of scenarios is appended to text and HTML.

    JSON output is ``{"statement": ..., "scenarios": [...]}`` when a comparison is given.
    CSV holds the periods only.
    """
    if fmt == "text":
        text = render_text(statement, locale)
        if comparison is not None and len(comparison.statements) > 1:
            text += "\n" + render_comparison_text(comparison, locale)
        return text
    if fmt == "html":
        from meterlib.backbill.render_html import statement_document  # noqa: PLC0415

        return statement_document(statement, locale, comparison)
    if fmt == "json":
        data: dict[str, Any] = statement_to_dict(statement)
        if comparison is not None:
            data = {"statement": data, "scenarios": comparison_to_dict(comparison)}
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return statement_to_csv(statement)
    raise InvalidValueError("format", fmt, f"one of {', '.join(FORMATS)}")
