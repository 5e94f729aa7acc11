from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from meterlib._numbers import ROUNDED
from meterlib.errors import InvalidValueError
from meterlib.metering.table import UsageKey, UsageTable, group_label, group_text
from meterlib.periods import Period

JAN = Period(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC))
FEB = Period(datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC))


def table() -> UsageTable:
    return UsageTable(
        {
            UsageKey("b", "calls", JAN): Decimal(3),
            UsageKey("a", "calls", FEB, (("region", "us"),)): Decimal("2.50"),
            UsageKey("a", "calls", FEB, (("region", "eu"),)): Decimal("1E+2"),
            UsageKey("a", "calls", JAN, (("region", "eu"),)): Decimal("0.1"),
        }
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [("eu", "eu"), (Decimal(5), "5"), (Decimal("1E+2"), "100"), (Decimal("5.0"), "5.0")],
)
def test_group_text(value, text):
    assert group_text(value) == text


def test_rows_are_sorted_by_customer_meter_period_and_group():
    keys = [key for key, _ in table().rows()]
    assert [(k.customer, k.period.start.month, k.group) for k in keys] == [
        ("a", 1, (("region", "eu"),)),
        ("a", 2, (("region", "eu"),)),
        ("a", 2, (("region", "us"),)),
        ("b", 1, ()),
    ]


def test_quantity_sums_the_groups_of_exactly_that_period():
    usage = table()
    assert usage.quantity("a", "calls", FEB.start, FEB.end) == Decimal("102.50")
    assert usage.quantity("a", "calls", JAN.start, FEB.end) == 0
    assert usage.quantity("z", "calls", JAN.start, JAN.end) == 0


def test_records_and_renderings():
    usage = table()
    first = usage.to_text_records()[1]
    assert first == {
        "customer": "a",
        "meter": "calls",
        "period_start": "2024-02-01T00:00:00+00:00",
        "period_end": "2024-03-01T00:00:00+00:00",
        "period": "2024-02",
        "group": "region=eu",
        "value": "100",
    }
    assert usage.to_records()[1] == {
        **first,
        "period_start": FEB.start,
        "period_end": FEB.end,
        "value": Decimal(100),
    }
    assert type(usage.to_records()[1]["value"]) is Decimal
    assert json.loads(usage.render("json")) == usage.to_text_records()
    assert list(csv.DictReader(io.StringIO(usage.render("csv")))) == usage.to_text_records()
    text = usage.render("text").splitlines()
    assert text[0].split() == ["customer", "meter", "period", "group", "value"]
    assert text[-1].split() == ["b", "calls", "2024-01", "3"]
    assert UsageTable({}).render("text") == "(no usage)\n"
    assert group_label((("a", "1"), ("b", "x"))) == "a=1;b=x"


def test_text_rendering_cuts_long_fractions_but_records_keep_every_digit():
    long = ROUNDED.divide(Decimal(1), Decimal(3))
    usage = UsageTable({UsageKey("a", "avg", JAN): long})
    assert usage.render("text").splitlines()[1].endswith("0.333333333333…")
    assert usage.to_text_records()[0]["value"] == f"{long:f}"
    assert usage.to_records()[0]["value"] == long


def test_tables_are_immutable_mappings_equal_by_content():
    usage = table()
    assert usage == UsageTable(dict(usage))
    assert len(usage) == 4
    with pytest.raises(TypeError):
        usage[UsageKey("a", "calls", JAN)] = Decimal(1)  # type: ignore[index]


@pytest.mark.parametrize(
    "values",
    [{UsageKey("a", "m", JAN): 1.5}, {UsageKey("a", "m", JAN): Decimal("NaN")}, {"k": Decimal(1)}],
)
def test_invalid_cells_are_refused(values):
    with pytest.raises(InvalidValueError):
        UsageTable(values)


def test_unknown_format_is_refused():
    with pytest.raises(InvalidValueError, match="'fmt'"):
        table().render("xml")  # type: ignore[arg-type]


def test_from_columns_equals_the_constructor():
    given = table()
    rows = list(given.items())
    built = UsageTable.from_columns(
        [k.customer for k, _ in rows],
        [k.meter for k, _ in rows],
        [k.period for k, _ in rows],
        [k.group for k, _ in rows],
        [v for _, v in rows],
    )
    assert built == given
    assert built.rows() == given.rows()
    plain = UsageTable.from_columns(["c"], ["m"], [rows[0][0].period], None, [Decimal("1.50")])
    assert plain == UsageTable({UsageKey("c", "m", rows[0][0].period): Decimal("1.5")})


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ([Decimal(1), 1], "finite Decimal"),
        ([Decimal(1), Decimal("NaN")], "finite Decimal"),
        ([Decimal(1)], "one length"),
    ],
)
def test_from_columns_refuses_what_the_constructor_refuses(values, problem):
    period = JAN
    with pytest.raises(InvalidValueError, match=problem):
        UsageTable.from_columns(["a", "b"], ["m", "m"], [period, period], None, values)


def test_from_columns_refuses_a_cell_given_twice():
    period = JAN
    with pytest.raises(InvalidValueError, match="given twice"):
        UsageTable.from_columns(["a", "a"], ["m", "m"], [period, period], None, [Decimal(1)] * 2)


def test_keys_hash_by_their_parts_and_equal_keys_hash_alike():
    key = next(iter(table()))
    same = UsageKey(key.customer, key.meter, Period(key.period.start, key.period.end), key.group)
    assert same == key
    assert hash(same) == hash(key)
    assert {same: 1}[key] == 1
