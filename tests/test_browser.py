"""HTML documents in a real headless Chromium: WCAG AA (axe-core), widths, print, right-to-left.

The documents: a draft invoice and a back-billing statement (English and Arabic), and, from a
ledger the tests issue into (:mod:`tests.issued_fixtures`), a paid and a void invoice, a debit
and a credit note, a back-billing debit note over a period no invoice billed, a document list
and a twelve-month usage audit, with their Arabic forms.

Needs Chromium and Node.js with the two npm packages of ``tests/browser/package.json``; skips
with the install commands when they are absent::

    apt-get install -y chromium fonts-noto-core fonts-noto-cjk nodejs npm
    npm ci --prefix tests/browser

``METERLIB_CHROMIUM`` names another Chromium binary. ``METERLIB_SCREENSHOTS=DIR`` keeps the
screenshots (``docs/screenshots/`` holds the ones the README shows).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from meterlib.backbill import BilledPeriod, PriceSchedule, UsageRecord, load_case, rebill
from meterlib.invoicing import TableUsage, invoice, load_contract
from meterlib.invoicing.notes import Note
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.ledger.backbilling import issue_statement
from meterlib.ledger.documents import DocumentStore
from meterlib.pricing import parse_price
from meterlib.render import render_invoice, render_statement
from meterlib.render.audit import audit_html
from meterlib.render.issued import ListedDocument, render_document_list, render_issued, render_note
from tests.issued_fixtures import issued_documents, usage_audit

REPO = Path(__file__).resolve().parent.parent
BROWSER = REPO / "tests" / "browser"
INSTALL = (
    "apt-get install -y chromium fonts-noto-core fonts-noto-cjk nodejs npm && "
    "npm ci --prefix tests/browser"
)
PHONE = 390
A4_TEXT = 688  # CSS px of text on A4 with the documents' 14 mm side margins

#: A page that must fail axe: grey on white at 1.6:1 (proves the engine runs and sees colour).
CONTROL = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>control</title></head>'
    '<body><main class="ml-root"><p style="color:#cccccc;background:#fff">faint</p>'
    "<table><thead><tr><th>a</th></tr></thead><tbody><tr><td>1</td></tr></tbody></table>"
    "</main></body></html>"
)


def _missing(reason: str) -> None:
    # .ci/run installs the tools and sets METERLIB_REQUIRE_BROWSER: a skip there is a failure.
    if os.environ.get("METERLIB_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


def _tools() -> tuple[str, str]:
    chromium = os.environ.get("METERLIB_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser"
    )
    node = shutil.which("node")
    if chromium is None:
        _missing(f"headless Chromium is not installed ({INSTALL})")
    if node is None:
        _missing(f"Node.js is not installed ({INSTALL})")
    if not (BROWSER / "node_modules" / "axe-core").is_dir() or not (
        BROWSER / "node_modules" / "playwright-core"
    ).is_dir():
        _missing(f"axe-core and playwright-core are not installed ({INSTALL})")
    assert chromium is not None
    assert node is not None
    return chromium, node


def _check(pages: dict[str, str], folder: Path) -> dict[str, dict[str, Any]]:
    """Write ``pages`` under ``folder``, run ``check.mjs`` on them, its report by page name."""
    chromium, node = _tools()
    specs = []
    for name, html in pages.items():
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        specs.append(f"{path}={name}")
    shots = Path(os.environ.get("METERLIB_SCREENSHOTS") or folder)
    shots.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(  # noqa: S603  (fixed arguments: our script and our files)
        [node, str(BROWSER / "check.mjs"), chromium, str(shots), *specs],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=BROWSER,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return {Path(entry["file"]).stem: entry for entry in json.loads(result.stdout)}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    _tools()
    case = load_case(REPO / "examples" / "partner_overuse" / "case.toml")
    contract = load_contract(REPO / "examples" / "invoicing" / "contract.toml")
    usage = TableUsage(load_usage_records(REPO / "examples" / "invoicing" / "usage-2023-03.json"))
    bill = invoice(contract, usage, date(2023, 3, 1))
    later = case.statement(as_of=date(2029, 6, 30))  # three time-barred rows
    pages = {
        "invoice": render_invoice(bill, "html", "en_US"),
        "invoice_ar": render_invoice(bill, "html", "ar"),
        "backbill_statement": render_statement(
            later, "html", comparison=case.compare(as_of=date(2029, 6, 30))
        ),
        "backbill_statement_ar": render_statement(case.statement(), "html", locale="ar"),
        "control": CONTROL,
    }
    return _check(pages, tmp_path_factory.mktemp("pages"))


@pytest.fixture(scope="module")
def issued_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Issued documents and an audit: paid and void invoices, both notes, a long audit."""
    _tools()
    docs = issued_documents(tmp_path_factory.mktemp("ledger"))
    audit = usage_audit(months=12)  # twelve months, three applications: several A4 pages
    period, period_body = _period_note(docs.ledger)
    pages = {
        "issued_paid": render_issued(docs.paid, "html", "en_US", docs.payments),
        "issued_void": render_issued(docs.void, "html", "en_US"),
        "debit_note": render_note(docs.debit, docs.debit_body, "html", "en_US"),
        "credit_note": render_note(docs.credit, docs.credit_body, "html", "en_US"),
        "usage_audit": audit_html(audit, "en_US"),
        "document_list": render_document_list(
            [ListedDocument(d.document, d.account) for d in (docs.paid, docs.void)], "html"
        ),
        "issued_paid_ar": render_issued(docs.paid, "html", "ar", docs.payments),
        "debit_note_ar": render_note(docs.debit, docs.debit_body, "html", "ar"),
        "usage_audit_ar": audit_html(audit, "ar"),
        "period_note": render_note(period, period_body, "html", "en_US"),
        "period_note_ar": render_note(period, period_body, "html", "ar"),
    }
    return _check(pages, tmp_path_factory.mktemp("issued"))


