"""``meterlib audit TERMS --ledger PATH --from DATE --to DATE``: usage against a limit, breaches.

TERMS is a TOML file naming the customer, the meters, the limit and the dated prices (format
in docs/credits.md). The audit covers the limit's periods that start in ``[--from, --to)``;
``--group-by PROPERTY`` splits every period by a property (application, product, purpose).
``--format`` text, json, csv or html. ``--statement`` prints, instead, the back-billing
statement the audit's breaches give (as JSON), with ``--as-of`` and ``--due-days``.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from meterlib.commands.ingest import ledger_path
from meterlib.errors import InvalidValueError

ORDER = 45


def register(subparsers: Any) -> None:
    """Add the ``audit`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "audit",
        help="audit a customer's usage against a contract's limit, with every breach",
        description=(
            "For each period and each dimension value: usage against the limit, the first "
            "moment the limit was breached, each breach's size and its value at the prices "
            "then in force; totals."
        ),
    )
    parser.add_argument("terms", metavar="CONTRACT", help="audit terms (TOML)")
    parser.add_argument("--ledger", metavar="PATH", help="ledger file")
    parser.add_argument("--from", dest="start", required=True, metavar="DATE")
    parser.add_argument("--to", dest="end", required=True, metavar="DATE")
    parser.add_argument("--group-by", metavar="PROPERTY")
    parser.add_argument("--format", choices=["text", "json", "csv", "html"], default="text")
    parser.add_argument(
        "--locale", default="en_US", help="CLDR locale of text and HTML (default: en_US)"
    )
    parser.add_argument(
        "--statement",
        action="store_true",
        help="print the back-billing statement of the breaches instead",
    )
    parser.add_argument("--as-of", metavar="DATE", help="statement date (default: --to)")
    parser.add_argument("--due-days", type=int, default=30)
    parser.add_argument(
        "--interest", metavar="RATE", help="statement: simple annual interest, actual/365"
    )
    parser.add_argument("--lookback-years", type=int, help="statement: the lookback")
    parser.add_argument("--title", default="Back-billing statement", help="statement title")
    parser.add_argument(
        "--neutralize-formulas", action=argparse.BooleanOptionalAction, default=True
    )
    parser.set_defaults(handler=run)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(option, text, "a date YYYY-MM-DD") from None


def run(args: argparse.Namespace) -> int:
    """Run the audit and print it."""
    from meterlib.backbill import audit as audits  # noqa: PLC0415  (on use: fast --help)
    from meterlib.ledger import Ledger  # noqa: PLC0415
    from meterlib.ledger.credits import usage_index  # noqa: PLC0415

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    terms = audits.load_audit_terms(args.terms)
    path = ledger_path(args.ledger)
    if not path.is_file():
        raise InvalidValueError("--ledger", str(path), "an existing ledger")
    with Ledger(path) as ledger:
        index = usage_index(ledger, terms.meters, customer=terms.customer, group_by=args.group_by)
    tz = terms.limit.cycle.timezone
    result = audits.audit(
        index,
        terms.customer,
        terms.limit,
        datetime.combine(start, datetime.min.time(), UTC).astimezone(_zone(tz)),
        datetime.combine(end, datetime.min.time(), UTC).astimezone(_zone(tz)),
        basis=terms.basis,
        group_by=args.group_by,
    )
    if args.statement:
        if terms.basis is None:
            raise InvalidValueError("prices", None, "dated prices in the terms for a statement")
        from meterlib.render.documents import render_statement  # noqa: PLC0415

        as_of = _day(args.as_of, "--as-of") if args.as_of else end
        from meterlib.backbill import InterestPolicy  # noqa: PLC0415

        statement = audits.rebill_audit(
            result,
            terms.basis,
            as_of=as_of,
            due_days=args.due_days,
            interest=None if args.interest is None else InterestPolicy.simple(args.interest),
            lookback_years=args.lookback_years,
            title=args.title,
        )
        text = render_statement(
            statement,
            args.format,
            locale=args.locale,
            neutralize_formulas=args.neutralize_formulas,
        )
        print(text, end="")
        return 0
    if args.format == "json":
        print(json.dumps(audits.audit_to_dict(result), indent=2))
    else:
        from meterlib.render import audit as render  # noqa: PLC0415

        if args.format == "csv":
            print(render.audit_csv(result, neutralize_formulas=args.neutralize_formulas), end="")
        elif args.format == "html":
            print(render.audit_html(result, args.locale), end="")
        else:
            print(render.audit_text(result, args.locale), end="")
    return 0


def _zone(name: str) -> Any:
    from meterlib.periods import zone  # noqa: PLC0415

    return zone(name, "timezone")
