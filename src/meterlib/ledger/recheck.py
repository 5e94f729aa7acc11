"""Late usage of issued periods: re-check them and correct them with new documents.

:func:`recheck` looks at the periods of issued invoices (the ``periods`` most recent of each
customer, all by default) and asks the ledger which events of each period were received after
the invoice was issued. A period with late events is re-computed with the usage known now; the
difference from what was issued (the invoice plus its earlier corrections) becomes:

- with ``CorrectionPolicy(mode="notes")`` (the default): a **debit note** when more is owed, a
  **credit note** when less, issued at once (all in one transaction), each line pointing at
  the invoice and line it corrects and listing the late events (with their receipt time)
  that caused it (as Orb and Stripe correct a finalized invoice);
- with ``mode="next_invoice"``: pending :class:`Correction` values, which
  :func:`~meterlib.invoicing.notes.with_corrections` adds to the customer's next invoice as
  correction lines before it is issued (Kill Bill bills late usage as items of the next run).

Issued invoices never change. A period whose events all arrived before its invoice was issued
is not re-computed: the ledger only grows, so its usage cannot have changed (this is what makes
re-checking many periods cheap). Re-checking again finds nothing new: the earlier corrections
count as billed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Contract
from meterlib.invoicing.engine import invoice
from meterlib.invoicing.lifecycle import IssuedDocument
from meterlib.invoicing.notes import LateEvent, NoteLine, late_usage_lines
from meterlib.invoicing.usage import LedgerUsage, UsageBackend
from meterlib.ledger.document_rows import EPOCH
from meterlib.ledger.documents import DocumentStore
from meterlib.metering.events import UsageEvent
from meterlib.periods import Period

__all__ = ["Correction", "CorrectionPolicy", "Recheck", "recheck"]

_ZERO = Decimal(0)


class _Stored(Protocol):
    @property
    def event(self) -> UsageEvent: ...

    @property
    def received(self) -> datetime: ...


class LateEventSource(UsageBackend, Protocol):
    """What re-checking needs of a ledger: usage, and events received after a time."""

    def late_events(
        self, period: Period, after: datetime, *, customer: str | None = None
    ) -> Sequence[_Stored]:
        """Events in ``period`` received after ``after``."""
        ...


@dataclass(frozen=True, slots=True)
class CorrectionPolicy:
    """How late usage is corrected, and how far back periods are re-checked."""

    mode: Literal["notes", "next_invoice"] = "notes"
    periods: int | None = None
    """How many of each customer's most recent issued periods are re-checked (``None``: all)."""

    def __post_init__(self) -> None:
        """Refuse an unknown mode and a count below one."""
        if self.mode not in {"notes", "next_invoice"}:
            raise InvalidValueError("mode", self.mode, "'notes' or 'next_invoice'")
        if self.periods is not None and (type(self.periods) is not int or self.periods < 1):
            raise InvalidValueError("periods", self.periods, "a whole number >= 1 or None")


@dataclass(frozen=True, slots=True)
class Correction:
    """What one issued invoice lacks (or has too much of) under the usage known now."""

    invoice: str
    customer: str
    lines: tuple[NoteLine, ...]

    @property
    def total(self) -> Decimal:
        """The signed sum of the lines: above zero when more is owed."""
        total = _ZERO
        for line in self.lines:
            total = EXACT.add(total, line.amount)
        return total


@dataclass(frozen=True, slots=True)
class Recheck:
    """What a re-check did: periods looked at, re-computed, corrections, notes issued."""

    checked: int
    """Issued periods looked at."""
    recomputed: int
    """Periods with late events, re-computed."""
    corrections: tuple[Correction, ...]
    issued: tuple[IssuedDocument, ...]
    """The notes issued (``notes`` mode); empty in ``next_invoice`` mode."""
    skipped: tuple[str, ...]
    """Invoices of customers no contract was given for (not re-checked)."""


def _event_types(contract: Contract) -> dict[str, str]:
    meters = {meter.name: meter.event_type for meter in contract.meters}
    return {
        charge.name: meters[charge.meter]
        for plan in contract.plans.values()
        for charge in plan.metered
        if charge.meter in meters
    }


def recheck(
    store: DocumentStore,
    ledger: LateEventSource,
    contracts: Iterable[Contract],
    *,
    policy: CorrectionPolicy | None = None,
    at: datetime | None = None,
) -> Recheck:
    """Re-check issued periods for late usage and correct them (see the module docstring)."""
    chosen = policy or CorrectionPolicy()
    by_customer = {contract.customer: contract for contract in contracts}
    rows = store.invoice_rows()
    skipped = [row[0] for row in rows if row[1] not in by_customer]
    wanted = [row for row in rows if row[1] in by_customer]
    if chosen.periods is not None:
        per_customer: dict[str, list[tuple[str, str, str, str, int]]] = defaultdict(list)
        for row in wanted:
            per_customer[row[1]].append(row)
        starts = {text: datetime.fromisoformat(text) for text in {row[2] for row in wanted}}
        wanted = []
        for own in per_customer.values():
            own.sort(key=lambda row: starts[row[2]])
            wanted.extend(own[-chosen.periods:])
    # per period: each customer's invoice (one that is not void) and when it was issued
    by_period: dict[tuple[str, str], dict[str, tuple[str, int]]] = defaultdict(dict)
    for number, customer, start, end, issued_us in wanted:
        by_period[start, end][customer] = (number, issued_us)
    corrections = []
    recomputed = 0
    for (start, end), invoices in by_period.items():
        period = Period(datetime.fromisoformat(start), datetime.fromisoformat(end))
        earliest = min(issued_us for _, issued_us in invoices.values())
        late: dict[str, list[LateEvent]] = defaultdict(list)
        for stored in ledger.late_events(period, EPOCH + timedelta(microseconds=earliest)):
            event = stored.event
            if event.customer in invoices:
                late[event.customer].append(
                    LateEvent(event.id, event.type, event.time, stored.received)
                )
        for customer, (number, issued_us) in invoices.items():
            if customer not in late:
                continue
            issued_at = EPOCH + timedelta(microseconds=issued_us)
            arrived = [e for e in late[customer] if e.received > issued_at]
            if not arrived:
                continue
            recomputed += 1
            found = _correct(store, ledger, by_customer[customer], number, arrived)
            if found is not None:
                corrections.append(found)
    issued: list[IssuedDocument] = []
    if chosen.mode == "notes" and corrections:
        issued = store.issue_notes(
            [(found.invoice, found.lines) for found in corrections],
            cause="late_usage", reason="usage received after the invoice was issued", at=at,
        )
    return Recheck(len(wanted), recomputed, tuple(corrections), tuple(issued), tuple(skipped))


def _correct(
    store: DocumentStore,
    ledger: LateEventSource,
    contract: Contract,
    number: str,
    arrived: list[LateEvent],
) -> Correction | None:
    issued = store.invoice(number)
    earlier = store.corrections_of(number)
    listed = {e.event_id for line in earlier for e in line.late_events}
    types = _event_types(contract)
    fresh: Mapping[str, list[LateEvent]] = {
        charge: [e for e in arrived if e.type == kind and e.event_id not in listed]
        for charge, kind in types.items()
    }
    now = invoice(contract, LedgerUsage(ledger, contract.meters), issued.period, number=number)
    lines = late_usage_lines(issued, earlier, now, fresh)
    if not lines:
        return None
    return Correction(number, contract.customer, lines)
