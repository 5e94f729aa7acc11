"""The pytest entry point of meterlib (``pytest11``): options only, fixtures stay off.

Installed with meterlib, pytest loads this module in every session. It adds the command-line
flag ``--meterlib-fixtures`` and the configuration keys ``meterlib_fixtures`` (a boolean) and
``meterlib_price_book`` (a folder of price documents), and loads
:mod:`meterlib.testing.plugin` only when the flag or key asks for it, so a project that does not
opt in sees no meterlib fixture at all.
"""

from __future__ import annotations

import pytest

__all__ = ["PLUGIN", "pytest_addoption", "pytest_configure"]

#: The module holding the fixtures (also usable directly: ``pytest -p meterlib.testing.plugin``).
PLUGIN = "meterlib.testing.plugin"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register ``--meterlib-fixtures``, ``meterlib_fixtures`` and ``meterlib_price_book``."""
    parser.addoption(
        "--meterlib-fixtures",
        action="store_true",
        default=False,
        help="enable meterlib's fixtures (meterlib_ledger, meterlib_price_book)",
    )
    parser.addini(
        "meterlib_fixtures",
        "enable meterlib's fixtures (meterlib_ledger, meterlib_price_book)",
        type="bool",
        default=False,
    )
    parser.addini(
        "meterlib_price_book",
        "folder of price documents (*.json) that the meterlib_price_book fixture reads",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Load the fixtures when ``--meterlib-fixtures`` or ``meterlib_fixtures = true`` asks."""
    wanted = config.getoption("meterlib_fixtures") or config.getini("meterlib_fixtures")
    if wanted and not config.pluginmanager.has_plugin(PLUGIN):
        config.pluginmanager.import_plugin(PLUGIN)
