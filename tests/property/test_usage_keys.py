"""The fast builders of the usage table equal the slow, public ones.

:func:`~meterlib.metering.table.usage_keys` builds keys without calling ``UsageKey.__init__``;
:meth:`~meterlib.sql.compile.UsageQuery.table_of_arrow` reads a result in columns. Each is held
here to what the constructor and :meth:`~meterlib.sql.compile.UsageQuery.table` give.
"""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from meterlib.metering.table import GroupKey, UsageKey, UsageTable, usage_keys
from meterlib.periods import Period
from tests.budget import examples

_BASE = datetime(2024, 1, 1, tzinfo=UTC)


@st.composite
def periods(draw: st.DrawFn) -> Period:
    """A period whose bounds may carry any offset (equal instants, other offsets)."""
    start = draw(st.integers(0, 400))
    length = draw(st.integers(1, 40))
    offsets = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
    return Period(
        (_BASE + timedelta(days=start)).astimezone(draw(offsets)),
        (_BASE + timedelta(days=start + length)).astimezone(draw(offsets)),
    )


texts = st.text(min_size=0, max_size=6)
groups: st.SearchStrategy[GroupKey] = st.lists(
    st.tuples(st.sampled_from(["region", "tier"]), texts), max_size=2, unique_by=lambda p: p[0]
).map(lambda pairs: tuple(sorted(pairs)))
cells = st.lists(st.tuples(texts, texts, periods(), groups), max_size=30)


def test_the_key_has_no_init_logic_the_fast_builder_would_skip() -> None:
    """usage_keys stores the fields as given: valid while UsageKey only stores them too."""
    assert not hasattr(UsageKey, "__post_init__")
    assert UsageKey.__slots__ == ("customer", "meter", "period", "group")


@settings(max_examples=examples(200))
@given(rows=cells, grouped=st.booleans())
def test_fast_keys_equal_hash_order_and_pickle_as_constructed_keys(
    rows: list[tuple[str, str, Period, GroupKey]], grouped: bool
) -> None:
    customers = [r[0] for r in rows]
    meters = [r[1] for r in rows]
    spans = [r[2] for r in rows]
    given_groups = [r[3] for r in rows] if grouped else None
    fast = usage_keys(customers, meters, spans, given_groups)
    slow = [
        UsageKey(c, m, p, g)
        for c, m, p, g in zip(
            customers, meters, spans, given_groups or [()] * len(rows), strict=True
        )
    ]
    assert len(fast) == len(slow)
    for built, made in zip(fast, slow, strict=True):
        assert type(built) is UsageKey
        assert built == made
        assert hash(built) == hash(made)
        assert repr(built) == repr(made)
        assert built.sort_key() == made.sort_key()
        assert pickle.loads(pickle.dumps(built)) == made  # noqa: S301  (our own bytes)
        # equal instants in other offsets are the same key, built either way
        moved = Period(
            made.period.start.astimezone(timezone(timedelta(hours=9))),
            made.period.end.astimezone(UTC),
        )
        other = usage_keys([built.customer], [built.meter], [moved], [built.group])[0]
        assert other == made
        assert hash(other) == hash(made)


@settings(max_examples=examples(100))
@given(rows=cells, grouped=st.booleans())
def test_from_columns_equals_the_constructor_on_random_cells(
    rows: list[tuple[str, str, Period, GroupKey]], grouped: bool
) -> None:
    unique: dict[UsageKey, Decimal] = {}
    for number, (c, m, p, g) in enumerate(rows):
        unique.setdefault(UsageKey(c, m, p, g if grouped else ()), Decimal(number) / 4)
    keys = list(unique)
    columns: list[Any] = [
        [k.customer for k in keys],
        [k.meter for k in keys],
        [k.period for k in keys],
        [k.group for k in keys] if grouped else None,
        list(unique.values()),
    ]
    built = UsageTable.from_columns(*columns)
    assert built == UsageTable(unique)
    assert built.rows() == UsageTable(unique).rows()
