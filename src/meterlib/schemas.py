"""JSON Schemas (draft 2020-12) of every document a meterlib user writes.

``price``, ``meters`` and ``contract`` are generated from the pydantic models, so a price model
added to :data:`meterlib.pricing.Price` appears in them without a change here. The models'
number and currency types carry their own schema (:mod:`meterlib._numbers`,
:mod:`meterlib.currency`); this module adds what pydantic cannot see from the types:

- the tag of a tagged union (a price's ``model``) is required in a document, though a model
  built in Python has it by default;
- rules that live in validators and concern one field: ``tiers`` and ``phases`` hold at least
  one item, ``package_size`` is above zero; and a meter's ``property``, needed by every
  aggregation but ``count``.

``case`` (a back-billing case, read by hand from TOML) and ``event`` (one line of an events
file, checked by :func:`meterlib.metering.events.check_event` without a model) are written
here, with the price schema generated for the prices a case holds inline.

What a schema cannot express is left to the library, which reports it with the field's
location: rules relating fields (tier bounds rising, ``minimum`` not above ``maximum``, a phase
naming a plan that exists, exactly one usage source per scenario), and the size limits of
numbers written with an exponent (see :mod:`meterlib._numbers`). Dates are ISO 8601 text
(``2024-12-31``), as a JSON document holds them; a TOML file's own dates are the same values.
Validate with format assertion on (``format: date`` must be a real day: 2024-02-30 is not),
as ``jsonschema``'s ``FORMAT_CHECKER`` does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter

from meterlib._numbers import Amount, NonNegativeAmount
from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Contract
from meterlib.metering.meters import Meter
from meterlib.pricing.models import Price

__all__ = ["KINDS", "json_schema"]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_ID = "urn:meterlib:schema:{kind}"

_AT_LEAST_ONE = ("tiers", "phases")
_POSITIVE = ("package_size",)
_ZERO = {
    "anyOf": [
        {"type": "number", "maximum": 0},
        {"type": "string", "pattern": r"^\s*[+-]?(0+(\.0*)?|\.0+)([eE].*)?\s*$"},
    ]
}
_DATE = {"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


def _walk(node: Any, visit: Callable[[dict[str, Any]], None]) -> None:
    if isinstance(node, dict):
        visit(node)
        for value in node.values():
            _walk(value, visit)
    elif isinstance(node, list):
        for value in node:
            _walk(value, visit)


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    target: Any = schema
    for part in ref.removeprefix("#/").split("/"):
        target = target[part]
    return target  # type: ignore[no-any-return]


def _require_tags(schema: dict[str, Any]) -> None:
    """A tagged union's members require their tag in a document."""

    def visit(node: dict[str, Any]) -> None:
        discriminator = node.get("discriminator")
        if not isinstance(discriminator, dict):
            return
        tag = discriminator["propertyName"]
        for ref in discriminator.get("mapping", {}).values():
            member = _resolve(schema, ref)
            required = member.setdefault("required", [])
            if tag not in required:
                required.insert(0, tag)

    _walk(schema, visit)


def _field_rules(schema: dict[str, Any]) -> None:
    """Rules of single fields that live in validators, not in the fields' types."""

    def visit(node: dict[str, Any]) -> None:
        properties = node.get("properties")
        if not isinstance(properties, dict):
            return
        for name in _AT_LEAST_ONE:
            if isinstance(properties.get(name), dict) and properties[name].get("type") == "array":
                properties[name]["minItems"] = 1
        for name in _POSITIVE:
            field = properties.get(name)
            if isinstance(field, dict) and "anyOf" in field:
                field["not"] = _ZERO

    _walk(schema, visit)


def _shared_currency(schema: dict[str, Any]) -> None:
    """Write the long list of currency codes once, as ``$defs/CurrencyCode``."""
    codes: list[dict[str, Any]] = []

    def visit(node: dict[str, Any]) -> None:
        if (
            node.get("type") == "string"
            and isinstance(node.get("enum"), list)
            and "currency code" in str(node.get("description", ""))
        ):
            codes.append(node)

    _walk(schema, visit)
    if not codes:
        return
    shared = {key: codes[0][key] for key in ("type", "enum", "description")}
    schema.setdefault("$defs", {})["CurrencyCode"] = shared
    for node in codes:
        for key in ("type", "enum", "description"):
            node.pop(key, None)
        node["$ref"] = "#/$defs/CurrencyCode"


