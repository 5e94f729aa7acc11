"""The usage table: one figure per (customer, meter, billing period, group).

Every engine that computes usage (the in-memory :class:`~meterlib.metering.accumulator.Accumulator`,
the SQLite ledger, the SQL compiler) returns a :class:`UsageTable`, so invoicing and the command
line read usage one way whatever computed it, and engines can be compared cell by cell.

A table holds only the cells that saw at least one counted event: an absent cell means "no
usage", which :meth:`UsageTable.quantity` reads as zero. Values are exact ``Decimal`` figures;
rounding is a later, explicit step of pricing.

Group keys are tuples of ``(property, value as text)`` pairs sorted by property name, with the
value turned into text by :func:`group_text`, the one rule every engine uses.
"""

from __future__ import annotations

import csv
import gc
import io
import json
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import repeat
from types import MappingProxyType
from typing import Any, Literal

from meterlib._numbers import EXACT, ROUNDED
from meterlib.errors import InvalidValueError
from meterlib.metering.events import value_text
from meterlib.periods import Period

__all__ = [
    "GroupKey",
    "UsageKey",
    "UsageTable",
    "decimal_text",
    "group_label",
    "group_text",
    "paused_gc",
    "usage_keys",
]

#: Sorted ``(group_by property, value as text)`` pairs; ``()`` for a meter without ``group_by``.
GroupKey = tuple[tuple[str, str], ...]

_RECORD_FIELDS = ("customer", "meter", "period_start", "period_end", "period", "group", "value")


def group_text(value: str | Decimal) -> str:
    """The text of a property value in a group key: text stays as given, numbers in plain form.

    ``"eu"`` stays ``"eu"``; ``Decimal("5")`` is ``"5"``, ``Decimal("1E+2")`` is ``"100"`` (no
    exponent), and trailing zeros are kept (``Decimal("5.0")`` is ``"5.0"``), so the text is
    the number as it was written. Filters and ``unique_count`` compare values by the same rule.
    """
    return value_text(value)


def decimal_text(value: Decimal) -> str:
    """A figure as plain decimal text (no exponent), as records and rendered tables show it."""
    return format(value, "f")


def group_label(group: GroupKey) -> str:
    """``region=eu;tier=pro``: a group key as one line of text (empty without group_by)."""
    return ";".join(f"{name}={text}" for name, text in group)


@contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while many objects are made at once (restored after).

    Building a few hundred thousand keys triggers collections that scan every live object again
    and again, about a third of the time; nothing made here forms a cycle.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class UsageKey:
    """Where one usage figure belongs: customer, meter name, billing period and group."""

    customer: str
    meter: str
    period: Period
    group: GroupKey = ()

    def __hash__(self) -> int:
        """The hash of the key's parts (the period by its bounds: one Python call, not two)."""
        return hash((self.customer, self.meter, self.period.start, self.period.end, self.group))

    def sort_key(self) -> tuple[str, str, datetime, GroupKey]:
        """Order of :meth:`UsageTable.rows`: customer, meter, period start, group."""
        return (self.customer, self.meter, self.period.start, self.group)


def usage_keys(
    customers: Sequence[str],
    meters: Sequence[str],
    periods: Sequence[Period],
    groups: Sequence[GroupKey] | None,
) -> list[UsageKey]:
    """``UsageKey(customer, meter, period, group)`` for each position, built in C-level loops.

    Equal to ``list(map(UsageKey, customers, meters, periods, groups))`` (the dataclass's
    ``__init__`` only stores its four fields; ``tests/property/test_usage_keys.py`` holds the
    two equal), without a Python call per key: the keys are allocated by ``object.__new__``
    and each field is stored by its slot's descriptor, column by column (about 2.5 times
    faster for the hundreds of thousands of cells of a SQL result). ``groups`` ``None``: no
    group (``()``) anywhere. The columns must be of one length (the caller checks).
    """
    count = len(customers)
    keys: list[UsageKey] = list(map(object.__new__, repeat(UsageKey, count)))
    columns: tuple[tuple[Any, Any], ...] = (
        (_SLOTS["customer"], customers),
        (_SLOTS["meter"], meters),
        (_SLOTS["period"], periods),
        (_SLOTS["group"], repeat(()) if groups is None else groups),
    )
    for slot, column in columns:
        deque(map(slot.__set__, keys, column), maxlen=0)
    return keys


#: The slot descriptors of :class:`UsageKey`'s fields (what its ``__init__`` sets).
_SLOTS: dict[str, Any] = {name: vars(UsageKey)[name] for name in UsageKey.__slots__}


