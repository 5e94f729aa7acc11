"""Credits and entitlements at the ledger: the usage index for ``check``, the credit store.

:func:`usage_index` reads a ledger's events (one customer's, through the ledger's customer
filter, or all) into a :class:`~meterlib.credits.entitlements.UsageIndex`; once built (a warm
ledger) every :func:`~meterlib.credits.entitlements.check` is a few binary searches and never
touches the file again.

:class:`CreditStore` keeps customers' credit ledgers in the ledger file, in two tables of
its own (created on first use; the events tables are not touched)::

    credit_grants(seq INTEGER PRIMARY KEY, customer TEXT, id TEXT, unit TEXT, amount TEXT,
                  effective_us INTEGER, expires_us INTEGER, priority INTEGER,
                  recurrence TEXT, description TEXT, UNIQUE(customer, id))
    credit_entries(seq INTEGER PRIMARY KEY, customer TEXT, at_us INTEGER, kind TEXT,
                   grant_id TEXT, amount TEXT, reference TEXT)

Amounts are decimal text (never REAL), instants POSIX microseconds in UTC. Only recorded
entries (grants, top-ups, draws) are stored: recurrences and expiries are derived again on
reading, so the stored rows reproduce every balance. :meth:`CreditStore.save` is append-only:
it refuses a ledger whose entries do not begin with the stored ones.

:func:`issue_credited` draws a customer's stored credit for an invoice, issues the credited
invoice through the document store and stores the draws under its issued number.
:func:`issue_threshold_invoices` issues a period's threshold invoices through the document
store (:meth:`~meterlib.ledger.documents.DocumentStore.issue`), one at a time and in order, each
at its crossing instant and the final part at the period's end.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from meterlib.credits.entitlements import UsageIndex
from meterlib.credits.grants import CreditEntry, CreditLedger, EntryKind, Grant, Recurrence
from meterlib.credits.invoices import CreditedInvoice, apply_credits
from meterlib.credits.part_invoices import PartTerms, issue_instant, part_draft, part_spans
from meterlib.credits.thresholds import ThresholdInvoice
from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Contract
from meterlib.invoicing.invoice import Invoice
from meterlib.invoicing.lifecycle import IssuedDocument
from meterlib.ledger import Ledger
from meterlib.ledger.documents import DocumentStore
from meterlib.ledger.schema import LedgerError, connect
from meterlib.metering._buckets import instant, micros
from meterlib.metering.meters import Meter
from meterlib.periods import zone

__all__ = ["CreditStore", "issue_credited", "issue_threshold_invoices", "usage_index"]

_TABLES = """
CREATE TABLE IF NOT EXISTS credit_grants(
    seq INTEGER PRIMARY KEY, customer TEXT NOT NULL, id TEXT NOT NULL, unit TEXT NOT NULL,
    amount TEXT NOT NULL, effective_us INTEGER NOT NULL, expires_us INTEGER,
    priority INTEGER NOT NULL, recurrence TEXT, description TEXT NOT NULL,
    UNIQUE(customer, id));
