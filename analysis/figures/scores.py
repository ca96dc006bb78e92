"""Before/after score figure: mean ± SD per arm and time point, one panel per score.

Computing and drawing stay apart: the caller passes plain numbers (means, SDs, and the paired
test P of each arm, e.g. from :func:`analysis.stats.ttest.paired_t`), and this module only draws.
matplotlib is imported by :func:`before_after_figure` only, so the panels can be built without it
(and drawn by the figure worker, :mod:`analysis.figureworker`).

Significance marks over an arm's "after" bar compare after with before in that arm:
``***`` P < 0.001, ``**`` P < 0.01, ``*`` P < 0.05, nothing otherwise (the legend text says so;
see :data:`SIGNIFICANCE_NOTE`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.errors import StatisticsError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["SIGNIFICANCE_NOTE", "ArmScores", "ScorePanel", "before_after_figure", "check_panels", "score_panels",
           "significance_mark"]

#: Footnote explaining the marks, for the figure and its caption.
SIGNIFICANCE_NOTE = "Paired t-test, after vs before: * P < 0.05, ** P < 0.01, *** P < 0.001"

_HATCHES = ("", "//", "..", "xx")


def significance_mark(p: float | None) -> str:
    """``"***"`` for P < 0.001, ``"**"`` for P < 0.01, ``"*"`` for P < 0.05, else ``""``."""
    if p is None:
        return ""
    if not 0 <= p <= 1:
        raise StatisticsError(f"Invalid P value: {p!r}. Must be between 0 and 1")
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


@dataclass(frozen=True)
class ArmScores:
    """One arm in one panel: mean and SD before and after, and the paired-test P (or None)."""

    arm: str
    mean_before: float
    sd_before: float
    mean_after: float
    sd_after: float
    p_paired: float | None = None


@dataclass(frozen=True)
class ScorePanel:
    """One score (e.g. "NRS", "KPS"): its axis label and the arms in display order."""

    score: str
    arms: tuple[ArmScores, ...]
    ylabel: str | None = None


def check_panels(panels: Sequence[ScorePanel]) -> None:
    """Raise :class:`~analysis.errors.StatisticsError` unless there is at least one panel and
    every panel has the same arms in the same order (checked before a figure is handed over to
    be drawn, and by :func:`before_after_figure`)."""
    if not panels:
        raise StatisticsError("before_after_figure needs at least one ScorePanel")
    arms = [a.arm for a in panels[0].arms]
    for panel in panels:
        if [a.arm for a in panel.arms] != arms:
            raise StatisticsError(
                f"Panel `{panel.score}` has arms {[a.arm for a in panel.arms]}; every panel must have {arms}"
            )


def before_after_figure(
    panels: Sequence[ScorePanel],
    *,
    time_labels: tuple[str, str] = ("Before", "After"),
    title: str | None = None,
    width_in: float | None = None,
    height_in: float = 3.2,
) -> Figure:
    """Grouped bars (mean ± SD) per arm before and after treatment, one panel per score.

    Bars are grouped by time point; each arm keeps its house colour and a hatch, so the figure
    reads in greyscale. Marks from :func:`significance_mark` sit over each arm's "after" bar.
    """
    from analysis.figures.style import arm_style, figure_context, new_figure

    check_panels(panels)
    n_arms = len(panels[0].arms)
    width = 0.8 / n_arms
    with figure_context():
        fig, axes = new_figure(
            width_in or 3.2 * len(panels) + 0.4, height_in, ncols=len(panels), squeeze=False
        )
        for ax, panel in zip(axes[0], panels, strict=True):
            top = 0.0
            for i, a in enumerate(panel.arms):
                st = arm_style(i)
                xs = [t + (i - (n_arms - 1) / 2) * width for t in (0, 1)]
                means, sds = [a.mean_before, a.mean_after], [a.sd_before, a.sd_after]
                ax.bar(
                    xs,
                    means,
                    width=width * 0.92,
                    yerr=sds,
                    color=st.color if i == 0 else "white",
                    edgecolor=st.color,
                    hatch=_HATCHES[i % len(_HATCHES)],
                    linewidth=1.0,
                    label=a.arm,
                    error_kw={"elinewidth": 0.9, "capsize": 3, "ecolor": "#1a1a1a"},
                )
                mark = significance_mark(a.p_paired)
                if mark:
                    ax.text(xs[1], a.mean_after + a.sd_after, mark, ha="center", va="bottom", fontsize=10)
                top = max(top, *(m + s for m, s in zip(means, sds, strict=True)))
            ax.set_xticks([0, 1])
            ax.set_xticklabels(list(time_labels))
            ax.set_ylim(0, top * 1.15)
            ax.set_ylabel(panel.ylabel or panel.score)
            ax.set_title(panel.score, fontweight="bold")
        axes[0][0].legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncols=n_arms)
        fig.text(0.99, 0.01, SIGNIFICANCE_NOTE, ha="right", va="bottom", fontsize=7)
        if title:
            fig.suptitle(title, x=0.02, ha="left", fontweight="bold")
        fig.subplots_adjust(bottom=0.28, wspace=0.35)
    return fig


def score_panels(store: Any, prefix: str, scores: Sequence[Mapping[str, Any]], arms: Sequence[Any]) -> list[ScorePanel]:
    """Panels built from the values a before/after score table stored (``tbl_scores``), so the
    figure shows exactly the table's means, SDs and paired P values; nothing is recomputed.

    ``scores`` are the same specs given to ``tbl_scores`` (``label`` and ``key``).
    """
    from analysis.tables.model import slugify

    panels = []
    for spec in scores:
        key = spec.get("key") or spec["before"].split("_")[0]
        rows = []
        for arm in arms:
            before = store[f"{prefix}.{key}_before.{arm.code}"].raw
            after = store[f"{prefix}.{key}_after.{arm.code}"].raw
            p = store[f"{prefix}.{key}_change_{slugify(arm.code)}.p"].raw
            rows.append(ArmScores(arm.name, before["mean"], before["sd"], after["mean"], after["sd"], p))
        panels.append(ScorePanel(spec["label"], tuple(rows)))
    return panels
