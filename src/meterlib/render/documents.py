"""Pick a rendering of an invoice or a statement by format name, as the command line does."""

from __future__ import annotations

from typing import Literal

from babel import Locale

from meterlib.backbill.serialize import statement_to_json
from meterlib.backbill.statement import ScenarioComparison, Statement
from meterlib.errors import InvalidValueError
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.serialize import invoice_to_json
from meterlib.render.csv import invoice_csv, statement_csv
from meterlib.render.html import invoice_document, statement_document
from meterlib.render.text import comparison_text, invoice_text, statement_text

__all__ = ["FORMATS", "Format", "render_invoice", "render_statement"]

#: The output formats of documents.
Format = Literal["text", "html", "json", "csv"]
FORMATS: tuple[Format, ...] = ("text", "html", "json", "csv")  # as meterlib.render.FORMATS


def _unknown(fmt: str) -> InvalidValueError:
    return InvalidValueError("format", fmt, f"one of {', '.join(FORMATS)}")


def render_invoice(
    invoice: Invoice,
    fmt: str,
    locale: str | Locale = "en_US",
    *,
    neutralize_formulas: bool = True,
) -> str:
    """``invoice`` as ``fmt`` (one of :data:`FORMATS`) for ``locale``.

    ``neutralize_formulas`` applies to CSV (see :mod:`meterlib.render.csv`).
    """
    if fmt == "text":
        return invoice_text(invoice, locale)
    if fmt == "html":
        return invoice_document(invoice, locale)
    if fmt == "json":
        return invoice_to_json(invoice) + "\n"
    if fmt == "csv":
        return invoice_csv(invoice, locale, neutralize_formulas=neutralize_formulas)
    raise _unknown(fmt)


def render_statement(
    statement: Statement,
    fmt: str = "text",
    *,
    locale: str | Locale = "en_US",
    comparison: ScenarioComparison | None = None,
    neutralize_formulas: bool = True,
) -> str:
    """The statement in ``fmt``; a ``comparison`` of scenarios is added to text, HTML, JSON.

    JSON is ``{"statement": ..., "scenarios": [...]}`` when a comparison is given; CSV holds
    the periods only, formula cells neutralized unless ``neutralize_formulas`` is false.
    """
    if fmt == "text":
        text = statement_text(statement, locale)
        if comparison is not None and len(comparison.statements) > 1:
            text += "\n" + comparison_text(comparison, locale)
        return text
    if fmt == "html":
        return statement_document(statement, locale, comparison)
    if fmt == "json":
        return statement_to_json(statement, comparison)
    if fmt == "csv":
        return statement_csv(statement, neutralize_formulas=neutralize_formulas)
    raise _unknown(fmt)
