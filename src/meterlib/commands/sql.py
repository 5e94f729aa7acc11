"""``meterlib sql --meters METERS.toml --dialect spark --period 2023-03``: print the usage query.

The query computes every meter of METERS over the chosen billing periods from an events table
(see :mod:`meterlib.sql.compile` for its columns and output). Periods are either one calendar
month (``--period YYYY-MM``) or every period of a cycle overlapping ``--from``/``--to`` (dates,
``--to`` exclusive; the cycle is anchored on ``--anchor``, default ``--from``, with
``--cadence``, default monthly). Bounds are computed in ``--timezone`` (default UTC) by
:class:`~meterlib.periods.BillingCycle` and written into the query as UTC instants.
``--conflicts`` prints the query listing conflicting copies of event ids instead.
"""

from __future__ import annotations

import argparse
import re
from datetime import date
from typing import Any

from meterlib.errors import InvalidValueError, MeterlibError
from meterlib.metering.meters import load_meters
from meterlib.periods import BillingCycle, Cadence, Period

ORDER = 60

_MONTH = re.compile(r"(\d{4})-(\d{2})")


def register(subparsers: Any) -> None:
    """Add the ``sql`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sql",
        help="print the SQL query that computes meters over billing periods",
        description=(
            "Compile the meters in METERS (TOML or JSON) and the chosen billing periods into "
            "one SQL query over an events table, printed in the chosen dialect."
        ),
    )
    parser.add_argument("--meters", required=True, metavar="METERS", help="meters document")
    parser.add_argument(
        "--dialect",
        default="duckdb",
        help="duckdb (default), spark, postgres, clickhouse or any dialect sqlglot knows",
    )
    parser.add_argument("--period", metavar="YYYY-MM", help="one calendar month")
    parser.add_argument("--from", dest="start", metavar="DATE", help="first day (YYYY-MM-DD)")
    parser.add_argument("--to", dest="end", metavar="DATE", help="day after the last (exclusive)")
    parser.add_argument("--anchor", metavar="DATE", help="cycle anchor (default: --from)")
    parser.add_argument(
        "--cadence", choices=[c.value for c in Cadence], default=Cadence.MONTHLY.value
    )
    parser.add_argument("--timezone", default="UTC", help="IANA time zone of the periods")
    parser.add_argument("--table", default="events", help="the events table (default: events)")
    parser.add_argument(
        "--order-by",
        default="received_at",
        help="comma-separated columns giving receipt order (default: received_at)",
    )
    parser.add_argument("--customer", help="only this customer's cells")
    parser.add_argument("--scale", type=int, default=None, help="decimal places (default 12)")
    parser.add_argument(
        "--conflicts", action="store_true", help="print the conflicting-copies query instead"
    )
    parser.set_defaults(handler=run)


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidValueError(option, text, "a date YYYY-MM-DD") from None


def choose_periods(args: argparse.Namespace) -> tuple[BillingCycle, Period]:
    """The cycle and window the options describe (exactly one of --period or --from/--to)."""
    if (args.period is None) == (args.start is None and args.end is None):
        raise InvalidValueError(
            "--period", args.period, "given alone, or else both --from and --to"
        )
    if args.period is not None:
        match = _MONTH.fullmatch(args.period)
        if match is None or not 1 <= int(match.group(2)) <= 12:
            raise InvalidValueError("--period", args.period, "a month YYYY-MM")
        anchor = date(int(match.group(1)), int(match.group(2)), 1)
        cycle = BillingCycle(anchor=anchor, timezone=args.timezone)
        return cycle, cycle.period(0)
    if args.start is None or args.end is None:
        raise InvalidValueError("--from/--to", [args.start, args.end], "both dates")
    start, end = _date(args.start, "--from"), _date(args.end, "--to")
    anchor = _date(args.anchor, "--anchor") if args.anchor else start
    cycle = BillingCycle(anchor=anchor, cadence=args.cadence, timezone=args.timezone)
    zone = cycle.start(0).tzinfo
    window_start = cycle.start(0).replace(
        year=start.year,
        month=start.month,
        day=start.day,
        hour=0,
        minute=0,
        second=0,
        microsecond=0,
        tzinfo=zone,
    )
    window_end = window_start.replace(year=end.year, month=end.month, day=end.day)
    if window_end <= window_start:
        raise InvalidValueError("--to", args.end, f"a date after --from {args.start}")
    return cycle, Period(window_start, window_end)


def run(args: argparse.Namespace) -> int:
    """Print the query."""
    try:
        from meterlib import sql  # noqa: PLC0415  (sqlglot is an optional extra)
    except ImportError:  # pragma: no cover - the test environment has sqlglot
        raise MeterlibError("sqlglot is not installed: pip install 'meterlib[sql]'") from None
    meters = load_meters(args.meters)
    order_by = tuple(c.strip() for c in args.order_by.split(",") if c.strip())
    if args.conflicts:
        content = sql.compile.properties_read(meters)
        print(
            sql.compile_conflicts(
                content, dialect=args.dialect, table=args.table, order_by=order_by
            )
        )
        return 0
    cycle, window = choose_periods(args)
    text = sql.compile_usage(
        meters,
        cycle,
        window=window,
        dialect=args.dialect,
        table=args.table,
        order_by=order_by,
        customer=args.customer,
        scale=sql.DEFAULT_SCALE if args.scale is None else args.scale,
    )
    print(text)
    return 0
