"""The downstream project's hypothesis settings: results must not depend on the machine's speed.

A shared CI runner can be slow at any moment. Hypothesis's per-example ``deadline`` and its
``too_slow`` health check (which times how long generating the examples takes) would then fail
a correct test by chance, so this project's profile turns both off; every other health check
(about the tests' own logic) stays on. The tests set only how many examples they try.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("downstream", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("downstream")
