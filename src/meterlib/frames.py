"""Table-like results as pandas DataFrames: the one place meterlib imports pandas.

Every table-like result (:class:`~meterlib.metering.table.UsageTable`,
:class:`~meterlib.invoicing.Invoice`, :class:`~meterlib.backbill.Statement`,
:class:`~meterlib.backbill.statement.ScenarioComparison`,
:class:`~meterlib.metering.report.BatchReport`) has ``to_records()``: a list of flat mappings
holding real values (``Decimal`` figures, ``datetime`` instants, ``date`` days, ``int`` counts),
so ``sum(r["value"] for r in usage.to_records())`` is exact. ``to_pandas()`` turns the same
records into a DataFrame with one column per field, in a fixed order even when there are no rows.
Figures stay ``Decimal`` (an ``object`` column), so ``frame["value"].sum()`` is the exact
``Decimal`` sum, never a float. The JSON forms (``render("json")``, ``invoice_to_dict``) keep
figures as text, as JSON should.

pandas is optional: ``pip install 'meterlib[pandas]'``. Without it ``to_pandas()`` raises
:class:`MissingDependencyError` naming the extra.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from meterlib.errors import MeterlibError

__all__ = ["MissingDependencyError", "records_to_pandas"]


class MissingDependencyError(MeterlibError, ImportError):
    """An optional package a feature needs is not installed; the message names the extra."""

    def __init__(self, feature: str, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{feature} needs {package!r}, which is not installed: pip install 'meterlib[{extra}]'"
        )


def records_to_pandas(records: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> Any:
    """A ``pandas.DataFrame`` of ``records`` with exactly ``columns``, in that order.

    Values are kept as they are (``Decimal`` stays ``Decimal``); an empty list gives an empty
    frame that still has every column.
    """
    try:
        import pandas as pd  # noqa: PLC0415  (optional: only this function needs it)
    except ImportError:
        raise MissingDependencyError("to_pandas()", "pandas", "pandas") from None
    return pd.DataFrame.from_records([dict(r) for r in records], columns=list(columns))
