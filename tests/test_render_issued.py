"""Issued documents and the usage audit as people read them: every field, every language.

Issue 12.12: the HTML and text invoice show status, number, issue and due dates, amount paid
and amount due, for drafts, issued, paid and void invoices; a credit or debit note names the
invoice it corrects. Issue 15.5-6: the same documents in Jupyter (scoped CSS), in de, fr, es,
ja and ar (right to left, figures isolated), percentages through Babel.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from meterlib._numbers import EXACT, exact_sum
from meterlib.cli import main
from meterlib.invoicing.lifecycle import DocumentStatus
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore
from meterlib.render import render_invoice
from meterlib.render.audit import audit_html, audit_text
from meterlib.render.format import Formatter
from meterlib.render.html.audit import audit_fragment
from meterlib.render.html.issued import issued_fragment, note_fragment
from meterlib.render.issued import (
    DocumentList,
    ListedDocument,
    PaymentList,
    render_document_list,
    render_issued,
    render_note,
    render_payments,
)
from tests.issued_fixtures import Documents, issued_documents, usage_audit
from tests.records_fixtures import at, contract, draft, event
from tests.test_render_html import check_scoped

D = Decimal
LANGUAGES = ("de_DE", "fr_FR", "es_ES", "ja_JP", "ar")


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Documents:
    return issued_documents(tmp_path_factory.mktemp("issued"))


def text_of(html: str) -> str:
    """The visible text of an HTML page, tags and the stylesheet removed, entities kept."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def field_value(text: str, label: str) -> str:
    """The value after ``label`` in a text account block (``Label   value``)."""
    match = re.search(rf"^{re.escape(label)} +(.+)$", text, flags=re.MULTILINE)
    assert match, f"{label!r} not in\n{text}"
    return match.group(1)


# --- the fixtures are what the tests say they are ---------------------------------------------


def test_the_documents_are_in_the_states_the_tests_need(docs: Documents) -> None:
    assert docs.paid.status is DocumentStatus.PAID
    assert docs.void.status is DocumentStatus.VOID
    assert docs.replacement.status is DocumentStatus.ISSUED
    assert docs.debit.kind.value == "debit_note"
    assert docs.credit.kind.value == "credit_note"
    assert any(line.late_events for line in docs.debit.lines)
    assert len(docs.payments) == 2


# --- text: every field, every status ----------------------------------------------------------


def test_a_draft_shows_its_status_number_dates_and_what_is_due(docs: Documents) -> None:
    bill = docs.draft
    text = render_invoice(bill, "text")
    assert text.splitlines()[0] == f"Invoice {bill.number} (draft)"
    assert "Issued: Apr 1, 2023" in text
    assert "Due: Apr 15, 2023" in text
    assert "Draft: not issued. The number, dates and amounts may still change." in text
    assert field_value(text, "Status") == "draft"
    assert field_value(text, "Number") == bill.number
    assert field_value(text, "Amount due") == "€265.38"
    assert field_value(text, "Amount paid") == "€0.00"
    assert field_value(text, "Remaining balance") == "€265.38"


def test_a_paid_invoice_shows_notes_payments_and_nothing_remaining(docs: Documents) -> None:
    account = docs.paid.account
    text = render_issued(docs.paid, "text", payments=docs.payments)
    assert text.splitlines()[0] == "Invoice INV-000001 (paid)"
    assert "Issued: Apr 2, 2023" in text
    assert "Due: Apr 16, 2023" in text
    assert field_value(text, "Status") == "paid"
    assert field_value(text, "Number") == "INV-000001"
    assert field_value(text, "Invoice total") == "€265.38"
    notes = EXACT.add(docs.debit.total, docs.credit.total)
    assert account.adjustments == notes
    assert field_value(text, "Credit and debit notes") == f"€{notes:,.2f}"
    assert field_value(text, "Amount due") == f"€{account.amount_due:,.2f}"
    assert field_value(text, "Amount paid") == f"€{account.paid:,.2f}"
    assert field_value(text, "Remaining balance") == "€0.00"
    assert "Draft" not in text
    assert "INV-000001  Apr 10, 2023  SEPA-0412  transfer  €100.00" in text
    assert f"€{EXACT.subtract(account.paid, 100):,.2f}" in text.split("Payments", 1)[1]


def test_a_void_invoice_shows_its_reason_replacement_and_owes_nothing(docs: Documents) -> None:
    text = render_issued(docs.void, "text")
    assert text.splitlines()[0] == "Invoice INV-000002 (void)"
    assert field_value(text, "Status") == "void"
    assert field_value(text, "Amount due") == "€0.00"
    assert field_value(text, "Void reason") == "billed under the wrong plan"
    assert field_value(text, "Replaced by") == docs.replacement.account.number
    assert "Void: billed under the wrong plan. This invoice owes nothing." in text
    assert field_value(render_issued(docs.replacement, "text"), "Status") == "issued"


