"""Charts as objects that display themselves: inline SVG, no plotting library.

Each chart is a small immutable object; ``chart.svg()`` is the ``<svg>`` text and Jupyter shows
the chart by itself (``_repr_svg_``). Four kinds:

- :class:`UsageChart`: usage per period against the allowance (bars orange over the allowance,
  green within it, grey when time-barred; a dashed allowance line). The axis is logarithmic
  when usage runs more than :data:`LOG_RATIO` times above the allowance.
- :class:`LiabilityChart`: what is owed over time, period by period: the cumulative re-billed
  delta and the cumulative owed with interest (time-barred periods left out, as in the totals).
- :class:`ScenarioChart`: each scenario's total owed, split into delta and interest, side by side.
- :class:`SensitivityChart`: the total owed as one assumption varies; build it with
  :func:`rate_sensitivity` (the interest rate) or :func:`date_sensitivity` (the valuation date).

Coordinates are computed with ``Decimal`` and rounded to whole pixels; no ``float`` is used.
Colours have at least 3:1 contrast on white (WCAG 2.1 non-text contrast); text is dark grey.
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import escape
from typing import ParamSpec, TypeVar

from babel import Locale

from meterlib._numbers import to_decimal
from meterlib.backbill.case import BackbillCase
from meterlib.backbill.statement import ScenarioComparison, Statement
from meterlib.render.format import Formatter

__all__ = [
    "LOG_RATIO",
    "LiabilityChart",
    "ScenarioChart",
    "SensitivityChart",
    "UsageChart",
    "compact_number",
    "date_sensitivity",
    "rate_sensitivity",
]

#: Usage this many times above the allowance (or spread over this many times) switches the
#: axis to a logarithmic scale.
LOG_RATIO = 50

_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
_OVER = "#c2410c"     # 4.9:1 on white
_WITHIN = "#2f7d4f"   # 5.0:1
_BARRED = "#8a8f98"   # 3.3:1
_LINE = "#1b3a6b"
_SECOND = "#b45309"   # 4.6:1
_TEXT = "#333"
_GRID = "#e4e4e4"
_SUFFIXES = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"),
             (Decimal(10) ** 3, "k"))
P = ParamSpec("P")
R = TypeVar("R")
_FONT = "Helvetica, Arial, 'Noto Sans', sans-serif"


def _own_context(method: Callable[P, R]) -> Callable[P, R]:
    """Run ``method`` in the charts' own decimal context, whatever the caller's.

    A caller's narrow context would otherwise round the cumulative sums and the scales.
    """

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with decimal.localcontext(_CONTEXT):
            return method(*args, **kwargs)

    return wrapper


def compact_number(value: Decimal) -> str:
    """``12500000`` -> ``12.5M``: a short axis label (locale-free)."""
    for size, suffix in _SUFFIXES:
        if abs(value) >= size:
            # In meterlib's own context: the caller's may be too narrow for 12500.0.
            scaled = _CONTEXT.quantize(_CONTEXT.divide(value, size), Decimal("0.1"))
            return f"{_CONTEXT.normalize(scaled):f}{suffix}"
    return f"{_CONTEXT.normalize(value):f}"


def _pixel(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=decimal.ROUND_HALF_UP))


class _Scale:
    """Maps a non-negative quantity to a height in pixels, linearly or by powers of ten."""

    def __init__(self, values: list[Decimal], plot_height: int, *, allow_log: bool = True) -> None:
        positive = [v for v in values if v > 0]
        top = max(positive, default=Decimal(1))
        bottom = min(positive, default=Decimal(1))
        self.height = Decimal(plot_height)
        self.log = allow_log and top / bottom > LOG_RATIO
        if self.log:
            self.low = _CONTEXT.log10(bottom).to_integral_value(rounding=decimal.ROUND_FLOOR)
            self.high = _CONTEXT.log10(top).to_integral_value(rounding=decimal.ROUND_CEILING)
            if self.high == self.low:
                self.high += 1
            self.ticks = [Decimal(10) ** int(e) for e in range(int(self.low), int(self.high) + 1)]
            self.top = Decimal(10) ** int(self.high)
        else:
            step = self._step(top)
            ratio = _CONTEXT.divide(top, step)
            count = int(ratio.to_integral_value(rounding=decimal.ROUND_CEILING))
            self.top = step * max(count, 1)
            self.ticks = [step * i for i in range(max(count, 1) + 1)]

    @staticmethod
    def _step(top: Decimal) -> Decimal:
        """A round tick step giving about five ticks: 1, 2 or 5 times a power of ten."""
        rough = _CONTEXT.divide(top, Decimal(5))
        power = Decimal(10) ** int(_CONTEXT.log10(rough).to_integral_value(decimal.ROUND_FLOOR))
        for factor in (1, 2, 5, 10):
            if power * factor >= rough:
                return power * factor
        return power * 10  # pragma: no cover  (the loop always returns)

    def height_of(self, value: Decimal) -> int:
        """Pixels from the axis to ``value``."""
        if value <= 0:
            return 0
        if self.log:
            share = _CONTEXT.divide(_CONTEXT.log10(value) - self.low, self.high - self.low)
            share = max(Decimal(0), share)
        else:
            share = _CONTEXT.divide(value, self.top)
        return _pixel(share * self.height)


class _Frame:
    """The parts every chart draws: the ``<svg>`` element, its title, grid, axis and legend."""

    left, right, top, bottom = 72, 16, 44, 58

    def __init__(self, width: int, height: int, title: str) -> None:
        self.width, self.height = width, height
        self.plot_w = width - self.left - self.right
        self.plot_h = height - self.top - self.bottom
        self.base_y = self.top + self.plot_h
        self.out = [
            (
                f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
                f' viewBox="0 0 {width} {height}" font-family="{_FONT}" font-size="11"'
                f' role="img" aria-label="{escape(title)}">'
            ),
            f"<title>{escape(title)}</title>",
            f'<rect width="{width}" height="{height}" fill="white"/>',
            (
                f'<text x="{self.left}" y="16" font-size="13" font-weight="bold" fill="#222">'
                f"{escape(title)}</text>"
            ),
        ]

    def grid(self, scale: _Scale, label: str = "") -> None:
        for tick in scale.ticks:
            y = self.base_y - scale.height_of(tick) if tick > 0 else self.base_y
            self.out.append(
                f'<line x1="{self.left}" y1="{y}" x2="{self.left + self.plot_w}" y2="{y}"'
                f' stroke="{_GRID}"/><text x="{self.left - 6}" y="{y + 4}" text-anchor="end"'
                f' fill="{_TEXT}">{escape(label)}{compact_number(tick)}</text>',
            )

    def axis_labels(self, labels: Sequence[str], slot: Decimal) -> None:
        rotate = len(labels) > 12
        for index, text in enumerate(labels):
            cx = self.left + _pixel(slot * index + slot / 2)
            if rotate:
                self.out.append(
                    f'<text x="{cx}" y="{self.base_y + 12}" text-anchor="end" fill="{_TEXT}"'
                    f' transform="rotate(-45 {cx} {self.base_y + 12})">{escape(text)}</text>',
                )
            else:
                self.out.append(
                    f'<text x="{cx}" y="{self.base_y + 16}" text-anchor="middle"'
                    f' fill="{_TEXT}">{escape(text)}</text>',
                )

    def legend(self, items: Sequence[tuple[str, str, bool]]) -> None:
        """``(colour, text, dashed line?)`` entries in a row under the title."""
        x, y = self.left, 32
        for color, text, line in items:
            if line:
                self.out.append(
                    f'<line x1="{x}" y1="{y - 4}" x2="{x + 22}" y2="{y - 4}" stroke="{color}"'
                    f' stroke-width="2" stroke-dasharray="5 3"/>'
                )
                x += 26
            else:
                self.out.append(
                    f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
                )
                x += 14
            self.out.append(f'<text x="{x}" y="{y}" fill="{_TEXT}">{escape(text)}</text>')
            x += 14 + 7 * len(text)

    def close(self) -> str:
        self.out.append(
            f'<line x1="{self.left}" y1="{self.base_y}" x2="{self.left + self.plot_w}"'
            f' y2="{self.base_y}" stroke="#444"/>'
        )
        self.out.append("</svg>")
        return "\n".join(self.out)


class _Chart:
    """Shared display hooks: Jupyter shows ``svg()``; ``str`` is the SVG text too."""

    def svg(self) -> str:  # pragma: no cover  (every chart overrides it)
        """The chart as a standalone ``<svg>`` element."""
        raise NotImplementedError

    def _repr_svg_(self) -> str:
        return self.svg()

    def __str__(self) -> str:
        """The SVG text."""
        return self.svg()


@dataclass(frozen=True)
class UsageChart(_Chart):
    """Usage per period against the allowance (see the module docstring)."""

    statement: Statement
    width: int = 720
    height: int = 300
    locale: str = "en_US"

    @_own_context
    def svg(self) -> str:
        """The chart as a standalone ``<svg>`` element."""
        f = Formatter(self.statement.currency, self.locale)
        _ = f.gettext
        lines = self.statement.lines
        allowances = [line.allowance for line in lines if line.allowance is not None]
        probe = _Scale([line.usage for line in lines] + allowances, 1)
        kind = _("log scale") if probe.log else _("linear scale")
        title = _("Usage against allowance ({unit} per period, {scale})").format(
            unit=self.statement.unit, scale=kind
        )
        frame = _Frame(self.width, self.height, title)
        scale = _Scale([line.usage for line in lines] + allowances, frame.plot_h)
        frame.grid(scale)
        slot = Decimal(frame.plot_w) / max(len(lines), 1)
        bar_w = max(_pixel(slot * Decimal("0.7")), 1)
        for index, line in enumerate(lines):
            x = frame.left + _pixel(slot * index + (slot - bar_w) / 2)
            h = scale.height_of(line.usage)
            over = line.allowance is not None and line.usage > line.allowance
            color = _BARRED if line.barred else (_OVER if over else _WITHIN)
            tip = f"{line.label}: {line.usage:f} {self.statement.unit}"
            if line.barred:
                tip += " (" + _("time-barred") + ")"
            frame.out.append(
                f'<rect x="{x}" y="{frame.base_y - h}" width="{bar_w}" height="{h}"'
                f' fill="{color}"><title>{escape(tip)}</title></rect>',
            )
        frame.axis_labels([line.label for line in lines], slot)
        for index, line in enumerate(lines):
            if line.allowance is None:
                continue
            y = frame.base_y - scale.height_of(line.allowance)
            x1 = frame.left + _pixel(slot * index)
            x2 = frame.left + _pixel(slot * (index + 1))
            frame.out.append(
                f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{_LINE}" stroke-width="2"'
                f' stroke-dasharray="5 3"/>',
            )
        frame.legend(
            [
                (_OVER, _("over the allowance"), False),
                (_WITHIN, _("within it"), False),
                (_BARRED, _("time-barred"), False),
                (_LINE, _("allowance"), True),
            ]
        )
        return frame.close()


def _polyline(points: Sequence[tuple[int, int]], color: str, *, dashed: bool = False) -> str:
    path = " ".join(f"{x},{y}" for x, y in points)
    dash = ' stroke-dasharray="6 3"' if dashed else ""
    dots = "".join(f'<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>' for x, y in points)
    return (
        f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>{dots}'
    )


@dataclass(frozen=True)
class LiabilityChart(_Chart):
    """The liability over time: cumulative delta and cumulative owed with interest."""

    statement: Statement
    width: int = 720
    height: int = 300
    locale: str = "en_US"

    @_own_context
    def points(self) -> list[tuple[str, Decimal, Decimal]]:
        """``(period, cumulative delta, cumulative owed with interest)`` per claimed period."""
        delta = owed = Decimal(0)
        out = []
        for line in self.statement.lines:
            if line.barred:
                continue
            delta += line.delta
            owed += line.owed
            out.append((line.label, delta, owed))
        return out

    @_own_context
    def svg(self) -> str:
        """The chart as a standalone ``<svg>`` element."""
        f = Formatter(self.statement.currency, self.locale)
        _ = f.gettext
        title = _("Liability over time ({currency}, cumulative, valued on {date})").format(
            currency=self.statement.currency, date=f.day(self.statement.as_of)
        )
        frame = _Frame(self.width, self.height, title)
        points = self.points()
        scale = _Scale([max(d, o) for _l, d, o in points], frame.plot_h, allow_log=False)
        frame.grid(scale)
        slot = Decimal(frame.plot_w) / max(len(points), 1)

        def at(index: int, value: Decimal) -> tuple[int, int]:
            return frame.left + _pixel(slot * index + slot / 2), frame.base_y - scale.height_of(
                value
            )

        frame.out.append(_polyline([at(i, d) for i, (_l, d, _o) in enumerate(points)], _LINE,
                                   dashed=True))
        frame.out.append(_polyline([at(i, o) for i, (_l, _d, o) in enumerate(points)], _SECOND))
        if points:
            x, y = at(len(points) - 1, points[-1][2])
            frame.out.append(
                f'<text x="{x}" y="{y - 8}" text-anchor="end" fill="{_TEXT}">'
                f"{escape(f.money(points[-1][2]))}</text>"
            )
        frame.axis_labels([label for label, _d, _o in points], slot)
        frame.legend(
            [
                (_LINE, _("re-billed delta"), True),
                (_SECOND, _("owed with interest"), True),
            ]
        )
        return frame.close()


def _bars(frame: _Frame, values: Sequence[tuple[str, Decimal, Decimal]], f: Formatter) -> None:
    """Stacked bars of two parts (delta, interest), one per label, with the total on top."""
    scale = _Scale([a + b for _l, a, b in values], frame.plot_h, allow_log=False)
    frame.grid(scale)
    slot = Decimal(frame.plot_w) / max(len(values), 1)
    bar_w = max(_pixel(slot * Decimal("0.6")), 1)
    for index, (_label, first, second) in enumerate(values):
        x = frame.left + _pixel(slot * index + (slot - bar_w) / 2)
        h1 = scale.height_of(first)
        h2 = scale.height_of(first + second) - h1
        frame.out.append(
            f'<rect x="{x}" y="{frame.base_y - h1}" width="{bar_w}" height="{h1}"'
            f' fill="{_LINE}"/><rect x="{x}" y="{frame.base_y - h1 - h2}" width="{bar_w}"'
            f' height="{h2}" fill="{_SECOND}"/><text x="{x + bar_w // 2}"'
            f' y="{frame.base_y - h1 - h2 - 5}" text-anchor="middle" fill="{_TEXT}">'
            f"{escape(f.money(first + second))}</text>"
        )
    frame.axis_labels([label for label, _a, _b in values], slot)


@dataclass(frozen=True)
class ScenarioChart(_Chart):
    """The scenarios side by side: each one's total owed, delta and interest stacked."""

    comparison: ScenarioComparison
    width: int = 720
    height: int = 300
    locale: str = "en_US"

    @_own_context
    def svg(self) -> str:
        """The chart as a standalone ``<svg>`` element."""
        first = self.comparison.statements[0]
        f = Formatter(first.currency, self.locale)
        _ = f.gettext
        title = _("Total owed by scenario ({currency}, valued on {date})").format(
            currency=first.currency, date=f.day(first.as_of)
        )
        frame = _Frame(self.width, self.height, title)
        values = [
            (s.scenario, s.totals.delta, s.totals.interest) for s in self.comparison.statements
        ]
        _bars(frame, values, f)
        frame.legend([(_LINE, _("re-billed delta"), False), (_SECOND, _("interest"), False)])
        return frame.close()


