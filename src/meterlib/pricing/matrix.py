"""The ``matrix`` price: usage priced by dimension (model x region, ...), cell by cell.

- ``dimensions`` names what usage is priced by. A usage entry maps some of them to a text value
  (a dimension left out: the usage had no such property) and gives a quantity; entries with the
  same values are added.
- A cell's ``match`` maps one or more dimensions to a non-empty list of values; an entry matches
  a cell when, for every dimension the cell names, the entry has a value in the cell's list.
- An entry that matches several cells goes to the one that outranks all the others: cell A
  outranks cell B when A names every dimension B names and either names more, or names the same
  ones with each of its lists contained in B's and one strictly. When none outranks all the
  others the entry cannot be rated. An entry that matches no cell goes to ``default``, and
  without a default cannot be rated.
- ``group="cell"`` (the default) adds up the quantities that go to each cell (or the default) and
  rates each sum once with that cell's price; ``group="values"`` rates each distinct combination
  of values on its own, with its cell's whole price. A cell no entry goes to is not rated.
- The charge is the sum over the parts; the matrix's own ``discount``, ``minimum`` and ``maximum``
  apply to that sum, a cell's own to the cell.

Orb's matrix prices are cells naming every dimension with one value each, plus a default; Lago's
charge filters are cells, the charge's own price the default, and ``pricing_group_keys`` is
``group="values"``; OpenMeter prices per exact group-by combination.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, getcontext, setcontext
from functools import cached_property
from operator import itemgetter
from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from meterlib._model import MeterlibModel
from meterlib._numbers import EXACT
from meterlib.errors import InvalidValueError, RatingError
from meterlib.pricing._base import PriceBase, QuantityLike, quantity_of
from meterlib.pricing.charge import (
    LINE_CLASS,
    Charge,
    ChargeLine,
    ChargePart,
    LineSlots,
    new_charge,
    new_line,
    new_part,
)
from meterlib.pricing.simple import FlatPrice, PackagePrice, PerUnitPrice
from meterlib.pricing.tiered import GraduatedPrice, VolumePrice, exact_context_rater

__all__ = ["CellPrice", "MatrixCell", "MatrixPrice", "UsageEntry"]

_ZERO = Decimal(0)
_add = EXACT.add
_ROUTES_KEPT = 4096  # distinct value combinations remembered per price
_new_tuple = tuple.__new__  # builds a ChargePart in one call (the hot path)
_new = object.__new__

#: A price a matrix cell (or its default) may use: any quantity price that is not prorated.
CellPrice = Annotated[
    FlatPrice | PerUnitPrice | PackagePrice | GraduatedPrice | VolumePrice,
    Field(discriminator="model"),
]

#: One usage entry: ``(values, quantity)``, or a mapping ``{"values": ..., "quantity": ...}``.
UsageEntry = tuple[Mapping[str, str], QuantityLike] | Mapping[str, Any]


class MatrixCell(MeterlibModel):
    """One cell: which usage it takes (``match``) and the price it rates it with."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: dict[str, tuple[str, ...]]
    """Dimension -> the values the cell takes; usage matches when every named one is listed."""
    price: CellPrice
    """The cell's price."""

    @field_validator("match")
    @classmethod
    def _named_and_listed(cls, match: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        if not match:
            raise PydanticCustomError("match_empty", "must name at least one dimension (got {})")
        for name, values in match.items():
            if not values:
                raise PydanticCustomError(
                    "match_list_empty",
                    "dimension {name} must list at least one value (got [])",
                    {"name": name},
                )
        return match

    @field_validator("price")
    @classmethod
    def _not_prorated(cls, price: Any) -> Any:
        return _quantity_price(price)

    def key(self) -> tuple[tuple[str, frozenset[str]], ...]:
        """The cell's match as sets: two cells with equal keys take the same usage."""
        return tuple(sorted((name, frozenset(values)) for name, values in self.match.items()))

    def takes(self, values: Mapping[str, str | None]) -> bool:
        """Tell whether usage with ``values`` matches the cell."""
        return all(values.get(name) in listed for name, listed in self.match.items())

    def outranks(self, other: MatrixCell) -> bool:
        """Tell whether this cell is more specific than ``other`` (see the module docstring)."""
        mine, theirs = self.match, other.match
        if not set(theirs) <= set(mine):
            return False
        if len(mine) > len(theirs):
            return True
        inside = [set(mine[name]) <= set(theirs[name]) for name in mine]
        strict = [set(mine[name]) < set(theirs[name]) for name in mine]
        return all(inside) and any(strict)

    def label(self, number: int) -> str:
        """Describe the cell, such as ``"cell 2 (region: eu, us; model: small)"``."""
        shown = "; ".join(f"{name}: {', '.join(values)}" for name, values in self.match.items())
        return f"cell {number} ({shown})"


def _quantity_price(price: Any) -> Any:
    if getattr(price, "prorated", False):
        raise PydanticCustomError(
            "cell_price_prorated",
            "a matrix cell or default price may not be prorated (got a prorated {model} price)",
            {"model": price.model},
        )
    return price


def _with_currency(price: Any, currency: Any) -> Any:
    if isinstance(price, Mapping) and "currency" not in price:
        return {**price, "currency": currency}
    return price


class MatrixPrice(PriceBase):
    """Usage priced by dimension values, cell by cell (see the module docstring)."""

    model: Literal["matrix"] = "matrix"
    dimensions: tuple[str, ...]
    """The names usage is priced by, such as ``("model", "region")``."""
    cells: tuple[MatrixCell, ...]
    """The cells; at least one."""
    default: CellPrice | None = None
    """The price of usage no cell matches; without it such usage cannot be rated."""
    group: Literal["cell", "values"] = "cell"
    """``cell``: rate each cell's summed usage once; ``values``: each combination on its own."""

    @model_validator(mode="before")
    @classmethod
    def _prices_take_the_matrix_currency(cls, data: Any) -> Any:
        """In a document, a cell or default price without ``currency`` is in the matrix's."""
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        currency = data.get("currency", "USD")
        cells = data.get("cells")
        if isinstance(cells, list | tuple):
            data["cells"] = [
                {**cell, "price": _with_currency(cell["price"], currency)}
                if isinstance(cell, Mapping) and "price" in cell
                else cell
                for cell in cells
            ]
        if "default" in data:
            data["default"] = _with_currency(data["default"], currency)
        return data

    @field_validator("dimensions")
    @classmethod
    def _named_once(cls, dimensions: tuple[str, ...]) -> tuple[str, ...]:
        if not dimensions:
            raise PydanticCustomError("dimensions_empty", "must name at least one (got none)")
        seen: set[str] = set()
        for name in dimensions:
            if name in seen:
                raise PydanticCustomError(
                    "dimension_repeated",
                    "names {name} twice",
                    {"name": name},
                )
            seen.add(name)
        return dimensions

    @field_validator("cells")
    @classmethod
    def _some_cell(cls, cells: tuple[MatrixCell, ...]) -> tuple[MatrixCell, ...]:
        if not cells:
            raise PydanticCustomError("cells_empty", "must hold at least one cell (got none)")
        return cells

    @field_validator("default")
    @classmethod
    def _default_not_prorated(cls, price: Any) -> Any:
        return _quantity_price(price)

    @model_validator(mode="after")
    def _cells_fit_the_matrix(self) -> Self:
        declared = set(self.dimensions)
        seen: dict[tuple[tuple[str, frozenset[str]], ...], int] = {}
        for number, cell in enumerate(self.cells, 1):
            for name in cell.match:
                if name not in declared:
                    raise PydanticCustomError(
                        "cell_dimension_undeclared",
                        "cell {number} names dimension {name}, which is not one of the"
                        " matrix's dimensions ({declared})",
                        {"number": number, "name": name, "declared": ", ".join(self.dimensions)},
                    )
            key = cell.key()
            if key in seen:
                raise PydanticCustomError(
                    "cells_same_match",
                    "cells {first} and {number} have the same match: usage could go to either",
                    {"first": seen[key], "number": number},
                )
            seen[key] = number
            self._same_currency(cell.price, f"cell {number}")
        if self.default is not None:
            self._same_currency(self.default, "the default")
        return self

    def _same_currency(self, price: PriceBase, what: str) -> None:
        if price.currency != self.currency:
            raise PydanticCustomError(
                "cell_currency",
                "{what}'s price is in {theirs}, but the matrix is in {ours}",
                {"what": what, "theirs": price.currency, "ours": self.currency},
            )

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """Copy the price; the copy remembers no routes and resolves its cells afresh."""
        copy = super().model_copy(update=update, deep=deep)
        copy.__dict__.pop("_routes", None)
        copy.__dict__.pop("_plan", None)
        return copy

    @cached_property
    def _routes(self) -> dict[tuple[str | None, ...], int]:
        """Remembered routes: value combination -> 0-based cell index.

        The default's index is the count of cells, so that it sorts last.
        """
        return {}

    def _route(self, key: tuple[str | None, ...]) -> int:
        """Return where usage with the values ``key`` (one per dimension) goes."""
        values = dict(zip(self.dimensions, key, strict=True))
        cells = self.cells
        matching = [index for index, cell in enumerate(cells) if cell.takes(values)]
        if not matching:
            if self.default is None:
                raise RatingError(
                    f"usage with {_show(values)} matches no cell and the matrix has no default"
                    " price",
                )
            return len(cells)  # the default
        for index in matching:
            if all(other == index or cells[index].outranks(cells[other]) for other in matching):
                return index
        numbers = ", ".join(str(index + 1) for index in matching)
        raise RatingError(
            f"usage with {_show(values)} matches cells {numbers} and none of them outranks the"
            " others (name more dimensions, or narrower lists, to order them)",
        )

    def route(self, values: Mapping[str, str]) -> int | None:
        """Return the 1-based number of the cell usage with ``values`` goes to (``None``: default).

        Raises :class:`~meterlib.errors.RatingError` when it cannot be rated.
        """
        index = self._lookup(self._key(values))
        return None if index == len(self.cells) else index + 1

    def _key(self, values: Mapping[str, str], number: int | None = None) -> tuple[str | None, ...]:
        """Check the names and values of usage (entry ``number``); return its route key."""
        where = "values" if number is None else f"usage[{number}].values"
        dimensions = self.dimensions
        if not isinstance(values, Mapping):
            raise InvalidValueError(where, values, "a mapping of dimension to value")
        for name, value in values.items():
            if name not in dimensions:
                raise InvalidValueError(
                    where,
                    name,
                    f"one of the matrix's dimensions ({', '.join(dimensions)})",
                )
            if value is not None and type(value) is not str:
                raise InvalidValueError(f"{where}[{name!r}]", value, "a text value (or null)")
        return tuple(map(values.get, dimensions))

    def _lookup(self, key: tuple[str | None, ...]) -> int:
        routes = self._routes
        index = routes.get(key)
        if index is None:
            index = self._route(key)
            if len(routes) >= _ROUTES_KEPT:
                routes.clear()
            routes[key] = index
        return index

    def rate(self, quantity: QuantityLike, *, final: bool = True) -> Charge:
        """Refuse a bare quantity: a matrix rates usage by dimension values (:meth:`rate_usage`)."""
        del quantity, final
        raise RatingError(
            "a matrix price rates usage by dimension values: use rate_usage([(values,"
            " quantity), ...]), such as rate_usage([({'region': 'eu'}, 5)])",
        )

    @cached_property
    def _plan(self) -> _Plan:
        """What rating needs, resolved once.

        Each cell's ``(checked, rate, label, number)``, the default's last (at the index its
        route holds); a function reading the route key of values that name every dimension;
        whether the matrix has no discount, minimum or maximum (its charge is then the sum of
        its parts); the number of dimensions; and the remembered routes.

        ``checked`` rates a quantity already checked, repeating no check, with ``EXACT`` the
        current context: a plain graduated price's
        :func:`~meterlib.pricing.tiered.exact_context_rater`; ``None`` for other prices, rated
        with their own ``rate``.
        """
        cells: list[_CellPlan] = [
            (_checked_rater(cell.price), cell.price.rate, cell.label(number), number)
            for number, cell in enumerate(self.cells, 1)
        ]
        default = self.default
        if default is None:
            cells.append((None, _no_default, "default", None))
        else:
            cells.append((_checked_rater(default), default.rate, "default", None))
        dimensions = self.dimensions
        full_key: Callable[[Any], Any] = (
            itemgetter(*dimensions)
            if len(dimensions) > 1
            else lambda values: (values[dimensions[0]],)
        )
        plain_charge = self.discount is None and self.minimum is None and self.maximum is None
        return cells, full_key, plain_charge, len(dimensions), self._routes

    def _sums(self, usage: Iterable[UsageEntry], by_values: bool) -> dict[Any, Decimal]:  # noqa: FBT001
        """Route each entry; add up the quantities per cell (or per cell and combination)."""
        _, full_key, _, count, routes = self._plan
        sums: dict[Any, Decimal] = {}
        for number, entry in enumerate(usage):
            if type(entry) is tuple and len(entry) == 2:
                values, raw = entry
            else:
                values, raw = _entry(entry, number)
            try:  # the fast path: every dimension given, no other name, a route known
                key = full_key(values) if len(values) == count else None
                index = None if key is None else routes.get(key)
            except (KeyError, TypeError):
                index = None
            if index is None:  # check the names and values, then find the route
                key = self._key(values, number)
                index = self._lookup(key)
            if type(raw) is not Decimal or not raw.is_finite() or raw < _ZERO:
                raw = quantity_of(raw, f"usage[{number}].quantity")
            group: Any = (index, key) if by_values else index
            known = sums.get(group)
            sums[group] = raw if known is None else _add(known, raw)
        return sums

    def rate_usage(self, usage: Iterable[UsageEntry], *, final: bool = True) -> Charge:  # noqa: PLR0915  (hot path, inlined)
        """Rate usage entries ``(values, quantity)`` cell by cell (see the module docstring).

        The charge has one line per cell (or combination) rated, and its ``parts`` hold each
        one's own charge. Raises :class:`~meterlib.errors.RatingError` for usage that no cell
        and no default takes, or that matches cells none of which outranks the others.
        """
        if self.group == "values":
            return self._rate_values(usage, final)
        # _sums(usage, by_values=False), inlined: the hot path.
        cells, full_key, plain_charge, count, routes = self._plan
        sums: dict[int, Decimal] = {}
        for number, entry in enumerate(usage):
            if type(entry) is tuple and len(entry) == 2:
                values, raw = entry
            else:
                values, raw = _entry(entry, number)
            try:  # the fast path: every dimension given, no other name, a route known
                index = routes[full_key(values)] if len(values) == count else None
            except (KeyError, TypeError):
                index = None
            if index is None:  # check the names and values, then find the route
                index = self._lookup(self._key(values, number))
            if type(raw) is not Decimal or not raw.is_finite() or raw < _ZERO:
                raw = quantity_of(raw, f"usage[{number}].quantity")
            known = sums.get(index)
            sums[index] = raw if known is None else _add(known, raw)
        lines: list[ChargeLine] = []
        parts: list[ChargePart] = []
        quantities: list[Decimal] = []
        amounts: list[Decimal] = []
        add_line = lines.append
        add_part = parts.append
        add_quantity = quantities.append
        add_amount = amounts.append
        # One switch to meterlib's own context for the whole rating: the plain graduated
        # cells' arithmetic and the sums then use the operators (half the cost of EXACT's
        # methods). Other cell prices rate in it too, with EXACT's methods: it changes nothing
        # for them. The caller's context is restored, whatever happens.
        saved = getcontext()
        setcontext(EXACT)
        try:
            for index, quantity in sorted(sums.items()):  # cell order, the default last
                checked, rate, label, cell = cells[index]
                if checked is not None:
                    charge = checked(quantity)
                else:
                    charge = rate(quantity) if final else rate(quantity, final=False)
                amount = charge.amount
                add_quantity(quantity)
                add_amount(amount)
                line: Any = _new(LineSlots)  # new_line(...), inlined (see pricing.charge)
                line.description = label
                line.tier = line.lower = line.upper = None
                line.quantity = quantity
                line.unit_amount = _ZERO
                line.flat_amount = line.amount = amount
                line.__class__ = LINE_CLASS
                add_line(line)
                add_part(_new_tuple(ChargePart, (label, cell, (), charge)))
            total = sum(quantities, _ZERO)  # the exact sums, added in order from zero
            subtotal = sum(amounts, _ZERO)
        finally:
            setcontext(saved)
        if plain_charge:  # what _charge returns without modifiers, one call sooner
            return new_charge(
                self.currency,
                "matrix",
                total,
                _ZERO,
                total,
                tuple(lines),
                subtotal,
                _ZERO,
                None,
                subtotal,
                tuple(parts),
            )
        return self._charge(total, _ZERO, total, tuple(lines), subtotal, final, tuple(parts))

    def _rate_values(self, usage: Iterable[UsageEntry], final: bool) -> Charge:  # noqa: FBT001
        """``group="values"``: rate each combination of values on its own."""
        sums = self._sums(usage, by_values=True)
        cells = self._plan[0]
        dimensions = self.dimensions
        lines: list[ChargeLine] = []
        parts: list[ChargePart] = []
        total = subtotal = _ZERO
        for group in sorted(sums, key=_order):
            index, key = group
            _, rate, label, cell = cells[index]
            combination = tuple(zip(dimensions, key, strict=True))
            label = f"{_combination(combination)}: {label}"
            quantity = sums[group]
            total = _add(total, quantity)
            charge = rate(quantity) if final else rate(quantity, final=False)
            amount = charge.amount
            subtotal = _add(subtotal, amount)
            lines.append(new_line(label, None, None, None, quantity, _ZERO, amount, amount))
            parts.append(new_part(label, cell, combination, charge))
        return self._charge(total, _ZERO, total, tuple(lines), subtotal, final, tuple(parts))


def _no_default(quantity: QuantityLike, *, final: bool = True) -> Charge:
    """Stands for a missing default in the plan; routing never sends usage to it."""
    del quantity, final
    raise RatingError("the matrix has no default price")  # pragma: no cover  (never routed)


def _checked_rater(price: PriceBase) -> Callable[[Decimal], Charge] | None:
    """A plain graduated price's :func:`~meterlib.pricing.tiered.exact_context_rater`."""
    return exact_context_rater(price) if isinstance(price, GraduatedPrice) else None


#: A cell in the matrix's rating plan: what rates a checked quantity without ``final`` (a plain
#: price's, else ``None``), its price's ``rate``, its label and its 1-based number.
_CellPlan = tuple[Callable[[Decimal], Charge] | None, Callable[..., Charge], str, int | None]
#: The matrix's rating plan (see :attr:`MatrixPrice._plan`).
_Plan = tuple[
    list[_CellPlan],
    Callable[[Any], Any],
    bool,
    int,
    dict[tuple[str | None, ...], int],
]


def _combination(values: tuple[tuple[str, str | None], ...]) -> str:
    return ", ".join(f"{name}={'(none)' if value is None else value}" for name, value in values)


def _order(group: Any) -> tuple[int, tuple[str, ...]]:
    """Parts in cell order, the default last; combinations by their values."""
    index, key = group if isinstance(group, tuple) else (group, ())
    return (index, tuple("" if v is None else v for v in key))


def _show(values: Mapping[str, str | None]) -> str:
    shown = ", ".join(f"{name}={value}" for name, value in values.items() if value is not None)
    return shown or "no dimension values"


def _entry(entry: Any, number: int) -> tuple[Mapping[str, str], QuantityLike]:
    if isinstance(entry, Mapping):
        if set(entry) != {"values", "quantity"}:
            raise InvalidValueError(
                f"usage[{number}]",
                entry,
                "an object with 'values' and 'quantity'",
            )
        return entry["values"], entry["quantity"]
    if isinstance(entry, tuple | list) and len(entry) == 2:
        return entry[0], entry[1]
    raise InvalidValueError(
        f"usage[{number}]",
        entry,
        "a (values, quantity) pair or an object with 'values' and 'quantity'",
    )
