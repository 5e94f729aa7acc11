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
file names are read from the case file's folder, and only from it unless the caller allows
other folders (``allow_outside=True``, ``--allow-outside-files``); an error in a named file
names the place in it, never its content.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from meterlib._files import referenced_file, without_values
from meterlib._json import JsonError, loads
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
from meterlib.errors import DocumentError, InvalidValueError, MeterlibError, describe
from meterlib.metering.table import UsageKey, UsageTable
from meterlib.periods import Period
from meterlib.pricing import load_price, parse_price

__all__ = ["BackbillCase", "Scenario", "load_case", "parse_case"]

_WHAT = "back-billing case"
_T = TypeVar("_T")
_TOP = {
    "title",
    "customer",
    "currency",
    "as_of",
    "due_days",
    "lookback_years",
    "unit",
    "basis",
    "allowance",
    "default_scenario",
    "rates",
    "interest",
    "bases",
    "billed",
    "scenarios",
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
        raise _fail(where, f"must be a table (got {describe(table)})")
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


def _text(value: Any, where: str) -> str:
    if type(value) is not str:
        raise _fail(where, f"must be text (got {value!r})")
    return value


def _no_nulls(value: Any, where: str) -> None:
    """A case file is TOML, which has no null: a parsed mapping holding one is refused."""
    if value is None:
        raise _fail(where or "case", "must be given a value (a case file has no null)")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_nulls(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_nulls(item, f"{where}.{index}")


def _referenced(read: Callable[[], _T], path: Path, where: str) -> _T:
    """Read a file the case names; its problems are reported by location, not by content."""
    try:
        return read()
    except OSError as error:
        raise _fail(where, f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise _fail(where, f"{path} is not UTF-8 text") from None
    except DocumentError as error:
        raise DocumentError(
            _WHAT,
            [
                (f"{where} ({path}) {loc}".strip(), msg)
                for loc, msg in without_values(error.problems)
            ],
        ) from None
    except InvalidValueError as error:
        raise _fail(f"{where} ({path})", f"{error.field!r} must be {error.expected}") from None


def _number(value: Any, where: str) -> Decimal:
    try:
        return to_decimal(value, where)
    except InvalidValueError as error:
        raise _fail(where, f"must be {error.expected} (got {value!r})") from None


def _amount(value: Any, where: str) -> Decimal:
    number = _number(value, where)
    if number < 0:
        raise _fail(where, f"must be >= 0 (got {value!r})")
    return number


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
                _date(
                    _need(_keys(item, {"from", "rate"}, f"interest.rates.{i}"), "from", ""),
                    f"interest.rates.{i}.from",
                ),
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


def _price(item: dict[str, Any], where: str, currency: str, folder: Path, *, allow: bool) -> Any:
    if ("price" in item) == ("price_file" in item):
        raise _fail(where, "needs exactly one of 'price' and 'price_file'")
    if "price_file" in item:
        field = f"{where}.price_file"
        path = referenced_file(
            folder, item["price_file"], what=_WHAT, field=field, allow_outside=allow
        )
        return _referenced(partial(load_price, path), path, field)
    data = dict(_keys(item["price"], set(item["price"]), f"{where}.price"))
    data.setdefault("currency", currency)
    return parse_price(data)


def _bases(data: Any, currency: str, folder: Path, *, allow: bool) -> dict[str, PriceSchedule]:
    if not isinstance(data, dict) or not data:
        raise _fail("bases", "must name at least one basis, such as [[bases.published.versions]]")
    bases = {}
    for name, body in data.items():
        table = _keys(body, _BASIS, f"bases.{name}")
        _text(table.get("description", ""), f"bases.{name}.description")
        versions = []
        for i, item in enumerate(_need(table, "versions", f"bases.{name}")):
            where = f"bases.{name}.versions.{i}"
            version = _keys(item, _VERSION, where)
            allowance = version.get("allowance")
            versions.append(
                PriceVersion(
                    _date(_need(version, "from", where), f"{where}.from"),
                    _price(version, where, currency, folder, allow=allow),
                    _text(version.get("label", ""), f"{where}.label"),
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
                    _date(
                        _need(_keys(p, _PAYMENT, f"{where}.payments.{j}"), "date", ""),
                        f"{where}.payments.{j}.date",
                    ),
                    _number(
                        _need(p, "amount", f"{where}.payments.{j}"), f"{where}.payments.{j}.amount"
                    ),
                )
                for j, p in enumerate(table["payments"])
            )
        due = table.get("due")
        periods.append(
            BilledPeriod(
                _date(_need(table, "start", where), f"{where}.start"),
                _date(_need(table, "end", where), f"{where}.end"),
                _number(_need(table, "amount", where), f"{where}.amount"),
                None if "invoice" not in table else _text(table["invoice"], f"{where}.invoice"),
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
        try:
            records = loads(path.read_text(encoding="utf-8"))
        except JsonError as error:
            raise _fail(path.name, str(error)) from None
    else:
        records = _csv_columns(path)
    if not isinstance(records, list):
        raise _fail(path.name, "must hold a list of usage records")
    cells: dict[UsageKey, Decimal] = {}
    needed = ("customer", "meter", "period_start", "period_end", "value")
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise _fail(f"{path.name} record {i}", "must be a record (an object)")
        missing = [name for name in needed if name not in record]
        if missing:
            raise _fail(f"{path.name} record {i}", f"lacks the fields {missing}")
        try:
            span = Period(
                datetime.fromisoformat(str(record["period_start"])),
                datetime.fromisoformat(str(record["period_end"])),
            )
        except ValueError:
            raise _fail(
                f"{path.name} record {i}",
                "needs period_start and period_end as ISO 8601 times with an offset",
            ) from None
        key = UsageKey(
            str(record["customer"]),
            str(record["meter"]),
            span,
            _group(str(record.get("group", ""))),
        )
        cells[key] = _number(record["value"], f"{path.name} record {i}")
    return UsageTable(cells)


def _scenarios(
    data: Any, billed: tuple[BilledPeriod, ...], folder: Path, *, allow: bool
) -> tuple[Scenario, ...]:
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
            totals = {
                _date(k, f"{where}.usage"): _number(v, f"{where}.usage.{k}")
                for k, v in inline.items()
            }
            records = usage_by_start(totals, billed)
        elif "usage_file" in table:
            field = f"{where}.usage_file"
            path = referenced_file(
                folder, table["usage_file"], what=_WHAT, field=field, allow_outside=allow
            )
            column = _text(table.get("column", name), f"{where}.column")
            estimates = _referenced(partial(_estimates, path, column, where), path, field)
            records = usage_by_start(estimates, billed)
        else:
            field = f"{where}.usage_table"
            path = referenced_file(
                folder, table["usage_table"], what=_WHAT, field=field, allow_outside=allow
            )
            usage = _referenced(partial(read_usage_table, path), path, field)
            customer = _text(_need(table, "customer", where), f"{where}.customer")
            meter = table.get("meter")
            if meter is not None:
                meter = _text(meter, f"{where}.meter")
            records = usage_from_table(usage, customer=customer, meter=meter)
        description = _text(table.get("description", ""), f"{where}.description")
        scenarios.append(Scenario(str(name), description, tuple(records)))
    return tuple(scenarios)


def parse_case(
    data: str | Mapping[str, Any], folder: Path | None = None, *, allow_outside: bool = False
) -> BackbillCase:
    """Build a case from TOML text or parsed TOML; relative file names are read from ``folder``.

    The files a case names must lie inside ``folder`` (the current folder when ``None``)
    unless ``allow_outside`` is true; errors in them name their locations, not their content.
    """
    base = Path() if folder is None else folder
    if isinstance(data, str):
        try:
            data = tomllib.loads(data, parse_float=Decimal)
        except tomllib.TOMLDecodeError as error:
            raise DocumentError(_WHAT, [("", f"not valid TOML: {error}")]) from error
    if not isinstance(data, Mapping):
        raise _fail("case", f"must be a table (got {data!r})")
    _no_nulls(dict(data), "")
    table = _keys(dict(data), _TOP, "case")
    currency = _text(table.get("currency", "USD"), "currency")
    bases = _bases(_need(table, "bases", ""), currency, base, allow=allow_outside)
    basis = _text(table.get("basis", next(iter(bases))), "basis")
    if basis not in bases:
        raise _fail("basis", f"must name one of the bases {sorted(bases)} (got {basis!r})")
    if bases[basis].currency != currency:
        raise _fail("currency", f"the basis prices in {bases[basis].currency}, not {currency}")
    billed = _billed(_need(table, "billed", ""))
    scenarios = _scenarios(_need(table, "scenarios", ""), billed, base, allow=allow_outside)
    default = _text(table.get("default_scenario", scenarios[0].name), "default_scenario")
    if default not in {s.name for s in scenarios}:
        raise _fail("default_scenario", f"must name a scenario (got {default!r})")
    lookback = table.get("lookback_years")
    allowance = table.get("allowance")
    return BackbillCase(
        title=_text(table.get("title", "Back-billing statement"), "title"),
        customer=None if "customer" not in table else _text(table["customer"], "customer"),
        currency=currency,
        as_of=_date(_need(table, "as_of", ""), "as_of"),
        due_days=_whole(_need(table, "due_days", ""), "due_days"),
        lookback_years=None if lookback is None else _whole(lookback, "lookback_years"),
        unit=_text(table.get("unit", "units"), "unit"),
        bases=bases,
        basis=basis,
        allowance=None if allowance is None else _amount(allowance, "allowance"),
        interest=_interest(table["interest"]) if "interest" in table else InterestPolicy(),
        billed=billed,
        scenarios=scenarios,
        default_scenario=default,
        rates=tuple(_number(r, "rates") for r in table.get("rates", ())),
    )


def load_case(path: str | Path, *, allow_outside: bool = False) -> BackbillCase:
    """Read a case file; errors name the file and the offending key.

    The files the case names are read from its folder only, unless ``allow_outside`` is true.
    """
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    except tomllib.TOMLDecodeError as error:
        raise DocumentError(_WHAT, [("", f"not valid TOML: {error}")]) from error
    try:
        return parse_case(data, file.parent, allow_outside=allow_outside)
    except MeterlibError as error:
        error.add_note(f"while reading the back-billing case {file}")
        raise
