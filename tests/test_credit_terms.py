"""Limits and rate windows declared in plan and contract documents, read into check's values."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from meterlib.credits import LimitKind, UsageIndex, check
from meterlib.credits.terms import limits_on
from meterlib.errors import DocumentError
from meterlib.invoicing import parse_contract
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import parse_meters
from meterlib.periods import Cadence

DOCUMENT = """
customer = "partner-7"
billing = { anchor = "2024-01-01", cadence = "monthly" }
phases = [{ start = "2024-01-01", plan = "basic" }, { start = "2024-03-01", plan = "pro" }]

[[limits]]                  # negotiated for this customer: replaces the plans' reads limit
meter = "reads"
amount = "12000"
kind = "soft"

[plans.basic]
currency = "EUR"
rate_windows = [{ meter = "reads", max_events = 100, window_seconds = 900 }]

[[plans.basic.limits]]
meter = "reads"
amount = "10000"
kind = "hard"

[[plans.basic.limits]]
meter = "writes"
amount = "500"
usage_period = { anchor = "2024-01-01", cadence = "weekly" }

[plans.pro]
currency = "EUR"
limits = [{ meter = "writes", amount = "5000" }]
"""


def _contract(text: str = DOCUMENT) -> Any:
    return parse_contract(tomllib.loads(text, parse_float=Decimal))


def test_terms_in_force_follow_the_phases_and_the_contract_overrides() -> None:
    contract = _contract()
    january = limits_on(contract, date(2024, 1, 15))
    reads = january.limit("reads")
    writes = january.limit("writes")
    assert reads is not None
    assert writes is not None
    assert (reads.amount, reads.kind) == (Decimal(12000), LimitKind.SOFT)
    assert reads.cycle == contract.billing
    assert (writes.amount, writes.kind, writes.cycle.cadence) == (
        Decimal(500),
        LimitKind.HARD,
        Cadence.WEEKLY,
    )
    window = january.rate_window("reads")
    assert window is not None
    assert (window.max_events, window.window) == (100, timedelta(minutes=15))
    march = limits_on(contract, date(2024, 3, 2))
    pro_writes = march.limit("writes")
    assert pro_writes is not None
    assert pro_writes.amount == Decimal(5000)
    assert march.rate_window("reads") is None
    assert limits_on(contract, date(2023, 12, 31)).limit("writes") is None


def test_declared_limits_answer_check() -> None:
    contract = _contract()
    terms = limits_on(contract, date(2024, 1, 1))
    meters = parse_meters([{"name": "writes", "type": "write", "aggregation": "count"}])
    start = datetime(2024, 1, 1, tzinfo=UTC)
    events = [
        UsageEvent.from_dict(
            {"id": f"w{i}", "customer": "partner-7", "type": "write",
             "time": (start + timedelta(minutes=i)).isoformat()}
        )
        for i in range(600)
    ]
    limit = terms.limit("writes")
    assert limit is not None
    answer = check(UsageIndex.of(events, meters), "partner-7", limit, start + timedelta(days=1))
    assert (answer.usage, answer.remaining, answer.allowed) == (Decimal(600), Decimal(0), False)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ('{ meter = "reads", amount = "-1" }', "amount"),
        ('{ meter = "reads", amount = "1", kind = "strict" }', "kind"),
        ('{ meter = "", amount = "1" }', "meter"),
        ('{ meter = "reads", amount = "1", per = "month" }', "per"),
    ],
)
def test_a_wrong_limit_names_its_field(change: str, field: str) -> None:
    text = DOCUMENT.replace('{ meter = "writes", amount = "5000" }', change)
    with pytest.raises(DocumentError, match=field):
        _contract(text)


@pytest.mark.parametrize("seconds", ["900", 0, 1.5, True])
def test_a_wrong_window_is_refused(seconds: Any) -> None:
    data = tomllib.loads(DOCUMENT, parse_float=Decimal)
    data["plans"]["basic"]["rate_windows"][0]["window_seconds"] = seconds
    with pytest.raises(DocumentError, match="window_seconds"):
        parse_contract(data)


def test_the_contract_schema_declares_limits_for_contracts_and_plans() -> None:
    from meterlib.schemas import json_schema  # noqa: PLC0415

    schema = json_schema("contract")
    limit = {"items": {"$ref": "#/$defs/LimitTerm"}, "type": "array"}
    assert schema["properties"]["limits"]["items"] == limit["items"]
    assert schema["$defs"]["Plan"]["properties"]["limits"]["items"] == limit["items"]
    window = schema["$defs"]["RateWindowTerm"]
    assert window["required"] == ["meter", "max_events", "window_seconds"]
    assert schema["$defs"]["LimitTerm"]["properties"]["kind"]["enum"] == ["soft", "hard"]
