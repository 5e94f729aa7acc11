"""Jupyter fragments for the results that are not documents: usage tables, charges, reports.

Each is a small table under its own scoped stylesheet (:mod:`meterlib.render.html.page`), with
figures through Babel for the locale asked (``en_US`` when Jupyter calls ``_repr_html_``).
"""

from __future__ import annotations

from babel import Locale

from meterlib.metering.report import BatchReport
from meterlib.metering.table import UsageTable, group_label
from meterlib.pricing import Charge
from meterlib.render.format import Formatter
from meterlib.render.html.page import bdi, e, fragment
from meterlib.render.labels import charge_line_label

__all__ = ["batch_report_fragment", "charge_fragment", "usage_table_fragment"]

#: Rows a usage table shows before it says how many more there are.
MAX_ROWS = 200


def _table(head: list[str], rows: list[str], caption: str) -> str:
    heads = "".join(
        f'<th class="s" scope="col">{e(h)}</th>' if i < len(head) - 1
        else f'<th scope="col">{e(h)}</th>'
        for i, h in enumerate(head)
    )
    return (
        f'<div class="what">{e(caption)}</div><div class="scroll"><table class="grid">'
        f"<thead><tr>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def usage_table_fragment(table: UsageTable, locale: str | Locale = "en_US") -> str:
    """The usage table: one row per cell (the first :data:`MAX_ROWS`), value last."""
    f = Formatter("XXX", locale)
    _ = f.gettext
    cells = table.rows()
    rows = [
        f'<tr><td class="s">{bdi(key.customer)}</td><td class="s">{bdi(key.meter)}</td>'
        f'<td class="s">{bdi(key.period.label())}</td>'
        f'<td class="s">{bdi(group_label(key.group))}</td><td>{e(f.number(value))}</td></tr>'
        for key, value in cells[:MAX_ROWS]
    ]
    if len(cells) > MAX_ROWS:
        more = _("… and {count} more rows").format(count=f.number(len(cells) - MAX_ROWS))
        rows.append(f'<tr><td class="s muted" colspan="5">{e(more)}</td></tr>')
    caption = _("Usage table: {count} cells").format(count=f.number(len(cells)))
    head = [_("Customer"), _("Meter"), _("Period"), _("Group"), _("Value")]
    return fragment(_table(head, rows, caption), f)


def charge_fragment(charge: Charge, locale: str | Locale = "en_US") -> str:
    """A charge row by row: what each line priced and how, the adjustment and the amount."""
    f = Formatter(charge.currency, locale)
    _ = f.gettext
    rows = []
    for line in charge.lines:
        how = f"{f.number(line.quantity)} × {f.unit_price(line.unit_amount)}"
        if line.flat_amount:
            how += f" + {f.unit_price(line.flat_amount)}"
        rows.append(
            f'<tr><td class="s">{bdi(charge_line_label(line, f))}</td><td class="s">{e(how)}</td>'
            f"<td>{e(f.unit_price(line.amount))}</td></tr>"
        )
    if charge.adjustment:
        reason = charge.adjustment_reason or _("adjustment")
        rows.append(
            f'<tr><td class="s">{bdi(reason)}</td><td></td>'
            f"<td>{e(f.unit_price(charge.adjustment))}</td></tr>"
        )
    rows.append(
        '<tr class="total"><td class="s">' + e(_("Amount")) + '</td>'
        '<td class="s">' + e(_("rounded {amount}").format(amount=f.money(charge.rounded())))
        + "</td>"
        f"<td>{e(f.unit_price(charge.amount))}</td></tr>"
    )
    caption = _("{model} price, quantity {quantity}").format(
        model=charge.model, quantity=f.number(charge.quantity)
    )
    return fragment(_table([_("Line"), _("How"), _("Amount")], rows, caption), f)


def batch_report_fragment(report: BatchReport, locale: str | Locale = "en_US") -> str:
    """The counts of a batch, then each conflict and rejection with its reason."""
    f = Formatter("XXX", locale)
    _ = f.gettext
    counts = [
        (_("received"), report.received),
        (_("accepted"), report.accepted),
        (_("duplicates"), report.duplicates),
        (_("conflicts"), report.conflict_count),
        (_("outside"), report.outside),
        (_("rejected"), report.rejected_count),
        (_("unmetered (of accepted)"), report.unmetered),
    ]
    rows = [f'<tr><td class="s">{e(k)}</td><td>{e(f.number(v))}</td></tr>' for k, v in counts]
    body = _table([_("Events"), _("Count")], rows, _("Batch report"))
    problems = [
        f'<tr><td class="s">{e(f.number(r.index))}</td><td class="s">{bdi(r.event_id or "")}</td>'
        f'<td class="wrap">{e(r.reason)}</td></tr>'
        for r in report.rejected[:MAX_ROWS]
    ]
    problems += [
        f'<tr><td class="s"></td><td class="s">{bdi(c.event_id)}</td>'
        f'<td class="wrap">' + e(_("conflicts with an earlier version; the first one counts")) + ''
        "</td></tr>"
        for c in report.conflicts[:MAX_ROWS]
    ]
    if problems:
        body += _table([_("Index"), _("Event id"), _("Reason")], problems, _("Problems"))
    return fragment(body, f)
