"""Shared pytest configuration: hypothesis profiles and an optional hostile decimal context.

``default`` (the README's test command) keeps every property but tries few examples, so the
whole suite stays within a few minutes on a 2-core machine; ``ci`` (``HYPOTHESIS_PROFILE=ci``,
the second step of ``.ci/run``) tries many more on every hypothesis test. Tests that set their
own ``max_examples`` scale it with ``tests.budget.examples``. CONTRIBUTING.md gives the figures.
Neither profile depends on the machine's speed: no deadline, and the health checks that time
data generation (``too_slow``, and the filtering and size checks that can trip on a busy
machine) are suppressed, so a loaded CI machine never turns the suite red by chance.

``METERLIB_CALLER_PREC=3`` runs every test under a caller whose default decimal context has
precision 3 (and rounds down), to show that no result depends on the caller's context.
"""

from __future__ import annotations

import decimal
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# Checks that measure how long generating examples takes: on a loaded machine they fail a
# correct test by chance. The checks about the tests' own logic stay on.
_TIMING_CHECKS = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]

settings.register_profile(
    "default", max_examples=25, deadline=None, suppress_health_check=_TIMING_CHECKS
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=_TIMING_CHECKS,
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

_CALLER_PREC = os.environ.get("METERLIB_CALLER_PREC")


@pytest.fixture(autouse=True)
def _caller_decimal_context() -> Iterator[None]:
    """With ``METERLIB_CALLER_PREC`` set, run each test under a narrow caller context."""
    if not _CALLER_PREC:
        yield
        return
    narrow = decimal.Context(prec=int(_CALLER_PREC), rounding=decimal.ROUND_DOWN)
    saved = decimal.getcontext()
    decimal.setcontext(narrow)
    try:
        yield
    finally:
        decimal.setcontext(saved)
