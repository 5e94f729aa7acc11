"""The laws of issued documents, under any interleaving of events (on time and late), issues,
payments, credit notes, voids, re-checks and back-billing notes (on an invoice or over a
period no invoice billed):

- no issued document ever changes (its JSON stays byte for byte what it was issued with);
- numbers stay gapless in every series;
- after a re-check, each period's issued invoice plus its late-usage notes equals the period's
  value under the usage known now;
- each customer's credit balance equals its payments minus what was applied to its invoices,
  (and to back-billing debit notes over a period, less credit notes over a period given to the
  balance), and never goes below zero; nothing is paid beyond what it owes.
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from meterlib._numbers import EXACT, exact_sum
from meterlib.backbill import BilledPeriod, PriceSchedule, UsageRecord, rebill
from meterlib.invoicing.lifecycle import DocumentKind, InvoicePayment
from meterlib.invoicing.notes import NoteLine, credit_lines, with_corrections
from meterlib.ledger import Ledger
from meterlib.ledger.backbilling import issue_statement
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.recheck import CorrectionPolicy, recheck
from meterlib.pricing import parse_price
from tests.records_fixtures import at, contract, draft, event

CUSTOMERS = ("cus_a", "cus_b")
CONTRACTS = {name: contract(name) for name in CUSTOMERS}
PERIODS = [CONTRACTS["cus_a"].period(index) for index in range(3)]
cents = st.integers(min_value=1, max_value=3000).map(lambda c: Decimal(c).scaleb(-2, context=EXACT))
REBILL = PriceSchedule.single(parse_price({"model": "per_unit", "unit_amount": "0.02"}))


class Documents(RuleBasedStateMachine):
    """A ledger file with events and documents, driven by hypothesis."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp()
        self.path = Path(self.folder) / "ledger.sqlite"
        self.ledger = Ledger(self.path, durable=False)
        self.store = DocumentStore(self.path, durable=False)
        self.clock = at(4, 1)
        self.bodies: dict[str, str] = {}
        self.events = 0
        self.usage: dict[tuple[str, int], int] = {}

    def tick(self) -> None:
        self.clock += timedelta(hours=1)

    def teardown(self) -> None:
        self.store.close()
        self.ledger.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def invoices(self) -> list[str]:
        return [d.number for d in self.store.documents(kind=DocumentKind.INVOICE)]

    @rule(customer=st.sampled_from(CUSTOMERS), month=st.integers(1, 3),
          day=st.integers(1, 28), data=st.data())
    def add_event(self, customer: str, month: int, day: int, data: st.DataObject) -> None:
        # a negative event corrects earlier usage, never below zero (prices refuse that)
        total = self.usage.get((customer, month), 0)
        n = data.draw(st.integers(-total, 500))
        self.usage[customer, month] = total + n
        self.events += 1
        self.ledger.append([event(f"e{self.events}", n, day, month, customer)],
                           received_at=self.clock)
        self.tick()

    @rule(customer=st.sampled_from(CUSTOMERS), index=st.integers(0, 2))
    def issue(self, customer: str, index: int) -> None:
        period = PERIODS[index]
        if self.store.current_invoice(customer, period.start) is not None:
            return
        issued = self.store.issue(draft(self.path, CONTRACTS[customer], period), at=self.clock)
        self.tick()
        assert issued.early is False

    @precondition(lambda self: self.invoices())
    @rule(data=st.data(), amount=cents)
    def pay(self, data: st.DataObject, amount: Decimal) -> None:
        payable = self.invoices() + [  # a back-billing debit note over a period is paid too
            d.number for d in self.store.documents(kind=DocumentKind.DEBIT_NOTE)
            if d.corrects is None
        ]
        if not payable:
            return
        number = data.draw(st.sampled_from(payable))
        self.store.pay(InvoicePayment(number, amount, date(2024, 5, 1)), at=self.clock)
        self.tick()

    @precondition(lambda self: self.invoices())
    @rule(data=st.data(), amount=cents)
    def credit(self, data: st.DataObject, amount: Decimal) -> None:
        number = data.draw(st.sampled_from(self.invoices()))
        account = self.store.account(number)
        if account.void or account.amount_due <= 0:
            return
        figure = min(amount, account.amount_due)
        lines = credit_lines(self.store.invoice(number), self.store.notes_of(number),
                             amount=figure)
        self.store.issue_note(number, lines, cause="credit", reason="goodwill", at=self.clock)
        self.tick()

    @precondition(lambda self: self.invoices())
    @rule(data=st.data(), replace=st.booleans())
    def void(self, data: st.DataObject, replace: bool) -> None:
        number = data.draw(st.sampled_from(self.invoices()))
        if self.store.account(number).void:
            return
        bill = self.store.invoice(number)
        replacement = None
        if replace:
            replacement = draft(self.path, CONTRACTS[bill.customer], bill.period)
        self.store.void(number, "test", replacement=replacement, at=self.clock)
        self.tick()

    @rule(data=st.data(), billed=cents, used=st.integers(0, 2000), on_invoice=st.booleans())
    def backbill(self, data: st.DataObject, billed: Decimal, used: int, on_invoice: bool) -> None:
        live = [n for n in self.invoices() if not self.store.account(n).void]
        customer = None
        if on_invoice and live:
            number: str | None = data.draw(st.sampled_from(live))
            period = self.store.invoice(str(number)).period
        else:
            number = None
            customer = data.draw(st.sampled_from(CUSTOMERS))
            period = data.draw(st.sampled_from(PERIODS))
        start, end = period.start.date(), period.end.date()
        statement = rebill(REBILL, [BilledPeriod(start, end, billed, invoice=number)],
                           [UsageRecord(start, end, used)], as_of=date(2024, 12, 31),
                           due_days=30)
        result = issue_statement(self.store, statement, customer=customer, at=self.clock)
        self.tick()
        assert [d.number for d in result.statement.documents] == list(result.numbers)
        for issued in result.documents:
            assert issued.corrects == number
            assert self.store.note(issued.number).cause == "backbill"

    @rule()
    def recheck_all(self) -> None:
        recheck(self.store, self.ledger, CONTRACTS.values(), at=self.clock)
        self.tick()
        for customer, con in CONTRACTS.items():
            for period in PERIODS:
                current = self.store.current_invoice(customer, period.start)
                if current is None:
                    continue
                billed = current.total
                for line in self.store.corrections_of(current.number):
                    billed = EXACT.add(billed, line.amount)
                assert billed == draft(self.path, con, period).total

    @invariant()
    def nothing_issued_ever_changes(self) -> None:
        for document in self.store.documents():
            kept = self.bodies.setdefault(document.number, document.body)
            assert kept == document.body

    @invariant()
    def numbers_are_gapless(self) -> None:
        by_series: dict[str, list[int]] = {}
        for document in self.store.documents():
            by_series.setdefault(document.series, []).append(document.sequence)
        for series, sequences in by_series.items():
            assert sorted(sequences) == list(range(1, len(sequences) + 1))
            assert self.store.series_last()[series] == len(sequences)

    @invariant()
    def balances_are_payments_less_applied(self) -> None:
        for customer in CUSTOMERS:
            received = exact_sum(p.amount for p in self.store.payments()
                                 if self.store.document(p.invoice).customer == customer)
            applied = Decimal(0)
            for document in self.store.documents(customer=customer):
                if document.kind is DocumentKind.CREDIT_NOTE and document.corrects is None:
                    # a credit over a period, given to the balance
                    applied = EXACT.add(applied, document.total)
                    continue
                if document.kind is not DocumentKind.INVOICE and document.corrects is not None:
                    continue  # a note on an invoice: counted in the invoice's account
                account = self.store.account(document.number)
                applied = EXACT.add(applied, account.paid)
                assert account.paid <= max(account.amount_due, Decimal(0))
            balance = self.store.balance(customer, "USD")
            assert balance == EXACT.subtract(received, applied)
            assert balance >= 0


