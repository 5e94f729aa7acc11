"""Localized labels shared by the invoice renderers: money, quantities, dates, spans, tiers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from babel import Locale

from meterlib.display import format_date_local, format_money, format_number, parse_locale
from meterlib.invoicing.invoice import Invoice, InvoiceLine, LineKind
from meterlib.invoicing.plans import TaxRounding, Timing
from meterlib.money import Money
from meterlib.pricing import ChargeLine

__all__ = ["Labels"]


class Labels:
    """Formats an invoice's figures for one locale and currency."""

    def __init__(self, invoice: Invoice, locale: str | Locale) -> None:
        """Remember the locale (checked through Babel) and the invoice's currency."""
        self.locale = parse_locale(locale)
        self.currency = invoice.currency

    def money(self, amount: Decimal, *, exact: bool = False) -> str:
        """An amount in the invoice's currency; ``exact`` keeps sub-cent digits."""
        return format_money(Money(amount, self.currency), self.locale, exact=exact)

    def number(self, value: Decimal) -> str:
        """A quantity with the locale's grouping and decimal signs, every digit kept."""
        return format_number(value, self.locale)

    def day(self, value: date) -> str:
        """A date, medium length (``Mar 15, 2023``, ``15.03.2023``)."""
        return format_date_local(value, self.locale)

    def span(self, line: InvoiceLine) -> str:
        """The days a line covers, inclusive: ``Mar 1, 2023 – Mar 14, 2023``."""
        first = line.start.date()
        last = (line.end - timedelta(microseconds=1)).date()
        if last <= first:
            return self.day(first)
        return f"{self.day(first)} – {self.day(last)}"

    def period(self, invoice: Invoice) -> str:
        """The invoice's billing period as its first and last day, inclusive."""
        last = (invoice.period.end - timedelta(microseconds=1)).date()
        return f"{self.day(invoice.period.start.date())} – {self.day(last)}"

    def detail(self, line: InvoiceLine) -> str:
        """A short note under a line: the plan, the price version, proration, timing."""
        parts = [f"plan {line.plan}"]
        if line.price_version is not None:
            parts.append(f"price from {self.day(line.price_version)}")
        if line.proration is not None:
            parts.append(f"prorated {line.proration[0]}/{line.proration[1]} days")
        if line.timing is Timing.ARREARS:
            parts.append("in arrears")
        elif line.timing is Timing.ADVANCE:
            parts.append("in advance")
        if line.kind is LineKind.USAGE and line.rating is not None and line.rating.included:
            parts.append(f"{self.number(line.rating.included)} included")
        return ", ".join(parts)

    def quantity(self, line: InvoiceLine) -> str:
        """The line's quantity with its unit."""
        return f"{self.number(line.quantity)} {line.unit}"

    def unit_price(self, line: InvoiceLine) -> str:
        """The line's unit price, every digit kept, or empty when tiers price it."""
        if line.unit_price is None:
            return ""
        return self.money(line.unit_price, exact=True)

    def tier(self, row: ChargeLine) -> tuple[str, str]:
        """A breakdown row as ``(what, how)``: ``tier 2: 1,000 < q`` and ``4,000 × €0.002``."""
        how = f"{self.number(row.quantity)} × {self.money(row.unit_amount, exact=True)}"
        if row.flat_amount:
            how += f" + {self.money(row.flat_amount, exact=True)}"
        return row.description, f"{how} = {self.money(row.amount, exact=True)}"

    def tax_name(self, name: str, percent: Decimal, rounding: TaxRounding) -> str:
        """``VAT 19 %`` with how it was rounded."""
        how = "per line" if rounding is TaxRounding.PER_LINE else "on the total"
        return f"{name} {self.number(percent)} % (rounded {how})"
