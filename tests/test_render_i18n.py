"""Label catalogs (gettext, managed with Babel's message tools) and localized renderings."""

from __future__ import annotations

import ast
import doctest
import re
from datetime import date
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from meterlib.backbill import load_case
from meterlib.invoicing import TableUsage, invoice, load_contract
from meterlib.invoicing.usage_files import load_usage_records
from meterlib.render import render_invoice, render_statement
from meterlib.render.format import Formatter, format_percent_local
from meterlib.render.i18n import CATALOGS, available_languages

REPO = Path(__file__).resolve().parent.parent
RENDER = REPO / "src" / "meterlib" / "render"
LANGUAGES = ("ar", "de", "es", "fr", "ja")


def extracted() -> set[str | tuple[str, ...]]:
    """The labels the renderers mark today, as ``pybabel extract -F babel.cfg`` finds them.

    A plural label (``ngettext``) is the tuple of its singular and plural.
    """
    ids: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(RENDER), method_map=[("**.py", "python")]
    ):
        ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def placeholders(text: str | tuple[str, ...] | list[str] | None) -> list[str]:
    texts = [text] if isinstance(text, str) else list(text or ())
    return sorted({p for t in texts for p in re.findall(r"\{\w+\}", t)})


def test_catalogs_ship_for_the_languages_asked():
    assert set(LANGUAGES) <= set(available_languages())


def test_template_is_current_with_the_code():
    with (CATALOGS / "meterlib.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == extracted()


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_catalog_is_complete_compiled_and_keeps_placeholders(language):
    folder = CATALOGS / language / "LC_MESSAGES"
    with (folder / "meterlib.po").open("rb") as handle:
        po = read_po(handle, locale=language)
    with (folder / "meterlib.mo").open("rb") as handle:
        mo = read_mo(handle)
    messages = {m.id: m.string for m in po if m.id}
    assert set(messages) == extracted(), "run pybabel update (see meterlib.render.i18n)"
    for message in po:
        if message.id:
            assert message.string, f"{language}: {message.id!r} is not translated"
            assert "fuzzy" not in message.flags, message.id
            assert placeholders(message.string) == placeholders(message.id), message.id
            if isinstance(message.id, tuple):
                assert len(message.string) == po.num_plurals, message.id
                assert all(message.string), message.id

    def frozen(value: str | tuple[str, ...] | list[str] | None) -> str | tuple[str, ...]:
        return value if isinstance(value, str) else tuple(value or ())

    compiled = {frozen(m.id): frozen(m.string) for m in mo if m.id}
    assert compiled == {k: frozen(v) for k, v in messages.items()}, "run pybabel compile"


def test_no_label_hides_inside_an_f_string():
    """``pybabel extract`` on Python 3.11 cannot see ``_()`` inside an f-string."""
    hidden = []
    for path in RENDER.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                hidden += [
                    f"{path.name}:{call.lineno}"
                    for call in ast.walk(node)
                    if isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Name)
                    and call.func.id == "_"
                ]
    assert hidden == []


@pytest.fixture(scope="module")
def bill():
    contract = load_contract(REPO / "examples" / "invoicing" / "contract.toml")
    usage = TableUsage(load_usage_records(REPO / "examples" / "invoicing" / "usage-2023-03.json"))
    return invoice(contract, usage, date(2023, 3, 1))


@pytest.fixture(scope="module")
def case():
    return load_case(REPO / "examples" / "partner_overuse" / "case.toml")


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("de_DE", ["RECHNUNG", "Zwischensumme", "Einzelpreis", "anteilig 14/31 Tage", "19\xa0%",
                   "Stufe 2: q &gt; 1.000", "1 Monat", "pro Einheit"]),
        ("fr_FR", ["FACTURE", "Sous-total", "Prix unitaire", "à échoir", "19\xa0%"]),
        ("es_ES", ["FACTURA", "Subtotal", "Precio unitario", "por adelantado", "19\xa0%"]),
        ("ja_JP", ["請求書", "小計", "単価", "前払い", "19%"]),
        ("ar", ["فاتورة", "المجموع الفرعي", "سعر الوحدة"]),
    ],
)
def test_invoice_labels_are_translated(bill, locale, words):
    page = render_invoice(bill, "html", locale)
    for word in words:
        assert word in page, word
    assert "Unit price" not in page


def test_percentages_go_through_babel():
    assert format_percent_local(19, "de_DE") == "19\xa0%"
    assert format_percent_local(19, "en_US") == "19%"
    assert format_percent_local("9.5", "fr_FR") == "9,5\xa0%"


def test_adjustment_lines_show_localized_money_not_raw_figures(case):
    statement = case.statement()
    raw = "6226.00"
    assert any(raw in line.description for doc in statement.documents for line in doc.lines)
    for locale, shown in (("en_US", "$6,226.00"), ("de_DE", "6.226,00\xa0$")):
        for fmt in ("text", "html"):
            text = render_statement(statement, fmt, locale=locale)
            assert raw not in text
            assert shown in text


def test_statement_text_in_german(case):
    text = render_statement(case.statement(), "text", locale="de_DE")
    assert "ÜBERSICHT" in text
    assert "GESCHULDETER GESAMTBETRAG" in text
    assert "346.375,98\xa0$" in text


def test_a_locale_without_a_catalog_shows_english_labels(bill):
    page = render_invoice(bill, "html", "pt_BR")
    assert "Unit price" in page
    assert '<html lang="pt-BR" dir="ltr">' in page
    assert Formatter("EUR", "de_AT").gettext("Subtotal") == "Zwischensumme"


def test_the_rendering_page_examples_run():
    result = doctest.testfile(
        str(REPO / "docs" / "rendering.md"), module_relative=False, optionflags=doctest.ELLIPSIS
    )
    assert result.attempted >= 8
    assert result.failed == 0
