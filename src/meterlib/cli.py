"""The ``meterlib`` command line.

Each subcommand lives in its own module under :mod:`meterlib.commands` and registers itself
through a ``register(subparsers)`` function; this module discovers them, lists them in the
order of their ``ORDER`` constant, and turns meterlib's errors into a one-line message and exit
status 2.
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

__all__ = ["main"]


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except BrokenPipeError:
        # The reader went away (``meterlib schema price | head``): not an error of ours.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115, PTH123  (stays open until exit)
        return 0
    except MeterlibError as error:
        print(f"meterlib {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"meterlib {args.command}: error: {error}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
