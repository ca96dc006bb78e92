"""Tests for analysis.figures.scores: bars, error bars, marks, deterministic SVG."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest

from analysis.errors import StatisticsError
from analysis.figures.scores import (
    SIGNIFICANCE_NOTE,
    ArmScores,
    ScorePanel,
    before_after_figure,
    significance_mark,
)
from analysis.figures.style import figure_context

PANELS = [
    ScorePanel("NRS", (ArmScores("Control", 6.1, 1.2, 3.9, 1.4, 0.0002), ArmScores("Experimental", 6.3, 1.1, 2.4, 1.0, 0.2))),
    ScorePanel("KPS", (ArmScores("Control", 62, 8, 70, 9, 0.03), ArmScores("Experimental", 61, 9, 78, 8, 0.004)),
               ylabel="KPS score"),
]


@pytest.mark.parametrize(("p", "mark"), [(0.0009, "***"), (0.001, "**"), (0.0099, "**"), (0.01, "*"),
                                         (0.049, "*"), (0.05, ""), (0.7, ""), (None, "")])
def test_significance_mark_thresholds(p, mark):
    assert significance_mark(p) == mark


def test_significance_mark_refuses_bad_p():
    with pytest.raises(StatisticsError, match="P value"):
        significance_mark(1.5)


def test_before_after_figure_draws_bars_and_marks():
    fig = before_after_figure(PANELS)
    assert len(fig.axes) == 2
    nrs, kps = fig.axes
    assert len(nrs.patches) == 4 and len(kps.patches) == 4  # 2 arms x 2 time points
    heights = sorted(round(p.get_height(), 6) for p in nrs.patches)
    assert heights == [2.4, 3.9, 6.1, 6.3]
    assert [t.get_text() for t in nrs.get_xticklabels()] == ["Before", "After"]
    assert (nrs.get_title(), kps.get_ylabel()) == ("NRS", "KPS score")
    marks = lambda ax: sorted(t.get_text() for t in ax.texts)  # noqa: E731
    assert marks(nrs) == ["***"]  # experimental arm P = 0.2 gets no mark
    assert marks(kps) == ["*", "**"]
    assert SIGNIFICANCE_NOTE in [t.get_text() for t in fig.texts]
    legend = [t.get_text() for t in nrs.get_legend().get_texts()]
    assert legend == ["Control", "Experimental"]
    # greyscale-safe: arms differ by fill and hatch, not only by colour
    fills = {p.get_hatch() for p in nrs.patches}
    assert len(fills) == 2
    plt.close(fig)


def test_panels_must_share_arms():
    bad = [PANELS[0], ScorePanel("KPS", (ArmScores("Control", 1, 1, 1, 1),))]
    with pytest.raises(StatisticsError, match="every panel must have"):
        before_after_figure(bad)


def test_scores_svg_is_deterministic():
    def svg() -> bytes:
        fig = before_after_figure(PANELS, title="Scores")
        buf = io.BytesIO()
        with figure_context():  # as analysis.pipeline saves: the house SVG hash salt holds at save time
            fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
        return buf.getvalue()

    assert svg() == svg()