CREATE TABLE IF NOT EXISTS credit_entries(
    seq INTEGER PRIMARY KEY, customer TEXT NOT NULL, at_us INTEGER NOT NULL,
    kind TEXT NOT NULL, grant_id TEXT NOT NULL, amount TEXT NOT NULL, reference TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS credit_entries_customer ON credit_entries(customer, seq);
"""


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


def issue_threshold_invoices(
    store: DocumentStore, terms: PartTerms, parts: Sequence[ThresholdInvoice], *, first: int = 0
) -> list[IssuedDocument]:
    """Issue parts ``first`` onwards of ``terms.period``, in order; what the store issued.

    ``parts`` are the period's parts so far (the final one once the period ended); those before
    ``first`` were issued earlier (as soon as each was crossed, in a running system), and the
    store gives back the last of them. Each part is issued on its own, so a part issued stays
    issued if a later one is refused.
    """
    spans = part_spans(parts, terms.period)
    if type(first) is not int or not 0 <= first <= len(parts):
        raise InvalidValueError("first", first, f"a part index from 0 to {len(parts)}")
    issued: list[IssuedDocument] = []
    billed = parts[first - 1].usage if first else Decimal(0)
    previous: str | None = None
    if first:
        earlier = store.current_invoice(
            terms.customer, spans[first - 1].start.astimezone(zone(terms.timezone))
        )
        if earlier is None:
            raise InvalidValueError(
                "first", first, f"parts issued before it (no invoice of part {first} is stored)"
            )
        previous = earlier.number
    for index in range(first, len(parts)):
        part, span = parts[index], spans[index]
        draft = part_draft(terms, part, index, span, billed, previous)
        document = store.issue(draft, at=issue_instant(part, terms.period))
        issued.append(document)
        previous = document.number
        billed = part.usage
    return issued


def _recurrence_text(recurrence: Recurrence | None) -> str | None:
    if recurrence is None:
        return None
    return json.dumps(
        {
            "cadence": recurrence.cadence.value,
            "anchor_us": micros(recurrence.anchor),
            "max_rollover": str(recurrence.max_rollover),
        }
    )


def _recurrence(text: str | None) -> Recurrence | None:
    if text is None:
        return None
    data = json.loads(text)
    return Recurrence(data["cadence"], instant(data["anchor_us"]), Decimal(data["max_rollover"]))


class CreditStore:
    """Customers' credit ledgers in a ledger file (see the module docstring); a context manager."""

    def __init__(self, path: str | Path) -> None:
        """Open the ledger file at ``path`` (created when missing) and its credit tables."""
        self.path = Path(path)
        self._db = connect(self.path)
        self._db.executescript(_TABLES)

    def close(self) -> None:
        """Close the file."""
        self._db.close()

    def __enter__(self) -> Self:
        """Use as ``with CreditStore(path) as store:``."""
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        """Close the file."""
        self.close()

    def load(self, customer: str) -> CreditLedger:
        """The stored credit ledger of ``customer`` (empty when nothing is stored)."""
        grants = tuple(
            Grant(
                row[0],
                Decimal(row[1]),
                row[2],
                instant(row[3]),
                None if row[4] is None else instant(row[4]),
                row[5],
                _recurrence(row[6]),
                row[7],
            )
            for row in self._db.execute(
                "SELECT id, amount, unit, effective_us, expires_us, priority, recurrence, "
                "description FROM credit_grants WHERE customer = ? ORDER BY seq",
                (customer,),
            )
        )
        entries = tuple(
            CreditEntry(instant(row[0]), EntryKind(row[1]), row[2], Decimal(row[3]), row[4])
            for row in self._db.execute(
                "SELECT at_us, kind, grant_id, amount, reference FROM credit_entries "
                "WHERE customer = ? ORDER BY seq",
                (customer,),
            )
        )
        return CreditLedger(customer, grants, entries)

    def save(self, ledger: CreditLedger) -> int:
        """Store what ``ledger`` adds to the stored ledger of its customer; entries added."""
        stored = self.load(ledger.customer)
        known = len(stored.recorded)
        if (
            ledger.recorded[:known] != stored.recorded
            or ledger.grants[: len(stored.grants)] != stored.grants
        ):
            raise LedgerError(
                f"credit ledger of {ledger.customer!r} does not extend the stored one "
                f"({known} entries stored): stored credit entries are never rewritten"
            )
        rows: list[tuple[Any, ...]] = [
            (
                ledger.customer,
                g.id,
                g.unit,
                str(g.amount),
                micros(g.effective),
                None if g.expires is None else micros(g.expires),
                g.priority,
                _recurrence_text(g.recurrence),
                g.description,
            )
            for g in ledger.grants[len(stored.grants) :]
        ]
        entries = [
            (ledger.customer, micros(e.at), e.kind.value, e.grant, str(e.amount), e.reference)
            for e in ledger.recorded[known:]
        ]
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT INTO credit_grants(customer, id, unit, amount, effective_us, expires_us, "
                "priority, recurrence, description) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
            db.executemany(
                "INSERT INTO credit_entries(customer, at_us, kind, grant_id, amount, reference) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                entries,
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return len(entries)


def issue_credited(
    store: DocumentStore,
    credits_store: CreditStore,
    draft: Invoice,
    at: datetime,
    *,
    contract: Contract | None = None,
) -> tuple[IssuedDocument, CreditedInvoice]:
    """Draw the customer's stored credit for ``draft``, issue it, store the draws; return both.

    The credit lines are added by :func:`~meterlib.credits.invoices.apply_credits` (at ``at``,
    unit credits when ``contract`` is given), the credited invoice is issued through ``store``
    and the draws are saved under the issued invoice's number. The invoice is issued first:
    should saving the draws fail, the issued invoice names each grant and amount, and calling
    :meth:`CreditStore.save` with the same ledger again stores what is missing.
    """
    book = credits_store.load(draft.customer)
    credited, after = apply_credits(draft, book, at, contract=contract)
    document = store.issue(credited.invoice, at=at)
    known = len(book.recorded)
    entries = after.recorded[:known] + tuple(
        replace(entry, reference=document.number) for entry in after.recorded[known:]
    )
    credits_store.save(CreditLedger(after.customer, after.grants, entries))
    return document, credited
