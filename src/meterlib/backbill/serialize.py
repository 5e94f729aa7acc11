"""Back-billing statements as data for programs: JSON-ready dictionaries and JSON text.

Locale-free and exact: every amount is decimal text (``"6126.00"``), every date ISO 8601.
Renderings for people (text, HTML, CSV) live in :mod:`meterlib.render`.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from meterlib.backbill.statement import (
    AdjustmentDocument,
    ScenarioComparison,
    Statement,
    StatementLine,
)
from meterlib.pricing import ChargeLine

__all__ = ["comparison_to_dict", "statement_to_dict", "statement_to_json"]


def _plain(value: Any) -> Any:
    """JSON-ready: decimals as plain text, dates ISO, tuples as lists."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _charge_line(line: ChargeLine) -> dict[str, Any]:
    return {
        "description": line.description,
        "tier": line.tier,
        "quantity": _plain(line.quantity),
        "unit_amount": _plain(line.unit_amount),
        "flat_amount": _plain(line.flat_amount),
        "amount": _plain(line.amount),
    }


def _document(doc: AdjustmentDocument) -> dict[str, Any]:
    return {
        "kind": doc.kind,
        "number": doc.number,
        "issue_date": doc.issue_date.isoformat(),
        "corrects": doc.corrects,
        "period": doc.period,
        "currency": doc.currency,
        "lines": [{"description": x.description, "amount": _plain(x.amount)} for x in doc.lines],
        "total": _plain(doc.total),
    }


def _line(line: StatementLine) -> dict[str, Any]:
    record = {key: _plain(value) for key, value in line.to_record().items()}
    record["rebilled_exact"] = _plain(line.rebilled_exact)
    record["breakdown"] = [_charge_line(x) for x in line.breakdown]
    return record


def statement_to_dict(statement: Statement) -> dict[str, Any]:
    """Everything on the statement as JSON-ready data (amounts and dates as strings)."""
    return {
        "title": statement.title,
        "customer": statement.customer,
        "currency": statement.currency,
        "as_of": statement.as_of.isoformat(),
        "scenario": statement.scenario,
        "description": statement.description,
        "basis": statement.basis,
        "interest_policy": statement.interest_policy,
        "due_days": statement.due_days,
        "lookback_years": statement.lookback_years,
        "cutoff": None if statement.cutoff is None else statement.cutoff.isoformat(),
        "unit": statement.unit,
        "periods": [_line(line) for line in statement.lines],
        "totals": {key: _plain(value) for key, value in statement.totals.to_record().items()},
        "documents": [_document(doc) for doc in statement.documents],
        "problems": list(statement.problems),
    }


def comparison_to_dict(comparison: ScenarioComparison) -> list[dict[str, Any]]:
    """The scenario comparison as JSON-ready rows."""
    return [
        {key: _plain(value) for key, value in row.items()} for row in comparison.to_records()
    ]


def statement_to_json(
    statement: Statement, comparison: ScenarioComparison | None = None
) -> str:
    """The statement as indented JSON.

    With a comparison: ``{"statement": ..., "scenarios": [...]}``.
    """
    data: dict[str, Any] = statement_to_dict(statement)
    if comparison is not None:
        data = {"statement": data, "scenarios": comparison_to_dict(comparison)}
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
