"""What an invoice owes and what a correction corrects, in words: shared by text and HTML.

An invoice is rendered with its **account**: status, number, what it owes (its total and the
notes that correct it), what was paid and what remains. A computed
:class:`~meterlib.invoicing.invoice.Invoice` on its own is a **draft** (not issued: its number,
dates and figures may still change); an issued one comes with its
:class:`~meterlib.invoicing.lifecycle.InvoiceAccount`. Every label goes through the document's
:class:`~meterlib.render.format.Formatter`; line kinds the renderers do not know (a kind added
later, such as a credit draw) are shown as the engine names them, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterlib.invoicing.invoice import Invoice, InvoiceLine
from meterlib.invoicing.lifecycle import DocumentStatus, InvoiceAccount, IssuedDocument
from meterlib.invoicing.notes import Note, NoteLine
from meterlib.invoicing.refs import LateEvent
from meterlib.render.format import Formatter

__all__ = [
    "AccountRow",
    "account_rows",
    "cause_name",
    "correction_text",
    "kind_name",
    "late_events_text",
    "note_line_target",
    "note_period",
    "note_title",
    "period_span",
    "status_name",
    "status_notice",
]

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class AccountRow:
    """One row of an invoice's account: a label, its value, and a role (``total``, ...)."""

    label: str
    value: str
    role: str = ""


def status_name(status: DocumentStatus | str, fmt: Formatter) -> str:
    """``draft``, ``issued``, ``paid`` or ``void``, translated (any other status as named)."""
    _ = fmt.gettext
    names = {
        DocumentStatus.DRAFT.value: _("draft"),
        DocumentStatus.ISSUED.value: _("issued"),
        DocumentStatus.PAID.value: _("paid"),
        DocumentStatus.VOID.value: _("void"),
    }
    value = status.value if isinstance(status, DocumentStatus) else status
    return names.get(value, value)


def kind_name(kind: str, fmt: Formatter) -> str:
    """A line's or a document's kind in words (``usage``, ``credit_note``); unknown kinds raw."""
    _ = fmt.gettext
    names = {
        "fee": _("fee"),
        "usage": _("usage"),
        "commitment": _("commitment"),
        "correction": _("correction"),
        "tax": _("tax"),
        "amount": _("amount"),
        "backbill": _("back-billing"),
        "invoice": _("invoice"),
        "credit_note": _("credit note"),
        "debit_note": _("debit note"),
    }
    return names.get(kind, kind.replace("_", " "))


def cause_name(cause: str, fmt: Formatter) -> str:
    """Why a note exists, in words: ``late usage``, ``back-billing``, ``credit granted``."""
    _ = fmt.gettext
    names = {
        "late_usage": _("late usage"),
        "backbill": _("back-billing"),
        "credit": _("credit granted"),
    }
    return names.get(cause, cause.replace("_", " "))


def note_title(note: Note | IssuedDocument, fmt: Formatter) -> str:
    """``Credit note CN-000001`` or ``Debit note DN-000001``, translated."""
    _ = fmt.gettext
    if note.kind.value == "debit_note":
        return _("Debit note {number}").format(number=note.number)
    return _("Credit note {number}").format(number=note.number)


def account_rows(
    invoice: Invoice,
    account: InvoiceAccount | None,
    fmt: Formatter,
    document: IssuedDocument | None = None,
) -> list[AccountRow]:
    """The invoice's account; a draft's when ``account`` is ``None`` (nothing paid, all due).

    Rows: status, number, invoice total, the notes that correct it (when any), amount due,
    amount paid, remaining balance; for a void invoice its reason and replacement; for one
    issued before its grace period for late usage ended, that date.
    """
    _ = fmt.gettext
    if account is None:
        status, total, notes, due, paid = (
            DocumentStatus.DRAFT, invoice.total, _ZERO, invoice.total, _ZERO
        )
        remaining, number = invoice.total, invoice.number
    else:
        status, total, notes, due, paid = (
            account.status, account.total, account.adjustments, account.amount_due, account.paid
        )
        remaining, number = account.remaining, account.number
    rows = [
        AccountRow(_("Status"), status_name(status, fmt), "status"),
        AccountRow(_("Number"), number),
        AccountRow(_("Invoice total"), fmt.money(total)),
    ]
    if notes:
        rows.append(AccountRow(_("Credit and debit notes"), fmt.money(notes)))
    rows += [
        AccountRow(_("Amount due"), fmt.money(due)),
        AccountRow(_("Amount paid"), fmt.money(paid)),
        AccountRow(_("Remaining balance"), fmt.money(remaining), "total"),
    ]
    if account is not None and account.void:
        rows.append(AccountRow(_("Void reason"), account.void_reason or ""))
        if account.replaced_by:
            rows.append(AccountRow(_("Replaced by"), account.replaced_by))
    if document is not None and document.early and document.grace_ends is not None:
        rows.append(
            AccountRow(
                _("Grace period"),
                _("issued before it ended on {date}").format(
                    date=fmt.day(document.grace_ends.date())
                ),
            )
        )
    return rows


