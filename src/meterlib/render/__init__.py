"""Every human-facing form of meterlib's results, in one place.

Renderers depend on the domain, never the reverse: a domain value's only link here is its
``_repr_html_`` hook, which imports its renderer lazily.

- :mod:`~meterlib.render.format`: money, numbers, percentages and dates through Babel with an
  explicit locale; :class:`~meterlib.render.format.Formatter` binds one document's locale,
  currency, label catalog and writing direction.
- :mod:`~meterlib.render.i18n`: the gettext catalogs of the labels (de, fr, es, ja, ar).
- :mod:`~meterlib.render.text`: plain-text tables for terminals.
- :mod:`~meterlib.render.csv`: CSV exports, formula cells neutralized by default.
- :mod:`~meterlib.render.html`: standalone documents and Jupyter fragments, one scoped
  stylesheet.
- :mod:`~meterlib.render.charts`: SVG charts as objects that display themselves.

:func:`render_invoice` and :func:`render_statement` (:mod:`~meterlib.render.documents`) pick a
format by name, as the command line does. JSON is for programs, exact and locale-free
(:mod:`meterlib.invoicing.serialize`, :mod:`meterlib.backbill.serialize`).

The two functions are imported on first use (PEP 562), so ``meterlib.format_money`` or
``meterlib --help`` do not load every renderer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meterlib.render.documents import render_invoice, render_statement

__all__ = ["FORMATS", "render_invoice", "render_statement"]

#: The output formats of documents (see :mod:`meterlib.render.documents`).
FORMATS: tuple[str, ...] = ("text", "html", "json", "csv")


def __getattr__(name: str) -> Any:
    """Import ``render_invoice`` and ``render_statement`` when first used."""
    if name in {"render_invoice", "render_statement"}:
        return getattr(import_module("meterlib.render.documents"), name)
    raise AttributeError(f"module 'meterlib.render' has no attribute {name!r}")
