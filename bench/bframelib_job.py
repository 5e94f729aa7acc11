"""bframelib's side of bench_sql_invoices.py, run in bframelib's own environment.

    python bframelib_job.py EVENTS.parquet CUSTOMERS PRICE

Sets up one organization, a usage product (``api_call`` events, quantity ``qty``), one
customer and one contract per customer with a monthly in-arrears price per unit, loads the
events from the Parquet file and asks ``bframe.invoices`` for the invoices of 2023. Prints one
JSON line: seconds (the whole job: set-up, events, invoices), invoice count and total (the sum
of bframelib's own invoice totals, as text).
"""

from __future__ import annotations

import json
import sys
import time

from bframelib import Client  # type: ignore[import-not-found]


def main() -> None:
    """Run the job and print its figures."""
    events, customers, price = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    started = time.perf_counter()
    config = {
        "org_id": 1,
        "env_id": 1,
        "branch_id": 1,
        "rating_range": ["2023-01-01", "2024-01-01"],
    }
    client = Client(config)
    client.execute(
        """
        INSERT INTO src.organizations (id, name) VALUES (1, 'bench');
        INSERT INTO src.environments (id, org_id, name) VALUES (1, 1, 'PROD');
        INSERT INTO src.branches (id, org_id, env_id, name) VALUES (1, 1, 1, 'main');
        INSERT INTO src.products (org_id, env_id, branch_id, id, name, ptype, event_name,
                                  agg_property)
            VALUES (1, 1, 1, 1, 'API calls', 'EVENT', 'api_call', 'qty');
        """
    )
    client.execute(
        f"""
        INSERT INTO src.customers (org_id, env_id, branch_id, id, durable_id, name)
            SELECT 1, 1, 1, i, 'cus_' || lpad(CAST(i - 1 AS VARCHAR), 4, '0'), 'c' || i
            FROM range(1, {customers + 1}) AS r(i);
        INSERT INTO src.contracts (org_id, env_id, branch_id, id, durable_id, customer_id,
                                   started_at, ended_at, effective_at)
            SELECT 1, 1, 1, i, 'k' || i, 'cus_' || lpad(CAST(i - 1 AS VARCHAR), 4, '0'),
                   '2023-01-01', '2024-01-01', '2023-01-01'
            FROM range(1, {customers + 1}) AS r(i);
        INSERT INTO src.contract_prices (org_id, env_id, branch_id, id, product_uid,
                                         contract_uid, price, invoice_delivery,
                                         invoice_schedule)
            SELECT 1, 1, 1, i, 1, i, '{price}', 'ARREARS', 1
            FROM range(1, {customers + 1}) AS r(i);
        INSERT INTO src.events (org_id, env_id, branch_id, transaction_id, customer_id,
                                properties, metered_at, received_at)
            SELECT 1, 1, 1, id, customer,
                   json_object('name', 'api_call', 'qty', qty), time, time
            FROM read_parquet('{events}');
        """  # noqa: S608  (benchmark figures and a path formatted into set-up SQL)
    )
    rows = client.execute("SELECT count(*), sum(total) FROM bframe.invoices").fetchall()
    seconds = time.perf_counter() - started
    count, total = rows[0]
    print(json.dumps({"seconds": seconds, "invoices": int(count), "total": str(total)}))


if __name__ == "__main__":
    main()