def test_notes_name_the_invoice_and_lines_they_correct(docs: Documents) -> None:
    debit = render_note(docs.debit, docs.debit_body, "text")
    assert debit.splitlines()[:2] == ["Debit note DN-000001", "Corrects invoice: INV-000001"]
    assert "Reason: usage received after the invoice was issued (late usage)" in debit
    assert "Tokens processed  [line 7]  €650.00" in debit
    assert "late events: late_1 (received 2023-04-12T09:00:00+00:00), late_2" in debit
    assert "[tax VAT]" in debit
    assert f"Total charged: €{docs.debit.total:,.2f}" in debit
    credit = render_note(docs.credit, docs.credit_body, "text")
    assert credit.splitlines()[:2] == ["Credit note CN-000001", "Corrects invoice: INV-000001"]
    assert "Starter platform fee  [line 1]  -€2.13" in credit
    assert "Total credited: -€2.13" in credit


# --- HTML: the same fields, the same states ---------------------------------------------------


def test_html_invoices_show_every_field_for_each_status(docs: Documents) -> None:
    cases = [
        (render_invoice(docs.draft, "html"), "draft", docs.draft.number, "€265.38", "€0.00"),
        (render_issued(docs.paid, "html", payments=docs.payments), "paid", "INV-000001",
         f"€{docs.paid.account.amount_due:,.2f}", f"€{docs.paid.account.paid:,.2f}"),
        (render_issued(docs.void, "html"), "void", "INV-000002", "€0.00", "€0.00"),
        (render_issued(docs.replacement, "html"), "issued", docs.replacement.account.number,
         f"€{docs.replacement.account.amount_due:,.2f}", "€0.00"),
    ]
    for page, status, number, due, paid in cases:
        shown = text_of(page)
        assert f'data-status="{status}"' in page
        assert f'<table class="totals account" data-status="{status}">' in page
        assert f"Status {status}" in shown
        assert f"Invoice no. {number}" in shown
        assert re.search(r"Issued \w{3} \d+, 2023 Due \w{3} \d+, 2023", shown), status
        assert f"Amount due {due}" in shown, status
        assert f"Amount paid {paid}" in shown, status
        assert "Remaining balance" in shown
    paid_page = text_of(cases[1][0])
    assert "Payments" in paid_page
    assert "SEPA-0420" in paid_page
    assert "Void reason billed under the wrong plan" in text_of(cases[2][0])
    assert "Draft: not issued." in text_of(cases[0][0])


def test_html_notes_name_the_invoice_and_the_late_events(docs: Documents) -> None:
    page = render_note(docs.debit, docs.debit_body, "html")
    shown = text_of(page)
    assert "<title>Debit note DN-000001</title>" in page
    assert "Corrects invoice INV-000001" in shown
    assert "line 7" in shown
    assert "late events: late_1 (received 2023-04-12T09:00:00+00:00)" in shown
    assert "<thead>" in page
    credit = text_of(render_note(docs.credit, docs.credit_body, "html"))
    assert "Credit note" in credit
    assert "Corrects invoice INV-000001" in credit
    assert "-€2.13" in credit


def test_correction_lines_on_an_invoice_say_what_they_correct(docs: Documents) -> None:
    from meterlib.invoicing.notes import with_corrections  # noqa: PLC0415

    lines = [line for line in docs.debit.lines if line.kind != "tax"]
    bill = with_corrections(docs.replacement.invoice, lines)
    for fmt in ("text", "html"):
        shown = render_invoice(bill, fmt)
        assert "corrects INV-000001, line 7; late events: late_1" in shown, fmt


# --- JSON and CSV stay exact ------------------------------------------------------------------


def test_json_is_the_issued_body_and_csv_carries_the_account(docs: Documents) -> None:
    assert render_issued(docs.paid, "json") == docs.paid.document.body + "\n"
    assert render_note(docs.debit, docs.debit_body, "json") == docs.debit_body + "\n"
    out = render_issued(docs.paid, "csv", payments=docs.payments)
    fields = dict(row for row in csv.reader(io.StringIO(out)) if len(row) == 2)
    assert fields["status"] == "paid"
    assert D(fields["amount_due"]) == docs.paid.account.amount_due
    assert D(fields["amount_paid"]) == docs.paid.account.paid
    assert fields["issued_on"] == "2023-04-02"
    assert "SEPA-0412" in out
    rows = list(csv.DictReader(io.StringIO(render_note(docs.debit, "", "csv"))))
    assert exact_sum(D(r["amount"]) for r in rows) == docs.debit.total
    assert {r["invoice"] for r in rows} == {"INV-000001"}


