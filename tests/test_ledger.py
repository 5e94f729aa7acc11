import json
import sqlite3
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from meterlib.ledger import (
    DEFAULT_LEDGER,
    Ledger,
    LedgerError,
    default_ledger_path,
)
from meterlib.ledger import events as ledger_module
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.events import EventError, UsageEvent
from meterlib.metering.meters import Meter, load_meters
from meterlib.periods import BillingCycle, Period

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "metering"
CYCLE = BillingCycle(anchor=date(2024, 1, 1))
JAN, FEB = CYCLE.period(0), CYCLE.period(1)
WINDOW = Period(JAN.start, FEB.end)
T1 = datetime(2024, 2, 1, tzinfo=UTC)
T2 = datetime(2024, 3, 5, tzinfo=UTC)


def meter(aggregation: str, prop: str | None = "qty", **extra: object) -> Meter:
    spec: dict[str, object] = {"name": aggregation, "type": "t", "aggregation": aggregation}
    if prop is not None:
        spec["property"] = prop
    return Meter.model_validate({**spec, **extra})


def event(eid: str, time: str = "2024-01-10T00:00:00+00:00", **props: object) -> dict[str, object]:
    return {"id": eid, "customer": "c", "type": "t", "time": time, "properties": props}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite"


def examples() -> list[dict[str, object]]:
    found = []
    for line in (EXAMPLES / "events.jsonl").read_text(encoding="utf-8").splitlines():
        try:
            found.append(json.loads(line, parse_float=Decimal))
        except ValueError:
            continue  # the example file holds one broken line on purpose
    return found


def test_append_reports_like_the_accumulator_and_persists(path):
    meters = [meter("sum")]
    batch = [
        event("a", qty="1.5"),
        event("a", qty="1.5"),  # duplicate
        event("a", qty="2"),  # conflict
        event("b", time="2023-12-31T23:59:59.999999+00:00", qty="7"),  # outside
        event("c", time="2024-01-10T00:00:00", qty="1"),  # naive: rejected
        {**event("d", qty="3"), "type": "other"},  # unmetered
        event("e"),  # no qty: rejected by the meter
    ]
    expected = Accumulator(meters, CYCLE, window=WINDOW).add(batch)
    with Ledger(path) as ledger:
        report = ledger.append(batch, meters=meters, periods=CYCLE, window=WINDOW)
        assert report == expected
        assert report.summary() == (
            "7 received: 2 accepted, 1 duplicate, 1 conflict, 1 outside, 2 rejected "
            "(1 accepted matched no meter)"
        )
    with Ledger(path) as ledger:
        assert len(ledger) == 3  # a, b (outside, still stored) and d
        [record] = ledger.batches()
        assert (record.received, record.stored, record.duplicates) == (7, 3, 1)
        assert (record.conflicts, record.rejected) == (1, 2)
        [conflict] = ledger.refused()
        assert conflict.first.properties["qty"] == "1.5"
        assert conflict.second.properties["qty"] == "2"
        assert ledger.usage(meters, CYCLE, window=WINDOW).quantity(
            "c", "sum", JAN.start, JAN.end
        ) == Decimal("1.5")


def test_appending_again_is_idempotent(path):
    batch = examples()
    with Ledger(path) as ledger:
        first = ledger.append(batch)
        again = ledger.append(batch)
        assert first.accepted == len(ledger)
        assert again.accepted == 0
        assert again.duplicates == first.accepted + first.duplicates
        assert again.conflict_count == first.conflict_count == 1
        # a refused version is kept once however often it is sent
        assert len(ledger.refused()) == 1


def test_copies_of_a_stored_id_are_compared_with_the_stored_version(path):
    with Ledger(path) as ledger:
        ledger.append([event("a", qty="1")])
        report = ledger.append([event("a", qty="2"), event("a", qty="2"), event("a", qty="1")])
        assert (report.duplicates, report.conflict_count) == (1, 2)
        assert [c.first.properties["qty"] for c in report.conflicts] == ["1", "1"]


@pytest.mark.parametrize("highest_rowid", [None, 2**63 - 1])
def test_a_batch_of_new_and_stored_ids_tells_them_apart(path, highest_rowid):
    # Stored ids are found by a rowid range over the rows the batch added; when SQLite can no
    # longer number new rows upward (the highest rowid is taken) every id is looked up instead.
    with Ledger(path) as ledger:
        ledger.append([event("a", qty="1"), event("b", qty="2")])
        if highest_rowid is not None:
            with sqlite3.connect(path) as raw:
                raw.execute(
                    "INSERT INTO events VALUES (?, 'c', 't', 0, 0, '{}', NULL, 1)",
                    ("zz",),
                )
                raw.execute("UPDATE events SET rowid = ? WHERE id = 'zz'", (highest_rowid,))
        report = ledger.append(
            [event("n1", qty="1"), event("a", qty="1"), event("n2", qty="1"), event("b", qty="9")]
        )
        assert (report.accepted, report.duplicates, report.conflict_count) == (2, 1, 1)
        [conflict] = report.conflicts
        assert (conflict.first.id, conflict.first.properties["qty"]) == ("b", "2")
        assert conflict.second.properties["qty"] == "9"
        assert {s.event.id for s in ledger.events()} >= {"a", "b", "n1", "n2"}


