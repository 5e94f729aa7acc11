"""Helpers shared by the conformance kind runners."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from meterlib.errors import MeterlibError

T = TypeVar("T")

#: Fields every case may carry whatever its kind (`note` is words for people, left unread).
COMMON_FIELDS = frozenset({"id", "source", "kind", "note"})


def check_fields(case: dict[str, Any], allowed: Iterable[str], where: str = "case") -> None:
    """Fail when ``case`` has a field the runner does not understand."""
    unknown = set(case) - set(allowed) - (COMMON_FIELDS if where == "case" else set())
    if unknown:
        pytest.fail(f"{where} has fields this runner does not understand: {sorted(unknown)}")


def same_number(expected: Any, actual: Any, what: str) -> None:
    """Compare two figures as decimals (``"0.0150"`` equals ``"0.015"``); ``None`` expects none."""
    if expected is None:
        assert actual is None, f"{what}: expected no value, got {actual!r}"
        return
    assert actual is not None, f"{what}: expected {expected}, got no value"
    assert Decimal(str(expected)) == Decimal(str(actual)), (
        f"{what}: expected {expected}, got {actual}"
    )


def expect_error(case: dict[str, Any], action: Callable[[], T]) -> T | None:
    """Run ``action``; when the case expects an error, require meterlib's own validation error.

    A result, or an incidental exception (KeyError, TypeError, ZeroDivisionError, ...), fails.
    """
    if "error" not in case:
        return action()
    try:
        result = action()
    except MeterlibError:
        return None
    pytest.fail(f"expected an error ({case['error']}), got a result: {result!r}")
