"""Kaplan-Meier figures: curves with censoring marks, numbers at risk, medians and HR/P.

The figure draws plain data (:class:`KMCurve`, :class:`KMPanel`: defined in
:mod:`analysis.figures.kmdata`, which needs no matplotlib, and importable from here too),
never computes a statistic: the analysis
script turns each :class:`~analysis.stats.survival.KMFit` into curve data with
:func:`km_curve_data` and passes the log-rank P and hazard ratio it computed. Every number
printed goes through :mod:`analysis.formatting`, so the figure and the prose agree.

- :func:`km_figure` draws one panel: curves, "+" censoring marks, a key (legend) with each arm's
  median (95% CI) beside its label, then the HR (95% CI) and the log-rank P, and a numbers-at-risk table
  under the x axis whose columns sit under the x ticks.
- :func:`km_panels` stacks several panels (A: PFS, B: OS) in one figure with bold letters.

Arms are told apart by line style, lightness and colour (:func:`~analysis.figures.style.arm_style`),
so the figure survives greyscale printing. Text is vector (SVG/PDF); save SVG with
``metadata={"Date": None}`` for byte-identical rebuilds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpecFromSubplotSpec, SubplotSpec
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker
from matplotlib.path import Path
from matplotlib.transforms import Bbox

from analysis.figures.kmdata import (
    KMCurve,
    KMPanel,
    annotation_lines,
    at_risk_at,
    check_panels,
    km_curve_data,
    nice_ticks,
)
from analysis.figures.style import arm_style, figure_context, new_figure
from analysis.formatting import Style, fmt_int, fmt_median_ci, fmt_number
from analysis.stats.estimates import MedianCI

__all__ = [
    "KMCurve",
    "KMPanel",
    "annotation_lines",
    "at_risk_at",
    "km_curve_data",
    "km_figure",
    "km_panels",
    "nice_ticks",
]

_LOCATIONS = ("upper right", "lower left", "center right", "lower right", "upper center", "center left",
              "upper left", "lower center")


def _tick_text(x: float, style: Style) -> str:
    return fmt_number(x, 0 if float(x).is_integer() else 1, style)


def _key_box(panel: KMPanel, styles: Sequence) -> AnchoredOffsetbox:
    """The key: a line sample and label per arm, its median (95% CI) beside it, then HR and P.

    One block (not a legend plus a loose text) so it can be placed in one free corner.
    """
    st = panel.style
    text = {"fontsize": 8}
    show_medians = panel.show_medians and any(c.median is not None for c in panel.curves)
    samples, labels, medians = [], [], []
    if show_medians:
        samples.append(DrawingArea(26, 10))
        labels.append(TextArea("", textprops=text))
        medians.append(TextArea("Median (95% CI)", textprops={**text, "gid": "km-median-header"}))
    for c, sty in zip(panel.curves, styles, strict=True):
        area = DrawingArea(26, 10)
        area.add_artist(Line2D([1, 25], [5, 5], color=sty.color, linestyle=sty.linestyle, linewidth=1.6))
        area.add_artist(Line2D([13], [5], color=sty.color, marker="+", markersize=6, markeredgewidth=1.1))
        samples.append(area)
        labels.append(TextArea(c.label, textprops={**text, "gid": "km-legend-label"}))
        if show_medians:
            m = c.median or MedianCI(None, None, None)
            medians.append(TextArea(fmt_median_ci(m.median, m.lower, m.upper, panel.median_digits, st),
                                    textprops={**text, "gid": "km-median"}))
    columns = [VPacker(children=samples, pad=0, sep=4, align="center"),
               VPacker(children=labels, pad=0, sep=4, align="left")]
    if show_medians:
        columns.append(VPacker(children=medians, pad=0, sep=4, align="left"))
    rows: list = [HPacker(children=columns, pad=0, sep=6, align="center")]
    for line in annotation_lines(panel)[len(panel.curves) + 1 if show_medians else 0:]:
        rows.append(TextArea(line, textprops={**text, "gid": "km-annotation"}))
    box = AnchoredOffsetbox(loc="upper right", child=VPacker(children=rows, pad=0, sep=5, align="left"),
                            pad=0.3, borderpad=0.4, frameon=True)
    box.patch.set(facecolor="white", edgecolor="none", alpha=0.9)
    box.set_gid("km-key")
    return box


def _stairs(curve: KMCurve, x_end: float) -> tuple[np.ndarray, np.ndarray]:
    """Explicit staircase vertices, so the drawn path is exactly the curve (for overlap checks)."""
    t = np.asarray(curve.step_time, dtype=float)
    s = np.asarray(curve.step_surv, dtype=float)
    end = max(min(curve.last_time, x_end), t[-1])
    xs = np.repeat(np.append(t, end), 2)[1:-1]
    ys = np.repeat(s, 2)
    return xs, ys


def _overlaps(box: Bbox, paths: Sequence[Path], points: np.ndarray, others: Sequence[Bbox]) -> bool:
    padded = box.expanded(1.04, 1.08)
    if any(p.intersects_bbox(padded, filled=False) for p in paths):
        return True
    if len(points) and padded.count_contains(points) > 0:
        return True
    return any(padded.overlaps(o) for o in others)


def _place(
    fig: Figure, artist: AnchoredOffsetbox, paths: Sequence[Path], points: np.ndarray, others: Sequence[Bbox]
) -> None:
    """Move the key to the first corner where it hides no curve or censoring mark."""
    renderer = fig.canvas.get_renderer()
    for loc in _LOCATIONS:
        artist.loc = AnchoredOffsetbox.codes[loc]
        box = artist.get_window_extent(renderer)
        if not _overlaps(box, paths, points, others):
            return
    artist.loc = AnchoredOffsetbox.codes[_LOCATIONS[0]]  # white backing keeps it legible


def _draw_panel(
    fig: Figure, spec: SubplotSpec, panel: KMPanel, letter: str | None = None
) -> tuple[Axes, Axes]:
    st = panel.style
    n_arms = len(panel.curves)
    table_height = 0.5 + 0.32 * n_arms
    inner = GridSpecFromSubplotSpec(2, 1, subplot_spec=spec, height_ratios=[4.2, table_height], hspace=0.0)
    ax = fig.add_subplot(inner[0])
    tab = fig.add_subplot(inner[1], sharex=ax)

    last = max(c.last_time for c in panel.curves)
    ticks = tuple(panel.xticks) if panel.xticks is not None else nice_ticks(last)
    x_end = max(ticks[-1], last)

    styles = []
    for i, c in enumerate(panel.curves):
        sty = arm_style(i)
        xs, ys = _stairs(c, x_end)
        ax.plot(xs, ys, color=sty.color, linestyle=sty.linestyle, linewidth=1.6,
                solid_capstyle="butt", dash_capstyle="butt", label=c.label, zorder=3, gid="km-curve")
        if c.censor_time:
            ax.plot(c.censor_time, c.censor_surv, linestyle="none", marker="+", markersize=6,
                    markeredgewidth=1.1, color=sty.color, zorder=4)
        styles.append(sty)

    ax.set_xlim(0, x_end)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks, [_tick_text(t, st) for t in ticks])
    yt = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    ax.set_yticks(yt, [fmt_number(y, 1, st) for y in yt])
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(panel.ylabel)
    ax.spines["left"].set_bounds(0, 1)
    ax.tick_params(axis="x", labelbottom=True)
    if panel.title:
        ax.set_title(panel.title, loc="left", fontweight="bold" if letter is None else "normal", pad=8)
    if letter:
        ax.text(-0.11, 1.04, letter, transform=ax.transAxes, fontsize=13, fontweight="bold",
                ha="right", va="bottom")

    key = _key_box(panel, styles)
    ax.add_artist(key)

    # numbers-at-risk table: one row per arm, numbers centred under the x ticks
    tab.set_ylim(n_arms - 0.5, -1.1)
    for i, c in enumerate(panel.curves):
        for t, n in zip(ticks, at_risk_at(c, ticks), strict=True):
            tab.text(t, i, fmt_int(n, st), ha="center", va="center", fontsize=8, gid="at-risk")
    tab.set_yticks(range(n_arms), list(panel.risk_labels or [c.label for c in panel.curves]))
    for i, lab in enumerate(tab.get_yticklabels()):
        lab.set_color(arm_style(i).color)
        lab.set_fontsize(8)
        lab.set_gid("at-risk-label")
    tab.tick_params(axis="y", pad=14)  # clear of the numbers centred on the t = 0 tick
    tab.text(0, 1.0, panel.risk_title, transform=tab.transAxes, ha="left", va="top", fontsize=8,
             fontweight="bold")
    tab.tick_params(axis="both", length=0, labelbottom=False)
    for side in ("top", "right", "bottom", "left"):
        tab.spines[side].set_visible(False)
    tab.patch.set_visible(False)
    return ax, tab


def _finish_layout(fig: Figure, axes: Sequence[Axes]) -> None:
    """Lay out, then move each panel's key to a corner where it hides no curve."""
    fig.get_layout_engine().execute(fig)  # the layout (it measures the text), nothing drawn
    for ax in axes:
        paths = [ln.get_transform().transform_path(ln.get_path()) for ln in ax.get_lines()
                 if ln.get_linestyle() not in ("None", "none", "")]
        marks = [ln.get_transform().transform(np.column_stack(ln.get_data())) for ln in ax.get_lines()
                 if ln.get_linestyle() in ("None", "none", "")]
        points = np.vstack(marks) if marks else np.empty((0, 2))
        for key in [a for a in ax.artists if isinstance(a, AnchoredOffsetbox)]:
            _place(fig, key, paths, points, [])