def _meter_rule(schema: dict[str, Any]) -> None:
    """A meter reads a property unless it counts events (``count`` reads none)."""
    meter = schema.get("$defs", {}).get("Meter")
    if meter is None:
        return
    meter["if"] = {"properties": {"aggregation": {"const": "count"}}}
    meter["then"] = {"properties": {"property": {"type": "null"}}}
    meter["else"] = {
        "required": ["property"],
        "properties": {"property": {"type": "string", "minLength": 1}},
    }


def _finish(kind: str, schema: dict[str, Any], title: str) -> dict[str, Any]:
    _require_tags(schema)
    _meter_rule(schema)
    _field_rules(schema)
    _shared_currency(schema)
    head = {"$schema": DIALECT, "$id": _ID.format(kind=kind), "title": title}
    return {**head, **{key: value for key, value in schema.items() if key not in head}}


def _price_schema() -> dict[str, Any]:
    schema = TypeAdapter(Price).json_schema()
    return _finish("price", schema, "meterlib price")


def _meters_schema() -> dict[str, Any]:
    meter = TypeAdapter(Meter).json_schema(by_alias=True)
    defs = meter.pop("$defs", {})
    defs["Meter"] = meter
    schema = {
        "$defs": defs,
        "description": 'Meter definitions: {"meters": [...]} or a list of meters.',
        "anyOf": [
            {
                "type": "object",
                "properties": {"meters": {"type": "array", "items": {"$ref": "#/$defs/Meter"}}},
                "required": ["meters"],
            },
            {"type": "array", "items": {"$ref": "#/$defs/Meter"}},
        ],
    }
    return _finish("meters", schema, "meterlib meters")


def _contract_schema() -> dict[str, Any]:
    schema = TypeAdapter(Contract).json_schema(by_alias=True)
    schema["properties"]["meters_file"] = {
        "type": "string",
        "minLength": 1,
        "description": "A meters document in the contract's folder (instead of 'meters').",
    }
    schema["not"] = {"required": ["meters", "meters_file"]}
    return _finish("contract", schema, "meterlib contract")


