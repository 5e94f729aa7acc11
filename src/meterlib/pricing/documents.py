"""Price documents: prices read from and written to JSON.

Names follow meterlib's pattern for documents: ``load_price`` reads a file, ``parse_price`` reads
JSON text (or an already parsed mapping), ``price_from_dict``/``price_to_dict`` convert a mapping.
JSON numbers are read as ``Decimal`` (``parse_float=Decimal``), never as ``float``, and amounts
are written as strings, so ``price_from_dict(price_to_dict(p)) == p`` and
``parse_price(json.dumps(price_to_dict(p))) == p`` hold exactly. Every problem
in a document is reported as one :class:`~meterlib.errors.DocumentError` listing each problem as
``(dotted location, message)``, such as ``("tiers.1.up_to", "must be >= 0 (got -5)")``, so
callers catch one meterlib hierarchy instead of pydantic's ``ValidationError``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from meterlib._model import document_error
from meterlib.errors import DocumentError, describe
from meterlib.pricing.models import Price

__all__ = [
    "load_price",
    "parse_price",
    "price_from_dict",
    "price_from_json",
    "price_json_schema",
    "price_to_dict",
    "price_to_json",
]

_WHAT = "price"
_ADAPTER: TypeAdapter[Price] = TypeAdapter(Price)

# Written first and last by price_to_dict, so documents read the same whatever the model.
_LEADING = ("model", "currency")
_TRAILING = ("included", "discount", "minimum", "maximum")


def parse_price(data: str | bytes | Mapping[str, Any]) -> Price:
    """Build a price from JSON text, or from a mapping such as a parsed JSON object.

    Text is read exactly: numbers as ``Decimal``, never ``float``. Raises
    :class:`~meterlib.errors.DocumentError` for text that is not JSON (or holds ``NaN`` or
    ``Infinity``) and for a document that does not describe a valid price, listing every problem.
    """
    if not isinstance(data, str | bytes):
        return price_from_dict(data)
    try:
        document = json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except DocumentError:
        raise
    except ValueError as error:  # JSONDecodeError, and UnicodeDecodeError for bad bytes
        raise DocumentError(_WHAT, [("", f"not valid JSON: {error}")]) from error
    return price_from_dict(document)


def price_from_dict(data: Mapping[str, Any]) -> Price:
    """Build a price from a mapping such as a parsed JSON object.

    Raises :class:`~meterlib.errors.DocumentError` listing every problem found.
    """
    if not isinstance(data, Mapping):
        raise DocumentError(_WHAT, [("", f"must be an object (got {describe(data)})")])
    try:
        return _ADAPTER.validate_python(dict(data))
    except ValidationError as error:
        raise document_error(_WHAT, error, data.get("model")) from error


def _refuse_constant(name: str) -> Any:
    raise DocumentError(_WHAT, [("", f"{name} is not a number a price can hold")])


def load_price(path: str | os.PathLike[str]) -> Price:
    """Read a price from the JSON file at ``path``.

    A :class:`~meterlib.errors.DocumentError` carries a note naming the file; errors reading
    the file itself (``OSError``) pass through unchanged.
    """
    text = Path(path).read_bytes()
    try:
        return parse_price(text)
    except DocumentError as error:
        error.add_note(f"while reading the price document {os.fspath(path)}")
        raise


def price_to_dict(price: Price) -> dict[str, Any]:
    """Return ``price`` as a document: every field, amounts as strings, ``model`` first.

    ``model`` and ``currency`` come first and the modifiers last, so documents read the same
    whatever the model; percentage prices write their fraction as ``rate``, the name documents
    use. ``json.dumps`` of the result is the price's JSON text.
    """
    data = price.model_dump(mode="json", by_alias=True)
    ordered = {key: data[key] for key in _LEADING}
    ordered.update((key, value) for key, value in data.items() if key not in ordered)
    for key in _TRAILING:
        if key in ordered:
            ordered[key] = ordered.pop(key)
    return ordered


def price_from_json(text: str | bytes) -> Price:
    """Deprecated: use :func:`parse_price`, which reads the same text the same way."""
    warnings.warn(
        "price_from_json is deprecated and will be removed in the next release; use"
        " parse_price(text), which reads the same JSON text exactly",
        DeprecationWarning,
        stacklevel=2,
    )
    return parse_price(text)


def price_to_json(price: Price, *, indent: int | None = None) -> str:
    """Deprecated: use :func:`price_to_dict` (``json.dumps`` of it writes the same text)."""
    warnings.warn(
        "price_to_json is deprecated and will be removed in the next release; use"
        " price_to_dict(price): json.dumps(price_to_dict(price), ensure_ascii=False) writes"
        " the same text",
        DeprecationWarning,
        stacklevel=2,
    )
    return json.dumps(price_to_dict(price), indent=indent, ensure_ascii=False)


def price_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of a price document (every model, told apart by ``model``).

    The same schema as ``meterlib.schemas.json_schema("price")`` and ``meterlib schema price``.
    """
    from meterlib.schemas import json_schema  # noqa: PLC0415  (schemas reads every document kind)

    return json_schema("price")
