"""Small inline SVG charts of the dashboard's last hour, drawn on the server.

No JavaScript and nothing loaded from elsewhere: the management port must work
offline and tell no third party what it shows. Every piece of text goes
through Django's escaping (format_html), and the values are numbers the
proxy computed itself. Colours come from CSS classes the dashboard template
defines with the admin's own colour variables (so the dark theme applies).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from jmapsite.dashboard import duration_label
from jmapsite.dashboard_history import DashboardHistory

WIDTH, HEIGHT = 480, 130
# Plot area inside the picture: room for the scale on the left and the times below.
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 10, 22


def _minute_label(minute: int) -> str:
    return timezone.localtime(datetime.fromtimestamp(minute * 60, tz=UTC)).strftime("%H:%M")


# Scale tops for durations: a label reads "2 min", never "1 min" for 119 s.
_DURATION_TOPS = (5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600, 86400)


def _scale_max(values: Sequence[float | None]) -> float:
    """The largest value, at least 1 (an empty hour draws flat)."""
    present = [v for v in values if v is not None]
    return max([1.0, *present])


def count_scale_top(largest: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is at least `largest`."""
    power = 1.0
    while True:
        for step in (1, 2, 5):
            if step * power >= largest:
                return step * power
        power *= 10


def duration_scale_top(largest: float) -> float:
    """The smallest round duration (_DURATION_TOPS, then whole days) at least `largest`."""
    for top in _DURATION_TOPS:
        if top >= largest:
            return float(top)
    return float(-(-largest // 86400) * 86400)


def _num(value: float) -> str:
    """A coordinate as SVG text (format_html escapes its arguments, so numbers go in as text)."""
    return f"{value:.1f}"


def _x(index: int, count: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * (index + 0.5) / max(1, count)


def _y(value: float, top: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - value / top)


def _frame(*, top_label: str, minutes: Sequence[int], title: str, body: SafeString, legend: SafeString) -> SafeString:
    first = _minute_label(minutes[0]) if minutes else ""
    last = _minute_label(minutes[-1]) if minutes else ""
    return format_html(
        '<svg class="jmap-chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}"'
        ' role="img" aria-label="{title}">'
        "<title>{title}</title>"
        '<line class="axis" x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}"/>'
        '<line class="grid" x1="{left}" y1="{top}" x2="{right}" y2="{top}"/>'
        '<text class="scale" x="{label_x}" y="{top_text}" text-anchor="end">{top_label}</text>'
        '<text class="scale" x="{label_x}" y="{bottom}" text-anchor="end">0</text>'
        '<text class="scale" x="{left}" y="{time_y}">{first}</text>'
        '<text class="scale" x="{right}" y="{time_y}" text-anchor="end">{last}</text>'
        "{body}{legend}</svg>",
        w=WIDTH,
        h=HEIGHT,
        title=title,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        label_x=LEFT - 4,
        top_text=TOP + 4,
        top_label=top_label,
        time_y=HEIGHT - 6,
        first=first,
        last=last,
        body=body,
        legend=legend,
    )


def requests_chart_svg(history: DashboardHistory) -> SafeString:
    """Bars: JMAP-port requests per minute over the hour (gaps where nothing sampled)."""
    values = history.requests
    top = count_scale_top(_scale_max([float(v) if v is not None else None for v in values]))
    width = max(1.0, (WIDTH - LEFT - RIGHT) / max(1, len(values)) - 1)
    bars = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}: {} requests</title></rect>',
        (
            (
                _num(_x(i, len(values)) - width / 2),
                _num(_y(float(v), top)),
                _num(width),
                _num(HEIGHT - BOTTOM - _y(float(v), top)),
                _minute_label(m),
                v,
            )
            for i, (m, v) in enumerate(zip(history.minutes, values, strict=True))
            if v is not None
        ),
    )
    total = sum(v for v in values if v is not None)
    return _frame(
        top_label=f"{int(top)}",
        minutes=history.minutes,
        title=f"JMAP requests per minute, last hour: {total} in all",
        body=bars,
        legend=SafeString(""),
    )


def _polylines(values: Sequence[float | None], top: float, css: str) -> SafeString:
    """One polyline per run of consecutive samples; a lone sample is a dot."""
    runs: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((_x(i, len(values)), _y(v, top)))
    parts = []
    for run in runs:
        if len(run) == 1:
            parts.append(format_html('<circle class="{}" cx="{}" cy="{}" r="2"/>', css, *map(_num, run[0])))
        elif run:
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(format_html('<polyline class="{}" points="{}"/>', css, points))
    return SafeString("".join(parts))


def lag_chart_svg(history: DashboardHistory, *, label: Callable[[float], str] = duration_label) -> SafeString:
    """Lines: the worst and the median sync lag, sampled each minute."""
    top = duration_scale_top(_scale_max([*history.lag_worst, *history.lag_median]))
    lines = SafeString(
        _polylines(history.lag_worst, top, "line worst") + _polylines(history.lag_median, top, "line median")
    )
    legend = format_html(
        '<text class="legend worst" x="{}" y="{}">worst</text>'
        '<text class="legend median" x="{}" y="{}">median</text>',
        LEFT + 6, TOP + 12, LEFT + 56, TOP + 12,
    )  # fmt: skip
    latest = next((v for v in reversed(history.lag_worst) if v is not None), None)
    summary = f"latest worst {label(latest)}" if latest is not None else "no sample yet"
    return _frame(
        top_label=label(top),
        minutes=history.minutes,
        title=f"Sync lag over the last hour, worst and median: {summary}",
        body=lines,
        legend=legend,
    )
