"""The usage audit as HTML: a standalone, printable report and a fragment for Jupyter.

One row per period (and, when grouped, one per dimension value above it) with its usage, the
limit, the share of the limit used, the usage above it, the first moment it was breached and
the breach's value at the prices then in force; then the totals. Labels through the gettext
catalogs, figures through Babel, every text escaped, under the shared scoped stylesheet.
"""

from __future__ import annotations

from babel import Locale

from meterlib.backbill.audit import Audit
from meterlib.render.audit_labels import AuditRow, audit_facts, audit_rows, audit_title
from meterlib.render.format import Formatter
from meterlib.render.html.page import bdi, document, e, fragment

__all__ = ["audit_document", "audit_fragment"]


def _formatter(result: Audit, locale: str | Locale) -> Formatter:
    return Formatter(result.currency or "XXX", locale)


def _row(row: AuditRow, *, grouped: bool) -> str:
    cls = f' class="{row.kind}"' if row.kind != "period" else ""
    over = ' class="over"' if row.breached and row.kind != "total" else ""
    group = f'<td class="s">{bdi(row.group)}</td>' if grouped else ""
    first = (
        f'<td><time datetime="{e(row.first_iso)}">{e(row.first)}</time></td>'
        if row.first_iso
        else "<td></td>"
    )
    return (
        f'<tr{cls}><th class="s" scope="row">{e(row.period)}</th>{group}'
        f"<td>{e(row.usage)}</td><td>{e(row.limit)}</td><td>{e(row.share)}</td>"
        f"<td{over}>{e(row.above)}</td>{first}<td>{e(row.value)}</td>"
        f'<td class="s">{bdi(row.version)}</td></tr>'
    )


def _table(result: Audit, f: Formatter) -> str:
    _ = f.gettext
    names = [
        _("Usage"), _("Limit"), _("Share of the limit"), _("Above the limit"),
        _("First breach"), _("Value"),
    ]
    head = (
        '<tr><th class="s" scope="col">' + e(_("Period")) + "</th>"
        '<th class="s" scope="col">' + e(result.group_by or _("Group")) + "</th>"
        + "".join(f'<th scope="col">{e(n)}</th>' for n in names)
        + '<th class="s" scope="col">' + e(_("Price version")) + "</th></tr>"
    )
    rows = "".join(_row(row, grouped=result.group_by is not None) for row in audit_rows(result, f))
    return (
        f'<div class="scroll"><table class="grid audit"><thead>{head}</thead>'
        f"<tbody>{rows}</tbody></table></div>"
    )


def _facts(result: Audit, f: Formatter) -> str:
    return '<dl class="facts">' + "".join(
        f"<dt>{e(k)}</dt><dd>{bdi(v)}</dd>" for k, v in audit_facts(result, f)
    ) + "</dl>"


def audit_fragment(result: Audit, locale: str | Locale = "en_US") -> str:
    """The audit for Jupyter (``Audit._repr_html_``): its terms, then the period table."""
    f = _formatter(result, locale)
    return fragment(
        f'<div class="what">{e(audit_title(result, f))}</div>{_facts(result, f)}'
        f"{_table(result, f)}",
        f,
    )


def audit_document(result: Audit, locale: str | Locale = "en_US") -> str:
    """The audit as a standalone, printable HTML page."""
    f = _formatter(result, locale)
    _ = f.gettext
    foot = _(
        "The first breach is the moment of the event that took a period's usage above the"
        " limit. Every unit above the limit counts for the group of the event that used it, so"
        " the groups' figures add up to the period's. Values are at the prices in force in"
        " each period."
    )
    heading, periods = _("Usage audit"), _("Periods")
    body = (
        f'<header class="head"><div><h1>{e(heading)}</h1>'
        f'<div class="muted">{bdi(result.customer)} · {bdi(result.limit.meter)}</div></div>'
        "</header>"
        f"{_facts(result, f)}<h2>{e(periods)}</h2>{_table(result, f)}"
        f'<div class="foot">{e(foot)}</div>'
    )
    return document(audit_title(result, f), body, f)
