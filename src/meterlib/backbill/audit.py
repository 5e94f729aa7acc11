"""The usage audit: usage against a limit per period and per dimension value, and its breaches.

:func:`audit` walks a customer's events of the limit's meter period by period (the periods of
the limit's cycle that *start* in ``[start, end)``, so an audit over ``[a, b)`` and one over
``[b, c)`` together equal the audit over ``[a, c)`` when ``b`` is a period start). In each
period it adds the events in time order; the **first breach** is the instant of the event that
took the period's usage above the limit, and every unit above the limit is attributed to the
dimension value (``group_by`` property, e.g. the application) of the event that used it, so
the per-group breaches of a period sum to its usage above the limit. A breach's **value** is
what the basis (the prices then in force: a :class:`~meterlib.backbill.terms.PriceSchedule`
rates a period with the version in force on its first day) charges for the period's usage
minus what it charges for the usage up to the limit.

:func:`rebill_audit` turns an audit into a back-billing :class:`~.statement.Statement`: each
audited period is billed, by default, at the price of the usage up to the limit (what an
invoice assuming the limit held would have charged), and re-rated on its full usage.
"""

from __future__ import annotations

import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterlib._numbers import EXACT
from meterlib.backbill.engine import BilledPeriod, rebill
from meterlib.backbill.statement import Statement
from meterlib.backbill.terms import DateSpan, PriceSchedule, PriceVersion, RebillBasis
from meterlib.backbill.usage import UsageRecord
from meterlib.credits.entitlements import Limit, LimitKind, UsageIndex
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError
from meterlib.metering._buckets import instant, micros
from meterlib.metering.meters import Meter, parse_meters
from meterlib.periods import BillingCycle, Period, aware
from meterlib.pricing import parse_price

__all__ = [
    "AUDIT_RECORD_FIELDS",
    "Audit",
    "AuditGroup",
    "AuditPeriod",
    "AuditTerms",
    "audit",
    "audit_to_dict",
    "audit_to_json",
    "load_audit_terms",
    "rebill_audit",
]

_ZERO = Decimal(0)


def _total(values: Iterable[Decimal]) -> Decimal:
    """``values`` added up exactly, in meterlib's context whatever the caller's."""
    total = _ZERO
    for value in values:
        total = EXACT.add(total, value)
    return total


@dataclass(frozen=True, slots=True)
class AuditGroup:
    """One dimension value in one period: its usage, the part above the limit, when it began."""

    value: str
    usage: Decimal
    above: Decimal
    first_above: datetime | None


@dataclass(frozen=True, slots=True)
class AuditPeriod:
    """One period of the audit (see the module docstring)."""

    period: Period
    usage: Decimal
    limit: Decimal
    breach: Decimal
    """Usage above the limit (0 when it held)."""
    first_breach: datetime | None
    value: Decimal | None
    """The breach valued at the prices then in force (``None`` without a basis)."""
    version: str
    groups: tuple[AuditGroup, ...]

    @property
    def span(self) -> DateSpan:
        """The period as back-billing sees it (UTC dates)."""
        return _span(self.period)


def _span(period: Period) -> DateSpan:
    return DateSpan(period.start.astimezone(UTC).date(), period.end.astimezone(UTC).date())


#: The columns of :meth:`Audit.to_records`, in order.
AUDIT_RECORD_FIELDS = (
    "customer",
    "meter",
    "period_start",
    "period_end",
    "usage",
    "limit",
    "breach",
    "first_breach",
    "value",
    "currency",
    "version",
)


@dataclass(frozen=True, slots=True)
class Audit:
    """A customer's usage of one limited meter over whole periods, with every breach."""

    customer: str
    limit: Limit
    group_by: str | None
    periods: tuple[AuditPeriod, ...]
    currency: str | None

    @property
    def usage(self) -> Decimal:
        """Usage over every audited period."""
        return _total(p.usage for p in self.periods)

    @property
    def breach(self) -> Decimal:
        """Usage above the limit over every audited period."""
        return _total(p.breach for p in self.periods)

    @property
    def value(self) -> Decimal | None:
        """Every breach's value added up (``None`` without a basis)."""
        if self.currency is None:
            return None
        return _total(p.value or _ZERO for p in self.periods)

    @property
    def breached(self) -> tuple[AuditPeriod, ...]:
        """The periods whose usage went above the limit."""
        return tuple(p for p in self.periods if p.breach > 0)

    def to_records(self) -> list[dict[str, Any]]:
        """One flat mapping per audited period, figures as ``Decimal`` and times as ``datetime``.

        Columns: :data:`AUDIT_RECORD_FIELDS`. The ``usage`` and ``breach`` columns add up to
        :attr:`usage` and :attr:`breach`; each period's groups are in ``periods[i].groups``.
        """
        return [
            {
                "customer": self.customer,
                "meter": self.limit.meter,
                "period_start": p.period.start,
                "period_end": p.period.end,
                "usage": p.usage,
                "limit": p.limit,
                "breach": p.breach,
                "first_breach": p.first_breach,
                "value": p.value,
                "currency": self.currency,
                "version": p.version,
            }
            for p in self.periods
        ]

    def to_pandas(self) -> Any:
        """:meth:`to_records` as a ``pandas.DataFrame`` (needs ``meterlib[pandas]``).

        ``Decimal`` figures stay exact: ``frame["breach"].sum()`` equals :attr:`breach`.
        """
        from meterlib.frames import records_to_pandas  # noqa: PLC0415

        return records_to_pandas(self.to_records(), AUDIT_RECORD_FIELDS)

    def _repr_html_(self) -> str:
        """Show as HTML in Jupyter (``en_US``): periods, groups, breaches and their value."""
        from meterlib.render.html.audit import audit_fragment  # noqa: PLC0415

        return audit_fragment(self, "en_US")


