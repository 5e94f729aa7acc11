"""The DuckDB ledger's law: for any stream cut into any batches it answers exactly as the
SQLite ledger does: the same batch reports, usage, stored events, late events and conflicts."""

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from meterlib.ledger import Ledger
from tests.budget import examples
from tests.ledger_strategies import batched_streams
from tests.metering_strategies import CYCLE, METERS, WINDOW

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from meterlib.ledger.duck import DuckLedger

T0 = datetime(2024, 6, 1, tzinfo=UTC)


@settings(
    max_examples=examples(12),  # 12 under HYPOTHESIS_PROFILE=ci, 5 by default (tests/budget.py)
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(batched_streams())
def test_duck_ledger_answers_as_the_sqlite_ledger(batches):
    with (
        tempfile.TemporaryDirectory() as folder,
        Ledger(Path(folder) / "l.sqlite") as lite,
        DuckLedger(Path(folder) / "l.duckdb", threads=1) as duck,
    ):
        for number, batch in enumerate(batches):
            moment = T0 + timedelta(hours=number)
            checks: dict[str, Any] = (
                {"meters": METERS, "periods": CYCLE, "window": WINDOW} if number % 2 else {}
            )
            expected = lite.append(batch, received_at=moment, source=f"b{number}", **checks)
            assert duck.append(batch, received_at=moment, source=f"b{number}", **checks) == expected
        assert len(duck) == len(lite)
        assert duck.batches() == lite.batches()
        assert list(duck.events()) == list(lite.events())
        assert list(duck.events(customer="cus_a")) == list(lite.events(customer="cus_a"))
        assert duck.refused() == lite.refused()
        for period in (CYCLE.period(0), WINDOW):
            for after in (T0 - timedelta(days=1), T0 + timedelta(minutes=30)):
                assert duck.late_events(period, after) == lite.late_events(period, after)
        cut = T0 + timedelta(minutes=90)
        for options in (
            {"window": WINDOW},
            {},
            {"window": WINDOW, "received_by": cut},
            {"customer": "cus_b"},
        ):
            assert _usage(duck, options) == _usage(lite, options)


def _usage(ledger: Any, options: dict[str, Any]) -> Any:
    """The usage table, or "unreadable" when a stored event fails a meter (both must fail)."""
    try:
        return ledger.usage(METERS, CYCLE, **options)
    except ValueError as error:
        return "unreadable" if "properties." in str(error) else repr(error)
