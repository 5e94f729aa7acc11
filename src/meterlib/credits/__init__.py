"""Prepaid credits and entitlements: grants, the credit ledger, limits, rate windows, ``check``.

Modules: :mod:`~meterlib.credits.grants` (grants, draw order, the per-customer credit ledger),
:mod:`~meterlib.credits.entitlements` (limits per usage period, rate windows, the usage index
and :func:`check`, from an index or an accumulator), :mod:`~meterlib.credits.terms` (the limits
a contract declares, in force on a day), :mod:`~meterlib.credits.invoices` (credit draws as
invoice lines), :mod:`~meterlib.credits.thresholds` and
:mod:`~meterlib.credits.part_invoices` (billing thresholds and their invoice drafts). The usage
audit is :mod:`meterlib.backbill.audit`; the SQLite store of credit entries and the issuing of
threshold invoices are in :mod:`meterlib.ledger.credits`.
"""

from __future__ import annotations

from meterlib.credits.entitlements import (
    Check,
    Limit,
    LimitKind,
    RateWindow,
    Series,
    UsageIndex,
    check,
)
from meterlib.credits.grants import (
    CreditEntry,
    CreditLedger,
    Draw,
    DrawLine,
    EntryKind,
    Grant,
    Recurrence,
    draw_order,
)

__all__ = [
    "Check",
    "CreditEntry",
    "CreditLedger",
    "Draw",
    "DrawLine",
    "EntryKind",
    "Grant",
    "Limit",
    "LimitKind",
    "RateWindow",
    "Recurrence",
    "Series",
    "UsageIndex",
    "check",
    "draw_order",
]
