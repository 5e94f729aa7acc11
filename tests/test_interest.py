"""Interest: day counts, simple and compound accrual, rate schedules, payments."""

from __future__ import annotations

import decimal
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from meterlib.backbill.interest import (
    Compounding,
    DayCount,
    InterestMethod,
    InterestPolicy,
    RateSchedule,
    RateVersion,
)
from meterlib.errors import FloatNotAllowedError, InvalidValueError
from meterlib.periods import add_months
from meterlib.schedule import NotInForceError


@pytest.mark.parametrize(
    ("start", "end", "count", "days"),
    [
        (date(2024, 1, 1), date(2024, 3, 1), DayCount.ACTUAL_365, 60),  # leap February
        (date(2024, 1, 1), date(2024, 3, 1), DayCount.ACTUAL_360, 60),
        # 30/360 ISDA: start 31 -> 30; end 31 -> 30 because start is then 30.
        (date(2023, 1, 31), date(2023, 3, 31), DayCount.THIRTY_360, 60),
        # End 31 stays 31 when the start day is below 30: 30 x 1 + (31 - 28).
        (date(2023, 2, 28), date(2023, 3, 31), DayCount.THIRTY_360, 33),
        # No end-of-February rule in the ISDA form: Feb 28 -> Mar 1 is 3 days.
        (date(2023, 2, 28), date(2023, 3, 1), DayCount.THIRTY_360, 3),
        (date(2023, 1, 15), date(2024, 1, 15), DayCount.THIRTY_360, 360),
    ],
)
def test_day_counts(start, end, count, days):
    assert count.days(start, end) == days


def test_day_count_bases():
    assert DayCount.ACTUAL_365.basis == 365
    assert DayCount.ACTUAL_360.basis == 360
    assert DayCount.THIRTY_360.basis == 360


def test_add_months_clamps_from_the_anchor():
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2023, 1, 31), 2) == date(2023, 3, 31)
    assert add_months(date(2024, 2, 29), -12) == date(2023, 2, 28)


def test_simple_interest_actual_365():
    # 6,126.00 x 0.09 x 244 days / 365 (2023-05-01 .. 2023-12-31) = 368.5661... -> 368.57
    policy = InterestPolicy.simple("0.09")
    accrued = policy.accrue(Decimal("6126.00"), date(2023, 5, 1), date(2023, 12, 31))
    assert accrued == Fraction(612600 * 9 * 244, 100 * 100 * 365)


def test_no_interest_before_or_on_the_due_date_and_without_a_method():
    policy = InterestPolicy.simple("0.09")
    assert policy.accrue(Decimal(100), date(2024, 1, 1), date(2024, 1, 1)) == 0
    assert policy.accrue(Decimal(100), date(2024, 1, 2), date(2024, 1, 1)) == 0
    assert InterestPolicy.none().accrue(Decimal(100), date(2020, 1, 1), date(2024, 1, 1)) == 0
    assert policy.accrue(Decimal(-100), date(2020, 1, 1), date(2024, 1, 1)) == 0


def test_late_payment_stops_accrual_on_what_it_paid_from_its_date():
    # 1,000 owed from Jan 1 2024; 400 paid Jan 31 (30 days); valued Mar 1 (30 more days).
    # 1000 x 0.10 x 30/360 + 600 x 0.10 x 30/360 = 8.3333... + 5 = 13.3333...
    policy = InterestPolicy.simple("0.10", DayCount.ACTUAL_360)
    accrued = policy.accrue(
        Decimal(1000), date(2024, 1, 1), date(2024, 3, 1), [(date(2024, 1, 31), Decimal(400))]
    )
    assert accrued == Fraction(1000 * 30, 10 * 360) + Fraction(600 * 30, 10 * 360)


def test_payment_on_or_before_the_due_date_counts_from_the_due_date():
    policy = InterestPolicy.simple("0.10", DayCount.ACTUAL_360)
    accrued = policy.accrue(
        Decimal(1000), date(2024, 1, 1), date(2024, 3, 1), [(date(2023, 12, 1), Decimal(1000))]
    )
    assert accrued == 0


def test_payment_after_the_valuation_date_is_not_known_yet():
    policy = InterestPolicy.simple("0.10", DayCount.ACTUAL_360)
    accrued = policy.accrue(
        Decimal(1000), date(2024, 1, 1), date(2024, 1, 31), [(date(2024, 2, 15), Decimal(1000))]
    )
    assert accrued == Fraction(1000 * 30, 10 * 360)


def test_rate_schedule_with_margin_resets_on_its_dates():
    # Reference 5% then 6% from July, plus a 2% margin: June at 7% (30 days), July at 8% (31).
    rates = RateSchedule(
        [RateVersion(date(2023, 1, 1), Decimal("0.05")), RateVersion(date(2023, 7, 1), "0.06")],
        margin="0.02",
    )
    policy = InterestPolicy.simple(rates)
    accrued = policy.accrue(Decimal(1000), date(2023, 6, 1), date(2023, 8, 1))
    assert accrued == Fraction(1000 * (7 * 30 + 8 * 31), 100 * 365)
    assert "reference rate + 2%" in policy.describe()


def test_compound_monthly_capitalises_at_each_month_from_the_due_date():
    # Due Jan 31; compounding on Feb 28 (clamped), next would be Mar 31 = the valuation date.
    policy = InterestPolicy.compound("0.12", Compounding.MONTHLY)
    accrued = policy.accrue(Decimal(1000), date(2023, 1, 31), date(2023, 3, 31))
    first = Fraction(12, 100) * 28 / 365
    second = Fraction(12, 100) * 31 / 365
    assert accrued == 1000 * ((1 + first) * (1 + second) - 1)


