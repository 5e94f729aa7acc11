"""The life of an issued document: status, number series, payments and what an invoice owes.

These are pure values; the ledger's document store (:mod:`meterlib.ledger.documents`) keeps
them. An invoice is a **draft** (a computed :class:`~meterlib.invoicing.invoice.Invoice`, free
to change) until it is **issued**: it then gets the next number of its series and is stored
as the exact JSON it was issued with, never to change. It is **paid** once what it owes is
settled, or **void** (with a reason; a replacement may be issued). Every correction is a new
document, a credit or debit note (:mod:`meterlib.invoicing.notes`).

Conventions (where the reference systems differ):

- **Numbers** are gapless per series, ``{prefix}{sequence:0{width}d}`` (``INV-000042``);
  invoices, credit notes and debit notes each have their own series (Stripe and Orb number
  credit notes apart from invoices; Kill Bill numbers every invoice in one sequence). A prefix
  such as ``INV-2024-`` makes a yearly series: each prefix counts from 1.
- **What an invoice owes** (its *amount due*) is its total plus the totals of the notes that
  correct it (credit notes count negative, debit notes positive), as Kill Bill's invoice
  balance includes its adjustments; Stripe shows credit notes as positive amounts, meterlib
  stores every note figure signed, as what it adds to what the customer owes.
- **Payments** are applied to the invoice they name up to what it still owes; anything above
  goes to the customer's **credit balance** (one balance per customer and currency, as
  Stripe's customer balance), which the next invoice issued to that customer draws on. A
  credit note or a void that leaves an invoice overpaid moves the excess to the balance too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.invoicing.invoice import Invoice

__all__ = [
    "DocumentKind",
    "DocumentStatus",
    "InvoiceAccount",
    "InvoicePayment",
    "IssuedDocument",
    "IssuedInvoice",
    "NumberSeries",
    "Numbering",
]

_ZERO = Decimal(0)
_MAX_WIDTH = 18


class DocumentStatus(StrEnum):
    """Where a document is in its life."""

    DRAFT = "draft"
    """Computed, not issued: may still change (late usage folds in)."""
    ISSUED = "issued"
    """Frozen and numbered; money is still owed on it."""
    PAID = "paid"
    """Frozen, and nothing is owed on it any more."""
    VOID = "void"
    """Cancelled, with a reason; it owes nothing."""


class DocumentKind(StrEnum):
    """What an issued document is."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    DEBIT_NOTE = "debit_note"


@dataclass(frozen=True, slots=True)
class NumberSeries:
    """A gapless number series: ``prefix`` then the sequence padded to ``width`` digits."""

    prefix: str
    width: int = 6

    def __post_init__(self) -> None:
        """Refuse a prefix with spaces or control characters and a width out of 1..18."""
        if not isinstance(self.prefix, str) or any(
            c.isspace() or not c.isprintable() for c in self.prefix
        ):
            raise InvalidValueError("prefix", self.prefix, "text without spaces")
        if type(self.width) is not int or not 1 <= self.width <= _MAX_WIDTH:
            raise InvalidValueError("width", self.width, f"a whole number from 1 to {_MAX_WIDTH}")

    def format(self, sequence: int) -> str:
        """The number for ``sequence`` (1, 2, ...); a sequence wider than ``width`` is refused."""
        digits = f"{sequence:0{self.width}d}"
        if sequence < 1 or len(digits) > self.width:
            raise InvalidValueError(
                "sequence", sequence, f"1 to {10**self.width - 1} in series {self.prefix!r}"
            )
        return self.prefix + digits


