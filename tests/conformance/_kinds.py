"""The table of conformance kinds this runner understands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RUNNERS: dict[str, Callable[[dict[str, Any]], None]] = {}

# Each kind module registers its runners in RUNNERS when imported.
from tests.conformance import _core  # noqa: E402, F401  (registration by import, after RUNNERS)
