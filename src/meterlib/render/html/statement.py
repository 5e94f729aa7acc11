"""The back-billing statement as HTML: a document finance can send, and fragments for Jupyter.

:func:`statement_document` is a standalone, printable page (A4/Letter, no scripts, no outside
resources): a header with the parties and the valuation date, the amount owed, the assumptions
in words, the usage and liability charts, the period table, how each period was re-billed and
the adjustment documents. :func:`statement_fragment` and :func:`comparison_fragment` are what
Jupyter shows for a statement and a scenario comparison. Figures go through Babel with an
explicit locale, labels through the gettext catalogs; every text is HTML-escaped.
"""

from __future__ import annotations

from babel import Locale

from meterlib.backbill.statement import ScenarioComparison, Statement
from meterlib.render.charts import LiabilityChart, ScenarioChart, UsageChart
from meterlib.render.format import Formatter
from meterlib.render.html.page import bdi, document, e, fragment
from meterlib.render.labels import breakdown_text, document_line_text, document_title
from meterlib.render.text import comparison_rows, interest_text, lookback_text, summary_rows

__all__ = ["comparison_fragment", "statement_document", "statement_fragment"]


def _grid(head: str, rows: str) -> str:
    return (
        f'<div class="scroll"><table class="grid"><thead>{head}</thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _summary(statement: Statement, f: Formatter) -> str:
    body = "".join(
        f'<tr class="{cls}"><td class="s">{e(k)}</td><td>{e(v)}</td></tr>'
        for k, v, cls in summary_rows(statement, f)
    )
    return f'<div class="scroll"><table class="summary">{body}</table></div>'


def _terms(statement: Statement, f: Formatter) -> str:
    _ = f.gettext
    scenario = statement.scenario
    if statement.description:
        scenario += f": {statement.description}"
    items = [
        (_("Scenario"), scenario),
        (
            _("Re-billed at"),
            _("the {basis} prices in force in each period").format(basis=statement.basis),
        ),
        (_("Interest"), interest_text(statement, f)),
        (_("Lookback"), lookback_text(statement, f)),
        (
            _("Periods"),
            _("{claimed} claimed, {barred} time-barred").format(
                claimed=f.number(statement.totals.periods),
                barred=f.number(statement.totals.barred),
            )
            + (
                "; "
                + _("{count} periods not yet due on the valuation date: listed, not claimed")
                .format(count=f.number(statement.totals.not_yet_due))
                if statement.totals.not_yet_due
                else ""
            ),
        ),
    ]
    body = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items)
    return f'<dl class="terms">{body}</dl>'


def _periods(statement: Statement, f: Formatter) -> str:
    _ = f.gettext
    names = [
        _("Usage"), _("Allowance"), _("Overuse"), _("Re-billed"), _("Billed"), _("Delta"),
        _("Due"), _("Days late"), _("Interest"), _("Owed"),
    ]
    head = (
        '<tr><th class="s" scope="col">' + e(_("Period")) + '</th>'
        + "".join(f'<th scope="col">{e(n)}</th>' for n in names)
        + "</tr>"
    )
    rows = []
    for line in statement.lines:
        cls = "barred" if line.barred or line.not_yet_due else ""
        tag = ' <span class="tag">' + e(_("time-barred")) + '</span>' if line.barred else ""
        if line.not_yet_due:
            tag = ' <span class="tag">' + e(_("not yet due")) + "</span>"
        delta_cls = ' class="credit"' if line.delta < 0 else ""
        rows.append(
            f'<tr class="{cls}"><th class="s" scope="row">{bdi(line.label)}{tag}</th>'
            f"<td>{e(f.number(line.usage))}</td><td>{e(f.number(line.allowance))}</td>"
            f"<td>{e(f.number(line.overuse))}</td><td>{e(f.money(line.rebilled))}</td>"
            f"<td>{e(f.money(line.billed))}</td><td{delta_cls}>{e(f.money(line.delta))}</td>"
            f"<td>{e(f.day(line.due))}</td><td>{e(f.number(line.days_late))}</td>"
            f"<td>{e(f.money(line.interest))}</td><td>{e(f.money(line.owed))}</td></tr>",
        )
    t = statement.totals
    rows.append(
        '<tr class="total"><th class="s" scope="row">' + e(_("Total claimed")) + f'</th>'
        f"<td>{e(f.number(t.usage))}</td>"
        f"<td></td><td>{e(f.number(t.overuse))}</td><td>{e(f.money(t.rebilled))}</td>"
        f"<td>{e(f.money(t.billed))}</td><td>{e(f.money(t.delta))}</td><td></td><td></td>"
        f"<td>{e(f.money(t.interest))}</td><td>{e(f.money(t.total))}</td></tr>",
    )
    return _grid(head, "".join(rows))


