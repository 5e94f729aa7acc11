"""Credit and debit notes: the one way an issued invoice is corrected.

A :class:`Note` names the invoice it corrects, and each :class:`NoteLine` the line of that
invoice (its index, kind, charge, plan and span; taxes by name) and the signed amount it adds
to what the customer owes: a **debit note** when the note's total is above zero, a **credit
note** when below. Figures are whole minor units.

:func:`late_usage_lines` computes the lines that bring an issued invoice and the late-usage
notes already issued for it to what the period is worth now (re-computed with the usage known
now), each listing the late events that caused it. :func:`credit_lines` builds an ordinary
credit note: the whole invoice, some lines, or an amount. Both are pure; the document store
numbers and keeps the notes.

Why a note exists is its ``cause``: ``late_usage`` (a re-check found usage that arrived after
the invoice was issued), ``backbill`` (a back-billing statement) or ``credit`` (a credit
granted by hand, with its reason). A re-check balances only what usage changed, so a credit
granted by hand is never taken back by a later re-check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from meterlib._numbers import EXACT, ROUNDED, to_decimal
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError, describe
from meterlib.invoicing.invoice import Invoice, InvoiceLine, LineKind
from meterlib.invoicing.lifecycle import DocumentKind
from meterlib.invoicing.refs import CorrectionRef, LateEvent
from meterlib.rounding import quantum

__all__ = [
    "LateEvent",
    "Note",
    "NoteLine",
    "PeriodRef",
    "correction_lines_in",
    "credit_lines",
    "late_usage_lines",
    "note_from_json",
    "note_to_json",
    "with_corrections",
]

_ZERO = Decimal(0)
CAUSES = ("late_usage", "backbill", "credit")

#: The key a correction is matched by: (kind, charge, plan, start) of a line, or a tax name.
_Key = tuple[str, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class NoteLine:
    """One correction: which invoice line it corrects, by how much, and why."""

    invoice: str | None
    """The invoice corrected; ``None`` on a note over a period no invoice billed."""
    line: int | None
    """Index of the corrected line in the invoice; ``None`` for a tax or a line it lacked."""
    kind: str
    """The corrected line's kind (``fee``, ``usage``, ``commitment``), ``tax`` or ``amount``."""
    charge: str
    plan: str | None
    start: datetime | None
    end: datetime | None
    description: str
    quantity: Decimal | None
    """For a usage line, the change in quantity."""
    amount: Decimal
    """Signed: what the line adds to what the customer owes (credits below zero)."""
    late_events: tuple[LateEvent, ...] = ()

    @property
    def key(self) -> _Key:
        """What the line corrects, independent of where it sits in the invoice."""
        start = None if self.start is None else self.start.isoformat()
        return (self.kind, self.charge, self.plan, start)


@dataclass(frozen=True, slots=True)
class PeriodRef:
    """What a note points at when no issued invoice billed its period: customer and period.

    Only back-billing issues such notes (see :mod:`meterlib.ledger.backbilling`): a debit
    note over a period is paid like an invoice, a credit note over a period goes to the
    customer's credit balance.
    """

    customer: str
    currency: str
    start: datetime
    end: datetime
    timezone: str = "UTC"
    """The zone the note's issue date is taken in."""


