"""Opening a ledger of either backend: SQLite (standard library, the default) or DuckDB.

:func:`open_ledger` reads the first bytes of an existing file to tell the two apart, so a
caller need not remember which backend wrote it; a new file is a DuckDB ledger when its name
ends in ``.duckdb`` or ``.ddb`` (or ``backend="duckdb"`` is given), else an SQLite ledger.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from meterlib.errors import InvalidValueError
from meterlib.ledger import BUSY_TIMEOUT, Ledger

if TYPE_CHECKING:
    from meterlib.ledger.duck import DuckLedger

__all__ = ["BACKENDS", "DUCK_BATCH_SIZE", "backend_of", "open_ledger"]

#: The ledger backends by name.
BACKENDS = ("sqlite", "duckdb")
#: Events per batch when a file is read in columns into a DuckDB ledger and no batch size is
#: given: two of DuckDB's row groups (122,880 rows each). A batch of a full row group or more
#: is written to the file compressed at once, ahead of the commit, while a smaller one goes
#: through the write-ahead log and is rewritten at the next checkpoint (at 50,000 events a
#: batch, ingest of random ids ran 1.5-2x slower); larger batches also scan the stored ids
#: fewer times.
DUCK_BATCH_SIZE = 245_760
_DUCK_SUFFIXES = frozenset({".duckdb", ".ddb"})


def backend_of(path: str | Path) -> str:
    """``"duckdb"`` or ``"sqlite"``: from the file's header when it exists, else its name."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except FileNotFoundError:
        head = b""
    if head[8:12] == b"DUCK":
        return "duckdb"
    if head or path.suffix.lower() not in _DUCK_SUFFIXES:
        return "sqlite"
    return "duckdb"


def open_ledger(
    path: str | Path,
    *,
    backend: str | None = None,
    timeout: float = BUSY_TIMEOUT,
    durable: bool = True,
) -> Ledger | DuckLedger:
    """Open (or create) the ledger at ``path`` with ``backend`` (by default: :func:`backend_of`).

    ``timeout`` and ``durable`` are the SQLite ledger's (a DuckDB ledger syncs every commit
    and does not wait for a lock another process holds: it refuses at once).
    """
    chosen = backend_of(path) if backend is None else backend
    if chosen not in BACKENDS:
        raise InvalidValueError("backend", backend, f"one of {list(BACKENDS)} or None")
    if chosen == "duckdb":
        from meterlib.ledger.duck import DuckLedger  # noqa: PLC0415  (optional dependency)

        if backend_of(path) == "sqlite" and Path(path).exists():
            raise InvalidValueError("backend", backend, f"sqlite: {str(path)!r} is SQLite")
        return DuckLedger(path)
    if backend_of(path) == "duckdb" and Path(path).exists():
        raise InvalidValueError("backend", backend, f"duckdb: {str(path)!r} is a DuckDB file")
    return Ledger(path, timeout=timeout, durable=durable)