def test_compound_annual_equals_simple_within_the_first_year():
    simple = InterestPolicy.simple("0.09")
    annual = InterestPolicy.compound("0.09", "annual")
    due, as_of = date(2023, 5, 1), date(2024, 4, 30)
    assert annual.accrue(Decimal(500), due, as_of) == simple.accrue(Decimal(500), due, as_of)
    later = date(2025, 5, 1)
    assert annual.accrue(Decimal(500), due, later) > simple.accrue(Decimal(500), due, later)


def test_thirty_360_pieces_add_up_to_the_whole_span():
    # A rate change inside the span cuts it; the pieces still count 30/360 days from the due date.
    rates = RateSchedule(
        [RateVersion(date(2000, 1, 1), "0.06"), RateVersion(date(2023, 3, 31), "0.06")]
    )
    split = InterestPolicy.simple(rates, "30/360").accrue(
        Decimal(1000), date(2023, 1, 31), date(2023, 5, 31)
    )
    whole = InterestPolicy.simple("0.06", "30/360").accrue(
        Decimal(1000), date(2023, 1, 31), date(2023, 5, 31)
    )
    assert split == whole == Fraction(1000 * 6 * 120, 100 * 360)


def test_policy_validation():
    with pytest.raises(InvalidValueError, match="'rates' must be a rate schedule"):
        InterestPolicy(InterestMethod.SIMPLE)
    with pytest.raises(InvalidValueError, match="'compounding' must be 'monthly' or 'annual'"):
        InterestPolicy(InterestMethod.COMPOUND, RateSchedule.fixed("0.1"))
    with pytest.raises(InvalidValueError, match="'compounding' must be unset"):
        InterestPolicy(InterestMethod.SIMPLE, RateSchedule.fixed("0.1"), compounding="monthly")
    with pytest.raises(FloatNotAllowedError):
        RateSchedule.fixed(0.09)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="not negative"):
        RateSchedule([RateVersion(date(2023, 1, 1), "0.01")], margin="-0.02")


def test_rate_before_the_schedule_is_an_error():
    rates = RateSchedule([RateVersion(date(2023, 1, 1), "0.05")])
    with pytest.raises(NotInForceError):
        InterestPolicy.simple(rates).accrue(Decimal(100), date(2022, 6, 1), date(2023, 6, 1))


def test_with_rates_and_describe():
    policy = InterestPolicy.none().with_rates("0.05")
    assert policy.method is InterestMethod.SIMPLE
    assert policy.describe() == "5% a year, simple, actual/365"
    compound = InterestPolicy.compound("0.09", "monthly", "actual/360").with_rates("0.12")
    assert compound.describe() == "12% a year, compounded monthly, actual/360"
    assert InterestPolicy.none().describe() == "no interest"


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        # A start on the 31st counts as the 30th: 30 x 2 + (15 - 30).
        (date(2023, 1, 31), date(2023, 3, 15), 45),
        # ... and then an end on the 31st counts as the 30th too.
        (date(2023, 1, 31), date(2023, 5, 31), 120),
        (date(2023, 3, 31), date(2023, 4, 1), 1),
        # A start on the 30th: an end on the 31st counts as the 30th.
        (date(2023, 1, 30), date(2023, 3, 31), 60),
        # A start on the 29th: an end on the 31st stays the 31st.
        (date(2023, 1, 29), date(2023, 3, 31), 62),
    ],
)
def test_thirty_360_with_a_start_on_the_31st(start, end, days):
    assert DayCount.THIRTY_360.days(start, end) == days


def test_compound_monthly_past_several_compounding_dates():
    # Due Jan 15: interest is capitalised on Feb 15, Mar 15 and Apr 15, then accrues simply on
    # the grown balance for the 5 days to Apr 20.
    policy = InterestPolicy.compound("0.12", "monthly")
    accrued = policy.accrue(Decimal(1000), date(2023, 1, 15), date(2023, 4, 20))
    rate = Fraction(12, 100)
    growth = (1 + rate * 31 / 365) * (1 + rate * 28 / 365) * (1 + rate * 31 / 365)
    assert accrued == 1000 * (growth * (1 + rate * 5 / 365) - 1)
    simple = InterestPolicy.simple("0.12")
    assert accrued > simple.accrue(Decimal(1000), date(2023, 1, 15), date(2023, 4, 20))


def test_compound_annual_past_the_first_year():
    # Due 2023-05-01: capitalised on 2024-05-01 (366 days, a leap year) and 2025-05-01 (365),
    # then 31 days of simple accrual on the grown balance.
    policy = InterestPolicy.compound("0.09", "annual")
    accrued = policy.accrue(Decimal(500), date(2023, 5, 1), date(2025, 6, 1))
    rate = Fraction(9, 100)
    assert accrued == 500 * ((1 + rate * 366 / 365) * (1 + rate) * (1 + rate * 31 / 365) - 1)


def test_a_day_count_that_is_not_known_is_a_named_error():
    with pytest.raises(InvalidValueError, match=r"'day_count' must be one of 'actual/365'"):
        InterestPolicy.simple("0.09", "act/365")
    with pytest.raises(InvalidValueError, match="'compounding' must be one of 'monthly'"):
        InterestPolicy.compound("0.09", "weekly")


def test_describe_does_not_depend_on_the_callers_context():
    policy = InterestPolicy.simple("0.091234")
    with decimal.localcontext(prec=2):
        assert policy.describe() == "9.1234% a year, simple, actual/365"
