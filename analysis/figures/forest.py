"""Forest plots: of a meta-analysis, and of any labelled estimates (model terms, subgroups).

:func:`forest_plot` draws a :class:`analysis.stats.meta.MetaResult`: one row per study
(square sized by weight, CI line), the pooled estimate as a diamond, a vertical line at 1 on
a log axis, a text column with "estimate (CI)" and weight, and the heterogeneity statistics
under the plot.

:func:`estimate_forest_plot` draws :class:`ForestRow` rows: headings (a variable's name),
estimates with their CIs, and text columns that are the very table cells
(:class:`analysis.tables.model.Cell`) of the regression or subgroup table, so figure and
table print the same text. Every number on either figure goes through
:mod:`analysis.formatting`, so it matches the tables and the prose.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from matplotlib.figure import Figure
from matplotlib.patches import Polygon
from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from analysis.errors import StatisticsError
from analysis.figures.style import arm_style, figure_context, new_figure
from analysis.formatting import Style, fmt_number, fmt_p_phrase, fmt_ratio_ci
from analysis.stats.meta import MetaResult, ModelDecision

__all__ = ["ForestRow", "estimate_forest_plot", "forest_plot", "heterogeneity_text"]

_WIDE_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
_NARROW_TICKS = (0.125, 0.25, 0.5, 1, 2, 4, 8)


def _tick_text(x: float) -> str:
    for digits in range(0, 4):
        if abs(float(fmt_number(x, digits)) - x) < 1e-12:
            return fmt_number(x, digits)
    return fmt_number(x, 3)


def _log_axis(ax, lo: float, hi: float) -> None:
    """A log x axis from ``lo`` to ``hi`` with round ratio ticks (0.25, 0.5, 1, 2, ...)."""
    candidates = _NARROW_TICKS if hi / lo <= 40 else _WIDE_TICKS
    below = [t for t in candidates if t <= lo]
    above = [t for t in candidates if t >= hi]
    t_lo = below[-1] if below else lo
    t_hi = above[0] if above else hi
    ticks = [t for t in candidates if t_lo <= t <= t_hi]
    pad = (math.log(t_hi) - math.log(t_lo)) * 0.03
    ax.set_xlim(math.exp(math.log(t_lo) - pad), math.exp(math.log(t_hi) + pad))
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticklabels([_tick_text(t) for t in ticks])


def heterogeneity_text(result: MetaResult, style: Style | None = None) -> str:
    """ "Heterogeneity: Q = 1.03, df = 1, P = 0.309; I² = 3.3%; τ² = 0.0021" (house formatting)."""
    het = result.heterogeneity
    p_part = fmt_p_phrase(het.p)
    return (
        f"Heterogeneity: Q = {fmt_number(het.q, 2, style)}, df = {het.df}, {p_part}; "
        f"I² = {fmt_number(het.i2_pct, 1, style)}%; τ² = {fmt_number(het.tau2, 4, style)}"
    )


def forest_plot(
    result: MetaResult,
    title: str | None = None,
    xlabel: str | None = None,
    *,
    model: Literal["fixed", "random"] | ModelDecision = "fixed",
    favours: tuple[str, str] | None = None,
    digits: int = 2,
    style: Style | None = None,
    width_in: float = 7.0,
) -> Figure:
    """Draw a forest plot of ``result`` and return the matplotlib Figure.

    ``model`` picks the pooled estimate shown (a :class:`ModelDecision` from
    ``ModelChoice.decide`` may be passed directly); weights shown are that model's.
    ``favours`` labels the two sides of the line of no effect, e.g. ("Favours control",
    "Favours daratumumab"). ``xlabel`` defaults to "<measure> (log scale)".
    """
    chosen = model.model if isinstance(model, ModelDecision) else model
    pooled = result.pooled(chosen)
    st = style or Style()
    k = len(result.studies)
    if k == 0:
        raise StatisticsError("A forest plot needs at least one study")
    weights = [s.weight_fixed_pct if chosen == "fixed" else s.weight_random_pct for s in result.studies]
    ys = list(range(k + 1, 1, -1))  # studies from the top; pooled row at y = 0
    label_model = "Fixed effect" if chosen == "fixed" else "Random effects"
    pooled_label = f"{label_model} model"

    with figure_context():
        height = 1.9 + 0.36 * (k + 3)
        fig, ax = new_figure(width_in, height)
        longest = max(len(x) for x in [*(s.label for s in result.studies), pooled_label])
        left = min(0.42, max(0.18, 0.03 + 0.0125 * longest * 7.0 / width_in))
        fig.subplots_adjust(left=left, right=0.6, top=1 - 0.75 / height, bottom=1.45 / height)
        ink = arm_style(0).color
        max_w = max(weights)
        for y, s, w in zip(ys, result.studies, weights, strict=True):
            ax.plot([s.lower, s.upper], [y, y], color=ink, linewidth=1.0, solid_capstyle="butt")
            ax.scatter(
                [s.estimate], [y], marker="s", s=18 + 110 * w / max_w, color=ink, zorder=3, linewidths=0
            )
        half = 0.32
        diamond = Polygon(
            [(pooled.lower, 0), (pooled.estimate, half), (pooled.upper, 0), (pooled.estimate, -half)],
            closed=True,
            facecolor=ink,
            edgecolor=ink,
            zorder=3,
        )
        ax.add_patch(diamond)
        ax.axvline(1.0, color="#555555", linewidth=0.8, zorder=1)
        ax.axvline(pooled.estimate, color=ink, linewidth=0.6, linestyle=":", zorder=1)

        ax.set_xscale("log")
        lows = [s.lower for s in result.studies] + [pooled.lower, 1.0]
        highs = [s.upper for s in result.studies] + [pooled.upper, 1.0]
        _log_axis(ax, min(lows), max(highs))
        ax.set_xlabel(xlabel or f"{result.measure} (log scale)", labelpad=16 if favours else 4)

        ax.set_ylim(-0.8, k + 1.8)
        ax.set_yticks([*ys, 0])
        ax.set_yticklabels([s.label for s in result.studies] + [pooled_label])
        ax.get_yticklabels()[-1].set_fontweight("bold")
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)

        # text columns to the right of the axes
        level = fmt_number(100 * result.level, 0)
        col_est, col_w = 0.63, 0.9
        header_y = k + 1.9
        columns = blended_transform_factory(fig.transFigure, ax.transData)
        ax.text(
            col_est,
            header_y,
            f"{result.measure} ({level}% CI)",
            transform=columns,
            ha="left",
            va="center",
            fontweight="bold",
            clip_on=False,
        )
        ax.text(
            col_w,
            header_y,
            "Weight",
            transform=columns,
            ha="right",
            va="center",
            fontweight="bold",
            clip_on=False,
        )
        rows = [
            (y, s.estimate, s.lower, s.upper, w) for y, s, w in zip(ys, result.studies, weights, strict=True)
        ]
        rows.append((0, pooled.estimate, pooled.lower, pooled.upper, 100.0))
        for y, est, lower, upper, w in rows:
            weight = "100%" if y == 0 else f"{fmt_number(w, 1, st)}%"
            bold = "bold" if y == 0 else "normal"
            ax.text(
                col_est,
                y,
                fmt_ratio_ci(est, lower, upper, digits, st),
                transform=columns,
                ha="left",
                va="center",
                fontweight=bold,
                clip_on=False,
            )
            ax.text(
                col_w, y, weight, transform=columns, ha="right", va="center", fontweight=bold, clip_on=False
            )

        if favours:
            favour_left, favour_right = favours
            for text, dx, ha in ((f"← {favour_left}", -4, "right"), (f"{favour_right} →", 4, "left")):
                ax.annotate(
                    text,
                    xy=(1.0, 0),
                    xycoords=("data", "axes fraction"),
                    xytext=(dx, -15),
                    textcoords="offset points",
                    ha=ha,
                    va="top",
                    fontsize=7.5,
                    color="#333333",
                )
        overall = f"Test for overall effect: z = {fmt_number(pooled.z, 2, st)}, {fmt_p_phrase(pooled.p)}"
        line = 0.17 / height
        fig.text(
            0.02, 0.02 + 2 * line, f"Pooled by {pooled.method_label}", ha="left", va="bottom", fontsize=8
        )
        fig.text(0.02, 0.02 + line, heterogeneity_text(result, st), ha="left", va="bottom", fontsize=8)
        fig.text(0.02, 0.02, overall, ha="left", va="bottom", fontsize=8)
        if title:
            fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=10)
    return fig


# ---------------------------------------------------------------------------------------------
# Forest plot of labelled estimates (regression terms, subgroups)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForestRow:
    """One row of :func:`estimate_forest_plot`.

    A row with ``estimate`` draws a square and its CI line; without it, only its label and
    cells (a heading such as a variable's name, or a reference level). ``cells`` are the text
    columns, each a table :class:`~analysis.tables.model.Cell` (formatted with the figure's
    style) or ``None`` for blank. ``bold`` marks a summary row (e.g. "All patients").
    """

    label: str
    estimate: float | None = None
    lower: float | None = None
    upper: float | None = None
    cells: tuple[Any, ...] = ()
    indent: int = 0
    bold: bool = False


def estimate_forest_plot(
    rows: Sequence[ForestRow],
    *,
    headers: Sequence[str] = (),
    title: str | None = None,
    xlabel: str = "Hazard ratio (log scale)",
    log: bool = True,
    favours: tuple[str, str] | None = None,
    style: Style | None = None,
    width_in: float = 7.0,
) -> Figure:
    """Draw ``rows`` as a forest plot and return the matplotlib Figure.

    ``headers`` name the text columns (one per cell of each row; "\\n" breaks a header onto
    two lines). Column widths follow their longest text, so the plot takes the rest. ``log`` puts the x axis on
    the log scale with the line of no effect at 1 (ratios); ``log=False`` draws a linear
    axis with the line at 0 (differences, regression coefficients). ``favours`` labels the two
    sides of that line, e.g. ("Favours treatment", "Favours control").
    """
    st = style or Style()
    if not rows:
        raise StatisticsError("A forest plot needs at least one row")
    drawn = [r for r in rows if r.estimate is not None]
    if not drawn:
        raise StatisticsError("A forest plot needs at least one row with an estimate")
    for r in drawn:
        if r.lower is None or r.upper is None or not (r.lower <= r.estimate <= r.upper):  # type: ignore[operator]
            raise StatisticsError(f"Forest row {r.label!r}: estimate {r.estimate!r} is not inside its CI "
                                  f"({r.lower!r}, {r.upper!r})")
        if log and r.lower <= 0:  # type: ignore[operator]
            raise StatisticsError(f"Forest row {r.label!r}: a log axis needs positive limits, got {r.lower!r}")
    ncols = len(headers)
    k = len(rows)
    null = 1.0 if log else 0.0
    texts = [[None if c is None else c.text(st) for c in r.cells] for r in rows]
    # widths in figure fractions from character counts (DejaVu Sans at 7.5-8 pt)
    char = 0.0086 * 7.0 / width_in
    label_w = max(len(r.label) + 2 * r.indent for r in rows) * char * 1.08
    col_w = []
    for i, header in enumerate(headers):
        longest = max([len(line) for line in header.split("\n")]
                      + [len(t[i]) for t in texts if i < len(t) and t[i] is not None])
        col_w.append(longest * char + 0.02)
    left = min(0.45, 0.02 + label_w + 0.01)
    right = max(0.98 - sum(col_w), left + 0.2)
    header_lines = max((h.count("\n") + 1 for h in headers), default=1)
    with figure_context():
        top_in = 0.2 + 0.14 * header_lines + (0.3 if title else 0)
        bottom_in = 0.5 + (0.2 if favours else 0)
        height = top_in + bottom_in + 0.24 * k
        fig, ax = new_figure(width_in, height)
        fig.subplots_adjust(left=left, right=right, top=1 - top_in / height, bottom=bottom_in / height)
        ink = arm_style(0).color
        ys = list(range(k, 0, -1))
        for y, r in zip(ys, rows, strict=True):
            if r.estimate is None:
                continue
            ax.plot([r.lower, r.upper], [y, y], color=ink, linewidth=1.0, solid_capstyle="butt")
            ax.scatter([r.estimate], [y], marker="D" if r.bold else "s", s=30 if r.bold else 22, color=ink,
                       zorder=3, linewidths=0)
        ax.axvline(null, color="#555555", linewidth=0.8, zorder=1)
        lows = [r.lower for r in drawn] + [null]
        highs = [r.upper for r in drawn] + [null]
        if log:
            ax.set_xscale("log")
            _log_axis(ax, min(lows), max(highs))  # type: ignore[type-var]
        else:
            lo, hi = min(lows), max(highs)  # type: ignore[type-var]
            pad = (hi - lo) * 0.05 or 0.5
            ax.set_xlim(lo - pad, hi + pad)
        ax.set_xlabel(xlabel, labelpad=16 if favours else 4)
        ax.set_ylim(0.4, k + 0.6)
        ax.set_yticks([])
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)

        columns = blended_transform_factory(fig.transFigure, ax.transData)
        for y, r in zip(ys, rows, strict=True):
            heading = r.bold or (r.estimate is None and r.indent == 0)
            ax.text(0.02 + 2 * r.indent * char, y, r.label, transform=columns, ha="left", va="center", fontsize=8,
                    fontweight="bold" if heading else "normal", clip_on=False)
        xs = [right + sum(col_w[: i + 1]) for i in range(ncols)]
        for x, header in zip(xs, headers, strict=True):
            ax.text(x, k + 0.75, header, transform=columns, ha="right", va="bottom", fontweight="bold",
                    fontsize=7.5, clip_on=False, linespacing=1.1)
        for y, r, row_texts in zip(ys, rows, texts, strict=True):
            for x, text in zip(xs, row_texts, strict=False):
                if text is None:
                    continue
                ax.text(x, y, text, transform=columns, ha="right", va="center", fontsize=7.5,
                        fontweight="bold" if r.bold else "normal", clip_on=False)
        if favours:
            favour_left, favour_right = favours
            for text, dx, ha in ((f"← {favour_left}", -4, "right"), (f"{favour_right} →", 4, "left")):
                ax.annotate(text, xy=(null, 0), xycoords=("data", "axes fraction"), xytext=(dx, -15),
                            textcoords="offset points", ha=ha, va="top", fontsize=7.5, color="#333333")
        if title:
            fig.suptitle(title, x=0.02, ha="left", fontweight="bold", fontsize=10)
    return fig
