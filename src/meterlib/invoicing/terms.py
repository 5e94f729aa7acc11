"""A plan's terms read once for billing: what the invoicing engine asks of a plan, precomputed.

A billing run bills the same plan for many customers and periods. :func:`plan_terms` reads a
:class:`~meterlib.invoicing.plans.Plan` once into :class:`PlanTerms`: each fee's and metered
charge's version dates (to find the version in force on a day by bisection), the label, unit
and version date every line of it shows, each fee version's amount rounded to the currency,
the discounts in the order they apply (percentages, then fixed amounts), the keys of its taxes,
and the currency's minor unit with the plan's rounding mode. Plans are immutable, so the terms
are kept, per plan object, for the next invoice, as long as the plan lives (the cache holds
the plan weakly and forgets its terms when it goes).

Nothing here decides a figure the engine would not: :meth:`PlanTerms.round` is
:func:`~meterlib.rounding.round_amount` with the currency and mode looked up once (an amount it
cannot round goes to ``round_amount`` itself, which raises the same error), and the version in
force is :func:`~meterlib.schedule.index_in_force`'s answer.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from meterlib._numbers import ROUNDED
from meterlib.invoicing.plans import (
    ALWAYS,
    FixedDiscount,
    MeteredCharge,
    MeteredPriceVersion,
    PercentageDiscount,
    Plan,
    RecurringFee,
    TaxRounding,
    Timing,
)
from meterlib.pricing import MatrixPrice, PerUnitPrice, Price
from meterlib.rounding import RoundingMode, quantum, round_amount
from meterlib.schedule import index_in_force

__all__ = ["ChargeTerms", "FeeTerms", "PlanTerms", "TaxKey", "plan_terms"]

#: A tax as the invoice adds it up: name, percent, the plan's tax rounding and rounding mode.
TaxKey = tuple[str, Decimal, TaxRounding, RoundingMode]

_ZERO = Decimal(0)
_LIMIT = 65_536  # plans kept; the cache starts afresh past it


def _version_date(effective_from: date) -> date | None:
    return None if effective_from == ALWAYS else effective_from


class FeeTerms:
    """A recurring fee: its versions' start dates, amounts (exact, rounded) and dates shown."""

    __slots__ = (
        "always",
        "amounts",
        "dates",
        "label",
        "name",
        "rounded",
        "starts",
        "timing",
        "what",
    )

    def __init__(self, fee: RecurringFee, terms: PlanTerms) -> None:
        """Read ``fee`` with the currency and rounding of ``terms``."""
        self.name: str = fee.name
        self.label: str = fee.label
        self.timing: Timing = fee.timing
        self.what = f"amount of fee {fee.name!r}"
        starts: list[date] = []
        amounts: list[Decimal] = []
        for version in fee.versions:
            starts.append(version.effective_from)
            amounts.append(version.amount)
        self.starts = tuple(starts)
        self.always = len(starts) == 1 and starts[0] == ALWAYS
        self.amounts = tuple(amounts)
        self.rounded = tuple([terms.round(amount) for amount in amounts])
        self.dates = tuple([_version_date(start) for start in starts])

    def index(self, day: date) -> int:
        """The index of the version in force on ``day`` (an error names the fee)."""
        return 0 if self.always else index_in_force(self.starts, day, self.what)


class ChargeTerms:
    """A metered charge: its versions' start dates, prices, unit prices and dates shown."""

    __slots__ = (
        "always",
        "charge",
        "dates",
        "label",
        "matrix",
        "meter",
        "name",
        "prices",
        "starts",
        "unit",
        "unit_prices",
        "versions",
        "what",
    )

    def __init__(self, charge: MeteredCharge) -> None:
        """Read ``charge``."""
        self.charge = charge
        self.name: str = charge.name
        self.meter: str = charge.meter
        self.label: str = charge.label
        self.unit: str = charge.unit
        self.what = f"price of {charge.name!r}"
        self.versions: tuple[MeteredPriceVersion, ...] = charge.versions
        starts: list[date] = []
        prices: list[Price] = []
        matrix: list[bool] = []
        unit_prices: list[Decimal | None] = []
        for version in charge.versions:
            price = version.price
            starts.append(version.effective_from)
            prices.append(price)
            matrix.append(isinstance(price, MatrixPrice))
            unit_prices.append(price.unit_amount if isinstance(price, PerUnitPrice) else None)
        self.starts = tuple(starts)
        self.always = len(starts) == 1 and starts[0] == ALWAYS
        self.prices = tuple(prices)
        self.matrix = tuple(matrix)
        self.unit_prices = tuple(unit_prices)
        self.dates = tuple([_version_date(start) for start in starts])

    def index(self, day: date) -> int:
        """The index of the version in force on ``day`` (an error names the charge)."""
        return 0 if self.always else index_in_force(self.starts, day, self.what)


class PlanTerms:
    """What billing asks of a plan, read once (see the module docstring)."""

    __slots__ = (
        "commitment",
        "currency",
        "discounts",
        "fees",
        "metered",
        "mode",
        "name",
        "quantum",
        "rounding",
        "tax_keys",
        "unit",
        "zero",
    )

    def __init__(self, plan: Plan) -> None:
        """Read ``plan`` (the terms keep no reference to the plan itself)."""
        self.name: str = plan.name
        self.currency: str = plan.currency
        self.mode: RoundingMode = plan.rounding
        self.rounding: str = plan.rounding.decimal_rounding
        self.quantum: Decimal = quantum(plan.currency)
        self.zero: Decimal = round_amount(_ZERO, plan.currency)
        self.unit: str = plan.period_unit
        self.fees = tuple(FeeTerms(fee, self) for fee in plan.fees)
        self.metered = tuple(ChargeTerms(charge) for charge in plan.metered)
        ordered: list[PercentageDiscount | FixedDiscount] = [
            d for d in plan.discounts if isinstance(d, PercentageDiscount)
        ]
        ordered += [d for d in plan.discounts if isinstance(d, FixedDiscount)]
        self.discounts = tuple(ordered)
        self.tax_keys: tuple[TaxKey, ...] = tuple(
            (tax.name, tax.percent, plan.tax_rounding, plan.rounding) for tax in plan.taxes
        )
        self.commitment: Decimal | None = plan.commitment

    def round(self, amount: Decimal) -> Decimal:
        """``round_amount(amount, currency, mode)`` with the plan's currency and mode."""
        if amount.is_finite():
            try:
                return amount.quantize(self.quantum, rounding=self.rounding, context=ROUNDED)
            except ArithmeticError:
                pass
        return round_amount(amount, self.currency, self.mode)  # raises the error it names


_CACHE: dict[int, tuple[weakref.ref[Plan], PlanTerms]] = {}


def _forget(key: int) -> Callable[[weakref.ref[Plan]], None]:
    def forget(_: weakref.ref[Plan]) -> None:
        _CACHE.pop(key, None)

    return forget


def plan_terms(plan: Plan) -> PlanTerms:
    """The terms of ``plan``, read once per plan object (see the module docstring)."""
    key = id(plan)
    found = _CACHE.get(key)
    if found is not None and found[0]() is plan:
        return found[1]
    terms = PlanTerms(plan)
    if len(_CACHE) >= _LIMIT:
        _CACHE.clear()
    _CACHE[key] = (weakref.ref(plan, _forget(key)), terms)
    return terms
