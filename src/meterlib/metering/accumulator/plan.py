"""A meter compiled for the accumulator's hot paths: its reader, aggregation code and cell item."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT
from meterlib.metering._buckets import PeriodIndex
from meterlib.metering.aggregations import KINDS, PartialKind
from meterlib.metering.meters import Aggregation, Meter
from meterlib.metering.reading import MeterReader
from meterlib.metering.table import GroupKey

__all__ = [
    "COUNT",
    "LATEST",
    "SUM",
    "UNIQUE",
    "WEIGHTED",
    "Cell",
    "CompiledMeter",
    "Reading",
]

COUNT, SUM, MIN, MAX, UNIQUE, LATEST, WEIGHTED = range(7)
_CODES = {
    Aggregation.COUNT: COUNT,
    Aggregation.SUM: SUM,
    Aggregation.MIN: MIN,
    Aggregation.MAX: MAX,
    Aggregation.UNIQUE_COUNT: UNIQUE,
    Aggregation.LATEST: LATEST,
    Aggregation.WEIGHTED_SUM: WEIGHTED,
}

#: A cell inside one meter's states: ``(period key, customer, group)``.
Cell = tuple[int, str, GroupKey]


class CompiledMeter(MeterReader):
    """One meter for the hot path: the reader, its aggregation as a small int and its kind."""

    __slots__ = ("code", "kind")

    def __init__(self, position: int, meter: Meter) -> None:
        """Compile ``meter``, the ``position``-th of the accumulator's meters."""
        super().__init__(position, meter)
        self.kind: PartialKind = KINDS[meter.aggregation]
        self.code = _CODES[meter.aggregation]

    def item(self, index: PeriodIndex, key: int, micro: int, event_id: str, value: Any) -> Any:
        """The contribution of one reading to its cell (see the aggregations table)."""
        code = self.code
        if code == COUNT:
            return 1
        if code == LATEST:
            return (micro, event_id, value)
        if code == WEIGHTED:
            return EXACT.multiply(value, Decimal(index.span(key)[1] - micro))
        return value


#: One matching meter's reading of an event: ``(plan, group, value)``.
Reading = tuple[CompiledMeter, GroupKey, Any]
