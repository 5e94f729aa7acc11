"""The usage query as a sqlglot tree: dialects, exact number reading, periods, the CLI."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meterlib._numbers import to_decimal
from meterlib.cli import main
from meterlib.errors import InvalidValueError
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period
from meterlib.sql import DIALECTS, build_usage_query, compile_conflicts, compile_usage
from meterlib.sql._values import number_pattern
from meterlib.sql.compile import micros, periods_of_interest
from meterlib.testing.events import CYCLE, METERS, WINDOW

MARCH = Period(datetime(2023, 3, 1, tzinfo=UTC), datetime(2023, 4, 1, tzinfo=UTC))


@pytest.mark.parametrize("dialect", ["duckdb", "spark", "postgres", "clickhouse"])
def test_every_dialect_prints_the_query_without_binary_floats(dialect: str) -> None:
    text = compile_usage(METERS, CYCLE, window=WINDOW, dialect=dialect)
    assert re.search(r"\b(DOUBLE|FLOAT|REAL|Float64)\b", text, re.IGNORECASE) is None
    assert "DECIMAL(38, 12)" in text.replace("Decimal(38, 12)", "DECIMAL(38, 12)")
    for period in periods_of_interest(CYCLE, WINDOW):
        assert str(micros(period.start)) in text
        assert str(micros(period.end)) in text


def test_epoch_microseconds_are_spelt_per_engine() -> None:
    spelt = {d: compile_usage(METERS, CYCLE, window=WINDOW, dialect=d) for d in DIALECTS[:4]}
    assert "EPOCH_US(" in spelt["duckdb"]
    assert "UNIX_MICROS(" in spelt["spark"]
    assert "EXTRACT(EPOCH FROM" in spelt["postgres"]
    assert "toUnixTimestamp64Micro(" in spelt["clickhouse"]


def test_unknown_dialect_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="'dialect' must be a SQL dialect"):
        compile_usage(METERS, CYCLE, window=WINDOW, dialect="cobol")


def test_a_cycle_needs_a_window_to_become_literals() -> None:
    with pytest.raises(InvalidValueError, match="'window' must be a Period"):
        compile_usage(METERS, CYCLE)


def test_overlapping_explicit_periods_are_refused() -> None:
    late = Period(datetime(2023, 3, 31, tzinfo=UTC), datetime(2023, 4, 30, tzinfo=UTC))
    with pytest.raises(InvalidValueError, match="do not overlap"):
        periods_of_interest([MARCH, late])


def test_a_property_named_like_a_core_column_is_refused() -> None:
    meter = Meter.model_validate(
        {"name": "m", "type": "t", "aggregation": "sum", "property": "time"}
    )
    with pytest.raises(InvalidValueError, match="properties named apart"):
        compile_usage([meter], [MARCH])


def test_window_over_a_dst_cycle_gives_the_python_bounds() -> None:
    cycle = BillingCycle(anchor=date(2024, 1, 31), timezone="Europe/Berlin")
    window = Period(cycle.start(1), cycle.start(3))
    query = build_usage_query(METERS, cycle, window=window)
    assert query.periods == (cycle.period(1), cycle.period(2))
    assert query.periods[1].start == datetime(2024, 3, 31, tzinfo=cycle.start(2).tzinfo)


def test_conflicts_query_compares_every_content_column() -> None:
    text = compile_conflicts(["qty", "region"], dialect="spark")
    assert text.count("IS NOT DISTINCT FROM") == 5  # customer, type, time, qty, region


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@st.composite
def _decimals(draw: st.DrawFn) -> Decimal:
    places = draw(st.integers(0, 16))
    return draw(st.decimals(allow_nan=False, allow_infinity=False, places=places))


@given(_decimals(), st.sampled_from(["{:f}", "{:e}", "{:E}", " {:f}", "{}"]))
def test_the_number_pattern_accepts_exactly_decimals_within_the_scale(
    value: Decimal, form: str
) -> None:
    text = form.format(value)
    accepted = re.fullmatch(number_pattern(12), text) is not None
    if accepted:
        assert _places(to_decimal(text)) <= 12
    elif "e" not in text.lower():  # exponent forms may be refused conservatively (documented)
        assert _places(to_decimal(text)) > 12


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("5", True),
        ("-5.25", True),
        ("+.5", True),
        ("1.500000000000000000", True),
        ("0.000000000001", True),
        ("0.0000000000001", False),
        ("1.5E-11", True),
        ("1.5E-12", False),
        ("1E+30", True),
        ("12abc", False),
        ("NaN", False),
        ("", False),
        (".", False),
        ("1e", False),
        (" 7 ", True),
        ("1_000", False),
    ],
)
def test_the_number_pattern_examples(text: str, ok: bool) -> None:
    assert (re.fullmatch(number_pattern(12), text) is not None) is ok


def test_cli_prints_spark_sql(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "sql",
            "--meters",
            "examples/metering/meters.toml",
            "--dialect",
            "spark",
            "--period",
            "2023-03",
            "--timezone",
            "Europe/Berlin",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "UNIX_MICROS(`time`)" in out
    start = datetime(
        2023,
        3,
        1,
        tzinfo=BillingCycle(anchor=date(2023, 3, 1), timezone="Europe/Berlin").start(0).tzinfo,
    )
    assert str(micros(start)) in out


def test_cli_from_to_spans_every_overlapping_period(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "sql",
            "--meters",
            "examples/metering/meters.toml",
            "--dialect",
            "postgres",
            "--from",
            "2023-01-01",
            "--to",
            "2023-04-01",
            "--table",
            "raw.events",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "FROM raw.events" in out
    assert "'2023-03-01T00:00:00+00:00'" in out
    assert "'2023-04-01T00:00:00+00:00'" in out


def test_cli_needs_one_way_of_choosing_periods(capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["sql", "--meters", "examples/metering/meters.toml", "--period", "2023-13"])
    assert status == 2
    assert "'--period' must be a month YYYY-MM" in capsys.readouterr().err
