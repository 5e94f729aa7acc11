"""The table of conformance kinds this runner understands."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

RUNNERS: dict[str, Callable[[dict[str, Any]], None]] = {}

# Each kind module registers its runners in RUNNERS when imported (after RUNNERS exists).
# To add a kind, add its module's name here.
KIND_MODULES = ("_aggregate", "_backbill", "_core", "_price")

for _module in KIND_MODULES:
    importlib.import_module(f"tests.conformance.{_module}")
