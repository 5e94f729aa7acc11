"""Rendering and serializing invoices: text, HTML, CSV, JSON; usage sources."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.errors import DocumentError, FloatNotAllowedError, InvalidValueError
from meterlib.invoicing import (
    LedgerUsage,
    MappingUsage,
    TableUsage,
    UsageNotFoundError,
    invoice,
    invoice_from_dict,
    invoice_from_json,
    invoice_to_json,
    load_contract,
)
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.render import render_invoice as render

D = Decimal

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "invoicing"


@pytest.fixture(scope="module")
def bill():
    contract = load_contract(EXAMPLE / "contract.toml")
    usage = TableUsage(load_usage_records(EXAMPLE / "usage-2023-03.json"))
    return invoice(contract, usage, date(2023, 3, 1))


def test_html_page_is_self_contained_and_escaped(bill) -> None:
    page = render(bill, "html", "en_US")
    assert "<style>" in page
    assert "<link" not in page
    assert "<script" not in page
    assert "http" not in page.replace("http-equiv", "")
    assert "Torstraße 140" in page
    assert "INVOICE" in page
    assert "cus_initech-20230301" in page
    assert "tier 2: q &gt; 1,000" in page  # escaped, the bound through Babel
    assert "€265.38" in page
    assert "Apr 15, 2023" in page


def test_localized_text_and_notebook_table(bill) -> None:
    text = render(bill, "text", "de_DE")
    assert "265,38\xa0€" in text
    assert "01.03.2023 – 14.03.2023" in text
    html = bill._repr_html_()
    assert html.startswith('<div class="ml-root ml-')
    assert "<style>" in html
    assert "€265.38" in html
    with pytest.raises(InvalidValueError, match="'format' must be one of text, html, json, csv"):
        render(bill, "pdf")
    with pytest.raises(InvalidValueError, match="'locale' must be a CLDR locale"):
        render(bill, "text", "xx_NOPE")


def test_csv_lines_keep_exact_figures(bill) -> None:
    rows = render(bill, "csv", "en_US").splitlines()
    assert rows[3].split(",")[8:16] == [
        "2300", "tokens", "", "", "3.900", "3.90", "0.00", "3.90"
    ]


def test_json_is_exact_and_refuses_figures_that_do_not_add_up(bill) -> None:
    text = invoice_to_json(bill)
    data = json.loads(text)
    assert data["lines"][2]["rating"]["lines"][1]["unit_amount"] == "0.003"
    assert invoice_from_json(text) == bill
    data["total"] = "265.39"
    with pytest.raises(DocumentError, match=r"'total' must be subtotal - discount_total \+ "):
        invoice_from_json(json.dumps(data))
    data["total"] = 265.38
    with pytest.raises(DocumentError, match="never a float"):
        invoice_from_dict(data)


def test_mapping_usage_answers_totals_spans_and_refuses_the_rest() -> None:
    period = Period(datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 4, 1, tzinfo=UTC))
    usage = MappingUsage({"calls": "12"}, period=period, customer="c",
                         spans={("gb", date(2023, 3, 1), date(2023, 3, 15)): 3})
    assert usage.quantity("c", "calls", period.start, period.end) == 12
    assert usage.quantity("c", "gb", period.start, datetime(2023, 3, 15, tzinfo=UTC)) == 3
    assert usage.quantity("c", "unknown", period.start, period.end) == 0
    with pytest.raises(UsageNotFoundError, match="no usage of meter 'gb'"):
        usage.quantity("c", "gb", period.start, period.end)
    with pytest.raises(InvalidValueError, match="'customer' must be 'c', whose usage this is"):
        usage.quantity("d", "calls", period.start, period.end)
    with pytest.raises(FloatNotAllowedError):
        # a float is the error under test
        MappingUsage({"calls": 1.5}, period=period)  # type: ignore[dict-item]


class FakeLedger:
    """Answers like a ledger would: one table per call; counts the calls."""

    def __init__(self, table: UsageTable) -> None:
        self.table = table
        self.calls: list[tuple[int, int, str | None]] = []

    def usage(self, meters, periods, *, customer=None):
        self.calls.append((len(meters), len(periods), customer))
        wanted = set(periods)
        return UsageTable(
            {k: v for k, v in self.table.items()
             if k.period in wanted and (customer is None or k.customer == customer)}
        )


def test_ledger_usage_asks_once_per_span_for_all_meters(bill) -> None:
    contract = load_contract(EXAMPLE / "contract.toml")
    table = load_usage_records(EXAMPLE / "usage-2023-03.json")
    ledger = FakeLedger(table)
    again = invoice(contract, LedgerUsage(ledger, contract.meters), date(2023, 3, 1))
    assert again == bill
    assert ledger.calls == [(2, 1, "cus_initech"), (2, 1, "cus_initech")]
    with pytest.raises(InvalidValueError, match="'meters' must be the meters of the contract"):
        LedgerUsage(ledger, ())


def test_table_usage_sums_groups_and_matches_instants() -> None:
    start = datetime(2023, 3, 1, tzinfo=UTC)
    end = datetime(2023, 4, 1, tzinfo=UTC)
    table = UsageTable({
        UsageKey("c", "m", Period(start, end), (("r", "eu"),)): D("1.5"),
        UsageKey("c", "m", Period(start, end), (("r", "us"),)): D("2"),
    })
    source = TableUsage(table)
    berlin = start.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))
    assert source.quantity("c", "m", berlin, end) == D("3.5")
    assert source.quantity("c", "m", start, end) == table.quantity("c", "m", start, end)
    assert source.quantity("x", "m", start, end) == 0
