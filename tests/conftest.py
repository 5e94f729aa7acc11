"""Shared pytest configuration: hypothesis profiles.

``default`` (the README's test command) keeps every property but tries few examples, so the
whole suite stays within a few minutes on a 2-core machine; ``ci`` (``HYPOTHESIS_PROFILE=ci``,
the second step of ``.ci/run``) tries many more on every hypothesis test. Tests that set their
own ``max_examples`` scale it with ``tests.budget.examples``. CONTRIBUTING.md gives the figures.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=25, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
