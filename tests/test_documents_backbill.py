"""Back-billing on the document store: recorded payments drive interest, notes share series."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import EXACT
from meterlib.backbill import InterestPolicy, PriceSchedule, Statement, UsageRecord, rebill
from meterlib.errors import InvalidValueError
from meterlib.invoicing.lifecycle import DocumentStatus, InvoicePayment
from meterlib.invoicing.notes import credit_lines
from meterlib.ledger import Ledger
from meterlib.ledger.backbilling import billed_periods, issue_statement
from meterlib.ledger.documents import DocumentStore, DocumentStoreError
from meterlib.ledger.recheck import recheck
from meterlib.pricing import parse_price
from tests.records_fixtures import at, contract, draft, event

D = Decimal
CON = contract()
JAN, FEB = CON.period(0), CON.period(1)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    p = tmp_path / "ledger.sqlite"
    with Ledger(p) as ledger:
        ledger.append([event("e1", 100), event("e2", 50, month=2)], received_at=at(1, 20))
    return p


def test_recorded_payments_become_the_billed_periods_payments(path: Path) -> None:
    with DocumentStore(path) as store:
        jan = store.issue(draft(path, CON, JAN), at=at(2, 1)).number  # 13.20, due 2024-03-02
        store.pay(InvoicePayment(jan, "5.00", date(2024, 3, 10)))
        store.pay(InvoicePayment(jan, "20.00", date(2024, 4, 1)))  # 11.80 to the balance
        feb = store.issue(draft(path, CON, FEB), at=at(3, 1)).number  # draws 11.80
        lines = credit_lines(store.invoice(feb), [], amount="1.00")
        store.issue_note(feb, lines, cause="credit", reason="sla", at=at(3, 2))
        periods = billed_periods(store, "cus_1")
        first, second = periods
        assert (first.start, first.end, first.billed, first.invoice, first.due) == (
            date(2024, 1, 1), date(2024, 2, 1), D("13.20"), jan, date(2024, 3, 2))
        assert [(p.paid_on, p.amount) for p in first.payments or ()] == [
            (date(2024, 3, 10), D("5.00")), (date(2024, 4, 1), D("8.20"))]
        assert second.billed == D("11.60")  # 12.60 less the credit note
        assert [(p.paid_on, p.amount) for p in second.payments or ()] == [
            (date(2024, 3, 1), D("11.60"))]  # 11.80 drawn, 0.20 given back by the credit


def test_statement_notes_are_issued_in_the_store_series_with_interest(path: Path) -> None:
    with DocumentStore(path) as store:
        jan = store.issue(draft(path, CON, JAN), at=at(2, 1)).number
        own = store.issue_note(jan, credit_lines(store.invoice(jan), [], amount="1.00"),
                               cause="credit", reason="sla", at=at(2, 2))
        assert own.number == "CN-000001"
        store.pay(InvoicePayment(jan, "12.20", date(2024, 3, 2)))
        # re-bill January at 0.02 a call plus the fee and VAT: 14.40 instead of 12.20 billed
        basis = PriceSchedule.single(parse_price(
            {"model": "per_unit", "unit_amount": "0.024", "minimum": "14.40"}))
        usage = [UsageRecord(date(2024, 1, 1), date(2024, 2, 1), "100")]
        statement = rebill(basis, billed_periods(store, "cus_1"), usage, as_of=date(2024, 12, 31),
                           due_days=30, interest=InterestPolicy.simple("0.10"))
        [line] = statement.lines
        assert (line.billed, line.rebilled, line.delta, line.paid) == (
            D("12.20"), D("14.40"), D("2.20"), D("12.20"))
        result = issue_statement(store, statement, at=at(12, 31))
        [issued] = result.documents
        assert issued.number == "DN-000001"  # the store's debit-note series
        [shown] = result.statement.documents  # the statement names the issued number
        assert (shown.number, shown.corrects, shown.issue_date) == (
            "DN-000001", jan, date(2024, 12, 31))
        assert statement.documents[0].number == "DN-0001"  # the provisional one, before
        note = store.note(issued.number)
        assert (note.invoice, note.cause, note.total) == (jan, "backbill", line.owed)
        assert store.account(jan).amount_due == EXACT.add(D("12.20"), line.owed)
        assert store.corrections_of(jan) == []  # a re-valuation, not a usage correction


def _statement(billed: str, used: str, invoice: str | None = None,
               customer: str | None = None) -> Statement:
    from meterlib.backbill import BilledPeriod  # noqa: PLC0415

    basis = PriceSchedule.single(parse_price({"model": "per_unit", "unit_amount": "1"}))
    statement = rebill(basis, [BilledPeriod(date(2024, 1, 1), date(2024, 2, 1), billed,
                                            invoice=invoice)],
                       [UsageRecord(date(2024, 1, 1), date(2024, 2, 1), used)],
                       as_of=date(2024, 12, 31), due_days=30)
    return replace(statement, customer=customer)


def test_a_period_no_invoice_billed_gets_a_debit_note_over_the_period(path: Path) -> None:
    statement = _statement("0", "3")
    with DocumentStore(path) as store:
        with pytest.raises(InvalidValueError, match="'customer' must be the customer to bill"):
            issue_statement(store, statement)  # the statement names no customer
        assert store.series_last() == {}
        result = issue_statement(store, statement, customer="cus_1", at=at(12, 31))
        [issued] = result.documents
        assert (issued.number, issued.corrects, issued.total) == ("DN-000001", None, D("3.00"))
        assert (issued.period_start, issued.period_end) == (at(1, 1), at(2, 1))
        note = store.note(issued.number)
        assert (note.invoice, note.period_start, note.cause) == (None, at(1, 1), "backbill")
        assert '"invoice": null' in issued.body
        assert '"period": {"start": "2024-01-01T00:00:00+00:00"' in issued.body
        assert result.statement.documents[0].number == "DN-000001"
        # owed and paid like an invoice
        account = store.pay(InvoicePayment(issued.number, "5.00", date(2025, 1, 5)))
        assert (account.amount_due, account.paid, account.status) == (
            D("3.00"), D("3.00"), DocumentStatus.PAID)
        assert store.balance("cus_1", "USD") == D("2.00")


def test_a_credit_over_a_period_goes_to_the_credit_balance(path: Path) -> None:
    statement = _statement("5", "3", customer="cus_1")  # billed 5 elsewhere, worth 3
    with DocumentStore(path) as store:
        [issued] = issue_statement(store, statement, at=at(12, 31)).documents
        assert (issued.number, issued.kind, issued.total) == ("CN-000001", "credit_note",
                                                              D("-2.00"))
        assert store.balance("cus_1", "USD") == D("2.00")
        with pytest.raises(DocumentStoreError, match="not an invoice"):
            store.account(issued.number)
        feb = store.issue(draft(path, CON, FEB), at=at(3, 1))  # 12.60 draws the 2.00
        assert store.account(feb.number).remaining == D("10.60")
        assert store.balance("cus_1", "USD") == D("0.00")


def test_an_unknown_or_void_invoice_is_refused_and_nothing_is_issued(path: Path) -> None:
    with DocumentStore(path) as store:
        jan = store.issue(draft(path, CON, JAN), at=at(2, 1)).number
        with pytest.raises(DocumentStoreError, match="no issued document numbered 'INV-9'"):
            issue_statement(store, _statement("0", "3", invoice="INV-9"))
        store.void(jan, "wrong plan", replacement=draft(path, CON, JAN), at=at(2, 2))
        with pytest.raises(DocumentStoreError, match=r"INV-000001 \(2024-01\) is void; its "
                           "replacement is INV-000002"):
            issue_statement(store, _statement("13.20", "30", invoice=jan))
        with pytest.raises(InvalidValueError, match="'customer' must be 'cus_1'"):
            issue_statement(store, _statement("13.20", "30", invoice="INV-000002"),
                            customer="cus_2")
        assert store.series_last() == {"INV-": 2}


def test_notes_of_every_cause_share_the_series_without_gaps(path: Path) -> None:
    with DocumentStore(path) as store:
        first = store.issue(draft(path, CON, JAN), at=at(2, 1))
        with Ledger(path) as ledger:  # a late January event: the re-check issues a debit note
            ledger.append([event("late", 30)], received_at=at(2, 15))
            rechecked = recheck(store, ledger, [CON], at=at(2, 16))
        [late] = rechecked.issued
        credit = store.issue_note(first.number, credit_lines(store.invoice(first.number), [],
                                                             amount="1.00"),
                                  cause="credit", reason="sla", at=at(2, 17))
        second = store.issue(draft(path, CON, FEB), at=at(3, 1))
        up = _statement("13.20", "20", invoice=first.number)
        down = _statement("12.60", "2", invoice=second.number)
        extra = _statement("0", "4", customer="cus_1")
        issued = [*issue_statement(store, up, at=at(12, 31)).documents,
                  *issue_statement(store, down, at=at(12, 31)).documents,
                  *issue_statement(store, extra, at=at(12, 31)).documents]
        assert [d.number for d in (late, credit, *issued)] == [
            "DN-000001", "CN-000001", "DN-000002", "CN-000002", "DN-000003"]
        by_series: dict[str, list[int]] = {}
        for document in store.documents():
            by_series.setdefault(document.series, []).append(document.sequence)
        assert by_series == {"INV-": [1, 2], "DN-": [1, 2, 3], "CN-": [1, 2]}
        assert store.series_last() == {"INV-": 2, "DN-": 3, "CN-": 2}
        causes = [store.note(d.number).cause for d in store.documents() if d.kind != "invoice"]
        assert causes == ["late_usage", "credit", "backbill", "backbill", "backbill"]


CASE = """
currency = "USD"
as_of = 2024-12-31
due_days = 30
basis = "list"

