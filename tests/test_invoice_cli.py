"""The ``meterlib invoice`` command on the shipped example contract (examples/invoicing)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.cli import main
from meterlib.invoicing import invoice_from_json
from meterlib.ledger import Ledger
from meterlib.metering.events import UsageEvent

D = Decimal

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"
CONTRACT = str(EXAMPLE / "contract.toml")
USAGE = str(EXAMPLE / "usage-2023-03.json")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["invoice", CONTRACT, *args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_json_invoice_of_the_example_matches_the_hand_computed_figures(capsys) -> None:
    status, out, _ = run(capsys, "--usage", USAGE, "--period", "2023-03", "--format", "json")
    assert status == 0
    bill = invoice_from_json(out)
    # starter, 1-14 March (14/31 days): platform 49 x 14/31 = 22.129 -> 22.13;
    #   4 requests x 0.01 = 0.04; 2,300 tokens: 1,000 free + 1,300 x 0.003 = 3.90
    # growth, 15-31 March (17/31 days): platform 199 x 17/31 = 109.129 -> 109.13;
    #   support 30 x 17/31 = 16.451 -> 16.45; 4 requests x 0.008 = 0.032 -> 0.03;
    #   8,200 tokens: 5,000 x 0.002 + 3,200 x 0.001 = 13.20;
    #   commitment 150 x 17/31 = 82.258 -> 82.26, less usage 13.23 = true-up 69.03
    assert [line.rounded for line in bill.lines] == [
        D("22.13"), D("0.04"), D("3.90"),
        D("109.13"), D("16.45"), D("0.03"), D("13.20"), D("69.03"),
    ]
    # subtotal 233.91; upgrade offer 10 % of 109.13 = 10.913 -> 10.91
    # VAT 19 % per line on the nets 22.13, 0.04, 3.90, 98.22, 16.45, 0.03, 13.20, 69.03:
    #   4.20 + 0.01 + 0.74 + 18.66 + 3.13 + 0.01 + 2.51 + 13.12 = 42.38
    # total 233.91 - 10.91 + 42.38 = 265.38
    assert (bill.subtotal, bill.discount_total, bill.tax_total, bill.total) == (
        D("233.91"), D("10.91"), D("42.38"), D("265.38")
    )
    assert bill.lines[6].price_version is not None
    assert bill.number == "cus_initech-20230301"
    assert json.loads(out)["total"] == "265.38"


def test_text_html_and_csv_formats(capsys, tmp_path) -> None:
    status, out, _ = run(capsys, "--usage", USAGE, "--period", "2023-03-15")
    assert status == 0
    assert "Total (EUR)" in out
    assert "€265.38" in out
    target = tmp_path / "invoice.html"
    status, out, _ = run(
        capsys, "--usage", USAGE, "--period", "2023-03", "--format", "html",
        "--locale", "de_DE", "--output", str(target),
    )
    assert (status, out) == (0, "")
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "265,38\xa0€" in page
    assert "Meterworks Cloud GmbH" in page
    status, out, _ = run(capsys, "--usage", USAGE, "--period", "2023-03", "--format", "csv")
    rows = out.splitlines()
    assert rows[0].startswith("invoice,customer,kind,charge")
    assert len(rows) == 1 + 8


def test_raw_events_give_the_same_invoice_and_report_where_every_event_went(capsys) -> None:
    events = str(EXAMPLE / "events.jsonl")
    status, from_events, err = run(
        capsys, "--events", events, "--period", "2023-03", "--format", "json"
    )
    assert status == 0
    # 10 lines: evt_002 twice (one duplicate); evt_009 is 1 April 00:00 in Berlin (outside);
    # evt_003 failed, so the tokens meter's filter skips it, but api_calls counts it.
    # Before 15 March Berlin time: evt_001, 002, 003, 005 (evt_004 is 00:30 on the 15th).
    summary = (
        "events: 10 received, 8 accepted, 1 duplicates, 0 conflicts, 1 outside the period, "
        "0 unmetered, 0 rejected"
    )
    assert err.splitlines() == [summary]
    _, from_records, _ = run(capsys, "--usage", USAGE, "--period", "2023-03", "--format", "json")
    assert from_events == from_records


def test_errors_are_one_line_and_exit_2(capsys) -> None:
    status, _, err = run(capsys, "--usage", USAGE, "--period", "2023-13")
    assert status == 2
    assert "'--period' must be a month 01 to 12" in err
    status, _, err = run(capsys, "--usage", USAGE, "--period", "March")
    assert status == 2
    assert "YYYY-MM or YYYY-MM-DD" in err
    status, _, err = run(capsys, "--usage", USAGE, "--period", "2022-12")
    assert status == 2
    assert "a billing period the contract of 'cus_initech' covers" in err


def test_invoice_from_the_ledger_equals_invoice_from_usage_records(capsys, tmp_path) -> None:
    events = [
        UsageEvent.from_dict(json.loads(line))
        for line in (EXAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.append(events)
    _, from_ledger, _ = run(
        capsys, "--ledger", str(path), "--period", "2023-03", "--format", "json"
    )
    _, from_records, _ = run(capsys, "--usage", USAGE, "--period", "2023-03", "--format", "json")
    assert invoice_from_json(from_ledger) == invoice_from_json(from_records)


def test_invoice_events_meet_the_edge_reader(capsys, tmp_path) -> None:
    # A BOM on the first line is skipped, blank lines keep their numbers, a duplicate key is
    # refused naming its true line.
    lines = (EXAMPLE / "events.jsonl").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "events.jsonl"
    path.write_text("\ufeff" + "\n\n".join(lines) + "\n", encoding="utf-8")
    status, out, _ = run(capsys, "--events", str(path), "--period", "2023-03", "--format", "json")
    _, expected, _ = run(capsys, "--usage", USAGE, "--period", "2023-03", "--format", "json")
    assert status == 0
    assert invoice_from_json(out) == invoice_from_json(expected)
    path.write_text(lines[0] + "\n\n" + lines[1].replace('{"id"', '{"id": "x", "id"', 1) + "\n")
    status, _, err = run(capsys, "--events", str(path), "--period", "2023-03")
    assert status == 2
    assert ":3" in err
    assert "appears twice in one object" in err
