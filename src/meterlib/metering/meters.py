"""Meters: which events count, and how they aggregate into one usage figure per period.

A meter names the event ``type`` it counts, an aggregation, the ``property`` it reads, optional
filters on properties and optional ``group_by`` properties. Aggregations are defined in the
conformance README (``count``, ``sum``, ``min``, ``max``, ``unique_count``, ``latest``,
``weighted_sum``). Meters load from TOML or JSON documents::

    [[meters]]
    name = "api_reads"
    type = "api.read"
    aggregation = "sum"
    property = "reads"
    group_by = ["region"]
    filters = { plan = { one_of = ["basic", "pro"] } }
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import ConfigDict, Field, model_validator

from meterlib._model import MeterlibModel
from meterlib.errors import DocumentError
from meterlib.metering.events import PropertyValue, value_text

__all__ = ["Aggregation", "Filter", "Meter", "load_meters", "parse_meters"]


class Aggregation(StrEnum):
    """How a meter turns a period's events into one figure."""

    COUNT = "count"
    SUM = "sum"
    MIN = "min"
    MAX = "max"
    UNIQUE_COUNT = "unique_count"
    LATEST = "latest"
    WEIGHTED_SUM = "weighted_sum"


class Filter(MeterlibModel):
    """A condition on one property, compared as text: ``equals`` a value, or ``one_of`` a list.

    Numbers are compared in the plain text of :func:`~meterlib.metering.events.value_text`,
    so ``Decimal("1E+2")`` equals ``"100"``.
    """

    # The JSON Schema says what the validator below says: exactly one of the two is given.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["equals"], "properties": {"equals": {"type": "string"}}},
                {"required": ["one_of"], "properties": {"one_of": {"type": "array"}}},
            ],
        },
    )

    equals: str | None = None
    one_of: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.equals is None) == (self.one_of is None):
            raise ValueError("a filter needs exactly one of 'equals' or 'one_of'")
        return self

    def accepts(self, value: PropertyValue | None) -> bool:
        """True when ``value`` (compared as text) satisfies the condition."""
        if value is None:
            return False
        text = value_text(value)
        if self.equals is not None:
            return text == self.equals
        return self.one_of is not None and text in self.one_of


class Meter(MeterlibModel):
    """One meter definition. ``property`` is required for every aggregation but ``count``."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    event_type: str = Field(alias="type", min_length=1)
    aggregation: Aggregation
    property: str | None = None
    filters: Mapping[str, Filter] = Field(default_factory=dict)
    group_by: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _property_needed(self) -> Self:
        if self.aggregation is Aggregation.COUNT:
            if self.property is not None:
                raise ValueError("'count' reads no property; remove 'property'")
        elif not self.property:
            raise ValueError(f"aggregation {self.aggregation.value!r} needs a 'property' to read")
        return self

    def matches(self, event_type: str, properties: Mapping[str, PropertyValue]) -> bool:
        """True when an event of ``event_type`` with ``properties`` counts for this meter."""
        if event_type != self.event_type:
            return False
        return all(f.accepts(properties.get(key)) for key, f in self.filters.items())


def parse_meters(data: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> list[Meter]:
    """Meters from a parsed document: ``{"meters": [...]}`` or a list of meter mappings."""
    items = data.get("meters") if isinstance(data, Mapping) else data
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise DocumentError("meters", [("meters", "expected a list of meters")])
    meters: list[Meter] = []
    problems: list[tuple[str, str]] = []
    for index, item in enumerate(items):
        try:
            meters.append(Meter.model_validate(item))
        except DocumentError as error:
            problems.extend(
                (f"meters.{index}.{where}" if where else f"meters.{index}", message)
                for where, message in error.problems
            )
    names = [m.name for m in meters]
    problems.extend(
        ("meters", f"meter name {name!r} is used twice")
        for name in sorted({n for n in names if names.count(n) > 1})
    )
    if problems:
        raise DocumentError("meters", problems)
    return meters


def load_meters(path: str | Path) -> list[Meter]:
    """Meters from a ``.toml`` or ``.json`` file; numbers are read as ``Decimal``."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    try:
        if file.suffix.lower() == ".toml":
            data: Any = tomllib.loads(text, parse_float=Decimal)
        else:
            data = json.loads(text, parse_float=Decimal)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise DocumentError("meters", [(str(file), str(error))]) from None
    return parse_meters(data)
