"""Events to invoices in one statement bill and report what the separate public paths give.

:func:`~meterlib.sql.invoices.invoices_from_source` finds the first copies once inside one
statement for usage and report alike. On streams with duplicates, conflicts (some changing
the type, so a property the first copy lacks is NULL there and set in a later copy), events
outside every period and contracts in several zones (overlapping spans, several layers), its
invoices must equal the invoicing engine's with usage from
:func:`~meterlib.sql.usage_from_source`, and its report :func:`~meterlib.sql.scan_source`'s
over the same spans, for every kind of source: JSON Lines, CSV, Parquet read through the
edge, typed Parquet read by DuckDB itself, JSON Lines with ``received_at`` (copies ranked by
two columns) and the ledger.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.invoicing import Contract, invoice
from meterlib.invoicing.usage import TableUsage
from meterlib.metering.table import UsageKey
from meterlib.periods import Period
from meterlib.sql import scan_source, usage_from_source
from meterlib.sql.compile import micros
from meterlib.sql.invoices import invoices_from_source
from meterlib.testing.events import CUSTOMERS, METERS, event_sets
from tests.budget import examples
from tests.sql_strategies import write_events

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

SOURCES = ("jsonl", "csv", "parquet", "typed_parquet", "received_at", "ledger")
ZONES = ("Europe/Berlin", "UTC", "America/New_York")
PLAN = {
    "currency": "USD",
    "metered": [
        {"name": m.name, "meter": m.name, "price": {"model": "per_unit", "unit_amount": "1.5"}}
        for m in METERS
    ],
}


def _contract(customer: str, zone: str) -> Contract:
    return Contract.model_validate(
        {
            "customer": customer,
            "billing": {"anchor": "2024-01-01", "cadence": "monthly", "timezone": zone},
            "plans": {"all": PLAN},
            "phases": [{"start": "2024-01-01", "plan": "all"}],
        }
    )


@st.composite
def streams(draw: st.DrawFn) -> list[dict[str, Any]]:
    """``event_sets`` (quantities made non-negative: prices refuse negative usage) plus
    conflicting copies of another type, without the first's region."""
    stream = [
        {
            **e,
            "properties": {
                **e["properties"],
                "qty": f"{Decimal(str(e['properties']['qty'])).copy_abs():f}",
            },
        }
        for e in draw(event_sets())
    ]
    for _ in range(draw(st.integers(0, 3))):
        if not stream:
            break
        original = draw(st.sampled_from(stream))
        copy = dict(original)
        copy["type"] = "storage.delta"
        copy["properties"] = {"qty": original["properties"]["qty"]}
        stream.insert(draw(st.integers(0, len(stream))), copy)
    return stream


def _typed_parquet(folder: Path, stream: list[dict[str, Any]]) -> Path:
    """Flat typed columns (a time zone aware time, decimal quantities): DuckDB reads it as is."""
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.parquet as pq  # noqa: PLC0415

    def column(name: str) -> list[Any]:
        return [e["properties"].get(name) for e in stream]

    table = pa.table(
        {
            "id": pa.array([e["id"] for e in stream], pa.string()),
            "customer": pa.array([e["customer"] for e in stream], pa.string()),
            "type": pa.array([e["type"] for e in stream], pa.string()),
            "time": pa.array(
                [datetime.fromisoformat(e["time"]) for e in stream], pa.timestamp("us", tz="UTC")
            ),
            "qty": pa.array(
                [None if q is None else Decimal(str(q)) for q in column("qty")],
                pa.decimal128(38, 12),
            ),
            "region": pa.array(column("region"), pa.string()),
            "user": pa.array(column("user"), pa.string()),
        }
    )
    path = folder / "typed.parquet"
    pq.write_table(table, path)
    return path


def _write(folder: Path, stream: list[dict[str, Any]], source: str) -> Path:
    if source == "typed_parquet":
        return _typed_parquet(folder, stream)
    if source == "received_at":
        # received in reverse file order: the last line of an id is its first copy
        path = folder / "events.jsonl"
        lines = [
            json.dumps({**event, "received_at": f"2024-06-01T00:00:{59 - i % 60:02d}.{i:06d}Z"})
            for i, event in enumerate(stream)
        ]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path
    if source == "ledger":
        from meterlib.ledger import Ledger  # noqa: PLC0415

        path = folder / "ledger.sqlite"
        with Ledger(path) as ledger:
            if stream:
                ledger.append(stream)
        return path
    return write_events(folder, stream, source)


def _union(periods: list[Period]) -> list[Period]:
    merged: list[Period] = []
    for period in sorted(periods, key=lambda p: (micros(p.start), micros(p.end))):
        if merged and micros(period.start) <= micros(merged[-1].end):
            last = merged[-1]
            end = period.end if micros(period.end) > micros(last.end) else last.end
            merged[-1] = Period(last.start, end)
        else:
            merged.append(period)
    return merged


# Each example writes a file and runs DuckDB several times: few examples.
@settings(max_examples=examples(40), deadline=None)
@given(
    stream=streams(),
    source=st.sampled_from(SOURCES),
    zones=st.lists(st.sampled_from(ZONES), min_size=len(CUSTOMERS), max_size=len(CUSTOMERS)),
)
def test_one_statement_bills_and_reports_as_the_separate_paths(
    stream: list[dict[str, Any]], source: str, zones: list[str]
) -> None:
    contracts = [_contract(c, z) for c, z in zip(CUSTOMERS, zones, strict=True)]
    billed = [(c, c.period(i)) for c in contracts for i in (0, 1, 2)]
    spans = list({(micros(p.start), micros(p.end)): p for _, p in billed}.values())
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), stream, source)
        result = invoices_from_source(path, contracts, [0, 1, 2], meters=METERS)
        expected_report = scan_source(path, METERS, _union(spans)).report
        cells: dict[UsageKey, Decimal] = {}
        for span in spans:
            cells.update(usage_from_source(path, METERS, [span]))
    assert result.report == expected_report
    if source != "ledger":  # the ledger keeps one row per id
        assert result.report.received == len(stream)
    usage = TableUsage(cells)
    assert list(result.invoices) == [invoice(c, usage, p) for c, p in billed]


def test_a_first_copy_without_a_property_keeps_it_missing(tmp_path: Path) -> None:
    """NULL in the first copy stays NULL (``arg_min`` alone would take the later copy's value)."""
    first = {
        "id": "e1",
        "customer": "cus_a",
        "type": "storage.delta",
        "time": "2024-01-10T00:00:00+00:00",
        "properties": {"qty": "2"},
    }
    later = {**first, "type": "api.call", "properties": {"qty": "2", "region": "eu"}}
    other = {**first, "id": "e2", "time": "2024-01-11T00:00:00+00:00"}
    path = _typed_parquet(tmp_path, [first, later, other])
    contract = _contract("cus_a", "UTC")
    result = invoices_from_source(path, [contract], [0], meters=METERS)
    [conflict] = result.report.conflicts
    assert "region" not in conflict.first.properties
    assert conflict.second.properties["region"] == "eu"
    assert (
        result.report.conflicts == scan_source(path, METERS, [contract.period(0)]).report.conflicts
    )
    [bill] = result.invoices
    calls = [line for line in bill.lines if line.charge == "calls"]
    assert all(line.quantity == 0 for line in calls)  # the api.call copy never counted
