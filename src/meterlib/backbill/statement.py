"""The back-billing statement: per-period lines, totals, and the documents that settle it.

A statement is a value: frozen, built once by :func:`meterlib.backbill.engine.rebill`, and
rendered by :mod:`meterlib.render` (text, HTML, CSV, charts), which this module does not
import (``_repr_html_`` hooks import their renderer when Jupyter calls them). Issued
invoices are never modified: a correction is a new document, a **debit note** (more is
owed) or a **credit note** (money goes back), that names the invoice it corrects. Interest
on a debit is a line of the same debit note.

Time-barred periods stay on the statement with every figure, marked ``barred``, and are left
out of every total and every document; so are periods that, on the valuation date, had not
ended or were not yet due (``not_yet_due``): nothing is claimed before it is owed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from meterlib._numbers import EXACT, exact_sum
from meterlib.pricing import ChargeLine

__all__ = [
    "LINE_RECORD_FIELDS",
    "AdjustmentDocument",
    "DocumentLine",
    "DocumentNumbering",
    "ScenarioComparison",
    "Statement",
    "StatementLine",
    "Totals",
]


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One past period, re-billed: what it should have cost, what was billed, what is owed."""

    start: date
    end: date
    label: str
    """``2023-03`` for a calendar month, else ``start..end``."""
    usage: Decimal
    allowance: Decimal | None
    """Usage the terms cover before a unit costs extra (see :mod:`meterlib.backbill.terms`)."""
    overuse: Decimal | None
    """``usage - allowance``, not below zero; ``None`` when there is no allowance."""
    version: str
    """Label of the price (or plan) version that re-billed the period."""
    breakdown: tuple[ChargeLine, ...]
    rebilled_exact: Decimal
    rebilled: Decimal
    """What the period should have cost, rounded to minor units half-up."""
    billed: Decimal
    invoice: str | None
    """Number of the invoice that billed the period, when known."""
    delta: Decimal
    """``rebilled - billed``: a debit when positive, a credit when negative."""
    due: date
    days_late: int
    """Calendar days from the due date to the valuation date (zero when not yet due)."""
    paid: Decimal | None
    """Payments known up to the valuation date; ``None`` when payments were not given."""
    interest_exact: Fraction
    interest: Decimal
    """Interest on the unpaid part, rounded once to minor units half-up."""
    barred: bool
    """True when the due date lies before the lookback limit: listed, never totalled."""
    not_yet_due: bool = False
    """True when, on the valuation date, the period had not ended or was not yet due: listed,
    never totalled, and no document is issued for it."""
    split: str | None = None
    """When a price version took effect inside the period: where it was split and how usage
    was shared (``by event time`` or ``by days``); ``None`` for an unsplit period."""

    @property
    def open_billed(self) -> Decimal:
        """What is still unpaid on the original invoice (``billed - paid``; zero when unknown)."""
        return Decimal(0) if self.paid is None else EXACT.subtract(self.billed, self.paid)

    @property
    def owed(self) -> Decimal:
        """``delta + interest``: what this period's adjustment document settles."""
        return EXACT.add(self.delta, self.interest)

    def to_record(self) -> dict[str, Any]:
        """A flat mapping for tables and DataFrames (exact ``Decimal`` figures, ``date`` days)."""
        return {
            "period": self.label,
            "start": self.start,
            "end": self.end,
            "usage": self.usage,
            "allowance": self.allowance,
            "overuse": self.overuse,
            "price_version": self.version,
            "rebilled": self.rebilled,
            "billed": self.billed,
            "invoice": self.invoice,
            "delta": self.delta,
            "due": self.due,
            "days_late": self.days_late,
            "paid": self.paid,
            "interest": self.interest,
            "owed": self.owed,
            "barred": self.barred,
            "not_yet_due": self.not_yet_due,
            "split": self.split,
        }


#: The fields of :meth:`StatementLine.to_record`, in order (the columns of ``to_pandas()``).
LINE_RECORD_FIELDS = (
    "period",
    "start",
    "end",
    "usage",
    "allowance",
    "overuse",
    "price_version",
    "rebilled",
    "billed",
    "invoice",
    "delta",
    "due",
    "days_late",
    "paid",
    "interest",
    "owed",
    "barred",
)


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over the claimed periods (neither barred nor not yet due), and what was left out."""

    periods: int
    barred: int
    usage: Decimal
    overuse: Decimal
    rebilled: Decimal
    billed: Decimal
    delta: Decimal
    """Net ``rebilled - billed``: ``debits - credits``."""
    debits: Decimal
    credits: Decimal
    """Sum of the credits, as a positive amount."""
    interest: Decimal
    total: Decimal
    """``delta + interest``: what the adjustment documents settle, net."""
    open_billed: Decimal
    """Still unpaid on the original invoices (only where payments were given)."""
    barred_delta: Decimal
    """Net delta of the barred periods: what the lookback removed from the totals."""
    barred_interest: Decimal
    not_yet_due: int = 0
    """Periods not yet ended or not yet due on the valuation date (in no total)."""

    def to_record(self) -> dict[str, Any]:
        """A flat mapping of every total."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line of an adjustment document; ``amount`` is positive on both kinds."""

    description: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DocumentNumbering:
    """How adjustment documents are numbered: a prefix per kind and a first sequence number.

    These numbers are provisional: :func:`meterlib.ledger.backbilling.issue_statement` issues
    the documents into a ledger's document store, in its note series (gapless with every other
    note), and returns the statement with the numbers they were issued with.
    """

    debit_prefix: str = "DN-"
    credit_prefix: str = "CN-"
    first: int = 1
    digits: int = 4

    def number(self, kind: Literal["debit_note", "credit_note"], sequence: int) -> str:
        """The number of the ``sequence``-th document of ``kind`` (0-based)."""
        prefix = self.debit_prefix if kind == "debit_note" else self.credit_prefix
        return f"{prefix}{self.first + sequence:0{self.digits}d}"


