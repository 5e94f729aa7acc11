"""Invoicing: one contract, one billing period, usage from a source -> an :class:`Invoice`.

:func:`invoice` bills the period in *segments*, one per plan the contract held during it
(:meth:`Contract.segments`). For each segment, in time order, it adds:

1. one line per **recurring fee**, at the version in force on the segment's first day; a
   segment shorter than the period is billed the fee prorated by whole days
   (:func:`meterlib.proration.prorate`), the exact fraction rounded once;
2. one line per **metered charge**: the usage of the charge's meter in ``[start, end)`` read
   from the usage source, rated by the price version in force on the segment's first day;
3. a **commitment true-up** line when the plan has a minimum commitment and the segment's usage
   lines (rounded, before discounts) come to less; a partial segment's commitment is prorated
   by days like a fee.

Then, still per segment, the plan's **discounts** and **taxes** apply to the segment's lines.

Conventions (where billing systems differ, the choice made here):

- **Fees in advance or in arrears** are both billed on the invoice of the period they pay for;
  the line's ``timing`` and :attr:`InvoiceLine.billed_on` (first day for advance, day after the
  span for arrears) say which. Every invoice is issued when its period closes.
- **Discounts** apply before tax, to fee and usage lines (all of them, or those named in
  ``applies_to``), never to a commitment true-up. Percentage discounts come first, in plan
  order, then fixed ones; each applies to what earlier discounts left (so 10 % then 20 % takes
  28 %). A discount's total is rounded once, capped at what its lines still come to, and split
  over them in proportion to what each still comes to with :func:`meterlib.money.allocate`
  (largest remainder), so the parts add up to the total exactly and no line goes below zero.
  A fixed discount on a partial segment is prorated by days.
- **The commitment true-up** compares the commitment with the segment's usage lines before
  discounts (a discount the seller grants does not count towards what the customer committed
  to spend), is not itself discounted, and is taxed like every other line.
- **Taxes** apply to every line of the plans that levy them, on the line's amount after
  discounts, each tax on the same base (not compounded). ``per_line`` rounds each line's tax
  and adds the rounded figures; ``per_invoice`` adds the bases and rounds once. Taxes of the
  same name, rate and rounding levied by two plans of a split period form one tax line.
- **Invoice numbers** are ``{customer}-{YYYYMMDD}`` (the period's first local day) unless the
  caller gives one, so re-running an invoice reproduces its number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Final, cast

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError, WrongTypeError
from meterlib.invoicing.contracts import Contract, Segment, cycle_key
from meterlib.invoicing.invoice import (
    DiscountLine,
    Invoice,
    InvoiceLine,
    LineKind,
    TaxLine,
    new_invoice,
    new_invoice_line,
)
from meterlib.invoicing.plans import MeteredCharge, PercentageDiscount, Timing
from meterlib.invoicing.terms import ChargeTerms, PlanTerms, TaxKey, plan_terms
from meterlib.invoicing.usage import GroupedUsageSource, MappingUsage, TableUsage, UsageSource
from meterlib.money import Money, allocate
from meterlib.periods import BillingCycle, Period
from meterlib.pricing import Charge, ChargeLine, MatrixPrice, PerUnitPrice
from meterlib.proration import ProrationBasis, prorate
from meterlib.rounding import round_amount

__all__ = ["bill_segments", "invoice", "invoice_number", "resolve_period"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply
_divide = EXACT.divide
_minus = EXACT.minus
_FEE = LineKind.FEE
_USAGE = LineKind.USAGE

# A line before its discount is known: new_invoice_line's arguments but the last two.
_Draft = tuple[
    LineKind,
    str,
    str,
    str,
    datetime,
    datetime,
    Decimal,
    str,
    Decimal | None,
    date | None,
    Timing | None,
    tuple[int, int] | None,
    Charge | None,
    Decimal,
    Decimal,
]
_KIND: Final = 0
_CHARGE: Final = 1
_ROUNDED: Final = 14


def invoice_number(customer: str, period: Period) -> str:
    """The default invoice number: ``{customer}-{YYYYMMDD}`` of the period's first local day."""
    day = period.start.date()
    digits = _DAY_DIGITS.get(day)
    if digits is None:
        digits = f"{day.year:04d}{day.month:02d}{day.day:02d}"
        if len(_DAY_DIGITS) < _DAYS_KEPT:
            _DAY_DIGITS[day] = digits
    return f"{customer}-{digits}"


