"""Schema acceptance equals library acceptance, for every document kind.

Valid documents come from the library's own strategies (prices, contracts, meters, events) and
from the shipped back-billing example; each is then changed by one targeted mutation: a field
made negative, a number written as a JSON number, a non-ASCII digit, an unknown currency, a
missing or unknown tag, an empty list, an unknown field, a wrong type. The JSON Schema
(``meterlib schema KIND``) and the library must agree on every one, both ways.

Rules that relate several fields (rising tier bounds, ``minimum`` not above ``maximum``, a phase
naming an existing plan) are the library's alone, as the schemas' docstring says: the mutations
here never break them.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.backbill.case import parse_case
from meterlib.errors import MeterlibError
from meterlib.invoicing.documents import parse_contract
from meterlib.metering.events import check_event
from meterlib.metering.meters import parse_meters
from meterlib.pricing import price_from_dict, price_to_dict
from meterlib.schemas import KINDS, json_schema
from tests.invoice_strategies import contracts
from tests.metering_strategies import METERS, event_dicts
from tests.strategies import prices

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "examples" / "partner_overuse"

# Formats (``date``) are asserted, as a validator should for documents meterlib reads.
_VALIDATORS = {
    kind: jsonschema.Draft202012Validator(
        json_schema(kind), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    for kind in KINDS
}


def _json(document: Any) -> Any:
    """A document as JSON holds it: numbers as Decimal (as meterlib reads them), dates as text."""

    def default(value: Any) -> Any:
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        raise TypeError(type(value).__name__)

    return json.loads(json.dumps(document, default=default), parse_float=Decimal)


def _library(kind: str, document: Any) -> str | None:
    """``None`` when the library accepts ``document``, else its error message."""
    readers: dict[str, Callable[[Any], object]] = {
        "price": price_from_dict,
        "contract": parse_contract,
        "meters": parse_meters,
        "event": check_event,
        "case": lambda data: parse_case(data, CASE),
    }
    try:
        readers[kind](document)
    except MeterlibError as error:
        return str(error)
    return None


def _agree(kind: str, document: Any) -> None:
    problems = [error.message for error in _VALIDATORS[kind].iter_errors(document)][:3]
    refusal = _library(kind, document)
    assert (not problems) == (refusal is None), (kind, problems, refusal)


# -- mutations -------------------------------------------------------------------------------------

_NUMBER_TEXT = jsonschema.Draft202012Validator(
    {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}
)


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Paths of the decimal-text leaves of a document (its amounts and quantities)."""
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_leaves(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_leaves(value, (*path, index)))
    elif _NUMBER_TEXT.is_valid(node):
        found.append(path)
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document, default=str), parse_float=Decimal)
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


#: Replacements of a decimal leaf: invalid ones, and valid ones of the same value.
_INVALID_NUMBERS = ["-1", Decimal("-0.5"), "abc", "\u0663", "\uff15", True, [], {}, "1e999999"]


def _same_value(text: str) -> list[Any]:
    value = Decimal(text)
    forms: list[Any] = [value, f" {text} "]
    if value == value.to_integral_value():
        forms.append(int(value))
    return forms


def _number_mutations(document: Any, draw: st.DrawFn) -> Any:
    leaves = _leaves(document)
    if not leaves:
        return document
    path = draw(st.sampled_from(leaves))
    text = document
    for part in path:
        text = text[part]
    replacement = draw(st.sampled_from([*_INVALID_NUMBERS, *_same_value(text)]))
    return _set(document, path, replacement)


