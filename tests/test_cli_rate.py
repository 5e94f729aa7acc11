import json
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.cli import main

PRICE = {
    "model": "graduated",
    "currency": "USD",
    "tiers": [
        {"up_to": "10", "unit_amount": "7", "flat_amount": "0"},
        {"up_to": "20", "unit_amount": "6.5", "flat_amount": "0"},
        {"up_to": None, "unit_amount": "6", "flat_amount": "0"},
    ],
}


@pytest.fixture
def price_file(tmp_path: Path) -> Path:
    path = tmp_path / "price.json"
    path.write_text(json.dumps(PRICE), encoding="utf-8")
    return path


def test_rate_prints_the_breakdown(price_file, capsys):
    assert main(["rate", str(price_file), "25"]) == 0
    out = capsys.readouterr().out
    # 10 x 7 + 10 x 6.5 + 5 x 6 = 70 + 65 + 30 = 165
    assert "10 x 7 + 0 = 70" in out
    assert "10 x 6.5 + 0 = 65.0" in out
    assert "5 x 6 + 0 = 30" in out
    assert "rounded half_up to 165.00" in out


def test_rate_json_output_keeps_amounts_as_strings(price_file, capsys):
    assert main(["rate", str(price_file), "15", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["amount"] == "102.5"  # 10 x 7 + 5 x 6.5
    assert document["rounded"] == "102.50"
    assert [line["tier"] for line in document["lines"]] == [1, 2]


def test_rate_refuses_bad_quantities_with_one_line(price_file, capsys):
    assert main(["rate", str(price_file), "12abc"]) == 2
    err = capsys.readouterr().err
    assert "'quantity' must be a decimal number" in err
    assert "12abc" in err


def test_rate_reports_an_invalid_document(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"model": "per_unit", "unit_amount": "-1"}), encoding="utf-8")
    assert main(["rate", str(bad), "1"]) == 2
    assert "unit_amount" in capsys.readouterr().err


def test_schema_prints_the_price_schema(capsys):
    assert main(["schema", "price"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "GraduatedPrice" in schema["$defs"]


def test_rate_takes_a_json_input_such_as_a_matrix_prices_usage(tmp_path, capsys):
    matrix = tmp_path / "matrix.json"
    matrix.write_text(
        json.dumps(
            {
                "model": "matrix",
                "dimensions": ["region"],
                "cells": [{"match": {"region": ["eu"]}, "price": PRICE}],
                "default": {"model": "per_unit", "unit_amount": "1"},
            },
        ),
        encoding="utf-8",
    )
    usage = '[{"values": {"region": "eu"}, "quantity": "25"}, {"values": {}, "quantity": "3"}]'
    assert main(["rate", str(matrix), usage, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert Decimal(document["amount"]) == 168  # 165 in cell 1, 3 x 1 by default
    assert [line["description"] for line in document["lines"]] == [
        "cell 1 (region: eu)",
        "default",
    ]
    assert main(["rate", str(matrix), "[{"]) == 2
    assert "valid JSON" in capsys.readouterr().err
