"""Where an invoice's usage comes from: the :class:`UsageSource` protocol and a mapping source.

Invoicing asks for usage one span at a time: ``quantity(customer, meter, start, end)`` is the
usage of ``meter`` by ``customer`` in ``[start, end)``. A period inside one plan is asked for
as a whole; a period split by a plan change is asked for once per side, so each side's usage is
rated with its own plan's prices. Anything with that method is a source:

- :class:`MappingUsage`: plain mappings, for tests, notebooks and files;
- :class:`TableUsage`: a :class:`~meterlib.metering.table.UsageTable` (what the accumulator,
  the ledger and the SQL engine return), indexed once so each question is answered in constant
  time (``UsageTable.quantity`` itself scans the table);
- :class:`LedgerUsage`: an event ledger and the contract's meters; each span asked for is
  aggregated by the ledger once (``ledger.usage(meters, [Period(start, end)],
  customer=customer)``) and kept for the other meters of the same span.

A metered charge with a ``matrix`` price needs usage by group (the meter's ``group_by``
values): a source that can give it also has ``groups(customer, meter, start, end)``
(:class:`GroupedUsageSource`), as :class:`TableUsage` and :class:`LedgerUsage` do.

A meter that a source has no usage for counts zero (no events, no usage). A source that holds
usage for a meter but not for the span asked raises :class:`UsageNotFoundError` rather than
guess how to split it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Protocol, runtime_checkable

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.metering.meters import Meter
from meterlib.metering.table import GroupKey, UsageKey
from meterlib.periods import Period, aware

__all__ = [
    "GroupedUsageSource",
    "LedgerUsage",
    "MappingUsage",
    "SpanBound",
    "TableUsage",
    "UsageBackend",
    "UsageNotFoundError",
    "UsageSource",
]

_ZERO = Decimal(0)

#: A span bound in :class:`MappingUsage`: an aware datetime, or a date meaning local midnight
#: in the billing time zone.
SpanBound = date | datetime

_Key = tuple[str, SpanBound, SpanBound]


@runtime_checkable
class UsageSource(Protocol):
    """Anything that can say how much of a meter a customer used in a span of time."""

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """Usage of ``meter`` by ``customer`` in ``[start, end)`` (aware datetimes)."""
        ...


@runtime_checkable
class GroupedUsageSource(UsageSource, Protocol):
    """A usage source that can also split a meter's usage by its ``group_by`` values."""

    def groups(
        self, customer: str, meter: str, start: datetime, end: datetime
    ) -> Mapping[GroupKey, Decimal]:
        """Usage of ``meter`` in ``[start, end)`` per group (``()`` for a meter without groups)."""
        ...


class UsageNotFoundError(MeterlibError, LookupError):
    """A source holds usage for a meter, but not for the span invoicing asked for."""

    def __init__(self, meter: str, start: datetime, end: datetime, known: str) -> None:
        self.meter = meter
        self.start = start
        self.end = end
        super().__init__(
            f"no usage of meter {meter!r} for [{start.isoformat()}, {end.isoformat()}): "
            f"the source has it for {known}",
        )


def _bound(value: object, field: str) -> SpanBound:
    if isinstance(value, datetime):
        return aware(value, field)
    if isinstance(value, date):
        return value
    raise InvalidValueError(field, value, "a date or a time-zone aware datetime")


def _show(bound: SpanBound) -> str:
    return bound.isoformat()


class MappingUsage:
    """Usage given as plain mappings: per meter for a whole period, and/or per span.

    ``totals`` maps a meter name to its usage for ``period`` (required with ``totals``): it
    answers a question about exactly that period. ``spans`` maps ``(meter, start, end)`` to the
    usage in ``[start, end)``; a bound may be a date, meaning local midnight in the zone of the
    question, so a period split by a plan change on 15 March reads::

        MappingUsage(spans={
            ("api_calls", date(2023, 3, 1), date(2023, 3, 15)): 400,
            ("api_calls", date(2023, 3, 15), date(2023, 4, 1)): 900,
        })

    ``customer``, when given, is the only customer the source answers for (another raises), so a
    file of one customer's usage cannot be billed to another. Quantities go through the number
    funnel (floats are refused) and may not be negative.
    """

    __slots__ = ("_customer", "_meters", "_period", "_spans", "_totals")

    def __init__(
        self,
        totals: Mapping[str, Decimal | int | str] | None = None,
        *,
        period: Period | None = None,
        spans: Mapping[_Key, Decimal | int | str] | None = None,
        customer: str | None = None,
    ) -> None:
        """Check and store the usage; see the class docstring."""
        if totals and period is None:
            raise InvalidValueError(
                "period", period, "the period the totals are for, when totals are given"
            )
        self._period = period
        self._customer = customer
        self._totals = {
            _meter(meter): _quantity(value, f"totals[{meter!r}]")
            for meter, value in (totals or {}).items()
        }
        self._spans: dict[_Key, Decimal] = {}
        self._meters: set[str] = set(self._totals)
        for key, value in (spans or {}).items():
            if not isinstance(key, tuple) or len(key) != 3:
                raise InvalidValueError("spans", key, "keys of the form (meter, start, end)")
            meter, start, end = key
            name = f"spans[{meter!r}, {start!r}, {end!r}]"
            checked = (_meter(meter), _bound(start, f"{name} start"), _bound(end, f"{name} end"))
            self._spans[checked] = _quantity(value, name)
            self._meters.add(checked[0])

    @property
    def meters(self) -> frozenset[str]:
        """The meters this source holds usage for."""
        return frozenset(self._meters)

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """Usage of ``meter`` in ``[start, end)``: a span entry, the period total, or zero."""
        if self._customer is not None and customer != self._customer:
            raise InvalidValueError(
                "customer", customer, f"{self._customer!r}, whose usage this is"
            )
        if meter not in self._meters:
            return _ZERO
        period = self._period
        if (
            period is not None
            and meter in self._totals
            and start == period.start
            and end == period.end
        ):
            return self._totals[meter]
        spans = self._spans
        if spans:
            found = spans.get((meter, start, end))
            if found is not None:
                return found
            if start.time() == time(0) and end.time() == time(0):
                found = spans.get((meter, start.date(), end.date()))
                if found is not None:
                    return found
        raise UsageNotFoundError(meter, start, end, self._known(meter))

    def _known(self, meter: str) -> str:
        known = [f"[{_show(s)}, {_show(e)})" for (m, s, e) in self._spans if m == meter]
        if meter in self._totals and self._period is not None:
            known.insert(0, f"the whole period {self._period}")
        return " and ".join(known)

    def __repr__(self) -> str:
        """Summary of what the source holds."""
        return (
            f"MappingUsage({len(self._totals)} totals, {len(self._spans)} spans, "
            f"customer={self._customer!r})"
        )


