"""Moved to :mod:`meterlib.testing.events` (public and documented); re-exported here for tests
written before the move. New strategies go there, not here."""

from meterlib.testing.events import *  # noqa: F403
