"""A metered charge with a matrix price: usage by the meter's group_by values, a line per cell."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from meterlib.errors import MeterlibError
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
from meterlib.render import render_invoice

D = Decimal

TOKENS = {
    "model": "matrix",
    "dimensions": ["model", "region"],
    "cells": [
        {"match": {"model": ["large"]}, "price": {"model": "per_unit", "unit_amount": "0.02"}},
        {
            "match": {"model": ["large"], "region": ["eu"]},
            "price": {"model": "per_unit", "unit_amount": "0.03"},
        },
    ],
    "default": {"model": "per_unit", "unit_amount": "0.01"},
}


def contract(price: dict[str, Any]) -> Contract:
    return Contract.model_validate(
        {
            "customer": "cus_1",
            "billing": {"anchor": "2023-01-01", "cadence": "monthly", "timezone": "UTC"},
            "plans": {
                "ai": {
                    "currency": "EUR",
                    "metered": [
                        {"name": "tokens", "meter": "tokens", "unit": "tokens", "price": price},
                    ],
                },
            },
            "phases": [{"start": "2023-01-01", "plan": "ai"}],
        },
    )


def table(c: Contract, cells: dict[tuple[tuple[str, str], ...], str]) -> UsageTable:
    period = c.period(2)
    return UsageTable(
        {
            UsageKey("cus_1", "tokens", Period(period.start, period.end), group): D(value)
            for group, value in cells.items()
        },
    )


USAGE: dict[tuple[tuple[str, str], ...], str] = {
    (("model", "large"), ("region", "eu"), ("tier", "pro")): "1000",
    (("model", "large"), ("region", "eu"), ("tier", "free")): "500",
    (("model", "large"), ("region", "us"), ("tier", "pro")): "2000",
    (("model", "small"), ("region", "us"), ("tier", "pro")): "7000",
}


def test_a_matrix_price_bills_a_line_per_cell_from_grouped_usage():
    c = contract(TOKENS)
    bill = invoice(c, TableUsage(table(c, USAGE)), date(2023, 3, 1))
    # large/eu: 1,500 x 0.03 = 45; large/us: 2,000 x 0.02 = 40; small/us: 7,000 x 0.01 = 70
    # ('tier' is not a dimension of the matrix: its groups add up)
    assert [(line.description, line.quantity, line.rounded) for line in bill.lines] == [
        ("tokens: cell 1 (model: large)", D(2000), D("40.00")),
        ("tokens: cell 2 (model: large; region: eu)", D(1500), D("45.00")),
        ("tokens: default", D(7000), D("70.00")),
    ]
    assert [line.unit_price for line in bill.lines] == [D("0.02"), D("0.03"), D("0.01")]
    assert all(line.rating is not None for line in bill.lines)
    assert bill.subtotal == D(155)
    # a usage table given as it is bills the same
    assert invoice(c, table(c, USAGE), date(2023, 3, 1)) == bill


def test_group_values_bills_a_line_per_combination_and_the_matrix_minimum_its_own_line():
    c = contract({**TOKENS, "group": "values", "minimum": "200"})
    bill = invoice(c, TableUsage(table(c, USAGE)), date(2023, 3, 1))
    assert [line.description for line in bill.lines] == [
        "tokens: model=large, region=us: cell 1 (model: large)",
        "tokens: model=large, region=eu: cell 2 (model: large; region: eu)",
        "tokens: model=small, region=us: default",
        "tokens: raised to the minimum 200",
    ]
    assert bill.lines[-1].rounded == D(45)  # 200 - 155
    assert bill.subtotal == D(200)
    assert invoice_from_json(invoice_to_json(bill)) == bill
    bill.check()
    assert "tokens: model=small, region=us: default" in render_invoice(bill, "text")


METER = {
    "name": "tokens",
    "type": "tokens",
    "aggregation": "sum",
    "property": "n",
    "group_by": ["model", "region"],
}


def _events(c: Contract) -> list[dict[str, Any]]:
    start = c.period(2).start
    values = [
        {"model": "large", "region": "eu", "n": "1500"},
        {"model": "large", "region": "us", "n": "2000"},
        {"model": "small", "region": "us", "n": "7000"},
    ]
    return [
        {
            "id": f"e{number}",
            "customer": "cus_1",
            "type": "tokens",
            "time": start.isoformat(),
            "properties": properties,
        }
        for number, properties in enumerate(values)
    ]


def test_a_matrix_price_rates_usage_from_an_accumulator_or_the_ledger(tmp_path):
    c = contract(TOKENS)
    period = c.period(2)
    meter = Meter.model_validate(METER)
    accumulator = Accumulator([meter], [Period(period.start, period.end)])
    accumulator.add(_events(c))
    from_accumulator = invoice(c, TableUsage(accumulator.usage()), period)
    assert [line.rounded for line in from_accumulator.lines] == [D(40), D(45), D(70)]
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.append(_events(c))
        from_ledger = invoice(c, LedgerUsage(ledger, [meter]), period)
    assert from_ledger == from_accumulator


def test_no_usage_bills_one_line_and_a_source_without_groups_is_refused():
    c = contract({**TOKENS, "minimum": "10"})
    bill = invoice(c, TableUsage(UsageTable({})), date(2023, 3, 1))
    assert [(line.description, line.rounded) for line in bill.lines] == [("tokens", D(10))]
    usage = MappingUsage({"tokens": 5}, period=c.period(2))
    with pytest.raises(MeterlibError, match="usage by group"):
        invoice(c, usage, date(2023, 3, 1))
