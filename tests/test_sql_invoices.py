"""Invoices from one DuckDB usage query equal the engine's invoices from span-by-span usage."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from meterlib.errors import InvalidValueError
from meterlib.invoicing import Contract, invoice, invoice_to_json
from meterlib.metering.meters import Meter
from meterlib.periods import Period
from meterlib.sql import usage_from_source
from meterlib.sql.invoices import invoices_from_source

pytest.importorskip("duckdb")

CALLS = Meter.model_validate(
    {"name": "calls", "type": "api", "aggregation": "sum", "property": "n", "group_by": ["tier"]}
)
PLANS = {
    "cheap": {
        "currency": "USD",
        "metered": [
            {
                "name": "calls",
                "meter": "calls",
                "price": {"model": "per_unit", "unit_amount": "0.0015"},
            }
        ],
    },
    "dear": {
        "currency": "USD",
        "fees": [{"name": "base", "amount": "10"}],
        "metered": [
            {
                "name": "calls",
                "meter": "calls",
                "price": {"model": "per_unit", "unit_amount": "0.01"},
            }
        ],
    },
}


def _contract(customer: str, phases: list[dict[str, str]], zone: str = "UTC") -> Contract:
    return Contract.model_validate(
        {
            "customer": customer,
            "billing": {"anchor": "2023-01-01", "cadence": "monthly", "timezone": zone},
            "plans": PLANS,
            "phases": phases,
        }
    )


CONTRACTS = [
    _contract("a", [{"start": "2023-01-01", "plan": "cheap"}]),
    # a plan change in mid-March: March is billed in two segments
    _contract(
        "b", [{"start": "2023-01-01", "plan": "cheap"}, {"start": "2023-03-15", "plan": "dear"}]
    ),
    # another time zone: spans that overlap the UTC months
    _contract("c", [{"start": "2023-01-01", "plan": "dear"}], zone="Europe/Berlin"),
]


def _events(path: Path) -> Path:
    lines = []
    for i in range(300):
        customer = "abc"[i % 3]
        day = 1 + i % 28
        month = 2 + i % 3
        event = {
            "id": f"e{i}",
            "customer": customer,
            "type": "api",
            "time": f"2023-{month:02d}-{day:02d}T{i % 24:02d}:30:00Z",
            "properties": {"n": str(1 + i % 7), "tier": "gold" if i % 2 else "free"},
        }
        lines.append(json.dumps(event))
        if i % 50 == 0:
            lines.append(json.dumps(event))  # a duplicate
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class _SpanUsage:
    """Usage asked span by span from DuckDB (the slow, obvious way)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        table = usage_from_source(self.path, [CALLS], [Period(start, end)], customer=customer)
        return table.quantity(customer, meter, start, end)

    def groups(self, customer: str, meter: str, start: datetime, end: datetime) -> Any:
        table = usage_from_source(self.path, [CALLS], [Period(start, end)], customer=customer)
        return {key.group: value for key, value in table.items() if key.meter == meter}


def test_invoices_equal_the_engine_with_span_by_span_usage(tmp_path: Path) -> None:
    path = _events(tmp_path / "events.jsonl")
    result = invoices_from_source(path, CONTRACTS, [1, 2, 3], meters=[CALLS])
    slow = _SpanUsage(path)
    expected = [invoice(c, slow, c.period(i)) for c in CONTRACTS for i in (1, 2, 3)]
    assert list(result.invoices) == expected
    assert sum(bill.total for bill in result.invoices) > 0
    assert result.report.duplicates == 6
    assert result.report.received == 306


def test_meters_come_from_the_contracts_or_are_refused(tmp_path: Path) -> None:
    path = _events(tmp_path / "events.jsonl")
    with pytest.raises(InvalidValueError, match="meters"):
        invoices_from_source(path, CONTRACTS, [1])
    with pytest.raises(InvalidValueError, match="contracts"):
        invoices_from_source(path, [], [1], meters=[CALLS])


def test_periods_a_contract_does_not_cover_are_skipped(tmp_path: Path) -> None:
    path = _events(tmp_path / "events.jsonl")
    late = _contract("a", [{"start": "2023-03-01", "plan": "cheap"}])
    result = invoices_from_source(path, [late], [1, 2], meters=[CALLS])
    assert [bill.period.start for bill in result.invoices] == [datetime(2023, 3, 1, tzinfo=UTC)]


OTHER_METERS = [
    CALLS,
    Meter.model_validate(
        {"name": "seats", "type": "api", "aggregation": "weighted_sum", "property": "n"}
    ),
    Meter.model_validate({"name": "peak", "type": "api", "aggregation": "max", "property": "n"}),
    Meter.model_validate({"name": "hits", "type": "api", "aggregation": "count"}),
    Meter.model_validate(
        {"name": "tiers", "type": "api", "aggregation": "unique_count", "property": "tier"}
    ),
]


class _AllSpanUsage(_SpanUsage):
    """Every meter, asked span by span."""

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        table = usage_from_source(self.path, OTHER_METERS, [Period(start, end)], customer=customer)
        return table.quantity(customer, meter, start, end)


def test_every_aggregation_bills_what_span_by_span_usage_bills(tmp_path: Path) -> None:
    """Weighted sums (a quotient per cell), maxima, counts: the cells keep the engine's figures."""
    path = _events(tmp_path / "events.jsonl")
    plan = {
        "currency": "USD",
        "metered": [
            {
                "name": meter.name,
                "meter": meter.name,
                "price": {"model": "per_unit", "unit_amount": "1"},
            }
            for meter in OTHER_METERS
        ],
    }
    contracts = [
        Contract.model_validate(
            {
                "customer": customer,
                "billing": {"anchor": "2023-01-01", "cadence": "monthly", "timezone": zone},
                "plans": {"all": plan},
                "phases": [{"start": "2023-01-01", "plan": "all"}],
            }
        )
        for customer, zone in (("a", "UTC"), ("b", "Europe/Berlin"), ("c", "UTC"))
    ]
    result = invoices_from_source(path, contracts, [1, 2, 3], meters=OTHER_METERS)
    slow = _AllSpanUsage(path)
    expected = [invoice(c, slow, c.period(i)) for c in contracts for i in (1, 2, 3)]
    assert list(result.invoices) == expected
    assert [invoice_to_json(bill) for bill in result.invoices] == [
        invoice_to_json(bill) for bill in expected
    ]  # the same figures, written the same way
    quantities = {line.quantity for bill in result.invoices for line in bill.lines}
    assert any(q != q.to_integral_value() for q in quantities)  # a weighted sum's quotient
