"""The int64 sums take exactly the plain whole-number texts below 10**9 in size, read exactly."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("pyarrow")
pytest.importorskip("polars")

import pyarrow as pa

from meterlib.metering.columnar_rules import whole_numbers

_PLAIN = re.compile(r"-?[1-9][0-9]{0,8}|0")

texts = st.one_of(
    st.none(),
    st.integers(-(10**10), 10**10).map(str),
    st.text(alphabet="0123456789-+xX._eE ١\x00", max_size=12),
    st.sampled_from(["0x1F", "-0x1F", "-0", "00", "+5", "", "-", "999999999", "-999999999"]),
)


@settings(deadline=None, max_examples=300)
@given(values=st.lists(texts, max_size=40), cut=st.integers(0, 5), wide=st.booleans())
def test_whole_numbers_are_the_plain_texts(values, cut, wide):
    column = pa.array(values, pa.large_string() if wide else pa.string()).slice(cut)
    given_texts = values[cut:]
    numbers, good = whole_numbers(column)
    for text, number, plain in zip(given_texts, numbers.tolist(), good.tolist(), strict=True):
        expected = text is not None and _PLAIN.fullmatch(text) is not None
        assert plain == expected, text
        if plain:
            assert number == int(text)
