"""The monitoring chart's geometry: MFA success rate per factor per day as grouped bars.

Computed here and drawn by the template as inline SVG, so the chart needs no script and no
inline style (the CSP allows neither). No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from authserver.monitoring import FACTORS, FactorDay

WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 40, 28, 10  # room for the axis labels
GAP = 0.25  # of each day's slot left empty between days


@dataclass(frozen=True)
class Bar:
    """One factor's success rate on one day; ``title`` is its tooltip and accessible text."""

    x: float
    y: float
    width: float
    height: float
    factor: str
    day: str
    rate: int  # percent
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_bottom: float
    bars: list[Bar]
    days: list[tuple[float, str]]  # label position and text ("11-27")
    grid: list[tuple[float, str]]  # y and label ("50%")


def success_chart(rows: list[FactorDay]) -> Chart:
    """Bars for every (day, factor) with at least one attempt; a day without any stays empty."""
    days = [list(day_rows) for _, day_rows in groupby(rows, key=lambda row: row.day)]
    slot = (WIDTH - LEFT) / max(1, len(days))
    bar_width = slot * (1 - GAP) / len(FACTORS)
    plot = HEIGHT - BOTTOM - TOP
    bars, labels = [], []
    for index, day_rows in enumerate(days):
        start = LEFT + index * slot + slot * GAP / 2
        labels.append((start + slot * (1 - GAP) / 2, day_rows[0].day.strftime("%m-%d")))
        for row in day_rows:
            if row.success_rate is None:
                continue
            height = plot * row.success_rate
            bars.append(Bar(
                x=start + FACTORS.index(row.factor) * bar_width, y=TOP + plot - height,
                width=bar_width, height=height, factor=row.factor, day=row.day.isoformat(),
                rate=round(row.success_rate * 100), title=_title(row)))
    grid = [(TOP + plot * (1 - share), f"{round(share * 100)}%") for share in (0, 0.5, 1)]
    return Chart(WIDTH, HEIGHT, TOP + plot, bars, labels, grid)


def _title(row: FactorDay) -> str:
    rate = round((row.success_rate or 0) * 100)
    return (f"{row.factor} on {row.day.isoformat()}: {rate}% successful "
            f"({row.successes} of {row.successes + row.failures}), {row.lockouts} lockout(s)")
