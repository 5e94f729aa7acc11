"""Credits and entitlements at the ledger: the usage index of a ledger's events for ``check``.

:func:`usage_index` reads a ledger's events (one customer's, through the ledger's customer
index, or all) into a :class:`~meterlib.credits.entitlements.UsageIndex`; once built (a warm
ledger) every :func:`~meterlib.credits.entitlements.check` is two binary searches and never
touches the file again. :func:`refresh` adds the events stored since.
"""

from __future__ import annotations

from collections.abc import Sequence

from meterlib.credits.entitlements import UsageIndex
from meterlib.ledger import Ledger
from meterlib.metering.meters import Meter

__all__ = ["usage_index"]


def usage_index(
    ledger: Ledger,
    meters: Sequence[Meter],
    *,
    customer: str | None = None,
    group_by: str | None = None,
) -> UsageIndex:
    """A usage index of the ledger's events (of ``customer`` only, when given)."""
    index = UsageIndex(meters, group_by=group_by)
    index.add(stored.event for stored in ledger.events(customer=customer))
    return index
