"""The embedded store (I/O edge): issued documents, their numbers and payments.

:mod:`~meterlib.ledger.documents` keeps issued invoices, credit and debit notes and payments in
the ledger's SQLite file; :mod:`~meterlib.ledger.recheck` finds late usage of issued periods.
"""

from __future__ import annotations
