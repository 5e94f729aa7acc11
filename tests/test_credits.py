"""Credit grants, the credit ledger, limits, rate windows and check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib._numbers import EXACT
from meterlib.credits import (
    CreditLedger,
    EntryKind,
    Grant,
    Limit,
    LimitKind,
    RateWindow,
    Recurrence,
    UsageIndex,
    check,
    draw_order,
)
from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.ledger import Ledger
from meterlib.ledger.credits import CreditStore, usage_index
from meterlib.ledger.schema import LedgerError
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import parse_meters
from meterlib.periods import BillingCycle, Cadence


def day(d: int, month: int = 1, hour: int = 0) -> datetime:
    return datetime(2024, month, d, hour, tzinfo=UTC)


def test_draw_order_priority_then_expiry_then_oldest() -> None:
    grants = [
        Grant("never", Decimal(1), "EUR", day(1), None, priority=1),
        Grant("late", Decimal(1), "EUR", day(1), day(30), priority=1),
        Grant("soon-new", Decimal(1), "EUR", day(3), day(20), priority=1),
        Grant("soon-old", Decimal(1), "EUR", day(2), day(20), priority=1),
        Grant("first", Decimal(1), "EUR", day(5), None, priority=0),
    ]
    assert [g.id for g in draw_order(grants)] == ["first", "soon-old", "soon-new", "late", "never"]


def test_draw_lines_name_grants_and_stop_at_zero() -> None:
    ledger = (
        CreditLedger("c")
        .grant(Grant("promo", Decimal(30), "EUR", day(1), day(15), priority=1, description="Promo"))
        .top_up(Grant("prepaid", Decimal(50), "EUR", day(1), None, priority=2))
    )
    draw, after = ledger.draw("100", "EUR", day(5), "INV-1")
    assert [(line.grant, line.label, line.amount) for line in draw.lines] == [
        ("promo", "Promo", Decimal(30)),
        ("prepaid", "prepaid", Decimal(50)),
    ]
    assert draw.uncovered == Decimal(20)
    assert after.balance(day(6), "EUR") == 0
    assert ledger.balance(day(6), "EUR") == Decimal(80)  # immutable: the old ledger is unchanged


def test_expiry_is_an_entry_and_balance_is_reproducible() -> None:
    ledger = CreditLedger("c").grant(Grant("g", Decimal(40), "reads", day(1), day(10)))
    _draw, ledger = ledger.draw("15", "reads", day(3))
    assert ledger.balance(day(9), "reads") == Decimal(25)
    assert ledger.balance(day(10), "reads") == 0
    expired = ledger.expired(day(31))
    assert [(e.kind, e.amount, e.at) for e in expired] == [
        (EntryKind.EXPIRY, Decimal(-25), day(10))
    ]
    # The balance on any date is the sum of the statement's entries up to that date.
    for moment in (day(1), day(3), day(9), day(10), day(20)):
        total = sum((e.amount for e in ledger.statement(moment)), Decimal(0))
        assert total == sum(ledger.balances(moment).values())


def test_recurrence_refills_and_forfeits_above_the_rollover_limit() -> None:
    grant = Grant(
        "monthly",
        Decimal(100),
        "reads",
        day(1),
        recurrence=Recurrence(Cadence.MONTHLY, day(1), Decimal(10)),
    )
    _draw, ledger = CreditLedger("c").grant(grant).draw("30", "reads", day(5))
    assert ledger.balance(day(15), "reads") == Decimal(70)
    assert ledger.balance(day(1, 2), "reads") == Decimal(110)  # 10 carried + 100 granted
    assert [e.amount for e in ledger.expired(day(1, 2))] == [Decimal(-60)]


def test_draw_before_an_earlier_draw_is_refused() -> None:
    ledger = CreditLedger("c").grant(Grant("g", Decimal(10), "EUR", day(1)))
    _draw, ledger = ledger.draw("1", "EUR", day(5))
    with pytest.raises(InvalidValueError, match="latest draw"):
        ledger.draw("1", "EUR", day(4))


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("grant.amount", {"amount": "0"}),
        ("grant.expires", {"expires": day(1)}),
        ("grant.priority", {"priority": -1}),
        ("grant.effective", {"effective": datetime(2024, 1, 1)}),  # noqa: DTZ001  (naive on purpose)
    ],
)
def test_grant_errors_name_the_field(field: str, kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"id": "g", "amount": "1", "unit": "EUR", "effective": day(1)}
    base.update(kwargs)
    with pytest.raises(MeterlibError, match=field):
        Grant(**base)  # type: ignore[arg-type]


def test_grant_refuses_float() -> None:
    with pytest.raises(MeterlibError):
        Grant("g", 1.5, "EUR", day(1))  # type: ignore[arg-type]


METERS = parse_meters(
    [
        {"name": "reads", "type": "read", "aggregation": "count"},
        {"name": "bytes", "type": "read", "aggregation": "sum", "property": "bytes"},
    ]
)


def events(count: int) -> list[UsageEvent]:
    return [
        UsageEvent.from_dict(
            {
                "id": f"e{i}",
                "customer": "p",
                "type": "read",
                "time": (day(1) + timedelta(minutes=5 * i)).isoformat(),
                "properties": {"app": "a" if i % 2 else "b", "bytes": "2.5"},
            }
        )
        for i in range(count)
    ]


CYCLE = BillingCycle(cadence="monthly", anchor=day(1))


def test_check_hard_limit_and_rate_window() -> None:
    index = UsageIndex.of(events(20), METERS)
    limit = Limit("reads", Decimal(10), CYCLE, LimitKind.HARD)
    early = check(index, "p", limit, day(1) + timedelta(minutes=20))
    assert (early.usage, early.remaining, early.allowed) == (Decimal(5), Decimal(5), True)
    late = check(index, "p", limit, day(2))
    assert (late.usage, late.remaining, late.allowed) == (Decimal(20), Decimal(0), False)
    next_period = check(index, "p", limit, day(1, 2))
    assert (next_period.usage, next_period.allowed) == (Decimal(0), True)
    window = RateWindow("reads", 3, timedelta(minutes=15))
    busy = check(
        index,
        "p",
        Limit("reads", Decimal(100), CYCLE),
        day(1) + timedelta(minutes=30),
        window=window,
    )
    assert busy.window_events == 3
    assert not busy.allowed
    assert "reads events" in busy.reason


def test_check_soft_limit_allows_overage_and_sum_meters() -> None:
    index = UsageIndex.of(events(8), METERS)
    soft = check(index, "p", Limit("bytes", Decimal(5), CYCLE, LimitKind.SOFT), day(2))
    assert (soft.usage, soft.remaining, soft.allowed) == (Decimal("20.0"), Decimal(0), True)


def test_index_refuses_other_aggregations() -> None:
    meters = parse_meters([{"name": "m", "type": "t", "aggregation": "max", "property": "v"}])
    with pytest.raises(InvalidValueError, match="sum or count"):
        UsageIndex(meters)


def test_check_from_the_ledger_equals_check_from_events(tmp_path: Path) -> None:
    batch = events(30)
    with Ledger(tmp_path / "l.sqlite") as ledger:
        ledger.append(batch)
        from_ledger = usage_index(ledger, METERS, customer="p")
    from_events = UsageIndex.of(batch, METERS)
    limit = Limit("reads", Decimal(12), CYCLE)
    for minutes in (0, 7, 60, 149, 150, 1000):
        moment = day(1) + timedelta(minutes=minutes)
        assert check(from_ledger, "p", limit, moment) == check(from_events, "p", limit, moment)


def test_credit_store_round_trip_and_append_only(tmp_path: Path) -> None:
    grant = Grant(
        "r",
        Decimal(100),
        "reads",
        day(1),
        day(1, 6),
        2,
        Recurrence(Cadence.MONTHLY, day(1), Decimal(10)),
    )
    book = (
        CreditLedger("c")
        .grant(grant)
        .top_up(Grant("t", Decimal("5.5"), "EUR", day(2), None, 0, None, "Top-up"))
    )
    _draw, book = book.draw("30", "reads", day(5), "INV-1")
    path = tmp_path / "l.sqlite"
    with CreditStore(path) as store:
        assert store.save(book) == 3
        assert store.save(book) == 0
    with CreditStore(path) as store:
        loaded = store.load("c")
        assert loaded == book
        assert loaded.balance(day(1, 3), "reads") == book.balance(day(1, 3), "reads") == 110
        assert loaded.expired(day(1, 4)) == book.expired(day(1, 4))
        _draw, more = loaded.draw("1", "EUR", day(6))
        assert store.save(more) == 1
        with pytest.raises(LedgerError, match="never rewritten"):
            store.save(CreditLedger("c").grant(Grant("x", Decimal(1), "EUR", day(1))))
        assert store.load("nobody") == CreditLedger("nobody")
    with Ledger(path) as ledger:  # the file is still a usable event ledger
        assert len(ledger) == 0


EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"


def test_an_invoice_draws_credits_in_order_and_names_each_grant() -> None:
    from meterlib.credits.invoices import apply_credits  # noqa: PLC0415  (invoicing is heavy)
    from meterlib.invoicing import TableUsage, invoice, load_contract  # noqa: PLC0415
    from meterlib.invoicing.usage_files import load_usage_records  # noqa: PLC0415

    contract = load_contract(EXAMPLE / "contract.toml")
    bill = invoice(
        contract,
        TableUsage(load_usage_records(EXAMPLE / "usage-2023-03.json")),
        datetime(2023, 3, 1).date(),  # noqa: DTZ001  (a calendar date)
    )
    moment = datetime(2023, 4, 1, tzinfo=UTC)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    book = (
        CreditLedger(bill.customer)
        .grant(
            Grant(
                "welcome",
                Decimal(10),
                bill.currency,
                start,
                moment,
                priority=1,
                description="Welcome",
            )
        )
        .top_up(Grant("prepaid", Decimal(20), bill.currency, start, None, priority=2))
        .grant(Grant("other-currency", Decimal(99), "XXX-units", start))
    )
    credited, after = apply_credits(bill, book, moment - timedelta(seconds=1))
    assert [line.label for line in credited.lines] == ["Welcome", "prepaid"]
    assert credited.credited == min(bill.total, Decimal(30))
    assert credited.amount_due == EXACT.subtract(bill.total, credited.credited) >= 0
    welcome_left = EXACT.subtract(Decimal(10), credited.lines[0].amount)
    assert after.balance(moment, bill.currency) == EXACT.subtract(
        EXACT.subtract(Decimal(30), credited.credited), welcome_left
    )
    with pytest.raises(InvalidValueError, match="customer"):
        apply_credits(bill, CreditLedger("someone-else"), moment)


def test_thresholds_issue_invoices_when_crossed_and_bill_the_difference() -> None:
    from meterlib.credits.thresholds import Thresholds, threshold_invoices  # noqa: PLC0415
    from meterlib.pricing import parse_price  # noqa: PLC0415

    price = parse_price({"model": "per_unit", "currency": "EUR", "unit_amount": "1.00"})
    usage = [(day(i + 1), 3) for i in range(5)]
    invoices = threshold_invoices(price, usage, Thresholds(amounts=["10"], usages=["4"]))
    assert [(i.at, i.reason, i.usage, i.part.rounded) for i in invoices] == [
        (day(2), "usage 4", Decimal(6), Decimal("6.00")),
        (day(4), "amount 10", Decimal(12), Decimal("6.00")),
        (None, "period end", Decimal(15), Decimal("3.00")),
    ]
    recurring = threshold_invoices(price, usage, Thresholds(every="5"))
    # 5 is crossed at 6, 10 at 12, 15 at 15; the period's end then bills nothing more.
    assert [(i.usage, i.part.rounded) for i in recurring] == [
        (Decimal(6), Decimal("6.00")),
        (Decimal(12), Decimal("6.00")),
        (Decimal(15), Decimal("3.00")),
        (Decimal(15), Decimal("0.00")),
    ]
    with pytest.raises(InvalidValueError, match="rising"):
        Thresholds(amounts=["10", "5"])


def test_check_from_an_accumulator_refuses_windows_and_other_cycles() -> None:
    from meterlib.metering.accumulator import Accumulator  # noqa: PLC0415

    batch = events(20)
    limit = Limit("reads", Decimal(10), CYCLE, LimitKind.HARD)
    accumulator = Accumulator(METERS, CYCLE)
    accumulator.add(batch)
    answer = check(accumulator, "p", limit, day(2))
    assert answer == check(UsageIndex.of(batch, METERS), "p", limit, day(2))
    with pytest.raises(InvalidValueError, match="keeps no event instants"):
        check(accumulator, "p", limit, day(2), window=RateWindow("reads", 3, timedelta(1)))
    weekly = Accumulator(METERS, BillingCycle(cadence="weekly", anchor=day(1)))
    weekly.add(batch)
    with pytest.raises(InvalidValueError, match="built on the limit's cycle"):
        check(weekly, "p", limit, day(2))
