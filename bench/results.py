"""One row of the README's performance table, printed by a benchmark as a ``RESULT`` line.

Every benchmark prints its figures for people, and then one ``RESULT {json}`` line per row of
the README's "Performance" table. ``bench/report.py`` runs the benchmarks, collects those lines
and rewrites the table between its markers, so no figure in the README is typed by hand.

Fields of a row (all text, already formatted for a reader, except ``met``):

``key``       stable identifier of the row (``"matrix"``, ``"ledger-ingest-random"``, ...)
``what``      the job measured, in words
``target``    the target, e.g. ``"≥ 20,000 matrix ratings/s"``
``measured``  the figure, e.g. ``"21,300 matrix ratings/s (median of 5 rounds)"``
``met``       ``True``/``False``; ``None`` when the row has no target
``bound``     the bound or peer measured in the same run, with its figure (may be empty)
``command``   the command that prints the row
"""

from __future__ import annotations

import json
import os

PREFIX = "RESULT "


def load_average() -> str:
    """The one-minute load average, as text, or ``"n/a"`` where the system has none."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:  # pragma: no cover - platforms without getloadavg
        return "n/a"


def emit(
    key: str,
    *,
    what: str,
    target: str,
    measured: str,
    met: bool | None,
    bound: str,
    command: str,
) -> None:
    """Print one row of the performance table as a ``RESULT`` line (see the module docstring)."""
    row = {
        "key": key,
        "what": what,
        "target": target,
        "measured": measured,
        "met": met,
        "bound": bound,
        "command": command,
        "load": load_average(),
    }
    print(PREFIX + json.dumps(row, ensure_ascii=False), flush=True)
