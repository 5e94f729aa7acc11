"""Moved to :mod:`meterlib.testing.strategies` (public and documented); re-exported here for tests
written before the move. New strategies go there, not here."""

from meterlib.testing.strategies import *  # noqa: F403
