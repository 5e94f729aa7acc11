"""Back-billing: re-rate past periods, price what is owed with interest, within the lookback.

For each billed period, :func:`rebill`

1. sums the period's usage records (records may come in any order and several per period);
2. rates the usage with the basis (the price or plan version in force at the period's start)
   and rounds the charge to minor units half-up: the **rebilled** amount. When another
   version takes effect inside the period, the period is **split** at that day, as invoicing
   splits a plan change: each part is rated with its own version and rounded, and the parts
   add up. Usage goes to the part its records fall in (**by event time**) where the records
   are finer than the period; a record that spans the split day (such as a period total) is
   shared **by days**, each part to 12 decimal places and the last taking the rest so the
   parts add up exactly. The line's ``split`` says which, and its version names each part;
3. takes ``delta = rebilled - billed``: a debit when positive, a credit when negative;
4. dates the debt: ``due`` is the billed entry's own due date, else ``end + due_days``;
5. accrues interest from ``due`` to ``as_of`` on the unpaid part of the **rebilled** amount,
   as an exact fraction, and rounds it **once per period**, half-up (see
   :mod:`meterlib.backbill.interest`). Without payment records the billed amount counts as
   paid on the due date, so interest runs on ``delta`` alone (and is zero on a credit); with
   payment records each payment reduces the unpaid part from its own date, so a late payment
   of the original invoice also costs interest until the day it was made;
6. marks the period **barred** when its due date lies before ``as_of`` minus
   ``lookback_years`` calendar years (29 February minus one year is 28 February). Barred
   periods keep their figures on the statement but count in no total and get no document;
7. marks the period **not yet due** when on ``as_of`` it had not ended (``end > as_of``) or
   its due date was still to come (``due > as_of``): listed with its figures, in no total,
   with no document (nothing is claimed before it is owed).

The result does not depend on the order of the billed periods or of the usage records. Problems
that do not invalidate the statement (a usage record inside no billed period, a period without
any usage) are returned in ``statement.problems`` rather than raised; invalid input (overlapping
periods, a basis with no price in force) raises a :class:`~meterlib.errors.MeterlibError`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from itertools import pairwise

from meterlib._numbers import EXACT, ROUNDED, exact_sum, to_decimal
from meterlib.backbill.interest import InterestPolicy
from meterlib.backbill.statement import (
    AdjustmentDocument,
    DocumentLine,
    DocumentNumbering,
    Statement,
    StatementLine,
    Totals,
)
from meterlib.backbill.terms import DateSpan, RatedPeriod, RebillBasis, SplitsPeriods
from meterlib.backbill.usage import UsageRecord
from meterlib.errors import InvalidValueError
from meterlib.periods import add_months
from meterlib.pricing.charge import ChargeLine, plain
from meterlib.rounding import RoundingMode, round_amount, round_fraction

__all__ = [
    "BilledPeriod",
    "Number",
    "Payment",
    "lookback_cutoff",
    "rebill",
]

_ZERO = Decimal(0)
_NOTHING = Fraction(0)
_NO_INTEREST = InterestPolicy()


#: What the number funnel accepts for an amount or a quantity.
Number = Decimal | int | str


@dataclass(frozen=True, slots=True, init=False)
class Payment:
    """Money received against a billed period's invoice on ``paid_on``."""

    paid_on: date
    amount: Decimal

    def __init__(self, paid_on: date, amount: Number) -> None:
        """Pass the amount through the number funnel; it must be above zero."""
        if type(paid_on) is not date:
            raise InvalidValueError("paid_on", paid_on, "a date")
        value = to_decimal(amount, "amount")
        if value <= 0:
            raise InvalidValueError("amount", amount, "> 0")
        object.__setattr__(self, "paid_on", paid_on)
        object.__setattr__(self, "amount", value)


