"""``meterlib credit-note NUMBER --reason TEXT``: credit an issued invoice, fully or partly.

Without ``--amount`` or ``--line`` the whole of what the invoice (with its notes) still comes
to is credited, line by line and tax by tax; ``--line INDEX=AMOUNT`` (repeatable, lines
counted from 1 as printed) credits lines; ``--amount A`` credits a sum. The note is numbered
in the credit-note series and stored in the ledger file (``--ledger``); what was overpaid as a
result goes to the customer's credit balance.
"""

from __future__ import annotations

import argparse
from typing import Any

from meterlib.commands.ingest import ledger_path
from meterlib.errors import InvalidValueError
from meterlib.invoicing.notes import credit_lines
from meterlib.ledger.documents import DocumentStore
from meterlib.render.issued import DOCUMENT_FORMATS, render_note

ORDER = 42


def register(subparsers: Any) -> None:
    """Add the ``credit-note`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "credit-note",
        help="issue a credit note on an issued invoice (full, by line or by amount)",
        description="Issue a credit note correcting issued invoice NUMBER.",
    )
    parser.add_argument("number", metavar="NUMBER")
    parser.add_argument("--reason", required=True)
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--amount", help="credit this sum")
    how.add_argument("--line", action="append", metavar="INDEX=AMOUNT",
                     help="credit AMOUNT of line INDEX (from 1), repeatable")
    parser.add_argument(
        "--ledger", metavar="PATH",
        help="ledger file (default: $METERLIB_LEDGER, else ./meterlib-ledger.sqlite)",
    )
    parser.add_argument("--format", choices=DOCUMENT_FORMATS, default="text")
    parser.add_argument("--locale", default="en_US", help="CLDR locale (default: en_US)")
    parser.set_defaults(handler=run)


def _lines(given: list[str]) -> dict[int, str]:
    chosen = {}
    for text in given:
        index, sep, amount = text.partition("=")
        if not sep or not index.strip().isdigit() or int(index) < 1:
            raise InvalidValueError("--line", text, "INDEX=AMOUNT with INDEX from 1")
        chosen[int(index) - 1] = amount.strip()
    return chosen


def run(args: argparse.Namespace) -> int:
    """Build the lines, issue the note, print it."""
    with DocumentStore(ledger_path(args.ledger)) as store:
        issued = store.invoice(args.number)
        lines = credit_lines(
            issued,
            store.notes_of(args.number),
            lines=None if args.line is None else _lines(args.line),
            amount=args.amount,
        )
        note = store.issue_note(args.number, lines, cause="credit", reason=args.reason)
        print(render_note(store.note(note.number), note.body, args.format, args.locale), end="")
    return 0