@dataclass(frozen=True, slots=True)
class Note:
    """A credit or debit note correcting one issued invoice, or billing one period."""

    number: str
    customer: str
    currency: str
    invoice: str | None
    """The number of the invoice it corrects; ``None`` for a note over a period no issued
    invoice billed (then ``period_start`` and ``period_end`` say which)."""
    cause: str
    reason: str
    issued_on: date
    lines: tuple[NoteLine, ...]
    total: Decimal
    period_start: datetime | None = None
    period_end: datetime | None = None

    @property
    def kind(self) -> DocumentKind:
        """A debit note when the total is above zero, else a credit note."""
        return DocumentKind.DEBIT_NOTE if self.total > 0 else DocumentKind.CREDIT_NOTE

    def check(self) -> None:
        """Raise unless the total is the sum of the lines, in whole minor units (one at least)."""
        unit = quantum(self.currency)
        total = _ZERO
        for index, line in enumerate(self.lines):
            if line.amount.quantize(unit, context=ROUNDED) != line.amount:
                raise InvalidValueError(
                    f"lines[{index}].amount", line.amount, f"whole minor units of {self.currency}"
                )
            if line.invoice != self.invoice:
                raise InvalidValueError(
                    f"lines[{index}].invoice", line.invoice, str(self.invoice or "null")
                )
            total = EXACT.add(total, line.amount)
        if total != self.total:
            raise InvalidValueError("total", self.total, f"the sum of the lines = {total}")
        if self.invoice is None and (self.period_start is None or self.period_end is None):
            raise InvalidValueError("invoice", None, "an invoice number, or the period noted")
        if not self.lines:
            raise InvalidValueError("lines", self.lines, "at least one line")
        if self.cause not in CAUSES:
            raise InvalidValueError("cause", self.cause, f"one of {CAUSES}")

    def __str__(self) -> str:
        """Locale-free one-line summary."""
        if self.invoice is None:
            start, end = self.period_start, self.period_end
            where = f"period {_time(start)} to {_time(end)}"
        else:
            where = f"invoice {self.invoice}"
        return f"{self.kind.value} {self.number} for {where}: {self.total}"

    def _repr_html_(self) -> str:
        """Show as HTML in Jupyter (``en_US``): the invoice it corrects, line by line."""
        from meterlib.render.html.issued import note_fragment  # noqa: PLC0415

        return note_fragment(self, "en_US")


def _keyed(invoice: Invoice) -> dict[_Key, tuple[int | None, Decimal, str, Any]]:
    """Each line's and tax's key -> (line index, net amount, description, the line or tax)."""
    found: dict[_Key, tuple[int | None, Decimal, str, Any]] = {}
    for index, line in enumerate(invoice.lines):
        key = (line.kind.value, line.charge, line.plan, line.start.isoformat())
        found[key] = (index, line.net, line.description, line)
    for tax in invoice.taxes:
        found[("tax", tax.name, None, None)] = (None, tax.amount, f"Tax {tax.name}", tax)
    return found


def late_usage_lines(
    issued: Invoice,
    corrections: Iterable[NoteLine],
    now: Invoice,
    late: Mapping[str, Sequence[LateEvent]] | None = None,
) -> tuple[NoteLine, ...]:
    """The lines bringing ``issued`` plus its earlier ``corrections`` to ``now``.

    ``corrections`` are the lines of the late-usage notes already issued for ``issued`` and the
    correction lines later invoices carry for it (credits granted by hand and back-billing
    notes are not among them). ``now`` is the same period re-computed with the usage known now.
    Lines and taxes are matched by kind, charge, plan and start (a line ``now`` has that
    ``issued`` lacks, such as a new commitment true-up, corrects no line index). ``late`` maps
    a usage line's charge to the late events that changed it. The lines add up to
    ``now.total - issued.total - sum(corrections)``.
    """
    if now.customer != issued.customer or now.period != issued.period:
        raise InvalidValueError("now", str(now), f"the same customer and period as {issued}")
    # correction lines the invoice carries bill other periods: they are not this period's value
    before = {k: v for k, v in _keyed(issued).items() if k[0] != LineKind.CORRECTION.value}
    after = _keyed(now)
    corrected: dict[_Key, Decimal] = {}
    for line in corrections:
        if line.invoice != issued.number:
            raise InvalidValueError("corrections", line.invoice, f"corrections of {issued.number}")
        corrected[line.key] = EXACT.add(corrected.get(line.key, _ZERO), line.amount)
    lines: list[NoteLine] = []
    for key in [*before, *(k for k in after if k not in before), *corrected]:
        if any(line.key == key for line in lines):
            continue
        was = EXACT.add(before[key][1] if key in before else _ZERO, corrected.get(key, _ZERO))
        value = after[key][1] if key in after else _ZERO
        delta = EXACT.subtract(value, was)
        if delta == 0:
            continue
        index, _, description, item = before.get(key) or after[key]
        quantity = None
        if key[0] == "usage":
            old = before[key][3].quantity if key in before else _ZERO
            new = after[key][3].quantity if key in after else _ZERO
            quantity = EXACT.subtract(new, old)
        lines.append(
            NoteLine(
                invoice=issued.number,
                line=index if key in before else None,
                kind=key[0],
                charge=key[1],
                plan=key[2],
                start=None if key[3] is None else item.start,
                end=None if key[3] is None else item.end,
                description=description,
                quantity=quantity,
                amount=delta,
                late_events=tuple((late or {}).get(key[1], ())) if key[0] == "usage" else (),
            )
        )
    return tuple(lines)


