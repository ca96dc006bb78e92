"""Kaplan-Meier figure: printed numbers equal the statistics, labels, layout, determinism.

Reference numbers come from R (tests/reference/r_reference.json); the at-risk counts equal
R's ``summary(survfit(Surv(t, status) ~ Rx, data = leukemia), times = ticks, extend = TRUE)$n.risk``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.offsetbox import AnchoredOffsetbox
from matplotlib.text import Text

from analysis.errors import StatisticsError
from analysis.figures.km import (
    KMCurve,
    KMPanel,
    annotation_lines,
    at_risk_at,
    km_curve_data,
    km_figure,
    km_panels,
    nice_ticks,
)
from analysis.figures.style import figure_context
from analysis.formatting import fmt_median_ci, fmt_p_phrase, fmt_ratio_ci
from analysis.stats.survival import cox_ph, km_by_group, logrank, numbers_at_risk

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
R_REF = json.loads((REF_DIR / "r_reference.json").read_text())["survival"]
NAMES = {"0": "6-MP", "1": "Placebo"}
DAYS_PER_MONTH = 30.4375


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _leukemia():
    d = pd.read_csv(REF_DIR / "leukemia.csv")
    return d["t"], d["status"], d["Rx"]


def _leukemia_figure(**kw):
    t, e, g = _leukemia()
    curves = [km_curve_data(f, NAMES[k]) for k, f in km_by_group(t, e, g).items()]
    cox = cox_ph(t, e, g, reference="0")
    return km_figure(curves, logrank_p=logrank(t, e, g).p, hr=(cox.hr, cox.lower, cox.upper),
                     hr_label="HR (95% CI), placebo vs 6-MP", xlabel="Weeks", **kw)


def _texts(fig, gid: str) -> list[Text]:
    return [t for t in fig.findobj(Text) if t.get_gid() == gid]


def _at_risk_rows(fig) -> dict[int, list[tuple[float, str]]]:
    rows: dict[int, list[tuple[float, str]]] = {}
    for t in _texts(fig, "at-risk"):
        x, y = t.get_position()
        rows.setdefault(int(y), []).append((x, t.get_text()))
    return {k: sorted(v) for k, v in rows.items()}


def test_printed_at_risk_numbers_equal_numbers_at_risk() -> None:
    """Printed table == numbers_at_risk(t, Rx, ticks) == R's summary(..., times = 0:6 * 6, extend = TRUE)$n.risk
    (21 21 12 9 5 4 0 / 21 12 6 2 0 0 0)."""
    t, _, g = _leukemia()
    fig = _leukemia_figure()
    ticks = list(fig.axes[0].get_xticks())
    assert ticks == [0, 6, 12, 18, 24, 30, 36]
    expected = numbers_at_risk(t, g, ticks)
    assert expected == {"0": (21, 21, 12, 9, 5, 4, 0), "1": (21, 12, 6, 2, 0, 0, 0)}
    rows = _at_risk_rows(fig)
    assert [x for x, _ in rows[0]] == ticks  # columns sit exactly under the x ticks
    assert [int(s) for _, s in rows[0]] == list(expected["0"])
    assert [int(s) for _, s in rows[1]] == list(expected["1"])
    row_labels = [lab.get_text() for lab in _texts(fig, "at-risk-label")]
    assert row_labels == ["6-MP", "Placebo"]


def test_at_risk_numbers_in_months_for_day_data() -> None:
    """Lung (days) drawn in months: printed counts == numbers_at_risk(time / 30.4375, sex, ticks)."""
    d = pd.read_csv(REF_DIR / "lung.csv")
    fits = km_by_group(d["time"], d["status"], d["sex"])
    curves = [km_curve_data(f, lab, DAYS_PER_MONTH) for lab, f in fits.items()]
    fig = km_figure(curves, xticks=[0, 6, 12, 18, 24, 30, 36])
    expected = numbers_at_risk(d["time"] / DAYS_PER_MONTH, d["sex"], [0, 6, 12, 18, 24, 30, 36])
    rows = _at_risk_rows(fig)
    assert tuple(int(s) for _, s in rows[0]) == expected["1"] == (138, 86, 35, 17, 7, 2, 0)
    assert tuple(int(s) for _, s in rows[1]) == expected["2"]


def test_at_risk_columns_align_with_tick_labels_on_the_page() -> None:
    fig = _leukemia_figure()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    tick_x = [lab.get_window_extent(renderer).x0 + lab.get_window_extent(renderer).width / 2
              for lab in fig.axes[0].get_xticklabels()]
    row = sorted(_texts(fig, "at-risk"), key=lambda t: (t.get_position()[1], t.get_position()[0]))[:7]
    num_x = [t.get_window_extent(renderer).x0 + t.get_window_extent(renderer).width / 2 for t in row]
    assert num_x == pytest.approx(tick_x, abs=0.6)


def test_legend_labels_and_annotation_text_from_r_values() -> None:
    """Medians/CI from summary(survfit(Surv(t, status) ~ Rx, leukemia))$table, HR and log-rank P from coxph and
    survdiff in R, formatted by analysis.formatting."""
    ref = R_REF["leukemia"]
    fig = _leukemia_figure()
    assert [t.get_text() for t in _texts(fig, "km-legend-label")] == ["6-MP", "Placebo"]
    medians = [t.get_text() for t in _texts(fig, "km-median")]
    g0, g1 = ref["groups"]["0"], ref["groups"]["1"]
    assert medians == [fmt_median_ci(g0["median"], *g0["median_ci_log"], 1),
                       fmt_median_ci(g1["median"], *g1["median_ci_log"], 1)]
    assert medians == ["23.0 (16.0–NR)", "8.0 (4.0–12.0)"]
    notes = [t.get_text() for t in _texts(fig, "km-annotation")]
    assert notes == [f"HR (95% CI), placebo vs 6-MP: {fmt_ratio_ci(ref['cox_hr'], *ref['cox_hr_ci'])}",
                     f"Log-rank {fmt_p_phrase(ref['logrank_p'])}"]
    assert notes == ["HR (95% CI), placebo vs 6-MP: 4.82 (2.15–10.81)", "Log-rank P < 0.001"]


def test_annotation_p_with_equals_sign_and_no_medians() -> None:
    curve = KMCurve("A", (0.0, 1.0), (1.0, 0.5))
    panel = KMPanel((curve,), logrank_p=0.0322, show_medians=False)
    assert annotation_lines(panel) == ["Log-rank P = 0.032"]


def test_key_hides_no_curve_or_censoring_mark() -> None:
    fig = _leukemia_figure()
    ax = fig.axes[0]
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (key,) = [a for a in ax.artists if isinstance(a, AnchoredOffsetbox)]
    box = key.get_window_extent(renderer)
    for line in ax.get_lines():
        if line.get_linestyle() in ("None", "none"):
            pts = line.get_transform().transform(np.column_stack(line.get_data()))
            assert box.count_contains(pts) == 0
        else:
            path = line.get_transform().transform_path(line.get_path())
            assert not path.intersects_bbox(box, filled=False)


def test_svg_is_byte_identical_across_builds() -> None:
    """Saved as the pipeline does: inside figure_context (fixed SVG hash salt), no date."""
    outs = []
    for _ in range(2):
        buf = io.BytesIO()
        fig = _leukemia_figure()
        with figure_context():
            fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    assert b"<svg" in outs[0] and len(outs[0]) > 10_000


def test_panels_have_letters_titles_and_tables() -> None:
    t, e, g = _leukemia()
    curves = tuple(km_curve_data(f, NAMES[k]) for k, f in km_by_group(t, e, g).items())
    fig = km_panels([KMPanel(curves, title="Progression-free survival"),
                     KMPanel(curves, title="Overall survival")])
    texts = [x.get_text() for x in fig.findobj(Text)]
    assert "A" in texts and "B" in texts
    assert [ax.get_title(loc="left") for ax in fig.axes[::2]] == ["Progression-free survival", "Overall survival"]
    assert len(fig.axes) == 4  # curve + at-risk table per panel
    assert len(_texts(fig, "at-risk")) == 2 * 2 * 7


def test_three_arms_get_three_styles_and_rows() -> None:
    d = pd.read_csv(REF_DIR / "lung.csv")
    d = d[d["ph.ecog"].isin([0, 1, 2])]
    fits = km_by_group(d["time"], d["status"], d["ph.ecog"])
    curves = [km_curve_data(f, f"ECOG {k}", DAYS_PER_MONTH) for k, f in fits.items()]
    fig = km_figure(curves)
    styles = {(ln.get_color(), str(ln.get_linestyle())) for ln in fig.axes[0].get_lines() if ln.get_gid() == "km-curve"}
    assert len(styles) == 3
    assert sorted(_at_risk_rows(fig)) == [0, 1, 2]


def test_km_curve_data_steps_censor_marks_and_median() -> None:
    """Leukemia 6-MP arm: censored at 6, 9, 10, 11, 17, 19, 20, 25, 32, 34, 35; median 23 (16-NA) in R."""
    t, e, g = _leukemia()
    fit = km_by_group(t, e, g)["0"]
    c = km_curve_data(fit, "6-MP")
    assert (c.step_time[0], c.step_surv[0]) == (0.0, 1.0)
    assert c.censor_time == (6, 9, 10, 11, 17, 19, 20, 25, 32, 34, 35)
    assert c.censor_surv[0] == pytest.approx(0.857142857142857, rel=1e-9)
    assert (c.median.median, c.median.lower, c.median.upper) == (23, 16, None)
    weeks_per_month = km_curve_data(fit, "6-MP", time_scale=4)
    assert weeks_per_month.median.median == 23 / 4
    assert at_risk_at(c, [0, 6, 6.5, 40]) == (21, 21, 17, 0)


def test_nice_ticks() -> None:
    assert nice_ticks(35) == (0, 6, 12, 18, 24, 30, 36)
    assert nice_ticks(60) == (0, 12, 24, 36, 48, 60)
    assert nice_ticks(7) == (0, 1, 2, 3, 4, 5, 6, 7)


def test_bad_curve_data_is_refused() -> None:
    with pytest.raises(StatisticsError, match="must be non-empty and of equal length"):
        KMCurve("A", (0.0, 1.0), (1.0,))
    with pytest.raises(StatisticsError, match=r"survival 1.5 outside \[0, 1\]"):
        KMCurve("A", (0.0,), (1.5,))
    with pytest.raises(StatisticsError, match="`panels` is empty"):
        km_panels([])


def test_logrank_over_three_curves_names_the_group_count() -> None:
    from analysis.figures.km import KMCurve, KMPanel, annotation_lines

    curves = tuple(KMCurve(label, (0.0, 1.0), (1.0, 0.5)) for label in ("A", "B", "C"))
    assert annotation_lines(KMPanel(curves, logrank_p=0.04, show_medians=False)) == ["Log-rank P = 0.040 (3 groups)"]
    two = KMPanel(curves[:2], logrank_p=0.04, show_medians=False)
    assert annotation_lines(two) == ["Log-rank P = 0.040"]
