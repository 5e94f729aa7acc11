"""CPython-specific speed tricks, each beside a portable fallback that gives the same result.

Every trick here is an optimisation only: the fallback is plain, documented Python that any
implementation runs, and the results are identical. Setting ``$METERLIB_PORTABLE`` to ``1``
before meterlib is imported (or calling :func:`use_portable`) switches every trick to its
fallback; the test suite runs its key metering and ledger checks both ways.

- :func:`encode_json`: compact JSON text of a dict or list of strings. Fast: the C encoder
  (``json.encoder.c_make_encoder``) called directly, since ``json.dumps`` builds an encoder per
  call, which costs more than encoding a small object. Fallback: ``json.dumps``.
- :func:`json_scanner`: ``(value, end)`` of the JSON value at the start of a text. Fast: the
  decoder's own ``scan_once`` (C scanner). Fallback: ``JSONDecoder.raw_decode``.
- :func:`gc_paused`: pause the cyclic garbage collector during a bulk load (events are freed by
  reference counting; collections scanning a batch in memory over and over cost more than the
  load itself). Fallback: leave the collector alone.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["encode_json", "gc_paused", "json_scanner", "portable", "use_portable"]

_PORTABLE = os.environ.get("METERLIB_PORTABLE", "") not in {"", "0"}


def portable() -> bool:
    """True when the portable fallbacks are in use."""
    return _PORTABLE


def use_portable(on: bool) -> None:  # noqa: FBT001  (a switch, read as use_portable(True))
    """Switch every trick to its fallback (``True``) or back to the fast form (``False``)."""
    global _PORTABLE  # noqa: PLW0603  (one process-wide switch, for tests)
    _PORTABLE = bool(on)


def _c_encoder() -> Callable[[Any, int], Any] | None:
    try:
        from json.encoder import (  # type: ignore[attr-defined]  # noqa: PLC0415
            c_make_encoder,
            encode_basestring,
        )
    except ImportError:  # pragma: no cover  (not CPython)
        return None
    if c_make_encoder is None:  # pragma: no cover  (CPython built without _json)
        return None
    # Keys must be text; ensure_ascii off keeps names readable to json_extract paths.
    encoder: Callable[[Any, int], Any] = c_make_encoder(
        None, None, encode_basestring, None, ":", ",", False, False, False  # noqa: FBT003
    )
    return encoder


_C_ENCODE = _c_encoder()


def encode_json(value: Any) -> str:
    """Compact JSON text (``","`` and ``":"``, no ASCII escaping) of a dict or list of text."""
    if _C_ENCODE is not None and not _PORTABLE:
        return "".join(_C_ENCODE(value, 0))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_scanner(decoder: json.JSONDecoder) -> Callable[[str, int], tuple[Any, int]]:
    """A function giving ``(value, end)`` for the JSON value at an index of a text.

    It raises ``StopIteration`` or ``ValueError`` where there is no valid value (the caller
    then decodes the text the slow way for its exact message).
    """
    scan = getattr(decoder, "scan_once", None)
    if scan is not None and not _PORTABLE:
        fast: Callable[[str, int], tuple[Any, int]] = scan
        return fast
    return decoder.raw_decode


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a bulk load; back on afterwards if it was on."""
    if _PORTABLE:
        yield
        return
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
