"""The invoice: an immutable value that adds up to the cent.

An :class:`Invoice` is made of :class:`InvoiceLine` rows (recurring fees, usage, a commitment
true-up), the :class:`DiscountLine` and :class:`TaxLine` rows applied to them, and four totals.
Every figure a customer sees is in whole minor units, and the totals are sums of those figures,
exactly::

    subtotal       == sum(line.rounded for line in lines)
    discount_total == sum(d.amount for d in discounts) == sum(line.discount for line in lines)
    tax_total      == sum(t.amount for t in taxes)
    total          == subtotal - discount_total + tax_total

The values are frozen slotted dataclasses rather than pydantic models: an invoice is built from
parts that were validated when the contract was loaded, and invoicing runs in batches of many
thousands. :meth:`Invoice.check` verifies the invariants (the JSON reader calls it).

``str`` and ``repr`` are locale-free; display goes through the renderers with an explicit
locale. In Jupyter an invoice shows as an HTML table (``_repr_html_``, in ``en_US``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from meterlib._numbers import EXACT, ROUNDED, exact_sum
from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Party
from meterlib.invoicing.plans import TaxRounding, Timing
from meterlib.invoicing.refs import CorrectionRef
from meterlib.periods import Period
from meterlib.pricing import Charge, ChargeLine
from meterlib.rounding import quantum

__all__ = [
    "LINE_RECORD_FIELDS",
    "DiscountLine",
    "Invoice",
    "InvoiceLine",
    "LineKind",
    "TaxLine",
    "new_invoice",
    "new_invoice_line",
]

#: The fields of :meth:`Invoice.to_records`, in order (the columns of ``to_pandas()``).
LINE_RECORD_FIELDS = (
    "number",
    "customer",
    "currency",
    "kind",
    "charge",
    "description",
    "plan",
    "start",
    "end",
    "quantity",
    "unit",
    "unit_price",
    "price_version",
    "amount",
    "rounded",
    "discount",
    "net",
)

_ZERO = Decimal(0)


class LineKind(StrEnum):
    """What an invoice line bills."""

    FEE = "fee"
    """A recurring fee, possibly prorated."""
    USAGE = "usage"
    """A metered charge: a meter's usage rated by a price."""
    COMMITMENT = "commitment"
    """The true-up of a minimum commitment the usage charges fell short of."""
    CORRECTION = "correction"
    """A correction of an earlier issued invoice's line (late usage billed on the next
    invoice); signed, never discounted nor taxed again (a tax correction is its own line)."""
    CREDIT = "credit"
    """A draw on a prepaid credit grant (:mod:`meterlib.credits.invoices`): ``charge`` is the
    grant's id, ``quantity`` what was drawn (money, or units of a meter) and ``rounded`` the
    value, zero or negative; never discounted."""


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One billed item: what, for which span, how much, at which price, for what amount."""

    kind: LineKind
    charge: str
    """The name of the plan's charge (``"commitment"`` for a true-up)."""
    description: str
    """What the line says (the charge's description, or its name)."""
    plan: str
    """The plan the line was billed under."""
    start: datetime
    """Start of the span billed (the period's, or a plan change's, in the billing zone)."""
    end: datetime
    """End of the span billed (exclusive)."""
    quantity: Decimal
    """Usage for a usage line; 1 (one period) for a fee or a true-up."""
    unit: str
    """What ``quantity`` counts: the charge's unit, or the period (``"month"``)."""
    unit_price: Decimal | None
    """The price of one unit where one price applies (a fee, a per-unit price), else ``None``."""
    price_version: date | None
    """``effective_from`` of the price version used; ``None`` for an unversioned charge."""
    timing: Timing | None
    """In advance or in arrears, for a fee; ``None`` for usage and true-ups."""
    proration: tuple[int, int] | None
    """``(days billed, days in the period)`` for a prorated fee or commitment, else ``None``."""
    rating: Charge | None
    """How the amount was reached, row by row: the price's tiers for a usage line, the
    commitment less the usage charges for a true-up; ``None`` for a fee."""
    amount: Decimal
    """The exact amount. A prorated fee's exact amount (such as 49 × 14/31) has no finite
    decimal, so for those it is the exact fraction rounded once, and equals ``rounded``."""
    rounded: Decimal
    """``amount`` rounded to minor units: what the customer is billed for the line."""
    discount: Decimal
    """The sum of the discounts taken off this line (whole minor units, never above rounded)."""
    corrects: CorrectionRef | None = None
    """For a correction line, the invoice and line it corrects; else ``None``."""

    @property
    def net(self) -> Decimal:
        """``rounded - discount``: the line's amount after discounts, which taxes apply to."""
        return EXACT.subtract(self.rounded, self.discount)

    @property
    def tiers(self) -> tuple[ChargeLine, ...]:
        """The breakdown (one row per tier touched, or the true-up's two rows); empty for fees."""
        return () if self.rating is None else self.rating.lines

    @property
    def billed_on(self) -> date:
        """The line's date: its span's first day when billed in advance, else its end date."""
        moment = self.start if self.timing is Timing.ADVANCE else self.end
        return moment.date()

    @property
    def period(self) -> Period:
        """The span billed, as a period."""
        return Period(self.start, self.end)


