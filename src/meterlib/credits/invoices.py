"""Credits drawn by an invoice: the draw lines that name their grants and the amount left due.

:func:`apply_credits` draws the invoice's total (after discounts and taxes: prepaid credit
settles what is owed, as Lago's wallet credits do, rather than reducing the taxable base as a
discount would) from the customer's credit ledger in the invoice currency, at the invoice's
issue instant, in the documented draw order. The invoice itself is unchanged: the result
carries the draw lines (one per grant, each naming it) and the amount still due, and the new
credit ledger with the draw recorded under the invoice number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from meterlib._numbers import EXACT
from meterlib.credits.grants import CreditLedger, Draw, DrawLine
from meterlib.errors import InvalidValueError
from meterlib.invoicing.invoice import Invoice

__all__ = ["CreditedInvoice", "apply_credits"]


@dataclass(frozen=True, slots=True)
class CreditedInvoice:
    """An invoice with the credit drawn for it."""

    invoice: Invoice
    draw: Draw

    @property
    def lines(self) -> tuple[DrawLine, ...]:
        """One line per grant drawn on, each naming its grant."""
        return self.draw.lines

    @property
    def credited(self) -> Decimal:
        """The credit drawn."""
        return self.draw.drawn

    @property
    def amount_due(self) -> Decimal:
        """What the customer still owes after credits."""
        return EXACT.subtract(self.invoice.total, self.draw.drawn)


def apply_credits(
    invoice: Invoice, book: CreditLedger, at: datetime
) -> tuple[CreditedInvoice, CreditLedger]:
    """Draw ``invoice``'s total from ``book`` at ``at``; the credited invoice and new ledger."""
    if book.customer != invoice.customer:
        raise InvalidValueError("customer", book.customer, f"the invoice's {invoice.customer!r}")
    amount = max(invoice.total, Decimal(0))
    draw, after = book.draw(amount, invoice.currency, at, invoice.number)
    return CreditedInvoice(invoice, draw), after
