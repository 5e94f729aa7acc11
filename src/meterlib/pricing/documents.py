"""Price documents: prices read from and written to JSON.

JSON numbers are read as ``Decimal`` (``parse_float=Decimal``), never as ``float``, and amounts
are written as strings, so ``price_from_json(price_to_json(p)) == p`` holds exactly. Every problem
in a document is reported as one :class:`~meterlib.errors.DocumentError` listing each problem as
``(dotted location, message)``, such as ``("tiers.1.up_to", "must be >= 0 (got -5)")``, so
callers catch one meterlib hierarchy instead of pydantic's ``ValidationError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from meterlib.errors import DocumentError, describe
from meterlib.pricing.models import Price

__all__ = ["load_price", "parse_price", "price_from_json", "price_json_schema", "price_to_json"]

_WHAT = "price"
_ADAPTER: TypeAdapter[Price] = TypeAdapter(Price)

# Written first and last by price_to_json, so documents read the same whatever the model.
_LEADING = ("model", "currency")
_TRAILING = ("included", "discount", "minimum", "maximum")

# Errors about the union's tag: they concern the ``model`` field, whatever pydantic's location.
_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})


def _shows_no_value(kind: str, location: str, message: str, value: object) -> bool:
    """Tell whether pydantic's message about a field leaves out the offending value.

    meterlib's own messages end with ``(got ...)`` or name the values they compare; pydantic's
    (an extra field, a wrong literal) do not, so the value is added. A missing field has no
    value, and a whole object or list would drown the message, so those are left as they are.
    """
    return (
        bool(location)
        and kind != "missing"
        and "(got " not in message
        and not isinstance(value, Mapping | list | tuple)
    )


def _problems(error: ValidationError, tag: object) -> list[tuple[str, str]]:
    """Turn pydantic's errors into ``(dotted location, message)`` pairs."""
    problems: list[tuple[str, str]] = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if loc and loc[0] == tag:
            loc = loc[1:]  # the tagged union puts the model's name in front of every location
        kind = detail["type"]
        if kind in _TAG_ERRORS:  # the tag's own field, inside whatever holds the price
            loc = (*loc, "model")
        location = ".".join(str(part) for part in loc)
        message = detail["msg"].removeprefix("Value error, ")
        value = detail["input"]
        if _shows_no_value(kind, location, message, value):
            message = f"{message} (got {describe(value)})"
        problems.append((location, message))
    return problems


def parse_price(data: Mapping[str, Any]) -> Price:
    """Build a price from a mapping such as a parsed JSON object.

    Raises :class:`~meterlib.errors.DocumentError` listing every problem found.
    """
    if not isinstance(data, Mapping):
        raise DocumentError(_WHAT, [("", f"must be an object (got {describe(data)})")])
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        raise DocumentError(_WHAT, _problems(error, data.get("model"))) from error


def _refuse_constant(name: str) -> Any:
    raise DocumentError(_WHAT, [("", f"{name} is not a number a price can hold")])


def price_from_json(text: str | bytes) -> Price:
    """Build a price from JSON text; numbers are read as ``Decimal``, never ``float``.

    Raises :class:`~meterlib.errors.DocumentError` for text that is not JSON (or holds ``NaN``
    or ``Infinity``) and for a document that does not describe a valid price.
    """
    try:
        data = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
    except DocumentError:
        raise
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for bad bytes
        raise DocumentError(_WHAT, [("", f"not valid JSON: {error}")]) from error
    return parse_price(data)


def load_price(path: str | os.PathLike[str]) -> Price:
    """Read a price from the JSON file at ``path``.

    A :class:`~meterlib.errors.DocumentError` carries a note naming the file; errors reading
    the file itself (``OSError``) pass through unchanged.
    """
    text = Path(path).read_bytes()
    try:
        return price_from_json(text)
    except DocumentError as error:
        error.add_note(f"while reading the price document {os.fspath(path)}")
        raise


def price_to_json(price: Price, *, indent: int | None = None) -> str:
    """Write ``price`` as JSON: every field, amounts as strings, ``model`` and ``currency`` first.

    Percentage prices write their fraction as ``rate``, the name documents use.
    """
    data = price.model_dump(mode="json", by_alias=True)
    ordered = {key: data[key] for key in _LEADING}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    for key in _TRAILING:
        if key in ordered:
            ordered[key] = ordered.pop(key)
    return json.dumps(ordered, indent=indent, ensure_ascii=False)


def price_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a price document (every model, told apart by ``model``)."""
    schema = _ADAPTER.json_schema()
    schema.setdefault("title", "Price")
    return schema
