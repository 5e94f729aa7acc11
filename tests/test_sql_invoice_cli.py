"""``meterlib invoice CONTRACT... --source FILE``: many contracts billed from one DuckDB query."""

from __future__ import annotations

from pathlib import Path

import pytest

from meterlib.cli import main

pytest.importorskip("duckdb")

EXAMPLE = Path(__file__).parent.parent / "examples" / "invoicing"
CONTRACT = str(EXAMPLE / "contract.toml")
EVENTS = str(EXAMPLE / "events.jsonl")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["invoice", *args, "--period", "2023-03", "--format", "json"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_source_bills_as_events_does(capsys: pytest.CaptureFixture[str]) -> None:
    status, alone, _ = _run(capsys, CONTRACT, "--events", EVENTS)
    assert status == 0
    status, many, err = _run(capsys, CONTRACT, CONTRACT, "--source", EVENTS)
    assert status == 0
    assert many == alone + alone
    assert "1 duplicates" in err


def test_several_contracts_need_source(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, CONTRACT, CONTRACT, "--events", EVENTS)
    assert status != 0
    assert "several only with --source" in err
