"""Write reads.jsonl: the partner's reads as daily events per application (deterministic).

Each month's reads (the ``base`` column of usage.csv) are split over the applications by fixed
shares and over the month's days evenly, remainders going to the earliest days, so the events
of a month add up exactly to usage.csv. Run: ``python examples/partner_overuse/make_reads.py``.
"""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Application, share of the month's reads (percent), hour of its daily event (UTC).
APPS = (("catalog-sync", 55, 2), ("bi-export", 30, 9), ("mobile-app", 15, 17))


def main() -> None:
    """Read usage.csv, write reads.jsonl."""
    lines: list[str] = []
    with (HERE / "usage.csv").open(newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            start = date.fromisoformat(row["period_start"])
            end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
            days = (end - start).days
            total = int(row["base"])
            left = total
            for index, (app, share, hour) in enumerate(APPS):
                reads = left if index == len(APPS) - 1 else total * share // 100
                left -= reads
                for day in range(days):
                    count = reads // days + (1 if day < reads % days else 0)
                    when = start + timedelta(days=day)
                    event = {
                        "id": f"{app}-{when.isoformat()}",
                        "customer": "P-1042",
                        "type": "api.read",
                        "time": f"{when.isoformat()}T{hour:02d}:00:00Z",
                        "properties": {"app": app, "records": str(count)},
                    }
                    lines.append(json.dumps(event, separators=(",", ":")))
    (HERE / "reads.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
