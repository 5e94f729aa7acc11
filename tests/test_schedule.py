from dataclasses import dataclass
from datetime import date

import pytest

from meterlib.errors import InvalidValueError
from meterlib.schedule import NotInForceError, check_schedule, in_force


@dataclass(frozen=True)
class Version:
    effective_from: date
    label: str


VERSIONS = [Version(date(2023, 2, 1), "v1"), Version(date(2023, 6, 1), "v2")]


@pytest.mark.parametrize(
    ("day", "label"),
    [
        (date(2023, 2, 1), "v1"),
        (date(2023, 5, 31), "v1"),
        (date(2023, 6, 1), "v2"),
        (date(2030, 1, 1), "v2"),
    ],
)
def test_the_latest_version_on_or_before_the_day_is_in_force(day, label):
    assert in_force(VERSIONS, day).label == label


def test_a_day_before_every_version_is_an_error_naming_the_day():
    with pytest.raises(NotInForceError, match="no price was in force on 2023-01-31"):
        in_force(VERSIONS, date(2023, 1, 31))


def test_schedules_must_rise_strictly():
    with pytest.raises(InvalidValueError, match=r"versions\[1\].effective_from"):
        check_schedule([VERSIONS[1], VERSIONS[0]])
    with pytest.raises(InvalidValueError, match="at least one"):
        check_schedule([])
