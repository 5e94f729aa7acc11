"""``meterlib rate PRICE.json QUANTITY``: rate one period's quantity and explain the charge."""

from __future__ import annotations

import argparse
import json
from typing import Any

from meterlib._json import JsonError, loads
from meterlib._numbers import to_decimal
from meterlib.errors import InvalidValueError
from meterlib.pricing import Charge, PercentagePrice, load_price, rate_input
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
        help=(
            "the quantity to rate; for a percentage price, one amount per event; for the other"
            ' inputs, one JSON argument: capacity quantities (\'{"seats": "12"}\'), matrix'
            ' usage (\'[{"values": {"region": "eu"}, "quantity": "5"}]\') or'
            ' prorated events (\'[{"units": "2", "prorated": "1.5"}]\')'
        ),
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
    if len(args.quantity) == 1 and args.quantity[0].lstrip()[:1] in {"[", "{"}:
        charge = rate_input(price, _json_input(args.quantity[0]))
    else:
        charge = _rate_numbers(price, args.quantity)
    _print(charge, args)
    return 0


def _json_input(text: str) -> Any:
    """Read a JSON input argument; numbers as Decimal, never float."""
    try:
        return loads(text)
    except JsonError as error:
        raise InvalidValueError("QUANTITY", text, f"valid JSON ({error.reason})") from None


def _rate_numbers(price: Any, quantity: list[str]) -> Charge:
    """Rate one quantity, or a percentage price's event values."""
    values = [to_decimal(q, "quantity") for q in quantity]
    if isinstance(price, PercentagePrice):
        charge = price.rate_events(values)
    else:
        if len(values) != 1:
            raise InvalidValueError(
                "QUANTITY", quantity, f"one quantity for a {charge_model(price)!r} price"
            )
        charge = price.rate(values[0])
    return charge


def _print(charge: Charge, args: argparse.Namespace) -> None:
    """Print ``charge`` as text or JSON, rounded as the options say."""
    mode = RoundingMode(args.rounding)
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