_DAY_DIGITS: dict[date, str] = {}  # each period's first day as written in invoice numbers
_DAYS_KEPT = 65_536


# A billing run asks the same question for every customer on the same cycle: the answers are
# kept by the cycle's field values (equal cycles share them).
_PERIODS: dict[tuple[Any, datetime, datetime], Period] = {}
_PERIODS_LIMIT = 65_536


def _cycle_period(billing: BillingCycle, start: datetime, end: datetime) -> Period:
    """The cycle's period whose bounds are ``start`` and ``end``, or an error."""
    key = (cycle_key(billing), start, end)
    found = _PERIODS.get(key)
    if found is not None:
        return found
    expected = billing.locate(start)
    if expected.start != start or expected.end != end:
        raise InvalidValueError(
            "period",
            Period(start, end),
            f"a billing period of the contract's cycle, such as {expected}",
        )
    if len(_PERIODS) >= _PERIODS_LIMIT:
        _PERIODS.clear()
    _PERIODS[key] = expected
    return expected


def resolve_period(contract: Contract, period: Period | date | datetime) -> Period:
    """The contract's billing period meant by ``period``.

    A :class:`Period` must be one of the cycle's periods; a date (local midnight in the
    billing time zone) or an aware datetime picks the period holding it.
    """
    if isinstance(period, Period):
        return _cycle_period(contract.billing, period.start, period.end)
    if isinstance(period, datetime):
        return contract.billing.locate(period)
    if isinstance(period, date):
        midnight = datetime.combine(period, time(0), tzinfo=contract.billing_zone)
        return contract.billing.locate(midnight)
    raise InvalidValueError("period", period, "a Period, a date or an aware datetime")


# Classes whose instances are usage sources: the runtime protocol check walks the protocol's
# members on every call, so a class is checked once. Only classes that define ``quantity``
# themselves are kept (an instance of any other is checked every time).
_SOURCE_TYPES: set[type] = set()


def _is_source(usage: object) -> bool:
    kind = type(usage)
    if kind in _SOURCE_TYPES:
        return True
    if not isinstance(usage, UsageSource):
        return False
    if callable(getattr(kind, "quantity", None)):
        _SOURCE_TYPES.add(kind)
    return True


def invoice(
    contract: Contract,
    usage: UsageSource | Mapping[str, Decimal | int | str],
    period: Period | date | datetime,
    *,
    number: str | None = None,
) -> Invoice:
    """Bill ``contract`` for one billing period with usage from ``usage``.

    ``usage`` is a usage source, or a plain mapping of meter name to the quantity used in the
    whole period (read as :class:`~meterlib.invoicing.usage.MappingUsage`). ``period`` is one
    of the contract's billing periods (or a date or instant inside one, see
    :func:`resolve_period`). Raises :class:`~meterlib.errors.InvalidValueError` when the
    contract does not cover any part of the period. See the module docstring for how lines,
    discounts and taxes are computed.
    """
    if not isinstance(contract, Contract):
        raise WrongTypeError("contract", contract, "a Contract (see load_contract)")
    whole = resolve_period(contract, period)
    if not _is_source(usage):
        if not isinstance(usage, Mapping):
            raise WrongTypeError(
                "usage",
                usage,
                "a usage source (MappingUsage, TableUsage, LedgerUsage) or a mapping of meter"
                " name to quantity",
            )
        # A plain mapping of meter name to quantity is the usage of this one period.
        usage = MappingUsage(usage, period=whole, customer=contract.customer)
    source = cast("UsageSource", usage)  # checked just above
    segments = contract.segments(whole)
    if not segments:
        raise InvalidValueError(
            "period",
            whole,
            f"a billing period the contract of {contract.customer!r} covers "
            f"(it starts {contract.phases[0].start.isoformat()}"
            + (f" and ends {contract.ends.isoformat()})" if contract.ends else ")"),
        )
    return bill_segments(contract, source, whole, segments, number)


