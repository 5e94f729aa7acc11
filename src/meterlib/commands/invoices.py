"""``meterlib invoices list|show|void|pay|recheck``: the issued documents of a ledger.

Documents live in the ledger file (``--ledger PATH``, else ``$METERLIB_LEDGER``, else
``./meterlib-ledger.sqlite``), issued by ``meterlib invoice ... --issue`` and
``meterlib credit-note``:

- ``list [--customer C] [--kind K]``: one row per document, with status and balances;
- ``show NUMBER``: the document; an invoice with its status, amount due, paid and remaining,
  and the payments received (``--format json`` prints the exact JSON it was issued with);
- ``void NUMBER --reason TEXT [--replace CONTRACT]``: void an invoice, optionally issuing its
  replacement computed from the ledger's usage now;
- ``pay NUMBER --amount A [--date D] [--reference R] [--method M]``: record a payment;
- ``recheck CONTRACT... [--mode notes|next_invoice] [--periods N]``: find late usage of issued
  periods and issue debit or credit notes (or list the corrections for the next invoice).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any

from meterlib.commands.ingest import ledger_path
from meterlib.errors import InvalidValueError
from meterlib.invoicing.documents import load_contract
from meterlib.invoicing.engine import invoice
from meterlib.invoicing.lifecycle import DocumentKind, InvoicePayment
from meterlib.invoicing.usage import LedgerUsage
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.recheck import CorrectionPolicy, recheck
from meterlib.render.issued import (
    DOCUMENT_FORMATS,
    ListedDocument,
    render_document_list,
    render_issued,
    render_note,
)

ORDER = 41


def _common(parser: argparse.ArgumentParser, *, formats: bool = True) -> None:
    parser.add_argument(
        "--ledger", metavar="PATH",
        help="ledger file (default: $METERLIB_LEDGER, else ./meterlib-ledger.sqlite)",
    )
    if formats:
        parser.add_argument("--format", choices=DOCUMENT_FORMATS, default="text")
        parser.add_argument("--locale", default="en_US", help="CLDR locale (default: en_US)")


def register(subparsers: Any) -> None:
    """Add the ``invoices`` subcommand and its actions."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "invoices",
        help="list, show, void and pay issued invoices; re-check them for late usage",
        description="List, show, void and pay the issued documents of a ledger, and re-check "
        "issued periods for late usage.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one row per issued document")
    _common(listing)
    listing.add_argument("--customer")
    listing.add_argument("--kind", choices=[k.value for k in DocumentKind])
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one issued document")
    show.add_argument("number")
    _common(show)
    show.set_defaults(handler=run_show)
    void = actions.add_parser("void", help="void an issued invoice")
    void.add_argument("number")
    void.add_argument("--reason", required=True)
    void.add_argument("--replace", metavar="CONTRACT",
                      help="issue a replacement computed from this contract and the ledger")
    _common(void)
    void.set_defaults(handler=run_void)
    pay = actions.add_parser("pay", help="record a payment against an invoice")
    pay.add_argument("number")
    pay.add_argument("--amount", required=True)
    pay.add_argument("--date", help="YYYY-MM-DD (default: today, UTC)")
    pay.add_argument("--reference")
    pay.add_argument("--method")
    _common(pay)
    pay.set_defaults(handler=run_pay)
    check = actions.add_parser("recheck", help="correct issued periods for late usage")
    check.add_argument("contracts", nargs="+", metavar="CONTRACT")
    check.add_argument("--mode", choices=["notes", "next_invoice"], default="notes")
    check.add_argument("--periods", type=int, help="most recent periods per customer")
    _common(check, formats=False)
    check.set_defaults(handler=run_recheck)


def _show(store: DocumentStore, number: str, fmt: str, locale: str) -> str:
    document = store.document(number)
    if document.kind is DocumentKind.INVOICE:
        return render_issued(store.issued_invoice(number), fmt, locale, store.payments(number))
    return render_note(store.note(number), document.body, fmt, locale)


def run_list(args: argparse.Namespace) -> int:
    """Print the document list."""
    with DocumentStore(ledger_path(args.ledger)) as store:
        kind = None if args.kind is None else DocumentKind(args.kind)
        items = [
            ListedDocument(d, store.account(d.number) if d.payable else None)
            for d in store.documents(customer=args.customer, kind=kind)
        ]
        print(render_document_list(items, args.format, args.locale), end="")
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one document."""
    with DocumentStore(ledger_path(args.ledger)) as store:
        print(_show(store, args.number, args.format, args.locale), end="")
    return 0


def run_void(args: argparse.Namespace) -> int:
    """Void, maybe replace, and print the voided invoice."""
    path = ledger_path(args.ledger)
    with DocumentStore(path) as store:
        replacement = None
        if args.replace:
            contract = load_contract(args.replace)
            period = store.invoice(args.number).period
            with Ledger(path) as ledger:
                replacement = invoice(contract, LedgerUsage(ledger, contract.meters), period)
        issued = store.void(args.number, args.reason, replacement=replacement)
        if issued is not None:
            print(f"replacement issued: {issued.number}", file=sys.stderr)
        print(_show(store, args.number, args.format, args.locale), end="")
    return 0


def run_pay(args: argparse.Namespace) -> int:
    """Record the payment and print the invoice with its new balance."""
    if args.date is None:
        paid_on = datetime.now(UTC).date()
    else:
        try:
            paid_on = date.fromisoformat(args.date)
        except ValueError:
            raise InvalidValueError("--date", args.date, "a date YYYY-MM-DD") from None
    payment = InvoicePayment(args.number, args.amount, paid_on, args.reference, args.method)
    with DocumentStore(ledger_path(args.ledger)) as store:
        account = store.pay(payment)
        balance = store.balance(account.customer, account.currency)
        if balance:
            print(f"customer credit balance: {balance} {account.currency}", file=sys.stderr)
        print(_show(store, args.number, args.format, args.locale), end="")
    return 0


def run_recheck(args: argparse.Namespace) -> int:
    """Re-check and report what was corrected."""
    contracts = [load_contract(path) for path in args.contracts]
    policy = CorrectionPolicy(mode=args.mode, periods=args.periods)
    path = ledger_path(args.ledger)
    with DocumentStore(path) as store, Ledger(path) as ledger:
        result = recheck(store, ledger, contracts, policy=policy)
    print(f"{result.checked} issued periods checked, {result.recomputed} with late events")
    for found in result.corrections:
        print(f"  {found.invoice} ({found.customer}): {found.total:+}")
    for note in result.issued:
        print(f"  issued {note.kind.value} {note.number} for {note.corrects}: {note.total}")
    if result.skipped:
        print(f"  {len(result.skipped)} invoices of customers without a contract given: "
              "not re-checked")
    return 0