@dataclass(frozen=True, slots=True)
class AdjustmentDocument:
    """A debit or credit note that corrects one period's invoice without modifying it."""

    kind: Literal["debit_note", "credit_note"]
    number: str
    issue_date: date
    corrects: str | None
    """Number of the invoice corrected; ``None`` when the billed entry had none."""
    period: str
    currency: str
    lines: tuple[DocumentLine, ...]

    @property
    def total(self) -> Decimal:
        """Sum of the lines (positive; the kind says which way the money goes)."""
        return exact_sum(line.amount for line in self.lines)

    @property
    def signed_total(self) -> Decimal:
        """The total as the customer owes it: positive for debit notes, negative for credits."""
        return self.total if self.kind == "debit_note" else EXACT.minus(self.total)

    @property
    def title(self) -> str:
        """``Debit note`` or ``Credit note``."""
        return "Debit note" if self.kind == "debit_note" else "Credit note"


@dataclass(frozen=True, slots=True)
class Statement:
    """A back-billing statement for one scenario, valued on ``as_of``."""

    title: str
    customer: str | None
    currency: str
    as_of: date
    scenario: str
    basis: str
    """Name of the rebill basis (``contract``, ``published``, ...)."""
    interest_policy: str
    """The interest policy in words, such as ``'9% a year, simple, actual/365'``."""
    lookback_years: int | None
    cutoff: date | None
    """The lookback limit: periods due before this day are barred; ``None`` when no lookback."""
    lines: tuple[StatementLine, ...]
    totals: Totals
    documents: tuple[AdjustmentDocument, ...]
    problems: tuple[str, ...]
    """What the engine noticed but did not stop for (usage outside every period, gaps)."""
    due_days: int = 0
    """Payment terms: days from a period's end to its due date (when the bill gave none)."""
    unit: str = "units"
    """What usage counts (``reads``, ``requests``): shown beside every quantity."""
    description: str = ""
    """What the scenario assumes, in one sentence (may be empty)."""

    def to_records(self) -> list[dict[str, Any]]:
        """One flat mapping per period, ready for ``pandas.DataFrame(statement.to_records())``."""
        return [line.to_record() for line in self.lines]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``meterlib[pandas]``).

        ``Decimal`` figures stay exact: ``frame["owed"][~frame["barred"]].sum()`` equals
        ``totals.total``.
        """
        from meterlib.frames import records_to_pandas  # noqa: PLC0415

        return records_to_pandas(self.to_records(), LINE_RECORD_FIELDS)

    def to_dict(self) -> dict[str, Any]:
        """Everything on the statement as JSON-ready data (decimals and dates as strings)."""
        from meterlib.backbill.serialize import statement_to_dict  # noqa: PLC0415

        return statement_to_dict(self)

    def _repr_html_(self) -> str:
        """Show the statement as a table in Jupyter."""
        from meterlib.render.html import statement_fragment  # noqa: PLC0415

        return statement_fragment(self)

    def __str__(self) -> str:
        """A one-line, locale-free summary."""
        t = self.totals
        return (
            f"{self.title}: scenario {self.scenario}, {t.periods} periods counted, "
            f"{t.barred} barred, delta {t.delta} + interest {t.interest} = {t.total} "
            f"{self.currency} as of {self.as_of.isoformat()}"
        )


@dataclass(frozen=True, slots=True)
class ScenarioComparison:
    """Several statements of one case side by side: one column per scenario."""

    statements: tuple[Statement, ...]
    descriptions: tuple[str, ...]
    """One sentence per scenario saying what it assumes (may be empty)."""

    @property
    def names(self) -> tuple[str, ...]:
        """The scenarios' names, in the case's order."""
        return tuple(s.scenario for s in self.statements)

    def __getitem__(self, name: str) -> Statement:
        """The statement of scenario ``name``."""
        for statement in self.statements:
            if statement.scenario == name:
                return statement
        raise KeyError(name)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat mapping per scenario with its assumptions and totals."""
        return [
            {
                "scenario": s.scenario,
                "basis": s.basis,
                "interest_policy": s.interest_policy,
                **s.totals.to_record(),
            }
            for s in self.statements
        ]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``meterlib[pandas]``)."""
        from meterlib.frames import records_to_pandas  # noqa: PLC0415

        columns = ("scenario", "basis", "interest_policy", *(f.name for f in fields(Totals)))
        return records_to_pandas(self.to_records(), columns)

    def _repr_html_(self) -> str:
        """Show the comparison as a table in Jupyter."""
        from meterlib.render.html import comparison_fragment  # noqa: PLC0415

        return comparison_fragment(self)
