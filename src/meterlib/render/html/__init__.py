"""HTML renderings: standalone documents to send or print, and fragments for Jupyter.

One stylesheet (:mod:`~meterlib.render.html.style`) serves all of them, scoped to each
fragment's own root class.
"""

from __future__ import annotations

from meterlib.render.html.invoice import invoice_document, invoice_fragment
from meterlib.render.html.results import (
    batch_report_fragment,
    charge_fragment,
    usage_table_fragment,
)
from meterlib.render.html.statement import (
    comparison_fragment,
    statement_document,
    statement_fragment,
)

__all__ = [
    "batch_report_fragment",
    "charge_fragment",
    "comparison_fragment",
    "invoice_document",
    "invoice_fragment",
    "statement_document",
    "statement_fragment",
    "usage_table_fragment",
]
