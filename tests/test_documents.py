"""The document store: issue, numbers, byte-for-byte JSON, payments, credit notes, voids."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import (
    DocumentKind,
    DocumentStatus,
    InvoicePayment,
    Numbering,
    NumberSeries,
)
from meterlib.invoicing.notes import credit_lines, note_from_json
from meterlib.invoicing.serialize import invoice_from_json
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore, DocumentStoreError
from tests.records_fixtures import at, contract, draft, event

D = Decimal
JAN = contract().period(0)
FEB = contract().period(1)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "ledger.sqlite"
    with Ledger(p) as ledger:
        ledger.append([event("e1", 100), event("e2", 50, month=2)], received_at=at(1, 20))
    return p


def test_issue_freezes_numbers_and_dates_and_reads_back_byte_for_byte(path: Path) -> None:
    bill = draft(path, contract(), JAN)  # 10 + 1.00, VAT 2.20
    assert bill.total == D("13.20")
    with DocumentStore(path) as store:
        issued = store.issue(bill, at=at(2, 3, 9))
        assert (issued.number, issued.kind, issued.sequence) == ("INV-000001", "invoice", 1)
        assert issued.early is False
        again = store.document("INV-000001")
        assert again.body == issued.body
        back = store.invoice("INV-000001")
        assert back.number == "INV-000001"
        assert (back.issued_on, back.due_on) == (date(2024, 2, 3), date(2024, 3, 4))
        assert back.lines == bill.lines
        assert back.total == bill.total
        assert invoice_from_json(issued.body) == back
        second = store.issue(draft(path, contract(), FEB), at=at(3, 1))
        assert second.number == "INV-000002"
        assert store.account("INV-000001").status is DocumentStatus.ISSUED
    # a second connection (another process would see the same) reads the same bytes
    with DocumentStore(path) as store:
        assert store.document("INV-000001").body == issued.body


def test_a_period_is_invoiced_once(path: Path) -> None:
    with DocumentStore(path) as store:
        store.issue(draft(path, contract(), JAN), at=at(2, 1))
        with pytest.raises(DocumentStoreError, match="'cus_1' already has invoice INV-000001 "
                           "for the period starting 2024-01-01T00:00:00"):
            store.issue(draft(path, contract(), JAN), at=at(2, 2))
        assert store.series_last() == {"INV-": 1}  # the refused issue used no number


def test_issued_rows_cannot_be_updated_or_deleted_even_in_sql(path: Path) -> None:
    with DocumentStore(path) as store:
        store.issue(draft(path, contract(), JAN), at=at(2, 1))
    db = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="never change"):
        db.execute("UPDATE documents SET total = '0'")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        db.execute("DELETE FROM documents")
    db.close()


def test_series_are_configurable_and_separate_per_kind(path: Path) -> None:
    numbering = Numbering(
        invoice=NumberSeries("INV-2024-", 6), credit_note=NumberSeries("CR-", 3)
    )
    with DocumentStore(path, numbering=numbering) as store:
        issued = store.issue(draft(path, contract(), JAN), at=at(2, 1))
        assert issued.number == "INV-2024-000001"
        lines = credit_lines(store.invoice(issued.number), [], amount="1.00")
        note = store.issue_note(issued.number, lines, cause="credit", reason="goodwill",
                                at=at(2, 2))
        assert (note.number, note.kind, note.total) == ("CR-001", "credit_note", D("-1.00"))
        assert store.series_last() == {"INV-2024-": 1, "CR-": 1}


def test_numbering_rules() -> None:
    assert NumberSeries("X", 2).format(7) == "X07"
    with pytest.raises(InvalidValueError, match="'sequence' must be 1 to 99"):
        NumberSeries("X", 2).format(100)
    with pytest.raises(InvalidValueError, match="'prefix' must be text without spaces"):
        NumberSeries("IN V")
    with pytest.raises(InvalidValueError, match="different prefix"):
        Numbering(invoice=NumberSeries("A-"), credit_note=NumberSeries("A-"))


def test_grace_period_says_when_issued_early(path: Path) -> None:
    con = contract(grace_period_days=3)
    with DocumentStore(path) as store:
        early = store.issue(draft(path, con, JAN), at=at(2, 2), grace=timedelta(days=3))
        assert early.early
        assert early.grace_ends == at(2, 4)
        late = store.issue(draft(path, con, FEB), at=at(3, 4), grace=timedelta(days=3))
        assert not late.early
        assert late.grace_ends is None


def test_partial_payment_then_overpayment_becomes_a_credit_balance(path: Path) -> None:
    with DocumentStore(path) as store:
        first = store.issue(draft(path, contract(), JAN), at=at(2, 1))  # 13.20
        account = store.pay(InvoicePayment(first.number, "5.00", date(2024, 2, 10), "tx1",
                                           "card"))
        assert (account.paid, account.remaining, account.status) == (
            D("5.00"), D("8.20"), DocumentStatus.ISSUED)
        account = store.pay(InvoicePayment(first.number, "20.00", date(2024, 2, 12)))
        assert (account.paid, account.remaining, account.status) == (
            D("13.20"), D("0.00"), DocumentStatus.PAID)
        assert store.balance("cus_1", "USD") == D("11.80")
        second = store.issue(draft(path, contract(), FEB), at=at(3, 1))  # 10 + 0.50 + 2.10
        assert second.total == D("12.60")
        account = store.account(second.number)
        assert (account.paid, account.remaining) == (D("11.80"), D("0.80"))
        assert store.balance("cus_1", "USD") == D("0.00")
        assert [p.reference for p in store.payments(first.number)] == ["tx1", None]


def test_credit_notes_full_partial_by_line_and_by_amount(path: Path) -> None:
    with DocumentStore(path) as store:
        number = store.issue(draft(path, contract(), JAN), at=at(2, 1)).number
        bill = store.invoice(number)
        by_line = credit_lines(bill, [], lines={1: "0.40"})
        note = store.issue_note(number, by_line, cause="credit", reason="outage", at=at(2, 2))
        value = note_from_json(note.body)
        assert (value.invoice, value.reason, value.lines[0].line) == (number, "outage", 1)
        assert store.account(number).amount_due == D("12.80")
        wanted = r"'lines\[1\]' must be above 0 and at most 0\.60"
        with pytest.raises(InvalidValueError, match=wanted):
            credit_lines(bill, store.notes_of(number), lines={1: "0.61"})
        rest = credit_lines(bill, store.notes_of(number))
        full = store.issue_note(number, rest, cause="credit", reason="cancelled", at=at(2, 3))
        assert full.total == D("-12.80")  # 10.00 + 0.60 + VAT 2.20
        assert store.account(number).amount_due == D("0.00")
        assert store.account(number).status is DocumentStatus.PAID
        with pytest.raises(InvalidValueError, match=r"'amount' must be above 0 and at most 0\.00"):
            credit_lines(bill, store.notes_of(number), amount="0.01")


def test_credit_note_on_a_paid_invoice_moves_the_excess_to_the_balance(path: Path) -> None:
    with DocumentStore(path) as store:
        number = store.issue(draft(path, contract(), JAN), at=at(2, 1)).number
        store.pay(InvoicePayment(number, "13.20", date(2024, 2, 5)))
        lines = credit_lines(store.invoice(number), [], amount="3.00")
        store.issue_note(number, lines, cause="credit", reason="sla", at=at(2, 6))
        account = store.account(number)
        assert (account.amount_due, account.paid, account.status) == (
            D("10.20"), D("10.20"), DocumentStatus.PAID)
        assert store.balance("cus_1", "USD") == D("3.00")


def test_void_with_replacement_moves_payments_and_keeps_the_original(path: Path) -> None:
    with DocumentStore(path) as store:
        first = store.issue(draft(path, contract(), JAN), at=at(2, 1))
        store.pay(InvoicePayment(first.number, "10.00", date(2024, 2, 5)))
        replacement = store.void(first.number, "wrong address", at=at(2, 6),
                                 replacement=draft(path, contract(), JAN))
        assert replacement is not None
        assert replacement.number == "INV-000002"
        old = store.account(first.number)
        assert (old.status, old.void_reason, old.replaced_by) == (
            DocumentStatus.VOID, "wrong address", "INV-000002")
        assert old.amount_due == 0
        assert old.paid == 0
        new = store.account("INV-000002")
        assert (new.paid, new.remaining) == (D("10.00"), D("3.20"))
        assert store.document(first.number).body == first.body
        current = store.current_invoice("cus_1", JAN.start)
        assert current is not None
        assert current.number == "INV-000002"
        with pytest.raises(DocumentStoreError, match="already void"):
            store.void(first.number, "again")
        with pytest.raises(InvalidValueError, match="'reason' must be a reason"):
            store.void("INV-000002", " ")


def test_unknown_numbers_and_wrong_kinds_are_refused(path: Path) -> None:
    with DocumentStore(path) as store:
        with pytest.raises(DocumentStoreError, match="no issued document numbered 'INV-9'"):
            store.document("INV-9")
        number = store.issue(draft(path, contract(), JAN), at=at(2, 1)).number
        note = store.issue_note(number, credit_lines(store.invoice(number), [], amount="1"),
                                cause="credit", reason="x", at=at(2, 2))
        with pytest.raises(DocumentStoreError, match="not an invoice"):
            store.pay(InvoicePayment(note.number, "1", date(2024, 2, 3)))
        with pytest.raises(DocumentStoreError, match="only invoices void"):
            store.void(note.number, "x")
        assert [d.kind for d in store.documents(customer="cus_1")] == [
            DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE]


def test_store_on_an_open_connection_of_the_ledger_file(path: Path) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    store = DocumentStore(db)
    issued = store.issue(draft(path, contract(), JAN), at=at(2, 1))
    store.close()  # not its connection: stays open
    assert db.execute("SELECT body FROM documents").fetchone()[0] == issued.body
    db.close()
    with pytest.raises(InvalidValueError, match="isolation_level=None"):
        DocumentStore(sqlite3.connect(":memory:"))


def test_a_ledger_with_documents_of_another_format_is_refused(path: Path) -> None:
    DocumentStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT value FROM meta WHERE key = 'documents_format'").fetchone() == (
        "meterlib.documents/1",)
    with db:
        db.execute("UPDATE meta SET value = 'meterlib.documents/9' WHERE key = 'documents_format'")
    db.close()
    with pytest.raises(DocumentStoreError, match=r"format 'meterlib\.documents/9'"):
        DocumentStore(path)


def test_an_issued_invoice_shows_its_status_and_balance(path: Path) -> None:
    with DocumentStore(path) as store:
        number = store.issue(draft(path, contract(), JAN), at=at(2, 1)).number
        store.pay(InvoicePayment(number, "3.20", date(2024, 2, 5)))
        issued = store.issued_invoice(number)
        assert issued.status is DocumentStatus.ISSUED
        assert str(issued).endswith("[issued; due 13.20, paid 3.20, remaining 10.00]")
        page = issued._repr_html_()
        assert 'data-status="issued"' in page
        assert "INV-000001" in page
        assert "$10.00" in page  # remaining balance


def test_a_batch_stores_the_same_json_as_issuing_the_invoice_value(path: Path) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from meterlib.invoicing.serialize import invoice_to_json  # noqa: PLC0415

    bills = [draft(path, contract(), JAN), draft(path, contract("cus_2"), JAN),
             draft(path, contract(), FEB)]
    with DocumentStore(path) as store:
        issued = store.issue_many(bills, at=at(3, 5))
        assert [d.number for d in issued] == ["INV-000001", "INV-000002", "INV-000003"]
        for bill, document in zip(bills, issued, strict=True):
            frozen = replace(bill, number=document.number, issued_on=date(2024, 3, 5),
                             due_on=date(2024, 3, 5) + (bill.due_on - bill.issued_on))
            assert document.body == invoice_to_json(frozen, indent=None)
            assert store.document(document.number) == document


def test_a_batch_naming_a_period_twice_is_refused_whole(path: Path) -> None:
    with DocumentStore(path) as store:
        store.issue(draft(path, contract(), JAN), at=at(2, 1))
        with pytest.raises(DocumentStoreError, match=r"'cus_2' already has invoice "
                           r"INV-000003 \(earlier in this batch\)"):
            store.issue_many([draft(path, contract(), FEB), draft(path, contract("cus_2"), JAN),
                              draft(path, contract("cus_2"), JAN)], at=at(3, 1))
        assert store.series_last() == {"INV-": 1}  # nothing of the batch was kept
        assert [d.number for d in store.documents()] == ["INV-000001"]


def test_a_batch_draws_a_credit_balance_invoice_by_invoice(path: Path) -> None:
    with DocumentStore(path) as store:
        first = store.issue(draft(path, contract(), JAN), at=at(2, 1)).number  # 13.20
        store.pay(InvoicePayment(first, "30.00", date(2024, 2, 2)))  # 16.80 to the balance
        jan2, feb = store.issue_many([draft(path, contract("cus_2"), JAN),
                                      draft(path, contract(), FEB)], at=at(3, 1))
        assert store.account(jan2.number).paid == 0  # cus_2 has no balance
        assert store.account(feb.number).paid == D("12.60")
        assert store.balance("cus_1", "USD") == D("4.20")