def bill_segments(
    contract: Contract,
    source: UsageSource,
    whole: Period,
    segments: Sequence[Segment],
    number: str | None = None,
) -> Invoice:
    """:func:`invoice`'s invoice, its arguments already checked (nothing is checked again).

    ``whole`` is one of the contract's billing periods, ``segments`` its non-empty
    ``contract.segments(whole)`` and ``source`` a usage source: for callers that bill many
    contracts and have checked every argument once
    (:func:`~meterlib.sql.invoices.invoices_from_source`).
    """
    currency = contract.currency
    customer = contract.customer
    lines: list[InvoiceLine] = []
    discounts: list[DiscountLine] = []
    taxes: dict[TaxKey, list[Decimal]] = {}
    for segment in segments:
        lines.extend(_bill_segment(segment, whole, currency, source, customer, discounts, taxes))
    subtotal = _ZERO
    for line in lines:
        subtotal = _add(subtotal, line.rounded)
    discount_total = _sum(line.amount for line in discounts) if discounts else _ZERO
    if taxes:
        tax_lines = tuple(_tax_line(key, bases, currency) for key, bases in taxes.items())
        tax_total = _sum(tax.amount for tax in tax_lines)
    else:
        tax_lines, tax_total = (), _ZERO
    issued = whole.end.date()
    return new_invoice(
        number if number is not None else invoice_number(customer, whole),
        customer,
        currency,
        contract.billing.timezone,
        whole,
        issued,
        issued + timedelta(days=contract.payment_terms_days),
        contract.bill_to,
        contract.seller,
        tuple(lines),
        tuple(discounts),
        tax_lines,
        subtotal,
        discount_total,
        tax_total,
        _add(_subtract(subtotal, discount_total), tax_total),
    )


def _bill_segment(  # noqa: PLR0917  (private helper of invoice(), once per segment)
    segment: Segment,
    whole: Period,
    currency: str,
    source: UsageSource,
    customer: str,
    discounts: list[DiscountLine],
    taxes: dict[TaxKey, list[Decimal]],
) -> list[InvoiceLine]:
    """The lines of one segment; its discount lines and tax bases go to ``discounts``, ``taxes``."""
    billed = _Segment(segment, whole, currency)
    drafts = billed.fees()
    billed.usage(drafts, source, customer)
    terms = billed.terms
    if terms.discounts:
        taken = billed.discounts(drafts, discounts)
        pairs = zip(drafts, taken, strict=True)
        lines = [new_invoice_line(*draft, discount) for draft, discount in pairs]
    else:
        zero = terms.zero
        lines = [new_invoice_line(*draft, zero) for draft in drafts]
    if terms.commitment is not None:
        true_up = billed.true_up(drafts)
        if true_up is not None:
            lines.append(true_up)
    if terms.tax_keys:
        nets = [_subtract(line.rounded, line.discount) for line in lines]
        for key in terms.tax_keys:
            taxes.setdefault(key, []).extend(nets)
    return lines


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = _add(total, value)
    return total


def _unit_price(price: MatrixPrice, cell: int | None) -> Decimal | None:
    """The unit price of a matrix cell (or the default) when it is a per-unit price."""
    priced = price.default if cell is None else price.cells[cell - 1].price
    return priced.unit_amount if isinstance(priced, PerUnitPrice) else None


