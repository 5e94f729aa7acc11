"""``meterlib usage --ledger PATH --meters METERS.toml``: print usage per customer, meter, period.

Usage is computed by the ledger (``--ledger PATH``, else ``$METERLIB_LEDGER``, else
``./meterlib-ledger.sqlite``; SQLite or DuckDB, as the file was written, see ``--backend``)
or, with ``--source GLOB``, by DuckDB straight from event files
(:func:`meterlib.sql.scan_source`; needs ``pip install 'meterlib[duckdb]'``). Events are
checked at the same edge as ``meterlib ingest``: a line it would reject is left out, named on
standard error with its line number and reason, and the command ends with status 1.

Periods are billing periods of ``--cadence`` (monthly by default) counted from ``--anchor``
(default 2000-01-01, so monthly periods are calendar months) in ``--timezone`` (default UTC).
``--period YYYY-MM`` (or ``YYYY``) keeps the periods overlapping that month (or year); without
it every period that holds an event is shown. ``--customer`` keeps one customer's cells. The
table is printed as aligned text, JSON records or CSV (``--format``); figures are exact.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from datetime import date, datetime
from typing import Any

from meterlib.commands.ingest import add_backend, add_busy_timeout, ledger_path, open_cli_ledger
from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.metering.meters import load_meters
from meterlib.metering.table import UsageTable
from meterlib.periods import BillingCycle, Cadence, Period, zone

ORDER = 35

_PERIOD = re.compile(r"(\d{4})(?:-(\d{2}))?")
_ANCHOR = date(2000, 1, 1)


def register(subparsers: Any) -> None:
    """Add the ``usage`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "usage",
        help="print usage per customer, meter, period and group from the ledger",
        description=(
            "Aggregate the events of the ledger (or of event files, with --source) with the "
            "meters in METERS and print one exact figure per customer, meter, billing period "
            "and group."
        ),
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--ledger",
        metavar="PATH",
        help="ledger file (default: $METERLIB_LEDGER, else ./meterlib-ledger.sqlite)",
    )
    source.add_argument(
        "--source",
        metavar="GLOB",
        action="append",
        help="event files (Parquet, CSV, JSON Lines) read by DuckDB instead of the ledger",
    )
    parser.add_argument("--meters", required=True, metavar="METERS", help="meters (TOML/JSON)")
    parser.add_argument("--customer", help="only this customer")
    parser.add_argument("--period", metavar="YYYY-MM", help="only periods overlapping this month")
    parser.add_argument("--timezone", default="UTC", help="IANA time zone of the periods")
    parser.add_argument(
        "--cadence", choices=[c.value for c in Cadence], default=Cadence.MONTHLY.value
    )
    parser.add_argument(
        "--anchor", metavar="DATE", help="first day of a period (default: 2000-01-01)"
    )
    parser.add_argument("--format", choices=["text", "json", "csv"], default="text")
    parser.add_argument(
        "--neutralize-formulas",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "CSV: write text cells that begin with = + - @ tab or CR with a leading ' so a "
            "spreadsheet shows them as text (default: on; numbers are never changed)"
        ),
    )
    add_backend(parser)
    add_busy_timeout(parser)
    parser.set_defaults(handler=run)


def choose_periods(args: argparse.Namespace) -> tuple[BillingCycle, Period | None]:
    """The billing cycle and the optional window the options describe."""
    zone(args.timezone, "--timezone")
    anchor = _ANCHOR
    if args.anchor:
        try:
            anchor = date.fromisoformat(args.anchor)
        except ValueError:
            raise InvalidValueError("--anchor", args.anchor, "a date YYYY-MM-DD") from None
    cycle = BillingCycle(anchor=anchor, cadence=args.cadence, timezone=args.timezone)
    if args.period is None:
        return cycle, None
    match = _PERIOD.fullmatch(args.period)
    month = int(match.group(2)) if match and match.group(2) else None
    if match is None or (month is not None and not 1 <= month <= 12):
        raise InvalidValueError("--period", args.period, "a month YYYY-MM or a year YYYY")
    year = int(match.group(1))
    tz = zone(args.timezone, "--timezone")
    start = datetime(year, month or 1, 1, tzinfo=tz)
    if month is None:
        end = datetime(year + 1, 1, 1, tzinfo=tz)
    else:
        end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=tz)
    return cycle, Period(start, end)


def _from_source(
    args: argparse.Namespace, cycle: BillingCycle, window: Period | None
) -> tuple[UsageTable, int]:
    try:
        sql = importlib.import_module("meterlib.sql")
    except ImportError as error:
        raise MeterlibError(
            f"--source needs DuckDB, which is not installed ({error}): "
            "pip install 'meterlib[duckdb]'"
        ) from None
    scanned = sql.scan_source(
        args.source, load_meters(args.meters), cycle, window=window, customer=args.customer
    )
    # Rows refused at the edge are named on stderr, with their line and the reason ``meterlib
    # ingest`` gives, and the command ends with status 1; the usage of the others is printed.
    for rejection in scanned.report.rejected:
        print(f"rejected: {rejection.reason}", file=sys.stderr)
    table: UsageTable = scanned.table
    return table, len(scanned.report.rejected)


def run(args: argparse.Namespace) -> int:
    """Compute and print the usage table."""
    cycle, window = choose_periods(args)
    rejected = 0
    if args.source:
        table, rejected = _from_source(args, cycle, window)
    else:
        path = ledger_path(args.ledger)
        if not path.is_file():
            raise InvalidValueError(
                "--ledger", str(path), "an existing ledger (create one with 'meterlib ingest')"
            )
        meters = load_meters(args.meters)
        with open_cli_ledger(args, path) as ledger:
            table = ledger.usage(meters, cycle, window=window, customer=args.customer)
    if args.format == "csv":
        from meterlib.render.csv import usage_csv  # noqa: PLC0415  (on use: fast --help)

        print(usage_csv(table, neutralize_formulas=args.neutralize_formulas), end="")
    else:
        print(table.render(args.format), end="")
    return 1 if rejected else 0
