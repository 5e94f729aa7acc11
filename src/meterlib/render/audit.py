"""The usage audit as text, CSV and HTML.

The JSON form is :func:`meterlib.backbill.audit.audit_to_dict`.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from meterlib.backbill.audit import Audit
from meterlib.render.csv import Cell, csv_cell

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


def _text(cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        return cell
    return format(cell, "f") if not isinstance(cell, bool) else str(cell)


def audit_csv(result: Audit, *, neutralize_formulas: bool = True) -> str:
    """The audit as CSV (:data:`AUDIT_FIELDS`), exact figures, formula cells neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(AUDIT_FIELDS)
    for row in _rows(result):
        writer.writerow([csv_cell(c, neutralize_formulas=neutralize_formulas) for c in row])
    return buffer.getvalue()


def audit_text(result: Audit) -> str:
    """The audit as an aligned plain-text table with totals."""
    header = ("period", "group", "usage", "limit", "above limit", "first breach", "value")
    body: list[tuple[str, ...]] = []
    for row in _rows(result):
        _c, _m, start, _end, kind, group, usage, limit, above, first, value, _v = row
        label = "TOTAL" if kind == "total" else str(start)[:10]
        cells = (label, group or ("" if kind == "group" else "(all)"), usage, limit, above)
        body.append(tuple(_text(c) for c in (*cells, first, value)))
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]
    title = (
        f"Usage audit: {result.customer}, {result.limit.meter}, "
        f"{result.limit.kind.value} limit {result.limit.amount} per period"
        + (f", by {result.group_by}" if result.group_by else "")
        + (f", values in {result.currency}" if result.currency else "")
    )
    out = [title, ""]
    out.extend(
        "  ".join(
            c.rjust(w) if i >= 2 else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ).rstrip()
        for r in (header, *body)
    )
    return "\n".join(out) + "\n"


def audit_html(result: Audit) -> str:
    """The audit as a standalone HTML document (a table; text escaped)."""
    cells = []
    for row in _rows(result):
        tds = "".join(f"<td>{html.escape(_text(c))}</td>" for c in row)
        cells.append(f"<tr>{tds}</tr>")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in AUDIT_FIELDS)
    title = html.escape(f"Usage audit: {result.customer}, {result.limit.meter}")
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f"<body><h1>{title}</h1><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(cells)}</tbody></table></body></html>\n"
    )
