import importlib.util
import io
import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.cli import main
from meterlib.ledger import Ledger
from meterlib.metering.accumulator import Accumulator
from meterlib.metering.meters import load_meters
from meterlib.metering.readers import read_jsonl
from meterlib.periods import BillingCycle

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "metering"
EVENTS = EXAMPLES / "events.jsonl"
METERS = EXAMPLES / "meters.toml"
CYCLE = BillingCycle(anchor=date(2000, 1, 1))


def example_usage() -> list[dict[str, str]]:
    accumulator = Accumulator(load_meters(METERS), CYCLE)
    with EVENTS.open("rb") as stream:
        accumulator.add(event for _, _, event, _ in read_jsonl(stream) if event is not None)
    return accumulator.usage().to_text_records()


def test_ingest_then_usage(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    assert main(["ingest", str(EVENTS), "--ledger", str(ledger)]) == 1  # the file holds problems
    out = capsys.readouterr().out
    assert "374 events read: 367 accepted, 5 duplicates, 1 conflict, 0 outside, 1 rejected" in out
    rejected = tmp_path / "l.sqlite.rejected.jsonl"
    assert f"2 rejected line(s) and conflict(s) recorded in {rejected}" in out
    records = [json.loads(line) for line in rejected.read_text(encoding="utf-8").splitlines()]
    assert [(r["problem"], r.get("line"), r.get("lines")) for r in records] == [
        ("rejected", 151, None),
        ("conflict", None, [78, 374]),
    ]
    assert records[0]["reason"].startswith("line 151: not valid JSON")
    assert records[1]["stored"]["id"] == records[1]["refused"]["id"] == "evt_00132"

    args = ["usage", "--ledger", str(ledger), "--meters", str(METERS), "--format", "json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == example_usage()


def test_usage_of_one_month_and_customer_as_csv_and_text(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    main(["ingest", str(EVENTS), "--ledger", str(ledger)])
    capsys.readouterr()
    args = ["usage", "--ledger", str(ledger), "--meters", str(METERS), "--customer", "cus_acme"]
    assert main([*args, "--period", "2024-02", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "customer,meter,period_start,period_end,period,group,value"
    assert len(lines) > 3
    assert all(",2024-02," in line and line.startswith("cus_acme,") for line in lines[1:])
    assert main([*args, "--period", "1999"]) == 0
    assert capsys.readouterr().out == "(no usage)\n"
    assert main([*args, "--period", "2024-13"]) == 2
    assert "'--period' must be a month YYYY-MM or a year YYYY" in capsys.readouterr().err


def test_a_second_ingest_counts_duplicates_and_stores_nothing_new(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    main(["ingest", str(EVENTS), "--ledger", str(ledger)])
    main(["ingest", str(EVENTS), "--ledger", str(ledger)])
    out = capsys.readouterr().out
    assert "0 accepted, 372 duplicates, 1 conflict" in out
    with Ledger(ledger) as opened:
        assert len(opened) == 367


def test_default_ledger_from_the_environment_and_the_current_directory(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METERLIB_LEDGER", raising=False)
    clean = tmp_path / "clean.jsonl"
    clean.write_text(EVENTS.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    assert main(["ingest", str(clean)]) == 0
    assert (tmp_path / "meterlib-ledger.sqlite").is_file()
    assert "1 events read: 1 accepted" in capsys.readouterr().out
    assert not (tmp_path / "meterlib-ledger.sqlite.rejected.jsonl").exists()
    monkeypatch.setenv("METERLIB_LEDGER", str(tmp_path / "env.sqlite"))
    assert main(["ingest", str(clean)]) == 0
    assert (tmp_path / "env.sqlite").is_file()
    assert main(["usage", "--meters", str(METERS)]) == 0
    assert "api_calls" in capsys.readouterr().out


def test_ingest_from_stdin_and_csv_with_meter_checks(tmp_path, capsys, monkeypatch):
    ledger = tmp_path / "l.sqlite"
    data = (
        '{"id": "a", "customer": "c", "type": "api.request", "time": "2024-01-01T00:00:00Z",'
        ' "properties": {"tokens": "5", "region": "eu", "status": "ok", "user": "u",'
        ' "endpoint": "/v1/embed"}}\n'
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data.encode())))
    assert main(["ingest", "-", "--ledger", str(ledger)]) == 0
    csv = tmp_path / "more.csv"
    csv.write_text(
        "id,customer,type,time,properties.tokens,properties.region,properties.user,"
        "properties.status,properties.endpoint\n"
        "b,c,api.request,2024-01-02T00:00:00Z,7,eu,u,ok,/v1/embed\n"
        "c,c,api.request,2024-01-02T00:00:00Z,lots,eu,u,ok,/v1/embed\n",
        encoding="utf-8",
    )
    assert main(["ingest", str(csv), "--ledger", str(ledger), "--meters", str(METERS)]) == 1
    out = capsys.readouterr().out
    assert "2 events read: 1 accepted, 0 duplicates, 0 conflicts, 0 outside, 1 rejected" in out
    [record] = [
        json.loads(line)
        for line in (tmp_path / "l.sqlite.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert record["line"] == 3
    assert record["event_id"] == "c"
    assert "'properties.tokens'" in record["reason"]
    assert record["input"]["properties.tokens"] == "lots"
    with Ledger(ledger) as opened:
        table = opened.usage(load_meters(METERS), CYCLE)
    assert table.quantity("c", "tokens", CYCLE.start(288), CYCLE.start(289)) == Decimal(12)


def test_small_batches_and_a_progress_line(tmp_path, capsys):
    ledger = tmp_path / "l.sqlite"
    args = ["ingest", str(EVENTS), "--ledger", str(ledger), "--batch-size", "50", "--progress"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert "events/s" in captured.err
    assert "100.0%" in captured.err
    with Ledger(ledger) as opened:
        batches = opened.batches()
        assert len(batches) == 8
        assert sum(b.stored for b in batches) == len(opened) == 367
        assert batches[0].source == f"{EVENTS}:1-50"


def test_ingest_errors(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "missing.jsonl"), "--ledger", str(tmp_path / "l")]) == 2
    assert "an existing events file" in capsys.readouterr().err
    assert main(["ingest", str(EVENTS), "--ledger", str(tmp_path / "l"), "--batch-size", "0"]) == 2
    assert "'--batch-size' must be a whole number >= 1" in capsys.readouterr().err
    not_ledger = tmp_path / "x.sqlite"
    not_ledger.write_text("plain text", encoding="utf-8")
    assert main(["ingest", str(EVENTS), "--ledger", str(not_ledger)]) == 3  # a storage fault
    assert "not a meterlib ledger" in capsys.readouterr().err
    assert main(["usage", "--ledger", str(tmp_path / "none"), "--meters", str(METERS)]) == 2
    assert "create one with 'meterlib ingest'" in capsys.readouterr().err


@pytest.mark.skipif(
    importlib.util.find_spec("duckdb") is None, reason="the DuckDB extra is not installed"
)
def test_usage_from_source_files(tmp_path, capsys):
    clean = tmp_path / "events.jsonl"
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    clean.write_text("\n".join(line for n, line in enumerate(lines, 1) if n != 151) + "\n")
    args = ["usage", "--source", str(clean), "--meters", str(METERS), "--format", "json"]
    assert main(args) == 0

    def figures(records: list[dict[str, str]]) -> list[tuple[str, ...]]:
        # the engines agree on every figure as a number, not on how it is written
        return [(*(r[k] for k in sorted(r) if k != "value"), str(Decimal(r["value"]).normalize()))
                for r in records]

    assert figures(json.loads(capsys.readouterr().out)) == figures(example_usage())


@pytest.mark.skipif(
    importlib.util.find_spec("duckdb") is None, reason="the DuckDB extra is not installed"
)
def test_usage_from_source_rejects_the_line_ingest_rejects(tmp_path, capsys):
    # The engines once disagreed on this file: ingest skipped line 151, DuckDB aborted the
    # whole query and called it line 152.
    ledger = tmp_path / "l.sqlite"
    assert main(["ingest", str(EVENTS), "--ledger", str(ledger)]) == 1
    capsys.readouterr()
    records = (tmp_path / "l.sqlite.rejected.jsonl").read_text(encoding="utf-8").splitlines()
    ingest_reason = json.loads(records[0])["reason"]
    args = ["usage", "--source", str(EVENTS), "--meters", str(METERS), "--format", "json"]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"rejected: {ingest_reason}"]
    assert ingest_reason.startswith("line 151: not valid JSON")
    assert _figures(json.loads(captured.out)) == _figures(
        json.loads(_usage_of_ledger(ledger, capsys))
    )


def _figures(records: list[dict[str, str]]) -> list[tuple[str, ...]]:
    # the engines agree on every figure as a number, not on how it is written
    return [
        (*(r[k] for k in sorted(r) if k != "value"), str(Decimal(r["value"]).normalize()))
        for r in records
    ]


def _usage_of_ledger(ledger, capsys) -> str:
    args = ["usage", "--ledger", str(ledger), "--meters", str(METERS), "--format", "json"]
    assert main(args) == 0
    return str(capsys.readouterr().out)
