"""The dashboard's chart, drawn on the server as inline SVG: no JavaScript, nothing from a CDN.

One bar panel per currency (each with its own scale: Stars and roubles are never on one axis),
then the number of purchases per day as a line.
"""

import math

from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from backoffice.dashboard import Day
from shop.money import currency_symbol, format_price

WIDTH = 960
LEFT = 64  # room for the y-axis labels
RIGHT = 12
TITLE = 24
PLOT = 110
AXIS = 22  # room for the date labels
GAP = 16
PANEL = TITLE + PLOT + AXIS + GAP
MAX_TICKS = 4
LABEL_EVERY = 7  # days between date labels, counted back from today


def _ticks(maximum: int) -> list[int]:
    """0 and round steps (1, 2 or 5, times a power of ten) up to at least `maximum`, at most MAX_TICKS steps."""
    maximum = max(maximum, 1)
    exponent = 0
    while True:
        for mantissa in (1, 2, 5):
            step = mantissa * 10**exponent
            steps = math.ceil(maximum / step)
            if steps <= MAX_TICKS:
                return [step * i for i in range(steps + 1)]
        exponent += 1


def _px(value: float) -> str:
    return f"{value:.1f}"


def _number(value: int) -> str:
    return formats.number_format(value, force_grouping=True)


def _day_label(day: Day) -> str:
    return formats.date_format(day.date, "j M")


class _Panel:
    def __init__(self, top: int, days: list[Day], values: list[int], title: str):
        self.top = top
        self.days = days
        self.values = values
        self.title = title
        self.ticks = _ticks(max(values, default=0))
        self.slot = (WIDTH - LEFT - RIGHT) / len(days)
        self.base = top + TITLE + PLOT

    def x(self, index: int) -> float:
        return LEFT + self.slot * (index + 0.5)

    def y(self, value: int) -> float:
        return self.base - PLOT * value / self.ticks[-1]

    def frame(self) -> SafeString:
        grid = format_html_join(
            "",
            '<line class="chart-grid" x1="{0}" x2="{1}" y1="{2}" y2="{2}"/>'
            '<text class="chart-label" x="{3}" y="{4}" text-anchor="end">{5}</text>',
            ((LEFT, WIDTH - RIGHT, _px(self.y(t)), LEFT - 6, _px(self.y(t) + 4), _number(t)) for t in self.ticks),
        )
        dates = format_html_join(
            "",
            '<text class="chart-label" x="{}" y="{}" text-anchor="middle">{}</text>',
            (
                (_px(self.x(i)), self.base + 16, _day_label(day))
                for i, day in enumerate(self.days)
                if (len(self.days) - 1 - i) % LABEL_EVERY == 0
            ),
        )
        return format_html(
            '<text class="chart-title" x="{}" y="{}">{}</text>{}<line class="chart-axis" x1="{}" x2="{}" y1="{}" y2="{}"/>{}',
            LEFT,
            self.top + 14,
            self.title,
            grid,
            LEFT,
            WIDTH - RIGHT,
            self.base,
            self.base,
            dates,
        )


def _revenue_panel(top: int, days: list[Day], currency: str, series: int) -> SafeString:
    values = [day.revenue_in(currency) for day in days]
    panel = _Panel(top, days, values, _("Revenue, %(currency)s") % {"currency": currency_symbol(currency)})
    width = panel.slot * 0.7
    bars = format_html_join(
        "",
        '<rect class="chart-bar series-{}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect>',
        (
            (
                series,
                _px(panel.x(i) - width / 2),
                _px(panel.y(value)),
                _px(width),
                _px(panel.base - panel.y(value)),
                _day_label(day),
                format_price(value, currency),
            )
            for i, (day, value) in enumerate(zip(days, values, strict=True))
        ),
    )
    return panel.frame() + bars


def _purchases_panel(top: int, days: list[Day]) -> SafeString:
    values = [day.purchases for day in days]
    panel = _Panel(top, days, values, _("Purchases"))
    points = [(panel.x(i), panel.y(value)) for i, value in enumerate(values)]
    line = format_html('<polyline class="chart-line" points="{}"/>', " ".join(f"{_px(x)},{_px(y)}" for x, y in points))
    dots = format_html_join(
        "",
        '<circle class="chart-point" cx="{}" cy="{}" r="3.5"><title>{}: {}</title></circle>',
        ((_px(x), _px(y), _day_label(day), _number(value)) for (x, y), day, value in zip(points, days, values, strict=True)),
    )
    return panel.frame() + line + dots


def daily_chart(days: list[Day], currencies: list[str]) -> SafeString:
    """Revenue per currency and purchases for each of `days`, one panel under the other."""
    panels = [_revenue_panel(i * PANEL, days, currency, i) for i, currency in enumerate(currencies)]
    panels.append(_purchases_panel(len(currencies) * PANEL, days))
    height = (len(currencies) + 1) * PANEL - GAP
    title = _("Revenue and purchases per day, last %(days)d days") % {"days": len(days)}
    return format_html(
        '<svg class="shop-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg">{}</svg>',
        WIDTH,
        height,
        title,
        mark_safe("".join(panels)),  # built from format_html pieces above
    )
