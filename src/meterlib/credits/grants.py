"""Credit grants and the per-customer credit ledger: grants, draws, recurrences and expiries.

A :class:`Grant` gives a customer an amount of credit, in money (``unit`` a currency code) or
in units of a meter (``unit`` the meter's name), from ``effective`` until ``expires`` (never,
when ``None``), with a ``priority`` and an optional :class:`Recurrence` (OpenMeter's grant
fields). A :class:`CreditLedger` is an immutable list of recorded entries (grants, top-ups and
draws); the derived entries (each recurrence's refill and forfeited rollover, each expiry) are
computed from the grants, so :meth:`CreditLedger.statement` and :meth:`CreditLedger.balance`
on any instant are reproducible from the recorded entries alone. Expired and forfeited credit
appears as an entry of its own, never silently.

**Draw order** (:func:`draw_order`): lower ``priority`` first, then the earliest expiry (a
grant that never expires last), then the oldest ``effective``, then the grant id. A draw takes
from the grants in that order and never takes a grant below zero; what no grant covers is
reported as :attr:`Draw.uncovered`.

**Recurrence.** At every recurrence instant after ``effective`` (and before ``expires``) the
remaining balance up to ``max_rollover`` is carried, the rest is forfeited (an ``expiry``
entry), and the grant's ``amount`` is granted again (a ``recurrence`` entry).

**Instants.** A grant is available on ``[effective, expires)``; at one instant expiries and
recurrences happen before draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from meterlib._numbers import EXACT, exact_sum, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.periods import BillingCycle, Cadence, aware

__all__ = [
    "CreditEntry",
    "CreditLedger",
    "Draw",
    "DrawLine",
    "EntryKind",
    "Grant",
    "Recurrence",
    "draw_order",
]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A grant that refills every ``cadence`` from ``anchor``, carrying up to ``max_rollover``."""

    cadence: Cadence
    anchor: datetime
    max_rollover: Decimal = _ZERO

    def __post_init__(self) -> None:
        """Check the anchor is aware and the rollover limit a decimal >= 0."""
        aware(self.anchor, "recurrence.anchor")
        limit = to_decimal(self.max_rollover, "recurrence.max_rollover")
        if limit < 0:
            raise InvalidValueError("recurrence.max_rollover", self.max_rollover, ">= 0")
        object.__setattr__(self, "cadence", Cadence(self.cadence))
        object.__setattr__(self, "max_rollover", limit)

    def instants(self, after: datetime, before: datetime) -> list[datetime]:
        """Recurrence instants ``t`` with ``after < t <= before``."""
        cycle = BillingCycle(cadence=self.cadence, anchor=self.anchor, timezone="UTC")
        found: list[datetime] = []
        index = cycle.index_of(after) + 1
        while True:
            start = cycle.start(index)
            if start > before:
                return found
            if start > after:
                found.append(start)
            index += 1


@dataclass(frozen=True, slots=True)
class Grant:
    """Credit given to a customer (see the module docstring)."""

    id: str
    amount: Decimal
    unit: str
    effective: datetime
    expires: datetime | None = None
    priority: int = 1
    recurrence: Recurrence | None = None
    description: str = ""

    def __post_init__(self) -> None:
        """Check every field; pass the amount through the number funnel."""
        if type(self.id) is not str or not self.id:
            raise InvalidValueError("grant.id", self.id, "a non-empty string")
        if type(self.unit) is not str or not self.unit:
            raise InvalidValueError("grant.unit", self.unit, "a currency code or a meter name")
        amount = to_decimal(self.amount, "grant.amount")
        if amount <= 0:
            raise InvalidValueError("grant.amount", self.amount, "> 0")
        object.__setattr__(self, "amount", amount)
        aware(self.effective, "grant.effective")
        if self.expires is not None and aware(self.expires, "grant.expires") <= self.effective:
            raise InvalidValueError("grant.expires", self.expires, "after grant.effective")
        if type(self.priority) is not int or self.priority < 0:
            raise InvalidValueError("grant.priority", self.priority, "a whole number >= 0")

    @property
    def label(self) -> str:
        """How an invoice line names the grant."""
        return self.description or self.id

    def available(self, at: datetime) -> bool:
        """True when the grant may be drawn on at ``at``."""
        return self.effective <= at and (self.expires is None or at < self.expires)


