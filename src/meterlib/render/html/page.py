"""The frame every HTML rendering shares: a scoped fragment, or a standalone page around one.

A fragment is ``<div class="ml-root ml-…" lang=… dir=…><style>…</style>…</div>``: its CSS
(:mod:`meterlib.render.html.style`) reaches nothing outside it. A document is a complete page
with the same fragment as its body, plus page rules for printing.
"""

from __future__ import annotations

from html import escape

from meterlib.render.format import Formatter
from meterlib.render.html.style import document_css, root_class, scoped_css

__all__ = ["bdi", "document", "e", "fragment"]


def e(value: object) -> str:
    """``value`` as escaped HTML text."""
    return escape(str(value))


def bdi(value: object) -> str:
    """Text from outside (a name, an id, a label) isolated for bidirectional layout."""
    text = str(value)
    return f"<bdi>{escape(text)}</bdi>" if text else ""


def _attrs(fmt: Formatter, root: str, extra: str) -> str:
    return (
        f'class="ml-root {root}{extra}" lang="{e(fmt.language)}" dir="{fmt.direction}"'
    )


def fragment(body: str, fmt: Formatter) -> str:
    """``body`` with its scoped stylesheet, for Jupyter and for embedding in other pages."""
    root = root_class(body)
    return f"<div {_attrs(fmt, root, '')}><style>{scoped_css(root)}</style>{body}</div>"


def document(title: str, body: str, fmt: Formatter) -> str:
    """A complete, self-contained HTML page (no script, no outside resource)."""
    root = root_class(body)
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{e(fmt.language)}" dir="{fmt.direction}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{document_css(root)}</style></head>"
        f'<body><main {_attrs(fmt, root, " page-pad")}>{body}</main></body></html>\n'
    )
