"""The back-billing statement as HTML: a document finance can send, and tables for Jupyter.

:func:`statement_document` is a standalone, printable page (A4/Letter friendly, no scripts, no
outside resources): a header with the parties and the valuation date, the amount owed, the
assumptions in words, the usage chart, the period table, how each period was re-billed and the
adjustment documents. :func:`statement_fragment` and :func:`comparison_fragment` are the
tables Jupyter shows for a statement and a scenario comparison. Figures are formatted through
:mod:`meterlib.display` with an explicit locale; every text is HTML-escaped.
"""

from __future__ import annotations

from html import escape

from meterlib.backbill.render import _Fmt, breakdown_text
from meterlib.backbill.statement import ScenarioComparison, Statement

__all__ = ["comparison_fragment", "statement_document", "statement_fragment"]

_CSS = """
* { box-sizing: border-box; }
body { font-family: "Helvetica Neue", Helvetica, Arial, sans-serif; color: #1d2330;
       margin: 0; background: #f3f4f6; font-size: 13px; line-height: 1.45; }
.page { max-width: 1040px; margin: 24px auto; background: #fff; padding: 36px 44px;
        box-shadow: 0 1px 4px rgba(0,0,0,.12); }
header { display: flex; justify-content: space-between; align-items: flex-start;
         border-bottom: 3px solid #1f4e79; padding-bottom: 14px; }
h1 { font-size: 22px; margin: 0 0 4px; color: #1f4e79; }
h2 { font-size: 15px; margin: 26px 0 8px; color: #1f4e79; border-bottom: 1px solid #d5dbe5;
     padding-bottom: 3px; }
.muted { color: #5b6475; }
.owed { text-align: right; }
.owed .label { font-size: 11px; text-transform: uppercase; letter-spacing: .06em;
               color: #5b6475; }
.owed .amount { font-size: 26px; font-weight: bold; color: #1d2330; }
dl.terms { display: grid; grid-template-columns: 150px 1fr; gap: 3px 14px; margin: 14px 0 0; }
dl.terms dt { color: #5b6475; }
dl.terms dd { margin: 0; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 7px; border-bottom: 1px solid #e6e9ef; vertical-align: top; }
th { background: #eef2f7; text-align: right; font-weight: 600; font-size: 12px; }
th.l, td.l { text-align: left; }
td { text-align: right; white-space: nowrap; }
td.wrap { white-space: normal; text-align: left; }
tr.total td { font-weight: bold; border-top: 2px solid #1d2330; border-bottom: none; }
tr.barred td { color: #9aa1ad; font-style: italic; }
.credit { color: #1c7c3c; }
table.summary { width: auto; min-width: 420px; }
table.summary td { font-size: 14px; }
table.summary td.l { padding-right: 40px; }
table.summary tr.total td { font-size: 16px; }
.tag { display: inline-block; font-size: 10px; padding: 1px 5px; border-radius: 3px;
       background: #e6e9ef; color: #5b6475; font-style: normal; }
.chart { margin: 8px 0 0; }
table.doc td { border: none; padding: 0 0 0 12px; color: #3b4352; font-size: 12px; }
table.doc td.wrap { padding-left: 0; }
.notes li { margin: 2px 0; }
footer { margin-top: 28px; font-size: 11px; color: #5b6475; border-top: 1px solid #d5dbe5;
         padding-top: 8px; }
@media print { body { background: #fff; } .page { box-shadow: none; margin: 0;
               max-width: none; padding: 0; } }
"""


def _e(value: object) -> str:
    return escape(str(value))


def _summary(statement: Statement, f: _Fmt) -> str:
    t = statement.totals
    rows = [
        ("Should have been billed", f.money(t.rebilled), ""),
        ("Was billed", f.money(t.billed), ""),
        ("Under-billed (net)" if t.delta >= 0 else "Over-billed (net)", f.money(t.delta), ""),
        (f"Interest to {f.day(statement.as_of)}", f.money(t.interest), ""),
        ("Total owed" if t.total >= 0 else "Total to refund", f.money(t.total), "total"),
    ]
    body = "".join(
        f'<tr class="{cls}"><td class="l">{_e(k)}</td><td>{_e(v)}</td></tr>' for k, v, cls in rows
    )
    return f'<table class="summary">{body}</table>'


