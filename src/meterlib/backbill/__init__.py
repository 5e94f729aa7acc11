"""Back-billing: re-rate past periods, price what is owed with interest, within a lookback.

>>> from datetime import date
>>> from meterlib.backbill import BilledPeriod, InterestPolicy, PriceSchedule, UsageRecord, rebill
>>> from meterlib.pricing import parse_price
>>> basis = PriceSchedule.single(parse_price({"model": "per_unit", "unit_amount": "0.01"}))
>>> period = BilledPeriod(date(2024, 1, 1), date(2024, 2, 1), "10.00")
>>> usage = [UsageRecord(date(2024, 1, 1), date(2024, 2, 1), "2000")]
>>> statement = rebill(basis, [period], usage, as_of=date(2024, 12, 31), due_days=30,
...                    interest=InterestPolicy.simple("0.09"))
>>> statement.totals.delta, statement.totals.interest
(Decimal('10.00'), Decimal('0.75'))

Modules: :mod:`~meterlib.backbill.terms` (what re-bills a period), :mod:`~.usage` (usage
records from a usage table or estimates), :mod:`~.interest` (day counts and accrual),
:mod:`~.engine` (the statement), :mod:`~.scenarios` (side by side), :mod:`~.case` (TOML case
files), :mod:`~.serialize` (JSON). Text, HTML, CSV and charts are in :mod:`meterlib.render`.
"""

from __future__ import annotations

from meterlib.backbill.case import BackbillCase, Scenario, load_case, parse_case
from meterlib.backbill.engine import BilledPeriod, Payment, lookback_cutoff, rebill
from meterlib.backbill.interest import (
    Compounding,
    DayCount,
    InterestMethod,
    InterestPolicy,
    RateSchedule,
    RateVersion,
)
from meterlib.backbill.scenarios import compare
from meterlib.backbill.statement import (
    AdjustmentDocument,
    DocumentLine,
    DocumentNumbering,
    ScenarioComparison,
    Statement,
    StatementLine,
    Totals,
)
from meterlib.backbill.terms import DateSpan, PriceSchedule, PriceVersion, RatedPeriod, RebillBasis
from meterlib.backbill.usage import UsageRecord, usage_by_start, usage_from, usage_from_table

__all__ = [
    "AdjustmentDocument",
    "BackbillCase",
    "BilledPeriod",
    "Compounding",
    "DateSpan",
    "DayCount",
    "DocumentLine",
    "DocumentNumbering",
    "InterestMethod",
    "InterestPolicy",
    "Payment",
    "PriceSchedule",
    "PriceVersion",
    "RateSchedule",
    "RateVersion",
    "RatedPeriod",
    "RebillBasis",
    "Scenario",
    "ScenarioComparison",
    "Statement",
    "StatementLine",
    "Totals",
    "UsageRecord",
    "compare",
    "load_case",
    "lookback_cutoff",
    "parse_case",
    "rebill",
    "usage_by_start",
    "usage_from",
    "usage_from_table",
]
