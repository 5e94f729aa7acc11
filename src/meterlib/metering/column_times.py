"""Whether a column of time texts all share one of the layouts ``isoformat`` writes, in numpy.

The column path (:mod:`meterlib.metering.frames`) lets Arrow parse a chunk's times only when
every text has a shape Arrow reads exactly as ``datetime.fromisoformat`` does; a regular
expression checked that shape for each text, which cost about three times Arrow's parse itself.
:func:`one_layout` answers the common case first: every text of the column has the same length,
one of :data:`LAYOUTS` (what ``datetime.isoformat`` and JavaScript's ``toISOString`` write), and
every byte lies within the bounds of its position (a digit where the layout has one, the tens of
a month at most ``1``, of an hour at most ``2``, ...; the separators themselves). The texts are
then rows of a byte matrix, and the test is one minimum and one maximum per column of it.

Arrow's parse then checks the rest (each field's range, the day within its month) and raises
when a text breaks it; the caller sends such a column, or one that fails here, through the
regular expression and Python, as before, so a time is accepted, refused and placed in time as
``check_event`` does.
"""

from __future__ import annotations

from typing import Any

from meterlib.frames import MissingDependencyError

try:
    import numpy as np
    import pyarrow as pa
except ImportError as missing:  # pragma: no cover - its own CI step installs the extra
    raise MissingDependencyError(
        "the columnar path", "numpy, pyarrow and polars", "columnar"
    ) from missing

__all__ = ["LAYOUTS", "one_layout"]

#: The layouts, by text length: ``9`` a digit, ``1``..``5`` a digit at most that (tens of a
#: month, day, hour, minute, second; of an offset's hours and minutes), ``+`` the offset's sign
#: (``+`` or ``-``); any other character stands for itself.
LAYOUTS = {
    20: "9999-19-39T29:59:59Z",
    24: "9999-19-39T29:59:59.999Z",
    25: "9999-19-39T29:59:59+29:59",
    27: "9999-19-39T29:59:59.999999Z",
    29: "9999-19-39T29:59:59.999+29:59",
    32: "9999-19-39T29:59:59.999999+29:59",
}


def _bounds(layout: str) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    low, high = [], []
    for c in layout:
        if c.isdigit():
            low.append(ord("0"))
            high.append(ord(c))
        elif c == "+":
            low.append(ord("+"))
            high.append(ord("-"))  # and "," between them: Arrow's parse refuses it
        else:
            low.append(ord(c))
            high.append(ord(c))
    return np.array(low, dtype=np.uint8), np.array(high, dtype=np.uint8)


#: Rows side by side in one reduction.
_ROWS = 64
_BOUNDS = {length: _bounds(layout) for length, layout in LAYOUTS.items()}


def one_layout(texts: pa.Array) -> bool:
    """True when every text (no nulls) has one and the same of :data:`LAYOUTS`, byte by byte."""
    size = len(texts)
    if size == 0 or texts.null_count:
        return False
    if pa.types.is_string(texts.type):
        offset_type: Any = np.int32
    elif pa.types.is_large_string(texts.type):
        offset_type = np.int64
    else:
        return False
    _, offset_buffer, data_buffer = texts.buffers()
    if offset_buffer is None or data_buffer is None:
        return False
    width = np.dtype(offset_type).itemsize
    offsets = np.frombuffer(
        offset_buffer, dtype=offset_type, count=size + 1, offset=texts.offset * width
    )
    start, end = int(offsets[0]), int(offsets[-1])
    length, rest = divmod(end - start, size)
    bounds = _BOUNDS.get(length)
    if bounds is None or rest or not (np.diff(offsets) == length).all():
        return False
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=end - start, offset=start)
    # Blocks of _ROWS rows side by side: the minimum and maximum run along long rows of bytes.
    whole = size - size % _ROWS
    parts = [data[: whole * length].reshape(-1, _ROWS * length), data[whole * length :]]
    low, high = bounds
    for part in parts:
        if len(part):
            columns = part.reshape(-1, length) if part.ndim == 1 else part
            least = columns.min(axis=0).reshape(-1, length).min(axis=0)
            most = columns.max(axis=0).reshape(-1, length).max(axis=0)
            if (least < low).any() or (most > high).any():
                return False
    return True