def _closed(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        node["required"] = required
    return node


def _case_schema() -> dict[str, Any]:
    price = _price_schema()
    defs = price.pop("$defs", {})
    number = {"$ref": "#/$defs/Decimal"}
    amount = {"$ref": "#/$defs/NonNegativeDecimal"}
    positive = {"$ref": "#/$defs/NonNegativeDecimal", "not": _ZERO}
    text = {"type": "string"}
    whole = {"type": "integer", "minimum": 0}
    defs["Price"] = {key: price[key] for key in ("oneOf", "discriminator") if key in price}
    defs["Decimal"] = TypeAdapter(Amount).json_schema()
    defs["NonNegativeDecimal"] = TypeAdapter(NonNegativeAmount).json_schema()
    defs["Date"] = _DATE
    one_source = {"oneOf": [{"required": [key]} for key in ("usage", "usage_file", "usage_table")]}
    schema = {
        "$defs": defs,
        **_closed(
            {
                "title": text,
                "customer": text,
                "currency": {"$ref": "#/$defs/CurrencyCode"},
                "as_of": {"$ref": "#/$defs/Date"},
                "due_days": whole,
                "lookback_years": whole,
                "unit": text,
                "basis": text,
                "allowance": amount,
                "default_scenario": text,
                "rates": {"type": "array", "items": number},
                "interest": {
                    # Without 'rates', a fixed 'annual_rate' is needed (unless no interest).
                    "if": {"properties": {"method": {"const": "none"}}, "required": ["method"]},
                    "else": {"anyOf": [{"required": ["annual_rate"]}, {"required": ["rates"]}]},
                    **_closed(
                        {
                            "method": {"enum": ["none", "simple", "compound"]},
                            "annual_rate": amount,
                            "rates": {
                                "type": "array",
                                "minItems": 1,
                                "items": _closed(
                                    {"from": {"$ref": "#/$defs/Date"}, "rate": number},
                                    ["from", "rate"],
                                ),
                            },
                            "margin": number,
                            "day_count": {"enum": ["actual/365", "actual/360", "30/360"]},
                            "compounding": {"enum": ["monthly", "annual"]},
                        }
                    ),
                },
                "bases": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": _closed(
                        {
                            "description": text,
                            "versions": {
                                "type": "array",
                                "minItems": 1,
                                "items": {
                                    **_closed(
                                        {
                                            "from": {"$ref": "#/$defs/Date"},
                                            "label": text,
                                            "price": {"$ref": "#/$defs/Price"},
                                            "price_file": text,
                                            "allowance": amount,
                                        },
                                        ["from"],
                                    ),
                                    "oneOf": [
                                        {"required": ["price"]},
                                        {"required": ["price_file"]},
                                    ],
                                },
                            },
                        },
                        ["versions"],
                    ),
                },
                "billed": {
                    "type": "array",
                    "minItems": 1,
                    "items": _closed(
                        {
                            "start": {"$ref": "#/$defs/Date"},
                            "end": {"$ref": "#/$defs/Date"},
                            "amount": amount,
                            "invoice": text,
                            "due": {"$ref": "#/$defs/Date"},
                            "payments": {
                                "type": "array",
                                "items": _closed(
                                    {"date": {"$ref": "#/$defs/Date"}, "amount": positive},
                                    ["date", "amount"],
                                ),
                            },
                        },
                        ["start", "end", "amount"],
                    ),
                },
                "scenarios": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {
                        **_closed(
                            {
                                "description": text,
                                "usage": {
                                    "type": "object",
                                    "propertyNames": _DATE,
                                    "additionalProperties": amount,
                                },
                                "usage_file": text,
                                "column": text,
                                "usage_table": text,
                                "customer": text,
                                "meter": text,
                            }
                        ),
                        **one_source,
                    },
                },
            },
            ["as_of", "due_days", "bases", "billed", "scenarios"],
        ),
    }
    # Prices inside a case take the case's currency when they name none: the tag is required,
    # the currency is not (as in a price document, where it defaults to USD).
    return _finish("case", schema, "meterlib back-billing case")


def _event_schema() -> dict[str, Any]:
    name = {"type": "string", "minLength": 1}
    value = {
        "anyOf": [
            {"type": "string"},
            {"$ref": "#/$defs/Decimal"},
        ]
    }
    schema = {
        "$defs": {"Decimal": TypeAdapter(Amount).json_schema()},
        "description": "One usage event: one line of a JSON Lines file, or one CSV row.",
        **_closed(
            {
                "id": name,
                "customer": name,
                "type": name,
                "time": {
                    "type": "string",
                    "description": "ISO 8601 with an offset, such as 2024-03-01T12:00:00Z",
                    "pattern": (
                        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}"
                        r"(:[0-9]{2}([.,][0-9]{1,6})?)?(Z|[+-][0-9]{2}:?[0-9]{2})$"
                    ),
                },
                "properties": {
                    "anyOf": [
                        {"type": "null"},
                        {"type": "object", "additionalProperties": value},
                    ]
                },
            },
            ["id", "customer", "type", "time"],
        ),
    }
    return _finish("event", schema, "meterlib usage event")


#: Document kinds and the functions that build their schemas.
KINDS: dict[str, Callable[[], dict[str, Any]]] = {
    "case": _case_schema,
    "contract": _contract_schema,
    "event": _event_schema,
    "meters": _meters_schema,
    "price": _price_schema,
}


def json_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a document ``kind``: one of :data:`KINDS`."""
    try:
        build = KINDS[kind]
    except KeyError:
        raise InvalidValueError("kind", kind, f"one of {sorted(KINDS)}") from None
    return copy.deepcopy(build())
