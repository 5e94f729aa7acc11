"""Limits a plan or a contract declares: a meter's allowance per usage period, rate windows.

These are the terms as a document writes them (a plan's or a contract's ``limits`` and
``rate_windows``); :func:`meterlib.credits.terms.limits_on` turns the terms in force on a day
into the :class:`~meterlib.credits.Limit` and :class:`~meterlib.credits.RateWindow` values that
:func:`~meterlib.credits.check` and the usage audit take.

A limit allows ``amount`` of ``meter`` per usage period: ``usage_period`` when given (a cadence,
an anchor and a time zone: OpenMeter's ``usagePeriod``), else the billing cycle of the plan or
contract that declares it, so usage resets at each period start. ``kind`` is ``"hard"`` (usage
above the limit is a breach and access is refused once it is reached) or ``"soft"`` (usage above
is billed as overage). A rate window allows at most ``max_events`` events of ``meter`` in any
window of ``window_seconds`` seconds (always hard).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from meterlib._model import MeterlibModel
from meterlib._numbers import NonNegativeAmount
from meterlib.periods import BillingCycle

__all__ = ["LimitTerm", "RateWindowTerm"]


class LimitTerm(MeterlibModel):
    """At most ``amount`` of ``meter`` per usage period (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meter: str = Field(min_length=1)
    """The meter limited (a meter's name, as a metered charge names it)."""
    amount: NonNegativeAmount
    """What one usage period allows."""
    kind: Literal["soft", "hard"] = "hard"
    """``hard``: usage above is a breach; ``soft``: usage above is billed as overage."""
    usage_period: BillingCycle | None = None
    """When usage resets; ``None``: at each billing period of the plan or contract."""


class RateWindowTerm(MeterlibModel):
    """At most ``max_events`` events of ``meter`` in any window of ``window_seconds``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meter: str = Field(min_length=1)
    """The meter whose events are counted."""
    max_events: Annotated[int, Field(strict=True, ge=0)]
    """How many events a window may hold."""
    window_seconds: Annotated[int, Field(strict=True, gt=0)]
    """The window's length in seconds (900 for 15 minutes)."""
