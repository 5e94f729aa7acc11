"""How many examples a costly property test tries: all of them in CI, a fifth by default.

A property test whose every example runs an engine (DuckDB, SQLite) fixes its own
``max_examples``, which overrides the hypothesis profile. ``examples(n)`` keeps ``n`` under
``HYPOTHESIS_PROFILE=ci`` (the second step of ``.ci/run``) and tries ``n // 5`` (at least 5) in
the README's default run, so that run stays within minutes while CI tries as many as before.
"""

from __future__ import annotations

import os

__all__ = ["examples"]

THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "default") == "ci"


def examples(full: int) -> int:
    """``full`` in the ``ci`` profile, else a fifth of it (at least 5)."""
    return full if THOROUGH else max(5, full // 5)
