"""Laws of the matrix's fast path: it rates exactly as the cells' own public ``rate`` does.

The matrix rates a plain graduated cell with ``meterlib.pricing.tiered.exact_context_rater``
(the body of ``rate`` past its checks, in meterlib's own decimal context) and builds its lines
and parts directly. These laws rebuild every charge from the public API (``route``, each cell's
``rate``, the dataclass constructors) and compare representations, so a ``Decimal`` written
differently (``1.0`` for ``1``) fails too.
"""

from __future__ import annotations

from decimal import Decimal, getcontext, localcontext
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from meterlib._numbers import EXACT
from meterlib.errors import RatingError
from meterlib.pricing import Charge, ChargeLine, ChargePart, GraduatedPrice, MatrixPrice
from meterlib.pricing.tiered import exact_context_rater
from meterlib.testing.strategies import (
    decimals,
    graduated_prices,
    in_blocks_of_one,
    package_prices,
    per_unit_prices,
    quantities,
    volume_prices,
)

_ZERO = Decimal(0)


@st.composite
def _graduated(draw: st.DrawFn) -> GraduatedPrice:
    """Graduated prices, plain or not, some sold in blocks, some with overflow."""
    price = draw(
        graduated_prices(with_modifiers=draw(st.booleans()), bounded_last=None),
    )
    update: dict[str, Any] = {"currency": "USD"}
    if draw(st.booleans()):
        update["tiers"] = in_blocks_of_one(price.tiers)
    if draw(st.booleans()):
        update["overflow"] = "last_tier"
    return GraduatedPrice.model_validate({**price.model_dump(), **update})


def _rated(rate: Any, *args: Any, **kwargs: Any) -> Charge | type[RatingError]:
    try:
        charge: Charge = rate(*args, **kwargs)
    except RatingError:
        return RatingError
    return charge


@given(_graduated(), quantities)
def test_the_exact_context_rater_rates_as_rate_for_a_plain_price(price, quantity):
    checked = exact_context_rater(price)
    plain = (
        not price.included
        and price.minimum is None
        and price.maximum is None
        and price.discount is None
    )
    assert (checked is not None) == plain
    if checked is not None:
        with localcontext(EXACT):
            fast = _rated(checked, quantity)
        assert repr(fast) == repr(_rated(price.rate, quantity))


_cell_prices = st.one_of(
    _graduated(),
    _graduated(),
    per_unit_prices().map(lambda price: price.model_copy(update={"currency": "USD"})),
    package_prices().map(lambda price: price.model_copy(update={"currency": "USD"})),
    volume_prices().map(lambda price: price.model_copy(update={"currency": "USD"})),
)


@st.composite
def _matrices(draw: st.DrawFn) -> MatrixPrice:
    """A matrix on ``d``: a cell per value among a to d, maybe a default for the rest."""
    values = draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=4, unique=True))
    cells = [{"match": {"d": [value]}, "price": draw(_cell_prices)} for value in values]
    default = draw(st.one_of(st.none(), _cell_prices))
    return MatrixPrice(dimensions=("d",), cells=cells, default=default)


def _expected(matrix: MatrixPrice, usage: list[tuple[dict[str, str], Decimal]], final: bool):
    """The matrix's charge, rebuilt from the public API."""
    sums: dict[int, Decimal] = {}
    for values, quantity in usage:
        number = matrix.route(values)
        index = len(matrix.cells) if number is None else number - 1
        sums[index] = sums.get(index, _ZERO) + quantity
    lines: list[ChargeLine] = []
    parts: list[ChargePart] = []
    for index in sorted(sums):
        quantity = sums[index]
        if index == len(matrix.cells):
            label, cell, price = "default", None, matrix.default
        else:
            label, cell = matrix.cells[index].label(index + 1), index + 1
            price = matrix.cells[index].price
        assert price is not None
        charge = price.rate(quantity, final=final)
        lines.append(
            ChargeLine(label, None, None, None, quantity, _ZERO, charge.amount, charge.amount),
        )
        parts.append(ChargePart(label, cell, (), charge))
    total = sum((sums[index] for index in sorted(sums)), _ZERO)
    subtotal = sum((line.amount for line in lines), _ZERO)
    return Charge(
        "USD", "matrix", total, _ZERO, total, tuple(lines), subtotal, _ZERO, None, subtotal,
        tuple(parts),
    )  # fmt: skip


@given(
    _matrices(),
    st.lists(st.tuples(st.sampled_from("abcde"), decimals(0, 2_000_000, places=3)), max_size=8),
    st.booleans(),
)
def test_the_matrix_charge_is_its_cells_charges_rebuilt_from_the_public_api(matrix, entries, final):
    usage = [({"d": value}, quantity) for value, quantity in entries]
    try:
        with localcontext(EXACT):  # the reference's own sums, whatever the caller's context
            expected: Any = _expected(matrix, usage, final)
    except RatingError:
        expected = RatingError
    assert repr(_rated(matrix.rate_usage, usage, final=final)) == repr(expected)
    if isinstance(expected, Charge):  # the text explanation too
        charge = matrix.rate_usage(usage, final=final)
        assert charge.explain() == expected.explain()


@given(_matrices(), st.lists(st.tuples(st.sampled_from("abcd"), quantities), max_size=6))
def test_the_callers_decimal_context_neither_changes_the_charge_nor_is_changed(matrix, entries):
    usage = [({"d": value}, quantity) for value, quantity in entries]
    expected = repr(_rated(matrix.rate_usage, usage))
    with localcontext() as context:
        context.prec = 3  # a context that would round every sum
        assert repr(_rated(matrix.rate_usage, usage)) == expected
        assert getcontext() is context
