"""Contracts: a customer and the plans it held over time.

A :class:`Contract` names the customer (the id its usage is recorded under), the billing cycle,
the plans by name, and the *phases*: from each phase's ``start`` date on, the customer is on the
phase's plan, until the next phase starts (or the contract ``ends``). Phase dates are local
dates in the billing cycle's time zone; a phase starts at local midnight.

A phase that starts inside a billing period splits it: :meth:`Contract.segments` returns one
:class:`Segment` per plan held during the period, and the invoice bills each with its own plan
(recurring fees prorated by days, usage rated on each side separately). A contract that starts
or ends inside a period likewise bills only the part it covers.

Every plan of a contract must share the contract's currency and billing cycle: a plan change
changes what is billed, not when.

Meters come with the contract when its usage is to be read from a ledger of raw events: embed
them as ``meters`` (or reference a meters file with ``meters_file`` in a contract document, see
:mod:`meterlib.invoicing.documents`). When meters are given, every metered charge must name one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property
from operator import attrgetter
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, model_validator

from meterlib._model import MeterlibModel
from meterlib.errors import InvalidValueError
from meterlib.invoicing.limits import LimitTerm, RateWindowTerm
from meterlib.invoicing.plans import Plan
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period, zone

__all__ = ["Contract", "Party", "Phase", "Segment", "cycle_key"]


_SEGMENTS_KEPT = 1024  # periods whose segments a contract keeps
_cycle_fields = attrgetter(*BillingCycle.model_fields)


def cycle_key(billing: BillingCycle) -> tuple[Any, ...]:
    """The field values of ``billing``: equal for equal cycles, and cheap to hash and compare.

    Billing runs key what they compute once per cycle (a period's bounds) by it: comparing the
    models themselves costs more than the look-up saves.
    """
    found: tuple[Any, ...] = _cycle_fields(billing)
    return found


class Party(MeterlibModel):
    """Who sends or receives an invoice: a name, postal address lines and contact details."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    address: tuple[str, ...] = ()
    """Postal address, one line each."""
    email: str | None = None
    tax_id: str | None = None
    """A VAT or sales-tax registration number, printed on the invoice."""


class Phase(MeterlibModel):
    """From ``start`` (a local date in the billing time zone) on, the customer is on ``plan``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    plan: str = Field(min_length=1)
    """The name of one of the contract's plans."""


@dataclass(frozen=True, slots=True)
class Segment:
    """The part ``[start, end)`` of a billing period during which ``plan`` was held."""

    plan: Plan
    start: datetime
    end: datetime


class Contract(MeterlibModel):
    """A customer, its billing cycle, its plans by name and the phases it held them in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customer: str = Field(min_length=1)
    """The customer's id: the key its usage is recorded and looked up under."""
    billing: BillingCycle
    """The billing cycle; every plan must have the same one."""
    plans: Mapping[str, Plan]
    """The plans the customer held, by name (each plan's ``name`` equals its key)."""
    phases: tuple[Phase, ...]
    """Which plan from which date, ``start`` rising strictly."""
    ends: date | None = None
    """The first local date no longer covered, or ``None`` for an open-ended contract."""
    bill_to: Party | None = None
    """The customer as the invoice addresses it; defaults to the customer id."""
    seller: Party | None = None
    """Who issues the invoices."""
    payment_terms_days: int = Field(default=30, ge=0)
    """Days from an invoice's issue date to its due date."""
    grace_period_days: int = Field(default=0, ge=0)
    """Days after a period's end during which late events still fold into its draft invoice
    (0, as Lago's default: the invoice may be issued as soon as the period ends)."""
    meters: tuple[Meter, ...] = ()
    """How raw events become usage, needed only to read usage from an event ledger."""
    limits: tuple[LimitTerm, ...] = ()
    """Limits negotiated for this customer: each replaces the plans' limits of its meter."""
    rate_windows: tuple[RateWindowTerm, ...] = ()
    """Rate windows for this customer: each replaces the plans' windows of its meter."""

    @model_validator(mode="before")
    @classmethod
    def _plans_inherit(cls, data: Any) -> Any:
        """Give each plan table of a document its key as name and the contract's cycle.

        A plan table that names neither gets its key as ``name`` and, when it gives no
        ``billing``, the contract's billing cycle, so neither is written twice.
        """
        if not isinstance(data, Mapping):
            return data
        billing = data.get("billing")
        plans = data.get("plans")
        if not isinstance(plans, Mapping):
            return data
        filled: dict[Any, Any] = {}
        for key, table in plans.items():
            plan = table
            if isinstance(table, Mapping):
                plan = {"name": key, **table}
                if billing is not None and "billing" not in plan:
                    plan["billing"] = billing
            filled[key] = plan
        return {**data, "plans": filled}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        for key, plan in self.plans.items():
            if plan.name != key:
                problems.append(f"plan {key!r} is named {plan.name!r}; the two must agree")
            if plan.billing != self.billing:
                problems.append(
                    f"plan {key!r} bills on a different cycle from the contract's "
                    "(a plan change may change what is billed, not when)",
                )
        currencies = sorted({plan.currency for plan in self.plans.values()})
        if len(currencies) > 1:
            problems.append(f"all plans must share one currency (got {currencies})")
        if not self.phases:
            problems.append("a contract needs at least one phase")
        for before, after in zip(self.phases, self.phases[1:], strict=False):
            if after.start <= before.start:
                problems.append(
                    f"phase starting {after.start.isoformat()} must start after the phase "
                    f"before it ({before.start.isoformat()})",
                )
        problems.extend(
            f"phase starting {phase.start.isoformat()} names plan {phase.plan!r}, "
            f"which is not among the plans {sorted(self.plans)}"
            for phase in self.phases
            if phase.plan not in self.plans
        )
        if self.ends is not None and self.phases and self.ends <= self.phases[-1].start:
            problems.append(
                f"ends {self.ends.isoformat()} must be after the last phase starts "
                f"({self.phases[-1].start.isoformat()})",
            )
        if self.meters:
            known = {meter.name for meter in self.meters}
            problems.extend(
                f"plan {plan.name!r} charge {charge.name!r} reads meter {charge.meter!r}, "
                f"which is not among the meters {sorted(known)}"
                for plan in self.plans.values()
                for charge in plan.metered
                if charge.meter not in known
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def currency(self) -> str:
        """The currency every plan of the contract bills in."""
        return self.plans[self.phases[0].plan].currency

    @property
    def grace(self) -> timedelta:
        """The grace period for late usage, as a duration."""
        return timedelta(days=self.grace_period_days)

    @cached_property
    def billing_zone(self) -> ZoneInfo:
        """The billing time zone, in which phase dates and invoice dates are local."""
        return zone(self.billing.timezone)

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=self.billing_zone)

    @cached_property
    def _spans(self) -> tuple[tuple[datetime, datetime | None, Plan], ...]:
        """Each phase as ``(start, end or None, plan)`` in aware datetimes."""
        starts = [self._midnight(phase.start) for phase in self.phases]
        ends: list[datetime | None] = [*starts[1:], None]
        if self.ends is not None:
            ends[-1] = self._midnight(self.ends)
        return tuple(
            (start, end, self.plans[phase.plan])
            for start, end, phase in zip(starts, ends, self.phases, strict=True)
        )

    def plan_on(self, day: date) -> Plan | None:
        """The plan held on local date ``day``, or ``None`` outside the contract."""
        moment = self._midnight(day)
        for start, end, plan in self._spans:
            if start <= moment and (end is None or moment < end):
                return plan
        return None

    def segments(self, period: Period) -> tuple[Segment, ...]:
        """The parts of ``period`` held under each plan, in time order.

        A period inside one phase gives one segment equal to the period; a phase change
        inside it gives one segment per side; parts outside the contract give none. Kept per
        period asked (a billing run asks once to plan its queries and once to bill).
        """
        start, end = period.start, period.end
        key = (start, end, start.tzinfo, end.tzinfo, start.fold, end.fold)
        cache = self._segments_asked
        found = cache.get(key)
        if found is None:
            found = self._segments(start, end)
            if len(cache) < _SEGMENTS_KEPT:
                cache[key] = found
        return found

    @cached_property
    def _segments_asked(self) -> dict[tuple[Any, ...], tuple[Segment, ...]]:
        return {}

    def _segments(self, first: datetime, last: datetime) -> tuple[Segment, ...]:
        found = []
        for start, end, plan in self._spans:
            low = max(start, first)
            high = last if end is None else min(end, last)
            if low < high:
                found.append(Segment(plan, low, high))
        return tuple(found)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the contract; a copy with any field updated works out its phases afresh."""
        copy = super().model_copy(update=update, deep=deep)
        if update:
            for kept in ("billing_zone", "_spans", "_segments_asked"):
                copy.__dict__.pop(kept, None)
        return copy

    def period(self, index: int) -> Period:
        """Billing period ``index`` of the contract's cycle."""
        return self.billing.period(index)

    def billing_period(self, period: Period) -> Period:
        """The cycle's own period equal to ``period`` (bounds in the billing time zone).

        Raises :class:`~meterlib.errors.InvalidValueError` for a span that is not one of the
        cycle's periods: proration measures a part against a whole period.
        """
        expected = self.billing.locate(period.start)
        if expected.start != period.start or expected.end != period.end:
            raise InvalidValueError(
                "period",
                period,
                f"a billing period of the contract's cycle, such as {expected}",
            )
        return expected
