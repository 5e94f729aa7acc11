"""Interest on late money: day counts, rate schedules, simple and compound accrual.

Everything here is exact. Day counts are whole numbers of days, rates are ``Decimal`` fractions
(``0.09`` is 9 % a year) and accrued interest is a :class:`~fractions.Fraction`; rounding to minor
units is the caller's named step, done once per period (see :mod:`meterlib.backbill.engine`).

Conventions, chosen once and stated here:

- **Day counts.** ``actual/365`` (Actual/365 Fixed: calendar days over 365, leap years
  included), ``actual/360`` (calendar days over 360) and ``30/360`` in its **ISDA** form (the
  "bond basis" of the 2006 ISDA Definitions, section 4.16(f)): a start day of 31 becomes 30; an
  end day of 31 becomes 30 only when the start day is then 30; no special rule for the end of
  February (that is the US/NASD variant, not offered). Days between ``a`` and ``b`` are
  ``360 x (Y2 - Y1) + 30 x (M2 - M1) + (D2 - D1)`` after those adjustments.
- **Splitting never changes a span's length.** A span is cut where the unpaid amount, the rate
  or the compounding changes. Each cut is measured as the difference of the day counts from
  the due date (``days(due, b) - days(due, a)``), so the pieces always add up to
  ``days(due, as_of)``, also under 30/360, whose direct count is not additive.
- **Simple interest** is ``unpaid x rate x days / basis`` summed over the pieces.
- **Compound interest** capitalises the interest accrued so far at each compounding date,
  counted from the due date (``due + k`` months for monthly, ``due + k`` years for annual,
  from the anchor and clamped to the month's end, never chained); between compounding dates it
  accrues simply, on the unpaid amount plus the interest already capitalised.
- **Payments** reduce the unpaid amount from their own date on (a payment on day ``p`` stops
  the accrual on what it paid from ``p``); a payment on or before the due date counts from the
  due date. Payments pay the debt, never interest: interest capitalised stays capitalised.
- **Rates** come from a dated schedule (the latest ``effective_from`` on or before a day, as
  every schedule in meterlib), plus an optional fixed ``margin``: a reference rate that resets
  each half year plus a statutory margin is a schedule of reference rates and one margin. The
  effective rate may not be negative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from meterlib._numbers import EXACT, to_decimal
from meterlib.errors import InvalidValueError
from meterlib.periods import add_months
from meterlib.schedule import check_schedule, index_in_force

__all__ = [
    "Compounding",
    "DayCount",
    "InterestMethod",
    "InterestPolicy",
    "RateSchedule",
    "RateVersion",
]

_ZERO = Fraction(0)
E = TypeVar("E", bound=StrEnum)


class DayCount(StrEnum):
    """How the days between two dates are counted, and how many make a year."""

    ACTUAL_365 = "actual/365"
    """Actual/365 Fixed: calendar days, 365 to the year (leap years too)."""
    ACTUAL_360 = "actual/360"
    """Actual/360: calendar days, 360 to the year."""
    THIRTY_360 = "30/360"
    """30/360 ISDA (bond basis): months of 30 days, 360 to the year (see the module docstring)."""

    @property
    def basis(self) -> int:
        """Days in a year under this convention."""
        return 365 if self is DayCount.ACTUAL_365 else 360

    def days(self, start: date, end: date) -> int:
        """Days from ``start`` to ``end`` under this convention (negative when end is earlier)."""
        if self is not DayCount.THIRTY_360:
            return (end - start).days
        d1 = min(start.day, 30)
        d2 = end.day
        if d2 == 31 and d1 == 30:
            d2 = 30
        return 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)


class InterestMethod(StrEnum):
    """Whether and how interest accrues."""

    NONE = "none"
    SIMPLE = "simple"
    COMPOUND = "compound"


class Compounding(StrEnum):
    """How often accrued interest is added to the debt under compound interest."""

    MONTHLY = "monthly"
    ANNUAL = "annual"

    @property
    def months(self) -> int:
        """Months between two compounding dates."""
        return 1 if self is Compounding.MONTHLY else 12


@dataclass(frozen=True, slots=True, init=False)
class RateVersion:
    """An annual rate in force from ``effective_from`` until the next version's date."""

    effective_from: date
    annual_rate: Decimal
    """A fraction a year: ``Decimal('0.09')`` is 9 %."""

    def __init__(self, effective_from: date, annual_rate: Decimal | int | str) -> None:
        """Pass the rate through the number funnel (floats are refused)."""
        if type(effective_from) is not date:
            raise InvalidValueError("effective_from", effective_from, "a date")
        object.__setattr__(self, "effective_from", effective_from)
        object.__setattr__(self, "annual_rate", to_decimal(annual_rate, "annual_rate"))


