"""A bar chart of usage against the allowance, as inline SVG text: no plotting library needed.

One bar per statement line (orange where usage exceeds the allowance, green within it, grey for
time-barred periods), a dashed line for the allowance, and an axis that is logarithmic when usage
runs more than :data:`LOG_RATIO` times above the allowance (millions of reads against an
allowance of ten thousand would otherwise leave the allowance invisible at the bottom).

Coordinates are computed with ``Decimal`` and rounded to whole pixels; no ``float`` is used.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from meterlib.backbill.statement import Statement

__all__ = ["LOG_RATIO", "compact_number", "usage_chart_svg"]

#: Usage this many times above the allowance (or spread over this many times) switches the
#: axis to a logarithmic scale.
LOG_RATIO = 50

_CONTEXT = decimal.Context(prec=28, rounding=decimal.ROUND_HALF_EVEN)
_OVER = "#d9603b"
_WITHIN = "#4c9a6a"
_BARRED = "#b7b7b7"
_LINE = "#1f4e79"
_SUFFIXES = ((Decimal(10) ** 12, "T"), (Decimal(10) ** 9, "G"), (Decimal(10) ** 6, "M"),
             (Decimal(10) ** 3, "k"))


def compact_number(value: Decimal) -> str:
    """``12500000`` -> ``12.5M``: a short axis label (locale-free)."""
    for size, suffix in _SUFFIXES:
        if abs(value) >= size:
            scaled = _CONTEXT.divide(value, size).quantize(Decimal("0.1")).normalize()
            return f"{scaled:f}{suffix}"
    return f"{value.normalize():f}"


def _pixel(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=decimal.ROUND_HALF_UP))


class _Scale:
    """Maps a quantity to a height in pixels, linearly or by powers of ten."""

    def __init__(self, values: list[Decimal], plot_height: int) -> None:
        positive = [v for v in values if v > 0]
        top = max(positive, default=Decimal(1))
        bottom = min(positive, default=Decimal(1))
        self.height = Decimal(plot_height)
        self.log = top / bottom > LOG_RATIO
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


def usage_chart_svg(statement: Statement, *, width: int = 720, height: int = 300) -> str:
    """Usage per period against the allowance, as a standalone ``<svg>`` element."""
    lines = statement.lines
    left, right, top, bottom = 64, 16, 40, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    allowances = [line.allowance for line in lines if line.allowance is not None]
    scale = _Scale([line.usage for line in lines] + allowances, plot_h)
    base_y = top + plot_h
    slot = Decimal(plot_w) / max(len(lines), 1)
    bar_w = max(_pixel(slot * Decimal("0.7")), 1)
    kind = "log scale" if scale.log else "linear scale"
    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
            f' viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif"'
            f' font-size="11" role="img" aria-label="Usage against allowance per period">'
        ),
        f'<rect width="{width}" height="{height}" fill="white"/>',
        (
            f'<text x="{left}" y="16" font-size="13" font-weight="bold" fill="#222">'
            f"Usage against allowance ({escape(statement.unit)} per period, {kind})</text>"
        ),
    ]
    for tick in scale.ticks:
        y = base_y - scale.height_of(tick) if tick > 0 else base_y
        out.append(
            f'<line x1="{left}" y1="{y}" x2="{left + plot_w}" y2="{y}" stroke="#e4e4e4"/>'
            f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" fill="#555">'
            f"{compact_number(tick)}</text>",
        )
    rotate = len(lines) > 12
    for index, line in enumerate(lines):
        x = left + _pixel(slot * index + (slot - bar_w) / 2)
        h = scale.height_of(line.usage)
        over = line.allowance is not None and line.usage > line.allowance
        color = _BARRED if line.barred else (_OVER if over else _WITHIN)
        title = f"{line.label}: {line.usage:f} {statement.unit}"
        if line.barred:
            title += " (time-barred)"
        out.append(
            f'<rect x="{x}" y="{base_y - h}" width="{bar_w}" height="{h}" fill="{color}">'
            f"<title>{escape(title)}</title></rect>",
        )
        cx = x + bar_w // 2
        if rotate:
            out.append(
                f'<text x="{cx}" y="{base_y + 12}" text-anchor="end" fill="#333"'
                f' transform="rotate(-45 {cx} {base_y + 12})">{escape(line.label)}</text>',
            )
        else:
            out.append(
                f'<text x="{cx}" y="{base_y + 16}" text-anchor="middle" fill="#333">'
                f"{escape(line.label)}</text>",
            )
    out.extend(_allowance_path(statement, scale, left, slot, base_y))
    out.append(
        f'<line x1="{left}" y1="{base_y}" x2="{left + plot_w}" y2="{base_y}" stroke="#444"/>'
    )
    legend_y = 30
    legend = [(_OVER, "over the allowance"), (_WITHIN, "within it"), (_BARRED, "time-barred")]
    x = left
    for color, text in legend:
        out.append(
            f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{legend_y}" fill="#333">{text}</text>',
        )
        x += 24 + 7 * len(text)
    out.append(
        f'<line x1="{x}" y1="{legend_y - 4}" x2="{x + 22}" y2="{legend_y - 4}" stroke="{_LINE}"'
        f' stroke-width="2" stroke-dasharray="5 3"/>'
        f'<text x="{x + 26}" y="{legend_y}" fill="#333">allowance</text>',
    )
    out.append("</svg>")
    return "\n".join(out)


def _allowance_path(
    statement: Statement, scale: _Scale, left: int, slot: Decimal, base_y: int
) -> list[str]:
    """A dashed step line at each period's allowance (absent where a period has none)."""
    parts = []
    for index, line in enumerate(statement.lines):
        if line.allowance is None:
            continue
        y = base_y - scale.height_of(line.allowance)
        x1 = left + _pixel(slot * index)
        x2 = left + _pixel(slot * (index + 1))
        parts.append(
            f'<line x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{_LINE}" stroke-width="2"'
            f' stroke-dasharray="5 3"/>',
        )
    return parts
