"""Laws of credits and the usage audit: draws, draw order, breaches, split ranges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib._numbers import EXACT, exact, exact_sum
from meterlib.backbill.audit import audit
from meterlib.credits import (
    CreditLedger,
    EntryKind,
    Grant,
    Limit,
    LimitKind,
    UsageIndex,
    check,
    draw_order,
)
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.events import UsageEvent
from meterlib.metering.meters import parse_meters
from meterlib.periods import BillingCycle

START = datetime(2024, 1, 1, tzinfo=UTC)
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(500), places=2)


@st.composite
def grants(draw: st.DrawFn) -> list[Grant]:
    count = draw(st.integers(1, 6))
    found = []
    for i in range(count):
        effective = START + timedelta(days=draw(st.integers(0, 20)))
        life = draw(st.one_of(st.none(), st.integers(1, 40)))
        found.append(
            Grant(
                f"g{i}",
                draw(amounts),
                draw(st.sampled_from(["EUR", "reads"])),
                effective,
                None if life is None else effective + timedelta(days=life),
                priority=draw(st.integers(0, 3)),
            )
        )
    return found


requests = st.lists(st.tuples(st.integers(0, 60), amounts), min_size=1, max_size=8).map(
    lambda r: sorted(r, key=lambda x: x[0])
)


@given(grants(), requests)
def test_draws_never_exceed_the_balance_nor_go_below_zero(given_grants, asked):
    ledger = CreditLedger("c")
    for grant in given_grants:
        ledger = ledger.grant(grant)
    for days, amount in asked:
        moment = START + timedelta(days=days)
        before = ledger.balance(moment, "EUR")
        draw, ledger = ledger.draw(amount, "EUR", moment)
        assert draw.drawn == min(amount, before)
        assert draw.uncovered == EXACT.subtract(amount, draw.drawn) >= 0
        assert ledger.balance(moment, "EUR") == EXACT.subtract(before, draw.drawn)
        assert all(value >= 0 for value in ledger.balances(moment).values())
    # Reproducible: every balance is the sum of the statement's entries, expiries included.
    end = START + timedelta(days=90)
    statement, balances, expiries = ledger.statement(end), ledger.balances(end), ledger.expired(end)
    for grant_id, value in balances.items():
        assert value == exact_sum(e.amount for e in statement if e.grant == grant_id)
    with exact():  # the expected figures, whatever the caller's context
        granted = sum((g.amount for g in given_grants), Decimal(0))
        drawn = -sum(e.amount for e in statement if e.kind is EntryKind.DRAW)
        expired = -sum(e.amount for e in expiries)
        assert granted - drawn - expired == sum(balances.values())


@given(grants(), st.integers(0, 60), amounts)
def test_grant_order_is_respected(given_grants, days, amount):
    ledger = CreditLedger("c")
    for grant in given_grants:
        ledger = ledger.grant(grant)
    moment = START + timedelta(days=days)
    held = ledger.balances(moment)
    draw, _after = ledger.draw(amount, "EUR", moment)
    eligible = [
        g
        for g in draw_order(given_grants)
        if g.unit == "EUR" and g.available(moment) and held[g.id]
    ]
    used = [line.grant for line in draw.lines]
    assert used == [g.id for g in eligible[: len(used)]]
    # Every grant before the last one drawn was emptied.
    for line in draw.lines[:-1]:
        assert line.amount == held[line.grant]


METERS = parse_meters([{"name": "reads", "type": "read", "aggregation": "sum", "property": "n"}])
CYCLE = BillingCycle(cadence="monthly", anchor=START)


@st.composite
def usage(draw: st.DrawFn) -> list[UsageEvent]:
    items = draw(
        st.lists(
            st.tuples(
                st.integers(0, 150 * 24),
                st.integers(1, 40),
                st.sampled_from(["crm", "etl", "bi"]),
            ),
            max_size=60,
        )
    )
    return [
        UsageEvent.from_dict(
            {
                "id": f"e{i}",
                "customer": "p",
                "type": "read",
                "time": (START + timedelta(hours=hours)).isoformat(),
                "properties": {"n": str(n), "app": app},
            }
        )
        for i, (hours, n, app) in enumerate(items)
    ]


limits = st.integers(0, 200).map(lambda n: Limit("reads", Decimal(n), CYCLE))


@given(usage(), limits)
def test_breaches_sum_to_usage_above_limits(events, limit):
    index = UsageIndex.of(events, METERS, group_by="app")
    result = audit(index, "p", limit, START, START + timedelta(days=160), group_by="app")
    for period in result.periods:
        assert period.breach == max(Decimal(0), EXACT.subtract(period.usage, limit.amount))
        assert exact_sum(g.above for g in period.groups) == period.breach
        assert exact_sum(g.usage for g in period.groups) == period.usage
        assert (period.first_breach is None) == (period.breach == 0)
    assert result.breach == exact_sum(p.breach for p in result.periods)
    assert result.usage == exact_sum(
        Decimal(e.properties["n"]) for e in events if e.time < CYCLE.start(6)
    )


@given(usage(), limits, st.integers(1, 5))
def test_an_audit_over_a_split_range_equals_the_whole(events, limit, split):
    index = UsageIndex.of(events, METERS, group_by="app")
    end = CYCLE.start(6)
    middle = CYCLE.start(split)
    whole = audit(index, "p", limit, START, end, group_by="app")
    first = audit(index, "p", limit, START, middle, group_by="app")
    second = audit(index, "p", limit, middle, end, group_by="app")
    assert first.periods + second.periods == whole.periods
    assert EXACT.add(first.breach, second.breach) == whole.breach


@given(
    usage(),
    st.integers(0, 200),
    st.sampled_from(list(LimitKind)),
    st.integers(0, 150 * 24),
)
def test_check_from_an_accumulator_equals_check_from_the_index(events, amount, kind, hours):
    """Fed the events up to the moment, an accumulator answers as the usage index does."""
    limit = Limit("reads", Decimal(amount), CYCLE, kind)
    moment = START + timedelta(hours=hours)
    so_far = [e for e in events if e.time <= moment]
    accumulator = Accumulator(METERS, CYCLE)
    accumulator.add(so_far)
    index = UsageIndex.of(events, METERS)
    expected = check(index, "p", limit, moment)
    assert check(accumulator, "p", limit, moment) == expected
    assert expected.usage == exact_sum(
        Decimal(e.properties["n"]) for e in so_far if e.time >= expected.period.start
    )


PRICES = [
    {"model": "per_unit", "currency": "EUR", "unit_amount": "0.001"},
    {
        "model": "graduated",
        "currency": "EUR",
        "tiers": [
            {"up_to": "5", "flat_amount": "100"},
            {"up_to": "10", "flat_amount": "50"},
            {"up_to": "15", "unit_amount": "5"},
            {"up_to": None, "unit_amount": "1.333"},
        ],
        "maximum": "170",
    },
    {
        "model": "volume",
        "currency": "EUR",
        "tiers": [{"up_to": "50", "unit_amount": "2"}, {"up_to": None, "unit_amount": "1.5"}],
        "minimum": "60",
    },
]


@given(
    st.sampled_from(PRICES),
    st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 40)), max_size=30),
    st.lists(st.integers(1, 400), max_size=4, unique=True).map(sorted),
    st.lists(st.integers(1, 300), max_size=3, unique=True).map(sorted),
    st.one_of(st.none(), st.integers(1, 100)),
)
def test_threshold_invoices_add_up_to_one_invoice(data, usage, amounts, usages, every):
    from meterlib.credits.thresholds import Thresholds, threshold_invoices  # noqa: PLC0415
    from meterlib.pricing import parse_price, rate_input  # noqa: PLC0415

    price = parse_price(data)
    timed = [(START + timedelta(minutes=m), q) for m, q in usage]
    thresholds = Thresholds(amounts, usages, every)
    invoices = threshold_invoices(price, timed, thresholds)
    total = exact_sum(Decimal(q) for _m, q in usage)
    whole = rate_input(price, total, final=True)
    assert exact_sum(i.part.rounded for i in invoices) == whole.rounded()
    assert exact_sum(i.part.amount for i in invoices) == whole.amount
    assert invoices[-1].part.final
    assert all(not i.part.final for i in invoices[:-1])
    # Every usage threshold reached is invoiced at the event that reached it.
    reached = [u for u in usages if u <= total]
    crossings = [i for i in invoices if i.at is not None]
    assert len(crossings) >= (1 if reached else 0)
    for mark in reached:
        assert any(i.usage >= mark and f"usage {mark}" in i.reason for i in crossings)


@st.composite
def invoice_grants(draw: st.DrawFn) -> list[Grant]:
    count = draw(st.integers(0, 5))
    return [
        Grant(
            f"g{i}",
            draw(amounts),
            draw(st.sampled_from(["EUR", "tokens", "api_calls"])),
            START - timedelta(days=draw(st.integers(0, 200))),
            priority=draw(st.integers(0, 2)),
        )
        for i in range(count)
    ]


@given(invoice_grants())
def test_credit_lines_never_overdraw_and_the_invoice_still_adds_up(given_grants):
    from pathlib import Path  # noqa: PLC0415

    from meterlib.credits.invoices import apply_credits  # noqa: PLC0415
    from meterlib.invoicing import LineKind, TableUsage, invoice, load_contract  # noqa: PLC0415
    from meterlib.invoicing.usage_files import load_usage_records  # noqa: PLC0415

    folder = Path(__file__).resolve().parents[2] / "examples" / "invoicing"
    contract = load_contract(folder / "contract.toml")
    bill = invoice(
        contract, TableUsage(load_usage_records(folder / "usage-2023-03.json")), START.date()
    )
    book = CreditLedger(contract.customer)
    for grant in given_grants:
        book = book.grant(grant)
    at = datetime(2023, 4, 1, tzinfo=UTC)
    credited, after = apply_credits(bill, book, at, contract=contract)
    result = credited.invoice
    result.check()
    drawn_lines = [line for line in result.lines if line.kind is LineKind.CREDIT]
    assert all(line.rounded <= 0 for line in drawn_lines)
    assert 0 <= result.total <= bill.total
    money = EXACT.minus(exact_sum(c.rounded for c in drawn_lines if c.unit == "EUR"))
    owed = EXACT.add(result.total, money)
    assert money == min(book.balance(at, "EUR"), owed)
    for meter in ("tokens", "api_calls"):
        used = exact_sum(
            c.quantity for c in drawn_lines if c.unit != "EUR" and c.charge in
            {g.id for g in given_grants if g.unit == meter}
        )
        assert used == EXACT.subtract(book.balance(at, meter), after.balance(at, meter))
        billed = exact_sum(
            line.quantity for line in bill.lines if line.kind is LineKind.USAGE
            and line.charge == meter
        )
        assert used == min(book.balance(at, meter), billed)
    assert all(value >= 0 for value in after.balances(at).values())


@settings(max_examples=40)
@given(
    st.sampled_from(PRICES),
    st.lists(st.tuples(st.integers(0, 44_639), st.integers(0, 40)), max_size=30),
    st.lists(st.integers(1, 400), max_size=4, unique=True).map(sorted),
    st.lists(st.integers(1, 300), max_size=3, unique=True).map(sorted),
    st.one_of(st.none(), st.integers(1, 100)),
    st.integers(0, 5),
)
def test_issued_threshold_invoices_equal_one_invoice_for_the_period(  # noqa: PLR0917  (one per strategy)
    data, usage, amounts, usages, every, first
):
    import sqlite3  # noqa: PLC0415

    from meterlib.credits.part_invoices import PartTerms  # noqa: PLC0415
    from meterlib.credits.thresholds import Thresholds, threshold_invoices  # noqa: PLC0415
    from meterlib.ledger.credits import issue_threshold_invoices  # noqa: PLC0415
    from meterlib.ledger.documents import DocumentStore  # noqa: PLC0415
    from meterlib.periods import Period  # noqa: PLC0415
    from meterlib.pricing import parse_price, rate_input  # noqa: PLC0415

    price = parse_price(data)
    january = Period(START, CYCLE.start(1))
    timed = [(START + timedelta(minutes=m), q) for m, q in usage]
    parts = threshold_invoices(price, timed, Thresholds(amounts, usages, every))
    terms = PartTerms("p", "EUR", january, "reads", timezone="Europe/Berlin")
    store = DocumentStore(sqlite3.connect(":memory:", isolation_level=None))
    crossed = min(first, len(parts) - 1)
    issued = issue_threshold_invoices(store, terms, parts[:crossed])
    issued += issue_threshold_invoices(store, terms, parts, first=crossed)
    assert len(issued) == len(parts)
    total = exact_sum(Decimal(q) for _m, q in usage)
    whole = rate_input(price, total, final=True).rounded()
    assert exact_sum(d.total for d in issued) == whole
    stored = [store.invoice(d.number) for d in issued]
    assert exact_sum(i.total for i in stored) == whole
    assert exact_sum(i.lines[0].quantity for i in stored) == total
    assert stored[0].period.start == january.start
    assert stored[-1].period.end == january.end
    assert all(a.period.end == b.period.start for a, b in pairwise(stored))
