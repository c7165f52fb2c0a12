"""Server-side SVG bar charts for the admin's Analytics page.

No script and no ``style`` attribute: the markup carries classes only (colours, fonts and
sizes come from ``static/apranova_payments/analytics.css``, in the admin's own CSS variables,
so the charts follow its light and dark themes) and SVG geometry attributes, which a strict
Content-Security-Policy allows. Every bar has a ``<title>`` (the browser's tooltip and what a
screen reader says); the chart has ``role="img"`` and a label.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 720, 260
#: Room for the axis text, which analytics.css sets large enough to read on a phone (the chart
#: is scaled down to the screen's width there).
LEFT, RIGHT, TOP, BOTTOM = 96, 8, 14, 40
#: Horizontal grid lines above zero.
TICKS = 4


@dataclass(frozen=True)
class Bar:
    """One period's bar: ``segments`` stacked from the bottom, each ``(value, css class)``."""

    label: str
    title: str
    segments: Sequence[tuple[Decimal | int, str]]

    @property
    def total(self) -> Decimal:
        return sum((Decimal(value) for value, _ in self.segments), Decimal(0))


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten at least ``value`` (1 for 0)."""
    if value <= 0:
        return Decimal(1)
    power = Decimal(10) ** (value.adjusted())
    for step in (1, 2, Decimal("2.5"), 5, 10):
        if value <= power * step:
            return power * step
    return power * 10  # pragma: no cover - 10 is always enough


def bar_chart(bars: Sequence[Bar], *, chart_id: str, label: str, tick_text: Callable[[Decimal], str],
              css_class: str = "") -> SafeString:
    """A bar chart of ``bars`` (oldest first) with ``TICKS`` grid lines labelled by
    ``tick_text`` and the first, middle and last periods under the axis; ``chart_id`` (unique
    in the page) names its title for ``aria-labelledby``."""
    top = nice_ceiling(max((bar.total for bar in bars), default=Decimal(0)))
    plot_width, plot_height = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = Decimal(plot_width) / max(len(bars), 1)
    gap = min(slot * Decimal("0.2"), Decimal(6))

    def y(value: Decimal) -> Decimal:
        return TOP + plot_height - value / top * plot_height

    grid = format_html_join("", '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                                '<text class="tick" x="{}" y="{}">{}</text>', (
        (LEFT, WIDTH - RIGHT, _n(y(top * i / TICKS)), _n(y(top * i / TICKS)), LEFT - 6,
         _n(y(top * i / TICKS) + 5), tick_text(top * i / TICKS)) for i in range(TICKS + 1)))
    columns = []
    for index, bar in enumerate(bars):
        x, bottom, rects = LEFT + slot * index + gap / 2, Decimal(0), []
        for value, segment_class in bar.segments:
            if value:
                rects.append(format_html('<rect class="{}" x="{}" y="{}" width="{}" height="{}"/>', segment_class,
                                         _n(x), _n(y(bottom + Decimal(value))), _n(slot - gap),
                                         _n(Decimal(value) / top * plot_height)))
            bottom += Decimal(value)
        # An invisible full-height target, so even an empty period has its tooltip.
        target = format_html('<rect class="target" x="{}" y="{}" width="{}" height="{}"/>',
                             _n(LEFT + slot * index), TOP, _n(slot), plot_height)
        columns.append(format_html('<g class="bar"><title>{}</title>{}{}</g>', bar.title, target,
                                   mark_safe("".join(rects))))  # noqa: S308 - built by format_html above
    labels = format_html_join("", '<text class="period {}" x="{}" y="{}">{}</text>', (
        (anchor, _n(LEFT + slot * index + slot / 2), HEIGHT - 12, bars[index].label)
        for index, anchor in _label_positions(len(bars))))
    return format_html(
        '<svg class="apranova-chart {}" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" '
        'xmlns="http://www.w3.org/2000/svg"><title id="{}">{}</title>{}<g class="bars">{}</g>'
        '<line class="axis" x1="{}" x2="{}" y1="{}" y2="{}"/>{}</svg>',
        css_class, WIDTH, HEIGHT, chart_id, chart_id, label, grid, mark_safe("".join(columns)),  # noqa: S308
        LEFT, WIDTH - RIGHT, TOP + plot_height, TOP + plot_height, labels,
    )


def _label_positions(bars: int) -> list[tuple[int, str]]:
    """Which bars get a period label under the axis: the first, the middle and the last."""
    if bars == 0:
        return []
    picked = sorted({0, (bars - 1) // 2, bars - 1})
    return [(i, "start" if i == 0 and bars > 1 else "end" if i == bars - 1 and bars > 1 else "middle")
            for i in picked]


def _n(value: Decimal | int) -> str:
    """A coordinate, to a tenth of a unit."""
    return f"{Decimal(value):.1f}"
