"""meterlib._fast: every CPython speed trick gives what its portable fallback gives.

The key metering and ledger checks run twice, once with the fast forms and once with
``use_portable(True)`` (what ``METERLIB_PORTABLE=1`` selects at import), and must agree.
"""

import io
import json
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib import _fast
from meterlib.ledger import Ledger
from meterlib.ledger.ingest import Ingest
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import load_meters
from meterlib.metering.readers import read_jsonl
from meterlib.periods import BillingCycle

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "metering"
EVENTS = EXAMPLES / "events.jsonl"
METERS = EXAMPLES / "meters.toml"
CYCLE = BillingCycle(anchor=date(2000, 1, 1))


@pytest.fixture
def restore():
    before = _fast.portable()
    yield
    _fast.use_portable(before)


@pytest.fixture(params=[False, True], ids=["fast", "portable"])
def portable(request):
    before = _fast.portable()
    _fast.use_portable(request.param)
    yield request.param
    _fast.use_portable(before)


def lines_read() -> list[tuple[int, str, object, object]]:
    extra = b'{"id": 1}\n[1, 2]\n {"id": "x"} \n{"id": "y"}trailing\nnot json\n\n'
    stream = io.BytesIO(EVENTS.read_bytes() + extra)
    return [
        (number, repr(data), event, problem)
        for number, data, event, problem in read_jsonl(stream)
    ]


def accumulator_json() -> str:
    accumulator = Accumulator(load_meters(METERS), CYCLE)
    with EVENTS.open("rb") as stream:
        accumulator.add(event for _, _, event, _ in read_jsonl(stream) if event is not None)
    return accumulator.to_json()


def ledger_state(folder: Path) -> tuple[object, ...]:
    with Ledger(folder / "l.sqlite") as ledger, EVENTS.open("rb") as stream:
        run = Ingest(ledger, batch_size=50)
        run.file("events", stream, "jsonl")
        rows = ledger._db.execute("SELECT id, props, numbers FROM events ORDER BY rowid")
        stored = rows.fetchall()
        usage = ledger.usage(load_meters(METERS), CYCLE).to_records()
        return stored, usage, [c.event_id for c in ledger.refused()], vars(run.totals)


@pytest.mark.usefixtures("restore")
def test_readers_agree():
    _fast.use_portable(False)
    fast = lines_read()
    _fast.use_portable(True)
    assert lines_read() == fast


@pytest.mark.usefixtures("restore")
def test_accumulator_agrees():
    _fast.use_portable(False)
    fast = accumulator_json()
    _fast.use_portable(True)
    assert accumulator_json() == fast


@pytest.mark.usefixtures("restore")
def test_ledger_agrees(tmp_path):
    _fast.use_portable(False)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    fast = ledger_state(tmp_path / "a")
    _fast.use_portable(True)
    assert ledger_state(tmp_path / "b") == fast


def test_switch(portable):
    assert _fast.portable() is portable
    with _fast.gc_paused():
        pass


@given(
    st.one_of(
        st.dictionaries(st.text(), st.text(), max_size=4),
        st.lists(st.text(), max_size=4),
    )
)
def test_encode_json_both_ways(value):
    before = _fast.portable()
    try:
        _fast.use_portable(False)
        fast = _fast.encode_json(value)
        _fast.use_portable(True)
        slow = _fast.encode_json(value)
    finally:
        _fast.use_portable(before)
    assert fast == slow
    assert json.loads(fast) == value