class _Segment:
    """Billing of one segment: the part of the period held under one plan."""

    __slots__ = (
        "currency",
        "days",
        "end",
        "first_day",
        "partial",
        "period_days",
        "proration",
        "segment",
        "start",
        "terms",
        "whole",
    )

    def __init__(self, segment: Segment, whole: Period, currency: str) -> None:
        self.segment = segment
        self.whole = whole
        self.terms: PlanTerms = plan_terms(segment.plan)
        self.currency = currency
        self.start = start = segment.start
        self.end = end = segment.end
        self.partial = partial = start != whole.start or end != whole.end
        self.first_day = start.date()
        if partial:
            self.period_days = whole.days
            self.days = (end.date() - self.first_day).days
            self.proration: tuple[int, int] | None = (self.days, self.period_days)
        else:
            self.proration = None

    def _prorated(self, amount: Decimal) -> Decimal:
        """``amount`` for the segment's days of the period, rounded once."""
        share = prorate(
            Money(amount, self.currency),
            self.whole,
            (self.start, self.end),
            ProrationBasis.DAYS,
        )
        return share.rounded(self.terms.mode).amount

    def fees(self) -> list[_Draft]:
        """One draft per recurring fee."""
        drafts: list[_Draft] = []
        terms = self.terms
        name, unit, start, end = terms.name, terms.unit, self.start, self.end
        proration = self.proration
        for fee in terms.fees:
            index = fee.index(self.first_day)
            full = fee.amounts[index]
            if proration is not None:
                amount = rounded = self._prorated(full)
            else:
                amount, rounded = full, fee.rounded[index]
            drafts.append(
                (
                    _FEE, fee.name, fee.label, name, start, end, _ONE, unit, full,
                    fee.dates[index], fee.timing, proration, None, amount, rounded,
                ),
            )
        return drafts

    def usage(self, drafts: list[_Draft], source: UsageSource, customer: str) -> None:
        """Add one draft per metered charge to ``drafts``: usage rated by the version in force."""
        terms = self.terms
        name, start, end = terms.name, self.start, self.end
        rounder = terms.round
        for charge in terms.metered:
            index = charge.index(self.first_day)
            price = charge.prices[index]
            if charge.matrix[index]:
                drafts.extend(self._matrix(source, customer, charge, index, price))  # type: ignore[arg-type]
                continue
            rating = price.rate(source.quantity(customer, charge.meter, start, end))
            amount = rating.amount
            drafts.append(
                (
                    _USAGE, charge.name, charge.label, name, start, end, rating.quantity,
                    charge.unit, charge.unit_prices[index], charge.dates[index], None, None,
                    rating, amount, rounder(amount),
                ),
            )

    def _matrix(
        self,
        source: UsageSource,
        customer: str,
        terms: ChargeTerms,
        index: int,
        price: MatrixPrice,
    ) -> list[_Draft]:
        """Drafts of a matrix price: one per cell (or combination), one for its own adjustment.

        The usage comes by the meter's ``group_by`` values; properties that are not one of the
        matrix's dimensions are left out (their groups add up).
        """
        charge: MeteredCharge = terms.charge
        if isinstance(source, Mapping):  # a usage table given as it is
            source = TableUsage(source)
        if not isinstance(source, GroupedUsageSource):
            raise InvalidValueError(
                "usage",
                source,
                f"a source with usage by group (groups(...)) for the matrix price of"
                f" {charge.name!r}",
            )
        dimensions = set(price.dimensions)
        groups = source.groups(customer, charge.meter, self.start, self.end)
        rating = price.rate_usage(
            [
                ({name: value for name, value in group if name in dimensions}, quantity)
                for group, quantity in groups.items()
            ],
        )
        when = terms.dates[index]
        pieces: list[tuple[str, Charge | None, Decimal | None]] = [
            (f"{charge.label}: {part.label}", part.charge, _unit_price(price, part.cell))
            for part in rating.parts
        ]
        if not pieces:
            pieces.append((charge.label, rating, None))
        drafts = [
            self._draft(charge, description, cell, unit_price, when, cell.quantity, cell.amount)
            for description, cell, unit_price in pieces
            if cell is not None
        ]
        if rating.parts and rating.adjustment:
            description = f"{charge.label}: {rating.adjustment_reason}"
            drafts.append(
                self._draft(charge, description, None, None, when, _ZERO, rating.adjustment),
            )
        return drafts

    def _draft(  # noqa: PLR0917  (private helper of _matrix())
        self,
        charge: MeteredCharge,
        description: str,
        rating: Charge | None,
        unit_price: Decimal | None,
        when: date | None,
        quantity: Decimal,
        amount: Decimal,
    ) -> _Draft:
        return (
            _USAGE, charge.name, description, self.terms.name, self.start, self.end, quantity,
            charge.unit, unit_price, when, None, None, rating, amount, self.terms.round(amount),
        )

    def discounts(self, drafts: Sequence[_Draft], out: list[DiscountLine]) -> list[Decimal]:
        """Apply the plan's discounts to ``drafts``; return each draft's total discount.

        Appends one :class:`DiscountLine` per discount of the plan to ``out``.
        """
        terms = self.terms
        zero = terms.zero
        taken = [zero] * len(drafts)
        for discount in terms.discounts:
            names = discount.applies_to
            chosen = [
                index
                for index, draft in enumerate(drafts)
                if names is None or draft[_CHARGE] in names
            ]
            left = [_subtract(drafts[i][_ROUNDED], taken[i]) for i in chosen]
            base = _sum(left)
            if isinstance(discount, PercentageDiscount):
                value = discount.percent
                wanted = terms.round(_divide(_multiply(base, value), _HUNDRED))
            else:
                value = discount.amount
                wanted = terms.round(self._prorated(value) if self.partial else value)
            amount = min(wanted, base)
            if amount > 0:
                parts = allocate(Money(amount, self.currency), left, terms.mode)
                for index, part in zip(chosen, parts, strict=True):
                    taken[index] = _add(taken[index], part.amount)
            out.append(
                DiscountLine(
                    name=discount.name,
                    kind=discount.kind,
                    value=value,
                    applies_to=names,
                    plan=terms.name,
                    amount=amount if amount > 0 else zero,
                ),
            )
        return taken

    def true_up(self, drafts: Sequence[_Draft]) -> InvoiceLine | None:
        """The commitment true-up line, or ``None`` when usage met the commitment."""
        terms = self.terms
        commitment = terms.commitment
        if commitment is None:
            return None
        owed = self._prorated(commitment) if self.partial else terms.round(commitment)
        used = _sum(d[_ROUNDED] for d in drafts if d[_KIND] is _USAGE)
        shortfall = _subtract(owed, used)
        if shortfall <= 0:
            return None
        rows = (
            ChargeLine("minimum commitment", None, None, None, _ONE, owed, _ZERO, owed),
            ChargeLine(
                "usage charges billed", None, None, None, _ONE, _minus(used), _ZERO, _minus(used)
            ),
        )
        rating = Charge(
            currency=self.currency,
            model="commitment",
            quantity=_ONE,
            included=_ZERO,
            billable=_ONE,
            lines=rows,
            subtotal=shortfall,
            adjustment=_ZERO,
            adjustment_reason=None,
            amount=shortfall,
        )
        return new_invoice_line(
            LineKind.COMMITMENT, "commitment", "Minimum commitment true-up", terms.name,
            self.start, self.end, _ONE, terms.unit, None, None, None, self.proration, rating,
            shortfall, shortfall, terms.zero,
        )


def _tax_line(key: TaxKey, bases: list[Decimal], currency: str) -> TaxLine:
    name, percent, rounding, mode = key
    base = _sum(bases)
    if rounding is rounding.PER_LINE:
        amount = _sum(
            round_amount(_divide(_multiply(net, percent), _HUNDRED), currency, mode)
            for net in bases
        )
        amount = round_amount(amount, currency, mode)
    else:
        amount = round_amount(_divide(_multiply(base, percent), _HUNDRED), currency, mode)
    return TaxLine(name=name, percent=percent, rounding=rounding, base=base, amount=amount)
