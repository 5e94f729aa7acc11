"""Run every conformance case: the shipped copies and the folders in METERLIB_CONFORMANCE_DIR.

Each case kind maps onto meterlib's public API in a module of its own under this package
(``_price.py`` for ``price``, ...). A kind without a module fails its cases: an unknown kind or
field is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.conformance import _kinds

CASES_DIR = Path(__file__).parent / "cases"


def _folders() -> list[Path]:
    extra = os.environ.get("METERLIB_CONFORMANCE_DIR", "")
    return [CASES_DIR, *(Path(part) for part in extra.split(":") if part)]


def _load_cases() -> Iterator[Any]:
    seen: set[str] = set()
    for folder in _folders():
        if not folder.is_dir():
            yield pytest.param(
                {"kind": "missing-folder", "id": str(folder)}, id=f"missing:{folder}"
            )
            continue
        for path in sorted(folder.glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
            for case in document["cases"]:
                case_id = str(case.get("id", "<no id>"))
                label = case_id if case_id not in seen else f"{path.stem}:{case_id}"
                seen.add(case_id)
                yield pytest.param(case, id=label)


@pytest.mark.parametrize("case", list(_load_cases()))
def test_case(case: dict[str, Any]) -> None:
    kind = case.get("kind")
    runner: Callable[[dict[str, Any]], None] | None = _kinds.RUNNERS.get(str(kind))
    if runner is None:
        pytest.fail(f"case {case.get('id')!r}: unknown kind {kind!r}")
    runner(case)
