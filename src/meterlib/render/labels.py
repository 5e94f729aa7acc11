"""Labels shared by the text and HTML renderers: invoice lines, tiers, statement breakdowns.

Every phrase goes through the document's :class:`~meterlib.render.format.Formatter`: figures
through Babel, words through the gettext catalogs (:mod:`meterlib.render.i18n`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from babel import Locale

from meterlib._numbers import EXACT, exact_sum
from meterlib.backbill.statement import AdjustmentDocument, Statement, StatementLine
from meterlib.invoicing.invoice import Invoice, InvoiceLine, LineKind
from meterlib.invoicing.plans import TaxRounding, Timing
from meterlib.pricing import ChargeLine
from meterlib.render.format import Formatter

__all__ = [
    "InvoiceLabels",
    "MoneyCredits",
    "breakdown_text",
    "charge_line_label",
    "common_allowance",
    "document_line_text",
    "document_title",
    "is_money_credit",
    "money_credits",
    "period_unit",
]


def is_money_credit(line: InvoiceLine, currency: str) -> bool:
    """A draw on a money grant (its quantity is money in ``currency``), not on units."""
    return line.kind is LineKind.CREDIT and line.unit == currency


@dataclass(frozen=True, slots=True)
class MoneyCredits:
    """How an invoice with money credits is shown: charges, then taxes, then the credits.

    Money credits settle what is owed after discounts and taxes (as Lago's wallet credits do),
    so the renderers list them after the taxes, under "Credits applied", and show the subtotal
    of the charges alone (the base the discounts and taxes were computed on). Only the order
    changes: ``subtotal + sum(credits) == invoice.subtotal`` and the total shown is the
    invoice's. Unit credits (drawn before pricing) stay among the lines, after the usage line
    they reduce.
    """

    lines: tuple[InvoiceLine, ...]
    """Every line but the money credits, in the invoice's order."""
    credits: tuple[InvoiceLine, ...]
    """The money credit lines, in draw order."""
    subtotal: Decimal
    """The subtotal of ``lines``: the charges before any money credit."""
    before_credits: Decimal
    """What the invoice would owe without its money credits."""


def money_credits(invoice: Invoice) -> MoneyCredits:
    """``invoice``'s lines split for display (see :class:`MoneyCredits`)."""
    currency = invoice.currency
    drawn_lines = tuple(x for x in invoice.lines if is_money_credit(x, currency))
    drawn = exact_sum(x.rounded for x in drawn_lines)
    return MoneyCredits(
        lines=tuple(x for x in invoice.lines if not is_money_credit(x, currency)),
        credits=drawn_lines,
        subtotal=EXACT.subtract(invoice.subtotal, drawn),
        before_credits=EXACT.subtract(invoice.total, drawn),
    )


class InvoiceLabels(Formatter):
    """Formats an invoice's figures and phrases for one locale and the invoice's currency."""

    def __init__(self, invoice: Invoice, locale: str | Locale) -> None:
        """Bind the invoice's currency and ``locale``."""
        super().__init__(invoice.currency, locale)

    def span_of(self, start: date, end: date) -> str:
        """``Mar 1, 2023 – Mar 14, 2023``; one day alone when ``end`` is not after ``start``."""
        if end <= start:
            return self.day(start)
        return f"{self.day(start)} – {self.day(end)}"

    def span(self, line: InvoiceLine) -> str:
        """The days a line covers, inclusive."""
        last = (line.end - timedelta(microseconds=1)).date()
        return self.span_of(line.start.date(), last)

    def period(self, invoice: Invoice) -> str:
        """The invoice's billing period as its first and last day, inclusive."""
        last = (invoice.period.end - timedelta(microseconds=1)).date()
        return self.span_of(invoice.period.start.date(), last)

    def detail(self, line: InvoiceLine) -> str:
        """A short note under a line: the plan, the price version, proration, timing."""
        _ = self.gettext
        parts = [_("plan {name}").format(name=line.plan)]
        if line.price_version is not None:
            parts.append(_("price from {date}").format(date=self.day(line.price_version)))
        if line.proration is not None:
            days, of = line.proration
            parts.append(
                _("prorated {days}/{of} days").format(days=self.number(days), of=self.number(of))
            )
        if line.timing is Timing.ARREARS:
            parts.append(_("in arrears"))
        elif line.timing is Timing.ADVANCE:
            parts.append(_("in advance"))
        if line.kind is LineKind.USAGE and line.rating is not None and line.rating.included:
            included = self.number(line.rating.included)
            parts.append(_("{quantity} included").format(quantity=included))
        return _(", ").join(parts)

    def quantity(self, line: InvoiceLine) -> str:
        """The line's quantity with its unit (a billing period's unit translated).

        A money credit's quantity is the money drawn, shown as money (``€20.00``).
        """
        if is_money_credit(line, self.currency):
            return self.money(line.quantity)  # money drawn, not a count of "EUR"
        unit = line.unit
        if line.kind is not LineKind.USAGE:
            unit = period_unit(unit, self, line.quantity)
        return f"{self.number(line.quantity)} {unit}"

    def line_unit_price(self, line: InvoiceLine) -> str:
        """The line's unit price, every digit kept, or empty when tiers price it."""
        if line.unit_price is None:
            return ""
        return self.unit_price(line.unit_price)

    def tier(self, row: ChargeLine) -> tuple[str, str]:
        """A breakdown row as ``(what, how)``: ``tier 2: 1,000 < q`` and ``4,000 × €0.002``."""
        how = f"{self.number(row.quantity)} × {self.unit_price(row.unit_amount)}"
        if row.flat_amount:
            how += f" + {self.unit_price(row.flat_amount)}"
        return charge_line_label(row, self), f"{how} = {self.unit_price(row.amount)}"

    def discount_name(self, name: str, kind: str, value: Decimal) -> str:
        """``Launch (10 %)`` or ``Credit (€5.00)``."""
        shown = self.percent(value) if kind == "percentage" else self.money(value)
        return f"{name} ({shown})"

    def tax_name(self, name: str, percent: Decimal, rounding: TaxRounding) -> str:
        """``VAT 19% (rounded per line)``, the percentage through Babel."""
        _ = self.gettext
        per_line = rounding is TaxRounding.PER_LINE
        how = _("rounded per line") if per_line else _("rounded on the total")
        return f"{name} {self.percent(percent)} ({how})"


def breakdown_text(line: StatementLine, fmt: Formatter) -> str:
    """``100 + 990,000 × $0.005 + 1,400,000 × $0.00084``: how a period was re-billed."""
    _ = fmt.gettext
    parts = []
    for part in line.breakdown:
        pieces = []
        if part.flat_amount and not part.unit_amount:
            parts.append(
                _("{quantity} for {amount} flat").format(
                    quantity=fmt.number(part.quantity), amount=fmt.money(part.flat_amount)
                )
            )
            continue
        if part.quantity and part.unit_amount:
            pieces.append(f"{fmt.number(part.quantity)} × {fmt.unit_price(part.unit_amount)}")
        if part.flat_amount:
            pieces.append(_("{amount} flat").format(amount=fmt.money(part.flat_amount)))
        if not pieces:
            pieces.append(_("{quantity} free").format(quantity=fmt.number(part.quantity)))
        parts.append(" + ".join(pieces))
    return "; ".join(parts)


def common_allowance(statement: Statement) -> Decimal | None:
    """The allowance when every period has the same one (shown once, not per row)."""
    values = {line.allowance for line in statement.lines}
    if len(values) == 1:
        (only,) = values
        return only
    return None


def document_title(doc: AdjustmentDocument, fmt: Formatter) -> str:
    """``Debit note`` or ``Credit note``, translated."""
    _ = fmt.gettext
    return _("Debit note") if doc.kind == "debit_note" else _("Credit note")


def document_line_text(
    doc: AdjustmentDocument, index: int, statement: Statement, fmt: Formatter
) -> str:
    """What line ``index`` of ``doc`` corrects, in words, with figures through Babel.

    The engine writes each line's description in locale-free English with plain figures
    (``re-billed 6226.00``); here it is said again from the statement line of the document's
    period. A document whose period is not on the statement keeps the engine's description.
    """
    _ = fmt.gettext
    line = next((x for x in statement.lines if x.label == doc.period), None)
    if line is None:
        return doc.lines[index].description
    rebilled, billed = fmt.money(line.rebilled), fmt.money(line.billed)
    if doc.kind == "credit_note":
        return _(
            "Usage over-billed, {period}: billed {billed}, re-billed {rebilled} ({version})"
        ).format(period=line.label, billed=billed, rebilled=rebilled, version=line.version)
    if line.delta > 0 and index == 0:
        return _(
            "Usage under-billed, {period}: re-billed {rebilled} ({version}) less billed {billed}"
        ).format(period=line.label, billed=billed, rebilled=rebilled, version=line.version)
    return _("Interest at {policy}: {days} days, {due} to {as_of}").format(
        policy=statement.interest_policy,
        days=fmt.number(line.days_late),
        due=fmt.day(line.due),
        as_of=fmt.day(statement.as_of),
    )


def period_unit(unit: str, fmt: Formatter, count: Decimal | int = 1) -> str:
    """A billing period's unit (``week``, ``month``, ``quarter``, ``year``), translated.

    Any other unit (a meter's ``requests``, ``tokens``) stays as the contract names it.
    """
    n = int(count) if count == int(count) else 2  # a fraction of a period reads as plural
    if unit == "week":
        return fmt.ngettext("week", "weeks", n)
    if unit == "month":
        return fmt.ngettext("month", "months", n)
    if unit == "quarter":
        return fmt.ngettext("quarter", "quarters", n)
    if unit == "year":
        return fmt.ngettext("year", "years", n)
    return unit


def charge_line_label(row: ChargeLine, fmt: Formatter) -> str:
    """What a breakdown row priced, in words: ``tier 2: 1,000 < q ≤ 5,000``, ``per unit``.

    Tier rows are said again from their bounds with the locale's numbers; the fixed names the
    engines give (``per unit``, ``flat amount``, a true-up's two rows) are translated; any other
    row keeps the engine's description.
    """
    _ = fmt.gettext
    if row.tier is not None and row.lower is not None:
        return _tier_label(row.tier, row.lower, row.upper, fmt)
    fixed = {
        "per unit": _("per unit"),
        "flat amount": _("flat amount"),
        "minimum commitment": _("minimum commitment"),
        "usage charges billed": _("usage charges billed"),
    }
    return fixed.get(row.description, row.description)


def _tier_label(tier: int, lower: Decimal, upper: Decimal | None, fmt: Formatter) -> str:
    """The range of a tier, as the pricing engine describes it, with the locale's numbers."""
    _ = fmt.gettext
    number = fmt.number(tier)
    if tier == 1:
        if upper is None:
            return _("tier {number}: q ≥ 0").format(number=number)
        return _("tier {number}: 0 ≤ q ≤ {upper}").format(number=number, upper=fmt.number(upper))
    if upper is None:
        return _("tier {number}: q > {lower}").format(number=number, lower=fmt.number(lower))
    return _("tier {number}: {lower} < q ≤ {upper}").format(
        number=number, lower=fmt.number(lower), upper=fmt.number(upper)
    )
