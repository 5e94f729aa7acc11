"""Usage for back-billing: measured records, from a usage table or a table of estimates.

Back-billing reads usage in one form, :class:`UsageRecord`: a quantity over calendar days
``[start, end)``. A record counts in the billed period that holds it whole; several records in
one period are summed; a record in no single billed period is reported by the engine as a
problem, never dropped silently. This module builds records from the sources usage comes from:

- :func:`usage_from_table`: a :class:`~meterlib.metering.table.UsageTable`, the result of the
  accumulator, the ledger and the SQL engine (one customer, one meter, summed over groups);
- :func:`usage_by_start`: a table of per-period totals keyed by each period's first day, the
  form estimates take when only estimates exist (low, base, high);
- :func:`usage_from`: any other per-period source, through a query function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Protocol

from meterlib._numbers import to_decimal
from meterlib.backbill.terms import DateSpan
from meterlib.errors import InvalidValueError
from meterlib.metering.table import UsageTable
from meterlib.periods import Period

__all__ = ["Spanned", "UsageRecord", "usage_by_start", "usage_from", "usage_from_table"]


class Spanned(Protocol):
    """Anything with calendar-day bounds ``[start, end)``: a billed period, a date span."""

    @property
    def start(self) -> date:
        """First day."""
        ...

    @property
    def end(self) -> date:
        """Day after the last."""
        ...


@dataclass(frozen=True, slots=True, init=False)
class UsageRecord:
    """Measured usage over ``[start, end)``; it counts in the billed period that holds it whole."""

    start: date
    end: date
    quantity: Decimal

    def __init__(self, start: date, end: date, quantity: Decimal | int | str) -> None:
        """Check the span and pass the quantity through the funnel (not negative)."""
        DateSpan(start, end)
        value = to_decimal(quantity, "quantity")
        if value < 0:
            raise InvalidValueError("quantity", quantity, ">= 0")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "quantity", value)


def usage_from(
    query: Callable[[Period], Decimal | int | str | None],
    periods: Iterable[Spanned],
) -> list[UsageRecord]:
    """Usage records for ``periods`` from any per-period source.

    ``query`` is asked for each period (as a core :class:`~meterlib.periods.Period` with
    midnight-UTC bounds) and returns the period's total, or ``None`` for no usage.
    """
    records = []
    for item in periods:
        span = DateSpan(item.start, item.end)
        total = query(span.to_period())
        if total is not None:
            records.append(UsageRecord(span.start, span.end, to_decimal(total, "usage")))
    return records


def usage_by_start(
    table: Mapping[date, Decimal | int | str], periods: Iterable[Spanned]
) -> list[UsageRecord]:
    """Usage records from per-period totals keyed by each period's first day.

    A key that starts no period in ``periods`` still becomes a one-day record, so the engine
    reports it as usage outside every billed period instead of losing it.
    """
    ends = {item.start: item.end for item in periods}
    return [
        UsageRecord(
            start, ends.get(start, start + timedelta(days=1)), to_decimal(value, "usage")
        )
        for start, value in table.items()
    ]


def _day(period: Period, bound: str) -> date:
    instant = period.start if bound == "start" else period.end
    if instant.time() != time(0):
        raise InvalidValueError(
            f"period.{bound}",
            instant,
            "a usage-table period bounded at local midnight (back-billing works in whole days)",
        )
    return instant.date()


def usage_from_table(
    table: UsageTable, *, customer: str, meter: str | None = None
) -> list[UsageRecord]:
    """Usage records of ``customer`` on ``meter`` from a :class:`UsageTable`.

    Cells of different groups are separate records and add up in their period. Each cell's
    period becomes the calendar days of its local-midnight bounds (a monthly cycle in any time
    zone gives that zone's calendar months). ``meter`` may be left out when the customer's
    cells all belong to one meter; usage of different meters is never added together.
    """
    cells = [(key, value) for key, value in table.rows() if key.customer == customer]
    meters = sorted({key.meter for key, _ in cells})
    if meter is None:
        if len(meters) > 1:
            raise InvalidValueError(
                "meter", None, f"one of {meters}: the table holds several meters for {customer!r}"
            )
    else:
        cells = [(key, value) for key, value in cells if key.meter == meter]
    return [
        UsageRecord(_day(key.period, "start"), _day(key.period, "end"), value)
        for key, value in cells
    ]
