"""Notes over a period no invoice billed, and money credits on invoices, as people read them.

A back-billing note over a period no issued invoice billed names that period ("Corrects the
period Jan 1, 2024 – Jan 31, 2024"), never "invoice None"; its lines refer to the period. A
note on an invoice still names the invoice. On an invoice, money credits (drawn after tax, as
Lago's wallets) come after the taxes under "Credits applied", before the total due, and the
subtotal is the charges' alone; unit credits stay after the usage line they reduce.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from meterlib._numbers import EXACT, exact_sum
from meterlib.backbill import BilledPeriod, PriceSchedule, Statement, UsageRecord, rebill
from meterlib.credits import CreditLedger, Grant
from meterlib.credits.invoices import apply_credits
from meterlib.invoicing import Invoice, LineKind, TableUsage, invoice
from meterlib.invoicing.notes import Note
from meterlib.ledger import Ledger
from meterlib.ledger.backbilling import issue_statement
from meterlib.ledger.documents import DocumentStore
from meterlib.pricing import parse_price
from meterlib.render import render_invoice
from meterlib.render.html.issued import note_fragment
from meterlib.render.issued import ListedDocument, render_document_list, render_note
from meterlib.render.labels import InvoiceLabels
from tests.issued_fixtures import Documents, issued_documents
from tests.records_fixtures import at, contract, draft, event
from tests.test_credit_invoices import AT, CONTRACT, START, USAGE
from tests.test_render_issued import text_of

D = Decimal
JANUARY = "Jan 1, 2024 – Jan 31, 2024"
JANUARY_DE = "01.01.2024 – 31.01.2024"


def statement(billed: str, used: str, invoice: str | None = None) -> Statement:
    """January 2024 re-billed at 1 a unit: ``used`` units, ``billed`` billed (on ``invoice``)."""
    basis = PriceSchedule.single(parse_price({"model": "per_unit", "unit_amount": "1"}))
    return rebill(basis, [BilledPeriod(date(2024, 1, 1), date(2024, 2, 1), billed,
                                       invoice=invoice)],
                  [UsageRecord(date(2024, 1, 1), date(2024, 2, 1), used)],
                  as_of=date(2024, 12, 31), due_days=30)


def march() -> Invoice:
    """The example contract's March invoice."""
    return invoice(CONTRACT, TableUsage(dict(USAGE.items())), date(2023, 3, 1))


@dataclass(frozen=True)
class PeriodNotes:
    debit: Note
    debit_body: str
    credit: Note
    on_invoice: Note
    listed: ListedDocument


@pytest.fixture(scope="module")
def notes(tmp_path_factory: pytest.TempPathFactory) -> PeriodNotes:
    """A debit and a credit note over January (no invoice), and a back-billing note on one."""
    path = tmp_path_factory.mktemp("period") / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.append([event("e1", 100), event("e2", 50, month=2)], received_at=at(1, 20))
    with DocumentStore(path) as store:
        [debit] = issue_statement(store, statement("0", "3"), customer="cus_1",
                                  at=at(12, 31)).documents
        [credit] = issue_statement(store, statement("5", "3"), customer="cus_1",
                                   at=at(12, 31)).documents
        con = contract()
        jan = store.issue(draft(path, con, con.period(0)), at=at(2, 1)).number
        [corrects] = issue_statement(store, statement("13.20", "20", invoice=jan),
                                     customer="cus_1", at=at(12, 31)).documents
        return PeriodNotes(store.note(debit.number), debit.body, store.note(credit.number),
                           store.note(corrects.number), ListedDocument(debit, None))


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Documents:
    return issued_documents(tmp_path_factory.mktemp("issued"))


def test_the_fixture_notes_are_over_a_period_or_an_invoice(notes: PeriodNotes) -> None:
    assert (notes.debit.invoice, notes.debit.kind.value) == (None, "debit_note")
    assert (notes.credit.invoice, notes.credit.kind.value) == (None, "credit_note")
    assert all(line.invoice is None for line in notes.debit.lines + notes.credit.lines)
    assert notes.on_invoice.invoice is not None
    assert notes.on_invoice.lines[0].kind == "backbill"


