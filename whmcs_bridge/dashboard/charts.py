"""Chart geometry for server-side SVG (pure functions; the Jinja templates only draw).

Why server-side SVG: the dashboard must work offline and behind strict firewalls, with no CDN
and no JavaScript chart library; an SVG computed here is also trivially testable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: colours per SLA state (also used by the table badges, so a state looks the same everywhere)
STATE_COLOURS: dict[str, str] = {
    "breached": "#c62828",
    "at_risk": "#ef6c00",
    "on_track": "#2e7d32",
    "paused": "#6d6d9e",
    "met": "#1565c0",
    "not_applicable": "#8a8a8a",
}
WINDOW_COLOURS = {7: "#1565c0", 30: "#90caf9"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # drawn next to the bar
    title: str  # tooltip (<title>), for people who hover
    key: str = ""


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[tuple[float, float, str], ...]  # (x, y, text) axis / legend text
    lines: tuple[tuple[float, float, float, float], ...] = ()  # gridlines


def compliance_chart(percentages: Mapping[str, Mapping[int, float | None]],
                     levels: Sequence[str], windows: Sequence[int], *,
                     level_names: Mapping[str, str], window_names: Mapping[int, str],
                     no_data: str, width: int = 460) -> Chart:
    """Grouped horizontal bars: one group per level, one bar per window, 0–100 %.

    ``percentages[level][days]`` is the share of replies in time, or None without data.
    """
    left, right, bar_h, gap, group_gap, top = 90, 50, 14, 4, 16, 24
    plot_w = width - left - right
    bars: list[Bar] = []
    labels: list[tuple[float, float, str]] = []
    y = top
    for level in levels:
        group_top = y
        for days in windows:
            pct = percentages.get(level, {}).get(days)
            w = 0.0 if pct is None else max(0.0, min(100.0, pct)) / 100 * plot_w
            text = no_data if pct is None else f"{pct:.0f}%"
            bars.append(Bar(left, y, round(w, 2), bar_h, WINDOW_COLOURS.get(days, "#1565c0"),
                            text, f"{level_names.get(level, level)} · "
                                  f"{window_names.get(days, days)}: {text}",
                            key=f"{level}-{days}"))
            y += bar_h + gap
        labels.append((4, group_top + (y - group_top) / 2 + 4, level_names.get(level, level)))
        y += group_gap
    grid = tuple((left + plot_w * f, top - 6, left + plot_w * f, y - group_gap)
                 for f in (0, 0.5, 1))
    for f in (0, 0.5, 1):
        labels.append((left + plot_w * f - 8, top - 10, f"{int(f * 100)}%"))
    legend_y = y + 4
    x = left
    for days in windows:
        bars.append(Bar(x, legend_y, 10, 10, WINDOW_COLOURS.get(days, "#1565c0"), "",
                        window_names.get(days, str(days)), key=f"legend-{days}"))
        labels.append((x + 14, legend_y + 9, window_names.get(days, str(days))))
        x += 120
    return Chart(width, int(legend_y + 20), tuple(bars), tuple(labels), grid)


def state_chart(counts: Mapping[str, int], order: Sequence[str], *,
                names: Mapping[str, str], width: int = 460) -> Chart:
    """One stacked bar of open tickets by SLA state; the legend carries the counts (a label
    after each segment would sit on the next one)."""
    left, top, bar_h = 10, 10, 26
    plot_w = width - 2 * left
    total = sum(counts.get(s, 0) for s in order)
    bars: list[Bar] = []
    labels: list[tuple[float, float, str]] = []
    x = float(left)
    for state in order:
        n = counts.get(state, 0)
        if n and total:
            w = plot_w * n / total
            bars.append(Bar(round(x, 2), top, round(w, 2), bar_h, STATE_COLOURS[state],
                            "", f"{names.get(state, state)}: {n}", key=state))
            x += w
    legend_y = top + bar_h + 14
    for col, state in enumerate(order):
        lx = left + (col % 3) * (plot_w / 3)
        ly = legend_y + (col // 3) * 18
        bars.append(Bar(round(lx, 2), ly, 10, 10, STATE_COLOURS[state], "",
                        names.get(state, state), key=f"legend-{state}"))
        labels.append((round(lx + 14, 2), ly + 9,
                       f"{names.get(state, state)} ({counts.get(state, 0)})"))
    rows = (len(order) + 2) // 3
    return Chart(width, int(legend_y + rows * 18 + 4), tuple(bars), tuple(labels))
