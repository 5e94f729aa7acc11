"""The one stylesheet of every HTML rendering, scoped to the fragment that carries it.

Every rule targets selectors under the fragment's root class (``.ml-3f9c1a2b0e``), a class made
from a digest of the fragment's content, so a notebook showing two invoices and a statement
renders each as it renders alone: no rule reaches the notebook or another fragment. Standalone
documents add page rules (``@page`` margins, the page background) that only make sense there.

Colours meet WCAG 2.1 AA: every text colour has a contrast of at least 4.5:1 on the background
it is drawn on (checked with axe-core in headless Chromium by ``tests/test_browser.py``).
Layout uses logical properties (``start``/``end``), so right-to-left documents mirror.
Wide tables scroll inside their own box on a narrow screen and shrink to the page width when
printed; table headers repeat on every printed page.
"""

from __future__ import annotations

import hashlib

__all__ = ["ACCENT", "MUTED", "TEXT", "document_css", "root_class", "scoped_css"]

TEXT = "#1d2430"
MUTED = "#4f596a"  # 7.0:1 on white, 6.4:1 on the header grey
ACCENT = "#1b3a6b"
_GREEN = "#17663a"  # 6.6:1 on white
# (text, background) of the status badges and notices: 6.1:1 to 9.6:1
_DRAFT = ("#6b4500", "#fff4d6")  # 7.7:1
_ISSUED = (ACCENT, "#e6eefa")  # 9.6:1
_PAID = (_GREEN, "#e3f3e8")  # 6.1:1
_VOID = ("#8a1c1c", "#f9e3e3")  # 7.6:1 (also: usage above a limit, 8.4:1 on white)

# (selectors relative to the root, declarations). "&" is the root itself.
_RULES: tuple[tuple[str, str], ...] = (
    ("&", (f"color:{TEXT};background:#fff;font:14px/1.45 -apple-system,'Segoe UI',Roboto,"
          "'Helvetica Neue',Arial,'Noto Sans','Noto Sans Arabic','Noto Sans CJK JP',sans-serif;"
          "text-align:start;max-width:100%")),
    ("&, & *", "box-sizing:border-box"),
    ("& h1", f"margin:0 0 4px;font-size:24px;letter-spacing:.04em;color:{ACCENT};font-weight:600"),
    ("& h2", (f"font-size:15px;margin:24px 0 8px;color:{ACCENT};border-bottom:1px solid #d5dbe5;"
             "padding-bottom:3px")),
    ("& .head", ("display:flex;flex-wrap:wrap;justify-content:space-between;align-items:flex-start;"
                f"gap:16px 32px;border-bottom:3px solid {ACCENT};padding-bottom:14px")),
    ("& .name", f"font-weight:700;font-size:18px;color:{ACCENT}"),
    ("& .muted, & .detail, & .label", f"color:{MUTED}"),
    ("& .detail", "font-size:12px"),
    ("& .label", "font-size:11px;text-transform:uppercase;letter-spacing:.06em"),
    ("& .big", "font-size:26px;font-weight:700"),
    ("& .end", "text-align:end"),
    ("& .parties", "display:flex;flex-wrap:wrap;gap:16px 48px;margin:20px 0"),
    ("& dl.terms", ("display:grid;grid-template-columns:minmax(90px,max-content) 1fr;"
                   "gap:3px 14px;margin:14px 0 0")),
    ("& dl.terms dt", f"color:{MUTED}"),
    ("& dl.terms dd", "margin:0"),
    ("& .scroll", "max-width:100%;overflow-x:auto"),
    ("& table", "border-collapse:collapse;font-variant-numeric:tabular-nums"),
    ("& table.grid", "width:100%"),
    ("& thead", "display:table-header-group"),
    ("& tr", "break-inside:avoid"),
    ("& th, & td", ("padding:4px 7px;border-bottom:1px solid #e1e5ec;vertical-align:top;"
                   "text-align:end")),
    ("& th", f"background:#eef2f7;font-weight:600;font-size:12px;color:{TEXT}"),
    ("& td", "white-space:nowrap"),
    ("& .s", "text-align:start"),
    ("& td.wrap", "white-space:normal;text-align:start;min-width:12em"),
    ("& tr.total td, & tr.total th", (f"font-weight:700;border-top:2px solid {TEXT};"
                                      "border-bottom:none")),
    ("& tr.barred td", f"color:{MUTED};font-style:italic;background:#f7f8fa"),
    ("& .credit, & .discount", f"color:{_GREEN}"),
    ("& .discount", "font-size:12px"),
    ("& .what", "font-weight:600"),
    ("& table.tiers", f"margin-top:4px;font-size:12px;color:{MUTED}"),
    ("& table.tiers td", "border:0;padding:1px 12px 1px 0;white-space:normal"),
    ("& table.summary td", "font-size:14px"),
    ("& table.summary tr.total td, & table.totals tr.total td", f"font-size:16px;color:{ACCENT}"),
    ("& table.totals", "margin-inline-start:auto;margin-top:14px"),
    ("& .tag", (f"display:inline-block;font-size:10px;padding:1px 5px;border-radius:3px;"
               f"background:#e6e9ef;color:{TEXT};font-style:normal")),
    ("& table.doc td", "border:none;padding:0 12px 0 0;font-size:12px;white-space:normal"),
    ("& ul.notes li", "margin:2px 0"),
    ("& table.meta th, & table.account th", "background:none;font-weight:400;font-size:inherit"),
    ("& table.account", "min-width:16em"),
    ("& table.account tr.total th", (f"font-weight:700;color:{ACCENT};border-top:2px solid {TEXT};"
                                     "border-bottom:none")),
    ("& .status", ("display:inline-block;padding:1px 7px;border-radius:3px;font-size:12px;"
                   "font-weight:600;white-space:nowrap")),
    ("& .st-draft", f"background:{_DRAFT[1]};color:{_DRAFT[0]}"),
    ("& .st-issued", f"background:{_ISSUED[1]};color:{_ISSUED[0]}"),
    ("& .st-paid", f"background:{_PAID[1]};color:{_PAID[0]}"),
    ("& .st-void", f"background:{_VOID[1]};color:{_VOID[0]}"),
    ("& p.notice", ("margin:14px 0;padding:8px 12px;border-inline-start:4px solid currentColor;"
                    "border-radius:3px;font-weight:600")),
    ("& dl.facts", ("display:grid;grid-template-columns:minmax(90px,max-content) 1fr;"
                    "gap:3px 14px;margin:14px 0 18px")),
    ("& dl.facts dt", f"color:{MUTED}"),
    ("& dl.facts dd", "margin:0;overflow-wrap:anywhere"),
    ("& .bar", "font-variant-numeric:tabular-nums"),
    ("& td.over", f"color:{_VOID[0]};font-weight:600"),
    ("& tr.group th, & tr.group td", f"color:{MUTED};font-weight:400;font-size:12px"),
    ("& tr.group td.over", f"color:{_VOID[0]}"),
    ("& .foot", (f"margin-top:26px;padding-top:10px;border-top:1px solid #d5dbe5;font-size:12px;"
                f"color:{MUTED}")),
    ("& svg", "max-width:100%;height:auto"),
)

