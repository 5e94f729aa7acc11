"""The ledger's laws: for any stream cut into any batches, the SQLite ledger reports every batch
as the in-memory accumulator does and computes the same usage table."""

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.ledger import Ledger
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.report import Rejection
from meterlib.testing.events import CYCLE, METERS, WINDOW
from tests.budget import examples
from tests.ledger_strategies import batched_streams


@settings(max_examples=examples(60))
@given(batched_streams())
def test_ledger_reports_and_usage_equal_the_accumulator(batches):
    accumulator = Accumulator(METERS, CYCLE, window=WINDOW)
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
        for batch in batches:
            expected = accumulator.add(batch)
            assert ledger.append(batch, meters=METERS, periods=CYCLE, window=WINDOW) == expected
        assert ledger.usage(METERS, CYCLE, window=WINDOW) == accumulator.usage()
        assert len(ledger) == accumulator.distinct_events


@settings(max_examples=examples(40))
@given(batched_streams(), st.sampled_from(["cus_a", "cus_b"]))
def test_usage_without_a_window_or_for_one_customer_holds_the_same_cells(batches, customer):
    accumulator = Accumulator(METERS, CYCLE)
    with tempfile.TemporaryDirectory() as folder, Ledger(Path(folder) / "l.sqlite") as ledger:
        for batch in batches:
            accumulator.add(batch)
            ledger.append(batch)  # no meter checks: unreadable events are rejected anyway...
        whole = accumulator.usage()
        try:
            table = ledger.usage(METERS, CYCLE)
        except ValueError:
            # ...unless they only fail a meter: then usage names the event instead of guessing
            assert any(r.field and r.field.startswith("properties.") for r in _rejections(batches))
            return
        assert table == whole
        one = ledger.usage(METERS, CYCLE, customer=customer)
        assert one == {k: v for k, v in whole.items() if k.customer == customer}


def _rejections(batches: list[list[Any]]) -> list[Rejection]:
    accumulator = Accumulator(METERS, CYCLE)
    return [r for batch in batches for r in accumulator.add(batch).rejected]