Documents.TestCase.settings = settings(max_examples=30, stateful_step_count=25, deadline=None)
TestDocuments = Documents.TestCase

NEXT = CorrectionPolicy(mode="next_invoice")


class NextInvoiceDocuments(Documents):
    """The same laws when late usage is billed as correction lines on the next invoice."""

    def pending(self, customer: str) -> list[NoteLine]:
        result = recheck(self.store, self.ledger, [CONTRACTS[customer]], policy=NEXT)
        assert result.issued == ()
        return [line for found in result.corrections for line in found.lines]

    @rule(customer=st.sampled_from(CUSTOMERS), index=st.integers(0, 2))
    def issue(self, customer: str, index: int) -> None:
        period = PERIODS[index]
        if self.store.current_invoice(customer, period.start) is not None:
            return
        bill = with_corrections(draft(self.path, CONTRACTS[customer], period),
                                self.pending(customer))
        self.store.issue(bill, at=self.clock)
        self.tick()

    @rule()
    def recheck_all(self) -> None:
        for customer, con in CONTRACTS.items():
            pending = self.pending(customer)
            for period in PERIODS:
                current = self.store.current_invoice(customer, period.start)
                if current is None:
                    continue
                billed = current.total
                for line in self.store.corrections_of(current.number):
                    billed = EXACT.add(billed, line.amount)
                for line in pending:
                    if line.invoice == current.number:
                        billed = EXACT.add(billed, line.amount)
                value = draft(self.path, con, period).total
                # the invoice's own correction lines bill other periods, not this one
                own = self.store.invoice(current.number)
                for own_line in own.lines:
                    if own_line.corrects is not None:
                        billed = EXACT.subtract(billed, own_line.rounded)
                assert billed == value


NextInvoiceDocuments.TestCase.settings = settings(
    max_examples=30, stateful_step_count=25, deadline=None
)
TestNextInvoiceDocuments = NextInvoiceDocuments.TestCase
