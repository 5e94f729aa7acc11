"""A chunk of plain event dicts read into Arrow columns, checked as ``check_event`` checks them.

:mod:`meterlib.metering.frames` hands each chunk of a list of dicts to :func:`dict_columns`;
``None`` sends the chunk to ``check_event`` event by event (the same acceptance and messages,
only slower). The chunk takes this path when every event is a mapping of exactly the five
fields, its ``id``, ``customer``, ``type`` and ``time`` are ``str`` (not a subclass, not bytes:
``check_event`` refuses those, while Arrow and polars would take them), ``properties`` is a
``dict`` of ``str`` names to ``str`` values (``None`` is not a value: ``check_event`` refuses
it). Empty ids, customers and types, lone surrogates and the times are checked afterwards in
columns by the caller.

**Speed.** The dicts are read a few thousand at a time (:data:`SUB`): each field picked out by
``map(itemgetter(...))`` and each column's types gathered in one set, while those dicts and
their texts are still in the processor's cache (reading 32,768 dicts field by field, as before,
fetched each one from memory five times over), and each run's texts turned into a polars
string column (faster than pyarrow's converter from Python lists); the runs are joined and
handed over as Arrow arrays. A chunk whose events share one property name (the common case)
reads that property the same way; other chunks gather their property columns by name, at most
:data:`MAX_NAMES` of them.
"""

from __future__ import annotations

from itertools import chain
from operator import itemgetter
from typing import Any

from meterlib.frames import MissingDependencyError

try:
    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError as missing:  # pragma: no cover - its own CI step installs the extra
    raise MissingDependencyError(
        "the columnar path", "numpy, pyarrow and polars", "columnar"
    ) from missing

__all__ = ["FIELDS", "MAX_NAMES", "SUB", "dict_columns", "text_column"]

#: The fields of an event, in order.
FIELDS = ("id", "customer", "type", "time", "properties")
#: Dicts read at once (their values stay in the processor's cache between the passes).
SUB = 2048
#: At most this many distinct property names per chunk take the column path.
MAX_NAMES = 16
_GET = tuple(itemgetter(name) for name in FIELDS)
_FIVE = frozenset({5})
_ONE = frozenset({1})
_EMPTY = frozenset({0})
_STR = frozenset({str})
_DICT = frozenset({dict})
_TEXT_OR_NONE = frozenset({str, type(None)})

Columns = dict[str, pa.Array]
_LARGE = pa.large_string()


def text_column(values: list[Any]) -> pa.Array:
    """A large-string column from a list of ``str`` and ``None`` (null).

    ``UnicodeEncodeError`` for a lone surrogate (the caller hands the chunk to check_event).
    """
    return pa.array(values, pa.large_string())


def _join(runs: list[pl.Series]) -> pa.Array:
    """The runs' texts as one Arrow large-string array."""
    joined = runs[0] if len(runs) == 1 else pl.concat(runs, rechunk=True)
    found = joined.to_arrow()
    # polars hands over large strings by default (its oldest compatibility level).
    return found if found.type == _LARGE else found.cast(_LARGE)


def _run(values: list[str]) -> pl.Series:
    return pl.Series(values=values, dtype=pl.String)


def dict_columns(chunk: list[Any]) -> tuple[Columns, Columns] | None:
    """The chunk's ``id``, ``customer``, ``type``, ``time`` columns and its property columns.

    ``None`` when the chunk is not plain text dicts (see the module docstring). Raises
    ``UnicodeEncodeError`` for a lone surrogate.
    """
    if not chunk:
        return None
    get_id, get_customer, get_type, get_time, get_props = _GET
    ids: list[pl.Series] = []
    customers: list[pl.Series] = []
    times: list[pl.Series] = []
    kinds: list[str] = []
    props = _Properties()
    for lo in range(0, len(chunk), SUB):
        part = chunk[lo : lo + SUB]
        # A mapping of five entries with these five keys (an unknown key would take a known
        # one's place) is what check_event reads as an event; anything else raises here.
        try:
            if set(map(len, part)) != _FIVE:
                return None
            part_ids = list(map(get_id, part))
            part_customers = list(map(get_customer, part))
            part_kinds = list(map(get_type, part))
            part_times = list(map(get_time, part))
            part_props = list(map(get_props, part))
        except (KeyError, TypeError):
            return None
        if (
            set(map(type, chain(part_ids, part_customers, part_kinds, part_times))) != _STR
            or set(map(type, part_props)) != _DICT
            or not props.add(part_props)
        ):
            return None
        ids.append(_run(part_ids))
        customers.append(_run(part_customers))
        times.append(_run(part_times))
        kinds += part_kinds
    columns = {"id": _join(ids), "customer": _join(customers), "type": _kinds(kinds)}
    # An empty id, customer or type, or a property value that is not text: check_event says.
    values = props.columns()
    if values is None or any(pc.min(pc.binary_length(c)).as_py() == 0 for c in columns.values()):
        return None
    columns["time"] = _join(times)
    return columns, values


class _Properties:
    """The property columns of a chunk, read run by run.

    While every event so far holds one property of the same name (or none at all), its values
    are read run by run (``runs``); else all the chunk's properties are read by name at the end.
    """

    __slots__ = ("name", "props", "runs")

    def __init__(self) -> None:
        self.name: str | None = None
        self.runs: list[pl.Series] | None = []
        self.props: list[dict[Any, Any]] = []

    def add(self, props: list[dict[Any, Any]]) -> bool:
        """Read a run; ``False`` when a value is not text (the chunk goes to check_event)."""
        first_run = not self.props
        self.props += props
        if self.runs is None:
            return True
        lengths = set(map(len, props))
        if lengths == _EMPTY and self.name is None:
            return True  # no property so far
        found = None
        if lengths == _ONE and (self.name is not None or first_run):
            found = _one_name(props, self.name)
        if found is None:
            self.runs = None  # read by name at the end
            return True
        self.name, texts = found
        if set(map(type, texts)) != _STR:
            return False
        self.runs.append(_run(texts))
        return True

    def columns(self) -> Columns | None:
        """The property columns by name; ``None`` when a value is not text."""
        if self.runs is None:
            return _by_name(self.props)
        return {} if self.name is None else {self.name: _join(self.runs)}


def _kinds(kinds: list[str]) -> pa.Array:
    first = kinds[0]
    if kinds.count(first) == len(kinds):
        return pa.repeat(pa.scalar(first, pa.large_string()), len(kinds))
    return text_column(kinds)


def _one_name(props: list[dict[Any, Any]], name: str | None) -> tuple[str, list[Any]] | None:
    """The values of the one property each dict of ``props`` holds, when it is named ``name``.

    ``name``: the name of the runs before (``None``: this is the first run). ``None`` when the
    dicts name another property (the caller reads them by name).
    """
    first = next(iter(props[0]))
    if type(first) is not str or (name is not None and first != name):
        return None
    try:
        return first, list(map(itemgetter(first), props))
    except KeyError:
        return None


def _by_name(props: list[dict[Any, Any]]) -> Columns | None:
    """One text column per property name (null where an event lacks it); ``None``: not text."""
    names: set[Any] = set().union(*props)
    if len(names) > MAX_NAMES or set(map(type, names)) != _STR:
        return None
    values: Columns = {}
    present = 0
    for name in sorted(names):
        found = [p.get(name) for p in props]
        if not set(map(type, found)) <= _TEXT_OR_NONE:
            return None
        column = text_column(found)
        present += len(column) - column.null_count
        values[name] = column
    # A value None (rather than an absent name) is refused by check_event.
    return values if present == sum(map(len, props)) else None
