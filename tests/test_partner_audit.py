"""examples/partner_overuse/: the audit of the same partner from its shipped event file.

The ledger built from reads.jsonl (three applications, daily events) holds exactly the base
usage of usage.csv, so the audit's statement equals the back-billing case's statement; the
shipped report files are what the commands print today.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.backbill import load_case
from meterlib.cli import main

HERE = Path(__file__).resolve().parent.parent / "examples" / "partner_overuse"
AUDIT = [str(HERE / "audit.toml"), "--from", "2023-02-01", "--to", "2024-05-01"]
STATEMENT = [
    "--statement",
    "--as-of",
    "2024-12-31",
    "--interest",
    "0.09",
    "--lookback-years",
    "6",
    "--title",
    "Back-billing statement: API overuse (from the audit)",
]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("partner") / "partner.sqlite"
    assert main(["ingest", str(HERE / "reads.jsonl"), "--ledger", str(path)]) == 0
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_the_shipped_report_and_statement_are_current(ledger, capsys) -> None:
    report = run(capsys, "audit", *AUDIT, "--ledger", ledger, "--group-by", "app")
    assert report == (HERE / "audit.txt").read_text(encoding="utf-8")
    statement = run(capsys, "audit", *AUDIT, "--ledger", ledger, *STATEMENT)
    assert statement == (HERE / "audit-statement.txt").read_text(encoding="utf-8")


def test_the_audit_agrees_with_the_case(ledger, capsys) -> None:
    import json  # noqa: PLC0415

    data = json.loads(run(capsys, "audit", *AUDIT, "--ledger", ledger, "--format", "json"))
    with (HERE / "usage.csv").open(newline="", encoding="utf-8") as file:
        base = {row["period_start"]: Decimal(row["base"]) for row in csv.DictReader(file)}
    assert {p["start"][:10]: Decimal(p["usage"]) for p in data["periods"]} == base
    statement = load_case(HERE / "case.toml").statement("base")
    audited = json.loads(
        run(capsys, "audit", *AUDIT, "--ledger", ledger, *STATEMENT, "--format", "json")
    )
    assert Decimal(audited["totals"]["total"]) == statement.totals.total
    assert Decimal(data["totals"]["value"]) == statement.totals.delta
