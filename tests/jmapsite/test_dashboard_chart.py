"""The dashboard's inline SVG charts (jmapsite.dashboard_chart): well-formed
SVG, one bar per sampled minute, lines broken where nothing was sampled,
round scale tops, the hour's first and last minute as labels."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from jmapsite.dashboard_chart import count_scale_top, duration_scale_top, lag_chart_svg, requests_chart_svg
from jmapsite.dashboard_history import DashboardHistory

SVG = "{http://www.w3.org/2000/svg}"
# 2023-11-14 22:13 UTC
FIRST_MINUTE = 28_333_333


def history(requests: list[int | None], worst: list[float | None]) -> DashboardHistory:
    minutes = list(range(FIRST_MINUTE, FIRST_MINUTE + len(requests)))
    median = [None if w is None else w / 2 for w in worst]
    return DashboardHistory(minutes=minutes, requests=requests, lag_worst=worst, lag_median=median)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it is well-formed


def title(chart: ET.Element) -> str:
    found = chart.find(f"{SVG}title")
    assert found is not None
    return found.text or ""


def test_one_bar_per_sampled_minute() -> None:
    chart = parse(requests_chart_svg(history([None, 0, 3, None, 250], [None] * 5)))
    bars = chart.findall(f"{SVG}rect")
    assert len(bars) == 3
    assert [bar.find(f"{SVG}title").text for bar in bars] == [  # type: ignore[union-attr]
        "22:14: 0 requests", "22:15: 3 requests", "22:17: 250 requests",
    ]  # fmt: skip
    heights = [float(bar.get("height", "0")) for bar in bars]
    assert heights[0] == 0 and 0 < heights[1] < heights[2]
    texts = [t.text for t in chart.findall(f"{SVG}text")]
    assert texts == ["500", "0", "22:13", "22:17"]
    assert title(chart) == "JMAP requests per minute, last hour: 253 in all"


def test_lag_lines_break_at_gaps() -> None:
    chart = parse(lag_chart_svg(history([None] * 7, [10.0, 20.0, None, 30.0, None, 40.0, 50.0])))
    lines = chart.findall(f"{SVG}polyline")
    dots = chart.findall(f"{SVG}circle")
    # worst: [10, 20] line, [30] dot, [40, 50] line; the median the same.
    assert len(lines) == 4 and len(dots) == 2
    assert {line.get("class") for line in lines} == {"line worst", "line median"}
    assert "latest worst 50 s" in title(chart)
    assert chart.findall(f"{SVG}text")[0].text == "1 min"  # 50 s rounds up to a minute


def test_an_empty_hour_draws_an_empty_frame() -> None:
    chart = parse(lag_chart_svg(history([None] * 60, [None] * 60)))
    assert chart.findall(f"{SVG}polyline") == [] and chart.findall(f"{SVG}circle") == []
    assert "no sample yet" in title(chart)
    assert parse(requests_chart_svg(history([None] * 60, [None] * 60))).findall(f"{SVG}rect") == []


@pytest.mark.parametrize(("largest", "top"), [(0.3, 1), (1, 1), (3, 5), (7, 10), (11, 20), (392, 500), (501, 1000)])
def test_count_scale_tops(largest: float, top: float) -> None:
    assert count_scale_top(largest) == top


@pytest.mark.parametrize(
    ("largest", "top"), [(1, 5), (50, 60), (119, 120), (3601, 7200), (86400, 86400), (86401, 2 * 86400)]
)
def test_duration_scale_tops(largest: float, top: float) -> None:
    assert duration_scale_top(largest) == top