_MEDIA: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("screen and (max-width:600px)", (("& .big", "font-size:20px"),)),
    ("print", (("& .scroll", "overflow:visible"),
               ("& table", "font-size:8pt"),
               ("& td", "white-space:normal"),
               ("& th, & td", "padding:2px 3px;overflow-wrap:anywhere"),
               ("& h2", "break-after:avoid"))),
)

_PAGE = (
    "@page{size:A4;margin:16mm 14mm 18mm}\n"
    "html{background:#eef0f3}\n"
    "body{margin:0}\n"
    ".page-pad{max-width:1040px;margin:24px auto;padding:36px 44px;background:#fff;"
    "box-shadow:0 2px 12px rgba(20,30,50,.12)}\n"
    "@media print{html{background:#fff}.page-pad{box-shadow:none;margin:0;max-width:none;"
    "padding:0}}\n"
    "@media screen and (max-width:600px){.page-pad{margin:0;padding:16px}}\n"
)


def root_class(body: str) -> str:
    """The fragment's own root class: ``ml-`` and a digest of its content."""
    return "ml-" + hashlib.sha256(body.encode("utf-8")).hexdigest()[:10]


def _scope(selectors: str, root: str) -> str:
    return ",".join(part.strip().replace("&", f".{root}") for part in selectors.split(","))


def scoped_css(root: str) -> str:
    """Every rule of the stylesheet, each selector under ``.root``."""
    out = [f"{_scope(sel, root)}{{{decl}}}" for sel, decl in _RULES]
    for query, rules in _MEDIA:
        inner = "".join(f"{_scope(sel, root)}{{{decl}}}" for sel, decl in rules)
        out.append(f"@media {query}{{{inner}}}")
    return "\n".join(out)


def document_css(root: str) -> str:
    """The stylesheet of a standalone page: the page rules, then the scoped rules."""
    return _PAGE + scoped_css(root)
