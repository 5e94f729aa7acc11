"""Regenerate the README's "Performance" table from the benchmarks' ``RESULT`` lines.

Run it from the repository root as ``python bench/report.py``: it runs every ``bench/bench_*.py``
(in the table's order, new benchmarks last), echoes their output, collects the ``RESULT {json}``
lines they print through ``bench/results.py`` and rewrites the README between the markers
``<!-- perf-table:start -->`` and ``<!-- perf-table:end -->``: one line saying when, on what
machine (cores, Python) and under what load average (before and after) the table was measured,
then one row per ``RESULT`` line: what | target | measured | bound or peer in the same run |
command. Nothing else in the README changes.

Options:

``--only KEY ...``    run only these benchmarks: by name (``matrix`` is ``bench/bench_matrix.py``)
                      or by the key of a row already in the table (its benchmark runs)
``--dry-run``         print the new table instead of writing the README
``--from-file LOG``   build the table from saved output (of this script, or of benchmarks run
                      by hand, e.g. ``python bench/bench_matrix.py | tee LOG``), running nothing

A row is never lost silently. Every row carries its key in a hidden comment; a previous row whose
benchmark was not run this time (left out by ``--only``, absent from ``LOG``, failed, or ran but
printed no row with that key) keeps its text under a visible ``not re-run: <reason>`` mark, and
a benchmark that runs but prints no ``RESULT`` line at all is named in the output.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START = "<!-- perf-table:start -->"
END = "<!-- perf-table:end -->"
RESULT = "RESULT "
REPORT = "REPORT "
COMMAND = "python bench/report.py"
HEADER = (
    "| what | target | measured | bound or peer in the same run | command |",
    "|---|---|---|---|---|",
)
_KEY = re.compile(r"\s*<!--\s*key:\s*([\w.#-]+)\s*-->\s*$")
_SCRIPT = re.compile(r"bench/bench_(\w+)\.py")
_STALE = re.compile(r"^\*\*not re-run: .*?\*\*; previous figure: ", re.DOTALL)


@dataclass(frozen=True)
class Row:
    """One row of the table: a ``RESULT`` line, or a row read back from the README."""

    key: str
    what: str
    target: str
    measured: str
    bound: str
    command: str
    met: bool | None = None
    load: str = ""
    stale: str = ""  # why the row was not re-run ("" for a fresh row)

    @property
    def benchmark(self) -> str:
        """The benchmark's name, from the script its command runs (``""`` if none)."""
        found = _SCRIPT.search(self.command)
        return found.group(1) if found else ""


@dataclass
class Log:
    """What a run printed: its rows, which benchmarks ran and how, and the run's conditions."""

    rows: list[Row] = field(default_factory=list)
    status: dict[str, int] = field(default_factory=dict)  # benchmark -> exit status
    start: dict[str, str] = field(default_factory=dict)
    end: dict[str, str] = field(default_factory=dict)


def parse_log(text: str) -> Log:
    """Read ``RESULT`` and ``REPORT`` lines from a run's output; everything else is ignored."""
    log = Log()
    for line in text.splitlines():
        if line.startswith(RESULT):
            data = json.loads(line[len(RESULT) :])
            log.rows.append(
                Row(
                    key=str(data["key"]),
                    what=str(data["what"]),
                    target=str(data["target"]),
                    measured=str(data["measured"]),
                    bound=str(data.get("bound", "")),
                    command=str(data["command"]),
                    met=data.get("met"),
                    load=str(data.get("load", "")),
                )
            )
        elif line.startswith(REPORT):
            data = json.loads(line[len(REPORT) :])
            if data["event"] == "start":
                log.start = {k: str(v) for k, v in data.items() if k != "event"}
            elif data["event"] == "end":
                log.end = {k: str(v) for k, v in data.items() if k != "event"}
            elif data["event"] == "benchmark":
                log.status[str(data["name"])] = int(data["status"])
    for row in log.rows:  # benchmarks run by hand: a row is proof that its benchmark ran
        if row.benchmark:
            log.status.setdefault(row.benchmark, 0)
    return log


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _uncell(text: str) -> str:
    return text.strip().replace("\\|", "|")


