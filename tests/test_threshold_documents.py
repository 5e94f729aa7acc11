"""Threshold invoices issued and stored through the document store, parts adding up."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from meterlib.credits.part_invoices import PartTerms, part_spans
from meterlib.credits.thresholds import Thresholds, threshold_invoices
from meterlib.errors import InvalidValueError
from meterlib.invoicing import LineKind
from meterlib.ledger.credits import issue_threshold_invoices
from meterlib.ledger.documents import DocumentStore, DocumentStoreError
from meterlib.periods import Period
from meterlib.pricing import parse_price

JAN = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
TERMS = PartTerms(
    customer="acme",
    currency="EUR",
    period=JAN,
    charge="reads",
    description="Reads",
    unit="reads",
    plan="pro",
    timezone="Europe/Berlin",
    payment_terms_days=14,
)


def _usage(days: int, each: int) -> list[tuple[datetime, int]]:
    return [(JAN.start + timedelta(days=day, hours=12), each) for day in range(days)]


def test_parts_are_issued_at_their_crossings_and_add_up(tmp_path: Path) -> None:
    price = parse_price({"model": "per_unit", "currency": "EUR", "unit_amount": "0.50"})
    parts = threshold_invoices(price, _usage(20, 100), Thresholds(amounts=["300"], every="250"))
    with DocumentStore(tmp_path / "ledger.sqlite") as store:
        # Issued as they are crossed: the first two parts, then the rest once the period ends.
        issued = issue_threshold_invoices(store, TERMS, parts[:2])
        issued += issue_threshold_invoices(store, TERMS, parts, first=2)
        assert [d.number for d in issued] == [f"INV-00000{n}" for n in range(1, 5)]
        assert [d.total for d in issued] == [
            Decimal("300.00"),
            Decimal("250.00"),
            Decimal("250.00"),
            Decimal("200.00"),
        ]
        assert sum(d.total for d in issued) == price.rate(2000).rounded()
        first = store.invoice(issued[0].number)
        # Day 6 (index 5) takes the usage to 600 reads: the first threshold, 300.00, is crossed.
        assert issued[0].issued_at == JAN.start + timedelta(days=5, hours=12)
        assert first.period.start == JAN.start
        assert first.lines[0].quantity == Decimal(600)
        assert first.lines[0].description == "Reads: part 1 (amount 300)"
        assert first.due_on == first.issued_on + timedelta(days=14)
        last = store.invoice(issued[-1].number)
        assert last.period.end == JAN.end
        assert issued[-1].issued_at == JAN.end
        # The spans tile the period.
        spans = [store.invoice(d.number).period for d in issued]
        assert spans[0].start == JAN.start
        assert all(a.end == b.start for a, b in pairwise(spans))
        # A part is an issued invoice: issuing it again is refused by the store.
        with pytest.raises(DocumentStoreError, match="already has invoice"):
            issue_threshold_invoices(store, TERMS, parts[:1])
        with pytest.raises(InvalidValueError, match="no invoice of part 1"):
            issue_threshold_invoices(
                DocumentStore(sqlite3.connect(":memory:", isolation_level=None)),
                TERMS,
                parts,
                first=1,
            )


def test_a_negative_part_corrects_the_previous_one() -> None:
    price = parse_price(
        {
            "model": "volume",
            "currency": "EUR",
            "tiers": [{"up_to": "10", "unit_amount": "2"}, {"up_to": None, "unit_amount": "1"}],
        }
    )
    # 8 units bill 16.00 at the usage threshold; 11 units then cost 11.00 in all: -5.00.
    usage = [(JAN.start + timedelta(days=1), 8), (JAN.start + timedelta(days=2), 3)]
    parts = threshold_invoices(price, usage, Thresholds(usages=["8"]))
    store = DocumentStore(sqlite3.connect(":memory:", isolation_level=None))
    issued = issue_threshold_invoices(store, TERMS, parts)
    assert [d.total for d in issued] == [Decimal("16.00"), Decimal("-5.00")]
    line = store.invoice(issued[1].number).lines[0]
    assert line.kind is LineKind.CORRECTION
    assert line.corrects is not None
    assert line.corrects.invoice == issued[0].number


def test_spans_refuse_parts_outside_the_period() -> None:
    price = parse_price({"model": "per_unit", "currency": "EUR", "unit_amount": "1"})
    late = [(JAN.end + timedelta(days=1), 5)]
    parts = threshold_invoices(price, late, Thresholds(usages=["1"]))
    with pytest.raises(InvalidValueError, match="an instant in"):
        part_spans(parts, JAN)


def test_a_crossing_at_the_last_microsecond_leaves_the_final_part_a_span() -> None:
    price = parse_price(
        {"model": "per_unit", "currency": "EUR", "unit_amount": "1", "minimum": "50"}
    )
    usage = [(JAN.end - timedelta(microseconds=1), 5)]
    parts = threshold_invoices(price, usage, Thresholds(usages=["5"]))
    spans = part_spans(parts, JAN)
    assert spans[0] == Period(JAN.start, JAN.end)
    assert spans[1] == Period(JAN.end - timedelta(microseconds=1), JAN.end)
    store = DocumentStore(sqlite3.connect(":memory:", isolation_level=None))
    issued = issue_threshold_invoices(store, TERMS, parts)
    assert [d.total for d in issued] == [Decimal("5.00"), Decimal("45.00")]
