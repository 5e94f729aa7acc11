"""Threshold invoices as invoice documents: one draft per part of a period billed in parts.

:func:`part_drafts` turns the parts :func:`~meterlib.credits.thresholds.threshold_invoices`
found into :class:`~meterlib.invoicing.Invoice` drafts that the document store issues
(:func:`meterlib.ledger.credits.issue_threshold_invoices` numbers and stores them in order).

**Spans.** A store keeps one invoice per customer and period start, so each part bills its own
span of the period: the first from the period's start, each next one from the instant after the
previous crossing, and each crossing part up to and including the instant of the crossing
(the span ends one microsecond later: spans are half-open); the final part ends with the period.
The spans tile the period, so the parts' invoices cover it exactly once (one exception: when
the last crossing is at the period's last microsecond, the final part, which then has no usage
of its own, bills that microsecond again).

**Lines.** A part's line bills the charge on the period's usage so far minus what earlier parts
billed (:func:`meterlib.pricing.rate_part`); its quantity is the usage in its span and its
breakdown has the two rows (charge so far, billed before). A part may be negative (a volume
price repricing the period): it is then a correction line pointing at the previous part's
invoice. The parts' totals add up to one invoice for the whole period, exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterlib._numbers import EXACT
from meterlib.credits.thresholds import ThresholdInvoice
from meterlib.errors import InvalidValueError
from meterlib.invoicing.invoice import Invoice, InvoiceLine, LineKind
from meterlib.invoicing.refs import CorrectionRef
from meterlib.periods import Period, zone
from meterlib.pricing import Charge, ChargeLine
from meterlib.rounding import round_amount

__all__ = ["PartTerms", "issue_instant", "part_draft", "part_spans"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class PartTerms:
    """Who and what the parts bill: the customer, the period, the charge and its wording."""

    customer: str
    currency: str
    period: Period
    charge: str
    """The charge's name (an invoice line's ``charge``)."""
    description: str = ""
    unit: str = "units"
    plan: str = ""
    timezone: str = "UTC"
    """The billing time zone: the zone of the lines' spans and of the issue dates."""
    payment_terms_days: int = 30


def part_spans(parts: Sequence[ThresholdInvoice], period: Period) -> list[Period]:
    """The span each part bills (see the module docstring); they tile ``period``.

    ``parts`` may stop before the final part (the parts crossed so far).
    """
    spans: list[Period] = []
    start = period.start
    for index, part in enumerate(parts):
        if part.at is None and index != len(parts) - 1:
            raise InvalidValueError(
                f"parts[{index}].at", part.at, "an instant (only the last part is final)"
            )
        end = period.end if part.at is None else part.at + _TICK
        if part.at is None and start == end and spans:
            # The last crossing took the last microsecond: the final part (usage 0, perhaps a
            # minimum) bills from that crossing's instant, the one span that overlaps another.
            start = spans[-1].end - _TICK
        if not period.start <= start < end <= period.end:
            raise InvalidValueError(
                f"parts[{index}].at", part.at, f"an instant in {period.label()}, after the last"
            )
        spans.append(Period(start, end))
        start = end
    return spans


def _rating(part: ThresholdInvoice) -> Charge:
    charge = part.part.charge
    billed = EXACT.minus(part.part.billed)
    rows = (
        ChargeLine(
            f"charge on {part.usage} {charge.model} so far", None, None, None, _ONE,
            charge.amount, _ZERO, charge.amount,
        ),
        ChargeLine("billed by earlier parts", None, None, None, _ONE, billed, _ZERO, billed),
    )
    return Charge(
        currency=charge.currency,
        model="progressive",
        quantity=part.usage,
        included=_ZERO,
        billable=part.usage,
        lines=rows,
        subtotal=part.part.amount,
        adjustment=_ZERO,
        adjustment_reason=None,
        amount=part.part.amount,
    )


def part_draft(  # noqa: PLR0917  (the part, its place and what came before it)
    terms: PartTerms,
    part: ThresholdInvoice,
    index: int,
    span: Period,
    billed_usage: Decimal,
    previous: str | None,
) -> Invoice:
    """The draft invoice of part ``index`` (0-based) billing ``span``.

    ``billed_usage`` is the cumulative usage earlier parts billed; ``previous`` the number of
    the previous part's issued invoice (needed when this part is negative: a correction of it).
    """
    local = zone(terms.timezone)
    issued = (part.at if part.at is not None else terms.period.end).astimezone(local).date()
    zero = round_amount(_ZERO, terms.currency)
    rounded = EXACT.add(part.part.rounded, zero)
    kind = LineKind.USAGE if rounded >= 0 else LineKind.CORRECTION
    corrects = None
    if kind is LineKind.CORRECTION:
        if previous is None:
            raise InvalidValueError("previous", previous, "the number of the part it corrects")
        corrects = CorrectionRef(previous, 0, LineKind.USAGE.value)
    label = terms.description or terms.charge
    line = InvoiceLine(
        kind=kind,
        charge=terms.charge,
        description=f"{label}: part {index + 1} ({part.reason})",
        plan=terms.plan,
        start=span.start.astimezone(local),
        end=span.end.astimezone(local),
        quantity=EXACT.subtract(part.usage, billed_usage),
        unit=terms.unit,
        unit_price=None,
        price_version=None,
        timing=None,
        proration=None,
        rating=_rating(part),
        amount=part.part.amount,
        rounded=rounded,
        discount=zero,
        corrects=corrects,
    )
    start = span.start.astimezone(local)
    draft = Invoice(
        number=f"{terms.customer}-{start:%Y%m%d%H%M%S%f}",
        customer=terms.customer,
        currency=terms.currency,
        timezone=terms.timezone,
        period=Period(start, span.end.astimezone(local)),
        issued_on=issued,
        due_on=issued + timedelta(days=terms.payment_terms_days),
        bill_to=None,
        seller=None,
        lines=(line,),
        discounts=(),
        taxes=(),
        subtotal=rounded,
        discount_total=zero,
        tax_total=zero,
        total=rounded,
    )
    draft.check()
    return draft


def issue_instant(part: ThresholdInvoice, period: Period) -> datetime:
    """When a part is issued: at its crossing, or at the period's end for the final part."""
    return period.end if part.at is None else part.at
