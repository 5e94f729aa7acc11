"""Shared fixtures for the issued-documents tests: a metered contract, events, a ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from meterlib.invoicing import Contract, Invoice, LedgerUsage, invoice
from meterlib.ledger import Ledger
from meterlib.periods import Period


def contract(customer: str = "cus_1", **extra: Any) -> Contract:
    """USD 10 a month plus 0.01 a call, 20 % VAT, monthly from 2024-01-01 (UTC)."""
    return Contract.model_validate(
        {
            "customer": customer,
            "billing": {"anchor": "2024-01-01", "cadence": "monthly", "timezone": "UTC"},
            "plans": {
                "api": {
                    "currency": "USD",
                    "fees": [{"name": "platform", "amount": "10"}],
                    "metered": [
                        {
                            "name": "calls",
                            "meter": "calls",
                            "unit": "calls",
                            "price": {"model": "per_unit", "unit_amount": "0.01"},
                        },
                    ],
                    "taxes": [{"name": "VAT", "percent": "20"}],
                },
            },
            "phases": [{"start": "2024-01-01", "plan": "api"}],
            "meters": [{"name": "calls", "type": "call", "aggregation": "sum",
                        "property": "n"}],
            **extra,
        },
    )


def event(
    eid: str, n: int | str, day: int = 10, month: int = 1, customer: str = "cus_1"
) -> dict[str, Any]:
    """A ``call`` event of ``n`` calls on 2024-``month``-``day``."""
    return {
        "id": eid,
        "customer": customer,
        "type": "call",
        "time": f"2024-{month:02d}-{day:02d}T12:00:00+00:00",
        "properties": {"n": str(n)},
    }


def at(month: int, day: int, hour: int = 0) -> datetime:
    """An instant in 2024, UTC."""
    return datetime(2024, month, day, hour, tzinfo=UTC)


def draft(path: Path, con: Contract, period: Period) -> Invoice:
    """The period's invoice with the usage the ledger at ``path`` holds now."""
    with Ledger(path) as ledger:
        return invoice(con, LedgerUsage(ledger, con.meters), period)