@dataclass(frozen=True)
class SensitivityChart(_Chart):
    """The total owed as one assumption varies: one stacked bar per value of it."""

    title: str
    currency: str
    points: tuple[tuple[str, Decimal, Decimal], ...]
    """``(value of the assumption, delta, interest)``, in the order shown."""
    width: int = 720
    height: int = 300
    locale: str = "en_US"

    @_own_context
    def svg(self) -> str:
        """The chart as a standalone ``<svg>`` element."""
        f = Formatter(self.currency, self.locale)
        _ = f.gettext
        frame = _Frame(self.width, self.height, self.title)
        _bars(frame, self.points, f)
        frame.legend([(_LINE, _("re-billed delta"), False), (_SECOND, _("interest"), False)])
        return frame.close()


def rate_sensitivity(
    case: BackbillCase,
    rates: Iterable[Decimal | int | str],
    *,
    scenario: str | None = None,
    locale: str | Locale = "en_US",
) -> SensitivityChart:
    """The total owed of ``scenario`` at each annual interest rate of ``rates``."""
    f = Formatter(case.currency, locale)
    _ = f.gettext
    points = []
    for rate in rates:
        statement = case.statement(scenario, interest=case.interest.with_rates(rate))
        shown = f.percent(to_decimal(rate, "rates").scaleb(2, context=_CONTEXT))
        points.append((shown, statement.totals.delta, statement.totals.interest))
    title = _("Sensitivity to the interest rate ({currency})").format(currency=case.currency)
    return SensitivityChart(title, case.currency, tuple(points), locale=str(f.locale))


def date_sensitivity(
    case: BackbillCase,
    dates: Iterable[date],
    *,
    scenario: str | None = None,
    locale: str | Locale = "en_US",
) -> SensitivityChart:
    """The total owed of ``scenario`` valued on each date of ``dates`` (lookback included)."""
    f = Formatter(case.currency, locale)
    _ = f.gettext
    points = []
    for day in dates:
        totals = case.statement(scenario, as_of=day).totals
        points.append((f.day(day), totals.delta, totals.interest))
    title = _("Sensitivity to the valuation date ({currency})").format(currency=case.currency)
    return SensitivityChart(title, case.currency, tuple(points), locale=str(f.locale))
