"""The ``meterlib`` command line.

Each subcommand lives in its own module under :mod:`meterlib.commands` and registers itself
through a ``register(subparsers)`` function; this module discovers them, lists them in the
order of their ``ORDER`` constant, and turns meterlib's errors into a one-line message on
standard error (never a traceback) and an exit status.

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
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence
from types import ModuleType

import meterlib
import meterlib.commands
from meterlib.errors import MeterlibError
from meterlib.ledger import LedgerError

__all__ = ["EXIT_DATA", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_STORAGE", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_DATA = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3
EXIT_INTERRUPTED = 130


def _command_modules() -> list[ModuleType]:
    modules = [
        importlib.import_module(f"meterlib.commands.{info.name}")
        for info in pkgutil.iter_modules(meterlib.commands.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.__name__))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="meterlib",
        description="Exact, explainable usage-based billing arithmetic.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {meterlib.__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _command_modules():
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0911  (one status per outcome)
    """Run the command line; returns the exit status."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
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
    except LedgerError as error:
        print(f"meterlib {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_STORAGE
    except MeterlibError as error:
        print(f"meterlib {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"meterlib {args.command}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    return status


def _one_line(error: BaseException) -> str:
    """The message of ``error`` on one line (line breaks shown as spaces)."""
    return " ".join(str(error).split("\n"))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