@dataclass(frozen=True, slots=True, init=False)
class BilledPeriod:
    """What was billed for one past period ``[start, end)``.

    ``due`` defaults to ``end + due_days`` (given to :func:`rebill`). ``payments`` is ``None``
    when unknown: the billed amount then counts as paid on the due date.
    """

    start: date
    end: date
    billed: Decimal
    invoice: str | None
    due: date | None
    payments: tuple[Payment, ...] | None

    def __init__(  # noqa: PLR0917  (start, end, amount read naturally in that order)
        self,
        start: date,
        end: date,
        billed: Number,
        invoice: str | None = None,
        due: date | None = None,
        payments: Iterable[Payment] | None = None,
    ) -> None:
        """Check the span, pass the amount through the funnel (not negative), freeze payments."""
        DateSpan(start, end)  # validates the dates
        amount = to_decimal(billed, "billed")
        if amount < 0:
            raise InvalidValueError("billed", billed, ">= 0")
        if due is not None and type(due) is not date:
            raise InvalidValueError("due", due, "a date")
        kept = None if payments is None else tuple(payments)
        for payment in kept or ():
            if not isinstance(payment, Payment):
                raise InvalidValueError("payments", payment, "a Payment")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "billed", amount)
        object.__setattr__(self, "invoice", invoice)
        object.__setattr__(self, "due", due)
        object.__setattr__(self, "payments", kept)


def lookback_cutoff(as_of: date, lookback_years: int | None) -> date | None:
    """``as_of`` minus ``lookback_years`` calendar years (Feb 29 - 1 year = Feb 28), or None."""
    if lookback_years is None:
        return None
    if type(lookback_years) is not int or lookback_years < 0:
        raise InvalidValueError("lookback_years", lookback_years, "a whole number of years >= 0")
    return add_months(as_of, -12 * lookback_years)


def _ordered(billed: Iterable[BilledPeriod]) -> list[BilledPeriod]:
    periods = sorted(billed, key=lambda p: (p.start, p.end))
    if not periods:
        raise InvalidValueError("billed", periods, "at least one billed period")
    for before, after in pairwise(periods):
        if after.start < before.end:
            raise InvalidValueError(
                "billed",
                f"{after.start.isoformat()}..{after.end.isoformat()}",
                f"periods that do not overlap (it overlaps {before.start.isoformat()}.."
                f"{before.end.isoformat()})",
            )
    return periods


def _usage_by_period(
    periods: list[BilledPeriod],
    usage: Iterable[UsageRecord],
    problems: list[str],
    held: list[list[UsageRecord]] | None = None,
) -> list[Decimal | None]:
    starts = [p.start for p in periods]
    totals: list[Decimal | None] = [None] * len(periods)
    add = EXACT.add
    # Sorted, so sums and the problems list do not depend on the order records came in.
    for record in sorted(usage, key=lambda r: (r.start, r.end, r.quantity)):
        index = bisect_right(starts, record.start) - 1
        if index < 0 or record.end > periods[index].end:
            problems.append(
                f"usage {plain(record.quantity)} for {record.start.isoformat()}.."
                f"{record.end.isoformat()} lies in no single billed period; left out",
            )
            continue
        known = totals[index]
        totals[index] = record.quantity if known is None else add(known, record.quantity)
        if held is not None:
            held[index].append(record)
    return totals


_PLACES = Decimal("1e-12")


def _share(records: list[UsageRecord], parts: list[DateSpan]) -> tuple[list[Decimal], bool]:
    """Each part's usage, and whether any record had to be shared by days."""
    shares = [_ZERO] * len(parts)
    by_days = False
    for record in records:
        inside = [
            (index, (min(record.end, part.end) - max(record.start, part.start)).days)
            for index, part in enumerate(parts)
            if record.start < part.end and part.start < record.end
        ]
        if len(inside) == 1:
            index = inside[0][0]
            shares[index] = EXACT.add(shares[index], record.quantity)
            continue
        by_days = True
        length = (record.end - record.start).days
        left = record.quantity
        for position, (index, days) in enumerate(inside):
            if position == len(inside) - 1:
                part_quantity = left
            else:
                part_quantity = ROUNDED.divide(
                    EXACT.multiply(record.quantity, Decimal(days)), Decimal(length)
                ).quantize(_PLACES, rounding=ROUND_HALF_EVEN, context=ROUNDED)
                left = EXACT.subtract(left, part_quantity)
            shares[index] = EXACT.add(shares[index], part_quantity)
    return shares, by_days