def test_document_lists_and_payments_in_every_format(docs: Documents) -> None:
    items = [ListedDocument(docs.paid.document, docs.paid.account),
             ListedDocument(docs.void.document, docs.void.account)]
    records = json.loads(render_document_list(items, "json"))
    assert [(r["number"], r["status"]) for r in records] == [
        ("INV-000001", "paid"), ("INV-000002", "void")]
    text = render_document_list(items, "text", "de_DE")
    assert "bezahlt" in text
    assert "storniert" in text
    assert "Offener Betrag" in text
    page = render_document_list(items, "html")
    assert 'data-status="void"' in page
    assert "<thead>" in page
    assert json.loads(render_payments(docs.payments, "EUR", "json"))[0]["amount"] == "100.00"
    assert "No payments recorded." in render_payments([], "EUR", "text")
    assert "SEPA-0412" in str(PaymentList(docs.payments, "EUR"))
    assert "INV-000002" in str(DocumentList(items))


# --- Jupyter: scoped fragments ----------------------------------------------------------------


def test_every_issued_result_displays_itself_under_its_own_scope(docs: Documents) -> None:
    items = [ListedDocument(docs.paid.document, docs.paid.account)]
    shown = [
        docs.paid._repr_html_(),
        docs.void._repr_html_(),
        docs.debit._repr_html_(),
        docs.credit._repr_html_(),
        PaymentList(docs.payments, "EUR")._repr_html_(),
        DocumentList(items)._repr_html_(),
        usage_audit()._repr_html_(),
    ]
    roots = [check_scoped(fragment) for fragment in shown]
    assert len(set(roots)) == len(roots)
    assert all("<html" not in fragment for fragment in shown)
    assert 'data-status="paid"' in shown[0]
    assert "Amount paid" in shown[0]
    assert "Corrects invoice" in shown[2]
    assert "First breach" in shown[6]
    with_payments = issued_fragment(docs.paid, "en_US", docs.payments)
    assert "SEPA-0412" in with_payments


# --- languages --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("de_DE", ["Bezahlter Betrag", "Geschuldeter Betrag", "bezahlt", "Zahlungen"]),
        ("fr_FR", ["Montant payé", "Montant dû", "payée", "Paiements"]),
        ("es_ES", ["Importe pagado", "Importe adeudado", "pagada", "Pagos"]),
        ("ja_JP", ["支払済額", "請求額", "支払済み", "支払い"]),
        ("ar", ["المبلغ المدفوع", "المبلغ المستحق", "مدفوعة", "المدفوعات"]),
    ],
)
def test_issued_invoices_are_translated(docs: Documents, locale: str, words: list[str]) -> None:
    for fmt in ("html", "text"):
        page = render_issued(docs.paid, fmt, locale, docs.payments)
        for word in words:
            assert word in page, (fmt, word)
        assert "Amount paid" not in page
        assert "Remaining balance" not in page


@pytest.mark.parametrize("locale", LANGUAGES)
def test_notes_and_audits_are_translated(docs: Documents, locale: str) -> None:
    f = Formatter("EUR", locale)
    for page in (render_note(docs.debit, "", "html", locale),
                 render_note(docs.debit, "", "text", locale), note_fragment(docs.debit, locale)):
        assert f.gettext("Corrects invoice") in page
        assert f.gettext("Corrects invoice") != "Corrects invoice"
        assert "late events" not in page
    for page in (audit_html(usage_audit(), locale), audit_text(usage_audit(), locale),
                 audit_fragment(usage_audit(), locale)):
        assert f.gettext("First breach") in page
        assert "First breach" not in page
        assert "Share of the limit" not in page


def test_audit_shares_of_the_limit_go_through_babel() -> None:
    result = usage_audit()
    assert "118.9%" in audit_text(result, "en_US")
    assert "118,9\xa0%" in audit_text(result, "de_DE")
    assert "118,9\xa0%" in audit_text(result, "fr_FR")
    page = audit_html(result)
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr") == 3 * (3 + 1) + 1
    assert body.count('class="over"') == 3 + 3 * 3  # every period and app went above the limit
    assert '<time datetime="2024-01-27T06:00:00+00:00">' in page


def test_arabic_documents_run_right_to_left_with_isolated_figures(docs: Documents) -> None:
    pages = [
        render_issued(docs.paid, "html", "ar", docs.payments),
        render_note(docs.credit, "", "html", "ar"),
        audit_html(usage_audit(), "ar"),
    ]
    for page in pages:
        assert '<html lang="ar" dir="rtl">' in page
        assert "\u2068" in page
        assert "\u2069" in page
        assert "<bdi>" in page
    assert "\u2068\u200f-2.13\xa0€\u2069" in pages[1]
    assert 'lang="ar" dir="rtl"' in issued_fragment(docs.paid, "ar")


