"""First copies are placed by a range test on their time; periods with gaps keep the NULL test."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import Meter
from meterlib.periods import Period
from meterlib.sql import build_usage_query, usage_from_source

METERS = [
    Meter.model_validate({"name": "units", "type": "t", "aggregation": "sum", "property": "q"}),
    Meter.model_validate({"name": "last", "type": "t", "aggregation": "latest", "property": "q"}),
    Meter.model_validate({"name": "n", "type": "u", "aggregation": "count"}),
]
JAN = Period(datetime(2023, 1, 1, tzinfo=UTC), datetime(2023, 2, 1, tzinfo=UTC))
FEB = Period(datetime(2023, 2, 1, tzinfo=UTC), datetime(2023, 3, 1, tzinfo=UTC))
APR = Period(datetime(2023, 4, 1, tzinfo=UTC), datetime(2023, 5, 1, tzinfo=UTC))


def test_periods_without_gaps_need_no_null_test_of_the_period() -> None:
    sql = build_usage_query(METERS, [JAN, FEB]).sql(pretty=False)
    assert '"meterlib_time_us" >= 1672531200000000' in sql
    assert '"meterlib_time_us" < 1677628800000000' in sql
    assert 'NOT "meterlib_period" IS NULL' not in sql
    gapped = build_usage_query(METERS, [JAN, APR]).sql(pretty=False)
    assert 'NOT "meterlib_period" IS NULL' in gapped


def test_events_in_a_gap_before_or_after_the_periods_count_nowhere(tmp_path: Path) -> None:
    times = [
        "2022-12-31T23:59:59.999999+00:00",
        "2023-01-01T00:00:00+00:00",
        "2023-01-31T23:59:59+00:00",
        "2023-02-01T00:00:00+00:00",
        "2023-03-15T00:00:00+00:00",
        "2023-04-01T00:00:00+00:00",
        "2023-04-30T23:59:59.999999+00:00",
        "2023-05-01T00:00:00+00:00",
    ]
    events = [
        {
            "id": f"e{i}",
            "customer": "c",
            "type": "t" if i % 3 else "u",
            "time": moment,
            "properties": {"q": str(i + 1)},
        }
        for i, moment in enumerate(times)
    ]
    # a re-send of e4 (in the gap) later in the file inside January must not count either
    events.append({**events[4], "time": "2023-01-10T00:00:00+00:00"})
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    for periods in ([JAN, FEB], [JAN, APR], [FEB, APR]):
        accumulator = Accumulator(METERS, periods)
        accumulator.add(events[:-1]).check()
        assert usage_from_source(path, METERS, periods) == accumulator.usage()
