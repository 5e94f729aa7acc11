"""What a correction points at: the invoice and line it corrects, and the late events behind it.

Shared by credit and debit notes (:mod:`meterlib.invoicing.notes`) and by the correction lines
an invoice carries when late usage of an earlier period is billed on the next invoice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["CorrectionRef", "LateEvent"]


@dataclass(frozen=True, slots=True)
class LateEvent:
    """An event that arrived after the invoice it counts in was issued."""

    event_id: str
    type: str
    time: datetime
    """When the usage happened."""
    received: datetime
    """When the ledger received it."""


@dataclass(frozen=True, slots=True)
class CorrectionRef:
    """The invoice (and line) a correction line corrects, and the late events that caused it."""

    invoice: str
    line: int | None
    """Index of the corrected line in that invoice; ``None`` for a tax or an added line."""
    kind: str
    """The corrected line's kind (``fee``, ``usage``, ``commitment``) or ``tax``."""
    late_events: tuple[LateEvent, ...] = ()
