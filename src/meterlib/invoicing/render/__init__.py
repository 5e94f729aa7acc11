"""Rendering invoices for people and programs: text, HTML, JSON and CSV.

Every renderer takes an explicit locale (``"en_US"``, ``"de_DE"``, ...): dates, quantities and
money are localized through Babel (:mod:`meterlib.display`); nothing reads the machine's locale.
JSON is the exception: it is for programs, exact and locale-free
(:mod:`meterlib.invoicing.serialize`), and round-trips into an equal invoice.
"""

from __future__ import annotations

from typing import Literal

from meterlib.errors import InvalidValueError
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.render.html import render_html, render_html_table
from meterlib.invoicing.render.table import render_csv, render_text
from meterlib.invoicing.serialize import invoice_to_json

__all__ = ["FORMATS", "Format", "render", "render_csv", "render_html", "render_html_table",
           "render_text"]

#: The output formats :func:`render` knows.
Format = Literal["text", "html", "json", "csv"]
FORMATS: tuple[Format, ...] = ("text", "html", "json", "csv")


def render(invoice: Invoice, fmt: str, locale: str = "en_US") -> str:
    """Render ``invoice`` as ``fmt`` (one of :data:`FORMATS`) for ``locale``."""
    if fmt == "text":
        return render_text(invoice, locale)
    if fmt == "html":
        return render_html(invoice, locale)
    if fmt == "json":
        return invoice_to_json(invoice) + "\n"
    if fmt == "csv":
        return render_csv(invoice, locale)
    raise InvalidValueError("format", fmt, f"one of {', '.join(FORMATS)}")
