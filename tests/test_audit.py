"""The usage audit: breaches per period and per dimension value, values, backbill, command."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import exact, exact_sum
from meterlib.backbill.audit import (
    AUDIT_RECORD_FIELDS,
    audit,
    audit_to_dict,
    audit_to_json,
    parse_audit_terms,
    rebill_audit,
)
from meterlib.backbill.terms import PriceSchedule, PriceVersion
from meterlib.cli import main
from meterlib.credits import Limit, UsageIndex
from meterlib.errors import InvalidValueError
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import parse_meters
from meterlib.periods import BillingCycle
from meterlib.pricing import parse_price
from meterlib.render.audit import audit_csv, audit_html, audit_text

METERS = parse_meters([{"name": "reads", "type": "read", "aggregation": "count"}])
START = datetime(2024, 1, 1, tzinfo=UTC)
CYCLE = BillingCycle(cadence="monthly", anchor=START)
APPS = ("crm", "etl", "bi")


def events(count: int, hours: int = 7) -> list[UsageEvent]:
    return [
        UsageEvent.from_dict(
            {
                "id": f"e{i}",
                "customer": "partner",
                "type": "read",
                "time": (START + timedelta(hours=hours * i)).isoformat(),
                "properties": {"app": APPS[i % 3]},
            }
        )
        for i in range(count)
    ]


def basis() -> PriceSchedule:
    def per_unit(amount: str) -> object:
        return parse_price({"model": "per_unit", "currency": "EUR", "unit_amount": amount})

    return PriceSchedule(
        [
            PriceVersion(date(2024, 1, 1), per_unit("0.50"), "old"),  # type: ignore[arg-type]
            PriceVersion(date(2024, 3, 1), per_unit("0.60"), "new"),  # type: ignore[arg-type]
        ]
    )


def test_breaches_first_moment_groups_and_values() -> None:
    index = UsageIndex.of(events(300), METERS, group_by="app")
    result = audit(
        index,
        "partner",
        Limit("reads", Decimal(90), CYCLE),
        START,
        datetime(2024, 4, 1, tzinfo=UTC),
        basis=basis(),
        group_by="app",
    )
    january = result.periods[0]
    assert january.usage == 107  # events every 7 h: 0 .. 106 in 744 h
    assert january.breach == 17
    # The 91st event (index 90) took the month above the limit.
    assert january.first_breach == START + timedelta(hours=7 * 90)
    assert sum(g.above for g in january.groups) == january.breach
    assert sum(g.usage for g in january.groups) == january.usage
    assert january.value == Decimal("8.50")
    march = result.periods[2]
    assert march.version == "new"
    assert march.value == march.breach * Decimal("0.60")
    assert result.breach == sum(p.breach for p in result.periods)
    assert result.value == sum(p.value or 0 for p in result.periods)


def test_no_breach_under_the_limit() -> None:
    index = UsageIndex.of(events(10), METERS)
    result = audit(
        index, "partner", Limit("reads", Decimal(90), CYCLE), START, START + timedelta(days=31)
    )
    assert [(p.breach, p.first_breach, p.value) for p in result.periods] == [
        (Decimal(0), None, None)
    ]
    assert result.value is None


def test_rebill_audit_owes_the_breach_value() -> None:
    index = UsageIndex.of(events(300), METERS)
    result = audit(
        index,
        "partner",
        Limit("reads", Decimal(90), CYCLE),
        START,
        datetime(2024, 4, 1, tzinfo=UTC),
        basis=basis(),
    )
    statement = rebill_audit(result, basis(), as_of=date(2024, 6, 1), due_days=30)
    assert statement.totals.delta == result.value


def test_renderers_carry_every_period() -> None:
    index = UsageIndex.of(events(300), METERS, group_by="app")
    result = audit(
        index,
        "partner",
        Limit("reads", Decimal(90), CYCLE),
        START,
        datetime(2024, 3, 1, tzinfo=UTC),
        basis=basis(),
        group_by="app",
    )
    text = audit_text(result)
    assert "TOTAL" in text
    assert "8.50" in text
    csv_text = audit_csv(result)
    assert len(csv_text.splitlines()) == 1 + 2 * (3 + 1) + 1
    page = audit_html(result)
    assert '<table class="grid audit">' in page
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr") == 2 * (3 + 1) + 1  # as many rows as the CSV
    assert "€8.50" in page
    data = audit_to_dict(result)
    with pytest.warns(DeprecationWarning, match=r"audit_to_json is deprecated.*audit_to_dict"):
        assert audit_to_json(result) == data
    assert data["totals"]["breach"] == str(result.breach)
    json.dumps(data)


def test_terms_errors_name_the_field() -> None:
    meters = [{"name": "reads", "type": "read", "aggregation": "count"}]
    with pytest.raises(InvalidValueError, match=r"limit\.meter"):
        parse_audit_terms(
            {"customer": "p", "meters": meters, "limit": {"meter": "x", "amount": "1"}}
        )
    with pytest.raises(InvalidValueError, match=r"limit\.kind"):
        parse_audit_terms(
            {
                "customer": "p",
                "meters": meters,
                "limit": {"meter": "reads", "amount": "1", "kind": "x"},
            }
        )


def test_audit_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text(
        "".join(
            json.dumps(
                {
                    "id": e.id,
                    "customer": e.customer,
                    "type": e.type,
                    "time": e.time.isoformat(),
                    "properties": dict(e.properties),
                }
            )
            + "\n"
            for e in events(300)
        )
    )
    terms = tmp_path / "terms.toml"
    terms.write_text(
        'customer = "partner"\n'
        'meters = [{ name = "reads", type = "read", aggregation = "count" }]\n'
        '[limit]\nmeter = "reads"\namount = "90"\nkind = "hard"\ncadence = "monthly"\n'
        "anchor = 2024-01-01\n"
        '[[prices]]\neffective_from = 2024-01-01\nlabel = "old"\n'
        'price = { model = "per_unit", currency = "EUR", unit_amount = "0.50" }\n'
    )
    ledger = tmp_path / "l.sqlite"
    assert main(["ingest", str(source), "--ledger", str(ledger)]) == 0
    capsys.readouterr()
    args = [
        "audit",
        str(terms),
        "--ledger",
        str(ledger),
        "--from",
        "2024-01-01",
        "--to",
        "2024-03-01",
    ]
    assert main([*args, "--group-by", "app", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"] == {
        "usage": "206",
        "breach": "26",
        "value": "13.00",
        "periods_breached": 2,
    }
    assert [g["value"] for g in data["periods"][0]["groups"]] == ["bi", "crm", "etl"]
    assert main([*args, "--statement", "--as-of", "2024-06-01", "--format", "json"]) == 0
    statement = json.loads(capsys.readouterr().out)
    assert statement["totals"]["delta"] == "13.00"


def test_records_and_frame_carry_exact_figures_that_add_up() -> None:
    index = UsageIndex.of(events(300), METERS, group_by="app")
    result = audit(
        index,
        "partner",
        Limit("reads", Decimal(90), CYCLE),
        START,
        datetime(2024, 3, 1, tzinfo=UTC),
        basis=basis(),
        group_by="app",
    )
    records = result.to_records()
    assert len(records) == len(result.periods) == 2
    assert all(type(r["usage"]) is Decimal and type(r["period_start"]) is datetime for r in records)
    assert exact_sum(r["breach"] for r in records) == result.breach
    assert [r["meter"] for r in records] == ["reads", "reads"]
    pd = pytest.importorskip("pandas")
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(AUDIT_RECORD_FIELDS)
    with exact():  # pandas adds in the caller's context
        assert frame["usage"].sum() == result.usage
        assert frame["value"].sum() == result.value