def _breakdown(statement: Statement, f: Formatter) -> str:
    _ = f.gettext
    head = (
        '<tr><th class="s" scope="col">' + e(_("Period")) + '</th>'
        '<th class="s" scope="col">' + e(_("Price version")) + '</th>'
        '<th class="s" scope="col">' + e(_("Calculation")) + '</th>'
        '<th scope="col">' + e(_("Re-billed")) + '</th></tr>'
    )
    rows = "".join(
        f'<tr><td class="s">{bdi(line.label)}</td><td class="s wrap">{bdi(line.version)}</td>'
        f'<td class="wrap">{e(breakdown_text(line, f))}</td>'
        f"<td>{e(f.money(line.rebilled))}</td></tr>"
        for line in statement.lines
    )
    return _grid(head, rows)


def _documents(statement: Statement, f: Formatter) -> str:
    _ = f.gettext
    if not statement.documents:
        return '<p class="muted">' + e(_("None: nothing to correct.")) + '</p>'
    head = (
        '<tr><th class="s" scope="col">' + e(_("Number")) + '</th>'
        '<th class="s" scope="col">' + e(_("Kind")) + '</th>'
        '<th class="s" scope="col">' + e(_("Corrects")) + '</th>'
        '<th class="s" scope="col">' + e(_("Lines")) + '</th>'
        '<th scope="col">' + e(_("Amount")) + '</th></tr>'
    )
    rows = []
    for doc in statement.documents:
        lines = '<table class="doc">' + "".join(
            f'<tr><td class="wrap">{e(document_line_text(doc, i, statement, f))}</td>'
            f"<td>{e(f.money(x.amount))}</td></tr>"
            for i, x in enumerate(doc.lines)
        ) + "</table>"
        cls = ' class="credit"' if doc.kind == "credit_note" else ""
        rows.append(
            f'<tr><td class="s">{bdi(doc.number)}</td><td class="s">{e(document_title(doc, f))}'
             '</td><td class="s">' + bdi(doc.corrects or _("(no invoice number)")) + "</td>"
            f'<td class="s wrap">{lines}</td><td{cls}>{e(f.money(doc.signed_total))}</td></tr>',
        )
    rows.append(
        '<tr class="total"><td class="s" colspan="4">' + e(_("Net of all documents")) + f'</td>'
        f"<td>{e(f.money(statement.totals.total))}</td></tr>",
    )
    return _grid(head, "".join(rows))


def _comparison_table(comparison: ScenarioComparison, f: Formatter) -> str:
    head = '<tr><td class="s"></td>' + "".join(
        f'<th scope="col">{bdi(n)}</th>' for n in comparison.names
    ) + "</tr>"
    body = "".join(
        f'<tr><th class="s" scope="row">{e(row[0])}</th>'
        + "".join(f"<td>{e(v)}</td>" for v in row[1:])
        + "</tr>"
        for row in comparison_rows(comparison, f)
    )
    return _grid(head, body)


def comparison_fragment(comparison: ScenarioComparison, locale: str | Locale = "en_US") -> str:
    """Scenario totals side by side, as an HTML fragment under its own stylesheet."""
    f = Formatter(comparison.statements[0].currency, locale)
    return fragment(_comparison_table(comparison, f), f)