# --- notes over a period ----------------------------------------------------------------------


def test_a_period_note_in_text_names_the_period_not_an_invoice(notes: PeriodNotes) -> None:
    debit = render_note(notes.debit, notes.debit_body, "text")
    assert debit.splitlines()[:2] == ["Debit note DN-000001", f"Corrects the period {JANUARY}"]
    assert f"  [period {JANUARY}]  $3.00" in debit
    credit = render_note(notes.credit, "", "text")
    assert credit.splitlines()[:2] == ["Credit note CN-000001", f"Corrects the period {JANUARY}"]
    assert f"  [period {JANUARY}]  -$2.00" in credit
    for shown in (debit, credit):
        assert "None" not in shown
        assert "invoice" not in shown.lower()


def test_a_period_note_in_html_names_the_period(notes: PeriodNotes) -> None:
    debit = text_of(render_note(notes.debit, notes.debit_body, "html"))
    assert f"Corrects the period {JANUARY}" in debit
    assert f"period {JANUARY} $3.00" in debit
    assert f"This note bills the period {JANUARY}, which no issued invoice billed." in debit
    credit = text_of(render_note(notes.credit, "", "html"))
    assert f"This note credits the period {JANUARY}, which no issued invoice billed" in credit
    assert "credit balance" in credit
    fragment = text_of(note_fragment(notes.debit))
    assert f"Corrects the period {JANUARY}" in fragment
    for shown in (debit, credit, fragment):
        assert "None" not in shown
        assert "Corrects invoice" not in shown


def test_a_period_note_in_german(notes: PeriodNotes) -> None:
    text = render_note(notes.debit, "", "text", "de_DE")
    assert text.splitlines()[1] == f"Korrigiert den Zeitraum {JANUARY_DE}"
    assert f"[Zeitraum {JANUARY_DE}]" in text
    page = text_of(render_note(notes.credit, "", "html", "de_DE"))
    assert f"Korrigiert den Zeitraum {JANUARY_DE}" in page
    assert "Guthabenkonto" in page
    assert "None" not in text + page


def test_a_period_note_in_csv_carries_the_period_and_lists_show_it(notes: PeriodNotes) -> None:
    [row] = csv.DictReader(io.StringIO(render_note(notes.debit, "", "csv")))
    assert (row["invoice"], row["amount"]) == ("", "3.00")
    assert (row["period_start"], row["period_end"]) == (
        "2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00")
    assert JANUARY in render_document_list([notes.listed], "text")
    assert JANUARY in text_of(render_document_list([notes.listed], "html"))
    assert render_note(notes.debit, notes.debit_body, "json") == notes.debit_body + "\n"


# --- notes on an invoice are unchanged ----------------------------------------------------------


def test_notes_on_an_invoice_still_name_it_in_english_and_german(
    docs: Documents, notes: PeriodNotes
) -> None:
    assert render_note(docs.debit, "", "text").splitlines()[1] == "Corrects invoice: INV-000001"
    assert render_note(docs.credit, "", "text", "de_DE").splitlines()[1] == (
        "Korrigiert Rechnung: INV-000001")
    assert "Corrects invoice INV-000001" in text_of(render_note(docs.debit, "", "html"))
    page = text_of(render_note(docs.credit, "", "html", "de_DE"))
    assert "Korrigiert Rechnung INV-000001" in page
    assert "Zeitraum" not in page.split("Beschreibung", 1)[0]
    [row] = csv.DictReader(io.StringIO(render_note(docs.credit, "", "csv")))
    assert (row["invoice"], row["period_start"], row["period_end"]) == ("INV-000001", "", "")
    # a back-billing line on an invoice corrects the whole invoice, not a "new backbill line"
    shown = render_note(notes.on_invoice, "", "text")
    assert f"Corrects invoice: {notes.on_invoice.invoice}" in shown
    assert "[whole invoice]" in shown
    assert "[gesamte Rechnung]" in render_note(notes.on_invoice, "", "text", "de_DE")


# --- money credits after taxes -----------------------------------------------------------------


