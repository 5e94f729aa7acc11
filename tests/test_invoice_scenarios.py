"""Scenario tests: small contracts with invoices worked out by hand (arithmetic in comments)."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from meterlib.errors import WrongTypeError
from meterlib.invoicing import (
    Contract,
    Invoice,
    LineKind,
    MappingUsage,
    TaxRounding,
    invoice,
    invoice_from_json,
    invoice_to_json,
)

D = Decimal


def contract(plans: dict[str, Any], phases: list[tuple[str, str]], **extra: Any) -> Contract:
    return Contract.model_validate(
        {
            "customer": "cus_1",
            "billing": {"anchor": "2023-01-01", "cadence": "monthly", "timezone": "UTC"},
            "plans": plans,
            "phases": [{"start": start, "plan": plan} for start, plan in phases],
            **extra,
        },
    )


def figures(bill: Invoice) -> list[tuple[str, str, D, D]]:
    return [(line.kind.value, line.charge, line.rounded, line.discount) for line in bill.lines]


def test_flat_fee_plus_overage() -> None:
    c = contract(
        {
            "api": {
                "currency": "USD",
                "fees": [{"name": "platform", "amount": "99"}],
                "metered": [
                    {
                        "name": "calls",
                        "meter": "calls",
                        "unit": "calls",
                        "price": {
                            "model": "per_unit",
                            "unit_amount": "0.0004",
                            "included": "100000",
                        },
                    },
                ],
            },
        },
        [("2023-01-01", "api")],
    )
    usage = MappingUsage({"calls": 123_456}, period=c.period(2))
    bill = invoice(c, usage, date(2023, 3, 1))
    # platform: 99.00 for the whole month
    # calls: 123,456 - 100,000 included = 23,456 billable x 0.0004 = 9.3824 -> 9.38
    assert figures(bill) == [
        ("fee", "platform", D("99.00"), D(0)),
        ("usage", "calls", D("9.38"), D(0)),
    ]
    calls = bill.lines[1]
    assert calls.amount == D("9.3824")
    assert calls.quantity == 123_456
    assert calls.rating is not None
    assert calls.rating.included == 100_000
    assert calls.unit_price == D("0.0004")
    # subtotal 99.00 + 9.38 = 108.38; no discount, no tax
    assert (bill.subtotal, bill.discount_total, bill.tax_total, bill.total) == (
        D("108.38"), D(0), D(0), D("108.38")
    )
    assert bill.number == "cus_1-20230301"
    assert (bill.issued_on, bill.due_on) == (date(2023, 4, 1), date(2023, 5, 1))


GRADUATED = {
    "api": {
        "currency": "USD",
        "metered": [
            {
                "name": "calls",
                "meter": "calls",
                "versions": [
                    {
                        "effective_from": "2023-01-01",
                        "price": {
                            "model": "graduated",
                            "tiers": [
                                {"up_to": "1000", "unit_amount": "0.05"},
                                {"unit_amount": "0.03"},
                            ],
                        },
                    },
                    {
                        "effective_from": "2023-03-01",
                        "price": {
                            "model": "graduated",
                            "tiers": [
                                {"up_to": "1000", "unit_amount": "0.04"},
                                {"unit_amount": "0.02"},
                            ],
                        },
                    },
                    {
                        "effective_from": "2023-03-10",
                        "price": {"model": "per_unit", "unit_amount": "0.01"},
                    },
                ],
            },
        ],
    },
}


def test_graduated_plan_across_a_price_change() -> None:
    c = contract(GRADUATED, [("2023-01-01", "api")])
    bills = {
        month: invoice(
            c, MappingUsage({"calls": 2500}, period=c.period(month - 1)), c.period(month - 1)
        )
        for month in (2, 3, 4)
    }
    # February: version of 2023-01-01: 1,000 x 0.05 = 50 + 1,500 x 0.03 = 45 -> 95.00
    feb = bills[2].lines[0]
    assert (feb.price_version, feb.rounded) == (date(2023, 1, 1), D("95.00"))
    assert [(t.quantity, t.unit_amount, t.amount) for t in feb.tiers] == [
        (D(1000), D("0.05"), D("50.00")),
        (D(1500), D("0.03"), D("45.00")),
    ]
    # March starts on the day the 2023-03-01 version takes effect:
    # 1,000 x 0.04 = 40 + 1,500 x 0.02 = 30 -> 70.00. The version of 2023-03-10 starts inside
    # March, so it prices only periods starting on or after 10 March.
    mar = bills[3].lines[0]
    assert (mar.price_version, mar.rounded) == (date(2023, 3, 1), D("70.00"))
    # April: version of 2023-03-10: 2,500 x 0.01 = 25.00
    apr = bills[4].lines[0]
    assert (apr.price_version, apr.rounded, apr.unit_price) == (
        date(2023, 3, 10), D("25.00"), D("0.01")
    )
    assert [b.total for b in bills.values()] == [D("95.00"), D("70.00"), D("25.00")]


def test_mid_period_upgrade_prorates_fees_and_rates_each_side() -> None:
    c = contract(
        {
            "basic": {
                "currency": "USD",
                "fees": [{"name": "platform", "amount": "30"}],
                "metered": [
                    {"name": "calls", "meter": "calls",
                     "price": {"model": "per_unit", "unit_amount": "0.10"}},
                ],
            },
            "pro": {
                "currency": "USD",
                "fees": [{"name": "platform", "amount": "90"}],
                "metered": [
                    {"name": "calls", "meter": "calls",
                     "price": {"model": "per_unit", "unit_amount": "0.05", "included": "1000"}},
                ],
            },
        },
        [("2023-01-01", "basic"), ("2023-05-11", "pro")],
    )
    usage = MappingUsage(
        spans={
            ("calls", date(2023, 5, 1), date(2023, 5, 11)): 120,
            ("calls", date(2023, 5, 11), date(2023, 6, 1)): 1500,
        },
    )
    bill = invoice(c, usage, date(2023, 5, 1))
    assert [(line.plan, line.charge, line.rounded) for line in bill.lines] == [
        # basic, 1-10 May = 10 of 31 days: 30 x 10/31 = 9.677... -> 9.68
        ("basic", "platform", D("9.68")),
        # basic's price for the usage before the change: 120 x 0.10 = 12.00
        ("basic", "calls", D("12.00")),
        # pro, 11-31 May = 21 of 31 days: 90 x 21/31 = 60.967... -> 60.97
        ("pro", "platform", D("60.97")),
        # pro's price, its own allowance: (1,500 - 1,000) x 0.05 = 25.00
        ("pro", "calls", D("25.00")),
    ]
    assert bill.lines[0].proration == (10, 31)
    assert bill.lines[2].proration == (21, 31)
    assert bill.lines[2].start.date() == date(2023, 5, 11)
    # 9.68 + 12.00 + 60.97 + 25.00 = 107.65
    assert bill.total == D("107.65")


def test_minimum_commitment_true_up() -> None:
    plans = {
        "committed": {
            "currency": "USD",
            "commitment": "500",
            "fees": [{"name": "platform", "amount": "50"}],
            "metered": [
                {"name": "compute", "meter": "cpu_hours",
                 "price": {"model": "per_unit", "unit_amount": "0.40"}},
                {"name": "storage", "meter": "gb",
                 "price": {"model": "per_unit", "unit_amount": "0.151"}},
            ],
        },
    }
    c = contract(plans, [("2023-01-01", "committed")])
    low = invoice(c, MappingUsage({"cpu_hours": 300, "gb": 500}, period=c.period(0)), c.period(0))
    # compute 300 x 0.40 = 120.00; storage 500 x 0.151 = 75.50; usage 195.50 < 500:
    # true-up 500 - 195.50 = 304.50 (the platform fee does not count towards the commitment)
    assert figures(low) == [
        ("fee", "platform", D("50.00"), D(0)),
        ("usage", "compute", D("120.00"), D(0)),
        ("usage", "storage", D("75.50"), D(0)),
        ("commitment", "commitment", D("304.50"), D(0)),
    ]
    true_up = low.lines[3]
    assert true_up.kind is LineKind.COMMITMENT
    assert [(row.description, row.amount) for row in true_up.tiers] == [
        ("minimum commitment", D("500.00")),
        ("usage charges billed", D("-195.50")),
    ]
    # 50.00 + 120.00 + 75.50 + 304.50 = 550.00
    assert low.total == D("550.00")
    high_usage = MappingUsage({"cpu_hours": 1000, "gb": 1000}, period=c.period(0))
    high = invoice(c, high_usage, c.period(0))
    # 1,000 x 0.40 = 400.00 + 1,000 x 0.151 = 151.00 = 551.00 >= 500: no true-up
    assert [line.kind for line in high.lines] == [LineKind.FEE, LineKind.USAGE, LineKind.USAGE]
    assert high.total == D("601.00")


def _discount_and_tax(rounding: TaxRounding) -> Invoice:
    plans = {
        "api": {
            "currency": "EUR",
            "fees": [{"name": "platform", "amount": "25"}],
            "metered": [
                {"name": "calls", "meter": "calls",
                 "price": {"model": "per_unit", "unit_amount": "0.01"}},
            ],
            "discounts": [{"kind": "percentage", "name": "partner", "percent": "10"}],
            "taxes": [{"name": "VAT", "percent": "19"}],
            "tax_rounding": rounding.value,
        },
    }
    c = contract(plans, [("2023-01-01", "api")])
    return invoice(c, MappingUsage({"calls": 4722}, period=c.period(0)), c.period(0))


def test_discount_and_tax_rounded_per_line_and_per_invoice_differ_by_a_cent() -> None:
    per_line = _discount_and_tax(TaxRounding.PER_LINE)
    per_invoice = _discount_and_tax(TaxRounding.PER_INVOICE)
    # platform 25.00; calls 4,722 x 0.01 = 47.22; subtotal 72.22
    # discount 10 % of 72.22 = 7.222 -> 7.22 = 722 cents, split by 25.00 : 47.22 (largest
    # remainder): 722 x 2500/7222 = 249.93, 722 x 4722/7222 = 472.07 -> 249 + 472 = 721, the
    # cent left goes to the larger remainder (.93): platform 2.50, calls 4.72
    assert figures(per_line) == [
        ("fee", "platform", D("25.00"), D("2.50")),
        ("usage", "calls", D("47.22"), D("4.72")),
    ]
    # the nets are 22.50 and 42.50
    assert [line.net for line in per_line.lines] == [D("22.50"), D("42.50")]
    # per line: 22.50 x 19 % = 4.275 -> 4.28; 42.50 x 19 % = 8.075 -> 8.08; tax 12.36
    # per invoice: 65.00 x 19 % = 12.35 exactly
    assert per_line.taxes[0].amount == D("12.36")
    assert per_invoice.taxes[0].amount == D("12.35")
    assert per_line.taxes[0].base == per_invoice.taxes[0].base == D("65.00")
    # totals: 72.22 - 7.22 + 12.36 = 77.36, and 72.22 - 7.22 + 12.35 = 77.35
    assert (per_line.subtotal, per_line.discount_total, per_line.total) == (
        D("72.22"), D("7.22"), D("77.36")
    )
    assert per_invoice.total == D("77.35")
    assert per_line.discounts[0].amount == D("7.22")


def test_jpy_plan_has_no_minor_units() -> None:
    plans = {
        "jp": {
            "currency": "JPY",
            "fees": [{"name": "basic", "amount": "980"}],
            "metered": [
                {"name": "calls", "meter": "calls",
                 "price": {"model": "per_unit", "unit_amount": "0.5"}},
            ],
            "taxes": [{"name": "consumption tax", "percent": "10"}],
        },
    }
    c = Contract.model_validate(
        {
            "customer": "cus_jp",
            "billing": {"anchor": "2023-04-01", "timezone": "Asia/Tokyo"},
            "plans": plans,
            "phases": [{"start": "2023-04-01", "plan": "jp"}],
        },
    )
    bill = invoice(c, MappingUsage({"calls": 1235}, period=c.period(0)), date(2023, 4, 1))
    # basic 980; calls 1,235 x 0.5 = 617.5 -> 618 (half up, no minor units)
    assert [(line.amount, line.rounded) for line in bill.lines] == [
        (D("980"), D("980")),
        (D("617.5"), D("618")),
    ]
    # tax per line: 980 x 10 % = 98; 618 x 10 % = 61.8 -> 62; tax 160
    # total 980 + 618 + 160 = 1,758
    assert (bill.subtotal, bill.tax_total, bill.total) == (D("1598"), D("160"), D("1758"))
    assert str(bill.total) == "1758"
    assert bill.period.start.isoformat() == "2023-04-01T00:00:00+09:00"


def test_every_scenario_round_trips_through_json() -> None:
    bill = _discount_and_tax(TaxRounding.PER_LINE)
    again = invoice_from_json(invoice_to_json(bill))
    assert again == bill
    bill.check()


def _overage_contract() -> Contract:
    return contract(
        {
            "api": {
                "currency": "USD",
                "fees": [{"name": "platform", "amount": "1234.56"}],
                "metered": [
                    {
                        "name": "calls",
                        "meter": "calls",
                        "unit": "calls",
                        "price": {"model": "per_unit", "unit_amount": "0.0004"},
                    },
                ],
                "taxes": [{"name": "VAT", "percent": "19"}],
            },
        },
        [("2023-01-01", "api")],
    )


def test_a_plain_mapping_is_the_usage_of_the_period() -> None:
    c = _overage_contract()
    from_mapping = invoice(c, {"calls": 123_456}, date(2023, 3, 1))
    from_source = invoice(c, MappingUsage({"calls": 123_456}, period=c.period(2)), date(2023, 3, 1))
    assert from_mapping == from_source


def test_usage_of_the_wrong_kind_is_a_named_type_error() -> None:
    c = _overage_contract()
    with pytest.raises(WrongTypeError, match="'usage' must be a usage source"):
        invoice(c, [("calls", 5)], date(2023, 3, 1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="'contract' must be a Contract"):
        invoice({"customer": "c"}, {}, date(2023, 3, 1))  # type: ignore[arg-type]


def test_an_invoice_does_not_depend_on_the_callers_context() -> None:
    c = _overage_contract()
    expected = invoice(c, {"calls": 123_456_789}, date(2023, 3, 1))
    with decimal.localcontext(prec=3, rounding=decimal.ROUND_DOWN):
        narrow = invoice(c, {"calls": 123_456_789}, date(2023, 3, 1))
        narrow.check()
    assert narrow == expected
    assert expected.subtotal == D("50617.28")  # 1234.56 + 49382.72
