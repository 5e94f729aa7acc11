"""Contracts: phases, segments of a period, and contract documents with their meters."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from meterlib.errors import DocumentError, InvalidValueError
from meterlib.invoicing import Contract, load_contract, parse_contract

PLAN = {"currency": "EUR", "fees": [{"name": "platform", "amount": "10"}],
        "metered": [{"name": "calls", "meter": "calls",
                     "price": {"model": "per_unit", "unit_amount": "0.01"}}]}
BERLIN = ZoneInfo("Europe/Berlin")


def document(**extra: Any) -> dict[str, Any]:
    return {
        "customer": "c",
        "billing": {"anchor": "2023-01-01", "timezone": "Europe/Berlin"},
        "plans": {"a": PLAN, "b": PLAN},
        "phases": [{"start": "2023-01-01", "plan": "a"}, {"start": "2023-03-15", "plan": "b"}],
        **extra,
    }


def test_segments_split_a_period_at_a_plan_change_in_local_time() -> None:
    c = Contract.model_validate(document(ends="2023-05-10"))
    march = c.period(2)
    assert [(s.plan.name, s.start, s.end) for s in c.segments(march)] == [
        ("a", datetime(2023, 3, 1, tzinfo=BERLIN), datetime(2023, 3, 15, tzinfo=BERLIN)),
        ("b", datetime(2023, 3, 15, tzinfo=BERLIN), datetime(2023, 4, 1, tzinfo=BERLIN)),
    ]
    assert [s.plan.name for s in c.segments(c.period(1))] == ["a"]
    (may,) = c.segments(c.period(4))
    assert may.end == datetime(2023, 5, 10, tzinfo=BERLIN)
    assert c.segments(c.period(5)) == ()
    assert c.plan_on(date(2023, 3, 14)).name == "a"  # type: ignore[union-attr]
    assert c.plan_on(date(2022, 12, 31)) is None
    assert c.currency == "EUR"


def test_a_copy_with_other_phases_or_ends_splits_its_periods_afresh() -> None:
    c = Contract.model_validate(document())
    march = c.period(2)
    assert len(c.segments(march)) == 2  # worked out and kept
    moved = c.model_copy(update={"phases": (c.phases[0],), "ends": date(2023, 3, 20)})
    assert [(s.plan.name, s.end) for s in moved.segments(march)] == [
        ("a", datetime(2023, 3, 20, tzinfo=BERLIN))
    ]
    assert moved.plan_on(date(2023, 3, 16)).name == "a"  # type: ignore[union-attr]
    assert len(c.segments(march)) == 2
    assert c.model_copy().segments(march) == c.segments(march)


def test_segments_asked_again_are_the_same_segments() -> None:
    c = Contract.model_validate(document(ends="2023-05-10"))
    for index in range(6):
        first = c.segments(c.period(index))
        assert c.segments(c.period(index)) == first
        fresh = Contract.model_validate(document(ends="2023-05-10"))
        assert fresh.segments(c.period(index)) == first


def test_a_span_that_is_not_a_billing_period_is_refused() -> None:
    c = Contract.model_validate(document())
    march = c.period(2)
    with pytest.raises(InvalidValueError, match="a billing period of the contract's cycle"):
        c.billing_period(type(march)(march.start, c.period(3).end))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phases": []}, "a contract needs at least one phase"),
        ({"phases": [{"start": "2023-01-01", "plan": "zzz"}]}, "names plan 'zzz'"),
        ({"phases": [{"start": "2023-02-01", "plan": "a"}, {"start": "2023-01-01", "plan": "b"}]},
         "must start after the phase before it"),
        ({"ends": "2023-03-01"}, "must be after the last phase starts"),
        ({"plans": {"a": PLAN, "b": {**PLAN, "currency": "USD"}}},
         "all plans must share one currency"),
        ({"plans": {"a": PLAN, "b": {**PLAN, "billing": {"anchor": "2023-01-05"}}}},
         "bills on a different cycle"),
        ({"meters": [{"name": "other", "type": "t", "aggregation": "count"}]},
         "reads meter 'calls', which is not among the meters ['other']"),
    ],
)
def test_inconsistent_contracts_are_refused(change, message) -> None:
    with pytest.raises(DocumentError) as caught:
        Contract.model_validate(document(**change))
    assert message in str(caught.value)


def test_documents_find_meters_inline_or_in_a_file_beside_them(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text(
        '[[meters]]\nname = "calls"\ntype = "api"\naggregation = "count"\n', encoding="utf-8"
    )
    path = tmp_path / "contract.json"
    path.write_text(json.dumps(document(meters_file="m.toml")), encoding="utf-8")
    contract = load_contract(path)
    assert [m.name for m in contract.meters] == ["calls"]
    inline = parse_contract(
        document(meters=[{"name": "calls", "type": "api", "aggregation": "count"}])
    )
    assert inline.meters == contract.meters
    with pytest.raises(DocumentError, match="give either 'meters' or 'meters_file'"):
        parse_contract(document(meters_file="m.toml", meters=[]), tmp_path)
    with pytest.raises(DocumentError, match="meters_file: cannot read"):
        parse_contract(document(meters_file="missing.toml"), tmp_path)


def test_document_errors_name_the_location_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('customer = "c"\nbilling = { anchor = 2023-01-01 }\nplans = {}\n'
                    "phases = [{ start = 2023-01-01, plan = 1.5 }]\n", encoding="utf-8")
    with pytest.raises(DocumentError) as caught:
        load_contract(path)
    expected = "Input should be a valid string (got 1.5 that is a decimal number)"
    assert ("phases.0.plan", expected) in caught.value.problems
    assert any("bad.toml" in note for note in caught.value.__notes__)