def test_the_commands_show_payments_and_speak_the_locale(
    docs: Documents, capsys: pytest.CaptureFixture[str]
) -> None:
    """``meterlib invoices show`` lists the payments; ``list`` and ``show`` take ``--locale``."""
    ledger = str(docs.ledger)
    assert main(["invoices", "show", "INV-000001", "--ledger", ledger]) == 0
    with DocumentStore(docs.ledger) as store:
        expected = render_issued(store.issued_invoice("INV-000001"), "text", "en_US",
                                 store.payments("INV-000001"))
    out = capsys.readouterr().out
    assert out == expected
    assert "SEPA-0420" in out
    assert main(["invoices", "list", "--ledger", ledger, "--locale", "de_DE"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["Nummer", "Art", "Status"]
    assert "storniert" in out
    assert main(["invoices", "show", "DN-000001", "--ledger", ledger, "--format", "html",
                 "--locale", "fr_FR"]) == 0
    assert "Corrige la facture" in capsys.readouterr().out


def test_the_audit_command_speaks_the_locale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "events.jsonl"
    source.write_text("".join(
        json.dumps({"id": f"e{i}", "customer": "partner", "type": "read",
                    "time": f"2024-01-{1 + i // 10:02d}T{i % 10:02d}:00:00+00:00",
                    "properties": {"app": "crm"}}) + "\n"
        for i in range(120)
    ))
    terms = tmp_path / "terms.toml"
    terms.write_text(
        'customer = "partner"\n'
        'meters = [{ name = "reads", type = "read", aggregation = "count" }]\n'
        '[limit]\nmeter = "reads"\namount = "100"\nkind = "hard"\ncadence = "monthly"\n'
        "anchor = 2024-01-01\n"
        '[[prices]]\neffective_from = 2024-01-01\nlabel = "list"\n'
        'price = { model = "per_unit", currency = "EUR", unit_amount = "0.50" }\n'
    )
    ledger = tmp_path / "l.sqlite"
    assert main(["ingest", str(source), "--ledger", str(ledger)]) == 0
    capsys.readouterr()
    args = ["audit", str(terms), "--ledger", str(ledger), "--from", "2024-01-01",
            "--to", "2024-02-01", "--locale", "de_DE"]
    assert main([*args, "--format", "html"]) == 0
    page = capsys.readouterr().out
    assert '<html lang="de" dir="ltr">' in page
    assert "Erste Überschreitung" in page
    assert "120\xa0%" in page  # 120 reads against a limit of 100
    assert "10,00\xa0€" in page
    assert main(args) == 0
    assert "Nutzungsprüfung: partner, reads" in capsys.readouterr().out


def test_line_kinds_the_renderers_do_not_know_still_show(docs: Documents) -> None:
    """A kind added later (a credit draw, say) is shown as the engine names it."""

    class Later(StrEnum):
        CREDIT_DRAW = "credit_draw"

    future: Any = Later.CREDIT_DRAW  # a kind LineKind does not have yet
    line = replace(docs.draft.lines[0], kind=future, description="Prepaid credit",
                   amount=D("-5.00"), rounded=D("-5.00"), unit="credit", unit_price=None,
                   proration=None, timing=None)
    bill = replace(docs.draft, lines=(*docs.draft.lines, line))
    for fmt in ("text", "html"):
        shown = render_invoice(bill, fmt)
        assert "Prepaid credit" in shown, fmt
        assert "-€5.00" in shown, fmt
    note_line = replace(docs.debit.lines[0], kind="credit_draw", line=None)
    note = replace(docs.debit, lines=(note_line,), total=note_line.amount)
    assert "[new credit draw line]" in render_note(note, "", "text")
    assert "neue Position (credit draw)" in render_note(note, "", "text", "de_DE")


def test_an_invoice_issued_within_its_grace_period_says_so(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        ledger.append([event("e1", 100)], received_at=at(1, 20))
    con = contract(grace_period_days=3)
    with DocumentStore(path) as store:
        issued = store.issue(draft(path, con, con.period(0)), at=at(2, 2),
                             grace=timedelta(days=3))
        assert issued.early
        shown = store.issued_invoice(issued.number)
    text = render_issued(shown, "text")
    assert field_value(text, "Grace period") == "issued before it ended on Feb 4, 2024"
    assert "Nachfrist ausgestellt vor ihrem Ende am 04.02.2024" in text_of(
        render_issued(shown, "html", "de_DE"))
