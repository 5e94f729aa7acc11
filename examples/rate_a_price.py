"""Rate a shipped price document from Python and print each tier line's formula.

Run: ``python examples/rate_a_price.py [QUANTITY]`` (default 2,500,000 requests).
"""

from __future__ import annotations

import sys
from pathlib import Path

from meterlib import Money, format_money, load_price

PRICE = Path(__file__).parent / "prices" / "api_graduated.json"


def main(quantity: str) -> None:
    price = load_price(PRICE)
    charge = price.rate(quantity)
    for line in charge.lines:
        print(f"{line.description:<32} {line.formula()}")
    total = Money(charge.rounded(), charge.currency)
    print(f"total: {format_money(total, 'en_US')} (exact {charge.amount})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "2500000")
