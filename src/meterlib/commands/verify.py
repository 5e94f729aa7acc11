"""``meterlib verify --ledger PATH``: check a ledger's integrity, counts and rejected-lines log.

Reads the ledger read-only (see :func:`meterlib.ledger.verify.verify_ledger`) and prints the
figures and every problem found. Exit status: 0 when everything holds, 1 when only the
rejected-lines log has problems (a record twice, a line that is not a record), 3 when the
ledger itself is damaged, foreign or its counts disagree.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from meterlib.commands.ingest import ledger_path
from meterlib.ledger.verify import verify_ledger

ORDER = 37

_EXIT_DATA = 1
_EXIT_STORAGE = 3


def register(subparsers: Any) -> None:
    """Add the ``verify`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "verify",
        help="check a ledger: SQLite integrity, batch and event counts, the rejected-lines log",
        description=(
            "Check the ledger read-only: SQLite's integrity check, that every batch's count of "
            "stored events matches the events table, that refused versions name stored events, "
            "and that the rejected-lines log holds each rejection once."
        ),
    )
    parser.add_argument(
        "--ledger",
        metavar="PATH",
        help="ledger file (default: $METERLIB_LEDGER, else ./meterlib-ledger.sqlite)",
    )
    parser.add_argument(
        "--log", metavar="PATH", help="rejected-lines log (default: <ledger>.rejected.jsonl)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Verify and print; 0 all good, 1 log problems only, 3 ledger problems."""
    check = verify_ledger(ledger_path(args.ledger), log=args.log)
    print(check.summary(), end="")
    if check.problems:
        print(f"meterlib verify: {len(check.problems)} problem(s) in the ledger", file=sys.stderr)
        return _EXIT_STORAGE
    if check.log_problems:
        return _EXIT_DATA
    return 0
