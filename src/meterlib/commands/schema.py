"""``meterlib schema price``: print the JSON Schema of a document kind."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from meterlib.pricing import price_json_schema

ORDER = 90

#: Document kinds whose schema can be printed.
SCHEMAS: dict[str, Callable[[], dict[str, Any]]] = {"price": price_json_schema}


def register(subparsers: Any) -> None:
    """Add the ``schema`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of a document kind",
        description="Print the JSON Schema of a meterlib document kind, for editors and CI.",
    )
    parser.add_argument("kind", choices=sorted(SCHEMAS), help="the document kind")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema."""
    print(json.dumps(SCHEMAS[args.kind](), indent=2, sort_keys=True))
    return 0