def _whole_periods(cycle: BillingCycle, start: datetime, end: datetime) -> list[Period]:
    index = cycle.index_of(start)
    if cycle.start(index) < start:
        index += 1
    found: list[Period] = []
    while cycle.start(index) < end:
        found.append(cycle.period(index))
        index += 1
    return found


def audit(
    index: UsageIndex,
    customer: str,
    limit: Limit,
    start: datetime,
    end: datetime,
    *,
    basis: RebillBasis | None = None,
    group_by: str | None = None,
) -> Audit:
    """Audit ``customer``'s usage of ``limit.meter`` over the periods starting in ``[start, end)``.

    ``index`` must have been built with the same ``group_by`` for per-group figures.
    """
    aware(start, "start")
    aware(end, "end")
    series = index.series(customer, limit.meter)
    rows: list[AuditPeriod] = []
    for period in _whole_periods(limit.cycle, start, end):
        first, before = series.upto(micros(period.start), inclusive=False)
        last, _total = series.upto(micros(period.end), inclusive=False)
        used = _ZERO
        previous = before
        breach_at: datetime | None = None
        usage: dict[str, Decimal] = {}
        above: dict[str, Decimal] = {}
        first_above: dict[str, datetime] = {}
        for i in range(first, last):
            running = series.sums[i]
            quantity = EXACT.subtract(running, previous)
            previous = running
            group = series.groups[i] if group_by is not None else ""
            usage[group] = EXACT.add(usage.get(group, _ZERO), quantity)
            new_used = EXACT.add(used, quantity)
            if new_used > limit.amount:
                part = EXACT.subtract(new_used, max(used, limit.amount))
                above[group] = EXACT.add(above.get(group, _ZERO), part)
                moment = instant(series.times[i])
                first_above.setdefault(group, moment)
                if breach_at is None:
                    breach_at = moment
            used = new_used
        breach = max(_ZERO, EXACT.subtract(used, limit.amount))
        value: Decimal | None = None
        version = ""
        if basis is not None:
            span = _span(period)
            full = basis.rate(span, used)
            allowed = basis.rate(span, min(used, limit.amount))
            value = EXACT.subtract(full.amount, allowed.amount)
            version = full.version
        groups = tuple(
            AuditGroup(g, usage[g], above.get(g, _ZERO), first_above.get(g)) for g in sorted(usage)
        )
        rows.append(
            AuditPeriod(period, used, limit.amount, breach, breach_at, value, version, groups)
        )
    currency = None if basis is None else basis.currency
    return Audit(customer, limit, group_by, tuple(rows), currency)


def rebill_audit(
    result: Audit,
    basis: RebillBasis,
    *,
    as_of: date,
    due_days: int,
    billed: Mapping[date, Decimal | int | str] | None = None,
    **options: Any,
) -> Statement:
    """The liability statement of an audit: every audited period re-rated on its full usage.

    ``billed`` maps a period's first day (UTC) to what was invoiced for it; a period it does
    not name counts as billed at the price of its usage up to the limit. ``options`` go to
    :func:`~meterlib.backbill.engine.rebill` (interest, lookback_years, title, ...).
    """
    stated = {} if billed is None else dict(billed)
    periods: list[BilledPeriod] = []
    usage: list[UsageRecord] = []
    for row in result.periods:
        span = row.span
        amount = stated.get(span.start)
        if amount is None:
            amount = basis.rate(span, min(row.usage, row.limit)).rounded
        periods.append(BilledPeriod(span.start, span.end, amount))
        usage.append(UsageRecord(span.start, span.end, row.usage))
    options.setdefault("customer", result.customer)
    options.setdefault("unit", result.limit.meter)
    options.setdefault("allowance", result.limit.amount)
    return rebill(basis, periods, usage, as_of=as_of, due_days=due_days, **options)


