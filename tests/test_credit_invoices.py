"""Credit draws as invoice lines: unit credits before pricing, money credits on what is owed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import EXACT, exact_sum
from meterlib.credits import CreditLedger, Grant
from meterlib.credits.invoices import apply_credits
from meterlib.errors import InvalidValueError
from meterlib.invoicing import (
    Invoice,
    LineKind,
    TableUsage,
    invoice,
    invoice_from_json,
    invoice_to_json,
    load_contract,
)
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.metering.table import UsageKey
from meterlib.render import render_invoice

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"
CONTRACT = load_contract(EXAMPLE / "contract.toml")
USAGE = load_usage_records(EXAMPLE / "usage-2023-03.json")
MARCH = date(2023, 3, 1)
AT = datetime(2023, 4, 1, tzinfo=UTC)
START = datetime(2023, 1, 1, tzinfo=UTC)


def _bill(reduce_tokens: Decimal = Decimal(0)) -> Invoice:
    """March's invoice; ``reduce_tokens`` taken off the first (starter) segment's tokens."""
    values = dict(USAGE.items())
    first = min(
        (key for key in values if key.meter == "tokens"), key=lambda key: key.period.start
    )
    values[first] = EXACT.subtract(values[first], reduce_tokens)
    return invoice(CONTRACT, TableUsage(values), MARCH)


def _book(*grants: Grant) -> CreditLedger:
    book = CreditLedger(CONTRACT.customer)
    for grant in grants:
        book = book.grant(grant)
    return book


def test_unit_credits_reduce_billed_usage_as_if_the_usage_were_smaller() -> None:
    bill = _bill()
    book = _book(
        Grant("tok-a", Decimal(300), "tokens", START, priority=1, description="Launch tokens"),
        Grant("tok-b", Decimal(200), "tokens", START, priority=2),
    )
    credited, after = apply_credits(bill, book, AT, contract=CONTRACT)
    lines = credited.invoice.lines
    drawn_lines = [line for line in lines if line.kind is LineKind.CREDIT]
    assert [(c.charge, c.quantity, c.unit) for c in drawn_lines] == [
        ("tok-a", Decimal(300), "tokens"),
        ("tok-b", Decimal(200), "tokens"),
    ]
    assert drawn_lines[0].description == "Credit: Launch tokens (grant tok-a)"
    assert drawn_lines[1].description == "Credit: grant tok-b"
    # Each credit line sits right after the usage line it reduces.
    usage = lines[lines.index(drawn_lines[0]) - 1]
    assert (usage.kind, usage.charge, usage.quantity) == (LineKind.USAGE, "tokens", Decimal(2300))
    # 2,300 tokens at 0 up to 1,000 then 0.003: the top 500 units are worth 1.50.
    assert [c.rounded for c in drawn_lines] == [Decimal("-0.90"), Decimal("-0.60")]
    # The invoice adds up, and equals the invoice of the usage left (taxes included).
    reduced = _bill(Decimal(500))
    assert credited.invoice.subtotal == exact_sum(line.rounded for line in lines)
    assert credited.invoice.tax_total == reduced.tax_total
    assert credited.invoice.total == reduced.total
    assert credited.credited == Decimal("1.50")
    assert after.balance(AT, "tokens") == 0
    assert after.recorded[-1].reference == bill.number


def test_units_are_not_drawn_without_the_contract() -> None:
    book = _book(Grant("tok", Decimal(300), "tokens", START))
    credited, after = apply_credits(_bill(), book, AT)
    assert not any(line.kind is LineKind.CREDIT for line in credited.invoice.lines)
    assert after.balance(AT, "tokens") == Decimal(300)


def test_money_credits_settle_what_is_owed_after_tax_in_draw_order() -> None:
    bill = _bill()
    book = _book(
        Grant("later", Decimal(1000), "EUR", START, priority=1),
        Grant("soon", Decimal(100), "EUR", START, datetime(2023, 5, 1, tzinfo=UTC), priority=1),
        Grant("first", Decimal(50), "EUR", START, priority=0),
    )
    credited, after = apply_credits(bill, book, AT, contract=CONTRACT)
    drawn_lines = [line for line in credited.invoice.lines if line.kind is LineKind.CREDIT]
    assert [c.charge for c in drawn_lines] == ["first", "soon", "later"]
    assert [c.rounded for c in drawn_lines] == [
        Decimal(-50),
        Decimal(-100),
        EXACT.subtract(Decimal(150), bill.total),
    ]
    assert credited.invoice.lines[-len(drawn_lines) :] == tuple(drawn_lines)
    assert credited.invoice.total == 0
    assert credited.invoice.tax_total == bill.tax_total
    assert credited.amount_due == 0
    assert after.balance(AT, "EUR") == EXACT.subtract(Decimal(1150), bill.total)


def test_every_renderer_shows_the_credit_lines_and_json_round_trips() -> None:
    book = _book(
        Grant("tok", Decimal(500), "tokens", START, description="Launch tokens"),
        Grant("wallet", Decimal(20), "EUR", START),
    )
    credited, _after = apply_credits(_bill(), book, AT, contract=CONTRACT)
    bill = credited.invoice
    assert invoice_from_json(invoice_to_json(bill)) == bill
    data = json.loads(render_invoice(bill, "json"))
    kinds = [line["kind"] for line in data["lines"]]
    assert kinds.count("credit") == 2
    for fmt in ("text", "html", "csv"):
        shown = render_invoice(bill, fmt)
        assert "Launch tokens (grant tok)" in shown, fmt
        assert "grant wallet" in shown, fmt


def test_a_money_grant_with_fractional_cents_is_refused() -> None:
    book = _book(Grant("odd", Decimal("10.005"), "EUR", START))
    with pytest.raises(InvalidValueError, match="odd"):
        apply_credits(_bill(), book, AT)


def test_credit_lines_are_checked() -> None:
    book = _book(Grant("wallet", Decimal(20), "EUR", START))
    credited, _after = apply_credits(_bill(), book, AT)
    bill = credited.invoice
    line = bill.lines[-1]
    from dataclasses import replace  # noqa: PLC0415

    positive = replace(line, rounded=Decimal(20), amount=Decimal(20))
    broken = replace(bill, lines=(*bill.lines[:-1], positive))
    with pytest.raises(InvalidValueError, match="credit draw"):
        broken.check()


def test_usage_key_is_what_the_fixture_changes() -> None:
    # Guards _bill: the first tokens cell is the starter segment's 2,300 tokens.
    cells = sorted((k for k in USAGE if k.meter == "tokens"), key=UsageKey.sort_key)
    assert USAGE[cells[0]] == Decimal(2300)


def test_a_unit_credit_never_raises_the_bill_of_a_volume_price() -> None:
    text = (EXAMPLE / "contract.toml").read_text(encoding="utf-8")
    volume = text.replace(
        'price = { model = "per_unit", unit_amount = "0.01" }',
        'price = { model = "volume", tiers = [{ up_to = "3", unit_amount = "1" },'
        ' { unit_amount = "0.10" }] }',
    )
    import tomllib  # noqa: PLC0415

    from meterlib.invoicing import parse_contract  # noqa: PLC0415

    contract = parse_contract(tomllib.loads(volume), EXAMPLE)
    bill = invoice(contract, TableUsage(USAGE), MARCH)
    # 4 requests at the volume price: 0.40; 2 requests would cost 2.00, 1 request 1.00.
    book = _book(
        Grant("a", Decimal(2), "api_calls", START, priority=0),
        Grant("b", Decimal(2), "api_calls", START, priority=1),
    )
    credited, _after = apply_credits(bill, book, AT, contract=contract)
    values = [
        line.rounded for line in credited.invoice.lines if line.kind is LineKind.CREDIT
    ]
    assert values[:2] == [Decimal(0), Decimal("-0.40")]
    assert credited.invoice.total <= bill.total


def test_issue_credited_issues_the_lines_and_stores_draws_under_the_issued_number(
    tmp_path: Path,
) -> None:
    from meterlib.ledger.credits import CreditStore, issue_credited  # noqa: PLC0415
    from meterlib.ledger.documents import DocumentStore  # noqa: PLC0415

    path = tmp_path / "ledger.sqlite"
    with CreditStore(path) as credits_store:
        credits_store.save(
            _book(
                Grant("tok", Decimal(500), "tokens", START, description="Launch tokens"),
                Grant("wallet", Decimal(20), "EUR", START),
            )
        )
    with DocumentStore(path) as store, CreditStore(path) as credits_store:
        document, credited = issue_credited(store, credits_store, _bill(), AT, contract=CONTRACT)
        issued = store.invoice(document.number)
        assert issued.lines == credited.invoice.lines
        assert document.total == credited.invoice.total
        kept = credits_store.load(CONTRACT.customer)
        draws = [e for e in kept.recorded if e.reference]
        assert {e.reference for e in draws} == {document.number}
        assert sorted(e.grant for e in draws) == ["tok", "wallet"]
        assert kept.balance(AT, "EUR") == 0
        assert kept.balance(AT, "tokens") == 0