@dataclass(frozen=True, slots=True, init=False)
class RateSchedule:
    """Dated annual rates plus a fixed margin: the effective rate on a day is ``rate + margin``.

    A fixed rate is a schedule of one version in force since :data:`datetime.date.min`
    (:meth:`fixed`).
    """

    versions: tuple[RateVersion, ...]
    margin: Decimal
    _starts: tuple[date, ...] = field(repr=False, compare=False)
    _rates: tuple[Fraction, ...] = field(repr=False, compare=False)
    _fixed: tuple[int, int] | None = field(repr=False, compare=False)

    def __init__(self, versions: Iterable[RateVersion], margin: Decimal | int | str = 0) -> None:
        """Check the dates rise strictly and that no effective rate is negative."""
        ordered = tuple(versions)
        check_schedule(ordered, "rates")
        extra = to_decimal(margin, "margin")
        rates: list[Fraction] = []
        for index, version in enumerate(ordered):
            effective = EXACT.add(version.annual_rate, extra)
            if effective < 0:
                raise InvalidValueError(
                    f"rates[{index}].annual_rate",
                    version.annual_rate,
                    f"a rate that with the margin {extra} is not negative",
                )
            rates.append(Fraction(effective))
        object.__setattr__(self, "versions", ordered)
        object.__setattr__(self, "margin", extra)
        object.__setattr__(self, "_starts", tuple(v.effective_from for v in ordered))
        object.__setattr__(self, "_rates", tuple(rates))
        fixed = None
        if len(rates) == 1 and ordered[0].effective_from == date.min:
            fixed = (rates[0].numerator, rates[0].denominator)
        object.__setattr__(self, "_fixed", fixed)

    @classmethod
    def fixed(cls, annual_rate: Decimal | int | str) -> RateSchedule:
        """One rate, in force on every day."""
        return cls([RateVersion(date.min, to_decimal(annual_rate, "annual_rate"))])

    @property
    def fixed_ratio(self) -> tuple[int, int] | None:
        """``(numerator, denominator)`` of the one rate in force on every day, else ``None``."""
        return self._fixed

    @property
    def is_fixed(self) -> bool:
        """True when a single rate applies on every day."""
        return len(self._rates) == 1 and self._starts[0] == date.min

    def index_on(self, day: date) -> int:
        """Index of the version in force on ``day``; raises NotInForceError before the first."""
        return index_in_force(self._starts, day, "interest rate")

    def rate_on(self, day: date) -> Fraction:
        """The effective annual rate (``rate + margin``) in force on ``day``, exactly."""
        return self._rates[self.index_on(day)]

    def changes_between(self, start: date, end: date) -> list[date]:
        """Dates strictly between ``start`` and ``end`` on which the rate changes."""
        return [day for day in self._starts if start < day < end]

    def describe(self) -> str:
        """Locale-free text such as ``'9%'`` or ``'reference rate + 9% (3 versions)'``."""
        if self.is_fixed:
            return f"{_percent(self._rates[0])}%"
        if self.margin:
            return (
                f"dated reference rate + {_percent(Fraction(self.margin))}%"
                f" ({len(self.versions)} rates)"
            )
        return f"dated rate ({len(self.versions)} rates)"


def _percent(value: Fraction) -> str:
    percent = EXACT.divide(Decimal(value.numerator * 100), Decimal(value.denominator))
    return format(percent.normalize(EXACT), "f")