[interest]
method = "simple"
annual_rate = "0.10"

[[bases.list.versions]]
from = 2024-01-01
price = { model = "per_unit", unit_amount = "0.024", minimum = "14.40" }

[[billed]]
start = 2024-01-01
end = 2024-02-01
amount = "13.20"
invoice = "INV-000001"

[scenarios.base]
usage = { "2024-01-01" = "100" }
"""


def test_backbill_command_reads_payments_and_issues_into_the_ledger(
    path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from meterlib.cli import main  # noqa: PLC0415

    with DocumentStore(path) as store:
        jan = store.issue(draft(path, CON, JAN), at=at(2, 1)).number  # 13.20, due 2024-03-02
        store.pay(InvoicePayment(jan, "13.20", date(2024, 6, 1)))  # paid 91 days late
    case = tmp_path / "case.toml"
    case.write_text(CASE, encoding="utf-8")
    assert main(["backbill", str(case), "--format", "json"]) == 0
    without = capsys.readouterr().out
    assert main(["backbill", str(case), "--ledger", str(path), "--issue",
                 "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == (f"payments of 1 billed periods read from {path}\n"
                            f"issued into {path}: DN-000001\n")
    assert '"paid": "13.20"' in captured.out
    assert '"number": "DN-000001"' in captured.out  # the statement shows the issued number
    assert '"number": "DN-0001"' in without  # a statement not issued: provisional
    assert '"paid": null' in without  # the case alone knows no payments
    import json  # noqa: PLC0415

    late = D(json.loads(captured.out)["statement"]["totals"]["interest"])
    on_time = D(json.loads(without)["statement"]["totals"]["interest"])
    # without payments the bill counts as paid when due: interest on 1.20 for 305 days = 0.10;
    # recorded: 14.40 unpaid for 91 days (0.36) and 1.20 for the 214 days after (0.07) = 0.43
    assert (on_time, late) == (D("0.10"), D("0.43"))
    with DocumentStore(path) as store:
        note = store.note("DN-000001")
        assert (note.invoice, note.cause) == (jan, "backbill")
        # 14.40 re-billed - 13.20 billed = 1.20, plus interest on what was unpaid
        assert note.total > D("1.20")


def test_a_statement_customer_that_is_a_display_name_does_not_block_invoice_notes(
    path: Path,
) -> None:
    with DocumentStore(path) as store:
        jan = store.issue(draft(path, CON, JAN), at=at(2, 1)).number
        named = _statement("13.20", "20", invoice=jan, customer="Acme Analytics")
        [issued] = issue_statement(store, named, at=at(12, 31)).documents
        assert (issued.customer, issued.corrects) == ("cus_1", jan)


def test_a_period_debit_note_is_listed_with_its_account(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from meterlib.cli import main  # noqa: PLC0415

    with DocumentStore(path) as store:
        [issued] = issue_statement(store, _statement("0", "3"), customer="cus_1",
                                   at=at(12, 31)).documents
        assert issued.payable
        store.pay(InvoicePayment(issued.number, "1.00", date(2025, 1, 5)))
    assert main(["invoices", "list", "--ledger", str(path), "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[1].startswith("DN-000001,debit_note,issued,cus_1,USD,2024-01-01T00:00:00+00:00,,")
    assert rows[1].endswith(",3.00,3.00,1.00,2.00")
