"""Plans: what a customer pays each billing period, as frozen pydantic models.

A :class:`Plan` holds a currency and a billing cycle, and the terms billed every period:

- **recurring fees** (:class:`RecurringFee`): a fixed amount per period, billed *in advance*
  (the default) or *in arrears*. Either way the fee for period P is on P's invoice (see
  :mod:`meterlib.invoicing.engine` for the convention);
- **metered charges** (:class:`MeteredCharge`): a meter's usage in the period, rated by a
  :mod:`meterlib.pricing` price;
- a **minimum commitment** per period: when the period's usage lines (rounded, before
  discounts) come to less, a true-up line bills the shortfall;
- **discounts** (:class:`PercentageDiscount`, :class:`FixedDiscount`) on the whole invoice or
  on chosen charges, applied before tax and never below zero;
- **tax rates** (:class:`TaxRate`), rounded per line or once per invoice (:class:`TaxRounding`);
- **limits** and **rate windows** (:mod:`meterlib.invoicing.limits`): what the plan allows of a
  meter per usage period, and how many events per window; they do not change what is billed.

Prices change on dates: a fee or a metered charge holds *versions*, each with an
``effective_from`` date. The version in force on the day a (part-)period starts prices it, and
the invoice line records which version that was. A charge written with a single ``amount`` or
``price`` has one version, in force since :data:`ALWAYS`; lines priced by it record no version.

In documents (TOML or JSON), a metered charge's price may leave out ``currency``: it takes the
plan's. A price that names a different currency is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator

from meterlib._model import MeterlibModel
from meterlib._numbers import NonNegativeAmount
from meterlib.currency import CurrencyCode
from meterlib.errors import InvalidValueError
from meterlib.invoicing.limits import LimitTerm, RateWindowTerm
from meterlib.periods import BillingCycle, Cadence
from meterlib.pricing import Price
from meterlib.rounding import RoundingMode
from meterlib.schedule import check_schedule

__all__ = [
    "ALWAYS",
    "Discount",
    "FeeVersion",
    "FixedDiscount",
    "MeteredCharge",
    "MeteredPriceVersion",
    "PercentageDiscount",
    "Plan",
    "RecurringFee",
    "TaxRate",
    "TaxRounding",
    "Timing",
]

#: ``effective_from`` of the single version of a charge written without versions.
ALWAYS = date.min

_HUNDRED = Decimal(100)

#: What one period of each cadence is called on an invoice line (the fee's unit).
CADENCE_UNIT: Mapping[Cadence, str] = {
    Cadence.WEEKLY: "week",
    Cadence.MONTHLY: "month",
    Cadence.QUARTERLY: "quarter",
    Cadence.YEARLY: "year",
}


class Timing(StrEnum):
    """When a recurring fee is billed relative to the period it pays for."""

    ADVANCE = "advance"
    """Billed for the period that starts: the line is dated at the start of its span."""
    ARREARS = "arrears"
    """Billed for the period that ends: the line is dated at the end of its span."""


class TaxRounding(StrEnum):
    """Where a tax is rounded to minor units."""

    PER_LINE = "per_line"
    """Each line's tax is rounded, and the tax is the sum of the rounded line taxes."""
    PER_INVOICE = "per_invoice"
    """The tax is computed once on the sum of the taxed lines and rounded once."""


class _Model(MeterlibModel):
    """Frozen, strict about unknown fields: a misspelt term must not be silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _single_version(data: Any, single: str) -> Any:
    """Rewrite ``{single: x, ...}`` as ``{versions: [{effective_from: ALWAYS, single: x}]}``."""
    if isinstance(data, Mapping) and single in data:
        if "versions" in data:
            raise ValueError(f"give either {single!r} or 'versions', not both")
        rest = {key: value for key, value in data.items() if key != single}
        rest["versions"] = ({"effective_from": ALWAYS, single: data[single]},)
        return rest
    return data


def _rising(versions: tuple[Any, ...]) -> None:
    """Refuse an empty schedule or dates that do not rise strictly (a pydantic error)."""
    try:
        check_schedule(versions)
    except InvalidValueError as error:
        raise ValueError(str(error)) from None


class FeeVersion(_Model):
    """A recurring fee's amount per period from ``effective_from`` on."""

    effective_from: date
    """The first day whose (part-)periods this amount prices."""
    amount: NonNegativeAmount
    """The fee for one whole period, in the plan's currency."""


