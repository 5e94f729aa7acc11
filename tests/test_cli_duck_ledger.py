"""The commands on a DuckDB ledger: chosen by file name or --backend, same results as SQLite."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from meterlib.cli import main
from meterlib.ledger.backends import backend_of

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "metering"
EVENTS = EXAMPLES / "events.jsonl"
METERS = EXAMPLES / "meters.toml"


def _run(ledger: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[str, object]:
    assert main(["ingest", str(EVENTS), "--ledger", str(ledger), *extra]) == 1
    summary = capsys.readouterr().out
    args = ["usage", "--ledger", str(ledger), "--meters", str(METERS), "--format", "json"]
    assert main(args) == 0
    records = json.loads(capsys.readouterr().out)
    # Compared as numbers: DuckDB's `latest` gives 502.1 where the text said 502.10.
    figures = [{**r, "value": Decimal(r["value"])} for r in records]
    return summary.splitlines()[1], figures


@pytest.mark.parametrize("columns", ["--columns", "--no-columns"])
def test_a_duckdb_ledger_by_its_name_gives_what_the_sqlite_ledger_gives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], columns: str
) -> None:
    duck = tmp_path / "events.duckdb"
    found = _run(duck, capsys, columns)
    assert backend_of(duck) == "duckdb"
    assert found == _run(tmp_path / "events.sqlite", capsys, columns)
    assert "374 events read: 367 accepted, 5 duplicates, 1 conflict" in found[0]
    log = tmp_path / "events.duckdb.rejected.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [(r["problem"], r.get("line"), r.get("lines")) for r in records] == [
        ("rejected", 151, None),
        ("conflict", None, [78, 374]),
    ]
    assert main(["verify", "--ledger", str(duck)]) == 0
    assert "ok" in capsys.readouterr().out
    # Again: everything is a duplicate, nothing new is logged.
    assert main(["ingest", str(EVENTS), "--ledger", str(duck), columns]) == 1
    assert "0 accepted" in capsys.readouterr().out
    assert main(["verify", "--ledger", str(duck)]) == 0


def test_backend_option_names_the_backend_of_a_new_file_and_may_not_contradict_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "events.db"
    assert main(["ingest", str(EVENTS), "--ledger", str(ledger), "--backend", "duckdb"]) == 1
    assert backend_of(ledger) == "duckdb"
    capsys.readouterr()
    assert main(["usage", "--ledger", str(ledger), "--meters", str(METERS)]) == 0
    capsys.readouterr()
    args = ["usage", "--ledger", str(ledger), "--meters", str(METERS), "--backend", "sqlite"]
    assert main(args) == 2
    assert "backend" in capsys.readouterr().err
