"""``meterlib backbill CASE.toml``: re-bill past periods and print what is owed, with interest.

With ``--ledger PATH`` the billed periods that name an invoice issued into that ledger take
its recorded payments for the interest; ``--issue`` also issues the statement's debit and credit
notes into the ledger, in its own note series (gapless with every other note), each pointing at
the invoice it corrects, or at its period when the billed entry names no invoice (``--customer``
then says whose); the statement printed shows the issued numbers.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

from meterlib.backbill.case import load_case
from meterlib.errors import InvalidValueError
from meterlib.ledger.backbilling import issue_statement, with_recorded_payments
from meterlib.ledger.documents import DocumentStore
from meterlib.render import FORMATS

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
        "--neutralize-formulas",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "CSV: write text cells that begin with = + - @ tab or CR with a leading ' so a "
            "spreadsheet shows them as text (default: on; numbers are never changed)"
        ),
    )
    parser.add_argument(
        "--ledger",
        metavar="PATH",
        help="a ledger with issued invoices: billed periods naming one of them (and stating "
        "no payments) take its recorded payments for interest",
    )
    parser.add_argument(
        "--issue",
        action="store_true",
        help="with --ledger: issue the statement's debit and credit notes into the ledger, "
        "numbered in its credit- and debit-note series; the statement shows those numbers",
    )
    parser.add_argument(
        "--customer",
        metavar="ID",
        help="with --issue: the ledger's customer id the notes over periods that name no "
        "invoice are issued to (default: the case's customer)",
    )
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
    if args.issue and args.ledger is None:
        raise InvalidValueError("--issue", "--issue", "given with --ledger (documents live there)")
    if args.ledger is not None:
        with DocumentStore(args.ledger) as store:
            case, count = with_recorded_payments(case, store)
        print(f"payments of {count} billed periods read from {args.ledger}", file=sys.stderr)
    statement = case.statement(args.scenario, as_of=as_of, basis=args.basis)
    if args.issue:
        with DocumentStore(args.ledger) as store:
            issued = issue_statement(store, statement, customer=args.customer)
        statement = issued.statement  # with the numbers the notes were issued with
        numbers = ", ".join(issued.numbers) or "none"
        print(f"issued into {args.ledger}: {numbers}", file=sys.stderr)
    rates = None if args.rates is None else tuple(r for r in args.rates.split(",") if r)
    comparison = case.compare(as_of=as_of, basis=args.basis, rates=rates)
    from meterlib.render.documents import render_statement  # noqa: PLC0415  (on use: fast --help)

    text = render_statement(
        statement,
        args.format,
        locale=args.locale,
        comparison=comparison,
        neutralize_formulas=args.neutralize_formulas,
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {statement}")
    else:
        print(text, end="")
    return 0