def statement_fragment(statement: Statement, locale: str | Locale = "en_US") -> str:
    """The statement's summary and period table, for Jupyter (``_repr_html_``)."""
    f = Formatter(statement.currency, locale)
    _ = f.gettext
    head = _("{title}: scenario {scenario}, valued on {date}").format(
        title=statement.title, scenario=statement.scenario, date=f.day(statement.as_of)
    )
    return fragment(
        f'<div class="what">{e(head)}</div>{_summary(statement, f)}{_periods(statement, f)}', f
    )


def statement_document(
    statement: Statement,
    locale: str | Locale = "en_US",
    comparison: ScenarioComparison | None = None,
) -> str:
    """The statement as a standalone, printable HTML page."""
    f = Formatter(statement.currency, locale)
    _ = f.gettext
    t = statement.totals
    customer = (
        '<div class="muted">' + e(_("Customer"))
        + f": <strong>{bdi(statement.customer)}</strong></div>"
        if statement.customer
        else ""
    )
    scenarios = ""
    if comparison is not None and len(comparison.statements) > 1:
        scenarios = (
            "<h2>" + e(_("Scenarios")) + "</h2><p class='muted'>"
            "" + e(_("The same terms applied to each usage estimate.")) + f"</p>"
            f"{_comparison_table(comparison, f)}"
            f'<div class="chart">{ScenarioChart(comparison, width=950, locale=str(f.locale)).svg()}'
            "</div>"
        )
    notes = ""
    if statement.problems:
        items = "".join(f"<li>{e(p)}</li>" for p in statement.problems)
        notes = '<h2>' + e(_("Notes")) + f'</h2><ul class="notes">{items}</ul>'
    owed_label = _("Total owed") if t.total >= 0 else _("Total to refund")
    split = _("{delta} re-billed + {interest} interest").format(
        delta=f.money(t.delta), interest=f.money(t.interest)
    )
    valued = _("Valued on {date} · amounts in {currency}").format(
        date=f.day(statement.as_of), currency=statement.currency
    )
    usage_note = _(
        "Usage in {unit}. Delta = re-billed − billed; interest runs on the unpaid part from the"
        " due date to the valuation date and is rounded once per period."
    ).format(unit=statement.unit)
    docs_note = _(
        "The original invoices stay as issued; each document below corrects the invoice it names."
    )
    foot = _(
        "Every amount is computed with exact decimals and rounded to the currency's minor units"
        " half-up: re-billed amounts once per period, interest once per period."
    )
    usage_chart = UsageChart(statement, width=950, height=280, locale=str(f.locale)).svg()
    liability_chart = LiabilityChart(statement, width=950, height=260, locale=str(f.locale)).svg()
    label = {
        "summary": _("Summary"),
        "usage": _("Usage against the allowance"),
        "periods": _("Periods"),
        "liability": _("Liability over time"),
        "how": _("How each period was re-billed"),
        "documents": _("Adjustment documents"),
    }
    body = f"""<header class="head">
<div><h1>{bdi(statement.title)}</h1>{customer}<div class="muted">{e(valued)}</div></div>
<div class="end"><div class="label">{e(owed_label)}</div>
<div class="big">{e(f.money(t.total))}</div><div class="muted">{e(split)}</div></div>
</header>
{_terms(statement, f)}
<h2>{e(label["summary"])}</h2>
{_summary(statement, f)}
<h2>{e(label["usage"])}</h2>
<div class="chart">{usage_chart}</div>
<h2>{e(label["periods"])}</h2>
<p class="muted">{e(usage_note)}</p>
{_periods(statement, f)}
<h2>{e(label["liability"])}</h2>
<div class="chart">{liability_chart}</div>
<h2>{e(label["how"])}</h2>
{_breakdown(statement, f)}
<h2>{e(label["documents"])}</h2>
<p class="muted">{e(docs_note)}</p>
{_documents(statement, f)}
{scenarios}
{notes}
<footer class="foot">{e(foot)}</footer>"""
    return document(statement.title, body, f)
