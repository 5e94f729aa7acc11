"""bench/report.py builds the README's performance table from benchmarks' RESULT lines.

The table builder is a pure function of the previous table and a saved log: nothing is run or
timed here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_report", ROOT / "bench" / "report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_report"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


report = _load()

# A hand-written table as it was before the report existed (four columns, no keys).
PREVIOUS = """\
Measured on the project's machine.

| what | target | measured | command |
|---|---|---|---|
| rating a price | ≥ 100,000 ratings/s | 242,000 ratings/s | `python bench/bench_rating.py` |
| matrix ratings | ≥ 20,000/s | 11,000/s: not met | `python bench/bench_matrix.py` |
| issuing invoices | ≥ 2,000 invoices/s | 969 invoices/s | `python bench/bench_records.py` |
| re-checking periods | ≥ 5,000/s | 1,954/s | `python bench/bench_records.py` |
| start-up | ≤ 150 ms | 6 ms | `python bench/bench_startup.py` |
"""


def result(key: str, bench: str, measured: str, *, met: bool | None = True, **extra: str) -> str:
    row = {
        "key": key,
        "what": extra.get("what", f"the {key} job"),
        "target": extra.get("target", "≥ 1/s"),
        "measured": measured,
        "met": met,
        "bound": extra.get("bound", f"peer of {key}: 7/s"),
        "command": f"python bench/bench_{bench}.py",
        "load": "1.50",
    }
    return "RESULT " + json.dumps(row, ensure_ascii=False)


def status(name: str, code: int) -> str:
    return "REPORT " + json.dumps({"event": "benchmark", "name": name, "status": code})


START = "REPORT " + json.dumps(
    {"event": "start", "date": "2026-12-01 00:30 UTC", "cores": 2, "python": "3.11.7",
     "platform": "Linux x86_64", "load": "0.40"}
)
END = "REPORT " + json.dumps({"event": "end", "date": "2026-12-01 00:40 UTC", "cores": 2,
                              "python": "3.11.7", "platform": "Linux x86_64", "load": "1.90"})

LOG = "\n".join(
    [
        START,
        "== bench/bench_matrix.py",
        "median: 21,000 matrix ratings/s",  # human output is ignored
        result("matrix", "matrix", "21,000 matrix ratings/s (median of 5)",
               bound="cells alone: 23,200/s | same run"),
        status("matrix", 0),
        result("records-issue", "records", "2,400 invoices/s", met=True),
        status("records", 1),  # printed one of its two rows, then failed
        status("startup", 0),  # ran, printed no RESULT line
        result("backbill", "backbill", "31,000 partner-periods/s", met=False),
        status("backbill", 0),
        END,
    ]
)


def rows_of(block: str) -> dict[str, str]:
    """Table lines by their row's key."""
    return {row.key: line for row, line in zip(
        report.parse_table(block), [ln for ln in block.splitlines() if "<!-- key:" in ln],
        strict=True,
    )}


def build(previous: str = PREVIOUS, log: str = LOG, selected: list[str] | None = None) -> str:
    block, _ = report.build_block(previous, report.parse_log(log), selected=selected,
                                  source="this run")
    return str(block)


def test_the_conditions_line_says_when_where_what_load_and_which_command():
    first = build().splitlines()[0]
    assert "2026-12-01 00:30 UTC" in first
    assert "2 cores, Python 3.11.7" in first
    assert "load average 0.40 before, 1.90 after" in first
    assert "`python bench/report.py`" in first


def test_fresh_rows_have_five_columns_with_their_bound_and_command():
    block = build()
    lines = block.splitlines()
    assert lines[2] == "| what | target | measured | bound or peer in the same run | command |"
    matrix = rows_of(block)["matrix"]
    assert matrix.startswith("| the matrix job <!-- key: matrix --> | ≥ 1/s |")
    assert "21,000 matrix ratings/s (median of 5) (met; load average 1.50)" in matrix
    assert "cells alone: 23,200/s \\| same run" in matrix  # a pipe cannot end the cell
    assert matrix.endswith("| `python bench/bench_matrix.py` |")
    assert "**target not met**" in rows_of(block)["backbill"]


def test_rows_not_re_run_keep_their_text_under_a_visible_mark_with_the_reason():
    rows = rows_of(build())
    rating = rows["bench_rating.py#1"]
    assert "**not re-run: bench_rating.py was not run in this run**" in rating
    assert "previous figure: 242,000 ratings/s" in rating
    # records failed: its fresh row is used, its hand-written rows are replaced by it.
    assert "2,400 invoices/s" in rows["records-issue"]
    # startup ran but printed nothing: its old row stays, marked.
    assert "**not re-run: bench_startup.py ran in this run but printed no row" in (
        rows["bench_startup.py#5"]
    )
    assert "previous figure: 6 ms" in rows["bench_startup.py#5"]


def test_a_keyed_row_missing_from_a_failed_run_names_the_failure():
    previous = build()
    log = "\n".join([START, result("records-issue", "records", "2,500/s"), status("records", 3)])
    rows = rows_of(build(previous, log))
    assert "2,500/s" in rows["records-issue"]
    # The matrix row of the previous table, now not re-run: marked once, the figure kept.
    assert rows["matrix"].count("not re-run") == 1
    assert "previous figure: 21,000 matrix ratings/s (median of 5) (met; load average 1.50)" in (
        rows["matrix"]
    )
    log = "\n".join([START, status("matrix", 2)])
    assert "**not re-run: bench_matrix.py failed (exit status 2) in this run**" in rows_of(
        build(previous, log)
    )["matrix"]


def test_only_keeps_other_benchmarks_rows_marked_even_if_the_log_has_them():
    rows = rows_of(build(selected=["matrix"]))
    assert "21,000" in rows["matrix"]
    assert "backbill" not in rows  # not selected and never in the table: not added
    assert "**not re-run: bench_rating.py was left out of this run**" in rows["bench_rating.py#1"]


def test_order_follows_the_previous_table_new_benchmarks_last():
    keys = list(rows_of(build()))
    assert keys == [
        "bench_rating.py#1", "matrix", "records-issue", "bench_startup.py#5", "backbill",
    ]


def test_building_twice_from_the_same_log_gives_the_same_table():
    once = build()
    assert build(once) == once


def test_a_log_of_benchmarks_run_by_hand_is_enough():
    log = result("matrix", "matrix", "20,500/s")  # no REPORT lines at all
    block = build(log=log)
    assert "machine not recorded" in block.splitlines()[0]
    assert "load average at the end of each benchmark: 1.50" in block.splitlines()[0]
    assert "20,500/s" in rows_of(block)["matrix"]


def test_the_readme_is_rewritten_between_its_markers_only():
    text = f"intro\n{report.START}\nold\n{report.END}\noutro\n"
    before, block, after = report.split_readme(text)
    assert (before, block, after) == ("intro\n", "old", "\noutro\n")
    with pytest.raises(SystemExit):
        report.split_readme("no markers here")


def test_the_readme_table_is_well_formed_and_names_existing_benchmarks():
    _, block, _ = report.split_readme((ROOT / "README.md").read_text(encoding="utf-8"))
    rows = report.parse_table(block)
    assert rows
    for row in rows:
        assert (ROOT / "bench" / f"bench_{row.benchmark}.py").is_file(), row.command
    assert len({row.key for row in rows}) == len(rows)
