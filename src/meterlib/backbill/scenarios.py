"""The same terms against several usage estimates (and interest rates), side by side.

When usage is only estimated, a claim is usually shown as a range: a low, a base and a high
estimate run against the same terms, billed amounts and valuation date. The interest rate can
be varied the same way. :func:`compare` runs every combination through
:func:`meterlib.backbill.engine.rebill` and returns a
:class:`~meterlib.backbill.statement.ScenarioComparison`, one column per combination.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT, to_decimal
from meterlib.backbill.engine import BilledPeriod, rebill
from meterlib.backbill.interest import InterestPolicy
from meterlib.backbill.statement import ScenarioComparison
from meterlib.backbill.terms import RebillBasis
from meterlib.backbill.usage import UsageRecord
from meterlib.errors import InvalidValueError

__all__ = ["compare", "rate_label"]


def rate_label(rate: Decimal) -> str:
    """``Decimal('0.09')`` -> ``'9%'`` (locale-free)."""
    return f"{EXACT.multiply(rate, Decimal(100)).normalize(EXACT):f}%"


def compare(
    basis: RebillBasis,
    billed: Iterable[BilledPeriod],
    usage: Mapping[str, Iterable[UsageRecord]],
    *,
    as_of: date,
    due_days: int,
    interest: InterestPolicy | None = None,
    rates: Sequence[Decimal | int | str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    **options: Any,
) -> ScenarioComparison:
    """One statement per usage scenario (and per rate in ``rates``), in the given order.

    ``usage`` maps each scenario's name to its usage records. With ``rates``, each scenario is
    valued at each rate with ``interest``'s method and day count, and named ``'base @ 9%'``.
    ``options`` are passed to :func:`~meterlib.backbill.engine.rebill` unchanged.
    """
    if not usage:
        raise InvalidValueError("usage", usage, "at least one scenario")
    periods = list(billed)
    policy = InterestPolicy() if interest is None else interest
    notes = descriptions or {}
    variants: list[tuple[str, InterestPolicy]] = [("", policy)]
    if rates is not None:
        values = [to_decimal(rate, "rates") for rate in rates]
        if not values:
            raise InvalidValueError("rates", rates, "at least one rate")
        variants = [(f" @ {rate_label(v)}", policy.with_rates(v)) for v in values]
    statements = []
    described = []
    for name, records in usage.items():
        kept = list(records)
        for suffix, variant in variants:
            description = notes.get(name, "")
            statements.append(
                rebill(
                    basis,
                    periods,
                    kept,
                    as_of=as_of,
                    due_days=due_days,
                    interest=variant,
                    scenario=name + suffix,
                    description=description,
                    **options,
                ),
            )
            described.append(description)
    return ScenarioComparison(tuple(statements), tuple(described))
