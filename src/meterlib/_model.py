"""The base of every pydantic model in meterlib, and the translation of pydantic's errors.

pydantic reports invalid input as its own ``ValidationError``; meterlib callers catch one
hierarchy instead. :class:`MeterlibModel` translates at the boundary: building a model
(``Tier(up_to="-1")``), validating one (``model_validate``, ``model_validate_json``,
``model_validate_strings``) and assigning to a frozen field all raise
:class:`~meterlib.errors.DocumentError`, which lists each problem as ``(dotted location,
message)`` (``("tiers.1.up_to", "must be >= 0 (got -5)")``). The original pydantic error is kept
as the exception's ``__cause__``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from meterlib.errors import DocumentError, describe

__all__ = ["MeterlibModel", "document_error", "problems"]

# Errors about a tagged union's tag: they concern the tag field, whatever pydantic's location.
_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})
_WORD = re.compile(r"(?<!^)(?=[A-Z])")


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


def problems(
    error: ValidationError, tag: object = None, tag_field: str = "model"
) -> list[tuple[str, str]]:
    """Turn pydantic's errors into ``(dotted location, message)`` pairs.

    ``tag`` is the value of a tagged union's tag in the input (a price's ``model``): pydantic
    puts it in front of every location, and it is taken off again.
    """
    found: list[tuple[str, str]] = []
    for detail in error.errors(include_url=False):
        loc = detail["loc"]
        if tag is not None and loc and loc[0] == tag:
            loc = loc[1:]
        kind = detail["type"]
        if kind in _TAG_ERRORS:  # the tag's own field, inside whatever holds the tagged value
            loc = (*loc, tag_field)
        location = ".".join(str(part) for part in loc)
        message = detail["msg"].removeprefix("Value error, ")
        value = detail["input"]
        if _shows_no_value(kind, location, message, value):
            message = f"{message} (got {describe(value)})"
        found.append((location, message))
    return found


def document_error(what: str, error: ValidationError, tag: object = None) -> DocumentError:
    """The :class:`~meterlib.errors.DocumentError` that says what ``error`` found in ``what``."""
    translated = DocumentError(what, problems(error, tag))
    translated.__cause__ = error
    return translated


def _what(cls: type) -> str:
    """``PerUnitPrice`` -> ``'per unit price'``: how a model is named in messages."""
    return _WORD.sub(" ", cls.__name__.lstrip("_")).lower()


class MeterlibModel(BaseModel):
    """A frozen pydantic model whose invalid input raises meterlib's ``DocumentError``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def _what_name(cls) -> str:
        """How messages name this kind of model: ``PerUnitPrice`` -> ``'per unit price'``."""
        return _what(cls)

    def __init__(self, /, **data: Any) -> None:
        """Build and validate; invalid input raises :class:`~meterlib.errors.DocumentError`."""
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise document_error(self._what_name(), error) from error

    # Marks the override as pydantic's own, so nested validation (a Tier inside a price, a
    # price inside a union) still runs pydantic's core validator and collects every problem
    # instead of calling this __init__ once per nested model.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]

    @classmethod
    def model_validate(cls, obj: Any, **options: Any) -> Self:
        """Validate ``obj``; invalid input raises :class:`~meterlib.errors.DocumentError`."""
        try:
            return super().model_validate(obj, **options)
        except ValidationError as error:
            raise document_error(cls._what_name(), error) from error

    @classmethod
    def model_validate_json(cls, json_data: Any, **options: Any) -> Self:
        """Validate JSON text; invalid input raises :class:`~meterlib.errors.DocumentError`."""
        try:
            return super().model_validate_json(json_data, **options)
        except ValidationError as error:
            raise document_error(cls._what_name(), error) from error

    @classmethod
    def model_validate_strings(cls, obj: Any, **options: Any) -> Self:
        """Validate string data; invalid input raises :class:`~meterlib.errors.DocumentError`."""
        try:
            return super().model_validate_strings(obj, **options)
        except ValidationError as error:
            raise document_error(cls._what_name(), error) from error

    def __setattr__(self, name: str, value: Any) -> None:
        """Refuse assignment to a frozen model with meterlib's error."""
        try:
            super().__setattr__(name, value)
        except ValidationError as error:
            raise document_error(self._what_name(), error) from error