def _terms(statement: Statement, f: _Fmt) -> str:
    items = [
        ("Scenario", statement.scenario + (f": {statement.description}" if statement.description
                                           else "")),
        ("Re-billed at", f"the {statement.basis} prices in force in each period"),
        (
            "Interest",
            (
                f"{statement.interest_policy}, on unpaid amounts from each due date"
                f" ({statement.due_days} days after the period ends) to {f.day(statement.as_of)}"
            ),
        ),
        (
            "Lookback",
            f"{statement.lookback_years} years: periods due before {f.day(statement.cutoff)}"
            " are time-barred, listed and not claimed"
            if statement.cutoff is not None
            else "none: every period is claimed",
        ),
        (
            "Periods",
            f"{statement.totals.periods} claimed, {statement.totals.barred} time-barred"
            + (f", {statement.totals.not_yet_due} not yet due"
               if statement.totals.not_yet_due else ""),
        ),
    ]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return f'<dl class="terms">{body}</dl>'


def _periods(statement: Statement, f: _Fmt) -> str:
    head = (
        '<tr><th class="l">Period</th><th>Usage</th><th>Allowance</th><th>Overuse</th>'
        "<th>Re-billed</th><th>Billed</th><th>Delta</th><th>Due</th><th>Days late</th>"
        "<th>Interest</th><th>Owed</th></tr>"
    )
    rows = []
    for line in statement.lines:
        cls = "barred" if line.barred or line.not_yet_due else ""
        tag = ' <span class="tag">time-barred</span>' if line.barred else ""
        if line.not_yet_due:
            tag = ' <span class="tag">not yet due</span>'

        delta_cls = ' class="credit"' if line.delta < 0 else ""
        rows.append(
            f'<tr class="{cls}"><td class="l">{_e(line.label)}{tag}</td>'
            f"<td>{_e(f.number(line.usage))}</td><td>{_e(f.number(line.allowance))}</td>"
            f"<td>{_e(f.number(line.overuse))}</td><td>{_e(f.money(line.rebilled))}</td>"
            f"<td>{_e(f.money(line.billed))}</td><td{delta_cls}>{_e(f.money(line.delta))}</td>"
            f"<td>{_e(f.day(line.due))}</td><td>{line.days_late}</td>"
            f"<td>{_e(f.money(line.interest))}</td><td>{_e(f.money(line.owed))}</td></tr>",
        )
    t = statement.totals
    rows.append(
        f'<tr class="total"><td class="l">Total claimed</td><td>{_e(f.number(t.usage))}</td>'
        f"<td></td><td>{_e(f.number(t.overuse))}</td><td>{_e(f.money(t.rebilled))}</td>"
        f"<td>{_e(f.money(t.billed))}</td><td>{_e(f.money(t.delta))}</td><td></td><td></td>"
        f"<td>{_e(f.money(t.interest))}</td><td>{_e(f.money(t.total))}</td></tr>",
    )
    return f"<table>{head}{''.join(rows)}</table>"


def _breakdown(statement: Statement, f: _Fmt) -> str:
    head = (
        '<tr><th class="l">Period</th><th class="l">Price version</th>'
        '<th class="l">Calculation</th><th>Re-billed</th></tr>'
    )
    rows = "".join(
        f'<tr><td class="l">{_e(line.label)}</td><td class="l">{_e(line.version)}</td>'
        f'<td class="wrap">{_e(breakdown_text(line, f))}</td>'
        f"<td>{_e(f.money(line.rebilled))}</td></tr>"
        for line in statement.lines
    )
    return f"<table>{head}{rows}</table>"


def _documents(statement: Statement, f: _Fmt) -> str:
    if not statement.documents:
        return '<p class="muted">None: nothing to correct.</p>'
    head = (
        '<tr><th class="l">Number</th><th class="l">Kind</th><th class="l">Corrects</th>'
        '<th class="l">Lines</th><th>Amount</th></tr>'
    )
    rows = []
    for doc in statement.documents:
        lines = '<table class="doc">' + "".join(
            f'<tr><td class="wrap">{_e(x.description)}</td><td>{_e(f.money(x.amount))}</td></tr>'
            for x in doc.lines
        ) + "</table>"
        cls = ' class="credit"' if doc.kind == "credit_note" else ""
        rows.append(
            f'<tr><td class="l">{_e(doc.number)}</td><td class="l">{_e(doc.title)}</td>'
            f'<td class="l">{_e(doc.corrects or "(no invoice number)")}</td>'
            f'<td class="l">{lines}</td><td{cls}>{_e(f.money(doc.signed_total))}</td></tr>',
        )
    rows.append(
        f'<tr class="total"><td class="l" colspan="4">Net of all documents</td>'
        f"<td>{_e(f.money(statement.totals.total))}</td></tr>",
    )
    return f"<table>{head}{''.join(rows)}</table>"


