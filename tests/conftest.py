"""Shared pytest configuration: hypothesis profiles.

``default`` keeps the suite fast for local runs; ``ci`` (chosen when ``CI`` is set, or with
``HYPOTHESIS_PROFILE=ci``) tries more examples.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)
