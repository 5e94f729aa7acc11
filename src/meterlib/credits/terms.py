"""The limits and rate windows a contract declares, as values ``check`` and the audit take.

:func:`limits_on` reads a :class:`~meterlib.invoicing.Contract`'s terms in force on a day: the
limits and rate windows of the plan of that day's phase, where the contract's own terms
replace the plan's for the same meter (a limit negotiated for one customer overrides its plan's,
as an OpenMeter entitlement granted to a subject overrides its plan's default). A limit without
a ``usage_period`` resets with the billing cycle of the plan or contract that declares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from meterlib.credits.entitlements import Limit, LimitKind, RateWindow
from meterlib.invoicing.contracts import Contract
from meterlib.invoicing.limits import LimitTerm, RateWindowTerm
from meterlib.periods import BillingCycle

__all__ = ["LimitsInForce", "limit_of", "limits_on", "rate_window_of"]


@dataclass(frozen=True, slots=True)
class LimitsInForce:
    """The limits and rate windows in force on one day, each for one meter."""

    limits: tuple[Limit, ...]
    rate_windows: tuple[RateWindow, ...]

    def limit(self, meter: str) -> Limit | None:
        """The limit of ``meter`` (the first declared, when several), or ``None``."""
        return next((limit for limit in self.limits if limit.meter == meter), None)

    def rate_window(self, meter: str) -> RateWindow | None:
        """The rate window of ``meter`` (the first declared, when several), or ``None``."""
        return next((window for window in self.rate_windows if window.meter == meter), None)


def limit_of(term: LimitTerm, billing: BillingCycle) -> Limit:
    """The limit a declared term sets (its usage period, else ``billing``)."""
    cycle = term.usage_period if term.usage_period is not None else billing
    return Limit(term.meter, term.amount, cycle, LimitKind(term.kind))


def rate_window_of(term: RateWindowTerm) -> RateWindow:
    """The rate window a declared term sets."""
    return RateWindow(term.meter, term.max_events, timedelta(seconds=term.window_seconds))


def limits_on(contract: Contract, day: date) -> LimitsInForce:
    """The limits and rate windows in force on ``day`` (see the module docstring).

    A day outside every phase has only the contract's own terms.
    """
    plan = contract.plan_on(day)
    own = {term.meter for term in contract.limits}
    own_windows = {term.meter for term in contract.rate_windows}
    limits = [limit_of(term, contract.billing) for term in contract.limits]
    windows = [rate_window_of(term) for term in contract.rate_windows]
    if plan is not None:
        limits += [limit_of(t, plan.billing) for t in plan.limits if t.meter not in own]
        windows += [rate_window_of(t) for t in plan.rate_windows if t.meter not in own_windows]
    return LimitsInForce(tuple(limits), tuple(windows))
