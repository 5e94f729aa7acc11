"""The usage audit as text, CSV and HTML.

Text and HTML are for people, in the locale asked (labels through the gettext catalogs,
figures and the share of the limit through Babel; :mod:`meterlib.render.audit_labels`). CSV is
exact and locale-free. The JSON form is :func:`meterlib.backbill.audit.audit_to_dict`; in
Jupyter an :class:`~meterlib.backbill.audit.Audit` shows itself
(:func:`meterlib.render.html.audit.audit_fragment`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from babel import Locale

from meterlib.backbill.audit import Audit
from meterlib.render.audit_labels import audit_facts, audit_rows, audit_title
from meterlib.render.csv import Cell, csv_cell
from meterlib.render.format import Formatter
from meterlib.render.html.audit import audit_document

__all__ = ["AUDIT_FIELDS", "audit_csv", "audit_html", "audit_text"]

#: The audit CSV header: one row per period and dimension value, then one ``total`` row per
#: period (``group`` empty) and a final ``total`` row over every period.
AUDIT_FIELDS = (
    "customer",
    "meter",
    "period_start",
    "period_end",
    "row",
    "group",
    "usage",
    "limit",
    "above_limit",
    "first_breach",
    "value",
    "price_version",
)


def _rows(result: Audit) -> list[Sequence[Cell]]:
    rows: list[Sequence[Cell]] = []
    base = (result.customer, result.limit.meter)
    for p in result.periods:
        start, end = p.period.start.isoformat(), p.period.end.isoformat()
        if result.group_by is not None:
            rows.extend(
                (
                    *base,
                    start,
                    end,
                    "group",
                    g.value,
                    g.usage,
                    None,
                    g.above,
                    None if g.first_above is None else g.first_above.isoformat(),
                    None,
                    None,
                )
                for g in p.groups
            )
        breach_at = None if p.first_breach is None else p.first_breach.isoformat()
        rows.append(
            (
                *base,
                start,
                end,
                "period",
                None,
                p.usage,
                p.limit,
                p.breach,
                breach_at,
                p.value,
                p.version,
            )
        )
    rows.append(
        (
            *base,
            None,
            None,
            "total",
            None,
            result.usage,
            None,
            result.breach,
            None,
            result.value,
            None,
        )
    )
    return rows


def audit_csv(result: Audit, *, neutralize_formulas: bool = True) -> str:
    """The audit as CSV (:data:`AUDIT_FIELDS`), exact figures, formula cells neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AUDIT_FIELDS)
    for row in _rows(result):
        writer.writerow([csv_cell(c, neutralize_formulas=neutralize_formulas) for c in row])
    return buffer.getvalue()


def audit_text(result: Audit, locale: str | Locale = "en_US") -> str:
    """The audit as an aligned plain-text table with totals, for ``locale``."""
    f = Formatter(result.currency or "XXX", locale)
    _ = f.gettext
    header: tuple[str, ...] = (
        _("Period"), _("Group"), _("Usage"), _("Limit"), _("Share of the limit"),
        _("Above the limit"), _("First breach"), _("Value"),
    )
    body: list[tuple[str, ...]] = [
        (
            row.period.upper() if row.kind == "total" else row.period,
            row.group, row.usage, row.limit, row.share, row.above, row.first, row.value,
        )
        for row in audit_rows(result, f)
    ]
    if result.group_by is None:  # no group column
        header = header[:1] + header[2:]
        body = [r[:1] + r[2:] for r in body]
    left = 2 if result.group_by is not None else 1
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    out = [audit_title(result, f), ""]
    out += [f"{label}: {value}" for label, value in audit_facts(result, f)]
    out.append("")
    out.extend(
        "  ".join(
            c.rjust(w) if i >= left else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in (header, *body)
    )
    return "\n".join(out) + "\n"


def audit_html(result: Audit, locale: str | Locale = "en_US") -> str:
    """The audit as a standalone, printable HTML page (:mod:`meterlib.render.html.audit`)."""
    return audit_document(result, locale)
