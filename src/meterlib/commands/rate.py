"""``meterlib rate PRICE.json QUANTITY``: rate one period's quantity and explain the charge."""

from __future__ import annotations

import argparse
import json
from typing import Any

from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError
from meterlib.pricing import PercentagePrice, load_price
from meterlib.rounding import RoundingMode

ORDER = 20


def register(subparsers: Any) -> None:
    """Add the ``rate`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "rate",
        help="rate a quantity with a price document and show the breakdown",
        description=(
            "Rate one period's QUANTITY with the price in PRICE (a JSON price document) and "
            "print the charge with its breakdown: one row per tier touched, the exact total "
            "and the total rounded to the currency's minor units."
        ),
    )
    parser.add_argument("price", metavar="PRICE", help="price document (JSON)")
    parser.add_argument(
        "quantity",
        metavar="QUANTITY",
        nargs="+",
        help="the quantity to rate; for a percentage price, one amount per event",
    )
    parser.add_argument(
        "--rounding",
        choices=[mode.value for mode in RoundingMode],
        default=RoundingMode.HALF_UP.value,
        help="how ties round to minor units (default: half_up)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.set_defaults(handler=run)


def charge_model(price: Any) -> str:
    """The ``model`` tag of a price, for messages."""
    return str(getattr(price, "model", type(price).__name__))


def run(args: argparse.Namespace) -> int:
    """Rate and print."""
    price = load_price(args.price)
    mode = RoundingMode(args.rounding)
    values = [to_decimal(q, "quantity") for q in args.quantity]
    if isinstance(price, PercentagePrice):
        charge = price.rate_events(values)
    else:
        if len(values) != 1:
            raise InvalidValueError(
                "QUANTITY", args.quantity, f"one quantity for a {charge_model(price)!r} price"
            )
        charge = price.rate(values[0])
    if args.format == "json":
        document = {
            "currency": charge.currency,
            "model": charge.model,
            "quantity": str(charge.quantity),
            "included": str(charge.included),
            "billable": str(charge.billable),
            "lines": [
                {
                    "description": line.description,
                    "tier": line.tier,
                    "quantity": str(line.quantity),
                    "unit_amount": str(line.unit_amount),
                    "flat_amount": str(line.flat_amount),
                    "amount": str(line.amount),
                }
                for line in charge.lines
            ],
            "subtotal": str(charge.subtotal),
            "adjustment": str(charge.adjustment),
            "amount": str(charge.amount),
            "rounded": str(charge.rounded(mode)),
        }
        print(json.dumps(document, indent=2))
    else:
        print(charge.explain(mode))
    return 0
