"""Issued documents of the example contract, for the rendering and browser tests.

:func:`issued_documents` builds a ledger from ``examples/invoicing/events.jsonl`` in a folder
and issues, pays, corrects and voids documents the way a billing service would: a March
invoice paid in two payments, a credit note and a late-usage debit note on it (late events
found by a re-check), and an April invoice voided with a reason and replaced.
:func:`usage_audit` is a partner's audit against a monthly limit, grouped by application.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterlib.backbill.audit import Audit, audit
from meterlib.backbill.terms import PriceSchedule, PriceVersion
from meterlib.credits import Limit, UsageIndex
from meterlib.invoicing import Contract, LedgerUsage, invoice, load_contract
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.lifecycle import InvoicePayment, IssuedInvoice
from meterlib.invoicing.notes import Note, credit_lines
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.recheck import recheck
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import parse_meters
from meterlib.periods import BillingCycle
from meterlib.pricing import parse_price

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"


@dataclass(frozen=True)
class Documents:
    """Everything issued, as the store reads it back, and the ledger file holding it."""

    ledger: Path
    draft: Invoice
    paid: IssuedInvoice
    payments: list[InvoicePayment]
    credit: Note
    credit_body: str
    debit: Note
    debit_body: str
    void: IssuedInvoice
    replacement: IssuedInvoice


def _events() -> list[UsageEvent]:
    lines = (EXAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [UsageEvent.from_dict(json.loads(line)) for line in lines if line.strip()]


def _late(eid: str, tokens: int, day: int) -> UsageEvent:
    return UsageEvent.from_dict({
        "id": eid, "customer": "cus_initech", "type": "api.request",
        "time": f"2023-03-{day:02d}T09:00:00+02:00",
        "properties": {"tokens": str(tokens), "status": "ok"},
    })


def _bill(path: Path, contract: Contract, month: int) -> Invoice:
    with Ledger(path) as ledger:
        return invoice(contract, LedgerUsage(ledger, contract.meters), date(2023, month, 1))


def issued_documents(folder: Path) -> Documents:
    """Issue, pay, correct and void in a fresh ledger under ``folder``."""
    path = folder / "ledger.sqlite"
    contract = load_contract(EXAMPLE / "contract.toml")
    with Ledger(path) as ledger:
        ledger.append(_events(), received_at=datetime(2023, 3, 31, tzinfo=UTC))
    draft = _bill(path, contract, 3)
    with DocumentStore(path) as store:
        march = store.issue(draft, at=datetime(2023, 4, 2, 8, tzinfo=UTC)).number
        first = InvoicePayment(march, "100.00", date(2023, 4, 10), "SEPA-0412", "transfer")
        store.pay(first)
        credit = store.issue_note(
            march, credit_lines(store.invoice(march), [], lines={0: "2.13"}), cause="credit",
            reason="API outage on 14 March", at=datetime(2023, 4, 11, tzinfo=UTC))
        with Ledger(path) as ledger:
            ledger.append([_late("late_1", 400_000, 29), _late("late_2", 250_000, 30)],
                          received_at=datetime(2023, 4, 12, 9, tzinfo=UTC))
            found = recheck(store, ledger, [contract], at=datetime(2023, 4, 13, tzinfo=UTC))
        [debit_number] = [doc.number for doc in found.issued]
        rest = store.account(march).remaining
        second = InvoicePayment(march, rest, date(2023, 4, 20), "SEPA-0420", "transfer")
        store.pay(second)
        april = store.issue(_bill(path, contract, 4), at=datetime(2023, 5, 2, tzinfo=UTC)).number
        replacement = store.void(april, "billed under the wrong plan",
                                 at=datetime(2023, 5, 3, tzinfo=UTC),
                                 replacement=_bill(path, contract, 4))
        assert replacement is not None
        return Documents(
            ledger=path,
            draft=draft,
            paid=store.issued_invoice(march),
            payments=store.payments(march),
            credit=store.note(credit.number),
            credit_body=store.document(credit.number).body,
            debit=store.note(debit_number),
            debit_body=store.document(debit_number).body,
            void=store.issued_invoice(april),
            replacement=store.issued_invoice(replacement.number),
        )


def usage_audit(*, grouped: bool = True, months: int = 3) -> Audit:
    """A partner's reads against 90 a month from January 2024, valued at two dated prices."""
    meters = parse_meters([{"name": "reads", "type": "read", "aggregation": "count"}])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    apps = ("crm", "etl", "bi")
    events = [
        UsageEvent.from_dict({
            "id": f"e{i}", "customer": "partner", "type": "read",
            "time": (start + timedelta(hours=7 * i)).isoformat(),
            "properties": {"app": apps[i % 3]},
        })
        for i in range(100 * months)
    ]

    def per_unit(amount: str) -> Any:
        return parse_price({"model": "per_unit", "currency": "EUR", "unit_amount": amount})

    basis = PriceSchedule([PriceVersion(date(2024, 1, 1), per_unit("0.50"), "2024 list"),
                           PriceVersion(date(2024, 3, 1), per_unit("0.60"), "March list")])
    group_by = "app" if grouped else None
    return audit(
        UsageIndex.of(events, meters, group_by=group_by), "partner",
        Limit("reads", Decimal(90), BillingCycle(cadence="monthly", anchor=start)),
        start, datetime(2024 + months // 12, months % 12 + 1, 1, tzinfo=UTC), basis=basis,
        group_by=group_by,
    )