def comparison_fragment(comparison: ScenarioComparison, locale: str = "en_US") -> str:
    """Scenario totals side by side, as an HTML table."""
    first = comparison.statements[0]
    f = _Fmt(first.currency, locale)
    s = comparison.statements
    head = '<tr><th class="l"></th>' + "".join(f"<th>{_e(n)}</th>" for n in comparison.names)
    rows = [
        ("Usage", [f.number(x.totals.usage) for x in s]),
        ("Overuse", [f.number(x.totals.overuse) for x in s]),
        ("Should have been billed", [f.money(x.totals.rebilled) for x in s]),
        ("Was billed", [f.money(x.totals.billed) for x in s]),
        ("Under-billed (net)", [f.money(x.totals.delta) for x in s]),
        ("Interest", [f.money(x.totals.interest) for x in s]),
        ("Total owed", [f.money(x.totals.total) for x in s]),
    ]
    body = "".join(
        f'<tr><td class="l">{_e(k)}</td>' + "".join(f"<td>{_e(v)}</td>" for v in vs) + "</tr>"
        for k, vs in rows
    )
    return f"<table>{head}</tr>{body}</table>"


def statement_fragment(statement: Statement, locale: str = "en_US") -> str:
    """The statement's summary and period table, for Jupyter (``_repr_html_``)."""
    f = _Fmt(statement.currency, locale)
    return (
        f"<div><strong>{_e(statement.title)}</strong> - scenario {_e(statement.scenario)},"
        f" valued on {_e(f.day(statement.as_of))}: total owed"
        f" <strong>{_e(f.money(statement.totals.total))}</strong>"
        f"{_summary(statement, f)}{_periods(statement, f)}</div>"
    )


def statement_document(
    statement: Statement, locale: str = "en_US", comparison: ScenarioComparison | None = None
) -> str:
    """The statement as a standalone, printable HTML page."""
    f = _Fmt(statement.currency, locale)
    t = statement.totals
    customer = (
        f'<div class="muted">Customer: <strong>{_e(statement.customer)}</strong></div>'
        if statement.customer
        else ""
    )
    scenarios = ""
    if comparison is not None and len(comparison.statements) > 1:
        scenarios = (
            "<h2>Scenarios</h2><p class='muted'>The same terms applied to each usage"
            f" estimate.</p>{comparison_fragment(comparison, locale)}"
        )
    notes = ""
    if statement.problems:
        items = "".join(f"<li>{_e(p)}</li>" for p in statement.problems)
        notes = f'<h2>Notes</h2><ul class="notes">{items}</ul>'
    owed_label = "Total owed" if t.total >= 0 else "Total to refund"
    return f"""<!DOCTYPE html>
<html lang="{_e(f.locale.language)}">
<head>
<meta charset="utf-8">
<title>{_e(statement.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<div class="page">
<header>
<div>
<h1>{_e(statement.title)}</h1>
{customer}
<div class="muted">Valued on {_e(f.day(statement.as_of))} &middot; amounts in \
{_e(statement.currency)}</div>
</div>
<div class="owed"><div class="label">{owed_label}</div>
<div class="amount">{_e(f.money(t.total))}</div>
<div class="muted">{_e(f.money(t.delta))} re-billed + {_e(f.money(t.interest))} interest</div>
</div>
</header>
{_terms(statement, f)}
<h2>Summary</h2>
{_summary(statement, f)}
<h2>Usage against the allowance</h2>
<div class="chart">{statement.usage_chart_svg(width=950, height=280)}</div>
<h2>Periods</h2>
<p class="muted">Usage in {_e(statement.unit)}. Delta = re-billed &minus; billed; interest runs \
on the unpaid part from the due date to the valuation date and is rounded once per period.</p>
{_periods(statement, f)}
<h2>How each period was re-billed</h2>
{_breakdown(statement, f)}
<h2>Adjustment documents</h2>
<p class="muted">The original invoices stay as issued; each document below corrects the invoice \
it names.</p>
{_documents(statement, f)}
{scenarios}
{notes}
<footer>Every amount is computed with exact decimals and rounded to the currency's minor units \
half-up: re-billed amounts once per period, interest once per period.</footer>
</div>
</body>
</html>
"""