@dataclass(frozen=True, slots=True)
class DiscountLine:
    """One discount as applied: the plan's term and how much it took off in total."""

    name: str
    kind: Literal["percentage", "fixed"]
    value: Decimal
    """The percentage, or the fixed amount per whole period, as the plan gives it."""
    applies_to: tuple[str, ...] | None
    """The charges it applies to; ``None`` for all fees and usage."""
    plan: str
    amount: Decimal
    """What it took off, in whole minor units (the sum of its parts on each line)."""


@dataclass(frozen=True, slots=True)
class TaxLine:
    """One tax as applied to the lines of the plans that levy it."""

    name: str
    percent: Decimal
    rounding: TaxRounding
    base: Decimal
    """The sum of the taxed lines' amounts after discounts."""
    amount: Decimal
    """The tax, rounded per line or once, as ``rounding`` says."""


@dataclass(frozen=True, slots=True)
class Invoice:
    """A customer's invoice for one billing period; see the module docstring."""

    number: str
    customer: str
    currency: str
    timezone: str
    """The billing time zone: the zone of every date and time on the invoice."""
    period: Period
    issued_on: date
    """The local date the period ends on (the invoice is issued when the period closes)."""
    due_on: date
    bill_to: Party | None
    seller: Party | None
    lines: tuple[InvoiceLine, ...]
    discounts: tuple[DiscountLine, ...]
    taxes: tuple[TaxLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal

    def check(self) -> None:
        """Raise :class:`~meterlib.errors.InvalidValueError` unless the invoice adds up.

        Checks the identities of the module docstring, that every figure is in whole minor
        units, and that no line is discounted below zero.
        """
        unit = quantum(self.currency)
        add = EXACT.add

        def whole(field: str, value: Decimal) -> None:
            if value.quantize(unit, context=ROUNDED) != value:
                raise InvalidValueError(field, value, f"whole minor units of {self.currency}")

        def equal(field: str, value: Decimal, expected: Decimal, rule: str) -> None:
            if value != expected:
                raise InvalidValueError(field, value, f"{rule} = {expected}")

        for index, line in enumerate(self.lines):
            whole(f"lines[{index}].rounded", line.rounded)
            whole(f"lines[{index}].discount", line.discount)
            if line.kind is LineKind.CORRECTION:
                if line.discount != 0 or line.corrects is None:
                    raise InvalidValueError(
                        f"lines[{index}]", line.charge, "a correction naming what it corrects, "
                        "without discount",
                    )
            elif line.kind is LineKind.CREDIT:
                if line.discount != 0 or line.rounded > 0 or not line.charge:
                    raise InvalidValueError(
                        f"lines[{index}]", line.rounded, "a credit draw naming its grant, "
                        "zero or negative, without discount",
                    )
            elif not _ZERO <= line.discount <= line.rounded:
                raise InvalidValueError(
                    f"lines[{index}].discount", line.discount, f"between 0 and {line.rounded}"
                )
        for index, tax in enumerate(self.taxes):
            whole(f"taxes[{index}].amount", tax.amount)
        for index, discount in enumerate(self.discounts):
            whole(f"discounts[{index}].amount", discount.amount)
        subtotal = exact_sum(line.rounded for line in self.lines)
        equal("subtotal", self.subtotal, subtotal, "the sum of the lines")
        discounts = exact_sum(discount.amount for discount in self.discounts)
        equal("discount_total", self.discount_total, discounts, "the sum of the discounts")
        taken = exact_sum(line.discount for line in self.lines)
        equal("discount_total", self.discount_total, taken, "the sum of the lines' discounts")
        taxes = exact_sum(tax.amount for tax in self.taxes)
        equal("tax_total", self.tax_total, taxes, "the sum of the taxes")
        total = add(EXACT.subtract(self.subtotal, self.discount_total), self.tax_total)
        equal("total", self.total, total, "subtotal - discount_total + tax_total")

    def to_records(self) -> list[dict[str, Any]]:
        """One flat mapping per line with real values, for analysis.

        Figures are exact ``Decimal`` (``rounded`` is what the customer is billed for the line,
        ``net`` after discounts), ``start``/``end`` are ``datetime`` in the billing zone,
        ``price_version`` a ``date``; each record repeats the invoice's number, customer and
        currency, so the records of many invoices concatenate into one table. The lines'
        ``rounded`` sum to ``subtotal``. ``invoice_to_dict`` stays the JSON form (text figures).
        """
        return [
            {
                "number": self.number,
                "customer": self.customer,
                "currency": self.currency,
                "kind": line.kind.value,
                "charge": line.charge,
                "description": line.description,
                "plan": line.plan,
                "start": line.start,
                "end": line.end,
                "quantity": line.quantity,
                "unit": line.unit,
                "unit_price": line.unit_price,
                "price_version": line.price_version,
                "amount": line.amount,
                "rounded": line.rounded,
                "discount": line.discount,
                "net": line.net,
            }
            for line in self.lines
        ]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``meterlib[pandas]``)."""
        from meterlib.frames import records_to_pandas  # noqa: PLC0415

        return records_to_pandas(self.to_records(), LINE_RECORD_FIELDS)

    def __str__(self) -> str:
        """Locale-free one-line summary."""
        return (
            f"invoice {self.number} for {self.customer}, {self.period.label()}: "
            f"{self.total} {self.currency}"
        )

    def _repr_html_(self) -> str:
        """Show as an HTML table in Jupyter (``en_US``; use the renderers for other locales)."""
        from meterlib.render.html import invoice_fragment  # noqa: PLC0415

        return invoice_fragment(self)


# Fast construction, as in :mod:`meterlib.pricing.charge`: a frozen dataclass's generated
# ``__init__`` stores each field through ``object.__setattr__``; a billing run builds an invoice
# and its lines by the ten thousand. Each builder fills an instance of a twin class with the
# same slots (the same memory layout) and no frozen ``__setattr__``, then makes it an instance of
# the frozen class by ``__class__`` assignment. The result is an ordinary frozen instance; the
# builders skip no check, because the generated ``__init__`` makes none either.
# tests/test_invoice_builders.py checks that each gives what the constructor gives.


class _LineSlots:
    """An :class:`InvoiceLine` under construction: the same slots, assignable."""

    __slots__ = InvoiceLine.__slots__


class _InvoiceSlots:
    """An :class:`Invoice` under construction: the same slots, assignable."""

    __slots__ = Invoice.__slots__


_new = object.__new__
_LINE_CLASS: Any = InvoiceLine
_INVOICE_CLASS: Any = Invoice


def new_invoice_line(  # noqa: PLR0917  (positional like the dataclass's own __init__)
    kind: LineKind,
    charge: str,
    description: str,
    plan: str,
    start: datetime,
    end: datetime,
    quantity: Decimal,
    unit: str,
    unit_price: Decimal | None,
    price_version: date | None,
    timing: Timing | None,
    proration: tuple[int, int] | None,
    rating: Charge | None,
    amount: Decimal,
    rounded: Decimal,
    discount: Decimal,
    corrects: CorrectionRef | None = None,
) -> InvoiceLine:
    """Build an :class:`InvoiceLine` as its constructor would, faster (the invoicing hot path)."""
    line: Any = _new(_LineSlots)
    line.kind = kind
    line.charge = charge
    line.description = description
    line.plan = plan
    line.start = start
    line.end = end
    line.quantity = quantity
    line.unit = unit
    line.unit_price = unit_price
    line.price_version = price_version
    line.timing = timing
    line.proration = proration
    line.rating = rating
    line.amount = amount
    line.rounded = rounded
    line.discount = discount
    line.corrects = corrects
    line.__class__ = _LINE_CLASS
    built: InvoiceLine = line
    return built


def new_invoice(  # noqa: PLR0917  (positional like the dataclass's own __init__)
    number: str,
    customer: str,
    currency: str,
    timezone: str,
    period: Period,
    issued_on: date,
    due_on: date,
    bill_to: Party | None,
    seller: Party | None,
    lines: tuple[InvoiceLine, ...],
    discounts: tuple[DiscountLine, ...],
    taxes: tuple[TaxLine, ...],
    subtotal: Decimal,
    discount_total: Decimal,
    tax_total: Decimal,
    total: Decimal,
) -> Invoice:
    """Build an :class:`Invoice` as its constructor would, faster (the invoicing hot path)."""
    bill: Any = _new(_InvoiceSlots)
    bill.number = number
    bill.customer = customer
    bill.currency = currency
    bill.timezone = timezone
    bill.period = period
    bill.issued_on = issued_on
    bill.due_on = due_on
    bill.bill_to = bill_to
    bill.seller = seller
    bill.lines = lines
    bill.discounts = discounts
    bill.taxes = taxes
    bill.subtotal = subtotal
    bill.discount_total = discount_total
    bill.tax_total = tax_total
    bill.total = total
    bill.__class__ = _INVOICE_CLASS
    built: Invoice = bill
    return built
