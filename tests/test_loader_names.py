"""Loaders follow one pattern, and every JSON document goes through the one exact reader.

``load_X(path)`` reads a file, ``parse_X`` takes the document's text or its parsed form (the
same result either way), ``X_from_dict``/``X_to_dict`` convert mappings. JSON text read by any
of them refuses what :mod:`meterlib._json` refuses: duplicate keys, ``NaN``, too deep nesting.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.backbill.audit import load_audit_terms, parse_audit_terms
from meterlib.backbill.case import load_case, parse_case
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError
from meterlib.invoicing.documents import load_contract, parse_contract
from meterlib.invoicing.serialize import invoice_from_json
from meterlib.invoicing.usage_files import load_usage_records, parse_usage_records
from meterlib.metering.meters import load_meters, parse_meters
from meterlib.pricing.documents import load_price, parse_price

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _toml(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)


def test_parse_price_takes_text_or_its_mapping() -> None:
    path = EXAMPLES / "prices" / "api_graduated.json"
    text = path.read_text(encoding="utf-8")
    assert parse_price(text) == parse_price(json.loads(text, parse_float=Decimal))
    assert parse_price(text) == load_price(path)


def test_parse_meters_takes_json_text_or_its_mapping() -> None:
    meters = load_meters(EXAMPLES / "metering" / "meters.toml")
    text = json.dumps({"meters": [m.model_dump(mode="json", by_alias=True) for m in meters]})
    assert parse_meters(text) == meters
    assert parse_meters(json.loads(text)) == meters


def test_parse_contract_takes_json_text_or_its_mapping(tmp_path: Path) -> None:
    contract = load_contract(EXAMPLES / "invoicing" / "contract.toml")
    text = json.dumps(contract.model_dump(mode="json", by_alias=True))
    assert parse_contract(text, tmp_path) == contract
    assert parse_contract(json.loads(text), tmp_path) == contract


def test_parse_usage_records_takes_json_text() -> None:
    path = EXAMPLES / "invoicing" / "usage-2023-03.json"
    text = path.read_text(encoding="utf-8")
    assert parse_usage_records(text) == load_usage_records(path)


def test_parse_case_and_audit_terms_take_toml_text() -> None:
    folder = EXAMPLES / "partner_overuse"
    case_text = (folder / "case.toml").read_text(encoding="utf-8")
    assert parse_case(case_text, folder) == load_case(folder / "case.toml")
    assert parse_case(case_text, folder) == parse_case(_toml(folder / "case.toml"), folder)
    terms_text = (folder / "audit.toml").read_text(encoding="utf-8")
    assert parse_audit_terms(terms_text, folder) == load_audit_terms(folder / "audit.toml")


@pytest.mark.parametrize(
    "text",
    [
        '{"meters": [{"name": "a", "type": "a", "aggregation": "count", "name": "b"}]}',
        '{"meters": [{"name": "a", "type": "a", "aggregation": "count", "x": NaN}]}',
        '{"meters": ' + "[" * 100 + "]" * 100 + "}",
    ],
)
def test_every_json_loader_uses_the_exact_reader(text: str, tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="not valid JSON"):
        parse_meters(text)
    file = tmp_path / "meters.json"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(DocumentError, match="not valid JSON"):
        load_meters(file)
    contract = tmp_path / "contract.json"
    contract.write_text(text.replace('{"meters"', '{"customer": "c", "meters"', 1), "utf-8")
    with pytest.raises(DocumentError, match="not valid JSON"):
        load_contract(contract)
    with pytest.raises(DocumentError, match="not valid JSON"):
        parse_usage_records(text)
    with pytest.raises(MeterlibError, match="not valid JSON"):
        invoice_from_json(text)


def test_a_case_toml_text_that_is_not_toml_is_a_document_error() -> None:
    with pytest.raises(DocumentError, match="not valid TOML"):
        parse_case("title = ")
    with pytest.raises((DocumentError, InvalidValueError), match="not valid TOML"):
        parse_audit_terms("customer = ")
