"""Invoices to and from JSON, exactly.

Every amount and quantity is written as a decimal string (``"0.0005"``, never a JSON number),
dates and times as ISO 8601 (times with their offset), and every field of every line is kept,
tier breakdown included, so ``invoice_from_json(invoice_to_json(inv)) == inv`` holds. Reading
parses JSON numbers as ``Decimal`` (a number where a string is expected is still accepted
through the number funnel, a float never arises), puts times back into the invoice's billing
time zone and runs :meth:`Invoice.check`, so a document whose figures do not add up is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from meterlib._json import document
from meterlib._numbers import to_decimal
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError, describe
from meterlib.invoicing.contracts import Party
from meterlib.invoicing.invoice import DiscountLine, Invoice, InvoiceLine, LineKind, TaxLine
from meterlib.invoicing.plans import TaxRounding, Timing
from meterlib.invoicing.refs import CorrectionRef, LateEvent
from meterlib.periods import Period, zone
from meterlib.pricing import Charge, ChargeLine

__all__ = [
    "correction_from_dict",
    "correction_to_dict",
    "invoice_from_dict",
    "invoice_from_json",
    "invoice_to_dict",
    "invoice_to_json",
]

_WHAT = "invoice"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _charge(charge: Charge | None) -> dict[str, Any] | None:
    if charge is None:
        return None
    return {
        "currency": charge.currency,
        "model": charge.model,
        "quantity": str(charge.quantity),
        "included": str(charge.included),
        "billable": str(charge.billable),
        "lines": [
            {
                "description": row.description,
                "tier": row.tier,
                "lower": _text(row.lower),
                "upper": _text(row.upper),
                "quantity": str(row.quantity),
                "unit_amount": str(row.unit_amount),
                "flat_amount": str(row.flat_amount),
                "amount": str(row.amount),
            }
            for row in charge.lines
        ],
        "subtotal": str(charge.subtotal),
        "adjustment": str(charge.adjustment),
        "adjustment_reason": charge.adjustment_reason,
        "amount": str(charge.amount),
    }


def _line(line: InvoiceLine) -> dict[str, Any]:
    data = {
        "kind": line.kind.value,
        "charge": line.charge,
        "description": line.description,
        "plan": line.plan,
        "start": line.start.isoformat(),
        "end": line.end.isoformat(),
        "quantity": str(line.quantity),
        "unit": line.unit,
        "unit_price": _text(line.unit_price),
        "price_version": None if line.price_version is None else line.price_version.isoformat(),
        "timing": None if line.timing is None else line.timing.value,
        "proration": None if line.proration is None else list(line.proration),
        "rating": _charge(line.rating),
        "amount": str(line.amount),
        "rounded": str(line.rounded),
        "discount": str(line.discount),
        "net": str(line.net),
    }
    if line.corrects is not None:
        data["corrects"] = correction_to_dict(line.corrects)
    return data


def correction_to_dict(ref: CorrectionRef) -> dict[str, Any]:
    """What a correction line points at, as JSON-ready data."""
    return {
        "invoice": ref.invoice,
        "line": ref.line,
        "kind": ref.kind,
        "late_events": [
            {
                "id": e.event_id,
                "type": e.type,
                "time": e.time.isoformat(),
                "received": e.received.isoformat(),
            }
            for e in ref.late_events
        ],
    }


def correction_from_dict(data: Any, where: str) -> CorrectionRef:
    """Read :func:`correction_to_dict` data back."""
    try:
        line = data["line"]
        if line is not None and type(line) is not int:
            raise InvalidValueError(f"{where}.line", line, "a line index or null")
        return CorrectionRef(
            invoice=str(data["invoice"]),
            line=line,
            kind=str(data["kind"]),
            late_events=tuple(
                LateEvent(
                    str(e["id"]),
                    str(e["type"]),
                    datetime.fromisoformat(e["time"]),
                    datetime.fromisoformat(e["received"]),
                )
                for e in data["late_events"]
            ),
        )
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, MeterlibError):
            raise
        raise InvalidValueError(where, data, f"a correction reference ({error})") from None


def invoice_to_dict(invoice: Invoice) -> dict[str, Any]:
    """The invoice as JSON-ready data: strings for figures, lists, ``None`` for no value."""
    return {
        "number": invoice.number,
        "customer": invoice.customer,
        "currency": invoice.currency,
        "timezone": invoice.timezone,
        "period": {
            "start": invoice.period.start.isoformat(),
            "end": invoice.period.end.isoformat(),
        },
        "issued_on": invoice.issued_on.isoformat(),
        "due_on": invoice.due_on.isoformat(),
        "bill_to": None if invoice.bill_to is None else invoice.bill_to.model_dump(mode="json"),
        "seller": None if invoice.seller is None else invoice.seller.model_dump(mode="json"),
        "lines": [_line(line) for line in invoice.lines],
        "discounts": [
            {
                "name": d.name,
                "kind": d.kind,
                "value": str(d.value),
                "applies_to": None if d.applies_to is None else list(d.applies_to),
                "plan": d.plan,
                "amount": str(d.amount),
            }
            for d in invoice.discounts
        ],
        "taxes": [
            {
                "name": t.name,
                "percent": str(t.percent),
                "rounding": t.rounding.value,
                "base": str(t.base),
                "amount": str(t.amount),
            }
            for t in invoice.taxes
        ],
        "subtotal": str(invoice.subtotal),
        "discount_total": str(invoice.discount_total),
        "tax_total": str(invoice.tax_total),
        "total": str(invoice.total),
    }


def invoice_to_json(invoice: Invoice, *, indent: int | None = 2) -> str:
    """The invoice as JSON text (see the module docstring)."""
    return json.dumps(invoice_to_dict(invoice), indent=indent, ensure_ascii=False)


class _Reader:
    """Reads fields out of parsed JSON, naming the dotted location of anything wrong."""

    def __init__(self, zone_name: str) -> None:
        self.zone = zone(zone_name)

    @staticmethod
    def get(data: Any, key: str, where: str) -> Any:
        if not isinstance(data, Mapping):
            raise InvalidValueError(where, data, "an object")
        if key not in data:
            raise InvalidValueError(f"{where}.{key}".lstrip("."), None, "present")
        return data[key]

    def number(self, data: Any, key: str, where: str) -> Decimal:
        return to_decimal(self.get(data, key, where), f"{where}.{key}".lstrip("."))

    def maybe_number(self, data: Any, key: str, where: str) -> Decimal | None:
        value = self.get(data, key, where)
        return None if value is None else to_decimal(value, f"{where}.{key}".lstrip("."))

    def text(self, data: Any, key: str, where: str) -> str:
        value = self.get(data, key, where)
        if not isinstance(value, str):
            raise InvalidValueError(f"{where}.{key}".lstrip("."), value, "text")
        return value

    def maybe_text(self, data: Any, key: str, where: str) -> str | None:
        value = self.get(data, key, where)
        return None if value is None else self.text(data, key, where)

    def day(self, data: Any, key: str, where: str) -> date:
        text = self.text(data, key, where)
        try:
            return date.fromisoformat(text)
        except ValueError:
            field = f"{where}.{key}".lstrip(".")
            raise InvalidValueError(field, text, "a date YYYY-MM-DD") from None

    def moment(self, data: Any, key: str, where: str) -> datetime:
        text = self.text(data, key, where)
        field = f"{where}.{key}".lstrip(".")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValueError(field, text, "an ISO 8601 time with an offset") from None
        if parsed.tzinfo is None:
            raise InvalidValueError(field, text, "an ISO 8601 time with an offset")
        return parsed.astimezone(self.zone)

    def charge(self, data: Any, where: str) -> Charge | None:
        if data is None:
            return None
        rows = self.get(data, "lines", where)
        if not isinstance(rows, list):
            raise InvalidValueError(f"{where}.lines", rows, "a list")
        tier_rows = []
        for index, row in enumerate(rows):
            at = f"{where}.lines.{index}"
            tier = self.get(row, "tier", at)
            if tier is not None and type(tier) is not int:
                raise InvalidValueError(f"{at}.tier", tier, "an integer or null")
            tier_rows.append(
                ChargeLine(
                    description=self.text(row, "description", at),
                    tier=tier,
                    lower=self.maybe_number(row, "lower", at),
                    upper=self.maybe_number(row, "upper", at),
                    quantity=self.number(row, "quantity", at),
                    unit_amount=self.number(row, "unit_amount", at),
                    flat_amount=self.number(row, "flat_amount", at),
                    amount=self.number(row, "amount", at),
                ),
            )
        return Charge(
            currency=self.text(data, "currency", where),
            model=self.text(data, "model", where),
            quantity=self.number(data, "quantity", where),
            included=self.number(data, "included", where),
            billable=self.number(data, "billable", where),
            lines=tuple(tier_rows),
            subtotal=self.number(data, "subtotal", where),
            adjustment=self.number(data, "adjustment", where),
            adjustment_reason=self.maybe_text(data, "adjustment_reason", where),
            amount=self.number(data, "amount", where),
        )

    def line(self, data: Any, where: str) -> InvoiceLine:
        version = self.get(data, "price_version", where)
        timing = self.get(data, "timing", where)
        proration = self.get(data, "proration", where)
        if proration is not None and not (
            isinstance(proration, list)
            and len(proration) == 2
            and all(type(part) is int for part in proration)
        ):
            raise InvalidValueError(f"{where}.proration", proration, "[days billed, days] or null")
        try:
            kind = LineKind(self.text(data, "kind", where))
            timing_value = None if timing is None else Timing(timing)
        except ValueError as error:
            raise InvalidValueError(where, data.get("kind"), f"a known kind ({error})") from None
        return InvoiceLine(
            kind=kind,
            charge=self.text(data, "charge", where),
            description=self.text(data, "description", where),
            plan=self.text(data, "plan", where),
            start=self.moment(data, "start", where),
            end=self.moment(data, "end", where),
            quantity=self.number(data, "quantity", where),
            unit=self.text(data, "unit", where),
            unit_price=self.maybe_number(data, "unit_price", where),
            price_version=None if version is None else self.day(data, "price_version", where),
            timing=timing_value,
            proration=None if proration is None else (proration[0], proration[1]),
            rating=self.charge(self.get(data, "rating", where), f"{where}.rating"),
            amount=self.number(data, "amount", where),
            rounded=self.number(data, "rounded", where),
            discount=self.number(data, "discount", where),
            corrects=None
            if data.get("corrects") is None
            else correction_from_dict(data["corrects"], f"{where}.corrects"),
        )

    def party(self, data: Any, key: str) -> Party | None:
        value = self.get(data, key, "")
        if value is None:
            return None
        try:
            return Party.model_validate(value)
        except ValueError as error:
            raise InvalidValueError(key, value, f"a party ({error})") from None


def _list(reader: _Reader, data: Any, key: str) -> list[Any]:
    value = reader.get(data, key, "")
    if not isinstance(value, list):
        raise InvalidValueError(key, value, "a list")
    return value


def invoice_from_dict(data: Mapping[str, Any]) -> Invoice:
    """Rebuild an invoice from :func:`invoice_to_dict` data; see the module docstring.

    Raises :class:`~meterlib.errors.DocumentError` naming the first problem found.
    """
    try:
        reader = _Reader(_Reader.get(data, "timezone", ""))
        period = reader.get(data, "period", "")
        invoice = Invoice(
            number=reader.text(data, "number", ""),
            customer=reader.text(data, "customer", ""),
            currency=reader.text(data, "currency", ""),
            timezone=reader.text(data, "timezone", ""),
            period=Period(
                reader.moment(period, "start", "period"), reader.moment(period, "end", "period")
            ),
            issued_on=reader.day(data, "issued_on", ""),
            due_on=reader.day(data, "due_on", ""),
            bill_to=reader.party(data, "bill_to"),
            seller=reader.party(data, "seller"),
            lines=tuple(
                reader.line(line, f"lines.{index}")
                for index, line in enumerate(_list(reader, data, "lines"))
            ),
            discounts=tuple(
                _discount(reader, item, f"discounts.{index}")
                for index, item in enumerate(_list(reader, data, "discounts"))
            ),
            taxes=tuple(
                _tax(reader, item, f"taxes.{index}")
                for index, item in enumerate(_list(reader, data, "taxes"))
            ),
            subtotal=reader.number(data, "subtotal", ""),
            discount_total=reader.number(data, "discount_total", ""),
            tax_total=reader.number(data, "tax_total", ""),
            total=reader.number(data, "total", ""),
        )
        invoice.check()
    except MeterlibError as error:
        raise DocumentError(_WHAT, [("", str(error))]) from error
    return invoice


def _discount(reader: _Reader, data: Any, where: str) -> DiscountLine:
    kind = reader.text(data, "kind", where)
    if kind not in {"percentage", "fixed"}:
        raise InvalidValueError(f"{where}.kind", kind, "'percentage' or 'fixed'")
    applies = reader.get(data, "applies_to", where)
    if applies is not None and not (
        isinstance(applies, list) and all(isinstance(name, str) for name in applies)
    ):
        raise InvalidValueError(f"{where}.applies_to", applies, "a list of charge names or null")
    return DiscountLine(
        name=reader.text(data, "name", where),
        kind="percentage" if kind == "percentage" else "fixed",
        value=reader.number(data, "value", where),
        applies_to=None if applies is None else tuple(applies),
        plan=reader.text(data, "plan", where),
        amount=reader.number(data, "amount", where),
    )


def _tax(reader: _Reader, data: Any, where: str) -> TaxLine:
    rounding = reader.text(data, "rounding", where)
    try:
        mode = TaxRounding(rounding)
    except ValueError:
        expected = "'per_line' or 'per_invoice'"
        raise InvalidValueError(f"{where}.rounding", rounding, expected) from None
    return TaxLine(
        name=reader.text(data, "name", where),
        percent=reader.number(data, "percent", where),
        rounding=mode,
        base=reader.number(data, "base", where),
        amount=reader.number(data, "amount", where),
    )


def invoice_from_json(text: str | bytes) -> Invoice:
    """Rebuild an invoice from :func:`invoice_to_json` text (numbers read as ``Decimal``)."""
    if not isinstance(text, str | bytes):
        raise DocumentError(_WHAT, [("", f"must be JSON text (got {describe(text)})")])
    data = document(text, _WHAT)
    if not isinstance(data, Mapping):
        raise DocumentError(_WHAT, [("", f"must be an object (got {describe(data)})")])
    return invoice_from_dict(data)
