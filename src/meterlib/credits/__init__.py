"""Prepaid credits and entitlements: grants, the credit ledger, limits, rate windows, ``check``.

Modules: :mod:`~meterlib.credits.grants` (grants, draw order, the per-customer credit ledger),
:mod:`~meterlib.credits.entitlements` (limits per usage period, rate windows, the usage index
and :func:`check`). The usage audit is :mod:`meterlib.backbill.audit`; the SQLite store of
credit entries is :mod:`meterlib.ledger.credits`.
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
