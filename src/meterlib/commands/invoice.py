"""``meterlib invoice CONTRACT --period 2023-03``: bill one period of a contract.

Usage comes from one of:

- ``--ledger PATH``: an event ledger, aggregated with the contract's meters;
- ``--events FILE``: raw usage events as JSON Lines, aggregated in memory with the contract's
  meters (:class:`~meterlib.metering.accumulator.Accumulator`) over the parts of the period
  each plan covered; where every event went (accepted, duplicate, conflict, outside the
  period, unmetered, rejected with its reason) is reported on standard error;
- ``--usage FILE``: aggregated usage records (JSON or CSV, as ``UsageTable.render`` writes
  them);
- ``--source FILE``: event files (Parquet, CSV, JSON Lines, a glob, or the SQLite ledger)
  read by DuckDB; several CONTRACT documents may be given, and every one is billed from one
  usage query (:func:`meterlib.sql.invoices.invoices_from_source`, the ``duckdb`` extra).
  The invoices are written one after another; where every event went is reported on
  standard error.

``--ledger`` and ``--events`` need the meters: the contract document names them, inline
(``[[meters]]``) or through ``meters_file`` (see :mod:`meterlib.invoicing.documents`).

The invoice is written as a text table, an HTML page, exact JSON or CSV lines, localized for
``--locale``, to standard output or ``--output FILE``.

``--period`` is ``YYYY-MM`` (the billing period that starts in that month, in the billing time
zone) or ``YYYY-MM-DD`` (the billing period holding that day).
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Contract
from meterlib.invoicing.documents import load_contract
from meterlib.invoicing.engine import invoice
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.usage import LedgerUsage, TableUsage, UsageSource
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.readers import line_text, read_jsonl
from meterlib.periods import Period
from meterlib.render import FORMATS

ORDER = 40

_MONTH = re.compile(r"(\d{4})-(\d{2})")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def register(subparsers: Any) -> None:
    """Add the ``invoice`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "invoice",
        help="bill one period of a contract and render the invoice",
        description=(
            "Bill one billing period of the contract in CONTRACT (TOML or JSON) with usage "
            "from an event ledger or a usage records file, and print the invoice."
        ),
    )
    parser.add_argument(
        "contract",
        metavar="CONTRACT",
        nargs="+",
        help="contract document (TOML or JSON); several with --source",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--ledger", metavar="PATH", help="event ledger (read with the contract's meters)"
    )
    source.add_argument("--events", metavar="FILE", help="usage events, one JSON object a line")
    source.add_argument("--usage", metavar="FILE", help="aggregated usage records (JSON or CSV)")
    source.add_argument(
        "--source",
        metavar="FILE",
        help="event files read by DuckDB (Parquet, CSV, JSON Lines, glob); many contracts",
    )
    parser.add_argument(
        "--period",
        required=True,
        help="YYYY-MM (the period starting in that month) or YYYY-MM-DD (the period holding it)",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--locale", default="en_US", help="CLDR locale (default: en_US)")
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    parser.add_argument(
        "--neutralize-formulas",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "CSV: write text cells that begin with = + - @ tab or CR with a leading ' so a "
            "spreadsheet shows them as text (default: on; numbers are never changed)"
        ),
    )
    parser.add_argument("--number", help="the invoice number (default: CUSTOMER-YYYYMMDD)")
    parser.add_argument(
        "--issue",
        action="store_true",
        help="issue the invoice: number it in the invoice series and store it in the ledger "
        "(needs --ledger); without it the invoice is a draft",
    )
    parser.add_argument(
        "--at", metavar="TIME", help="issue time, ISO 8601 with offset (default: now)"
    )
    parser.add_argument(
        "--with-corrections",
        action="store_true",
        help="with --issue: re-check the customer's issued periods for late usage and bill "
        "the differences as correction lines on this invoice (Kill Bill's way)",
    )
    parser.add_argument(
        "--allow-outside-files",
        action="store_true",
        help="let the document name files outside its own folder (only for documents you trust)",
    )
    parser.set_defaults(handler=run)


def parse_period(contract: Contract, text: str) -> Period:
    """The billing period ``--period`` names (see the module docstring)."""
    if _DAY.fullmatch(text):
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidValueError("--period", text, "a real date") from None
        return contract.billing.locate(datetime.combine(day, time(0), tzinfo=contract.billing_zone))
    match = _MONTH.fullmatch(text)
    if match is None:
        raise InvalidValueError("--period", text, "YYYY-MM or YYYY-MM-DD")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise InvalidValueError("--period", text, "a month 01 to 12")
    first = datetime(year, month, 1, tzinfo=contract.billing_zone)
    after = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=contract.billing_zone)
    starting = [p for p in contract.billing.periods_between(first, after) if p.start >= first]
    if len(starting) != 1:
        starts = ", ".join(p.start.date().isoformat() for p in starting) or "none"
        raise InvalidValueError(
            "--period",
            text,
            f"a month in which exactly one billing period starts (starts: {starts}); "
            "give YYYY-MM-DD instead",
        )
    return starting[0]


def _need_meters(contract: Contract, what: str) -> None:
    if not contract.meters:
        raise InvalidValueError(
            "meters",
            (),
            f"meters in the contract document ('meters' or 'meters_file') to read {what}",
        )


def _event_usage(contract: Contract, path: str, period: Period) -> tuple[UsageSource, bool]:
    """Usage from raw events, and True when every event was clean (none rejected or conflicting)."""
    _need_meters(contract, "events")
    spans = [Period(s.start, s.end) for s in contract.segments(period)] or [period]
    accumulator = Accumulator(contract.meters, spans)
    raw = []
    numbers = []
    with Path(path).open("rb") as stream:
        # The edge reader of every engine (UTF-8 line by line, exact JSON); an unreadable
        # line stops the invoice, naming the line.
        for number, line, event, problem in read_jsonl(stream):
            if event is None:
                raise InvalidValueError(
                    f"{path}:{number}", line_text(line)[:60], f"one JSON event ({problem})"
                )
            raw.append(event)
            numbers.append(number)
    report = accumulator.add(raw)
    print(
        f"events: {report.received} received, {report.accepted} accepted, "
        f"{report.duplicates} duplicates, {report.conflict_count} conflicts, "
        f"{report.outside} outside the period, {report.unmetered} unmetered, "
        f"{report.rejected_count} rejected",
        file=sys.stderr,
    )
    for rejection in report.rejected:
        line = numbers[rejection.index]
        print(f"  rejected event on line {line}: {rejection.reason}", file=sys.stderr)
    for conflict in report.conflicts:
        print(f"  conflicting copies of event {conflict.event_id!r}", file=sys.stderr)
    clean = not report.rejected and not report.conflicts
    return TableUsage(accumulator.usage()), clean


def _ledger_usage(contract: Contract, path: str) -> tuple[UsageSource, Any]:
    _need_meters(contract, "a ledger")
    if not Path(path).is_file():
        raise InvalidValueError("--ledger", path, "an existing ledger file")
    module = importlib.import_module("meterlib.ledger")
    ledger = module.Ledger(path)
    return LedgerUsage(ledger, contract.meters), ledger


def _with_corrections(path: str, store: Any, contract: Contract, bill: Invoice) -> Invoice:
    """``bill`` with the pending late-usage corrections of the customer's issued periods."""
    recheck_module = importlib.import_module("meterlib.ledger.recheck")
    notes_module = importlib.import_module("meterlib.invoicing.notes")
    ledger_module = importlib.import_module("meterlib.ledger")
    policy = recheck_module.CorrectionPolicy(mode="next_invoice")
    with ledger_module.Ledger(path) as ledger:
        result = recheck_module.recheck(store, ledger, [contract], policy=policy)
    lines = [line for found in result.corrections for line in found.lines]
    if lines:
        print(
            f"correction lines for {len(result.corrections)} earlier invoices added",
            file=sys.stderr,
        )
    corrected: Invoice = notes_module.with_corrections(bill, lines)
    return corrected


def _issue(args: argparse.Namespace, contract: Contract, bill: Invoice) -> str:
    """Issue ``bill`` into the ledger's document store; the issued invoice, rendered."""
    if args.ledger is None:
        raise InvalidValueError("--issue", "--issue", "given with --ledger (documents live there)")
    at = None
    if args.at is not None:
        try:
            at = datetime.fromisoformat(args.at)
        except ValueError:
            at = None
        if at is None or at.utcoffset() is None:
            raise InvalidValueError("--at", args.at, "an ISO 8601 time with an offset")
    store_module = importlib.import_module("meterlib.ledger.documents")
    render_module = importlib.import_module("meterlib.render.issued")
    with store_module.DocumentStore(args.ledger) as store:
        if args.with_corrections:
            bill = _with_corrections(args.ledger, store, contract, bill)
        issued = store.issue(bill, at=at, grace=contract.grace)
        if issued.early:
            print(
                f"issued {issued.number} before the grace period for late usage ends "
                f"({issued.grace_ends.isoformat()}); late events will come as notes",
                file=sys.stderr,
            )
        text: str = render_module.render_issued(
            store.issued_invoice(issued.number), args.format, args.locale
        )
    return text


def _run_source(args: argparse.Namespace) -> int:
    """Bill every contract from one DuckDB usage query over ``--source``; 1 for unclean events."""
    if args.issue:
        raise InvalidValueError("--issue", "--issue", "given with --ledger, not --source")
    contracts = [load_contract(p, allow_outside=args.allow_outside_files) for p in args.contract]
    module = importlib.import_module("meterlib.sql.invoices")
    by_cycle: dict[Any, list[Contract]] = {}
    for contract in contracts:
        by_cycle.setdefault(contract.billing, []).append(contract)
    bills: dict[int, Invoice] = {}
    clean = True
    for group in by_cycle.values():
        period = parse_period(group[0], args.period)
        result = module.invoices_from_source(args.source, group, [period])
        report = result.report
        print(
            f"events: {report.received} received, {report.accepted} accepted, "
            f"{report.duplicates} duplicates, {report.conflict_count} conflicts, "
            f"{report.outside} outside the billed periods, {report.rejected_count} rejected",
            file=sys.stderr,
        )
        for rejection in report.rejected:
            print(f"  rejected: {rejection.reason}", file=sys.stderr)
        for conflict in report.conflicts:
            print(f"  conflicting copies of event {conflict.event_id!r}", file=sys.stderr)
        clean = clean and not report.rejected and not report.conflicts
        billed = {bill.customer: bill for bill in result.invoices}
        for contract in group:
            if contract.customer in billed:
                bills[id(contract)] = billed[contract.customer]
            else:
                print(
                    f"  {contract.customer}: not billed, the contract does not cover {args.period}",
                    file=sys.stderr,
                )
    from meterlib.render.documents import render_invoice  # noqa: PLC0415  (on use: fast --help)

    text = "".join(
        render_invoice(
            bills[id(c)], args.format, args.locale, neutralize_formulas=args.neutralize_formulas
        )
        for c in contracts
        if id(c) in bills
    )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0 if clean else 1


def run(args: argparse.Namespace) -> int:
    """Load, bill, render, write; 1 when ``--events`` held rejected or conflicting events."""
    if args.source is not None:
        return _run_source(args)
    if len(args.contract) != 1:
        raise InvalidValueError(
            "CONTRACT", args.contract, "one contract document (several only with --source)"
        )
    contract = load_contract(args.contract[0], allow_outside=args.allow_outside_files)
    period = parse_period(contract, args.period)
    opened: Any = None
    clean = True
    if args.ledger is not None:
        usage, opened = _ledger_usage(contract, args.ledger)
    elif args.events is not None:
        usage, clean = _event_usage(contract, args.events, period)
    else:
        usage = TableUsage(load_usage_records(args.usage))
    try:
        bill = invoice(contract, usage, period, number=args.number)
    finally:
        if opened is not None and hasattr(opened, "close"):
            opened.close()
    from meterlib.render.documents import render_invoice  # noqa: PLC0415  (on use: fast --help)

    if args.issue:
        text = _issue(args, contract, bill)
    else:
        text = render_invoice(
            bill, args.format, args.locale, neutralize_formulas=args.neutralize_formulas
        )
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        print(text, end="")
    return 0 if clean else 1  # 1: the events had problems (each reported above)
