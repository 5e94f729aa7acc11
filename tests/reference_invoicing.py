"""The invoicing engine as it was before it was sped up (commit 026aee0), kept as a test oracle.

``meterlib.invoicing.engine`` now reads each plan once (:mod:`meterlib.invoicing.terms`),
keeps period look-ups per cycle and builds lines with the fast builders of
:mod:`meterlib.invoicing.invoice`. This is the straightforward engine those speed-ups replaced,
unchanged but for this docstring: tests/property/test_invoice_fast_path.py checks that both
build the same invoices, field for field and in JSON, for random contracts and usage. Not
product code; do not import it outside the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache

from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError, WrongTypeError
from meterlib.invoicing.contracts import Contract, Segment
from meterlib.invoicing.invoice import DiscountLine, Invoice, InvoiceLine, LineKind, TaxLine
from meterlib.invoicing.plans import (
    ALWAYS,
    FixedDiscount,
    MeteredCharge,
    MeteredPriceVersion,
    PercentageDiscount,
    Plan,
    TaxRounding,
    Timing,
)
from meterlib.invoicing.usage import GroupedUsageSource, MappingUsage, TableUsage, UsageSource
from meterlib.money import Money, allocate
from meterlib.periods import BillingCycle, Period
from meterlib.pricing import Charge, ChargeLine, MatrixPrice, PerUnitPrice
from meterlib.proration import ProrationBasis, prorate
from meterlib.rounding import RoundingMode, round_amount
from meterlib.schedule import in_force

__all__ = ["invoice", "invoice_number", "resolve_period"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_HUNDRED = Decimal(100)
_add = EXACT.add
_subtract = EXACT.subtract
_multiply = EXACT.multiply
_divide = EXACT.divide
_minus = EXACT.minus


def invoice_number(customer: str, period: Period) -> str:
    """The default invoice number: ``{customer}-{YYYYMMDD}`` of the period's first local day."""
    start = period.start
    return f"{customer}-{start.year:04d}{start.month:02d}{start.day:02d}"


@lru_cache(maxsize=4096)
def _cycle_period(billing: BillingCycle, start: datetime, end: datetime) -> Period:
    """The cycle's period whose bounds are ``start`` and ``end``, or an error.

    Cached: a billing run asks the same question for every customer on the same cycle.
    """
    expected = billing.locate(start)
    if expected.start != start or expected.end != end:
        raise InvalidValueError(
            "period",
            Period(start, end),
            f"a billing period of the contract's cycle, such as {expected}",
        )
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
    if not isinstance(usage, UsageSource):
        if not isinstance(usage, Mapping):
            raise WrongTypeError(
                "usage",
                usage,
                "a usage source (MappingUsage, TableUsage, LedgerUsage) or a mapping of meter"
                " name to quantity",
            )
        # A plain mapping of meter name to quantity is the usage of this one period.
        usage = MappingUsage(usage, period=whole, customer=contract.customer)
    segments = contract.segments(whole)
    if not segments:
        raise InvalidValueError(
            "period",
            whole,
            f"a billing period the contract of {contract.customer!r} covers "
            f"(it starts {contract.phases[0].start.isoformat()}"
            + (f" and ends {contract.ends.isoformat()})" if contract.ends else ")"),
        )
    currency = contract.currency
    customer = contract.customer
    period_days = whole.days
    lines: list[InvoiceLine] = []
    discounts: list[DiscountLine] = []
    taxes: dict[tuple[str, Decimal, TaxRounding, RoundingMode], list[Decimal]] = {}
    for segment in segments:
        partial = segment.start != whole.start or segment.end != whole.end
        days = (segment.end.date() - segment.start.date()).days if partial else period_days
        billed = _Segment(segment, whole, currency, partial, days, period_days)
        drafts = billed.fees() + billed.usage(usage, customer)
        taken = billed.discounts(drafts, discounts)
        seg_lines = [
            draft.line(discount)
            for draft, discount in zip(drafts, taken, strict=True)
        ]
        true_up = billed.true_up(drafts)
        if true_up is not None:
            seg_lines.append(true_up)
        plan = segment.plan
        for tax in plan.taxes:
            key = (tax.name, tax.percent, plan.tax_rounding, plan.rounding)
            taxes.setdefault(key, []).extend(line.net for line in seg_lines)
        lines.extend(seg_lines)
    tax_lines = tuple(_tax_line(key, bases, currency) for key, bases in taxes.items())
    subtotal = _sum(line.rounded for line in lines)
    discount_total = _sum(line.amount for line in discounts)
    tax_total = _sum(tax.amount for tax in tax_lines)
    issued = whole.end.date()
    return Invoice(
        number=number if number is not None else invoice_number(customer, whole),
        customer=customer,
        currency=currency,
        timezone=contract.billing.timezone,
        period=whole,
        issued_on=issued,
        due_on=issued + timedelta(days=contract.payment_terms_days),
        bill_to=contract.bill_to,
        seller=contract.seller,
        lines=tuple(lines),
        discounts=tuple(discounts),
        taxes=tax_lines,
        subtotal=subtotal,
        discount_total=discount_total,
        tax_total=tax_total,
        total=_add(_subtract(subtotal, discount_total), tax_total),
    )