def test_numbers_and_text_differ_but_trailing_zeros_do_not(path):
    with Ledger(path) as ledger:
        ledger.append([event("a", qty=Decimal("5.0")), event("b", qty="5")])
        report = ledger.append([event("a", qty=5), event("b", qty=5)])
        assert report.duplicates == 1  # Decimal 5.0 == 5
        assert report.conflict_count == 1  # "5" (text) is not 5 (a number)
        stored = {s.event.id: s.event for s in ledger.events()}
        assert stored["a"].properties["qty"] == Decimal("5.0")
        assert stored["b"].properties["qty"] == "5"


def test_events_read_back_in_their_offset(path):
    with Ledger(path) as ledger:
        ledger.append([event("a", time="2024-01-10T05:30:00.000001+05:30", qty="1")])
        [stored] = ledger.events()
        assert stored.event.time.isoformat() == "2024-01-10T05:30:00.000001+05:30"


def test_a_failing_batch_leaves_nothing(path, monkeypatch):
    with Ledger(path) as ledger:
        ledger.append([event("a", qty="1")])

        def broken(_row: object) -> str:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(ledger_module, "canonical", broken)
        with pytest.raises(RuntimeError, match="disk on fire"):
            ledger.append([event("b", qty="1"), event("a", qty="2")])
        assert len(ledger) == 1
        assert len(ledger.batches()) == 1
        monkeypatch.undo()
        assert ledger.append([event("b", qty="1")]).accepted == 1


def test_usage_equals_the_accumulator_on_the_examples(path):
    meters = load_meters(EXAMPLES / "meters.toml")
    events = examples()
    accumulator = Accumulator(meters, CYCLE)
    accumulator.add(events)
    with Ledger(path) as ledger:
        ledger.append(events, meters=meters)
        table = ledger.usage(meters, CYCLE)
        assert table == accumulator.usage()
        assert len(table) > 20
        one = ledger.usage(meters, CYCLE, window=FEB, customer="cus_acme")
        assert one == {k: v for k, v in accumulator.usage().items() if
                       k.customer == "cus_acme" and k.period == FEB}


def test_usage_over_explicit_periods_and_each_aggregation(path):
    meters = [
        meter("count", None, name="n"),
        meter("sum", group_by=["r"]),
        meter("min"),
        meter("max"),
        meter("unique_count", "user"),
        meter("latest"),
        meter("weighted_sum"),
    ]
    events = [
        event("1", "2024-01-01T00:00:00+00:00", qty="10", r="eu", user="u1"),
        event("2", "2024-01-16T12:00:00+00:00", qty="-2.5", r="us", user="u1"),
        event("3", "2024-01-16T12:00:00+00:00", qty="4", r="eu", user="7"),
        event("4", "2024-02-01T00:00:00+00:00", qty="1", r="eu", user="u2"),
    ]
    periods = [JAN, Period(FEB.start + timedelta(days=1), FEB.end)]
    accumulator = Accumulator(meters, periods)
    accumulator.add(events)
    with Ledger(path) as ledger:
        report = ledger.append(events, meters=meters, periods=periods)
        assert report.outside == 1  # event 4 falls in the gap
        table = ledger.usage(meters, periods)
    assert table == accumulator.usage()
    figures = {key.meter + "/" + ";".join(v for _, v in key.group): v for key, v in table.items()}
    assert figures == {
        "n/": Decimal(3),
        "sum/eu": Decimal(14),
        "sum/us": Decimal("-2.5"),
        "min/": Decimal("-2.5"),
        "max/": Decimal(10),
        "unique_count/": Decimal(2),
        "latest/": Decimal(4),  # ties on time: the greater id wins
        # 10 for the whole month, +1.5 for the second half: 10 + 1.5 * 15.5 / 31
        "weighted_sum/": Decimal("10.75"),
    }


def test_filters_and_awkward_property_names(path):
    meters = [
        Meter.model_validate(
            {
                "name": "m",
                "type": "t",
                "aggregation": "sum",
                "property": 'q"ty',
                "filters": {"plan\\x": {"one_of": ["a", "b"]}},
                "group_by": ["région"],
            }
        )
    ]
    events = [
        {**event("1"), "properties": {'q"ty': "2", "plan\\x": "a", "région": "é"}},
        {**event("2"), "properties": {'q"ty': "3", "plan\\x": "c", "région": "é"}},
    ]
    accumulator = Accumulator(meters, CYCLE)
    accumulator.add(events)
    with Ledger(path) as ledger:
        ledger.append(events)
        table = ledger.usage(meters, CYCLE)
    assert table == accumulator.usage()
    assert table.quantity("c", "m", JAN.start, JAN.end) == Decimal(2)