@dataclass(frozen=True, slots=True)
class Numbering:
    """The series each kind of document is numbered in (distinct prefixes)."""

    invoice: NumberSeries = NumberSeries("INV-")
    credit_note: NumberSeries = NumberSeries("CN-")
    debit_note: NumberSeries = NumberSeries("DN-")

    def __post_init__(self) -> None:
        """Refuse two kinds sharing a prefix (their numbers would collide)."""
        prefixes = [self.invoice.prefix, self.credit_note.prefix, self.debit_note.prefix]
        if len(set(prefixes)) != len(prefixes):
            raise InvalidValueError("numbering", prefixes, "a different prefix for each kind")

    def series(self, kind: DocumentKind) -> NumberSeries:
        """The series documents of ``kind`` are numbered in."""
        if kind is DocumentKind.INVOICE:
            return self.invoice
        if kind is DocumentKind.CREDIT_NOTE:
            return self.credit_note
        return self.debit_note


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """An issued document as stored: its number, what it is, and its exact JSON ``body``."""

    kind: DocumentKind
    number: str
    series: str
    """The prefix of the series the number belongs to."""
    sequence: int
    customer: str
    currency: str
    total: Decimal
    """The document's total; for a note, signed (what it adds to what is owed)."""
    corrects: str | None
    """For a note, the number of the invoice it corrects."""
    period_start: datetime | None
    period_end: datetime | None
    issued_at: datetime
    grace_ends: datetime | None
    """For an invoice, when the contract's grace period for late usage ended."""
    body: str
    """The JSON the document was issued with, byte for byte."""

    @property
    def payable(self) -> bool:
        """True when payments may name it and it has an account.

        That is an invoice, or a back-billing debit note over a period no invoice billed.
        """
        return self.kind is DocumentKind.INVOICE or (
            self.kind is DocumentKind.DEBIT_NOTE and self.corrects is None
        )

    @property
    def early(self) -> bool:
        """True when issued before its period's grace period for late usage ended."""
        return self.grace_ends is not None and self.issued_at < self.grace_ends


@dataclass(frozen=True, slots=True, init=False)
class InvoicePayment:
    """Money received against an invoice: amount, date, reference and method."""

    invoice: str
    amount: Decimal
    paid_on: date
    reference: str | None
    method: str | None

    def __init__(
        self,
        invoice: str,
        amount: Decimal | int | str,
        paid_on: date,
        reference: str | None = None,
        method: str | None = None,
    ) -> None:
        """Pass the amount through the number funnel; it must be above zero."""
        if not isinstance(invoice, str) or not invoice:
            raise InvalidValueError("invoice", invoice, "an invoice number")
        value = to_decimal(amount, "amount")
        if value <= 0:
            raise InvalidValueError("amount", amount, "> 0")
        if type(paid_on) is not date:
            raise InvalidValueError("paid_on", paid_on, "a date")
        object.__setattr__(self, "invoice", invoice)
        object.__setattr__(self, "amount", value)
        object.__setattr__(self, "paid_on", paid_on)
        object.__setattr__(self, "reference", reference)
        object.__setattr__(self, "method", method)


@dataclass(frozen=True, slots=True)
class InvoiceAccount:
    """What an issued invoice owes now: its total, its notes, what was paid, its status."""

    number: str
    customer: str
    currency: str
    total: Decimal
    adjustments: Decimal
    """The signed sum of the credit and debit notes that correct it."""
    paid: Decimal
    """What was applied to it: payments, and credit balance it drew on."""
    void: bool
    void_reason: str | None
    replaced_by: str | None

    @property
    def amount_due(self) -> Decimal:
        """``total + adjustments``; zero for a void invoice."""
        return _ZERO if self.void else EXACT.add(self.total, self.adjustments)

    @property
    def remaining(self) -> Decimal:
        """``amount_due - paid``: what is still to pay."""
        return EXACT.subtract(self.amount_due, self.paid)

    @property
    def status(self) -> DocumentStatus:
        """``void``, ``paid`` when nothing remains, else ``issued``."""
        if self.void:
            return DocumentStatus.VOID
        return DocumentStatus.PAID if self.remaining <= 0 else DocumentStatus.ISSUED


@dataclass(frozen=True, slots=True)
class IssuedInvoice:
    """An issued invoice as a customer sees it now.

    The frozen invoice, its stored form, and its account (status, amount due, amount paid,
    remaining balance, void reason).
    """

    invoice: Invoice
    document: IssuedDocument
    account: InvoiceAccount

    @property
    def status(self) -> DocumentStatus:
        """The invoice's status now."""
        return self.account.status

    def __str__(self) -> str:
        """Locale-free one-line summary."""
        a = self.account
        return (
            f"{self.invoice} [{a.status.value}; due {a.amount_due}, paid {a.paid}, "
            f"remaining {a.remaining}]"
        )

    def _repr_html_(self) -> str:
        """Show as HTML in Jupyter (``en_US``), with its status and balance."""
        from meterlib.render.html.issued import issued_fragment  # noqa: PLC0415

        return issued_fragment(self, "en_US")
