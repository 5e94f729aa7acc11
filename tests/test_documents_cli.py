"""The document commands on the example contract: issue, list, show, pay, credit-note, void,
recheck; every form of output."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import EXACT, exact_sum
from meterlib.cli import main
from meterlib.invoicing import invoice_from_json
from meterlib.ledger import Ledger
from meterlib.metering.events import UsageEvent

D = Decimal
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"
CONTRACT = str(EXAMPLE / "contract.toml")


def events() -> list[UsageEvent]:
    lines = (EXAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [UsageEvent.from_dict(json.loads(line)) for line in lines if line.strip()]


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as book:
        book.append(events(), received_at=UsageEvent.from_dict(
            {"id": "x", "customer": "c", "type": "t", "time": "2023-03-31T00:00:00+00:00",
             "properties": {}}).time)
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_draft_issue_show_pay_credit_void(capsys: pytest.CaptureFixture[str], ledger: str) -> None:
    status, draft, _ = run(capsys, "invoice", CONTRACT, "--ledger", ledger, "--period",
                           "2023-03", "--format", "json")
    assert status == 0
    assert invoice_from_json(draft).number == "cus_initech-20230301"  # a draft: not stored
    assert run(capsys, "invoices", "list", "--ledger", ledger)[1].splitlines()[1:] == []

    status, issued, err = run(capsys, "invoice", CONTRACT, "--ledger", ledger, "--period",
                              "2023-03", "--issue", "--at", "2023-04-02T10:00:00+02:00",
                              "--format", "json")
    assert status == 0
    assert err == ""
    bill = invoice_from_json(issued)
    assert bill.number == "INV-000001"
    total = bill.total
    # show --format json is the stored body, byte for byte
    assert run(capsys, "invoices", "show", "INV-000001", "--ledger", ledger,
               "--format", "json")[1] == issued

    status, text, err = run(capsys, "invoices", "pay", "INV-000001", "--amount", "100.00",
                            "--date", "2023-04-10", "--reference", "SEPA-1", "--ledger", ledger)
    assert status == 0
    assert "Status             issued" in text
    assert f"Remaining balance  €{EXACT.subtract(total, 100):,.2f}" in text

    status, note, _ = run(capsys, "credit-note", "INV-000001", "--line", "1=2.13",
                          "--reason", "outage", "--ledger", ledger)
    assert status == 0
    assert "Credit note CN-000001" in note
    assert "Corrects invoice: INV-000001" in note
    assert "[line 1]  -€2.13" in note

    status, out, _ = run(capsys, "invoices", "list", "--ledger", ledger, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["number"], r["kind"], r["status"]) for r in rows] == [
        ("INV-000001", "invoice", "issued"), ("CN-000001", "credit_note", "issued")]
    assert D(rows[0]["amount_due"]) == EXACT.subtract(total, D("2.13"))
    assert D(rows[0]["remaining"]) == EXACT.subtract(total, D("102.13"))

    status, html, _ = run(capsys, "invoices", "show", "INV-000001", "--ledger", ledger,
                          "--format", "html")
    assert 'data-status="issued"' in html
    assert "Amount paid" in html
    assert "Amount due" in html

    status, out, err = run(capsys, "invoices", "void", "INV-000001", "--reason", "wrong plan",
                           "--replace", CONTRACT, "--ledger", ledger)
    assert status == 0
    assert err == "replacement issued: INV-000002\n"
    assert "Status                  void" in out
    assert "Replaced by             INV-000002" in out
    status, out, _ = run(capsys, "invoices", "show", "INV-000002", "--ledger", ledger)
    assert "Amount paid        €100.00" in out  # the payment moved to the replacement


def test_errors_are_one_line_with_status_2(capsys: pytest.CaptureFixture[str],
                                           ledger: str) -> None:
    status, _, err = run(capsys, "invoices", "show", "INV-000009", "--ledger", ledger)
    assert status == 2
    assert err == ("meterlib invoices: error: no issued document numbered 'INV-000009'\n")
    status, _, err = run(capsys, "invoice", CONTRACT, "--events",
                         str(EXAMPLE / "events.jsonl"), "--period", "2023-03", "--issue")
    assert status == 2
    assert "'--issue' must be given with --ledger" in err


def test_recheck_issues_a_note_for_late_usage(capsys: pytest.CaptureFixture[str],
                                                    ledger: str) -> None:
    run(capsys, "invoice", CONTRACT, "--ledger", ledger, "--period", "2023-03", "--issue",
        "--at", "2023-04-02T10:00:00+02:00")
    late = UsageEvent.from_dict({
        "id": "late_1", "customer": "cus_initech", "type": "api.request",
        "time": "2023-03-30T09:00:00+02:00", "properties": {"tokens": "1000", "status": "ok"}})
    with Ledger(ledger) as book:
        book.append([late])
    status, out, _ = run(capsys, "invoices", "recheck", CONTRACT, "--ledger", ledger)
    assert status == 0
    assert out.splitlines()[0] == "1 issued periods checked, 1 with late events"
    # 1,000 late tokens in the Growth segment: requests +0.01, tokens +1.00, but the
    # commitment true-up shrinks by 1.01 and VAT (rounded per line) by 0.01: a credit of 0.01
    assert "issued credit_note CN-000001 for INV-000001: -0.01" in out
    status, note, _ = run(capsys, "invoices", "show", "CN-000001", "--ledger", ledger)
    assert "Tokens processed  [line 7]  €1.00" in note
    assert "Minimum commitment true-up  [line 8]  -€1.01" in note
    assert "late events: late_1 (received " in note
    assert "Reason: usage received after the invoice was issued (late usage)" in note


def test_late_usage_billed_on_the_next_invoice(capsys: pytest.CaptureFixture[str],
                                               ledger: str) -> None:
    run(capsys, "invoice", CONTRACT, "--ledger", ledger, "--period", "2023-03", "--issue",
        "--at", "2023-04-02T10:00:00+02:00")
    late = UsageEvent.from_dict({
        "id": "late_1", "customer": "cus_initech", "type": "api.request",
        "time": "2023-03-30T09:00:00+02:00", "properties": {"tokens": "1000", "status": "ok"}})
    with Ledger(ledger) as book:
        book.append([late])
    status, out, err = run(capsys, "invoice", CONTRACT, "--ledger", ledger, "--period",
                           "2023-04", "--issue", "--with-corrections", "--format", "json")
    assert status == 0
    assert err == "correction lines for 1 earlier invoices added\n"
    april = invoice_from_json(out)
    fixes = [line for line in april.lines if line.corrects is not None]
    assert {line.corrects.invoice for line in fixes if line.corrects} == {"INV-000001"}
    assert exact_sum(line.rounded for line in fixes) == D("-0.01")
    # billed once: the next re-check finds nothing left for March
    status, out, _ = run(capsys, "invoices", "recheck", CONTRACT, "--ledger", ledger)
    assert out == "2 issued periods checked, 1 with late events\n"  # no correction, no note