def test_usage_refuses_events_a_meter_cannot_read(path):
    with Ledger(path) as ledger:
        ledger.append([event("a", qty="1"), event("b", qty="12abc"), event("c")])
        with pytest.raises(EventError, match=r"event 'b': 'properties\.qty'.*12abc"):
            ledger.usage([meter("sum")], CYCLE)
        with pytest.raises(EventError, match=r"event 'c': 'properties\.qty'"):
            ledger.usage([meter("unique_count")], CYCLE)
        with pytest.raises(EventError, match=r"event 'a': 'properties\.r'"):
            ledger.usage([meter("count", None, group_by=["r"])], CYCLE)
        assert ledger.usage([meter("count", None)], CYCLE).quantity(
            "c", "count", JAN.start, JAN.end
        ) == Decimal(3)


def test_late_events_and_usage_as_known_then(path):
    with Ledger(path) as ledger:
        ledger.append([event("a", qty="1")], received_at=T1)
        ledger.append(
            [event("b", qty="2"), event("c", time="2024-02-10T00:00:00+00:00", qty="4")],
            received_at=T2,
        )
        late = ledger.late_events(JAN, T1)
        assert [(s.event.id, s.received, s.batch) for s in late] == [("b", T2, 2)]
        assert ledger.late_events(JAN, T2) == []
        assert ledger.late_events(JAN, T1, customer="nobody") == []
        then = ledger.usage([meter("sum")], CYCLE, received_by=T1)
        now = ledger.usage([meter("sum")], CYCLE)
        assert then.quantity("c", "sum", JAN.start, JAN.end) == Decimal(1)
        assert now.quantity("c", "sum", JAN.start, JAN.end) == Decimal(3)
        assert now.quantity("c", "sum", FEB.start, FEB.end) == Decimal(4)


def test_usage_of_an_empty_ledger_is_empty(path):
    with Ledger(path) as ledger:
        assert len(ledger.usage([meter("sum")], CYCLE)) == 0
        assert len(ledger.usage([meter("sum")], CYCLE, window=JAN)) == 0


def test_usage_events_go_in(path):
    typed = UsageEvent.from_dict(event("a", qty=Decimal("2.50")))
    with Ledger(path) as ledger:
        assert ledger.append([typed]).accepted == 1
        assert ledger.append([typed]).duplicates == 1
        [stored] = ledger.events(customer="c")
        assert stored.event == typed


def test_rejections_match_the_accumulator_word_for_word(path):
    batch: list[Any] = [
        {**event("a"), "properties": []},
        {**event("b"), "customer": ""},
        {**event("c"), "propertis": {}},
        event("d", qty=0.5),
        "not an event",
        event("e", time="yesterday"),
    ]
    expected = Accumulator([meter("sum")], CYCLE).add(batch)
    with Ledger(path) as ledger:
        assert ledger.append(batch) == expected
        assert len(ledger) == 0


def test_not_a_ledger(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("hello", encoding="utf-8")
    with pytest.raises(LedgerError, match="not a meterlib ledger"):
        Ledger(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE customers (id TEXT)")
    with pytest.raises(LedgerError, match="not a meterlib ledger"):
        Ledger(other)


def test_another_format_version_is_refused(path):
    Ledger(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = 'meterlib.ledger/99'")
    with pytest.raises(LedgerError, match="ledger/99"):
        Ledger(path)


def test_the_view_for_other_engines(path):
    with Ledger(path) as ledger:
        ledger.append([event("a", time="1969-12-31T23:59:59.5-01:00", qty=2)], received_at=T1)
    with sqlite3.connect(path) as db:
        row = db.execute(
            "SELECT rowid, id, time, properties, received_at FROM ledger_events"
        ).fetchone()
    assert row == (
        1, "a", "1970-01-01T00:59:59.500000Z", '{"qty":"2"}', "2024-02-01T00:00:00.000000Z"
    )


def test_default_ledger_path():
    assert default_ledger_path({}) == Path(DEFAULT_LEDGER)
    assert default_ledger_path({"METERLIB_LEDGER": ""}) == Path(DEFAULT_LEDGER)
    assert default_ledger_path({"METERLIB_LEDGER": "/x/l.sqlite"}) == Path("/x/l.sqlite")


def test_text_holding_nul_is_stored_whole(path):
    with Ledger(path) as ledger:
        ledger.append([event("a\x00b", qty="1", note="x\x00y")])
        [stored] = ledger.events()
        assert stored.event.id == "a\x00b"
        assert stored.event.properties["note"] == "x\x00y"
        assert ledger.append([event("a\x00b", qty="1", note="x\x00y")]).duplicates == 1