def _meter(value: object) -> str:
    if type(value) is not str or not value:
        raise InvalidValueError("meter", value, "a non-empty meter name")
    return value


def _quantity(value: object, field: str) -> Decimal:
    quantity = to_decimal(value, field)
    if quantity < 0:
        raise InvalidValueError(field, value, ">= 0")
    return quantity


class TableUsage:
    """Usage from a usage table (or any mapping of :class:`UsageKey` to ``Decimal``).

    Answers exactly as ``UsageTable.quantity`` does (the cell whose period is ``[start, end)``,
    summed over groups, zero when no such cell saw events), from an index built once.
    """

    __slots__ = ("_groups", "_index")

    def __init__(self, table: Mapping[UsageKey, Decimal]) -> None:
        """Index the table by customer, meter and span (bounds compared as instants)."""
        # Aware datetimes compare and hash as instants, whatever their zones.
        index: dict[tuple[str, str, datetime, datetime], Decimal] = {}
        groups: dict[tuple[str, str, datetime, datetime], dict[GroupKey, Decimal]] = {}
        for key, value in table.items():
            cell = (key.customer, key.meter, key.period.start, key.period.end)
            index[cell] = EXACT.add(index[cell], value) if cell in index else value
            by_group = groups.setdefault(cell, {})
            by_group[key.group] = (
                EXACT.add(by_group[key.group], value) if key.group in by_group else value
            )
        self._index = index
        self._groups = groups

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """The usage of the cell ``[start, end)``, summed over groups; zero when absent."""
        return self._index.get((customer, meter, start, end), _ZERO)

    def groups(
        self, customer: str, meter: str, start: datetime, end: datetime
    ) -> Mapping[GroupKey, Decimal]:
        """The usage of the cell ``[start, end)`` per group; empty when absent."""
        return dict(self._groups.get((customer, meter, start, end), {}))

    def __repr__(self) -> str:
        """Summary of what the source holds."""
        return f"TableUsage({len(self._index)} cells)"


class UsageBackend(Protocol):
    """What :class:`LedgerUsage` needs of a ledger: usage of meters over periods."""

    def usage(
        self,
        meters: Sequence[Meter],
        periods: Sequence[Period],
        *,
        customer: str | None = None,
    ) -> Mapping[UsageKey, Decimal]:
        """Usage per (customer, meter, period, group) of the events the ledger holds."""
        ...


class LedgerUsage:
    """Usage aggregated from raw events by a ledger, with the meters the contract names.

    The first question about a span asks the ledger for every meter at once; later questions
    about the same customer and span are answered from that result.
    """

    __slots__ = ("_cache", "_ledger", "_meters")

    def __init__(self, ledger: UsageBackend, meters: Sequence[Meter]) -> None:
        """Keep the ledger and the meters (at least one)."""
        if not meters:
            raise InvalidValueError(
                "meters", meters, "the meters of the contract (needed to read a ledger)"
            )
        self._ledger = ledger
        self._meters = tuple(meters)
        self._cache: dict[tuple[str, datetime, datetime], TableUsage] = {}

    def quantity(self, customer: str, meter: str, start: datetime, end: datetime) -> Decimal:
        """Usage of ``meter`` by ``customer`` in ``[start, end)``, aggregated by the ledger."""
        return self._table(customer, meter, start, end).quantity(customer, meter, start, end)

    def groups(
        self, customer: str, meter: str, start: datetime, end: datetime
    ) -> Mapping[GroupKey, Decimal]:
        """Usage of ``meter`` by ``customer`` in ``[start, end)`` per ``group_by`` values."""
        return self._table(customer, meter, start, end).groups(customer, meter, start, end)

    def _table(self, customer: str, meter: str, start: datetime, end: datetime) -> TableUsage:
        if meter not in {m.name for m in self._meters}:
            raise InvalidValueError(
                "meter", meter, f"one of the meters {sorted(m.name for m in self._meters)}"
            )
        key = (customer, start, end)
        table = self._cache.get(key)
        if table is None:
            table = TableUsage(
                self._ledger.usage(self._meters, [Period(start, end)], customer=customer)
            )
            self._cache[key] = table
        return table
