"""pytest fixtures for testing billing code against meterlib: a temporary ledger, a price book.

Opt-in: load it with ``pytest -p meterlib.testing.plugin``, with ``--meterlib-fixtures``, or
with ``meterlib_fixtures = true`` in the pytest configuration (the last two through meterlib's
``pytest11`` entry point, :mod:`meterlib.testing.switch`).

- ``meterlib_ledger``: an empty :class:`~meterlib.ledger.Ledger` in the test's
  temporary folder (``durable=False``: no disk sync, the file goes with the folder), closed after
  the test.
- ``meterlib_price_book``: a :class:`~meterlib.testing.PriceBook` of the price documents in the
  folder named by ``meterlib_price_book`` in the pytest configuration (relative to the
  configuration file), read once per session. Override the fixture
  ``meterlib_price_book_folder`` in a ``conftest.py`` to choose the folder in code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from meterlib.ledger import Ledger
from meterlib.testing.price_book import PriceBook

__all__ = [
    "meterlib_ledger",
    "meterlib_price_book",
    "meterlib_price_book_folder",
    "pytest_addoption",
]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``meterlib_price_book`` when this module is loaded without the entry point."""
    parser.addini(
        "meterlib_price_book",
        "folder of price documents (*.json) that the meterlib_price_book fixture reads",
        default="",
    )


@pytest.fixture
def meterlib_ledger(tmp_path: Path) -> Iterator[Ledger]:
    """An empty ledger in the test's temporary folder, closed after the test."""
    ledger = Ledger(tmp_path / "meterlib-ledger.sqlite", durable=False)
    try:
        yield ledger
    finally:
        ledger.close()


@pytest.fixture(scope="session")
def meterlib_price_book_folder(pytestconfig: pytest.Config) -> Path:
    """The folder of price documents: ``meterlib_price_book`` from the pytest configuration."""
    configured = str(pytestconfig.getini("meterlib_price_book"))
    if not configured:
        raise pytest.UsageError(
            "meterlib_price_book: set `meterlib_price_book = <folder of *.json prices>` in the "
            "pytest configuration, or override the fixture meterlib_price_book_folder"
        )
    base = pytestconfig.inipath.parent if pytestconfig.inipath else pytestconfig.rootpath
    return base / configured


@pytest.fixture(scope="session")
def meterlib_price_book(meterlib_price_book_folder: Path) -> PriceBook:
    """The frozen price book of :func:`meterlib_price_book_folder`, read once per session."""
    return PriceBook.from_folder(meterlib_price_book_folder)
