"""A frozen price book: named prices read once from a folder of price documents."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

from meterlib.errors import InvalidValueError
from meterlib.pricing import Charge, Price, load_price

__all__ = ["PriceBook"]


class PriceBook(Mapping[str, Price]):
    """An immutable mapping from a price's name to its :data:`~meterlib.pricing.Price`.

    Prices are frozen models and the mapping cannot change, so one book can be shared by every
    test of a session. :meth:`from_folder` names each price after its file
    (``api_graduated.json`` is ``"api_graduated"``).
    """

    __slots__ = ("_prices",)

    def __init__(self, prices: Mapping[str, Price]) -> None:
        """Copy ``prices`` into the book."""
        self._prices: Mapping[str, Price] = MappingProxyType(dict(prices))

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str]) -> PriceBook:
        """Every ``*.json`` price document in ``folder`` (not its subfolders), by file stem."""
        path = Path(folder)
        if not path.is_dir():
            raise InvalidValueError("price book folder", os.fspath(folder), "an existing folder")
        return cls({file.stem: load_price(file) for file in sorted(path.glob("*.json"))})

    def __getitem__(self, name: str) -> Price:
        """The price called ``name``; ``KeyError`` naming the known prices when absent."""
        try:
            return self._prices[name]
        except KeyError:
            raise KeyError(
                f"no price {name!r} in the book (it has {sorted(self._prices)})"
            ) from None

    def __iter__(self) -> Iterator[str]:
        """The prices' names, sorted."""
        return iter(sorted(self._prices))

    def __len__(self) -> int:
        """How many prices the book holds."""
        return len(self._prices)

    def __repr__(self) -> str:
        """The names in the book."""
        return f"PriceBook({sorted(self._prices)})"

    def rate(self, name: str, quantity: Decimal | int | str) -> Charge:
        """Rate ``quantity`` with the price called ``name`` (see ``Price.rate``)."""
        return self[name].rate(quantity)
