"""``meterlib backbill CASE.toml``: re-bill past periods and print what is owed, with interest."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from meterlib.backbill.case import load_case
from meterlib.backbill.render import FORMATS, render
from meterlib.errors import InvalidValueError

ORDER = 10


def register(subparsers: Any) -> None:
    """Add the ``backbill`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "backbill",
        help="re-bill past periods of overuse and state what is owed, with interest",
        description=(
            "Re-bill every past period of CASE (a TOML case file: terms, what was billed, usage "
            "estimates, interest, lookback) and print the statement: per period the usage, the "
            "re-billed amount and its breakdown, the delta and the interest; the totals; the "
            "debit and credit notes that settle it; and the scenarios side by side."
        ),
    )
    parser.add_argument("case", metavar="CASE.toml", help="back-billing case file (TOML)")
    parser.add_argument(
        "--as-of",
        metavar="DATE",
        help="valuation date YYYY-MM-DD (default: the case's as_of)",
    )
    parser.add_argument(
        "--scenario",
        metavar="NAME",
        help="usage scenario to state in full (default: the case's default scenario)",
    )
    parser.add_argument(
        "--basis",
        metavar="NAME",
        help="rebill basis to use instead of the case's (one of its [bases.*])",
    )
    parser.add_argument(
        "--rates",
        metavar="R1,R2",
        help="compare the scenarios at these annual interest rates, e.g. 0.05,0.09",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--locale", default="en_US", help="locale for text and HTML (default: en_US)"
    )
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let the document name files outside its own folder (only for documents you trust)",
    )
    parser.set_defaults(handler=run)


def _as_of(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError("--as-of", text, "a date written YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    """Load the case, compute the statement and the scenarios, print or write them."""
    case = load_case(args.case, allow_outside=args.allow_outside_files)
    as_of = _as_of(args.as_of)
    statement = case.statement(args.scenario, as_of=as_of, basis=args.basis)
    rates = None if args.rates is None else tuple(r for r in args.rates.split(",") if r)
    comparison = case.compare(as_of=as_of, basis=args.basis, rates=rates)
    text = render(statement, args.format, locale=args.locale, comparison=comparison)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {statement}")
    else:
        print(text, end="")
    return 0