def draw_order(grants: Iterable[Grant]) -> list[Grant]:
    """Grants in draw order: priority, earliest expiry (never last), oldest, then id."""
    return sorted(
        grants,
        key=lambda g: (
            g.priority,
            g.expires is None,
            g.expires or g.effective,
            g.effective,
            g.id,
        ),
    )


class EntryKind(StrEnum):
    """What a ledger entry records."""

    GRANT = "grant"
    TOP_UP = "top_up"
    RECURRENCE = "recurrence"
    DRAW = "draw"
    EXPIRY = "expiry"


#: At one instant, entries apply in this order (expiry before refill before draw).
_RANK = {
    EntryKind.EXPIRY: 0,
    EntryKind.GRANT: 1,
    EntryKind.TOP_UP: 1,
    EntryKind.RECURRENCE: 1,
    EntryKind.DRAW: 2,
}


@dataclass(frozen=True, slots=True)
class CreditEntry:
    """One movement of one grant's balance: ``amount`` is signed (draws and expiries < 0)."""

    at: datetime
    kind: EntryKind
    grant: str
    amount: Decimal
    reference: str = ""


@dataclass(frozen=True, slots=True)
class DrawLine:
    """The part of a draw one grant covered; an invoice shows it as a line naming the grant."""

    grant: str
    label: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Draw:
    """A request for ``requested`` credit at ``at``: the lines that covered it and the rest."""

    at: datetime
    unit: str
    requested: Decimal
    lines: tuple[DrawLine, ...]
    reference: str = ""

    @property
    def drawn(self) -> Decimal:
        """What the grants covered."""
        return exact_sum(line.amount for line in self.lines)

    @property
    def uncovered(self) -> Decimal:
        """What no grant covered (to be invoiced, or refused)."""
        return EXACT.subtract(self.requested, self.drawn)


