"""Hypothesis strategies for usage events and meters, with a ready-made world to test in.

:func:`event_sets` draws a *stream*: a list of raw event dicts in arrival order with the hard
cases mixed in (exact re-sends, re-sends with the time written in another offset, conflicting
versions of an id, events exactly on and next to period boundaries, events outside the periods
of interest, several time zones, equal times, decimals with many places, negative amounts).

The periods of interest are :data:`CYCLE` (monthly, in Europe/Berlin, so a month starts at 23:00
UTC in winter and 22:00 in summer) restricted to :data:`WINDOW` (January to March 2024, local
time); :data:`METERS` uses every aggregation, a filter and a ``group_by``. Engines compare their
usage tables for the same stream, meters and periods.

:func:`meters` draws meter definitions of any aggregation, with filters and ``group_by``, for
the event types and properties :func:`event_dicts` writes. meterlib's own engines (accumulator,
ledger, DuckDB, Spark) are checked against each other with these streams; a downstream
metering service can feed the same streams to its own code and to
:class:`~meterlib.metering.accumulator.Accumulator` and compare. Needs hypothesis
(``pip install 'meterlib[testing]'``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from meterlib.frames import MissingDependencyError
from meterlib.metering.meters import Meter
from meterlib.periods import BillingCycle, Period

try:
    from hypothesis import strategies as st
except ImportError as error:  # pragma: no cover  (exercised in a subprocess by the tests)
    raise MissingDependencyError("meterlib.testing.events", "hypothesis", "testing") from error

__all__ = [
    "CUSTOMERS",
    "CYCLE",
    "EXTREME_TIMES",
    "METERS",
    "WINDOW",
    "edge_values",
    "event_dicts",
    "event_sets",
    "hostile_events",
    "instants",
    "meters",
    "non_ascii_digits",
    "quantity_values",
    "split_points",
]

BERLIN = ZoneInfo("Europe/Berlin")
#: Monthly periods counted from 1 January 2024, midnight in Berlin.
CYCLE = BillingCycle(anchor=date(2024, 1, 1), timezone="Europe/Berlin")
#: The periods of interest: January, February and March 2024 in Berlin.
WINDOW = Period(datetime(2024, 1, 1, tzinfo=BERLIN), datetime(2024, 4, 1, tzinfo=BERLIN))
#: Every period boundary events are drawn around (one before and one after the window too).
BOUNDARIES = [CYCLE.start(i) for i in range(-1, 5)]

CUSTOMERS = ("cus_a", "cus_b", "cus_c")
TYPES = ("api.call", "storage.delta", "seat.seen")
REGIONS = ("eu", "us", "ap")

#: One meter per aggregation, with a filter and a group_by among them.
METERS = [
    Meter.model_validate(spec)
    for spec in (
        {"name": "calls", "type": "api.call", "aggregation": "count", "group_by": ["region"]},
        {"name": "units", "type": "api.call", "aggregation": "sum", "property": "qty"},
        {
            "name": "eu_units",
            "type": "api.call",
            "aggregation": "sum",
            "property": "qty",
            "filters": {"region": {"equals": "eu"}},
        },
        {"name": "smallest", "type": "api.call", "aggregation": "min", "property": "qty"},
        {
            "name": "largest",
            "type": "api.call",
            "aggregation": "max",
            "property": "qty",
            "group_by": ["region"],
        },
        {"name": "users", "type": "seat.seen", "aggregation": "unique_count", "property": "user"},
        {"name": "last_seats", "type": "seat.seen", "aggregation": "latest", "property": "qty"},
        {
            "name": "storage",
            "type": "storage.delta",
            "aggregation": "weighted_sum",
            "property": "qty",
        },
    )
]

_ZONES: list[timezone | ZoneInfo] = [
    UTC,
    timezone(timedelta(hours=5, minutes=30)),
    timezone(timedelta(hours=-8)),
    BERLIN,
    ZoneInfo("America/New_York"),
]

_SPAN_START = datetime(2023, 11, 15, tzinfo=UTC)
_SPAN_MICROS = int((datetime(2024, 5, 15, tzinfo=UTC) - _SPAN_START) / timedelta(microseconds=1))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    """An instant around the window, often on or one microsecond beside a period boundary."""
    if draw(st.integers(0, 3)) == 0:
        base = draw(st.sampled_from(BOUNDARIES))
        return base + timedelta(microseconds=draw(st.sampled_from([-1, 0, 0, 1])))
    return _SPAN_START + timedelta(microseconds=draw(st.integers(0, _SPAN_MICROS)))


@st.composite
def quantity_values(draw: st.DrawFn, *, typed_numbers: bool = False) -> Any:
    """A number as text with up to 12 places (sometimes negative), an int, or a Decimal."""
    value = draw(
        st.decimals(
            min_value=Decimal(-1000),
            max_value=Decimal(1000000),
            places=draw(st.sampled_from([0, 2, 6, 12])),
            allow_nan=False,
            allow_infinity=False,
        )
    )
    form = draw(st.integers(0, 5 if typed_numbers else 4))
    if form == 4 and value == value.to_integral_value():
        return int(value)
    if form == 5:
        return value
    return f"{value:f}"


@st.composite
def event_dicts(draw: st.DrawFn, event_id: str, *, typed_numbers: bool = False) -> dict[str, Any]:
    """One valid raw event with the given id; its time written in one of several zones."""
    kind = draw(st.sampled_from(TYPES))
    properties: dict[str, Any] = {"qty": draw(quantity_values(typed_numbers=typed_numbers))}
    if kind == "api.call":
        properties["region"] = draw(st.sampled_from(REGIONS))
    if kind == "seat.seen":
        properties["user"] = draw(st.sampled_from(["u1", "u2", "u3", "7", "07"]))
    moment = draw(instants()).astimezone(draw(st.sampled_from(_ZONES)))
    return {
        "id": event_id,
        "customer": draw(st.sampled_from(CUSTOMERS)),
        "type": kind,
        "time": moment.isoformat(),
        "properties": properties,
    }


def _resend(event: dict[str, Any], zone: timezone | ZoneInfo) -> dict[str, Any]:
    """The same event again, its time written in another zone (still the same instant)."""
    copy = dict(event)
    copy["time"] = datetime.fromisoformat(event["time"]).astimezone(zone).isoformat()
    copy["properties"] = dict(event["properties"])
    return copy


def _conflicting(event: dict[str, Any]) -> dict[str, Any]:
    """Another version of the event: same id, a different quantity."""
    copy = dict(event)
    properties = dict(event["properties"])
    properties["qty"] = f"{Decimal(str(properties['qty'])) + 1:f}"
    copy["properties"] = properties
    return copy


@st.composite
def event_sets(
    draw: st.DrawFn, *, max_events: int = 40, typed_numbers: bool = False
) -> list[dict[str, Any]]:
    """A stream of raw event dicts with duplicates, conflicts and boundary/outside events.

    ``typed_numbers`` also draws ``Decimal`` property values (not JSON-serializable; engines that
    read files leave it off).
    """
    count = draw(st.integers(0, max_events))
    stream = [draw(event_dicts(f"e{n}", typed_numbers=typed_numbers)) for n in range(count)]
    if stream:
        extra = draw(st.integers(0, max(1, count // 3)))
        for _ in range(extra):
            original = draw(st.sampled_from(stream[:count]))
            how = draw(st.integers(0, 2))
            if how == 0:
                copy = dict(original)
            elif how == 1:
                copy = _resend(original, draw(st.sampled_from(_ZONES)))
            else:
                copy = _conflicting(original)
            stream.insert(draw(st.integers(0, len(stream))), copy)
    return stream


def split_points(length: int) -> st.SearchStrategy[list[int]]:
    """Sorted cut positions that split a list of ``length`` items into contiguous parts."""
    return st.lists(st.integers(0, length), max_size=5).map(sorted)


_METER_SHAPES: tuple[tuple[str, str, str | None], ...] = (
    ("count", "api.call", None),
    ("sum", "api.call", "qty"),
    ("min", "api.call", "qty"),
    ("max", "api.call", "qty"),
    ("latest", "seat.seen", "qty"),
    ("unique_count", "seat.seen", "user"),
    ("weighted_sum", "storage.delta", "qty"),
)


@st.composite
def meters(draw: st.DrawFn, name: str = "meter") -> Meter:
    """A valid meter named ``name`` for the events :func:`event_dicts` writes.

    Any aggregation; an ``api.call`` meter may filter on ``region`` and group by it.
    """
    aggregation, kind, prop = draw(st.sampled_from(_METER_SHAPES))
    spec: dict[str, Any] = {"name": name, "type": kind, "aggregation": aggregation}
    if prop is not None:
        spec["property"] = prop
    if kind == "api.call":
        if draw(st.booleans()):
            regions = draw(st.lists(st.sampled_from(REGIONS), min_size=1, unique=True))
            spec["filters"] = {"region": {"one_of": regions}}
        if draw(st.booleans()):
            spec["group_by"] = ["region"]
    return Meter.model_validate(spec)


# -- hostile input: what the edge must refuse (issue 14) ----------------------------------------

#: Times outside the accepted range (years 1900 to 2200 in UTC), some at its very edges.
EXTREME_TIMES = (
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "1899-12-31T23:59:59.999999Z",
    "1900-01-01T00:30:00+01:00",
    "2201-01-01T00:00:00Z",
    "2200-12-31T23:30:00-01:00",
)
#: Digits that are not ASCII: Arabic-Indic, fullwidth, Devanagari, Bengali.
_DIGIT_ZEROS = (0x0660, 0xFF10, 0x0966, 0x09E6)


@st.composite
def non_ascii_digits(draw: st.DrawFn) -> str:
    """A number written with (some) non-ASCII decimal digits, such as ``'١٢'`` or ``'1２.5'``."""
    digits = draw(st.text(alphabet="0123456789", min_size=1, max_size=4))
    zero = draw(st.sampled_from(_DIGIT_ZEROS))
    swap = draw(st.lists(st.booleans(), min_size=len(digits), max_size=len(digits)))
    if not any(swap):
        swap[0] = True
    text = "".join(chr(zero + int(d)) if s else d for d, s in zip(digits, swap, strict=True))
    return text + draw(st.sampled_from(["", ".5", ".２"]))


def edge_values() -> st.SearchStrategy[str]:
    """Property text the edge refuses or must keep exact: lone surrogates, odd digits, ..."""
    return st.one_of(
        non_ascii_digits(),
        st.sampled_from(["\ud800", "x\udfff", "\udc80y"]),  # lone surrogates
        st.sampled_from(["1e1000000", "1E-1000000", "9" * 20, "NaN", "Infinity", " 1 ", "+2"]),
    )


@st.composite
def hostile_events(draw: st.DrawFn, event_id: str) -> dict[str, Any]:
    """An event with one hostile part: an extreme or naive time, a surrogate, odd digits."""
    event = draw(event_dicts(event_id))
    how = draw(st.integers(0, 4))
    if how == 0:
        event["time"] = draw(st.sampled_from(EXTREME_TIMES))
    elif how == 1:
        event["time"] = event["time"][:19]  # naive
    elif how == 2:
        field = draw(st.sampled_from(["id", "customer", "type"]))
        event[field] = event[field] + "\ud800"
    elif how == 3:
        event["properties"] = {**event["properties"], "qty": draw(edge_values())}
    else:
        event["properties"] = {**event["properties"], draw(st.sampled_from(["\udcff", "n"])): "x"}
    return event
