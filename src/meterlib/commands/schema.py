"""``meterlib schema KIND``: print the JSON Schema of a document kind (:mod:`meterlib.schemas`)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from meterlib.schemas import KINDS, json_schema

ORDER = 90


def register(subparsers: Any) -> None:
    """Add the ``schema`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of a document kind",
        description="Print the JSON Schema (draft 2020-12) of a meterlib document kind, for"
        " editors and CI: price, meters, contract, case (back-billing) or event (one line of"
        " an events file).",
    )
    parser.add_argument("kind", choices=sorted(KINDS), help="the document kind")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the schema."""
    print(json.dumps(json_schema(args.kind), indent=2, sort_keys=True))
    return 0
