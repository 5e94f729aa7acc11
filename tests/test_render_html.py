"""Jupyter fragments and HTML documents: scoped CSS, every result type, right-to-left."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from meterlib._numbers import EXACT
from meterlib.backbill import BackbillCase, load_case
from meterlib.invoicing import Invoice, TableUsage, invoice, load_contract
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.metering.report import BatchReport, Rejection
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.pricing import parse_price
from meterlib.render import render_invoice, render_statement
from meterlib.render.charts import (
    LiabilityChart,
    ScenarioChart,
    UsageChart,
    date_sensitivity,
    rate_sensitivity,
)

ROOT = Path(__file__).resolve().parent.parent / "examples"
_ROOT_CLASS = re.compile(r'^<div class="ml-root (ml-[0-9a-f]{10})"')


def selectors(css: str) -> list[str]:
    """Every selector of a stylesheet, at-rule blocks opened (``@media``)."""
    out: list[str] = []
    depth_prelude: list[str] = []
    buffer = ""
    for char in css:
        if char == "{":
            prelude = buffer.strip()
            buffer = ""
            depth_prelude.append(prelude)
            if not prelude.startswith("@"):
                out += [part.strip() for part in prelude.split(",")]
        elif char == "}":
            depth_prelude.pop()
            buffer = ""
        else:
            buffer += char
    return out


def at_rules(css: str) -> set[str]:
    return set(re.findall(r"@([a-z-]+)", css))


def check_scoped(fragment: str) -> str:
    match = _ROOT_CLASS.match(fragment)
    assert match, fragment[:80]
    root = match.group(1)
    (css,) = re.findall(r"<style>(.*?)</style>", fragment, flags=re.DOTALL)
    found = selectors(css)
    assert found
    for selector in found:
        assert selector == f".{root}" or selector.startswith(f".{root} "), selector
    assert at_rules(css) <= {"media"}
    return root


@pytest.fixture(scope="module")
def bills():
    contract = load_contract(ROOT / "invoicing" / "contract.toml")
    usage = TableUsage(load_usage_records(ROOT / "invoicing" / "usage-2023-03.json"))
    march = invoice(contract, usage, date(2023, 3, 1))
    april = invoice(contract, TableUsage({}), date(2023, 4, 1))
    return march, april


@pytest.fixture(scope="module")
def case():
    return load_case(ROOT / "partner_overuse" / "case.toml")


def results(bills: tuple[Invoice, Invoice], case: BackbillCase) -> list[Any]:
    period = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
    usage = UsageTable({UsageKey("acme", "calls", period): Decimal(12)})
    charge = parse_price(
        {"model": "graduated", "currency": "EUR",
         "tiers": [{"up_to": 100, "unit_amount": "0"}, {"unit_amount": "0.04"}]}
    ).rate(104)
    report = BatchReport(received=2, accepted=1,
                         rejected=(Rejection(1, "e2", "time", "'time' must be <x>"),))
    return [*bills, case.statement(), case.compare(), usage, charge, report]


def test_every_fragment_styles_only_its_own_root(bills, case):
    roots = [check_scoped(value._repr_html_()) for value in results(bills, case)]
    assert len(set(roots)) == len(roots), "each fragment has its own root class"


def test_a_notebook_of_several_results_renders_each_as_alone(bills, case):
    """Two invoices and a statement on one page: no rule of one reaches another."""
    march, april = bills
    parts = [march._repr_html_(), april._repr_html_(), case.statement()._repr_html_()]
    page = "".join(parts)
    for part in parts:
        root = check_scoped(part)
        # each root class names exactly one fragment of the page
        assert page.count(f'class="ml-root {root}"') == 1
    # nothing unscoped, unlike the old invoice table (`*{box-sizing}`, `.page`, `.title`)
    for css in re.findall(r"<style>(.*?)</style>", page, flags=re.DOTALL):
        assert not {"*", ".page", ".title", "body"} & set(selectors(css))


def test_result_fragments_show_their_figures(bills, case):
    march, _april, statement, comparison, usage, charge, report = results(bills, case)
    assert "€265.38" in march._repr_html_()
    assert "$346,375.98" in statement._repr_html_()
    assert "$403,358.65" in comparison._repr_html_()
    assert "acme" in usage._repr_html_()
    assert ">12<" in usage._repr_html_()
    html = charge._repr_html_()
    assert "4 × €0.04" in html
    assert "€0.16" in html
    html = report._repr_html_()
    assert "e2" in html
    assert "&#x27;time&#x27; must be &lt;x&gt;" in html


def test_charts_display_themselves(case):
    statement = case.statement()
    charts = [
        UsageChart(statement),
        LiabilityChart(statement),
        ScenarioChart(case.compare()),
        rate_sensitivity(case, ["0.05", "0.09"]),
        date_sensitivity(case, [date(2024, 12, 31), date(2029, 6, 30)]),
    ]
    for chart in charts:
        svg = chart._repr_svg_()
        assert svg.startswith("<svg")
        assert svg.endswith("</svg>")
        assert 'role="img"' in svg
        assert "<title>" in svg
    assert "Liability over time" in charts[1].svg()
    assert "$346,375.98" in charts[1].svg()  # the last cumulative point is the total owed
    points = LiabilityChart(statement).points()
    assert points[-1][2] == statement.totals.total
    assert points[-1][1] == statement.totals.delta
    assert "high" in charts[2].svg()
    assert "9%" in charts[3].svg()
    later = case.statement(as_of=date(2029, 6, 30)).totals.total
    dates = date_sensitivity(case, [date(2024, 12, 31), date(2029, 6, 30)])
    assert EXACT.add(dates.points[1][1], dates.points[1][2]) == later


def test_documents_print_well(bills, case):
    page = render_statement(case.statement(), "html", comparison=case.compare())
    assert "@page{size:A4;margin:" in page
    assert "display:table-header-group" in page
    assert page.count("<thead>") >= 3
    assert 'class="scroll"' in page
    invoice_page = render_invoice(bills[0], "html")
    assert "@page" in invoice_page
    assert "<thead>" in invoice_page


def test_arabic_documents_are_right_to_left_with_isolated_figures(bills, case):
    page = render_invoice(bills[0], "html", "ar")
    assert '<html lang="ar" dir="rtl">' in page
    assert 'dir="rtl"' in page.split("<body>")[1]
    # every figure is an isolate: FSI ... PDI
    assert re.search("\u2068[^\u2069]*€[^\u2069]*\u2069", page)
    assert "<bdi>" in page
    statement = render_statement(case.statement(), "html", locale="ar")
    assert 'dir="rtl"' in statement
    assert "\u2068" in statement
    english = render_invoice(bills[0], "html", "en_US")
    assert "\u2068" not in english
    assert 'dir="ltr"' in english