@dataclass(frozen=True, slots=True)
class CreditLedger:
    """A customer's grants and draws (immutable: every change returns a new ledger)."""

    customer: str
    grants: tuple[Grant, ...] = ()
    recorded: tuple[CreditEntry, ...] = ()
    _by_id: dict[str, Grant] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the grants by id, refusing a repeated id."""
        index: dict[str, Grant] = {}
        for grant in self.grants:
            if grant.id in index:
                raise InvalidValueError("grant.id", grant.id, "an id not granted before")
            index[grant.id] = grant
        object.__setattr__(self, "_by_id", index)

    def grant(self, grant: Grant, *, top_up: bool = False) -> CreditLedger:
        """A ledger with ``grant`` added (a paid ``top_up`` when so marked)."""
        kind = EntryKind.TOP_UP if top_up else EntryKind.GRANT
        entry = CreditEntry(grant.effective, kind, grant.id, grant.amount)
        return CreditLedger(self.customer, (*self.grants, grant), (*self.recorded, entry))

    def top_up(self, grant: Grant) -> CreditLedger:
        """A ledger with a purchased top-up ``grant`` added."""
        return self.grant(grant, top_up=True)

    def statement(self, until: datetime) -> list[CreditEntry]:
        """Every entry up to and including ``until`` (recorded and derived), in applying order."""
        aware(until, "until")
        derived: list[CreditEntry] = []
        for grant in self.grants:
            if grant.expires is not None and grant.expires <= until:
                derived.append(CreditEntry(grant.expires, EntryKind.EXPIRY, grant.id, _ZERO))
            if grant.recurrence is not None:
                end = until if grant.expires is None else min(until, grant.expires)
                derived.extend(
                    CreditEntry(moment, EntryKind.RECURRENCE, grant.id, grant.amount)
                    for moment in grant.recurrence.instants(grant.effective, end)
                    if grant.expires is None or moment < grant.expires
                )
        chosen = [e for e in self.recorded if e.at <= until] + derived
        chosen.sort(key=lambda e: (e.at, _RANK[e.kind]))
        return self._replay(chosen)

    def _replay(self, entries: Sequence[CreditEntry]) -> list[CreditEntry]:
        """Fill in each expiry's and each recurrence's forfeited amount from the balances."""
        balances: dict[str, Decimal] = {}
        out: list[CreditEntry] = []
        for entry in entries:
            held = balances.get(entry.grant, _ZERO)
            if entry.kind is EntryKind.EXPIRY:
                if held:
                    gone = EXACT.minus(held)
                    out.append(CreditEntry(entry.at, entry.kind, entry.grant, gone, "expired"))
                balances[entry.grant] = _ZERO
                continue
            if entry.kind is EntryKind.RECURRENCE:
                recurrence = self._by_id[entry.grant].recurrence
                limit = _ZERO if recurrence is None else recurrence.max_rollover
                forfeited = max(_ZERO, EXACT.subtract(held, limit))
                if forfeited:
                    gone = EXACT.minus(forfeited)
                    expiry = CreditEntry(entry.at, EntryKind.EXPIRY, entry.grant, gone, "rollover")
                    out.append(expiry)
                    held = EXACT.subtract(held, forfeited)
            balances[entry.grant] = EXACT.add(held, entry.amount)
            out.append(entry)
        return out

    def balances(self, at: datetime) -> dict[str, Decimal]:
        """Each grant's balance at ``at`` (after every entry at that instant)."""
        balances = {grant.id: _ZERO for grant in self.grants}
        for entry in self.statement(at):
            balances[entry.grant] = EXACT.add(balances[entry.grant], entry.amount)
        return balances

    def balance(self, at: datetime, unit: str) -> Decimal:
        """The credit in ``unit`` available at ``at``."""
        held = self.balances(at)
        return exact_sum(held[g.id] for g in self.grants if g.unit == unit and g.available(at))

    def expired(self, until: datetime) -> list[CreditEntry]:
        """Every expiry and forfeited rollover up to ``until``: credit that was not used."""
        return [e for e in self.statement(until) if e.kind is EntryKind.EXPIRY]

    def draw(
        self, amount: Decimal | int | str, unit: str, at: datetime, reference: str = ""
    ) -> tuple[Draw, CreditLedger]:
        """Draw ``amount`` of ``unit`` at ``at`` in draw order; the draw and the new ledger.

        Draws are recorded in time order: a draw before the latest recorded draw is refused,
        because it would change the balances later draws were computed from.
        """
        requested = to_decimal(amount, "amount")
        if requested < 0:
            raise InvalidValueError("amount", amount, ">= 0")
        aware(at, "at")
        last = max((e.at for e in self.recorded if e.kind is EntryKind.DRAW), default=None)
        if last is not None and at < last:
            raise InvalidValueError("at", at, f"not before the latest draw ({last.isoformat()})")
        held = self.balances(at)
        left = requested
        lines: list[DrawLine] = []
        for grant in draw_order(g for g in self.grants if g.unit == unit and g.available(at)):
            if not left:
                break
            take = min(left, held[grant.id])
            if take > 0:
                lines.append(DrawLine(grant.id, grant.label, take))
                left = EXACT.subtract(left, take)
        entries = tuple(
            CreditEntry(at, EntryKind.DRAW, line.grant, EXACT.minus(line.amount), reference)
            for line in lines
        )
        draw = Draw(at, unit, requested, tuple(lines), reference)
        return draw, CreditLedger(self.customer, self.grants, self.recorded + entries)
