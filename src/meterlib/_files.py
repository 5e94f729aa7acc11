"""Files a document names: confined to the document's own folder, and never quoted in errors.

A contract names a meters file, a back-billing case its price and usage files. A document can
come from someone else (a customer's case, a shared repository), so the file names it holds are
read only inside the document's own folder: an absolute path, ``../`` or a symbolic link that
leads out of the folder is refused unless the caller allows it (``allow_outside=True``, or
``--allow-outside-files`` on the command line). And when a named file does not hold what was
expected, the error names the file and the location inside it, never its content: a value
quoted from another file could disclose what the document's author had no right to read.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from meterlib.errors import DocumentError, describe

__all__ = ["referenced_file", "without_values"]

_ALLOW = (
    "a caller that trusts the document may allow other folders"
    " (allow_outside=True, --allow-outside-files)"
)
_GOT = re.compile(r"\s*\(got .*\)\s*$", re.DOTALL)


def referenced_file(
    folder: Path,
    name: Any,
    *,
    what: str,
    field: str,
    allow_outside: bool = False,
) -> Path:
    """The path of the file ``name`` that a document in ``folder`` refers to, checked.

    Raises :class:`~meterlib.errors.DocumentError` naming ``field`` when ``name`` is not a
    file name, or when it leads outside ``folder`` and ``allow_outside`` is false.
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise DocumentError(what, [(field, f"must be a file name (got {describe(name)})")])
    path = folder / name
    if not allow_outside:
        inside = folder.resolve()
        if not path.resolve().is_relative_to(inside):
            raise DocumentError(
                what,
                [
                    (
                        field,
                        (
                            f"must name a file inside the document's folder"
                            f" {os.fspath(inside)} (got {name!r}); {_ALLOW}"
                        ),
                    )
                ],
            )
    return path


def without_values(problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``problems`` without their quoted values (``"must be >= 0 (got -1)"``: ``"must be >= 0"``).

    For errors found in a file another document named: the location and the rule are kept,
    the content is not repeated.
    """
    return [(location, _GOT.sub("", message)) for location, message in problems]