def _rate_split(
    basis: RebillBasis, span: DateSpan, days: tuple[date, ...], records: list[UsageRecord],
    currency: str,
) -> tuple[RatedPeriod, str]:
    """Rate a period split at ``days``: each part with its own version, then added up."""
    bounds = [span.start, *days, span.end]
    parts = [DateSpan(a, b) for a, b in pairwise(bounds)]
    shares, by_days = _share(records, parts)
    rated = [basis.rate(part, share) for part, share in zip(parts, shares, strict=True)]
    amount = rounded = _ZERO
    lines: list[ChargeLine] = []
    labels = []
    for part, share, one in zip(parts, shares, rated, strict=True):
        amount = EXACT.add(amount, one.amount)
        rounded = EXACT.add(rounded, one.rounded)
        last = part.end - timedelta(days=1)
        labels.append(f"{one.version} ({part.start.isoformat()}..{last.isoformat()}, "
                      f"usage {plain(share)})")
        lines.extend(replace(row, description=f"{one.version}: {row.description}")
                     for row in one.lines)
    allowances = {one.allowance for one in rated}
    how = "by days (usage known only for spans across the change)" if by_days else (
        "by event time")
    split = f"split at {', '.join(day.isoformat() for day in days)}, usage {how}"
    combined = RatedPeriod(
        amount, round_amount(rounded, currency), tuple(lines), " + ".join(labels),
        allowances.pop() if len(allowances) == 1 else None,
    )
    return combined, split


def rebill(
    basis: RebillBasis,
    billed: Iterable[BilledPeriod],
    usage: Iterable[UsageRecord],
    *,
    as_of: date,
    due_days: int,
    interest: InterestPolicy | None = None,
    lookback_years: int | None = None,
    allowance: Decimal | int | str | None = None,
    scenario: str = "base",
    basis_name: str = "rebill",
    title: str = "Back-billing statement",
    customer: str | None = None,
    numbering: DocumentNumbering | None = None,
    unit: str = "units",
    description: str = "",
) -> Statement:
    """Re-bill ``billed`` periods with ``basis`` on ``usage`` and value the result on ``as_of``.

    See the module docstring for every step. ``allowance``, when given, is the contractual
    allowance shown on every line, overriding the one the basis derives from its terms.
    """
    if type(as_of) is not date:
        raise InvalidValueError("as_of", as_of, "a date")
    if type(due_days) is not int or due_days < 0:
        raise InvalidValueError("due_days", due_days, "a whole number of days >= 0")
    policy = _NO_INTEREST if interest is None else interest
    stated = None if allowance is None else to_decimal(allowance, "allowance")
    cutoff = lookback_cutoff(as_of, lookback_years)
    currency = basis.currency
    problems: list[str] = []
    periods = _ordered(billed)
    held: list[list[UsageRecord]] = [[] for _ in periods]
    quantities = _usage_by_period(periods, usage, problems, held)
    term = timedelta(days=due_days)
    lines: list[StatementLine] = []
    # Once per rebill: a runtime Protocol check is slow.
    splits = basis if isinstance(basis, SplitsPeriods) else None
    for period, measured, records in zip(periods, quantities, held, strict=True):
        span = DateSpan(period.start, period.end)
        quantity = measured
        if quantity is None:
            problems.append(f"no usage given for {span.label}; re-billed at zero usage")
            quantity = _ZERO
        changes = splits.change_dates(span) if splits is not None else ()
        split = None
        if changes:
            rated, split = _rate_split(basis, span, changes, records, currency)
        else:
            rated = basis.rate(span, quantity)
        limit = rated.allowance if stated is None else stated
        overuse = None
        if limit is not None:
            overuse = EXACT.subtract(quantity, limit) if quantity > limit else _ZERO
        rebilled = rated.rounded
        delta = EXACT.subtract(rebilled, period.billed)
        due = period.due if period.due is not None else period.end + term
        paid = None
        if period.payments is None:
            # The billed amount counts as paid on the due date: interest runs on the delta.
            accrued = policy.accrue(delta, due, as_of) if delta > 0 else _NOTHING
        else:
            known = [(p.paid_on, p.amount) for p in period.payments if p.paid_on <= as_of]
            paid = exact_sum(amount for _, amount in known)
            accrued = policy.accrue(rebilled, due, as_of, known)
        late = (as_of - due).days
        pending = period.end > as_of or due > as_of
        lines.append(
            StatementLine(
                start=period.start,
                end=period.end,
                label=span.label,
                usage=quantity,
                allowance=limit,
                overuse=overuse,
                version=rated.version,
                breakdown=rated.lines,
                rebilled_exact=rated.amount,
                rebilled=rebilled,
                billed=period.billed,
                invoice=period.invoice,
                delta=delta,
                due=due,
                days_late=max(0, late),
                paid=paid,
                interest_exact=accrued,
                interest=round_fraction(accrued, currency, RoundingMode.HALF_UP),
                barred=cutoff is not None and due < cutoff and not pending,
                not_yet_due=pending,
                split=split,
            ),
        )
    documents = _documents(lines, currency, as_of, policy, numbering or DocumentNumbering())
    return Statement(
        title=title,
        customer=customer,
        currency=currency,
        as_of=as_of,
        scenario=scenario,
        basis=basis_name,
        interest_policy=policy.describe(),
        lookback_years=lookback_years,
        cutoff=cutoff,
        lines=tuple(lines),
        totals=_totals(lines),
        documents=documents,
        problems=tuple(problems),
        due_days=due_days,
        unit=unit,
        description=description,
    )