@pytest.fixture(scope="module")
def credited() -> Invoice:
    """March's invoice with 500 tokens of unit credit and a 20 EUR wallet."""
    book = CreditLedger(CONTRACT.customer)
    book = book.grant(Grant("tok", D(500), "tokens", START, description="Launch tokens"))
    book = book.grant(Grant("wallet", D(20), "EUR", START))
    return apply_credits(march(), book, AT, contract=CONTRACT)[0].invoice


def _euros(amount: Decimal) -> str:
    return f"-€{-amount:,.2f}" if amount < 0 else f"€{amount:,.2f}"


def test_money_credits_in_text_come_after_taxes_and_before_the_total(credited: Invoice) -> None:
    wallet = credited.lines[-1]
    assert (wallet.kind, wallet.unit, wallet.rounded) == (LineKind.CREDIT, "EUR", D(-20))
    text = render_invoice(credited, "text")
    table, totals = text.split("Subtotal", 1)
    assert "grant wallet" not in table
    assert "20 EUR" not in text
    # the unit credit stays right after the usage line it reduces, its quantity in units
    rows = [r for r in table.splitlines() if r and not r.startswith(" ")]
    tokens = next(i for i, r in enumerate(rows) if r.startswith("Tokens processed"))
    assert rows[tokens + 1].startswith("Credit: Launch tokens (grant tok)")
    assert "500 tokens" in rows[tokens + 1]
    order = ["VAT 19%", "Total before credits", "Credits applied", "Credit: grant wallet",
             "Total (EUR)"]
    places = [totals.index(label) for label in order]
    assert places == sorted(places)
    charges = exact_sum(x.rounded for x in credited.lines if x is not wallet)
    assert credited.subtotal == exact_sum([charges, wallet.rounded])  # the domain's is unchanged
    [tax] = credited.taxes
    assert re.match(rf"\s+{re.escape(_euros(charges))}\n", totals)  # after "Subtotal"
    assert EXACT.subtract(charges, credited.discount_total) == tax.base  # the tax line's base
    assert f"on {_euros(tax.base)}" in totals
    before_credits = EXACT.subtract(credited.total, wallet.rounded)
    assert _euros(before_credits) in totals.split("Credits applied")[0]
    assert totals.split("Total (EUR)")[1].split()[0] == _euros(credited.total)


def test_money_credits_in_html_and_in_another_language(credited: Invoice) -> None:
    page = render_invoice(credited, "html")
    shown = text_of(page)
    order = ["Tokens processed", "Credit: Launch tokens (grant tok)", "Subtotal",
             "VAT 19%", "Total before credits", "Credits applied", "Credit: grant wallet",
             f"Total (EUR) {_euros(credited.total)}"]
    places = [shown.index(label) for label in order]
    assert places == sorted(places)
    assert '<td class="credit">-€20.00</td>' in page
    assert "20 EUR" not in shown
    german = text_of(render_invoice(credited, "html", "de_DE"))
    order = ["Zwischensumme", "Summe vor Guthaben", "Angerechnete Guthaben", "grant wallet",
             "Summe (EUR)"]
    places = [german.index(label) for label in order]
    assert places == sorted(places)
    assert "Angerechnete Guthaben" in render_invoice(credited, "text", "de_DE")


def test_the_drawn_money_is_money_and_invoices_without_credits_are_unchanged(
    credited: Invoice,
) -> None:
    labels = InvoiceLabels(credited, "de_DE")
    assert labels.quantity(credited.lines[-1]) == "20,00\xa0€"
    assert labels.quantity(credited.lines[3]) == "500 tokens"
    plain = march()
    for fmt in ("text", "html"):
        shown = render_invoice(plain, fmt)
        assert "Credits applied" not in shown
        assert "Total before credits" not in shown
        assert _euros(plain.subtotal) in shown
    # CSV keeps the invoice's lines in order, exact; the display column is text, neutralized
    rows = list(csv.DictReader(io.StringIO(render_invoice(credited, "csv"))))
    assert [r["kind"] for r in rows][-1] == "credit"
    assert (rows[-1]["rounded"], rows[-1]["rounded_display"]) == ("-20.00", "'-€20.00")
    assert exact_sum(D(r["rounded"]) for r in rows) == credited.subtotal