def audit_to_json(result: Audit) -> dict[str, Any]:
    """Deprecated: use :func:`audit_to_dict` (the same dict; the name said JSON text)."""
    warnings.warn(
        "audit_to_json is deprecated and will be removed in the next release; use"
        " audit_to_dict(result), which returns the same dict",
        DeprecationWarning,
        stacklevel=2,
    )
    return audit_to_dict(result)


def audit_to_dict(result: Audit) -> dict[str, Any]:
    """The audit as JSON-ready data; every figure a decimal string, every instant ISO 8601."""

    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    def number(value: Decimal | None) -> str | None:
        return None if value is None else str(value)

    return {
        "customer": result.customer,
        "meter": result.limit.meter,
        "limit": str(result.limit.amount),
        "kind": result.limit.kind.value,
        "group_by": result.group_by,
        "currency": result.currency,
        "periods": [
            {
                "start": p.period.start.isoformat(),
                "end": p.period.end.isoformat(),
                "usage": str(p.usage),
                "limit": str(p.limit),
                "breach": str(p.breach),
                "first_breach": moment(p.first_breach),
                "value": number(p.value),
                "version": p.version,
                "groups": [
                    {
                        "value": g.value,
                        "usage": str(g.usage),
                        "above": str(g.above),
                        "first_above": moment(g.first_above),
                    }
                    for g in p.groups
                ],
            }
            for p in result.periods
        ],
        "totals": {
            "usage": str(result.usage),
            "breach": str(result.breach),
            "value": number(result.value),
            "periods_breached": len(result.breached),
        },
    }


@dataclass(frozen=True, slots=True)
class AuditTerms:
    """What an audit file states: the customer, the meters, the limit and the dated prices."""

    customer: str
    meters: tuple[Meter, ...]
    limit: Limit
    basis: PriceSchedule | None


def load_audit_terms(path: str | Path) -> AuditTerms:
    """Read an audit's terms from a TOML file (format in docs/credits.md)."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise DocumentError("audit terms", [("", f"{file}: not valid TOML: {error}")]) from error
    try:
        return parse_audit_terms(data, file.parent)
    except MeterlibError as error:
        error.add_note(f"while reading the audit terms {file}")
        raise


def parse_audit_terms(data: str | Mapping[str, Any], base: Path | None = None) -> AuditTerms:
    """Audit terms from TOML text or a parsed document; ``meters`` may name a file in ``base``."""
    if isinstance(data, str):
        try:
            data = tomllib.loads(data, parse_float=Decimal)
        except tomllib.TOMLDecodeError as error:
            raise DocumentError("audit terms", [("", f"not valid TOML: {error}")]) from error
    customer = data.get("customer")
    if type(customer) is not str or not customer:
        raise InvalidValueError("customer", customer, "a non-empty string")
    raw_meters = data.get("meters")
    if isinstance(raw_meters, str):
        from meterlib.metering.meters import load_meters  # noqa: PLC0415

        meters = load_meters((base or Path()) / raw_meters)
    elif isinstance(raw_meters, list):
        meters = parse_meters(raw_meters)
    else:
        raise InvalidValueError("meters", raw_meters, "a meters file name or a list of meters")
    table = data.get("limit")
    if not isinstance(table, Mapping):
        raise InvalidValueError("limit", table, "a table with meter, amount, kind, cadence")
    anchor = table.get("anchor", date(2000, 1, 1))
    cycle = BillingCycle(
        cadence=table.get("cadence", "monthly"),
        anchor=anchor,
        timezone=table.get("timezone", "UTC"),
    )
    kind = table.get("kind", "hard")
    if kind not in {k.value for k in LimitKind}:
        raise InvalidValueError("limit.kind", kind, "soft or hard")
    amount = table.get("amount")
    if amount is None:
        raise InvalidValueError("limit.amount", amount, "a decimal number >= 0")
    limit = Limit(str(table.get("meter", "")), amount, cycle, LimitKind(kind))
    if limit.meter not in {m.name for m in meters}:
        raise InvalidValueError("limit.meter", limit.meter, "the name of one of the meters")
    versions = [
        PriceVersion(
            _date(item.get("effective_from"), "prices.effective_from"),
            parse_price(item.get("price", {})),
            str(item.get("label", "")),
        )
        for item in data.get("prices", [])
    ]
    basis = PriceSchedule(versions) if versions else None
    return AuditTerms(customer, tuple(meters), limit, basis)


def _date(value: Any, field: str) -> date:
    if type(value) is date:
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise InvalidValueError(field, value, "a date YYYY-MM-DD")
