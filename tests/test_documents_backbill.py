"""Back-billing on the document store: recorded payments drive interest, notes share series."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.backbill import InterestPolicy, PriceSchedule, UsageRecord, rebill
from meterlib.invoicing.lifecycle import InvoicePayment
from meterlib.invoicing.notes import credit_lines
from meterlib.ledger import Ledger
from meterlib.ledger.backbilling import billed_periods, issue_statement
from meterlib.ledger.documents import DocumentStore, DocumentStoreError
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
        [issued] = issue_statement(store, statement, at=at(12, 31))
        assert issued.number == "DN-000001"  # the store's debit-note series
        note = store.note(issued.number)
        assert (note.invoice, note.cause, note.total) == (jan, "backbill", line.owed)
        assert store.account(jan).amount_due == D("12.20") + line.owed
        assert store.corrections_of(jan) == []  # a re-valuation, not a usage correction


def test_statement_without_invoice_numbers_is_refused(path: Path) -> None:
    from meterlib.backbill import BilledPeriod  # noqa: PLC0415

    basis = PriceSchedule.single(parse_price({"model": "per_unit", "unit_amount": "1"}))
    statement = rebill(basis, [BilledPeriod(date(2024, 1, 1), date(2024, 2, 1), "0")],
                       [UsageRecord(date(2024, 1, 1), date(2024, 2, 1), "3")],
                       as_of=date(2024, 12, 31), due_days=30)
    with DocumentStore(path) as store, pytest.raises(DocumentStoreError, match="names no invoice"):
        issue_statement(store, statement)


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