class RecurringFee(_Model):
    """A fixed amount billed every period (a platform fee, a seat bundle, a support plan).

    Write ``amount`` for a fee that never changed, or ``versions`` for one that changed on
    dates. A period that the plan covers only in part (a plan change, a contract start or end)
    is billed the fee prorated by days.
    """

    name: str = Field(min_length=1)
    """The charge's name, unique in the plan; discounts name it in ``applies_to``."""
    description: str | None = None
    """What the invoice line says; defaults to ``name``."""
    timing: Timing = Timing.ADVANCE
    """In advance (the default) or in arrears."""
    versions: tuple[FeeVersion, ...]
    """The amounts over time, ``effective_from`` rising strictly."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _single_version(data, "amount")

    @field_validator("versions")
    @classmethod
    def _rising_dates(cls, versions: tuple[FeeVersion, ...]) -> tuple[FeeVersion, ...]:
        _rising(versions)
        return versions

    @property
    def label(self) -> str:
        """What the invoice line says."""
        return self.description or self.name


class MeteredPriceVersion(_Model):
    """A metered charge's price from ``effective_from`` on."""

    effective_from: date
    """The first day whose (part-)periods this price rates."""
    price: Price
    """The price, one of :mod:`meterlib.pricing`'s models."""


class MeteredCharge(_Model):
    """Usage of one meter in the period, rated by a price.

    Write ``price`` for a price that never changed, or ``versions`` for one that changed on
    dates. In a period split by a plan change each side is rated on its own: tiers, allowances
    (``included``) and a price's own ``minimum``/``maximum`` start afresh on each side.
    """

    name: str = Field(min_length=1)
    """The charge's name, unique in the plan; discounts name it in ``applies_to``."""
    meter: str = Field(min_length=1)
    """The name of the meter whose usage the charge rates."""
    description: str | None = None
    """What the invoice line says; defaults to ``name``."""
    unit: str = "units"
    """What one unit of usage is called on the invoice (``"calls"``, ``"GB"``)."""
    versions: tuple[MeteredPriceVersion, ...]
    """The prices over time, ``effective_from`` rising strictly."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return _single_version(data, "price")

    @field_validator("versions")
    @classmethod
    def _rising_dates(
        cls, versions: tuple[MeteredPriceVersion, ...]
    ) -> tuple[MeteredPriceVersion, ...]:
        _rising(versions)
        return versions

    @property
    def label(self) -> str:
        """What the invoice line says."""
        return self.description or self.name


class PercentageDiscount(_Model):
    """A percentage off the charges it applies to.

    It applies to all fees and usage when ``applies_to`` is not given. ``percent`` is written
    as a percentage: ``"10"`` is 10 %.
    """

    kind: Literal["percentage"] = "percentage"
    name: str = Field(min_length=1)
    """What the invoice says, such as ``"Launch offer"``."""
    percent: NonNegativeAmount
    """The share taken off, 0 to 100."""
    applies_to: tuple[str, ...] | None = None
    """Names of the fees and metered charges discounted; ``None`` for all of them."""

    @field_validator("percent")
    @classmethod
    def _at_most_hundred(cls, value: Decimal) -> Decimal:
        if value > _HUNDRED:
            raise ValueError(f"must be <= 100 (got {value})")
        return value


class FixedDiscount(_Model):
    """A fixed amount off per period, shared across the charges it applies to.

    The amount is shared in proportion to the lines' amounts (largest remainder, so the parts
    add up exactly), and never more than they come to. A period the plan covers only in part
    gets the amount prorated by days.
    """

    kind: Literal["fixed"] = "fixed"
    name: str = Field(min_length=1)
    """What the invoice says, such as ``"Partner credit"``."""
    amount: NonNegativeAmount
    """The amount off one whole period, in the plan's currency."""
    applies_to: tuple[str, ...] | None = None
    """Names of the fees and metered charges discounted; ``None`` for all of them."""