def _totals(lines: list[StatementLine]) -> Totals:
    counted = [line for line in lines if not line.barred and not line.not_yet_due]
    barred = [line for line in lines if line.barred]

    def total(values: Iterable[Decimal]) -> Decimal:
        result = _ZERO
        for value in values:
            result = EXACT.add(result, value)
        return result

    delta = total(line.delta for line in counted)
    interest = total(line.interest for line in counted)
    return Totals(
        periods=len(counted),
        barred=len(barred),
        usage=total(line.usage for line in counted),
        overuse=total(line.overuse or _ZERO for line in counted),
        rebilled=total(line.rebilled for line in counted),
        billed=total(line.billed for line in counted),
        delta=delta,
        debits=total(line.delta for line in counted if line.delta > 0),
        credits=EXACT.minus(total(line.delta for line in counted if line.delta < 0)),
        interest=interest,
        total=EXACT.add(delta, interest),
        open_billed=total(line.open_billed for line in counted),
        barred_delta=total(line.delta for line in barred),
        barred_interest=total(line.interest for line in barred),
        not_yet_due=sum(1 for line in lines if line.not_yet_due),
    )


def _credit_note(
    line: StatementLine, number: str, currency: str, as_of: date
) -> AdjustmentDocument:
    body = DocumentLine(
        f"Usage over-billed, {line.label}: billed {plain(line.billed)},"
        f" re-billed {plain(line.rebilled)} ({line.version})",
        EXACT.minus(line.delta),
    )
    return AdjustmentDocument(
        "credit_note", number, as_of, line.invoice, line.label, currency, (body,)
    )


def _debit_note(
    line: StatementLine, number: str, currency: str, as_of: date, how: str
) -> AdjustmentDocument:
    body = []
    if line.delta > 0:
        body.append(
            DocumentLine(
                f"Usage under-billed, {line.label}: re-billed {plain(line.rebilled)}"
                f" ({line.version}) less billed {plain(line.billed)}",
                line.delta,
            ),
        )
    if line.interest:
        body.append(
            DocumentLine(
                f"Interest at {how}: {line.days_late} days,"
                f" {line.due.isoformat()} to {as_of.isoformat()}",
                line.interest,
            ),
        )
    return AdjustmentDocument(
        "debit_note", number, as_of, line.invoice, line.label, currency, tuple(body)
    )


def _documents(
    lines: list[StatementLine],
    currency: str,
    as_of: date,
    policy: InterestPolicy,
    numbering: DocumentNumbering,
) -> tuple[AdjustmentDocument, ...]:
    """Per period: a credit note for a credit, a debit note for a debit and for any interest.

    A period whose original invoice was paid late can owe interest even when its usage was
    over-billed: it then gets both a credit note (the over-billing) and a debit note (the
    interest), so each document says one thing.
    """
    documents: list[AdjustmentDocument] = []
    debit_count = credit_count = 0
    how = policy.describe()
    for line in lines:
        if line.barred or line.not_yet_due:
            continue
        if line.delta < 0:
            number = numbering.number("credit_note", credit_count)
            credit_count += 1
            documents.append(_credit_note(line, number, currency, as_of))
        if line.delta > 0 or line.interest > 0:
            number = numbering.number("debit_note", debit_count)
            debit_count += 1
            documents.append(_debit_note(line, number, currency, as_of, how))
    return tuple(documents)