def credit_lines(
    issued: Invoice,
    notes: Iterable[Note],
    *,
    lines: Mapping[int, Decimal | int | str] | None = None,
    amount: Decimal | int | str | None = None,
) -> tuple[NoteLine, ...]:
    """The lines of an ordinary credit note on ``issued``.

    With neither ``lines`` nor ``amount``: the whole of what the invoice and its ``notes`` still
    come to, line by line and tax by tax. With ``lines`` (line index -> amount to credit, above
    zero, at most what the line still comes to): those lines. With ``amount``: one line for that
    sum, at most what the invoice still comes to.
    """
    unit = quantum(issued.currency)
    left = {key: value[1] for key, value in _keyed(issued).items()}
    whole = issued.total
    for note in notes:
        whole = EXACT.add(whole, note.total)
        for line in note.lines:
            if line.key in left:
                left[line.key] = EXACT.add(left[line.key], line.amount)

    def checked(field: str, value: Decimal | int | str, most: Decimal) -> Decimal:
        figure = to_decimal(value, field)
        if figure.quantize(unit, context=ROUNDED) != figure:
            raise InvalidValueError(field, value, f"whole minor units of {issued.currency}")
        if not _ZERO < figure <= most:
            raise InvalidValueError(field, value, f"above 0 and at most {most}")
        return figure

    if amount is not None:
        if lines is not None:
            raise InvalidValueError("amount", amount, "not given together with lines")
        figure = checked("amount", amount, whole)
        return (
            NoteLine(issued.number, None, "amount", "credit", None, None, None,
                     "Credit", None, -figure),
        )
    keyed = _keyed(issued)
    if lines is None:
        chosen = [(key, left[key]) for key in keyed if left[key] > 0]
    else:
        by_index: dict[int, _Key] = {}
        for key, found in keyed.items():
            if found[0] is not None:
                by_index[found[0]] = key
        chosen = []
        for index, value in sorted(lines.items()):
            if index not in by_index:
                raise InvalidValueError("line", index, f"a line of {issued.number} (0 to "
                                        f"{len(issued.lines) - 1})")
            key = by_index[index]
            chosen.append((key, checked(f"lines[{index}]", value, left[key])))
    result = []
    for key, figure in chosen:
        position, _, description, item = keyed[key]
        result.append(
            NoteLine(issued.number, position, key[0], key[1], key[2],
                     None if key[3] is None else item.start,
                     None if key[3] is None else item.end,
                     description, None, -figure)
        )
    return tuple(result)


def with_corrections(draft: Invoice, lines: Iterable[NoteLine]) -> Invoice:
    """``draft`` with ``lines`` (corrections of earlier invoices) added as correction lines.

    This is how late usage is billed on the next invoice (Kill Bill's way): each line keeps
    the invoice, line and late events it corrects; the totals grow by the lines' sum, and no
    discount or tax applies to them again (a tax correction is a line of its own).
    """
    added = []
    total = _ZERO
    unit = quantum(draft.currency)
    for line in lines:
        if line.amount.quantize(unit, context=ROUNDED) != line.amount:
            raise InvalidValueError("amount", line.amount, f"whole minor units of {draft.currency}")
        if line.invoice is None:
            raise InvalidValueError("invoice", None, "the invoice a correction line corrects")
        where = line.invoice if line.line is None else f"{line.invoice} line {line.line + 1}"
        added.append(
            InvoiceLine(
                kind=LineKind.CORRECTION,
                charge=line.charge,
                description=f"Correction of {where}: {line.description}",
                plan=line.plan or "",
                start=line.start or draft.period.start,
                end=line.end or draft.period.end,
                quantity=line.quantity if line.quantity is not None else _ZERO,
                unit="",
                unit_price=None,
                price_version=None,
                timing=None,
                proration=None,
                rating=None,
                amount=line.amount,
                rounded=line.amount,
                discount=_ZERO.quantize(unit),
                corrects=CorrectionRef(line.invoice, line.line, line.kind, line.late_events),
            )
        )
        total = EXACT.add(total, line.amount)
    if not added:
        return draft
    return replace(
        draft,
        lines=(*draft.lines, *added),
        subtotal=EXACT.add(draft.subtotal, total),
        total=EXACT.add(draft.total, total),
    )


