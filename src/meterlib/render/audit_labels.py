"""The usage audit in words, shared by its text and HTML forms.

:func:`audit_rows` gives one :class:`AuditRow` per dimension value and period, one per period
and one for the total, every figure already formatted for the locale (numbers, money and the
share of the limit used through Babel, labels through the gettext catalogs).
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from meterlib._numbers import ROUNDED
from meterlib.backbill.audit import Audit, AuditPeriod
from meterlib.render.format import Formatter

__all__ = ["AuditRow", "audit_facts", "audit_rows", "audit_title", "share_of_limit"]

_TENTH = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One shown row: ``kind`` is ``group``, ``period`` or ``total``; figures formatted."""

    kind: str
    period: str
    group: str
    usage: str
    limit: str
    share: str
    above: str
    first: str
    first_iso: str
    value: str
    version: str
    breached: bool


def share_of_limit(usage: Decimal, limit: Decimal, fmt: Formatter) -> str:
    """Usage as a percentage of the limit, to a tenth of a percent, through Babel."""
    if limit <= 0:
        return ""
    with decimal.localcontext(ROUNDED):
        percent = (usage * 100 / limit).quantize(_TENTH, rounding=decimal.ROUND_HALF_UP)
        whole = percent.to_integral_value()
    return fmt.percent(whole if percent == whole else percent)


def _moment(value: datetime | None, fmt: Formatter) -> str:
    return "" if value is None else fmt.day(value)


def _span(p: AuditPeriod, fmt: Formatter) -> str:
    last = (p.period.end - timedelta(microseconds=1)).date()
    start = p.period.start.date()
    return fmt.day(start) if last <= start else f"{fmt.day(start)} – {fmt.day(last)}"


def audit_title(result: Audit, fmt: Formatter) -> str:
    """``Usage audit: partner, reads``."""
    _ = fmt.gettext
    return _("Usage audit: {customer}, {meter}").format(
        customer=result.customer, meter=result.limit.meter
    )


def audit_facts(result: Audit, fmt: Formatter) -> list[tuple[str, str]]:
    """The audit's terms and totals as ``(label, value)`` pairs."""
    _ = fmt.gettext
    kind = _("hard limit") if result.limit.kind.value == "hard" else _("soft limit")
    facts = [
        (_("Customer"), result.customer),
        (_("Meter"), result.limit.meter),
        (_("Limit"), _("{amount} per period ({kind})").format(
            amount=fmt.number(result.limit.amount), kind=kind)),
        (_("Periods audited"), fmt.number(len(result.periods))),
        (_("Periods above the limit"), fmt.number(len(result.breached))),
        (_("Usage"), fmt.number(result.usage)),
        (_("Above the limit"), fmt.number(result.breach)),
    ]
    if result.group_by:
        facts.insert(2, (_("Grouped by"), result.group_by))
    if result.value is not None:
        facts.append((_("Value of the breaches"), fmt.unit_price(result.value)))
    facts.append((_("Times"), result.limit.cycle.timezone))
    return facts


def audit_rows(result: Audit, fmt: Formatter) -> list[AuditRow]:
    """Per period: its groups (when grouped), then the period; then the total."""
    _ = fmt.gettext
    number = fmt.number

    def money(value: Decimal | None) -> str:  # every digit of a sub-cent value kept
        return "" if value is None else fmt.unit_price(value)

    rows: list[AuditRow] = []
    for p in result.periods:
        span = _span(p, fmt)
        rows.extend(
            AuditRow(
                "group", span, g.value, number(g.usage), "", "", number(g.above),
                _moment(g.first_above, fmt),
                "" if g.first_above is None else g.first_above.isoformat(), "", "", g.above > 0,
            )
            for g in (p.groups if result.group_by is not None else ())
        )
        rows.append(
            AuditRow(
                "period", span, "" if result.group_by is None else _("(all)"),
                number(p.usage), number(p.limit),
                share_of_limit(p.usage, p.limit, fmt), number(p.breach),
                _moment(p.first_breach, fmt),
                "" if p.first_breach is None else p.first_breach.isoformat(),
                money(p.value), p.version, p.breach > 0,
            )
        )
    rows.append(
        AuditRow(
            "total", _("Total"), "", number(result.usage), "", "", number(result.breach), "", "",
            money(result.value), "", result.breach > 0,
        )
    )
    return rows
