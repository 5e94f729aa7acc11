"""A separate process issuing invoices into a ledger file (for the concurrency and crash tests).

``python -m tests.records_worker PATH COUNT [WORKER] [kill-at-commit]``: issue COUNT invoices,
one transaction each; with ``kill-at-commit`` issue them in one batch and SIGKILL this process
when SQLite is handed the batch's ``COMMIT``: every invoice numbered and inserted and the series
moved, inside the open transaction.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

from meterlib.invoicing import Invoice, MappingUsage, invoice
from meterlib.ledger.documents import DocumentStore
from tests.records_fixtures import contract


def drafts(count: int, worker: str) -> Iterator[Invoice]:
    for index in range(count):
        con = contract(f"cus_{worker}_{index}")
        period = con.period(index % 12)
        yield invoice(con, MappingUsage({"calls": index}, period=period), period)


class KillAtCommit:
    """SQLite's trace callback: SIGKILL this process at the ``COMMIT`` of a transaction that
    moved a number series (after its documents were inserted)."""

    def __init__(self) -> None:
        self.numbered = False

    def __call__(self, statement: str) -> None:
        if "INTO document_series" in statement:
            self.numbered = True
        if self.numbered and statement.strip().upper() == "COMMIT":
            os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    worker = sys.argv[3] if len(sys.argv) > 3 else "0"
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    if len(sys.argv) > 4 and sys.argv[4] == "kill-at-commit":
        db = sqlite3.connect(path, isolation_level=None)
        with DocumentStore(db) as store:
            db.set_trace_callback(KillAtCommit())
            store.issue_many(list(drafts(count, worker)), at=moment)
        sys.stdout.write("not killed\n")
        return
    with DocumentStore(path) as store:
        for bill in drafts(count, worker):
            store.issue(bill, at=moment)
    sys.stdout.write("done\n")


if __name__ == "__main__":
    main()
