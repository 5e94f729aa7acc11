"""Plans: validation, version schedules, document shorthands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from meterlib.errors import DocumentError
from meterlib.invoicing import Plan, Timing
from meterlib.invoicing.plans import ALWAYS

D = Decimal


def plan(**extra: Any) -> Plan:
    return Plan.model_validate(
        {"name": "p", "currency": "EUR", "billing": {"anchor": "2023-01-01"}, **extra}
    )


def test_a_price_without_currency_takes_the_plans() -> None:
    p = plan(metered=[{"name": "calls", "meter": "calls",
                       "price": {"model": "per_unit", "unit_amount": "0.01"}}])
    (charge,) = p.metered
    assert charge.versions[0].price.currency == "EUR"
    assert charge.versions[0].effective_from == ALWAYS
    assert p.billing.anchor == date(2023, 1, 1)
    assert p.period_unit == "month"


def test_fee_defaults_and_versions() -> None:
    p = plan(fees=[{"name": "platform", "versions": [
        {"effective_from": "2023-01-01", "amount": "10"},
        {"effective_from": "2023-06-01", "amount": "12.50"},
    ]}])
    fee = p.fees[0]
    assert fee.timing is Timing.ADVANCE
    assert [v.amount for v in fee.versions] == [D("10"), D("12.50")]
    assert fee.label == "platform"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"fees": [{"name": "x", "amount": "1"}, {"name": "x", "amount": "2"}]},
         "charge names must be unique in a plan, but ['x'] repeat"),
        ({"metered": [{"name": "c", "meter": "c",
                       "price": {"model": "per_unit", "unit_amount": "1", "currency": "USD"}}]},
         "is in USD, not the plan's EUR"),
        ({"discounts": [{"kind": "fixed", "name": "d", "amount": "1", "applies_to": ["nope"]}]},
         "discount 'd' applies to ['nope'], which the plan does not charge"),
        ({"discounts": [{"kind": "percentage", "name": "d", "percent": "101"}]},
         "must be <= 100 (got 101)"),
        ({"fees": [{"name": "x", "amount": "1", "versions": []}]},
         "give either 'amount' or 'versions', not both"),
        ({"fees": [{"name": "x", "versions": [
            {"effective_from": "2023-02-01", "amount": "1"},
            {"effective_from": "2023-01-01", "amount": "2"}]}]},
         "dates must rise strictly"),
        ({"fees": [{"name": "x", "amount": "-1"}]}, "must be >= 0"),
        ({"taxes": [{"name": "VAT", "percent": 19.0}]}, "never a float"),
        ({"fees": [{"name": "x", "amount": "1", "typo": 1}]}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_plans_are_refused_with_the_reason(extra, message) -> None:
    with pytest.raises(DocumentError, match=None) as caught:
        plan(**extra)
    assert message in str(caught.value)


def test_plans_are_immutable() -> None:
    p = plan()
    with pytest.raises(DocumentError):
        p.currency = "USD"  # type: ignore[misc]