#: Either kind of discount, told apart by ``kind``.
Discount = Annotated[PercentageDiscount | FixedDiscount, Field(discriminator="kind")]


class TaxRate(_Model):
    """A tax on every line of the plan, after discounts. ``"19"`` is 19 %."""

    name: str = Field(min_length=1)
    """What the invoice says, such as ``"VAT"``."""
    percent: NonNegativeAmount
    """The rate as a percentage."""


class Plan(_Model):
    """The terms a customer is billed on each period; see the module docstring."""

    name: str = Field(min_length=1)
    """The plan's name; invoice lines say which plan they come from."""
    currency: CurrencyCode
    """Every amount of the plan and of its prices is in this currency."""
    billing: BillingCycle
    """Cadence, anchor and time zone of the billing periods."""
    fees: tuple[RecurringFee, ...] = ()
    """Recurring fees, in the order the invoice lists them."""
    metered: tuple[MeteredCharge, ...] = ()
    """Metered charges, in the order the invoice lists them (after the fees)."""
    commitment: NonNegativeAmount | None = None
    """The least the period's usage lines (rounded, before discounts) may come to.

    A shortfall is billed as a true-up line, not discounted and taxed like any line.
    """
    discounts: tuple[Discount, ...] = ()
    """Discounts: every percentage one in order, then every fixed one in order."""
    taxes: tuple[TaxRate, ...] = ()
    """Taxes on every line after discounts, each computed on the same base (not compounded)."""
    tax_rounding: TaxRounding = TaxRounding.PER_LINE
    """Round each line's tax, or the invoice's tax once."""
    rounding: RoundingMode = RoundingMode.HALF_UP
    """How ties round to minor units, everywhere in this plan's lines, discounts and taxes."""
    limits: tuple[LimitTerm, ...] = ()
    """What the plan allows of a meter per usage period (soft or hard)."""
    rate_windows: tuple[RateWindowTerm, ...] = ()
    """How many events of a meter any window may hold."""

    @model_validator(mode="before")
    @classmethod
    def _prices_take_the_plan_currency(cls, data: Any) -> Any:
        """In a document, a price without ``currency`` is in the plan's currency."""
        if not isinstance(data, Mapping):
            return data
        currency = data.get("currency")
        metered = data.get("metered")
        if not isinstance(currency, str) or not isinstance(metered, list | tuple):
            return data
        charges = []
        for item in metered:
            charge = item
            if isinstance(item, Mapping):
                charge = dict(item)
                if isinstance(charge.get("price"), Mapping):
                    charge["price"] = {"currency": currency, **charge["price"]}
                if isinstance(charge.get("versions"), list | tuple):
                    charge["versions"] = [
                        {**version, "price": {"currency": currency, **version["price"]}}
                        if isinstance(version, Mapping)
                        and isinstance(version.get("price"), Mapping)
                        else version
                        for version in charge["versions"]
                    ]
            charges.append(charge)
        return {**data, "metered": charges}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        names = [fee.name for fee in self.fees] + [charge.name for charge in self.metered]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"charge names must be unique in a plan, but {twice} repeat")
        for charge in self.metered:
            for version in charge.versions:
                if version.price.currency != self.currency:
                    raise ValueError(
                        f"metered charge {charge.name!r}: the price in force from "
                        f"{version.effective_from.isoformat()} is in {version.price.currency}, "
                        f"not the plan's {self.currency}",
                    )
        known = set(names)
        for discount in self.discounts:
            unknown = sorted(set(discount.applies_to or ()) - known)
            if unknown:
                raise ValueError(
                    f"discount {discount.name!r} applies to {unknown}, which the plan does "
                    f"not charge (its charges are {sorted(known)})",
                )
        return self

    @property
    def period_unit(self) -> str:
        """What one billing period is called (``"month"``): a recurring fee's unit."""
        return CADENCE_UNIT[self.billing.cadence]
