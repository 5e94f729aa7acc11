"""Credits drawn by an invoice: one invoice line per grant drawn on, naming the grant.

:func:`apply_credits` returns the invoice with its credit lines (:attr:`LineKind.CREDIT
<meterlib.invoicing.LineKind.CREDIT>`: ``charge`` the grant's id, a zero or negative amount, no
discount) and the customer's credit ledger with the draws recorded under the invoice number.
The credited invoice still adds up: its subtotal is the sum of its rounded lines, credit lines
included, and ``total == subtotal - discount_total + tax_total`` is what remains due. Every
renderer shows the credit lines as it shows any line.

Two kinds of grant are drawn on, in this order:

1. **Units of a meter** (a grant whose ``unit`` is a meter's name), when the contract is given:
   for each usage line of a charge that reads that meter, the units are drawn *before
   pricing*, from the line's billable usage (after the price's included units: free units do
   not burn credit). Each grant's line shows the units it covered and their value: the line's
   charge on its usage minus the charge on the usage left once those units are drawn, so the
   drawn units come off the top of the tiers, and the usage line plus its credit lines equal
   the price of the usage left. The value never takes the line below its amount after
   discounts, and never raises the bill (a volume price may charge more for less usage). The
   commitment true-up is not computed again: usage paid with credit counts as used. A unit
   credit line is taxed like the usage line it reduces (the taxes of that
   plan are computed again on the reduced base), so the customer pays no tax on usage paid for
   with credit.
2. **Money** (a grant whose ``unit`` is the invoice currency): what is then owed (after
   discounts and taxes) is drawn, as Lago's wallet credits settle an invoice after tax;
   money grants must hold whole minor units, so every line does.

Grants are drawn in :func:`~meterlib.credits.grants.draw_order` (priority, earliest expiry,
oldest, id). Stripe's billing credits apply before tax, as meterlib's unit credits do, and
Metronome burns commits and credits down on line items before tax; see ``docs/credits.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from meterlib._numbers import EXACT, ROUNDED, exact_sum
from meterlib.credits.grants import CreditLedger, Draw, DrawLine
from meterlib.errors import InvalidValueError
from meterlib.invoicing.contracts import Contract
from meterlib.invoicing.invoice import Invoice, InvoiceLine, LineKind, TaxLine
from meterlib.invoicing.plans import ALWAYS, Plan, TaxRounding
from meterlib.pricing import MatrixPrice, Price, rate_input
from meterlib.rounding import RoundingMode, quantum, round_amount

__all__ = ["CreditedInvoice", "apply_credits"]

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class CreditedInvoice:
    """An invoice with its credit lines, the invoice before them, and the draws made."""

    invoice: Invoice
    """The invoice with one credit line per grant drawn on: what is due is its ``total``."""
    original: Invoice
    draws: tuple[Draw, ...]
    """The draws made: one per usage line reduced by unit credits, then the money draw."""

    @property
    def lines(self) -> tuple[DrawLine, ...]:
        """One draw line per grant drawn on, in the order the invoice lists them."""
        return tuple(line for draw in self.draws for line in draw.lines)

    @property
    def credited(self) -> Decimal:
        """The value of every credit line (the invoice total they took off, taxes aside)."""
        found = (line.rounded for line in self.invoice.lines if line.kind is LineKind.CREDIT)
        return EXACT.minus(exact_sum(found))

    @property
    def amount_due(self) -> Decimal:
        """What the customer still owes after credits."""
        return self.invoice.total


def _label(grant: str, label: str) -> str:
    return f"Credit: grant {grant}" if label == grant else f"Credit: {label} (grant {grant})"


def _credit_line(  # noqa: PLR0917  (the parts of a line)
    base: InvoiceLine, grant: str, label: str, quantity: Decimal, unit: str, value: Decimal
) -> InvoiceLine:
    return InvoiceLine(
        kind=LineKind.CREDIT,
        charge=grant,
        description=_label(grant, label),
        plan=base.plan,
        start=base.start,
        end=base.end,
        quantity=quantity,
        unit=unit,
        unit_price=None,
        price_version=None,
        timing=None,
        proration=None,
        rating=None,
        amount=EXACT.minus(value),
        rounded=EXACT.minus(value),
        discount=_ZERO,
    )


def _price_of(plan: Plan, line: InvoiceLine) -> tuple[str, Price] | None:
    """The meter and price of a usage line (``None`` when it is no charge of the plan)."""
    charge = next((c for c in plan.metered if c.name == line.charge), None)
    if charge is None:
        return None
    when = ALWAYS if line.price_version is None else line.price_version
    version = next((v for v in charge.versions if v.effective_from == when), None)
    return None if version is None else (charge.meter, version.price)


def _unit_lines(  # noqa: PLR0917  (one line, its plan, the ledger, when and why)
    line: InvoiceLine, plan: Plan, book: CreditLedger, at: datetime, reference: str, currency: str
) -> tuple[list[InvoiceLine], Draw | None, CreditLedger]:
    """The credit lines of unit grants drawn on for one usage line."""
    found = _price_of(plan, line)
    if found is None or line.rating is None:
        return [], None, book
    meter, price = found
    billable = line.rating.billable
    if billable <= 0 or book.balance(at, meter) <= 0:
        return [], None, book
    if isinstance(price, MatrixPrice):
        raise InvalidValueError(
            "grant.unit", meter, f"a meter not priced by a matrix (charge {line.charge!r})"
        )
    draw, book = book.draw(min(billable, book.balance(at, meter)), meter, at, reference)
    mode = plan.rounding
    cap = line.net
    left = line.quantity
    before = _ZERO
    lines: list[InvoiceLine] = []
    for taken in draw.lines:
        left = EXACT.subtract(left, taken.amount)
        rest = round_amount(rate_input(price, left).amount, currency, mode)
        # What the drawn units saved so far: never more than the line's net, never less than
        # before (a volume price may charge more for less usage: a credit never raises a bill).
        saved = min(cap, max(before, EXACT.subtract(line.rounded, rest)))
        value = EXACT.subtract(saved, before)
        before = saved
        lines.append(_credit_line(line, taken.grant, taken.label, taken.amount, line.unit, value))
    return lines, draw, book


def _tax(value: Decimal, percent: Decimal, currency: str, mode: RoundingMode) -> Decimal:
    return round_amount(EXACT.divide(EXACT.multiply(value, percent), _HUNDRED), currency, mode)


def _retaxed(
    taxes: tuple[TaxLine, ...], reductions: list[tuple[Plan, Decimal, Decimal]], currency: str
) -> tuple[TaxLine, ...]:
    """The tax lines once unit credits reduce usage lines: ``(plan, line's net, credit < 0)``.

    Taxed per line, the reduced line's tax replaces the line's; taxed once, the base shrinks
    and the tax is computed again: either way as if the usage had been billed reduced.
    """
    out: list[TaxLine] = []
    for tax in taxes:
        base, amount = tax.base, tax.amount
        mode: RoundingMode | None = None
        for plan, net, credit in reductions:
            if plan.tax_rounding is not tax.rounding or not any(
                t.name == tax.name and t.percent == tax.percent for t in plan.taxes
            ):
                continue
            mode = plan.rounding
            base = EXACT.add(base, credit)
            if tax.rounding is TaxRounding.PER_LINE:
                reduced = _tax(EXACT.add(net, credit), tax.percent, currency, mode)
                change = EXACT.subtract(reduced, _tax(net, tax.percent, currency, mode))
                amount = EXACT.add(amount, change)
        if mode is not None and tax.rounding is TaxRounding.PER_INVOICE:
            amount = _tax(base, tax.percent, currency, mode)
        out.append(replace(tax, base=base, amount=amount))
    return tuple(out)


def _totalled(invoice: Invoice, lines: list[InvoiceLine], taxes: tuple[TaxLine, ...]) -> Invoice:
    subtotal = exact_sum(line.rounded for line in lines)
    tax_total = exact_sum(tax.amount for tax in taxes)
    total = EXACT.add(EXACT.subtract(subtotal, invoice.discount_total), tax_total)
    unit = quantum(invoice.currency)
    return replace(
        invoice,
        lines=tuple(lines),
        taxes=taxes,
        subtotal=subtotal.quantize(unit, context=EXACT),
        tax_total=tax_total.quantize(unit, context=EXACT),
        total=total.quantize(unit, context=EXACT),
    )


def apply_credits(
    invoice: Invoice, book: CreditLedger, at: datetime, *, contract: Contract | None = None
) -> tuple[CreditedInvoice, CreditLedger]:
    """Draw ``book``'s grants for ``invoice`` at ``at``; the credited invoice and new ledger.

    Unit grants are drawn only when ``contract`` (the invoice's) is given: it says which meter
    each usage line reads and at which price. See the module docstring for the order.
    """
    if book.customer != invoice.customer:
        raise InvalidValueError("customer", book.customer, f"the invoice's {invoice.customer!r}")
    if contract is not None and contract.customer != invoice.customer:
        raise InvalidValueError("contract", contract.customer, f"{invoice.customer!r}'s")
    draws: list[Draw] = []
    lines: list[InvoiceLine] = []
    reductions: list[tuple[Plan, Decimal, Decimal]] = []
    for line in invoice.lines:
        lines.append(line)
        plan = None if contract is None else contract.plans.get(line.plan)
        if plan is None or line.kind is not LineKind.USAGE:
            continue
        added, draw, book = _unit_lines(line, plan, book, at, invoice.number, invoice.currency)
        lines.extend(added)
        if added:
            value = exact_sum(credit.rounded for credit in added)
            reductions.append((plan, line.net, value))
        if draw is not None:
            draws.append(draw)
    taxes = _retaxed(invoice.taxes, reductions, invoice.currency) if reductions else invoice.taxes
    reduced = _totalled(invoice, lines, taxes)
    draw, book = book.draw(max(reduced.total, _ZERO), invoice.currency, at, invoice.number)
    if draw.lines:
        unit = quantum(invoice.currency)
        last = reduced.lines[-1] if reduced.lines else None
        for taken in draw.lines:
            if taken.amount.quantize(unit, context=ROUNDED) != taken.amount:
                raise InvalidValueError(
                    f"grant {taken.grant!r} balance",
                    taken.amount,
                    f"whole minor units of {invoice.currency}",
                )
            if last is None:
                raise InvalidValueError("invoice.lines", (), "at least one line to credit")
            credit = _credit_line(
                replace(last, start=invoice.period.start, end=invoice.period.end),
                taken.grant,
                taken.label,
                taken.amount,
                invoice.currency,
                taken.amount.quantize(unit, context=EXACT),
            )
            lines.append(credit)
        draws.append(draw)
    credited = _totalled(invoice, lines, taxes)
    credited.check()
    return CreditedInvoice(credited, invoice, tuple(draws)), book
