"""Laws every invoice obeys, on random plans, contracts, plan changes and usage."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.invoicing import (
    Contract,
    LedgerUsage,
    MappingUsage,
    TableUsage,
    invoice,
    invoice_from_json,
    invoice_to_json,
)
from meterlib.ledger import Ledger
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import Meter
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.rounding import quantum
from meterlib.testing.contracts import MARCH, METERS, contracts, mapping_usage, span_usage
from meterlib.testing.strategies import decimals

_ZERO = Decimal(0)


@st.composite
def billed(draw: st.DrawFn) -> tuple[Contract, dict[tuple[str, Any, Any], Decimal]]:
    contract = draw(contracts())
    return contract, draw(span_usage(contract))


@given(billed())
def test_total_is_the_sum_of_its_rounded_parts(case) -> None:
    contract, usage = case
    bill = invoice(contract, mapping_usage(usage), contract.period(MARCH))
    bill.check()
    unit = quantum(bill.currency)
    assert bill.subtotal == sum((line.rounded for line in bill.lines), _ZERO)
    assert bill.discount_total == sum((line.discount for line in bill.lines), _ZERO)
    assert bill.discount_total == sum((d.amount for d in bill.discounts), _ZERO)
    assert bill.tax_total == sum((t.amount for t in bill.taxes), _ZERO)
    assert bill.total == bill.subtotal - bill.discount_total + bill.tax_total
    for line in bill.lines:
        assert line.rounded == line.rounded.quantize(unit)
        assert line.net == line.rounded - line.discount


@given(billed())
def test_discounts_never_make_a_line_or_the_total_negative(case) -> None:
    contract, usage = case
    bill = invoice(contract, mapping_usage(usage), contract.period(MARCH))
    for line in bill.lines:
        assert _ZERO <= line.discount <= line.rounded
    assert bill.discount_total <= bill.subtotal
    assert bill.total >= 0
    assert all(tax.amount >= 0 for tax in bill.taxes)


@given(billed())
def test_usage_from_a_usage_table_equals_usage_as_a_mapping(case) -> None:
    contract, usage = case
    # The same figures as usage-table cells (as an accumulator or the ledger returns them),
    # split over two groups to check that groups are summed.
    cells = {}
    for (meter, start, end), value in usage.items():
        half = (value / 2).quantize(Decimal("0.001"))
        cells[UsageKey(contract.customer, meter, Period(start, end), (("g", "a"),))] = half
        cells[UsageKey(contract.customer, meter, Period(start, end), (("g", "b"),))] = value - half
    table = UsageTable(cells)
    from_mapping = invoice(contract, mapping_usage(usage), contract.period(MARCH))
    from_table = invoice(contract, TableUsage(table), contract.period(MARCH))
    from_slow_table = invoice(contract, table, contract.period(MARCH))
    assert from_table == from_mapping
    assert from_slow_table == from_mapping


@st.composite
def billed_events(draw: st.DrawFn) -> tuple[Contract, list[dict[str, Any]], dict[Any, Decimal]]:
    """A contract, raw events inside March's segments, and their sums per (meter, span)."""
    contract = draw(contracts())
    events: list[dict[str, Any]] = []
    sums: dict[tuple[str, Any, Any], Decimal] = {}
    for segment in contract.segments(contract.period(MARCH)):
        for meter in METERS:
            values = draw(st.lists(decimals(0, 10_000, places=2), max_size=4))
            for value in values:
                offset = draw(st.integers(min_value=0, max_value=86_399))
                events.append({
                    "id": f"e{len(events)}",
                    "customer": contract.customer,
                    "type": meter,
                    "time": (segment.start + timedelta(seconds=offset)).isoformat(),
                    "properties": {"q": str(value)},
                })
            sums[(meter, segment.start, segment.end)] = sum(values, _ZERO)
    # an event sent twice is counted once
    if events:
        events.append(dict(events[0]))
    return contract, events, sums


@given(billed_events())
def test_usage_aggregated_from_events_equals_usage_as_a_mapping(case) -> None:
    contract, events, sums = case
    period = contract.period(MARCH)
    spans = [Period(s.start, s.end) for s in contract.segments(period)]
    meters = [
        Meter.model_validate({"name": m, "type": m, "aggregation": "sum", "property": "q"})
        for m in METERS
    ]
    accumulator = Accumulator(meters, spans)
    report = accumulator.add(events)
    repeated = 1 if events else 0
    assert (report.accepted, report.duplicates) == (len(events) - repeated, repeated)
    from_events = invoice(contract, TableUsage(accumulator.usage()), period)
    from_mapping = invoice(contract, MappingUsage(spans=sums), period)
    assert from_events == from_mapping


@settings(max_examples=25, deadline=None)
@given(billed_events())
def test_usage_from_the_ledger_equals_usage_as_a_mapping(case) -> None:
    contract, events, sums = case
    period = contract.period(MARCH)
    meters = [
        Meter.model_validate({"name": m, "type": m, "aggregation": "sum", "property": "q"})
        for m in METERS
    ]
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
        report = ledger.append(events)
        repeated = 1 if events else 0
        assert (report.accepted, report.duplicates) == (len(events) - repeated, repeated)
        from_ledger = invoice(contract, LedgerUsage(ledger, meters), period)
    from_mapping = invoice(contract, MappingUsage(spans=sums), period)
    assert from_ledger == from_mapping


@given(billed())
def test_invoice_survives_a_json_round_trip(case) -> None:
    contract, usage = case
    bill = invoice(contract, mapping_usage(usage), contract.period(MARCH))
    again = invoice_from_json(invoice_to_json(bill))
    assert again == bill
    assert invoice_to_json(again) == invoice_to_json(bill)
