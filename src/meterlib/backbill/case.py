"""A back-billing case file (TOML): terms, what was billed, usage scenarios, interest, lookback.

The file format, field by field (``examples/partner_overuse/case.toml`` is a full example)::

    title = "Back-billing statement"      # optional
    customer = "Acme Analytics"           # optional
    currency = "USD"                      # prices without a currency take this one
    as_of = 2024-12-31                    # valuation date (TOML date)
    due_days = 30                         # payment terms: due = period end + due_days
    lookback_years = 6                    # optional: no lookback when absent
    unit = "reads"                        # optional: what usage counts
    basis = "published"                   # which of [bases.*] re-bills (the user's choice)
    allowance = "10000"                   # optional: the contractual allowance per period
    default_scenario = "base"             # optional: else the first scenario
    rates = ["0.05", "0.09"]              # optional: interest rates to compare

    [interest]                            # optional: no interest when absent
    method = "simple"                     # none | simple | compound
    annual_rate = "0.09"                  # a fixed rate, or:
    # rates = [{ from = 2023-01-01, rate = "0.0525" }, ...] and margin = "0.02"
    day_count = "actual/365"              # actual/365 | actual/360 | 30/360
    # compounding = "monthly"             # compound only: monthly | annual

    [[bases.published.versions]]          # a dated schedule per basis
    from = 2023-02-01
    label = "Published list 2023-02"
    price = { model = "graduated", tiers = [...] }   # or price_file = "price.json"
    # allowance = "10000"                 # optional, per version

    [[billed]]                            # one per past period
    start = 2023-02-01
    end = 2023-03-01
    amount = "100.00"
    invoice = "INV-2023-02"               # optional
    # due = 2023-03-31                    # optional: else end + due_days
    # payments = [{ date = 2023-03-20, amount = "100.00" }]

    [scenarios.base]                      # one per usage estimate
    description = "Measured by the gateway"
    usage_file = "usage.csv"              # CSV: period_start, then one column per scenario
    column = "base"                       # optional: defaults to the scenario's name
    # or usage = { "2023-02-01" = "8000", ... }  (per-period totals keyed by period start)
    # or usage_table = "usage.json", customer = "acme", meter = "api_reads"
    #    (a UsageTable written by the accumulator, ledger or SQL engine, as JSON or CSV records)

Numbers may be TOML numbers (read as ``Decimal``, never float) or decimal strings. A key the
loader does not know is an error naming where it is, so a typo never goes unnoticed; relative
file names are read from the case file's folder.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from meterlib._numbers import to_decimal
from meterlib.backbill.engine import BilledPeriod, Payment, rebill
from meterlib.backbill.interest import (
    Compounding,
    DayCount,
    InterestMethod,
    InterestPolicy,
    RateSchedule,
    RateVersion,
)
from meterlib.backbill.scenarios import compare
from meterlib.backbill.statement import ScenarioComparison, Statement
from meterlib.backbill.terms import PriceSchedule, PriceVersion
from meterlib.backbill.usage import UsageRecord, usage_by_start, usage_from_table
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.pricing import load_price, parse_price

__all__ = ["BackbillCase", "Scenario", "load_case", "parse_case"]

_WHAT = "back-billing case"
_TOP = {
    "title", "customer", "currency", "as_of", "due_days", "lookback_years", "unit", "basis",
    "allowance", "default_scenario", "rates", "interest", "bases", "billed", "scenarios",
}
_INTEREST = {"method", "annual_rate", "rates", "margin", "day_count", "compounding"}
_BASIS = {"description", "versions"}
_VERSION = {"from", "label", "price", "price_file", "allowance"}
_BILLED = {"start", "end", "amount", "invoice", "due", "payments"}
_PAYMENT = {"date", "amount"}
_SCENARIO = {"description", "usage", "usage_file", "column", "usage_table", "customer", "meter"}


@dataclass(frozen=True, slots=True)
class Scenario:
    """One usage estimate: a name, what it assumes, and its usage records."""

    name: str
    description: str
    usage: tuple[UsageRecord, ...]


@dataclass(frozen=True, slots=True)
class BackbillCase:
    """A loaded case: everything :func:`~meterlib.backbill.engine.rebill` needs, per scenario."""

    title: str
    customer: str | None
    currency: str
    as_of: date
    due_days: int
    lookback_years: int | None
    unit: str
    bases: Mapping[str, PriceSchedule]
    basis: str
    allowance: Decimal | None
    interest: InterestPolicy
    billed: tuple[BilledPeriod, ...]
    scenarios: tuple[Scenario, ...]
    default_scenario: str
    rates: tuple[Decimal, ...]
    """Interest rates to compare (empty: only the case's own policy)."""

    def scenario(self, name: str | None = None) -> Scenario:
        """The scenario called ``name`` (the default one when ``None``)."""
        wanted = self.default_scenario if name is None else name
        for scenario in self.scenarios:
            if scenario.name == wanted:
                return scenario
        names = ", ".join(s.name for s in self.scenarios)
        raise InvalidValueError("scenario", wanted, f"one of the case's scenarios: {names}")

    def _options(self, basis: str | None) -> tuple[PriceSchedule, dict[str, Any]]:
        name = self.basis if basis is None else basis
        if name not in self.bases:
            raise InvalidValueError("basis", name, f"one of {', '.join(self.bases)}")
        return self.bases[name], {
            "lookback_years": self.lookback_years,
            "allowance": self.allowance,
            "basis_name": name,
            "title": self.title,
            "customer": self.customer,
            "unit": self.unit,
        }

    def statement(
        self,
        scenario: str | None = None,
        *,
        as_of: date | None = None,
        basis: str | None = None,
        interest: InterestPolicy | None = None,
    ) -> Statement:
        """The statement of one scenario, optionally on another date, basis or interest."""
        chosen = self.scenario(scenario)
        schedule, options = self._options(basis)
        return rebill(
            schedule,
            self.billed,
            chosen.usage,
            as_of=self.as_of if as_of is None else as_of,
            due_days=self.due_days,
            interest=self.interest if interest is None else interest,
            scenario=chosen.name,
            description=chosen.description,
            **options,
        )

    def compare(
        self,
        *,
        as_of: date | None = None,
        basis: str | None = None,
        rates: tuple[Decimal | int | str, ...] | None = None,
    ) -> ScenarioComparison:
        """Every scenario side by side (and, with ``rates`` or the case's rates, every rate)."""
        schedule, options = self._options(basis)
        chosen = rates if rates is not None else (self.rates or None)
        return compare(
            schedule,
            self.billed,
            {s.name: s.usage for s in self.scenarios},
            as_of=self.as_of if as_of is None else as_of,
            due_days=self.due_days,
            interest=self.interest,
            rates=chosen,
            descriptions={s.name: s.description for s in self.scenarios},
            **options,
        )


# --- parsing -----------------------------------------------------------------------------


def _fail(where: str, message: str) -> DocumentError:
    return DocumentError(_WHAT, [(where, message)])


def _keys(table: Any, allowed: set[str], where: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _fail(where, f"must be a table (got {type(table).__name__})")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise _fail(where, f"unknown keys {unknown}; expected some of {sorted(allowed)}")
    return table


def _need(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise _fail(f"{where}.{key}" if where else key, "is required")
    return table[key]


def _date(value: Any, where: str) -> date:
    if type(value) is date:
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise _fail(where, f"must be a date such as 2024-12-31 (got {value!r})")


def _number(value: Any, where: str) -> Decimal:
    try:
        return to_decimal(value, where)
    except InvalidValueError as error:
        raise _fail(where, f"must be {error.expected} (got {value!r})") from None


def _whole(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise _fail(where, f"must be a whole number >= 0 (got {value!r})")
    return value


def _choice(value: Any, allowed: type[StrEnum], where: str) -> Any:
    try:
        return allowed(value)
    except ValueError:
        names = ", ".join(repr(str(member)) for member in allowed)
        raise _fail(where, f"must be one of {names} (got {value!r})") from None


def _interest(data: Any) -> InterestPolicy:
    table = _keys(data, _INTEREST, "interest")
    method = _choice(table.get("method", "simple"), InterestMethod, "interest.method")
    if method is InterestMethod.NONE:
        return InterestPolicy()
    if "rates" in table:
        versions = [
            RateVersion(
                _date(_need(_keys(item, {"from", "rate"}, f"interest.rates.{i}"), "from", ""),
                      f"interest.rates.{i}.from"),
                _number(_need(item, "rate", f"interest.rates.{i}"), f"interest.rates.{i}.rate"),
            )
            for i, item in enumerate(table["rates"])
        ]
        rates = RateSchedule(versions, _number(table.get("margin", "0"), "interest.margin"))
    else:
        rates = RateSchedule.fixed(
            _number(_need(table, "annual_rate", "interest"), "interest.annual_rate")
        )
    compounding = table.get("compounding")
    return InterestPolicy(
        method,
        rates,
        _choice(table.get("day_count", "actual/365"), DayCount, "interest.day_count"),
        None if compounding is None else _choice(compounding, Compounding, "interest.compounding"),
    )


def _price(item: dict[str, Any], where: str, currency: str, folder: Path) -> Any:
    if ("price" in item) == ("price_file" in item):
        raise _fail(where, "needs exactly one of 'price' and 'price_file'")
    if "price_file" in item:
        return load_price(folder / str(item["price_file"]))
    data = dict(_keys(item["price"], set(item["price"]), f"{where}.price"))
    data.setdefault("currency", currency)
    return parse_price(data)


def _bases(data: Any, currency: str, folder: Path) -> dict[str, PriceSchedule]:
    if not isinstance(data, dict) or not data:
        raise _fail("bases", "must name at least one basis, such as [[bases.published.versions]]")
    bases = {}
    for name, body in data.items():
        table = _keys(body, _BASIS, f"bases.{name}")
        versions = []
        for i, item in enumerate(_need(table, "versions", f"bases.{name}")):
            where = f"bases.{name}.versions.{i}"
            version = _keys(item, _VERSION, where)
            allowance = version.get("allowance")
            versions.append(
                PriceVersion(
                    _date(_need(version, "from", where), f"{where}.from"),
                    _price(version, where, currency, folder),
                    str(version.get("label", "")),
                    None if allowance is None else _number(allowance, f"{where}.allowance"),
                ),
            )
        bases[name] = PriceSchedule(versions)
    return bases


def _billed(data: Any) -> tuple[BilledPeriod, ...]:
    if not isinstance(data, list) or not data:
        raise _fail("billed", "must list at least one billed period ([[billed]])")
    periods = []
    for i, item in enumerate(data):
        where = f"billed.{i}"
        table = _keys(item, _BILLED, where)
        payments = None
        if "payments" in table:
            payments = tuple(
                Payment(
                    _date(_need(_keys(p, _PAYMENT, f"{where}.payments.{j}"), "date", ""),
                          f"{where}.payments.{j}.date"),
                    _number(_need(p, "amount", f"{where}.payments.{j}"),
                            f"{where}.payments.{j}.amount"),
                )
                for j, p in enumerate(table["payments"])
            )
        due = table.get("due")
        periods.append(
            BilledPeriod(
                _date(_need(table, "start", where), f"{where}.start"),
                _date(_need(table, "end", where), f"{where}.end"),
                _number(_need(table, "amount", where), f"{where}.amount"),
                None if table.get("invoice") is None else str(table["invoice"]),
                None if due is None else _date(due, f"{where}.due"),
                payments,
            ),
        )
    return tuple(periods)


def _csv_columns(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _estimates(path: Path, column: str, where: str) -> dict[date, Decimal]:
    rows = _csv_columns(path)
    if not rows or "period_start" not in rows[0] or column not in rows[0]:
        raise _fail(where, f"{path.name} needs the columns period_start and {column!r}")
    return {
        _date(row["period_start"], f"{path.name} row {i + 2}"): _number(
            row[column], f"{path.name} row {i + 2} {column}"
        )
        for i, row in enumerate(rows)
    }


def _group(text: str) -> tuple[tuple[str, str], ...]:
    if not text:
        return ()
    return tuple(sorted(tuple(part.split("=", 1)) for part in text.split(";")))  # type: ignore[misc]


def read_usage_table(path: Path) -> UsageTable:
    """A :class:`UsageTable` from its JSON or CSV records (``UsageTable.render`` output)."""
    if path.suffix == ".json":
        records = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
    else:
        records = _csv_columns(path)
    cells: dict[UsageKey, Decimal] = {}
    needed = ("customer", "meter", "period_start", "period_end", "value")
    for i, record in enumerate(records):
        missing = [name for name in needed if name not in record]
        if missing:
            raise _fail(f"{path.name} record {i}", f"lacks the fields {missing}")
        key = UsageKey(
            str(record["customer"]),
            str(record["meter"]),
            Period(
                datetime.fromisoformat(record["period_start"]),
                datetime.fromisoformat(record["period_end"]),
            ),
            _group(str(record.get("group", ""))),
        )
        cells[key] = _number(record["value"], f"{path.name} record {i}")
    return UsageTable(cells)


def _scenarios(data: Any, billed: tuple[BilledPeriod, ...], folder: Path) -> tuple[Scenario, ...]:
    if not isinstance(data, dict) or not data:
        raise _fail("scenarios", "must name at least one usage scenario ([scenarios.base])")
    scenarios = []
    for name, body in data.items():
        where = f"scenarios.{name}"
        table = _keys(body, _SCENARIO, where)
        sources = [k for k in ("usage", "usage_file", "usage_table") if k in table]
        if len(sources) != 1:
            raise _fail(where, "needs exactly one of 'usage', 'usage_file' and 'usage_table'")
        if "usage" in table:
            inline = _keys(table["usage"], set(table["usage"]), f"{where}.usage")
            totals = {_date(k, f"{where}.usage"): _number(v, f"{where}.usage.{k}")
                      for k, v in inline.items()}
            records = usage_by_start(totals, billed)
        elif "usage_file" in table:
            path = folder / str(table["usage_file"])
            records = usage_by_start(
                _estimates(path, str(table.get("column", name)), where), billed
            )
        else:
            usage = read_usage_table(folder / str(table["usage_table"]))
            customer = str(_need(table, "customer", where))
            meter = table.get("meter")
            records = usage_from_table(
                usage, customer=customer, meter=None if meter is None else str(meter)
            )
        scenarios.append(Scenario(str(name), str(table.get("description", "")), tuple(records)))
    return tuple(scenarios)


def parse_case(data: Mapping[str, Any], folder: Path | None = None) -> BackbillCase:
    """Build a case from parsed TOML; relative file names are read from ``folder``."""
    base = Path() if folder is None else folder
    table = _keys(dict(data), _TOP, "case")
    currency = str(table.get("currency", "USD"))
    bases = _bases(_need(table, "bases", ""), currency, base)
    basis = str(table.get("basis", next(iter(bases))))
    if basis not in bases:
        raise _fail("basis", f"must name one of the bases {sorted(bases)} (got {basis!r})")
    if bases[basis].currency != currency:
        raise _fail("currency", f"the basis prices in {bases[basis].currency}, not {currency}")
    billed = _billed(_need(table, "billed", ""))
    scenarios = _scenarios(_need(table, "scenarios", ""), billed, base)
    default = str(table.get("default_scenario", scenarios[0].name))
    if default not in {s.name for s in scenarios}:
        raise _fail("default_scenario", f"must name a scenario (got {default!r})")
    lookback = table.get("lookback_years")
    allowance = table.get("allowance")
    return BackbillCase(
        title=str(table.get("title", "Back-billing statement")),
        customer=None if table.get("customer") is None else str(table["customer"]),
        currency=currency,
        as_of=_date(_need(table, "as_of", ""), "as_of"),
        due_days=_whole(_need(table, "due_days", ""), "due_days"),
        lookback_years=None if lookback is None else _whole(lookback, "lookback_years"),
        unit=str(table.get("unit", "units")),
        bases=bases,
        basis=basis,
        allowance=None if allowance is None else _number(allowance, "allowance"),
        interest=_interest(table["interest"]) if "interest" in table else InterestPolicy(),
        billed=billed,
        scenarios=scenarios,
        default_scenario=default,
        rates=tuple(_number(r, "rates") for r in table.get("rates", ())),
    )


def load_case(path: str | Path) -> BackbillCase:
    """Read a case file; errors name the file and the offending key."""
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise DocumentError(_WHAT, [("", f"not valid TOML: {error}")]) from error
    try:
        return parse_case(data, file.parent)
    except MeterlibError as error:
        error.add_note(f"while reading the back-billing case {file}")
        raise
