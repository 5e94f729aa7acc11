"""Tools for other teams' tests: meterlib as the oracle for their own billing code.

- :mod:`meterlib.testing.strategies`: hypothesis strategies for numbers, currencies, tiers and
  prices of every model.
- :mod:`meterlib.testing.events`: usage events (with re-sends, conflicts and boundary cases),
  meters, and a ready-made cycle, window and meter set to test in.
- :mod:`meterlib.testing.contracts`: plans, contracts with plan changes, and usage per segment.
- :mod:`meterlib.testing.plugin`: pytest fixtures ``meterlib_ledger`` (a temporary ledger) and
  ``meterlib_price_book`` (a frozen :class:`PriceBook`), opt-in: ``pytest -p
  meterlib.testing.plugin``, ``--meterlib-fixtures``, or ``meterlib_fixtures = true`` in the
  pytest configuration.

The strategies need hypothesis (``pip install 'meterlib[testing]'``); importing them without it
raises :class:`~meterlib.frames.MissingDependencyError` naming the extra. This package itself
imports neither hypothesis nor pytest. meterlib's own property tests draw from these strategies.
"""

from __future__ import annotations

from meterlib.testing.price_book import PriceBook

__all__ = ["PriceBook"]
