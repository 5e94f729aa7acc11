"""The SQLite ledger's sums in scaled integers equal exact ``Decimal`` sums, digit for digit.

``sum`` meters over plain decimal text are added by SQLite as integers scaled by 10**6; any
other value (an exponent, more digits, a missing value) leaves the meter to the exact
aggregates. Either way each cell must be the ``Decimal`` sum of its values, with the same
digits (``str``), as the accumulator gives.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from meterlib.ledger import Ledger
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period

_START = datetime(2024, 1, 1, tzinfo=UTC)
_WINDOW = Period(_START, datetime(2024, 3, 1, tzinfo=UTC))
_METER = Meter.model_validate(
    {"name": "qty", "type": "api.call", "aggregation": "sum", "property": "qty",
     "group_by": ["region"]}
)
_plain = st.builds(
    lambda sign, whole, point, fraction: f"{sign}{whole}{point}{fraction}",
    st.sampled_from(["", "-"]),
    st.sampled_from(["", "0", "7", "12", "999999999999", "000123"]),
    st.sampled_from(["", "."]),
    st.sampled_from(["", "5", "50", "123456", "000001"]),
).filter(lambda text: any(c.isdigit() for c in text) and not text.endswith("-"))
_values = st.one_of(_plain, st.sampled_from(["1e3", "1234567.1234567", "9999999999999"]))


@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["eu", "us"]), _values,
                  st.integers(0, 50)),
        min_size=1,
        max_size=25,
    ),
    plain_only=st.booleans(),
)
def test_sql_sums_equal_exact_decimal_sums(
    rows: list[tuple[str, str, str, int]], plain_only: bool
) -> None:
    if plain_only:
        rows = [row for row in rows if "e" not in row[2] and len(row[2]) < 14] or rows[:1]
    events = [
        {"id": f"e{n}", "customer": customer, "type": "api.call",
         "time": (_START + timedelta(days=day)).isoformat(),
         "properties": {"qty": value, "region": region}}
        for n, (customer, region, value, day) in enumerate(rows)
    ]
    cycle = BillingCycle(anchor=_START.date())
    accumulator = Accumulator([_METER], cycle, window=_WINDOW)
    accumulator.add(events)
    expected = accumulator.usage()
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
        ledger.append(events)
        found = ledger.usage([_METER], cycle, window=_WINDOW)
    assert found == expected
    assert {k: str(v) for k, v in found.items()} == {k: str(v) for k, v in expected.items()}
    assert all(isinstance(v, Decimal) for v in found.values())