def status_notice(account: InvoiceAccount | None, fmt: Formatter) -> str:
    """A sentence for the reader when the invoice is a draft or void; empty otherwise."""
    _ = fmt.gettext
    if account is None:
        return _("Draft: not issued. The number, dates and amounts may still change.")
    if account.void:
        text = _("Void: {reason}. This invoice owes nothing.").format(
            reason=account.void_reason or ""
        )
        if account.replaced_by:
            text += " " + _("Replaced by invoice {number}.").format(number=account.replaced_by)
        return text
    return ""


def correction_text(line: InvoiceLine, fmt: Formatter) -> str:
    """For a correction line, what it corrects (``corrects INV-000001, line 8``); else empty."""
    _ = fmt.gettext
    ref = line.corrects
    if ref is None:
        return ""
    if ref.line is not None:
        text = _("corrects {invoice}, line {line}").format(
            invoice=ref.invoice, line=fmt.number(ref.line + 1)
        )
    else:
        text = _("corrects {invoice} ({kind})").format(
            invoice=ref.invoice, kind=kind_name(ref.kind, fmt)
        )
    if ref.late_events:
        text += "; " + late_events_text(ref.late_events, fmt)
    return text


def period_span(start: datetime, end: datetime, fmt: Formatter) -> str:
    """``Jan 1, 2024 – Jan 31, 2024``: a period's first and last day (``end`` is exclusive)."""
    first, last = start.date(), (end - timedelta(microseconds=1)).date()
    if last <= first:
        return fmt.day(first)
    return f"{fmt.day(first)} – {fmt.day(last)}"


def note_period(note: Note, fmt: Formatter) -> str:
    """The period a note over no invoice bills, as :func:`period_span`; empty otherwise."""
    if note.invoice is not None or note.period_start is None or note.period_end is None:
        return ""
    return period_span(note.period_start, note.period_end, fmt)


def note_line_target(line: NoteLine, fmt: Formatter, note: Note | None = None) -> str:
    """What a note line corrects: ``line 7``, ``tax VAT``, ``whole invoice``, ``new usage line``.

    A line of a note over a period no invoice billed names that period (``period Jan 1, 2024 –
    Jan 31, 2024``: its own span, else its ``note``'s period); a back-billing line of a note on
    an invoice corrects the whole invoice.
    """
    _ = fmt.gettext
    if line.invoice is None:
        if line.start is not None and line.end is not None:
            span = period_span(line.start, line.end, fmt)
        else:
            span = "" if note is None else note_period(note, fmt)
        if span:
            return _("period {period}").format(period=span)
    if line.kind == "tax":
        return _("tax {name}").format(name=line.charge)
    if line.line is not None:
        return _("line {line}").format(line=fmt.number(line.line + 1))
    if line.kind in {"amount", "backbill"}:
        return _("whole invoice")
    return _("new {kind} line").format(kind=kind_name(line.kind, fmt))


def late_events_text(events: tuple[LateEvent, ...], fmt: Formatter) -> str:
    """``late events: e1 (received 2023-04-03T10:00:00+00:00), ...`` (times exact, ISO 8601)."""
    _ = fmt.gettext
    shown = ", ".join(
        _("{event} (received {time})").format(
            event=fmt.isolate(e.event_id), time=fmt.isolate(e.received.isoformat())
        )
        for e in events
    )
    return _("late events: {events}").format(events=shown)

