"""Table-like results as records with real values and as pandas DataFrames (exact sums)."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib import (
    Accumulator,
    BillingCycle,
    Invoice,
    Meter,
    MeterlibError,
    invoice,
    load_contract,
)
from meterlib._numbers import exact, exact_sum
from meterlib.backbill import load_case
from meterlib.frames import MissingDependencyError
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period

ROOT = Path(__file__).resolve().parent.parent
INVOICING = ROOT / "examples" / "invoicing"
CASE = ROOT / "examples" / "partner_overuse" / "case.toml"
JAN = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))


def usage_table() -> UsageTable:
    return UsageTable(
        {
            UsageKey("a", "calls", JAN): Decimal("0.1"),
            UsageKey("b", "calls", JAN): Decimal("0.2"),
            UsageKey("c", "calls", JAN): Decimal("1E+3"),
        }
    )


def example_invoice() -> Invoice:
    contract = load_contract(INVOICING / "contract.toml")
    return invoice(contract, load_usage_records(INVOICING / "usage-2023-03.json"), date(2023, 3, 1))


def test_usage_records_hold_decimals_and_datetimes():
    records = usage_table().to_records()
    assert exact_sum(r["value"] for r in records) == Decimal("1000.3")
    assert all(type(r["value"]) is Decimal for r in records)
    assert records[0]["period_start"] == JAN.start
    assert isinstance(records[0]["period_end"], datetime)


def test_usage_dataframe_sums_exactly():
    pytest.importorskip("pandas")
    frame = usage_table().to_pandas()
    # 0.1 + 0.2 is exactly 0.3 in Decimal (as floats it would be 0.30000000000000004), and
    # the text "0.1" + "0.2" + "1000" would concatenate. pandas adds in the caller's context.
    with exact():
        assert frame["value"].sum() == Decimal("1000.3")
    assert list(frame.columns) == [
        "customer",
        "meter",
        "period_start",
        "period_end",
        "period",
        "group",
        "value",
    ]
    assert list(UsageTable({}).to_pandas().columns) == list(frame.columns)


def test_invoice_records_sum_to_the_invoice_totals():
    bill = example_invoice()
    records = bill.to_records()
    assert len(records) == len(bill.lines)
    assert exact_sum(r["rounded"] for r in records) == bill.subtotal == Decimal("233.91")
    assert exact_sum(r["discount"] for r in records) == bill.discount_total
    assert {r["number"] for r in records} == {bill.number}
    assert isinstance(records[0]["start"], datetime)
    pytest.importorskip("pandas")
    frame = bill.to_pandas()
    with exact():
        assert frame["rounded"].sum() == bill.subtotal
        assert frame["net"].sum() == bill.subtotal - bill.discount_total


def test_statement_and_comparison_frames_sum_to_their_totals():
    case = load_case(CASE)
    statement = case.statement()
    records = statement.to_records()
    counted = [r for r in records if not r["barred"]]
    assert exact_sum(r["owed"] for r in counted) == statement.totals.total
    assert isinstance(records[0]["due"], date)
    comparison = case.compare()
    assert [r["scenario"] for r in comparison.to_records()] == list(comparison.names)
    pytest.importorskip("pandas")
    frame = statement.to_pandas()
    with exact():
        assert frame.loc[~frame["barred"], "owed"].sum() == statement.totals.total
    table = comparison.to_pandas()
    assert table.set_index("scenario").loc[statement.scenario, "total"] == statement.totals.total
    assert type(table["total"].sum()) is Decimal


def test_batch_report_records_account_for_every_event():
    meter = Meter(name="calls", event_type="api.call", aggregation="count")
    accumulator = Accumulator([meter], BillingCycle(anchor=date(2024, 1, 1)), window=JAN)
    event = {"id": "e1", "customer": "a", "type": "api.call", "time": "2024-01-05T00:00:00Z"}
    report = accumulator.add(
        [
            event,
            event,
            {**event, "customer": "b"},
            {**event, "id": "e2", "time": "nonsense"},
            {**event, "id": "e3", "time": "1999-01-01T00:00:00Z"},
        ]
    )
    records = report.to_records()
    assert sum(r["events"] for r in records) == report.received == 5
    assert {r["outcome"]: r["events"] for r in records} == {
        "accepted": 1,
        "duplicate": 1,
        "conflict": 1,
        "outside": 1,
        "rejected": 1,
    }
    problems = report.problem_records()
    assert [(p["problem"], p["event_id"]) for p in problems] == [
        ("conflict", "e1"),
        ("rejected", "e2"),
    ]
    assert problems[1]["field"] == "time"
    pytest.importorskip("pandas")
    assert report.to_pandas()["events"].sum() == report.received


def test_to_pandas_without_pandas_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes ``import pandas`` fail
    with pytest.raises(MissingDependencyError, match=r"pip install 'meterlib\[pandas\]'") as info:
        usage_table().to_pandas()
    assert isinstance(info.value, MeterlibError)
    assert isinstance(info.value, ImportError)
