"""MkDocs hook: the JSON Schemas of meterlib's document kinds, generated at build time.

A page that holds the line ``<!-- meterlib-schemas -->`` gets one section per kind that
``meterlib schema KIND`` knows (``meterlib.schemas.KINDS``), so a new kind appears on
the site without editing a page.
"""

from __future__ import annotations

import json
from typing import Any

from meterlib.schemas import KINDS, json_schema

MARKER = "<!-- meterlib-schemas -->"


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Replace the marker with a section per document kind."""
    if MARKER not in markdown:
        return markdown
    sections = []
    for kind in sorted(KINDS):
        schema = json.dumps(json_schema(kind), indent=2, sort_keys=True)
        sections.append(
            f"### `{kind}`\n\n`meterlib schema {kind}` prints:\n\n```json\n{schema}\n```\n"
        )
    return markdown.replace(MARKER, "\n".join(sections))