class UsageTable(Mapping[UsageKey, Decimal]):
    """An immutable mapping from :class:`UsageKey` to the exact figure of that cell.

    Only cells that saw events are present. Equality is mapping equality, so tables computed by
    different engines compare cell by cell (``Decimal("1.0") == Decimal("1")``).
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[UsageKey, Decimal]) -> None:
        """Copy ``values``; keys must be :class:`UsageKey` and values ``Decimal``."""
        copied: dict[UsageKey, Decimal] = {}
        for key, value in values.items():
            if not isinstance(key, UsageKey):
                raise InvalidValueError("usage key", key, "a UsageKey")
            if type(value) is not Decimal or not value.is_finite():
                raise InvalidValueError(f"usage of {key}", value, "a finite Decimal")
            copied[key] = value
        self._values: Mapping[UsageKey, Decimal] = MappingProxyType(copied)

    @classmethod
    def from_columns(
        cls,
        customers: Sequence[str],
        meters: Sequence[str],
        periods: Sequence[Period],
        groups: Sequence[GroupKey] | None,
        values: Sequence[Decimal],
    ) -> UsageTable:
        """A table from parallel columns, one cell per position (the way SQL results come).

        ``groups`` ``None`` means no cell has a group. The same checks as the constructor
        (finite ``Decimal`` values) made column-wise, and no cell may be given twice.
        """
        count = len(customers)
        if not len(meters) == len(periods) == len(values) == count or (
            groups is not None and len(groups) != count
        ):
            raise InvalidValueError("columns", count, "columns of one length")
        if any(type(value) is not Decimal for value in values) or not all(
            map(Decimal.is_finite, values)
        ):
            bad = next(v for v in values if type(v) is not Decimal or not v.is_finite())
            raise InvalidValueError("usage value", bad, "a finite Decimal")
        with paused_gc():
            cells = usage_keys(customers, meters, periods, groups)
            values_by_key = dict(zip(cells, values, strict=True))
        if len(values_by_key) != count:
            raise InvalidValueError("columns", count, "one row per cell (a cell given twice)")
        table = cls.__new__(cls)
        table._values = MappingProxyType(values_by_key)
        return table

    def __getitem__(self, key: UsageKey) -> Decimal:
        """The figure of cell ``key``; ``KeyError`` when the cell saw no events."""
        return self._values[key]

    def __iter__(self) -> Iterator[UsageKey]:
        """Keys in the order of :meth:`rows`."""
        return iter(sorted(self._values, key=UsageKey.sort_key))

    def __len__(self) -> int:
        """How many cells saw events."""
        return len(self._values)

    def __repr__(self) -> str:
        """A locale-free summary."""
        return f"UsageTable({len(self._values)} cells)"

    def _repr_html_(self) -> str:
        """Show the table in Jupyter."""
        from meterlib.render.html import usage_table_fragment  # noqa: PLC0415

        return usage_table_fragment(self)

    def rows(self) -> list[tuple[UsageKey, Decimal]]:
        """Every cell with its figure, sorted by customer, meter, period start and group."""
        return [(key, self._values[key]) for key in self]

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """The figure of the cell whose period is exactly ``[start, end)``, summed over groups.

        Zero when no such cell saw events. Bounds are compared as instants.
        """
        total = Decimal(0)
        for key, value in self._values.items():
            if (
                key.customer == customer
                and key.meter == meter
                and key.period.start == start
                and key.period.end == end
            ):
                total = EXACT.add(total, value)
        return total

    def to_records(self) -> list[dict[str, Any]]:
        """One flat record per row with real values, for analysis.

        ``period_start`` and ``period_end`` are ``datetime`` instants, ``value`` the exact
        ``Decimal``, ``period`` and ``group`` labels as text, so
        ``sum(r["value"] for r in table.to_records())`` is exact.
        """
        return [
            {
                "customer": key.customer,
                "meter": key.meter,
                "period_start": key.period.start,
                "period_end": key.period.end,
                "period": key.period.label(),
                "group": group_label(key.group),
                "value": value,
            }
            for key, value in self.rows()
        ]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``meterlib[pandas]``)."""
        from meterlib.frames import records_to_pandas  # noqa: PLC0415

        return records_to_pandas(self.to_records(), _RECORD_FIELDS)

    def to_text_records(self) -> list[dict[str, str]]:
        """One flat record of text per row: the form of the JSON and CSV renderings."""
        return [
            {
                "customer": key.customer,
                "meter": key.meter,
                "period_start": key.period.start.isoformat(),
                "period_end": key.period.end.isoformat(),
                "period": key.period.label(),
                "group": group_label(key.group),
                "value": decimal_text(value),
            }
            for key, value in self.rows()
        ]

    def render(self, fmt: Literal["text", "json", "csv"]) -> str:
        """The table as aligned text columns, a JSON list of records, or CSV with a header."""
        records = self.to_text_records()
        if fmt == "json":
            return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=_RECORD_FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
            return buffer.getvalue()
        if fmt == "text":
            return _render_text(records)
        raise InvalidValueError("fmt", fmt, "one of 'text', 'json', 'csv'")


#: Fraction digits the text rendering shows; longer figures (a ``weighted_sum`` average) are cut
#: there, rounded half-even and marked with "…". JSON and CSV always carry every digit.
TEXT_PLACES = 12
_TEXT_UNIT = Decimal(1).scaleb(-TEXT_PLACES)


def _short(text: str) -> str:
    fraction = text.partition(".")[2]
    if len(fraction) <= TEXT_PLACES:
        return text
    cut = Decimal(text).quantize(_TEXT_UNIT, rounding=ROUND_HALF_EVEN, context=ROUNDED)
    return f"{cut:f}…"


def _render_text(records: list[dict[str, str]]) -> str:
    columns = ("customer", "meter", "period", "group", "value")
    if not records:
        return "(no usage)\n"
    records = [{**r, "value": _short(r["value"])} for r in records]
    widths = {c: max(len(c), *(len(r[c]) for r in records)) for c in columns}
    lines = ["  ".join(c.ljust(widths[c]) for c in columns).rstrip()]
    for record in records:
        cells = [
            record[c].rjust(widths[c]) if c == "value" else record[c].ljust(widths[c])
            for c in columns
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
