"""Back-billing case files, renderings (text, HTML, JSON, CSV), the chart and the CLI."""

from __future__ import annotations

import csv
import io
import json
import textwrap
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest

from meterlib.backbill import load_case
from meterlib.cli import main
from meterlib.errors import DocumentError, InvalidValueError
from meterlib.render import render_statement as render
from meterlib.render.charts import UsageChart, compact_number

CASE = """
title = "Small case"
customer = "Acme"
currency = "EUR"
as_of = 2024-06-30
due_days = 14
lookback_years = 1
unit = "calls"
basis = "list"

[interest]
method = "compound"
rates = [{ from = 2023-01-01, rate = "0.04" }, { from = 2024-01-01, rate = "0.045" }]
margin = "0.05"
day_count = "actual/360"
compounding = "monthly"

[bases.list]
[[bases.list.versions]]
from = 2023-01-01
label = "List 2023"
price = { model = "per_unit", unit_amount = "0.01", included = 1000 }

billed = []
"""


def write_case(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "case.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


GOOD = """
title = "Small case"
customer = "Acme"
currency = "EUR"
as_of = 2024-06-30
due_days = 14
lookback_years = 1
unit = "calls"
basis = "list"
billed = [
    { start = 2023-05-01, end = 2023-06-01, amount = "10.00", invoice = "A-5" },
    { start = 2023-06-01, end = 2023-07-01, amount = "10.00", invoice = "A-6", \
payments = [{ date = 2023-08-01, amount = "10.00" }] },
    { start = 2023-07-01, end = 2023-08-01, amount = "50.00", invoice = "A-7" },
]

[interest]
method = "compound"
rates = [{ from = 2023-01-01, rate = "0.04" }, { from = 2024-01-01, rate = "0.045" }]
margin = "0.05"
day_count = "actual/360"
compounding = "monthly"

[bases.list]
[[bases.list.versions]]
from = 2023-01-01
label = "List 2023"
price = { model = "per_unit", unit_amount = "0.01", included = 1000 }

[scenarios.measured]
description = "from the ledger export"
usage_table = "usage.json"
customer = "acme"
meter = "calls"

[scenarios.guess]
usage = { "2023-05-01" = 3000, "2023-06-01" = "2000", "2023-07-01" = "1000" }
"""

USAGE = [
    {"customer": "acme", "meter": "calls", "period_start": f"2023-0{m}-01T00:00:00+00:00",
     "period_end": f"2023-0{m + 1}-01T00:00:00+00:00", "period": f"2023-0{m}", "group": "",
     "value": v}
    for m, v in ((5, "3000"), (6, "2000"), (7, "1000"))
]


@pytest.fixture
def case_path(tmp_path: Path) -> Path:
    (tmp_path / "usage.json").write_text(json.dumps(USAGE), encoding="utf-8")
    return write_case(tmp_path, GOOD)


def test_case_file_loads_every_source(case_path):
    case = load_case(case_path)
    assert case.currency == "EUR"
    assert [s.name for s in case.scenarios] == ["measured", "guess"]
    measured, guess = case.statement("measured"), case.statement("guess")
    assert [line.usage for line in measured.lines] == [3000, 2000, 1000]
    assert measured.totals == guess.totals
    # May: (3000 - 1000) x 0.01 = 20 -> delta 10; July: 0 re-billed vs 50 billed -> credit 50.
    assert [line.delta for line in measured.lines] == [
        Decimal("10.00"), Decimal("0.00"), Decimal("-50.00")
    ]
    assert measured.lines[0].allowance == Decimal(1000)
    # Cutoff 2023-06-30: May is due 2023-06-15 and barred.
    assert measured.lines[0].barred
    # June: paid 2023-08-01, 17 days after its due date 2023-07-15, on a delta of zero: the
    # original invoice was paid late, so it owes interest: 10 x (4% + 5%) x 17 / 360 = 0.0425
    # by the payment. That interest stays unpaid and compounds monthly from 2023-08-15 to the
    # valuation date (under 11 months of at most 31 days at 9% to 9.5%), so it ends between
    # 0.0425 and 0.0425 x (1 + 0.095 x 31 / 360) ** 11 = 0.04643 and rounds to 0.05.
    june = measured.lines[1]
    bound = Fraction(425, 10000) * (1 + Fraction(95, 1000) * 31 / 360) ** 11
    assert Fraction(425, 10000) < june.interest_exact < bound
    assert june.interest == Decimal("0.05")
    kinds = [(d.kind, d.period) for d in measured.documents]
    assert kinds == [("debit_note", "2023-06"), ("credit_note", "2023-07")]


def test_case_statement_overrides(case_path):
    case = load_case(case_path)
    earlier = case.statement("guess", as_of=date(2023, 12, 31))
    assert earlier.cutoff == date(2022, 12, 31)
    assert not any(line.barred for line in earlier.lines)
    with pytest.raises(InvalidValueError, match="'scenario' must be one of"):
        case.statement("nope")
    with pytest.raises(InvalidValueError, match="'basis' must be one of list"):
        case.statement(basis="nope")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("unit = \"calls\"", "unit = \"calls\"\ncolour = \"red\""), "unknown keys \\['colour'\\]"),
        (("as_of = 2024-06-30\n", ""), "as_of: is required"),
        (("method = \"compound\"", "method = \"weird\""), "interest.method: must be one of"),
        (("due_days = 14", "due_days = -1"), "due_days: must be a whole number"),
        (("amount = \"10.00\", invoice = \"A-5\"", "amount = \"ten\""), "billed.0.amount"),
        (("basis = \"list\"", "basis = \"other\""), "basis: must name one of the bases"),
        (("usage_table = \"usage.json\"", "usage_file = \"x.csv\"\nusage_table = \"u.json\""),
         "exactly one of"),
    ],
)
def test_case_file_errors_name_the_key(tmp_path, change, message):
    (tmp_path / "usage.json").write_text(json.dumps(USAGE), encoding="utf-8")
    old, new = change
    assert old in GOOD
    path = write_case(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises((DocumentError, InvalidValueError), match=message):
        load_case(path)


def test_misplaced_key_after_a_table_header_is_caught(tmp_path):
    with pytest.raises(DocumentError, match=r"bases\.list\.versions\.0: unknown keys \['billed'\]"):
        load_case(write_case(tmp_path, CASE))


def test_text_rendering_is_a_readable_statement(case_path):
    statement = load_case(case_path).statement("measured")
    text = render(statement, "text")
    assert text.startswith("SMALL CASE\n")
    assert "Customer:   Acme" in text
    assert "TOTAL OWED" in text or "TOTAL TO REFUND" in text
    assert "time-barred" in text
    assert "CN-0001" in text
    assert "A-7" in text
    assert "€" in text
    german = render(statement, "text", locale="de_DE")
    assert "30.06.2024" in german
    assert "-50,00\xa0€" in german


def test_json_and_csv_carry_exact_figures(case_path):
    case = load_case(case_path)
    statement = case.statement("measured")
    data = json.loads(render(statement, "json"), parse_float=Decimal)
    assert data["periods"][2]["delta"] == "-50.00"
    assert data["periods"][0]["breakdown"][0]["unit_amount"] == "0.01"
    assert data["totals"]["total"] == format(statement.totals.total, "f")
    both = json.loads(render(statement, "json", comparison=case.compare()))
    assert [row["scenario"] for row in both["scenarios"]] == ["measured", "guess"]
    rows = list(csv.DictReader(io.StringIO(render(statement, "csv"))))
    assert [row["barred"] for row in rows] == ["true", "false", "false"]
    assert rows[0]["paid"] == ""


def test_html_document_and_jupyter_fragments(case_path):
    case = load_case(case_path)
    statement = case.statement("measured")
    page = render(statement, "html", comparison=case.compare())
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    assert "Scenarios" in page
    assert "<table" in statement._repr_html_()
    assert "measured" in case.compare()._repr_html_()
    assert "<script" not in page


def test_records_feed_a_dataframe(case_path):
    statement = load_case(case_path).statement("measured")
    records = statement.to_records()
    assert records[0]["period"] == "2023-05"
    assert records[0]["barred"] is True
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame(records)
    assert list(frame["period"]) == ["2023-05", "2023-06", "2023-07"]


def test_usage_chart_svg(case_path):
    svg = UsageChart(load_case(case_path).statement("measured")).svg()
    assert svg.startswith("<svg")
    assert svg.count("<rect") >= 4
    assert "linear scale" in svg
    assert "2023-07" in svg
    assert compact_number(Decimal(12500000)) == "12.5M"
    assert compact_number(Decimal(10000)) == "10k"
    assert compact_number(Decimal(5)) == "5"


def test_cli_backbill_formats_and_errors(case_path, tmp_path, capsys):
    assert main(["backbill", str(case_path), "--scenario", "guess"]) == 0
    out = capsys.readouterr().out
    assert "SCENARIOS" in out
    target = tmp_path / "s.html"
    assert main(["backbill", str(case_path), "--format", "html", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "wrote" in capsys.readouterr().out
    assert main(["backbill", str(case_path), "--rates", "0.05,0.09", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [row["scenario"] for row in data["scenarios"]] == [
        "measured @ 5%", "measured @ 9%", "guess @ 5%", "guess @ 9%"
    ]
    assert main(["backbill", str(case_path), "--as-of", "2024-13-01"]) == 2
    assert "'--as-of' must be a date" in capsys.readouterr().err
    assert main(["backbill", str(tmp_path / "missing.toml")]) == 2
