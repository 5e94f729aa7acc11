"""Contract documents: a contract, its plans and its meters in one TOML or JSON file.

A contract document is the :class:`~meterlib.invoicing.contracts.Contract` model written out
(numbers as strings or TOML/JSON numbers, which are read as ``Decimal``, never ``float``)::

    customer = "cus_acme"
    payment_terms_days = 14
    meters_file = "meters.toml"        # or inline [[meters]] tables

    [billing]
    anchor = 2023-01-01
    cadence = "monthly"
    timezone = "Europe/Berlin"

    [plans.starter]
    currency = "EUR"
    fees = [{ name = "platform", amount = "49" }]
    ...

    [[phases]]
    start = 2023-01-01
    plan = "starter"

**Meters.** The meters a plan's metered charges read must be findable from the contract, so
``meterlib invoice CONTRACT --ledger PATH`` can turn raw events into usage. A document either
embeds them as ``[[meters]]`` tables, or names a meters document (TOML or JSON, the form
:func:`meterlib.metering.meters.load_meters` reads) with ``meters_file``, a path relative to the
contract document's own folder (a path leading out of it is refused unless the caller allows
it: ``allow_outside=True``, ``--allow-outside-files``). Not both. A contract billed from
aggregated usage only (a mapping, a usage table) needs no meters.

Every problem is reported as one :class:`~meterlib.errors.DocumentError` listing each as
``(dotted location, message)``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from meterlib._files import referenced_file, without_values
from meterlib._json import JsonError, loads
from meterlib._json import document as document_data
from meterlib.errors import DocumentError, describe
from meterlib.invoicing.contracts import Contract
from meterlib.metering.meters import load_meters

__all__ = ["load_contract", "parse_contract"]

_WHAT = "contract"


def parse_contract(
    data: str | bytes | Mapping[str, Any],
    base: str | os.PathLike[str] | None = None,
    *,
    allow_outside: bool = False,
) -> Contract:
    """Build a contract from JSON text or a parsed document (``meters_file`` read from ``base``).

    ``meters_file`` must lie inside ``base`` (the current folder when ``None``) unless
    ``allow_outside`` is true; errors in it name its locations, never its content. Raises
    :class:`~meterlib.errors.DocumentError` listing every problem found.
    """
    data = document_data(data, _WHAT)
    if not isinstance(data, Mapping):
        raise DocumentError(_WHAT, [("", f"must be an object (got {describe(data)})")])
    document = dict(data)
    meters_file = document.pop("meters_file", None)
    if meters_file is not None:
        if "meters" in document:
            raise DocumentError(
                _WHAT, [("meters_file", "give either 'meters' or 'meters_file', not both")]
            )
        path = referenced_file(
            Path(base or "."),
            meters_file,
            what=_WHAT,
            field="meters_file",
            allow_outside=allow_outside,
        )
        try:
            document["meters"] = load_meters(path)
        except OSError as error:
            raise DocumentError(
                _WHAT, [("meters_file", f"cannot read {os.fspath(path)}: {error.strerror}")]
            ) from error
        except UnicodeDecodeError:
            raise DocumentError(
                _WHAT, [("meters_file", f"{os.fspath(path)} is not UTF-8 text")]
            ) from None
        except DocumentError as error:
            raise DocumentError(
                _WHAT,
                [
                    (f"meters_file ({os.fspath(path)}) {loc}".strip(), msg)
                    for loc, msg in without_values(error.problems)
                ],
            ) from None
    try:
        return Contract.model_validate(document)
    except DocumentError as error:
        raise DocumentError(_WHAT, error.problems) from error


def load_contract(path: str | os.PathLike[str], *, allow_outside: bool = False) -> Contract:
    """Read a contract from a ``.toml`` or ``.json`` file (numbers as ``Decimal``).

    The meters file it names is read from the contract's folder only, unless
    ``allow_outside`` is true. A :class:`~meterlib.errors.DocumentError` carries a note naming
    the file; errors reading the file itself (``OSError``) pass through unchanged.
    """
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    try:
        try:
            if file.suffix.lower() == ".toml":
                data: Any = tomllib.loads(text, parse_float=Decimal)
            else:
                data = loads(text)
        except (tomllib.TOMLDecodeError, JsonError) as error:
            problem = f"not valid {file.suffix[1:].upper()}: {error}"
            raise DocumentError(_WHAT, [("", problem)]) from error
        return parse_contract(data, file.parent, allow_outside=allow_outside)
    except DocumentError as error:
        error.add_note(f"while reading the contract document {os.fspath(path)}")
        raise
