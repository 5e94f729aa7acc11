from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from meterlib.errors import DocumentError, InvalidValueError, NaiveDatetimeError
from meterlib.money import Money
from meterlib.periods import BillingCycle, Cadence, Period, add_months
from meterlib.proration import ProrationBasis, prorate

NY = ZoneInfo("America/New_York")


def test_monthly_periods_are_counted_from_the_anchor_not_chained():
    cycle = BillingCycle(anchor=date(2023, 1, 31), cadence=Cadence.MONTHLY)
    starts = [p.start.date() for p in cycle.periods(5)]
    assert starts == [
        date(2023, 1, 31),
        date(2023, 2, 28),
        date(2023, 3, 31),
        date(2023, 4, 30),
        date(2023, 5, 31),
    ]


@pytest.mark.parametrize(
    ("cadence", "second_start"),
    [
        (Cadence.WEEKLY, date(2024, 1, 8)),
        (Cadence.MONTHLY, date(2024, 2, 1)),
        (Cadence.QUARTERLY, date(2024, 4, 1)),
        (Cadence.YEARLY, date(2025, 1, 1)),
    ],
)
def test_cadences(cadence, second_start):
    cycle = BillingCycle(anchor=date(2024, 1, 1), cadence=cadence)
    assert cycle.period(1).start.date() == second_start


def test_periods_keep_local_midnight_across_dst():
    cycle = BillingCycle(anchor=date(2023, 1, 1), timezone="America/New_York")
    march = cycle.period(2)
    assert march.start == datetime(2023, 3, 1, tzinfo=NY)
    assert march.end == datetime(2023, 4, 1, tzinfo=NY)
    assert march.start.utcoffset() == timedelta(hours=-5)
    assert march.end.utcoffset() == timedelta(hours=-4)
    assert march.label() == "2023-03"
    # 04:59 UTC on 1 March is still February in New York.
    assert cycle.locate(datetime(2023, 3, 1, 4, 59, tzinfo=UTC)).label() == "2023-02"
    assert cycle.locate(datetime(2023, 3, 1, 5, 0, tzinfo=UTC)).label() == "2023-03"


def test_weekly_periods_across_dst_are_seven_local_days():
    cycle = BillingCycle(anchor=date(2023, 3, 6), cadence="weekly", timezone="America/New_York")
    week = cycle.period(0)
    assert week.duration == timedelta(days=7, hours=-1)
    assert week.days == 7


def test_locate_before_the_anchor_gives_negative_indexes():
    cycle = BillingCycle(anchor=date(2023, 1, 15))
    assert cycle.index_of(datetime(2023, 1, 14, 23, tzinfo=UTC)) == -1
    assert cycle.index_of(datetime(2022, 1, 15, tzinfo=UTC)) == -12


def test_periods_between_covers_a_window():
    cycle = BillingCycle(anchor=date(2023, 1, 1))
    found = cycle.periods_between(
        datetime(2023, 2, 10, tzinfo=UTC), datetime(2023, 4, 1, tzinfo=UTC)
    )
    assert [p.label() for p in found] == ["2023-02", "2023-03"]


def test_naive_datetimes_are_refused():
    with pytest.raises(DocumentError, match="naive"):
        BillingCycle(anchor=datetime(2023, 1, 1))  # noqa: DTZ001  (the naive value is the point)
    cycle = BillingCycle(anchor=date(2023, 1, 1))
    with pytest.raises(NaiveDatetimeError, match="'instant'"):
        cycle.locate(datetime(2023, 1, 2))  # noqa: DTZ001
    with pytest.raises(NaiveDatetimeError, match="'start'"):
        Period(datetime(2023, 1, 1), datetime(2023, 2, 1, tzinfo=UTC))  # noqa: DTZ001


def test_unknown_time_zone_is_refused():
    with pytest.raises(DocumentError, match=r"IANA time zone.*'Mars/Olympus'"):
        BillingCycle(anchor=date(2023, 1, 1), timezone="Mars/Olympus")


def test_period_must_not_be_empty():
    moment = datetime(2023, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidValueError, match="'end'"):
        Period(moment, moment)


def test_period_contains_is_half_open():
    period = Period(datetime(2023, 8, 1, tzinfo=UTC), datetime(2023, 9, 1, tzinfo=UTC))
    assert datetime(2023, 8, 1, tzinfo=UTC) in period
    assert datetime(2023, 9, 1, tzinfo=UTC) not in period
    assert datetime(2023, 8, 20, 8, tzinfo=ZoneInfo("Europe/Berlin")) in period


def test_proration_by_days_and_seconds():
    period = (date(2023, 2, 1), date(2023, 3, 1))
    half = prorate(Money("100", "USD"), period, (date(2023, 2, 15), date(2023, 3, 1)))
    assert half.rounded() == Money("50.00", "USD")
    start = datetime(2023, 2, 1, tzinfo=UTC)
    end = datetime(2023, 3, 1, tzinfo=UTC)
    hour = prorate(
        Money("672", "USD"), (start, end), (start, start + timedelta(hours=1)), "seconds"
    )
    assert hour.basis is ProrationBasis.SECONDS
    assert hour.rounded() == Money("1.00", "USD")


def test_proration_refuses_spans_outside_the_period():
    with pytest.raises(InvalidValueError, match="'active'"):
        prorate(
            Money("1", "USD"),
            (date(2023, 2, 1), date(2023, 3, 1)),
            (date(2023, 1, 15), date(2023, 2, 10)),
        )
    with pytest.raises(InvalidValueError, match="'basis'"):
        prorate(
            Money("1", "USD"),
            (date(2023, 2, 1), date(2023, 3, 1)),
            (date(2023, 2, 1), date(2023, 2, 10)),
            "hours",
        )


def test_a_date_anchor_may_be_written_as_text_as_in_json():
    cycle = BillingCycle.model_validate_json(
        '{"anchor": "2023-01-31", "timezone": "Europe/Berlin"}'
    )
    assert cycle.anchor == date(2023, 1, 31)
    assert cycle.start(1).isoformat() == "2023-02-28T00:00:00+01:00"
    with pytest.raises(DocumentError, match="naive"):
        BillingCycle.model_validate_json('{"anchor": "2023-01-31T00:00:00"}')


def test_no_periods_for_a_count_of_zero_or_an_empty_window():
    cycle = BillingCycle(anchor=date(2023, 1, 1))
    assert cycle.periods(0) == []
    assert cycle.periods(0, first=5) == []
    assert len(cycle.periods(1)) == 1
    instant = datetime(2023, 2, 10, tzinfo=UTC)
    assert cycle.periods_between(instant, instant) == []
    assert cycle.periods_between(instant, instant - timedelta(days=1)) == []
    tiny = cycle.periods_between(instant, instant + timedelta(microseconds=1))
    assert [p.label() for p in tiny] == ["2023-02"]


def test_a_cycle_built_from_bad_input_raises_a_meterlib_error():
    with pytest.raises(DocumentError) as caught:
        BillingCycle(anchor="x")
    assert caught.value.problems
    for where, message in caught.value.problems:
        assert where.split(".")[0] == "anchor"
        assert "(got 'x' that is text)" in message
    with pytest.raises(DocumentError, match="cadence"):
        BillingCycle.model_validate({"anchor": "2023-01-01", "cadence": "daily"})


def test_add_months_is_counted_from_the_anchor_and_clamped():
    assert add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 1, 31), 3) == date(2023, 4, 30)
    assert add_months(date(2023, 3, 31), -1) == date(2023, 2, 28)
    assert add_months(date(2023, 5, 15), 0) == date(2023, 5, 15)
