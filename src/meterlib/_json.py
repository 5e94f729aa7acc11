r"""The one exact JSON reader of meterlib: event lines, CSV ``properties`` cells, documents.

Every JSON text meterlib reads goes through :func:`loads` (a whole document) or
:func:`loads_line` (one line of JSON Lines, the hot path). Both apply the same rules:

- **numbers are exact**: a number with a fraction or an exponent becomes a ``Decimal``, a whole
  number an ``int``; never a binary float. JSON's grammar allows ASCII digits only, so
  ``"١٢"`` or ``"１２"`` are never numbers here (as text they go to the number funnel,
  :func:`meterlib._numbers.to_decimal`, which decides). A number ``Decimal`` cannot hold is
  refused; magnitude and exponent bounds are the funnel's;
- ``NaN``, ``Infinity`` and ``-Infinity`` are refused (they are not JSON, and no charge is one);
- **duplicate keys are refused** in every object (``{"qty": 1, "qty": 2}`` would otherwise
  silently keep the last value);
- **nesting is limited** to :data:`MAX_DEPTH` levels of objects and arrays; deeper input is
  refused with a clean error, never a ``RecursionError``;
- **text is valid Unicode**: bytes must be UTF-8, and a lone surrogate (``"\ud800"``, which no
  UTF-8 file, SQLite database or Parquet file can store) is refused; an escaped pair such as
  ``"\ud83d\ude00"`` is one character and is accepted;
- a UTF-8 byte-order mark at the start of a document is skipped (:func:`loads_line` leaves
  that to its caller, which knows whether the line is the first of a file).

Every refusal is a :class:`JsonError` (a ``MeterlibError`` and a ``ValueError``) whose message
says what was wrong and where.

**Speed.** :func:`loads_line` calls the decoder's own scanner once per line (building a decoder
per call, as ``json.loads(s, parse_float=...)`` does, costs more than the parse) and checks
duplicate keys by counting: the keys of the objects an event has (the event and its
``properties``) are matched against the ``":`` marks of the line; only a line where the two
disagree, that escapes characters, or that nests is looked at key by key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from meterlib._fast import json_scanner
from meterlib.errors import DocumentError, MeterlibError

__all__ = ["MAX_DEPTH", "JsonError", "document", "line_parser", "loads", "loads_line"]

#: The deepest nesting of objects and arrays meterlib reads (an event needs 2).
MAX_DEPTH = 64


class JsonError(MeterlibError, ValueError):
    """A JSON text meterlib refuses; ``reason`` says what was wrong and where."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not valid JSON: {reason}")


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise JsonError(f"the number {text[:40]!r} is out of range") from None


def _constant(name: str) -> Any:
    raise JsonError(f"{name} is not a number meterlib accepts (no NaN or infinity)")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonError(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return found


# One decoder each, built once: the fast one builds plain dicts (duplicates are found by
# counting, see the module docstring), the exact one checks every object's keys.
_FAST = json.JSONDecoder(parse_float=_number, parse_constant=_constant)
_EXACT = json.JSONDecoder(parse_float=_number, parse_constant=_constant, object_pairs_hook=_pairs)
_LINE_ENDS = frozenset({"", "\n", "\r\n"})
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _depth(text: str) -> int:
    """The deepest nesting of objects and arrays in ``text`` (brackets in strings ignored)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in {"[", "{"}:
            depth += 1
            deepest = max(deepest, depth)
        elif token in {"]", "}"}:
            depth -= 1
    return deepest


def _no_surrogate(value: Any) -> None:
    """Refuse a lone surrogate in any string or key of a parsed value (iteratively)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is str:
            if _SURROGATE.search(item):
                raise JsonError(
                    f"the text {item[:40]!r} holds a lone surrogate (not valid Unicode)"
                )
        elif type(item) is dict:
            stack.extend(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)


def _exact(text: str) -> Any:
    """Parse ``text`` with every rule checked one by one (the slow, exact path)."""
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth(text) > MAX_DEPTH:
        raise JsonError(f"nested deeper than {MAX_DEPTH} levels of objects and arrays")
    try:
        value = _EXACT.decode(text)
    except JsonError:
        raise
    except json.JSONDecodeError as error:
        raise JsonError(str(error)) from None
    except (ValueError, RecursionError) as error:  # int digit limit; a too-deep stack
        raise JsonError(str(error)) from None
    if "\\u" in text or not text.isascii():
        _no_surrogate(value)
    return value


def loads(text: str | bytes) -> Any:
    """Parse one JSON document by the rules of the module docstring; :class:`JsonError` if not.

    ``bytes`` are decoded as UTF-8; a leading byte-order mark is skipped.
    """
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonError(f"not UTF-8 text ({error.reason} at byte {error.start})") from None
    if type(text) is not str:
        raise JsonError(f"expected text, got a {type(text).__name__}")
    return _exact(text.removeprefix("\ufeff"))


def document(data: Any, what: str) -> Any:
    """``data`` itself, or, when it is JSON text (``str`` or ``bytes``), the value it holds.

    The one way a ``parse_X`` function takes text: read by :func:`loads`, a refusal becomes a
    :class:`~meterlib.errors.DocumentError` about ``what`` (``"price"``, ``"contract"``, ...).
    """
    if not isinstance(data, str | bytes):
        return data
    try:
        return loads(data)
    except JsonError as error:
        raise DocumentError(what, [("", str(error))]) from None


def loads_line(text: str) -> Any:
    """Parse one line of JSON Lines (its line break allowed at the end); :class:`JsonError`.

    ``text`` is the line as decoded from UTF-8 (a lone surrogate can only come from an escape
    then); text from elsewhere is checked for surrogates as well. To parse many lines, take
    one parser with :func:`line_parser`.
    """
    return line_parser()(text)


def line_parser() -> Callable[[str], Any]:
    """A :func:`loads_line` for many lines, its scanner looked up once.

    The scanner is :func:`meterlib._fast.json_scanner`: the speed trick, or its portable
    fallback, chosen when the parser is made.
    """
    scan = json_scanner(_FAST)

    def parse(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except (StopIteration, ValueError, ArithmeticError, RecursionError):
            return _exact(text)
        if text[end:] not in _LINE_ENDS:
            return _exact(text)
        if type(value) is dict:
            # Duplicate keys by counting: ``":`` ends every key written without a blank before
            # its colon and, in a line without a backslash, appears nowhere else (a quote
            # inside a string is escaped). So when no key has a blank before its colon, the
            # marks count every member of every object, and equal to the keys kept in the
            # event and its properties means none was dropped and no other object has a key.
            # Anything else takes the exact path. Single characters are looked for first: a
            # one-character search is the fastest there is.
            inner = value.get("properties")
            kept = len(value) + (len(inner) if type(inner) is dict else 0)
            if (
                text.count('":') != kept
                or "[" in text
                or "\\" in text
                or (
                    (" " in text or "\t" in text or "\r" in text)
                    and (" :" in text or "\t:" in text or "\r:" in text)
                )
            ):
                return _exact(text)
        elif "{" in text or "[" in text:
            return _exact(text)
        elif "\\" in text:
            _no_surrogate(value)
        if not text.isascii() and _SURROGATE.search(text):
            _no_surrogate(value)
        return value

    return parse