def _member(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        names = ", ".join(repr(str(member)) for member in kind)
        raise InvalidValueError(field, value, f"one of {names}") from None


@dataclass(frozen=True, slots=True, init=False)
class InterestPolicy:
    """How interest accrues on money paid late: method, rates, day count and compounding.

    Build with :meth:`none`, :meth:`simple` or :meth:`compound`; accrue with :meth:`accrue`.
    """

    method: InterestMethod
    rates: RateSchedule | None
    day_count: DayCount
    compounding: Compounding | None

    def __init__(
        self,
        method: InterestMethod | str = InterestMethod.NONE,
        rates: RateSchedule | None = None,
        day_count: DayCount | str = DayCount.ACTUAL_365,
        compounding: Compounding | str | None = None,
    ) -> None:
        """Refuse a policy that cannot accrue (a method without rates, compounding unset)."""
        how = _member(InterestMethod, method, "method")
        if how is not InterestMethod.NONE and rates is None:
            raise InvalidValueError("rates", None, f"a rate schedule for {how} interest")
        step = None
        if how is InterestMethod.COMPOUND:
            if compounding is None:
                raise InvalidValueError(
                    "compounding", None, "'monthly' or 'annual' for compound interest"
                )
            step = _member(Compounding, compounding, "compounding")
        elif compounding is not None:
            raise InvalidValueError(
                "compounding", compounding, "unset unless the method is 'compound'"
            )
        object.__setattr__(self, "method", how)
        object.__setattr__(self, "rates", rates)
        object.__setattr__(self, "day_count", _member(DayCount, day_count, "day_count"))
        object.__setattr__(self, "compounding", step)

    @classmethod
    def none(cls) -> InterestPolicy:
        """No interest at all."""
        return cls()

    @classmethod
    def simple(
        cls,
        rate: Decimal | int | str | RateSchedule,
        day_count: DayCount | str = DayCount.ACTUAL_365,
    ) -> InterestPolicy:
        """Simple interest at a fixed annual ``rate`` (or a :class:`RateSchedule`)."""
        rates = rate if isinstance(rate, RateSchedule) else RateSchedule.fixed(rate)
        return cls(InterestMethod.SIMPLE, rates, day_count)

    @classmethod
    def compound(
        cls,
        rate: Decimal | int | str | RateSchedule,
        compounding: Compounding | str,
        day_count: DayCount | str = DayCount.ACTUAL_365,
    ) -> InterestPolicy:
        """Compound interest at ``rate``, capitalised ``compounding`` (monthly or annual)."""
        rates = rate if isinstance(rate, RateSchedule) else RateSchedule.fixed(rate)
        return cls(InterestMethod.COMPOUND, rates, day_count, compounding)

    def with_rates(self, rates: Decimal | int | str | RateSchedule) -> InterestPolicy:
        """The same policy at other rates (a policy without interest becomes simple interest).

        This is how the interest rate is varied across scenarios.
        """
        schedule = rates if isinstance(rates, RateSchedule) else RateSchedule.fixed(rates)
        method = InterestMethod.SIMPLE if self.method is InterestMethod.NONE else self.method
        return InterestPolicy(method, schedule, self.day_count, self.compounding)

    def describe(self) -> str:
        """Locale-free text such as ``'9% a year, simple, actual/365'``."""
        if self.method is InterestMethod.NONE or self.rates is None:
            return "no interest"
        how = str(self.method)
        if self.compounding is not None:
            how = f"compounded {self.compounding}"
        return f"{self.rates.describe()} a year, {how}, {self.day_count}"

    def accrue(
        self,
        owed: Decimal | Fraction,
        due: date,
        as_of: date,
        payments: Sequence[tuple[date, Decimal | Fraction]] = (),
    ) -> Fraction:
        """Exact interest on ``owed`` from ``due`` to ``as_of``, less what ``payments`` paid.

        ``owed`` is the debt on the due date; each payment ``(day, amount)`` reduces the unpaid
        part from ``day`` on (payments after ``as_of`` are not known yet and are ignored).
        Interest is zero when there is no method, when ``as_of`` is not after ``due``, and never
        accrues on a negative unpaid part (money owed back earns nothing here).
        """
        rates = self.rates
        if self.method is InterestMethod.NONE or rates is None or as_of <= due:
            return _ZERO
        if not payments and type(owed) is Decimal and self.method is InterestMethod.SIMPLE:
            fixed = rates.fixed_ratio
            if fixed is not None:
                # The common case: one amount, one rate, one span, built as one fraction.
                if owed <= 0:
                    return _ZERO
                numerator, denominator = owed.as_integer_ratio()
                count = self.day_count
                return Fraction(
                    numerator * fixed[0] * count.days(due, as_of),
                    denominator * fixed[1] * count.basis,
                )
        unpaid = Fraction(owed)
        later: list[tuple[date, Fraction]] = []
        for day, amount in payments:
            if day <= due:
                unpaid -= Fraction(amount)
            elif day < as_of:
                later.append((day, Fraction(amount)))
        count = self.day_count
        if not later and self.method is InterestMethod.SIMPLE and rates.is_fixed:
            # The common case: one amount, one rate, one span.
            if unpaid <= 0:
                return _ZERO
            return unpaid * rates.rate_on(due) * count.days(due, as_of) / count.basis
        return self._accrue_in_pieces(rates, unpaid, due, as_of, later)

    def _accrue_in_pieces(
        self,
        rates: RateSchedule,
        unpaid: Fraction,
        due: date,
        as_of: date,
        payments: list[tuple[date, Fraction]],
    ) -> Fraction:
        """Accrue over the pieces where unpaid amount, rate and capitalised interest are fixed."""
        count = self.day_count
        reductions: dict[date, Fraction] = {}
        for day, amount in payments:
            reductions[day] = reductions.get(day, _ZERO) + amount
        compounding_dates: set[date] = set()
        if self.compounding is not None:
            step = self.compounding.months
            k = 1
            while (day := add_months(due, k * step)) < as_of:
                compounding_dates.add(day)
                k += 1
        cuts = sorted(
            {*reductions, *compounding_dates, *rates.changes_between(due, as_of), as_of},
        )
        capitalised = _ZERO
        pending = _ZERO
        start, start_days = due, 0
        for cut in cuts:
            cut_days = count.days(due, cut)
            balance = max(unpaid, _ZERO) + capitalised
            if balance and cut_days > start_days:
                pending += balance * rates.rate_on(start) * (cut_days - start_days) / count.basis
            if cut in compounding_dates:
                capitalised += pending
                pending = _ZERO
            unpaid -= reductions.get(cut, _ZERO)
            start, start_days = cut, cut_days
        return capitalised + pending