def _sum(values: Iterable[Decimal]) -> Decimal:
    total = _ZERO
    for value in values:
        total = _add(total, value)
    return total


class _Draft:
    """A fee or usage line before its discount is known."""

    __slots__ = (
        "amount",
        "charge",
        "description",
        "kind",
        "plan",
        "price_version",
        "proration",
        "quantity",
        "rating",
        "rounded",
        "segment",
        "timing",
        "unit",
        "unit_price",
    )

    def __init__(  # noqa: PLR0917  (one positional slot per field, like a dataclass)
        self,
        kind: LineKind,
        charge: str,
        description: str,
        segment: Segment,
        quantity: Decimal,
        unit: str,
        unit_price: Decimal | None,
        price_version: date | None,
        timing: Timing | None,
        proration: tuple[int, int] | None,
        rating: Charge | None,
        amount: Decimal,
        rounded: Decimal,
    ) -> None:
        self.kind = kind
        self.charge = charge
        self.description = description
        self.segment = segment
        self.plan = segment.plan.name
        self.quantity = quantity
        self.unit = unit
        self.unit_price = unit_price
        self.price_version = price_version
        self.timing = timing
        self.proration = proration
        self.rating = rating
        self.amount = amount
        self.rounded = rounded

    def line(self, discount: Decimal) -> InvoiceLine:
        """The finished line, with the discounts taken off it."""
        return InvoiceLine(
            kind=self.kind,
            charge=self.charge,
            description=self.description,
            plan=self.plan,
            start=self.segment.start,
            end=self.segment.end,
            quantity=self.quantity,
            unit=self.unit,
            unit_price=self.unit_price,
            price_version=self.price_version,
            timing=self.timing,
            proration=self.proration,
            rating=self.rating,
            amount=self.amount,
            rounded=self.rounded,
            discount=discount,
        )


def _unit_price(price: MatrixPrice, cell: int | None) -> Decimal | None:
    """The unit price of a matrix cell (or the default) when it is a per-unit price."""
    priced = price.default if cell is None else price.cells[cell - 1].price
    return priced.unit_amount if isinstance(priced, PerUnitPrice) else None


def _version_date(effective_from: date) -> date | None:
    return None if effective_from == ALWAYS else effective_from


