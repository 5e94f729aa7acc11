"""The command line imports only the command being run; its list of commands is read from source.

Start-up speed itself is measured in ``bench/bench_startup.py``; these tests pin its causes.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from meterlib.cli import build_parser, commands


def _registered(module: str) -> tuple[str, str]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    [(name, _)] = subparsers.choices.items()
    [action] = subparsers._choices_actions
    return name, str(action.help)


@pytest.mark.parametrize("command", commands(), ids=lambda c: c.name)
def test_what_start_up_reads_is_what_each_module_registers(command):
    assert _registered(command.module) == (command.name, command.help)
    assert getattr(importlib.import_module(command.module), "ORDER", 100) == command.order


def test_the_full_parser_and_the_lazy_one_list_the_same_commands():
    def names(parser: argparse.ArgumentParser) -> list[str]:
        [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return list(sub.choices)

    assert names(build_parser()) == names(build_parser(["--help"])) == [c.name for c in commands()]


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_no_heavy_module(argv):
    code = (
        "import sys\n"
        "from meterlib.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "heavy = ('pydantic', 'babel', 'dateutil', 'sqlite3', 'meterlib.ledger')\n"
        "print(sorted(m for m in heavy if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run(  # noqa: S603  (our own interpreter)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"
