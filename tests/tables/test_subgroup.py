"""Subgroup analysis (tbl_subgroup) against R.

R values: tests/reference/models.json, section ``subgroup`` (``Rscript tests/reference/models.R
tests/reference tests/reference/models.json``, R 4.2.2, survival 3.5-3), on colon (etype == 2),
Lev+5FU versus Obs.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.results import ResultsStore
from analysis.study import Arm
from analysis.tables.subgroup import Subgroup, tbl_subgroup

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "models.json").read_text())["subgroup"]
ARMS = [Arm("Lev+5FU", "Levamisole + fluorouracil", "Lev+5FU"), Arm("Obs", "Observation")]
SUBGROUPS = [Subgroup("sex", "Sex", level_labels={"0": "Female", "1": "Male"}), Subgroup("age65", "Age"),
             Subgroup("differ", "Differentiation")]


@pytest.fixture(scope="module")
def analysis():
    frame = pd.read_csv(REF / "colon_death.csv")
    frame = frame[frame["rx"].isin(["Obs", "Lev+5FU"])].copy()
    frame["age65"] = np.where(frame["age"] >= 65, ">= 65", "< 65")
    store = ResultsStore("t")
    result = tbl_subgroup(frame, time="time", event="status", arm_column="rx", arms=ARMS, reference="Obs",
                          subgroups=SUBGROUPS, store=store, prefix="sub", table_id="tbl-sub", caption="Subgroups")
    return result, store


def test_overall_row_matches_r(analysis) -> None:
    """summary(coxph(Surv(time, status) ~ rx, data = cs))$conf.int  (cs: colon deaths, Obs vs Lev+5FU)"""
    _, store = analysis
    r = R["overall"]
    hr = store["sub.overall.hr"].raw
    assert [hr["estimate"], hr["lower"], hr["upper"]] == pytest.approx([r["hr"], r["lower"], r["upper"]], rel=1e-10)
    assert store["sub.overall.p"].raw == pytest.approx(r["p"], rel=1e-9)
    assert store["sub.overall.n.Obs"].raw == r["n"]["Obs"]
    assert store["sub.overall.events.lev_5fu"].raw == r["events"]["Lev+5FU"]


@pytest.mark.parametrize("var", ["sex", "age65", "differ"])
def test_levels_and_interaction_match_r(analysis, var: str) -> None:
    """Per level: coxph(Surv(time, status) ~ rx, data = d[d$sub == level, ]); interaction:
    anova(coxph(Surv(time, status) ~ rx + sub, d), coxph(Surv(time, status) ~ rx * sub, d))
    on the patients with the subgroup known (differ has NAs)."""
    result, store = analysis
    r = R[var]
    chisq, df, p = result.interactions[var]
    assert chisq == pytest.approx(r["interaction"]["chisq"], rel=1e-9)
    assert df == r["interaction"]["df"]
    assert p == pytest.approx(r["interaction"]["p"], rel=1e-9)
    assert store[f"sub.{var}.interaction.p"].raw == p
    for lv in r["levels"]:
        term = result.fits[(var, lv["level"])].term("rx", "Lev+5FU")
        assert [term.hr, term.lower, term.upper] == pytest.approx([lv["hr"], lv["lower"], lv["upper"]], rel=1e-10)
        assert term.p == pytest.approx(lv["p"], rel=1e-9)
    segs = {"sex": ["0", "1"], "age65": ["65_1", "65_2"], "differ": ["1", "2", "3"]}[var]
    for seg, lv in zip(segs, r["levels"], strict=True):
        assert store[f"sub.{var}.{seg}.n.Obs"].raw == lv["n"]["Obs"]
        assert store[f"sub.{var}.{seg}.events.lev_5fu"].raw == lv["events"]["Lev+5FU"]


def test_table_layout(analysis) -> None:
    result, store = analysis
    t = result.table
    assert [r.label for r in t.rows] == ["All patients", "Sex", "Female", "Male", "Age", "< 65", ">= 65",
                                         "Differentiation", "1", "2", "3"]
    assert [c.header for c in t.columns] == ["Lev+5FU, events/n", "Observation, events/n", "HR (95% CI)",
                                             "P for interaction"]
    assert t.rows[0].cells["n_lev_5fu"].text() == "123/304"
    assert t.rows[1].cells["p_int"].text() == "0.042"  # R: 0.0424295
    assert t.rows[3].cells["hr"].text() == "0.52 (0.37–0.74)"
    assert store["sub.differ.n_missing"].raw == (315 - 27 - 229 - 52) + (304 - 29 - 215 - 54) == 13


def test_forest_plot(analysis) -> None:
    result, _ = analysis
    fig = result.forest(title="Death by subgroup", favours=("Favours Lev+5FU", "Favours observation"))
    texts = [t.get_text() for t in fig.findobj(plt.Text) if t.get_text()]
    assert "All patients" in texts and "0.69 (0.55–0.87)" in texts and "0.042" in texts and "123/304" in texts
    assert "Lev+5FU\nevents/n" in texts and "P for\ninteraction" in texts
    plt.close(fig)


def test_level_without_events_is_ne_with_footnote() -> None:
    """A level in which one arm has no events: R's coxph warns 'coefficient may be infinite'; we print NE."""
    rng = np.random.default_rng(1)
    n = 80
    frame = pd.DataFrame({"time": rng.exponential(10, n), "status": rng.integers(0, 2, n),
                          "arm": np.tile(["T", "C"], n // 2), "site": np.repeat(["a", "b"], n // 2)})
    frame.loc[(frame["site"] == "b") & (frame["arm"] == "T"), "status"] = 0
    store = ResultsStore("t")
    result = tbl_subgroup(frame, time="time", event="status", arm_column="arm", arms=[Arm("T", "T"), Arm("C", "C")],
                          subgroups=[Subgroup("site", "Site")], store=store, prefix="s", table_id="tbl-s", caption="S")
    row = result.table.rows[-1]
    assert row.cells["hr"].text() == "NE" and row.marks == ["b"]
    assert result.table.rows[1].cells["p_int"].text() == "NE" and result.table.rows[1].marks == ["a"]
    assert "Interaction not tested" in result.table.footnotes[0]
    assert "not estimable" in result.table.footnotes[1]
    assert "site" not in result.interactions
    assert result.fits[("site", "b")] is None


def test_bad_arguments() -> None:
    frame = pd.read_csv(REF / "colon_death.csv")
    with pytest.raises(StatisticsError, match="Subgroup column `grade` is not in the data"):
        tbl_subgroup(frame, time="time", event="status", arm_column="rx", arms=ARMS, subgroups=[Subgroup("grade", "G")],
                     store=ResultsStore("t"), prefix="s", table_id="tbl-s", caption="S")
    with pytest.raises(StatisticsError, match=r"Invalid `reference` value: 'Lev'"):
        tbl_subgroup(frame, time="time", event="status", arm_column="rx", arms=ARMS, subgroups=SUBGROUPS,
                     reference="Lev", store=ResultsStore("t"), prefix="s", table_id="tbl-s", caption="S")
