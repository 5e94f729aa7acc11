"""Moved to :mod:`meterlib.testing.contracts` (public and documented); re-exported here for tests
written before the move. New strategies go there, not here."""

from meterlib.testing.contracts import *  # noqa: F403
