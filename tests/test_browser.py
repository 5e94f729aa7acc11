"""HTML documents in a real headless Chromium: WCAG AA (axe-core), widths, print, right-to-left.

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

from meterlib.backbill import load_case
from meterlib.invoicing import TableUsage, invoice, load_contract
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.render import render_invoice, render_statement

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


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    chromium, node = _tools()
    folder = tmp_path_factory.mktemp("pages")
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