class _Segment:
    """Billing of one segment: the part of the period held under one plan."""

    __slots__ = (
        "currency",
        "days",
        "first_day",
        "mode",
        "partial",
        "period_days",
        "plan",
        "segment",
        "whole",
    )

    def __init__(  # noqa: PLR0917  (private helper, called once per segment)
        self,
        segment: Segment,
        whole: Period,
        currency: str,
        partial: bool,
        days: int,
        period_days: int,
    ) -> None:
        self.segment = segment
        self.whole = whole
        self.plan: Plan = segment.plan
        self.currency = currency
        self.mode = segment.plan.rounding
        self.partial = partial
        self.days = days
        self.period_days = period_days
        self.first_day = segment.start.date()

    def _prorated(self, amount: Decimal) -> Decimal:
        """``amount`` for the segment's days of the period, rounded once."""
        share = prorate(
            Money(amount, self.currency),
            self.whole,
            (self.segment.start, self.segment.end),
            ProrationBasis.DAYS,
        )
        return share.rounded(self.mode).amount

    def fees(self) -> list[_Draft]:
        """One draft per recurring fee."""
        drafts = []
        plan = self.plan
        proration = (self.days, self.period_days) if self.partial else None
        for fee in plan.fees:
            version = in_force(fee.versions, self.first_day, f"amount of fee {fee.name!r}")
            if self.partial:
                amount = rounded = self._prorated(version.amount)
            else:
                amount = version.amount
                rounded = round_amount(amount, self.currency, self.mode)
            drafts.append(
                _Draft(
                    LineKind.FEE,
                    fee.name,
                    fee.label,
                    self.segment,
                    _ONE,
                    plan.period_unit,
                    version.amount,
                    _version_date(version.effective_from),
                    fee.timing,
                    proration,
                    None,
                    amount,
                    rounded,
                ),
            )
        return drafts

    def usage(self, source: UsageSource, customer: str) -> list[_Draft]:
        """One draft per metered charge, its usage rated by the version in force."""
        drafts = []
        segment = self.segment
        for charge in self.plan.metered:
            version = in_force(charge.versions, self.first_day, f"price of {charge.name!r}")
            price = version.price
            if isinstance(price, MatrixPrice):
                drafts.extend(self._matrix(source, customer, charge, version, price))
                continue
            quantity = source.quantity(customer, charge.meter, segment.start, segment.end)
            rating = price.rate(quantity)
            amount = rating.amount
            drafts.append(
                _Draft(
                    LineKind.USAGE,
                    charge.name,
                    charge.label,
                    segment,
                    rating.quantity,
                    charge.unit,
                    price.unit_amount if isinstance(price, PerUnitPrice) else None,
                    _version_date(version.effective_from),
                    None,
                    None,
                    rating,
                    amount,
                    round_amount(amount, self.currency, self.mode),
                ),
            )
        return drafts

    def _matrix(
        self,
        source: UsageSource,
        customer: str,
        charge: MeteredCharge,
        version: MeteredPriceVersion,
        price: MatrixPrice,
    ) -> list[_Draft]:
        """Drafts of a matrix price: one per cell (or combination), one for its own adjustment.

        The usage comes by the meter's ``group_by`` values; properties that are not one of the
        matrix's dimensions are left out (their groups add up).
        """
        if isinstance(source, Mapping):  # a usage table given as it is
            source = TableUsage(source)
        if not isinstance(source, GroupedUsageSource):
            raise InvalidValueError(
                "usage",
                source,
                f"a source with usage by group (groups(...)) for the matrix price of"
                f" {charge.name!r}",
            )
        segment = self.segment
        dimensions = set(price.dimensions)
        groups = source.groups(customer, charge.meter, segment.start, segment.end)
        rating = price.rate_usage(
            [
                ({name: value for name, value in group if name in dimensions}, quantity)
                for group, quantity in groups.items()
            ],
        )
        when = _version_date(version.effective_from)
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
        return _Draft(
            LineKind.USAGE,
            charge.name,
            description,
            self.segment,
            quantity,
            charge.unit,
            unit_price,
            when,
            None,
            None,
            rating,
            amount,
            round_amount(amount, self.currency, self.mode),
        )

    def discounts(self, drafts: Sequence[_Draft], out: list[DiscountLine]) -> list[Decimal]:
        """Apply the plan's discounts to ``drafts``; return each draft's total discount.

        Appends one :class:`DiscountLine` per discount of the plan to ``out``.
        """
        taken = [round_amount(_ZERO, self.currency)] * len(drafts)
        plan = self.plan
        if not plan.discounts:
            return taken
        ordered: list[PercentageDiscount | FixedDiscount] = [
            d for d in plan.discounts if isinstance(d, PercentageDiscount)
        ]
        ordered += [d for d in plan.discounts if isinstance(d, FixedDiscount)]
        for discount in ordered:
            names = discount.applies_to
            chosen = [
                index
                for index, draft in enumerate(drafts)
                if names is None or draft.charge in names
            ]
            left = [_subtract(drafts[i].rounded, taken[i]) for i in chosen]
            base = _sum(left)
            if isinstance(discount, PercentageDiscount):
                value = discount.percent
                wanted = round_amount(
                    _divide(_multiply(base, value), _HUNDRED), self.currency, self.mode
                )
            else:
                value = discount.amount
                whole = self._prorated(value) if self.partial else value
                wanted = round_amount(whole, self.currency, self.mode)
            amount = min(wanted, base)
            if amount > 0:
                parts = allocate(Money(amount, self.currency), left, self.mode)
                for index, part in zip(chosen, parts, strict=True):
                    taken[index] = _add(taken[index], part.amount)
            out.append(
                DiscountLine(
                    name=discount.name,
                    kind=discount.kind,
                    value=value,
                    applies_to=names,
                    plan=plan.name,
                    amount=amount if amount > 0 else round_amount(_ZERO, self.currency),
                ),
            )
        return taken

    def true_up(self, drafts: Sequence[_Draft]) -> InvoiceLine | None:
        """The commitment true-up line, or ``None`` when usage met the commitment."""
        commitment = self.plan.commitment
        if commitment is None:
            return None
        owed = (
            self._prorated(commitment)
            if self.partial
            else round_amount(commitment, self.currency, self.mode)
        )
        used = _sum(d.rounded for d in drafts if d.kind is LineKind.USAGE)
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
        return InvoiceLine(
            kind=LineKind.COMMITMENT,
            charge="commitment",
            description="Minimum commitment true-up",
            plan=self.plan.name,
            start=self.segment.start,
            end=self.segment.end,
            quantity=_ONE,
            unit=self.plan.period_unit,
            unit_price=None,
            price_version=None,
            timing=None,
            proration=(self.days, self.period_days) if self.partial else None,
            rating=rating,
            amount=shortfall,
            rounded=shortfall,
            discount=round_amount(_ZERO, self.currency),
        )


def _tax_line(
    key: tuple[str, Decimal, TaxRounding, RoundingMode],
    bases: list[Decimal],
    currency: str,
) -> TaxLine:
    name, percent, rounding, mode = key
    base = _sum(bases)
    if rounding is TaxRounding.PER_LINE:
        amount = _sum(
            round_amount(_divide(_multiply(net, percent), _HUNDRED), currency, mode)
            for net in bases
        )
        amount = round_amount(amount, currency, mode)
    else:
        amount = round_amount(_divide(_multiply(base, percent), _HUNDRED), currency, mode)
    return TaxLine(name=name, percent=percent, rounding=rounding, base=base, amount=amount)