def _period_note(ledger: Path) -> tuple[Note, str]:
    """A back-billing debit note over a period no invoice billed (January 2024), and its JSON."""
    basis = PriceSchedule.single(parse_price({"model": "per_unit", "unit_amount": "1"}))
    january = (date(2024, 1, 1), date(2024, 2, 1))
    statement = rebill(basis, [BilledPeriod(*january, "0")], [UsageRecord(*january, "3")],
                       as_of=date(2024, 12, 31), due_days=30)
    with DocumentStore(ledger) as store:
        [issued] = issue_statement(store, statement, customer="cus_initech").documents
        return store.note(issued.number), issued.body


DOCUMENTS = ["invoice", "invoice_ar", "backbill_statement", "backbill_statement_ar"]


def test_axe_sees_a_contrast_failure_on_the_control_page(report):
    assert "color-contrast" in {v["id"] for v in report["control"]["axeScreen"]}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_wcag_a_or_aa_violation_on_screen_or_in_print(report, name):
    assert report[name]["axeScreen"] == []
    assert report[name]["axePrint"] == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_no_table_is_wider_than_a_phone_or_an_a4_page(report, name):
    phone = report[name]["phone"]
    assert phone["view"] == PHONE
    assert phone["page"] <= PHONE, "the page itself must not scroll sideways"
    for table in phone["tables"]:
        assert table["boxRight"] <= PHONE, table
        assert table["width"] <= table["box"] + 1 or table["scrolls"], table
    printed = report[name]["print"]
    assert printed["page"] <= A4_TEXT
    for table in printed["tables"]:
        assert table["width"] <= table["box"] + 1, table


@pytest.mark.parametrize("name", DOCUMENTS)
def test_table_headers_repeat_on_printed_pages(report, name):
    displays = set(report[name]["print"]["theadDisplay"])
    assert displays == {"table-header-group"}
    assert report[name]["pdfPages"] >= 1


def test_the_statement_runs_over_several_a4_pages(report):
    assert report["backbill_statement"]["pdfPages"] >= 2


def test_arabic_documents_run_right_to_left(report):
    assert report["invoice_ar"]["desktop"]["dir"] == "rtl"
    assert report["backbill_statement_ar"]["desktop"]["dir"] == "rtl"
    assert report["invoice"]["desktop"]["dir"] == "ltr"


# Issued documents (issue 12.12) and the usage audit (issue 13.6) under the same checks.
ISSUED = ["issued_paid", "issued_void", "debit_note", "credit_note", "usage_audit",
          "document_list", "issued_paid_ar", "debit_note_ar", "usage_audit_ar", "period_note",
          "period_note_ar"]
ARABIC = ["issued_paid_ar", "debit_note_ar", "usage_audit_ar", "period_note_ar"]


@pytest.mark.parametrize("name", ISSUED)
def test_issued_documents_pass_axe_on_screen_and_in_print(issued_report, name):
    assert issued_report[name]["axeScreen"] == []
    assert issued_report[name]["axePrint"] == []


@pytest.mark.parametrize("name", ISSUED)
def test_issued_documents_fit_a_phone_and_an_a4_page(issued_report, name):
    phone = issued_report[name]["phone"]
    assert phone["view"] == PHONE
    assert phone["page"] <= PHONE, "the page itself must not scroll sideways"
    for table in phone["tables"]:
        assert table["boxRight"] <= PHONE, table
        assert table["width"] <= table["box"] + 1 or table["scrolls"], table
    printed = issued_report[name]["print"]
    assert printed["page"] <= A4_TEXT
    for table in printed["tables"]:
        assert table["width"] <= table["box"] + 1, table


@pytest.mark.parametrize("name", ISSUED)
def test_issued_documents_repeat_table_headers_in_print(issued_report, name):
    printed = issued_report[name]["print"]
    assert printed["theadDisplay"], "every document has a table with a header"
    assert set(printed["theadDisplay"]) == {"table-header-group"}
    assert set(printed["boxOverflow"]) == {"visible"}, "no table clips or scrolls on paper"
    assert issued_report[name]["pdfPages"] >= 1


def test_the_long_audit_runs_over_several_a4_pages(issued_report):
    assert issued_report["usage_audit"]["pdfPages"] >= 2
    assert issued_report["usage_audit_ar"]["pdfPages"] >= 2


@pytest.mark.parametrize("name", ARABIC)
def test_arabic_issued_documents_render_right_to_left(issued_report, name):
    desktop = issued_report[name]["desktop"]
    assert desktop["dir"] == "rtl"
    assert desktop["direction"] == "rtl"
    assert desktop["columns"]
    assert set(desktop["columns"]) == {"rtl"}, "the first column is drawn on the right"
    english = issued_report[name.removesuffix("_ar")]["desktop"]
    assert (english["dir"], english["direction"], set(english["columns"])) == (
        "ltr", "ltr", {"ltr"})


def test_printed_pages_repeat_the_table_header(issued_report):
    """The long audit's table runs over several A4 pages; each page starts with its header."""
    entry = issued_report["usage_audit"]
    (header,) = entry["print"]["theadTexts"]
    assert header.startswith("PeriodappUsageLimit")
    pages = entry["pdfTexts"]
    assert len(pages) == entry["pdfPages"] >= 2
    for number, text in enumerate(pages[1:], start=2):
        assert header in text, f"page {number} has no table header"
    # a body row is printed once: the text of the pages is not one text repeated
    row = "Jan1,2024–Jan31,2024bi"
    assert [row in text for text in pages].count(True) == 1