def _split(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [_uncell(cell) for cell in cells]


def parse_table(block: str) -> list[Row]:
    """The rows of a previous table (the block between the markers, or a hand-written table).

    A row's key is the hidden ``<!-- key: ... -->`` at the end of its first cell; a hand-written
    row without one gets ``bench_NAME.py#N`` (its benchmark and its place). Four-column tables
    (no bound column) are read too.
    """
    rows: list[Row] = []
    for line in block.splitlines():
        if not line.startswith("|") or line.startswith(("|---", HEADER[0][:8])):
            continue
        cells = _split(line)
        if len(cells) == 4:
            what, target, measured, command = cells
            bound = ""
        elif len(cells) == 5:
            what, target, measured, bound, command = cells
        else:
            continue
        command = command.strip("`")
        found = _KEY.search(what)
        if found:
            key, what = found.group(1), what[: found.start()].rstrip()
        else:
            script = _SCRIPT.search(command)
            key = f"bench_{script.group(1) if script else 'unknown'}.py#{len(rows) + 1}"
        stale = ""
        mark = _STALE.match(measured)
        if mark:
            stale, measured = "earlier", measured[mark.end() :]
        rows.append(Row(key, what, target, measured, bound, command, stale=stale))
    return rows


def _measured(row: Row) -> str:
    if row.stale:
        return f"**not re-run: {row.stale}**; previous figure: {row.measured}"
    verdict = {True: "met", False: "**target not met**", None: ""}[row.met]
    load = f"load average {row.load}" if row.load else ""
    extra = "; ".join(part for part in (verdict, load) if part)
    return f"{row.measured} ({extra})" if extra else row.measured


def render_row(row: Row) -> str:
    """One Markdown table line, the key hidden at the end of the first cell."""
    cells = [f"{row.what} <!-- key: {row.key} -->", row.target, _measured(row), row.bound]
    return "| " + " | ".join([*map(_cell, cells), f"`{_cell(row.command)}`"]) + " |"


def merge(
    previous: Sequence[Row], log: Log, *, selected: Iterable[str] | None, source: str
) -> tuple[list[Row], list[str]]:
    """The new table's rows and notes on what was kept or missing.

    Fresh rows of the log replace previous rows with the same key; a previous keyed row of a
    benchmark that ran (and exited 0) but printed no such key, and every previous row of a
    benchmark that did not run, is kept, marked stale with the reason. Hand-written rows
    (without a key) of a benchmark that printed rows this time are replaced by them.
    Order: the previous table's, each benchmark's fresh rows where its first row was, then
    rows of benchmarks new to the table.
    """
    chosen = set(selected) if selected is not None else None
    fresh = [r for r in log.rows if chosen is None or r.benchmark in chosen]
    fresh_keys = {r.key: r.benchmark for r in fresh}
    emitted = {r.benchmark for r in fresh}
    notes: list[str] = []
    by_benchmark: dict[str, list[Row]] = {}
    for row in fresh:
        by_benchmark.setdefault(row.benchmark, []).append(row)
    for name, status in sorted(log.status.items()):
        if (chosen is None or name in chosen) and name not in emitted:
            notes.append(f"bench_{name}.py printed no RESULT line (exit status {status})")
    result: list[Row] = []
    placed: set[str] = set()
    for old in previous:
        name = old.benchmark
        if old.key in fresh_keys or (name in emitted and "#" in old.key):
            name = fresh_keys.get(old.key, name)
            if name not in placed:  # the benchmark's fresh rows take its first row's place
                result.extend(by_benchmark[name])
                placed.add(name)
            continue
        result.append(replace(old, stale=_reason(old, log, chosen, source), met=None, load=""))
        notes.append(f"kept {old.key} marked stale: {result[-1].stale}")
    for name, rows in by_benchmark.items():
        if name not in placed:
            result.extend(rows)
    return result, notes


def _reason(old: Row, log: Log, chosen: set[str] | None, source: str) -> str:
    name = old.benchmark
    if not name:
        return f"no benchmark script in its command, as of {source}"
    if chosen is not None and name not in chosen:
        return f"bench_{name}.py was left out of {source}"
    if name not in log.status:
        return f"bench_{name}.py was not run in {source}"
    status = log.status[name]
    if status != 0:
        return f"bench_{name}.py failed (exit status {status}) in {source}"
    return f"bench_{name}.py ran in {source} but printed no row with key {old.key}"


def conditions(log: Log, source: str) -> str:
    """The line above the table: when, where, under what load, and the command."""
    start, end = log.start, log.end
    if start:
        machine = f"{start['cores']} cores, Python {start['python']} ({start['platform']})"
        load = f"load average {start['load']} before, {end.get('load', 'n/a')} after"
        return (
            f"Measured {start['date']} on {machine}, {load}, in {source}; regenerate with"
            f" `{COMMAND}`"
            " (it runs every benchmark and rewrites this table; rows marked *not re-run* keep an"
            " earlier figure)."
        )
    loads = sorted({r.load for r in log.rows if r.load})
    return (
        f"Built from saved benchmark output ({source}; date and machine not recorded in it;"
        f" load average at the end of each benchmark: {', '.join(loads) or 'not recorded'});"
        f" regenerate with `{COMMAND}`"
        " (it runs every benchmark and rewrites this table; rows marked *not re-run* keep an"
        " earlier figure)."
    )


def build_block(previous_block: str, log: Log, *, selected: Iterable[str] | None,
                source: str) -> tuple[str, list[str]]:
    """The text between the markers: the conditions line and the table (a pure function)."""
    rows, notes = merge(parse_table(previous_block), log, selected=selected, source=source)
    lines = [conditions(log, source), "", *HEADER, *map(render_row, rows)]
    return "\n".join(lines), notes


def split_readme(text: str) -> tuple[str, str, str]:
    """(before, block, after) around the markers; both markers must be there, once each."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        msg = f"README.md must hold {START} and then {END}, once each"
        raise SystemExit(msg)
    before, rest = text.split(START)
    block, after = rest.split(END)
    return before, block.strip("\n"), after


def _meta(event: str) -> str:
    data = {
        "event": event,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": os.cpu_count() or 0,
        "python": platform.python_version(),
        "platform": f"{platform.system()} {platform.machine()}",
        "load": f"{os.getloadavg()[0]:.2f}",
    }
    return REPORT + json.dumps(data)


def benchmarks(previous: Sequence[Row]) -> list[str]:
    """Every ``bench/bench_*.py`` by name, in the order of the previous table, new ones last."""
    found = sorted(path.stem.removeprefix("bench_") for path in ROOT.glob("bench/bench_*.py"))
    order = list(dict.fromkeys(row.benchmark for row in previous if row.benchmark in found))
    return order + [name for name in found if name not in order]


def run(names: Sequence[str]) -> str:
    """Run the benchmarks one after the other, echoing their output; return the whole log."""
    lines = [_meta("start")]
    print(lines[0], flush=True)
    for name in names:
        argv = [sys.executable, str(ROOT / "bench" / f"bench_{name}.py")]
        print(f"== bench/bench_{name}.py", flush=True)
        with subprocess.Popen(  # noqa: S603  (our own benchmarks)
            argv, cwd=ROOT, stdout=subprocess.PIPE, text=True, bufsize=1
        ) as process:
            assert process.stdout is not None  # noqa: S101  (stdout=PIPE)
            for line in process.stdout:
                print(line, end="", flush=True)
                lines.append(line.rstrip("\n"))
        status = json.dumps({"event": "benchmark", "name": name, "status": process.returncode})
        lines.append(REPORT + status)
        print(lines[-1], flush=True)
    lines.append(_meta("end"))
    print(lines[-1], flush=True)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the options, run or read the benchmarks, and write (or print) the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--only", nargs="+", metavar="KEY",
                        help="benchmarks to run: a name (matrix = bench/bench_matrix.py) or the"
                        " key of a row already in the table")
    parser.add_argument("--dry-run", action="store_true", help="print the table, don't write")
    parser.add_argument("--from-file", metavar="LOG", type=Path,
                        help="build the table from saved output; run nothing")
    options = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    before, block, after = split_readme(text)
    previous = parse_table(block)
    names = benchmarks(previous)
    only = None
    if options.only:
        keys = {row.key: row.benchmark for row in previous if row.benchmark in names}
        unknown = [key for key in options.only if key not in names and key not in keys]
        if unknown:
            parser.error(f"unknown key {', '.join(unknown)}; benchmarks: {', '.join(names)};"
                         f" rows: {', '.join(keys)}")
        only = sorted({key if key in names else keys[key] for key in options.only})
    if options.from_file:
        log_text = options.from_file.read_text(encoding="utf-8")
        source = f"`{options.from_file.name}`"
    else:
        log_text = run([n for n in names if only is None or n in only])
        source = "this run" if only is None else f"a run of {', '.join(only)} only"
    new_block, notes = build_block(block, parse_log(log_text), selected=only, source=source)
    for note in notes:
        print(f"report: {note}", file=sys.stderr)
    if options.dry_run:
        print(new_block)
        return 0
    README.write_text(f"{before}{START}\n{new_block}\n{END}{after}", encoding="utf-8")
    print(f"report: README.md performance table rewritten ({len(notes)} notes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
