"""Tests for analysis.figures.forest: real properties of the drawn figure, deterministic SVG."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import Polygon

from analysis.figures.forest import forest_plot, heterogeneity_text
from analysis.figures.style import figure_context
from analysis.stats.meta import ModelChoice, generic_from_ci, mantel_haenszel_or


@pytest.fixture
def orr():
    return mantel_haenszel_or([(199, 240, 148, 234), (261, 281, 211, 276)], ["CASTOR", "POLLUX"])


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(plt.Text) if t.get_text()]


def test_forest_shows_formatted_estimates_weights_and_heterogeneity(orr):
    """Pooled MH OR as meta::metabin prints it: 3.27 [2.34; 4.56], weights 62.8% / 37.2%."""
    fig = forest_plot(orr, "Overall response", favours=("Favours control", "Favours daratumumab"),
                      model=ModelChoice().decide(orr))
    texts = _texts(fig)
    assert "3.27 (2.34–4.56)" in texts
    assert "2.82 (1.84–4.33)" in texts and "4.02 (2.36–6.85)" in texts
    assert "62.8%" in texts and "37.2%" in texts
    assert heterogeneity_text(orr) == "Heterogeneity: Q = 1.03, df = 1, P = 0.309; I² = 3.3%; τ² = 0.0019"
    assert heterogeneity_text(orr) in texts
    assert "Pooled by Mantel-Haenszel fixed effect" in texts
    assert "← Favours control" in texts and "Favours daratumumab →" in texts
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["CASTOR", "POLLUX", "Fixed effect model"]
    diamonds = [p for p in ax.patches if isinstance(p, Polygon)]
    assert len(diamonds) == 1
    xs = sorted(x for x, _ in diamonds[0].get_xy()[:4])
    assert xs[0] == pytest.approx(orr.fixed.lower) and xs[-1] == pytest.approx(orr.fixed.upper)
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.get_lines())  # line of no effect
    squares = ax.collections
    assert len(squares) == 2
    assert squares[0].get_sizes()[0] > squares[1].get_sizes()[0]  # heavier study, bigger square
    plt.close(fig)


def test_forest_random_model_uses_random_weights():
    res = generic_from_ci([0.31, 0.41], [0.29, 0.37], [0.33, 0.46], ["CASTOR", "POLLUX"], measure="HR")
    fig = forest_plot(res, model="random")
    texts = _texts(fig)
    assert "51.3%" in texts and "48.7%" in texts  # metafor weights(rma(..., method = "DL")): 51.28, 48.72
    assert "Random effects model" in [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "HR (95% CI)" in texts and fig.axes[0].get_xlabel() == "HR (log scale)"
    plt.close(fig)


def test_forest_svg_is_deterministic(orr):
    def svg() -> bytes:
        fig = forest_plot(orr, "Overall response")
        buf = io.BytesIO()
        with figure_context():  # as analysis.pipeline saves: the house SVG hash salt holds at save time
            fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
        return buf.getvalue()

    first = svg()
    assert first == svg()
    assert first.startswith(b"<?xml")


def test_estimate_forest_linear_axis_headings_and_refusals():
    """estimate_forest_plot: headings without estimates, a linear axis at 0 for coefficients, and
    rows whose estimate lies outside its CI refused."""
    from analysis.errors import StatisticsError
    from analysis.figures.forest import ForestRow, estimate_forest_plot
    from analysis.tables.model import Cell

    rows = [ForestRow("Age"), ForestRow("per year", -0.5, -0.9, -0.1,
                                        (Cell({"estimate": -0.5, "lower": -0.9, "upper": -0.1}, "estimate_ci"),),
                                        indent=1)]
    fig = estimate_forest_plot(rows, headers=("Beta (95% CI)",), log=False, xlabel="Coefficient")
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] < -0.9 and ax.get_xlim()[1] > 0
    assert "−0.50 (−0.90 to −0.10)" in _texts(fig)
    plt.close(fig)
    with pytest.raises(StatisticsError, match="not inside its CI"):
        estimate_forest_plot([ForestRow("x", 2.0, 0.5, 1.5)])
    with pytest.raises(StatisticsError, match="log axis needs positive limits"):
        estimate_forest_plot([ForestRow("x", 0.5, -0.5, 1.5)])
