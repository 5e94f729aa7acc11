"""The ``meterlib`` command line.

Each subcommand lives in its own module under :mod:`meterlib.commands` and registers itself
through a ``register(subparsers)`` function; this module discovers them, lists them in the
order of their ``ORDER`` constant, and turns meterlib's errors into a one-line message on
standard error (never a traceback) and an exit status.

Only the command being run is imported: the list of commands (``meterlib --help``) is read from
the command modules' source (each one's ``ORDER`` and the name and help of its
``subparsers.add_parser(...)`` call), so start-up does not pay for importing every command's
dependencies. ``tests/test_cli_startup.py`` checks that what is read equals what each module
registers.

**Exit status**, the same for every command:

- ``0``: success;
- ``1``: the command ran, but the data had problems (rejected lines or events, conflicting
  copies of an event); the command reports each one;
- ``2``: wrong usage: a bad option or argument, a missing or invalid input document;
- ``3``: a storage fault: the ledger is busy beyond the busy timeout, damaged, or not a meterlib
  ledger (:class:`~meterlib.ledger.LedgerError`);
- ``130``: interrupted (Ctrl-C); what was committed stays committed and is reported.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import pkgutil
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import meterlib
import meterlib.commands
from meterlib.errors import MeterlibError

__all__ = ["EXIT_DATA", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_STORAGE", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3
EXIT_INTERRUPTED = 130

_ORDER = re.compile(r"^ORDER = (\d+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand as its module's source declares it, read without importing the module."""

    name: str
    help: str
    module: str
    order: int


def commands() -> list[Command]:
    """Every subcommand, in the order of the modules' ``ORDER`` (then module name)."""
    found: list[Command] = []
    for info in pkgutil.iter_modules(meterlib.commands.__path__):
        if info.name.startswith("_"):
            continue
        path = Path(meterlib.commands.__path__[0]) / f"{info.name}.py"
        found.append(_declared(path, f"meterlib.commands.{info.name}"))
    return sorted(found, key=lambda c: (c.order, c.module))


def _declared(path: Path, module: str) -> Command:
    """The name, help and order a command module declares (see the module docstring).

    Only the ``subparsers.add_parser(...)`` call is parsed, not the whole module: start-up
    reads every command module this way.
    """
    source = path.read_text(encoding="utf-8")
    found = _ORDER.search(source)
    order = int(found.group(1)) if found else 100
    at = source.find("subparsers.add_parser(")
    if at >= 0:
        # The call ends at the first ")" that closes it: try each until one parses.
        end = source.find(")", at)
        while end >= 0:
            try:
                tree = ast.parse(source[at : end + 1].strip(), mode="eval")
            except SyntaxError:
                end = source.find(")", end + 1)
                continue
            call = tree.body
            if isinstance(call, ast.Call) and call.args and isinstance(call.args[0], ast.Constant):
                helps = [k.value for k in call.keywords if k.arg == "help"]
                text = ast.literal_eval(helps[0]) if helps else ""
                return Command(str(call.args[0].value), str(text), module, order)
            break
    raise MeterlibError(f"command module {module} registers no subparsers.add_parser(NAME, ...)")


class _Version(argparse.Action):
    """``--version``: the package metadata is read only when asked (it costs start-up)."""

    def __init__(self, option_strings: list[str], dest: str, **_options: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        print(f"{parser.prog} {meterlib.__version__}")
        parser.exit()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; with ``argv``, only the command it names is imported and registered.

    Without ``argv`` every subcommand is registered in full. With it, the command named by the
    first argument that is not an option is registered in full and the others by name and
    help only, which is all ``meterlib --help`` and an unknown command need.
    """
    parser = argparse.ArgumentParser(
        prog="meterlib",
        description="Exact, explainable usage-based billing arithmetic.",
    )
    parser.add_argument("--version", action=_Version)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    chosen = None if argv is None else next((a for a in argv if not a.startswith("-")), "")
    for command in commands():
        if chosen is None or command.name == chosen:
            importlib.import_module(command.module).register(subparsers)
        else:
            subparsers.add_parser(command.name, help=command.help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    try:
        given = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(given)
        args = parser.parse_args(given)
    except KeyboardInterrupt:
        print("meterlib: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    try:
        status: int = args.handler(args)
    except BrokenPipeError:
        # The reader went away (``meterlib schema price | head``): not an error of ours.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115, PTH123  (stays open until exit)
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"meterlib {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MeterlibError as error:
        from meterlib.ledger import LedgerError  # noqa: PLC0415  (on error only: fast start-up)

        print(f"meterlib {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_STORAGE if isinstance(error, LedgerError) else EXIT_USAGE
    except OSError as error:
        print(f"meterlib {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    return status


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (line breaks shown as spaces)."""
    return " ".join(str(error).split("\n"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
