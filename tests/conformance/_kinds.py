"""The table of conformance kinds this runner understands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RUNNERS: dict[str, Callable[[dict[str, Any]], None]] = {}
