"""Charts drawn on the server as inline SVG: no chart library, no script, nothing fetched.

Each function returns the SVG's geometry as plain values; the template draws it (so Jinja
escapes every label). Colours come from classes in ``hall.css``: the page's style sheet is
the only style the policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "BarChart", "Gauge", "bar_chart", "gauge"]

WIDTH = 420
ROW = 26
LABEL = 140


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    text: str
    y: int
    width: int
    css: str


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bars: list[Bar]


def bar_chart(rows: Sequence[tuple[str, float, str]], *, css: Sequence[str] = ()) -> BarChart:
    """Horizontal bars, one per ``(label, value, shown text)``, scaled to the largest."""
    top = max((value for _, value, _ in rows), default=0) or 1
    span = WIDTH - LABEL - 50
    bars = [
        Bar(label, value, text, i * ROW, round(span * value / top), css[i] if i < len(css) else "")
        for i, (label, value, text) in enumerate(rows)
    ]
    return BarChart(WIDTH, max(ROW * len(bars), ROW), LABEL, bars)


@dataclass(frozen=True, slots=True)
class Gauge:
    """A rate from 0 to 1 as a filled bar; ``rate`` None: nothing to measure yet."""

    rate: float | None
    width: int
    filled: int
    text: str


def gauge(rate: float | None, width: int = 240) -> Gauge:
    if rate is None:
        return Gauge(None, width, 0, "—")
    return Gauge(rate, width, round(width * rate), f"{rate * 100:.1f}%")