def _objects(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        found.append(path)
        for key, value in node.items():
            found.extend(_objects(value, (*path, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_objects(value, (*path, index)))
    return found


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


#: Maps keyed by the user's own names.
_NAMED_MAPS = frozenset({"plans", "bases", "scenarios", "filters", "properties", "usage"})
#: Fields that other fields refer to, or whose absence changes a rule between fields (only the
#: last tier may be unbounded, a phase names a plan, a case's basis names one of its bases).
_CROSS_FIELD = frozenset(
    {"up_to", "plans", "plan", "meter", "bases", "basis", "scenarios", "default_scenario"}
    # File names and what must be found in the files: the files' business, not the schema's.
    | {"price_file", "usage_file", "usage_table", "meters_file", "column", "customer"}
)


@st.composite
def _mutated(draw: st.DrawFn, document: Any) -> Any:  # noqa: PLR0911  (a return per mutation)
    """``document`` unchanged, or with one targeted mutation."""
    choice = draw(st.sampled_from(["none", "number", "field", "key"]))
    if choice == "none":
        return document
    if choice == "number":
        return _number_mutations(document, draw)
    # Not in maps keyed by the user's own names: removing a plan or a basis breaks a reference
    # to it (a rule between fields), and any key is a valid name there.
    objects = [
        path
        for path in _objects(document)
        if _get(document, path) and (not path or path[-1] not in _NAMED_MAPS)
    ]
    if not objects:
        return document
    path = draw(st.sampled_from(objects))
    target = _get(document, path)
    if choice == "key":
        # An unknown key where keys are field names.
        changed = dict(target)
        changed["unit_price"] = "1"
        return changed if not path else _set(document, path, changed)
    keys = sorted(set(target) - _CROSS_FIELD)
    if not keys:
        return document
    key = draw(st.sampled_from(keys))
    value = target[key]
    options: list[Any] = [None, "", "x", [], {}]
    if key == "model":
        options += ["stairstep", "Flat"]
    if key == "currency":
        options += ["ZZZ", "usd"]
    if key in {"tiers", "phases", "versions", "billed"}:
        options += [[]]
    if key == "package_size":
        options += ["0", 0, "0.000", Decimal("0.5")]
    if isinstance(value, str):
        options += ["\u0661\u0662", "2024-02-30"]
    replacement = draw(st.sampled_from(options))
    removed = {k: v for k, v in target.items() if k != key}
    if draw(st.booleans()):
        return removed if not path else _set(document, path, removed)
    return _set(document, (*path, key), replacement)


# -- one test per kind -----------------------------------------------------------------------------


@settings(max_examples=60)
@given(st.data())
def test_price_schema_agrees_with_the_library(data: st.DataObject) -> None:
    price = data.draw(prices())
    document = price_to_dict(price)
    _agree("price", document)
    _agree("price", data.draw(_mutated(document)))


@pytest.mark.parametrize(
    "document",
    [
        {"model": "per_unit", "unit_amount": Decimal("0.1")},
        {"model": "per_unit", "unit_amount": 5},
        {"model": "per_unit", "unit_amount": "-1"},
        {"model": "package", "package_size": "0", "package_amount": "1"},
        {"model": "package", "package_size": 0, "package_amount": "1"},
        {"model": "per_unit", "unit_amount": "1", "currency": "ZZZ"},
        {"unit_amount": "1"},
        {"model": "graduated", "tiers": []},
        {"model": "volume", "tiers": [{"up_to": None, "unit_amount": 2}]},
        {"model": "per_unit", "unit_amount": "1e999999"},
        {"model": "per_unit", "unit_amount": "\u0661"},
    ],
)
def test_the_cases_the_issue_names(document: dict[str, Any]) -> None:
    _agree("price", document)


@settings(max_examples=60)
@given(st.data())
def test_contract_schema_agrees_with_the_library(data: st.DataObject) -> None:
    contract = data.draw(contracts())
    document = _json(contract.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    _agree("contract", document)
    _agree("contract", data.draw(_mutated(document)))


@pytest.mark.parametrize(
    "condition",
    [
        {},
        {"equals": "pro"},
        {"one_of": ["basic", "pro"]},
        {"one_of": []},
        {"equals": "pro", "one_of": ["pro"]},
        {"equals": None, "one_of": ["pro"]},
        {"equals": "pro", "one_of": None},
        {"equals": None},
    ],
)
def test_meters_schema_agrees_on_filters(condition: dict[str, Any]) -> None:
    meter = {
        "name": "calls",
        "type": "call",
        "aggregation": "count",
        "filters": {"plan": condition},
    }
    _agree("meters", {"meters": [meter]})


@settings(max_examples=60)
@given(st.data())
def test_meters_schema_agrees_with_the_library(data: st.DataObject) -> None:
    chosen = data.draw(
        st.lists(st.sampled_from(range(len(METERS))), min_size=1, max_size=4, unique=True)
    )
    document = {"meters": [_json(METERS[i].model_dump(mode="json", by_alias=True)) for i in chosen]}
    _agree("meters", document)
    _agree("meters", data.draw(_mutated(document)))


@settings(max_examples=60)
@given(st.data())
def test_event_schema_agrees_with_the_library(data: st.DataObject) -> None:
    document = _json(data.draw(event_dicts("e1", typed_numbers=data.draw(st.booleans()))))
    _agree("event", document)
    _agree("event", data.draw(_mutated(document)))


@settings(max_examples=60)
@given(st.data())
def test_case_schema_agrees_with_the_library(data: st.DataObject) -> None:
    document = _json(tomllib.loads((CASE / "case.toml").read_text("utf-8"), parse_float=Decimal))
    _agree("case", document)
    _agree("case", data.draw(_mutated(document)))


_limit_terms = st.fixed_dictionaries(
    {
        "meter": st.sampled_from(["reads", "writes"]),
        "amount": st.integers(0, 10**6).map(str),
    },
    optional={
        "kind": st.sampled_from(["soft", "hard"]),
        "usage_period": st.fixed_dictionaries(
            {"anchor": st.sampled_from(["2024-01-01", "2024-03-15"])},
            optional={
                "cadence": st.sampled_from(["weekly", "monthly", "yearly"]),
                "timezone": st.sampled_from(["UTC", "Europe/Berlin"]),
            },
        ),
    },
)
_window_terms = st.fixed_dictionaries(
    {
        "meter": st.sampled_from(["reads", "writes"]),
        "max_events": st.integers(0, 1000),
        "window_seconds": st.integers(1, 86_400),
    }
)


@settings(max_examples=60)
@given(st.data())
def test_contract_schema_agrees_on_limits_and_rate_windows(data: st.DataObject) -> None:
    contract = data.draw(contracts())
    document = _json(contract.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    document["limits"] = data.draw(st.lists(_limit_terms, max_size=2))
    document["rate_windows"] = data.draw(st.lists(_window_terms, max_size=2))
    plan = data.draw(st.sampled_from(sorted(document["plans"])))
    document["plans"][plan]["limits"] = data.draw(st.lists(_limit_terms, min_size=1, max_size=2))
    document["plans"][plan]["rate_windows"] = data.draw(st.lists(_window_terms, max_size=2))
    document = _json(document)
    _agree("contract", document)
    _agree("contract", data.draw(_mutated(document)))
    # The integer fields of a rate window: a text, a fraction or a boolean is refused by both.
    if document["rate_windows"]:
        for wrong in ("5", Decimal("1.5"), True, 0, -1):
            changed = _set(document, ("rate_windows", 0, "window_seconds"), wrong)
            _agree("contract", changed)
