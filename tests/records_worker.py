"""A separate process issuing invoices into a ledger file (for the concurrency and crash tests).

``python -m tests.records_worker PATH COUNT [WORKER] [kill-after N]``: issue COUNT invoices, one
transaction each; with ``kill-after N`` issue them in one transaction and SIGKILL this process
while the N+1-th draft is being read (N invoices numbered inside the open transaction).
"""

from __future__ import annotations

import os
import signal
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


def killing(source: Iterator[Invoice], after: int) -> Iterator[Invoice]:
    for index, bill in enumerate(source):
        if index == after:
            os.kill(os.getpid(), signal.SIGKILL)
        yield bill


def main() -> None:
    path, count = sys.argv[1], int(sys.argv[2])
    worker = sys.argv[3] if len(sys.argv) > 3 else "0"
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    with DocumentStore(path) as store:
        if len(sys.argv) > 5:
            store.issue_many(killing(drafts(count, worker), int(sys.argv[5])), at=moment)
        else:
            for bill in drafts(count, worker):
                store.issue(bill, at=moment)
    sys.stdout.write("done\n")


if __name__ == "__main__":
    main()