def correction_lines_in(invoice: Invoice, target: str) -> list[NoteLine]:
    """The correction lines ``invoice`` carries for invoice ``target``, as note lines."""
    found = []
    for line in invoice.lines:
        ref = line.corrects
        if ref is None or ref.invoice != target:
            continue
        spanned = ref.kind not in {"tax", "amount"}
        found.append(
            NoteLine(
                invoice=target,
                line=ref.line,
                kind=ref.kind,
                charge=line.charge,
                plan=line.plan or None,
                start=line.start if spanned else None,
                end=line.end if spanned else None,
                description=line.description,
                quantity=line.quantity if ref.kind == "usage" else None,
                amount=line.rounded,
                late_events=ref.late_events,
            )
        )
    return found


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def note_to_dict(note: Note) -> dict[str, Any]:
    """The note as JSON-ready data (figures as decimal strings, times in ISO 8601)."""
    return {
        "kind": note.kind.value,
        "number": note.number,
        "customer": note.customer,
        "currency": note.currency,
        "invoice": note.invoice,
        "cause": note.cause,
        "reason": note.reason,
        "issued_on": note.issued_on.isoformat(),
        "lines": [
            {
                "invoice": line.invoice,
                "line": line.line,
                "kind": line.kind,
                "charge": line.charge,
                "plan": line.plan,
                "start": _time(line.start),
                "end": _time(line.end),
                "description": line.description,
                "quantity": None if line.quantity is None else str(line.quantity),
                "amount": str(line.amount),
                "late_events": [
                    {"id": e.event_id, "type": e.type, "time": e.time.isoformat(),
                     "received": e.received.isoformat()}
                    for e in line.late_events
                ],
            }
            for line in note.lines
        ],
        "total": str(note.total),
        **({} if note.invoice is not None else
           {"period": {"start": _time(note.period_start), "end": _time(note.period_end)}}),
    }


def note_to_json(note: Note, *, indent: int | None = None) -> str:
    """The note as JSON text."""
    return json.dumps(note_to_dict(note), indent=indent, ensure_ascii=False)


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def note_from_json(text: str | bytes) -> Note:
    """Rebuild a note from :func:`note_to_json` text; refuse one that does not add up."""
    try:
        data = json.loads(text, parse_float=Decimal)
        if not isinstance(data, dict):
            raise InvalidValueError("note", data, "a JSON object")
        note = Note(
            number=data["number"],
            customer=data["customer"],
            currency=data["currency"],
            invoice=data["invoice"],
            cause=data["cause"],
            reason=data["reason"],
            issued_on=date.fromisoformat(data["issued_on"]),
            lines=tuple(
                NoteLine(
                    invoice=line["invoice"],
                    line=line["line"],
                    kind=line["kind"],
                    charge=line["charge"],
                    plan=line["plan"],
                    start=_moment(line["start"]),
                    end=_moment(line["end"]),
                    description=line["description"],
                    quantity=None if line["quantity"] is None
                    else to_decimal(line["quantity"], "quantity"),
                    amount=to_decimal(line["amount"], "amount"),
                    late_events=tuple(
                        LateEvent(e["id"], e["type"], datetime.fromisoformat(e["time"]),
                                  datetime.fromisoformat(e["received"]))
                        for e in line["late_events"]
                    ),
                )
                for line in data["lines"]
            ),
            total=to_decimal(data["total"], "total"),
            period_start=_moment((data.get("period") or {}).get("start")),
            period_end=_moment((data.get("period") or {}).get("end")),
        )
        note.check()
    except MeterlibError as error:
        raise DocumentError("note", [("", str(error))]) from error
    except (ValueError, KeyError, TypeError) as error:
        raise DocumentError("note", [("", f"not a note ({describe(error)})")]) from error
    return note