def km_figure(
    curves: Sequence[KMCurve],
    *,
    logrank_p: float | None = None,
    hr: tuple[float, float, float] | None = None,
    hr_label: str = "HR (95% CI)",
    title: str | None = None,
    xlabel: str = "Months",
    ylabel: str = "Survival probability",
    xticks: Sequence[float] | None = None,
    median_digits: int = 1,
    show_medians: bool = True,
    style: Style | None = None,
    width_in: float = 6.5,
    height_in: float = 4.6,
    risk_title: str = "No. at risk",
    risk_labels: Sequence[str] | None = None,
) -> Figure:
    """One Kaplan-Meier panel with censoring marks, numbers at risk, medians, HR and log-rank P."""
    panel = KMPanel(tuple(curves), title, logrank_p, hr, hr_label, xlabel, ylabel,
                    None if xticks is None else tuple(float(x) for x in xticks), median_digits,
                    show_medians, style or Style(), risk_title,
                    None if risk_labels is None else tuple(risk_labels))
    return km_panels([panel], letters="", width_in=width_in, panel_height_in=height_in)


def km_panels(
    panels: Sequence[KMPanel],
    letters: str | Sequence[str] = "ABCDEFGH",
    width_in: float = 6.5,
    panel_height_in: float = 4.6,
) -> Figure:
    """Several Kaplan-Meier panels stacked in one figure, labelled A, B, ... (e.g. A: PFS, B: OS).

    ``letters=""`` draws no letters (a single-panel figure).
    """
    check_panels(panels)
    with figure_context():
        fig, _ = new_figure(width_in, panel_height_in * len(panels))
        fig.clear()
        fig.set_layout_engine("constrained", h_pad=0.06, hspace=0.08)
        outer = fig.add_gridspec(len(panels), 1)
        axes = []
        for i, p in enumerate(panels):
            letter = letters[i] if letters and i < len(letters) else None
            ax, _tab = _draw_panel(fig, outer[i], p, letter)
            axes.append(ax)
        _finish_layout(fig, axes)
        fig.set_layout_engine("none")  # freeze the layout the placement was checked against
    return fig
