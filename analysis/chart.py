"""Geometry of the outcome-over-N chart: one row per sweep line, one bar per stretch of equal
outcomes along N. Each row spans N = 1 .. its own last N (a 7-run boot sweep stays readable
next to a 1000-run one); the last N is written at the row's end. The template draws it as
inline SVG; this module only computes."""
from __future__ import annotations

import dataclasses

from .model import Outcome
from .unique import RunGroup

# Colour per outcome, worst first (every Outcome has one); an annotated panic is drawn apart
# from real ones, with EXPECTED_PANIC's colour.
COLOURS = {
    Outcome.CRASH: "#67000d", Outcome.PANIC: "#cb181d", Outcome.HANG: "#6a51a3",
    Outcome.CORRUPT: "#ae017e", Outcome.LEAK: "#f16913", Outcome.UNBALANCED: "#fdae6b",
    Outcome.SWALLOWED: "#fee391", Outcome.HANDLED: "#238b45", Outcome.COMPLETED: "#9ecae1",
    Outcome.INFRA: "#969696", Outcome.UNKNOWN: "#000000",
}
EXPECTED_PANIC = "expected-panic"
EXPECTED_PANIC_COLOUR = "#a1d99b"

# A run whose outcome is a failure keeps at least this width, so that one bad run among
# thousands stays visible; bad stretches are drawn over the good ones.
MIN_BAD_W = 4.0

LABEL_W = 230
PLOT_W = 640
END_W = 70
ROW_H = 18
ROW_GAP = 6
TOP = 24
LEGEND_H = 26


@dataclasses.dataclass
class Segment:
    x: float
    w: float
    outcome: str
    colour: str
    n_lo: int
    n_hi: int
    count: int

    @property
    def tooltip(self) -> str:
        ns = f"N={self.n_lo}" if self.n_lo == self.n_hi else f"N={self.n_lo}..{self.n_hi}"
        return f"{ns}: {self.outcome} ({self.count} run{'s' if self.count != 1 else ''})"


@dataclasses.dataclass
class Row:
    y: float
    label: str
    max_n: int
    segments: list[Segment]


@dataclasses.dataclass
class LegendItem:
    x: float
    y: float
    outcome: str
    colour: str
    count: int


@dataclasses.dataclass
class Chart:
    width: int
    height: int
    label_w: int
    plot_w: int
    row_h: int
    top: int
    rows: list[Row]
    legend: list[LegendItem]
    legend_y: float


def outcome_order() -> list[str]:
    """Every outcome key, worst first: Outcome's order, with an annotated (expected) panic
    just above handled."""
    keys = [o.value for o in Outcome]
    keys.insert(keys.index(Outcome.HANDLED.value), EXPECTED_PANIC)
    return keys


def rank(key: str) -> int:
    order = outcome_order()
    return order.index(key) if key in order else len(order)


def is_bad(key: str) -> bool:
    """A failure a reader must not miss: worse than an annotated panic, or unknown."""
    return key == Outcome.UNKNOWN.value or rank(key) < rank(EXPECTED_PANIC)


def colour(key: str) -> str:
    return EXPECTED_PANIC_COLOUR if key == EXPECTED_PANIC else COLOURS[Outcome.parse(key)]


def outcome_key(run) -> str:
    if run.outcome is Outcome.PANIC and run.expected_panic:
        return EXPECTED_PANIC
    return run.outcome.value


def build_chart(groups: list[RunGroup]) -> Chart:
    rows = []
    totals: dict[str, int] = {}
    for i, g in enumerate(groups):
        scale = PLOT_W / max(g.max_n, 1)
        y = TOP + i * (ROW_H + ROW_GAP)
        segs: list[Segment] = []
        for r in g.runs:
            key = outcome_key(r)
            totals[key] = totals.get(key, 0) + 1
            last = segs[-1] if segs else None
            if last and last.outcome == key and r.n <= last.n_hi + 1:
                last.n_hi = r.n
                last.count += 1
                last.w = (last.n_hi - last.n_lo + 1) * scale
                continue
            segs.append(Segment((r.n - 1) * scale, scale, key, colour(key), r.n, r.n, 1))
        rows.append(Row(y, g.label, g.max_n, _bad_on_top(segs)))
    legend_y = TOP + len(groups) * (ROW_H + ROW_GAP) + 14
    legend, x, y = [], 0.0, legend_y
    width = LABEL_W + PLOT_W + END_W
    for key in outcome_order():
        if key in totals:
            item_w = 20 + 7.0 * len(f"{key} ({totals[key]})") + 18
            if x and x + item_w > width:
                x, y = 0.0, y + LEGEND_H
            legend.append(LegendItem(x, y, key, colour(key), totals[key]))
            x += item_w
    height = int(y + LEGEND_H)
    return Chart(width, height, LABEL_W, PLOT_W, ROW_H, TOP, rows, legend, legend_y)


def _bad_on_top(segs: list[Segment]) -> list[Segment]:
    """The segments in drawing order: good ones first, then bad ones widened to MIN_BAD_W
    (kept inside the plot) so that they cover their neighbours instead of vanishing."""
    for s in segs:
        if is_bad(s.outcome) and s.w < MIN_BAD_W:
            s.x = max(0.0, min(s.x + s.w / 2 - MIN_BAD_W / 2, PLOT_W - MIN_BAD_W))
            s.w = MIN_BAD_W
    return sorted(segs, key=lambda s: is_bad(s.outcome))
