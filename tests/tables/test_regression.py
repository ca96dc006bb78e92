"""Regression tables (tbl_regression) and the model adapters against R.

R values: tests/reference/models.json (``Rscript tests/reference/models.R tests/reference
tests/reference/models.json``, R 4.2.2, survival 3.5-3). statsmodels and lifelines fits are
checked against the same R values at the precision those libraries reach.
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
from analysis.stats import cox_model, logistic_model
from analysis.stats.regression import as_model, from_statsmodels
from analysis.tables.regression import level_segments, tbl_regression
from analysis.tables.render import to_text

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "models.json").read_text())
LABELS = {"age": "Age, years", "sex": "Sex", "ph.ecog": "ECOG performance status"}


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(REF / "lung.csv")


def _lung_models(lung: pd.DataFrame):
    multi = cox_model(lung, time="time", event="status", terms=["age", "sex", "ph.ecog"], factors=["sex", "ph.ecog"])
    unis = [cox_model(lung, time="time", event="status", terms=[v], factors=["sex", "ph.ecog"])
            for v in ("age", "sex", "ph.ecog")]
    return multi, unis


def test_cox_table_layout_and_bound_cells(lung: pd.DataFrame) -> None:
    """Multivariable: coxph(Surv(time, status) ~ age + factor(sex) + factor(ph.ecog), lung);
    univariable: coxph(Surv(time, status) ~ age), ~ factor(sex), ~ factor(ph.ecog), each on its own rows."""
    multi, unis = _lung_models(lung)
    store = ResultsStore("t")
    rt = tbl_regression(multi, univariable=unis, store=store, prefix="cox", table_id="tbl-cox", caption="Cox",
                        labels=LABELS, level_labels={"sex": {"1": "Male", "2": "Female"}})
    t = rt.table
    assert [r.label for r in t.rows] == ["Age, years", "Sex", "Male", "Female", "ECOG performance status",
                                         "0", "1", "2", "3"]
    assert [r.indent for r in t.rows] == [0, 0, 1, 1, 0, 1, 1, 1, 1]
    assert [c.spanner for c in t.columns] == ["Univariable"] * 2 + ["Multivariable"] * 2
    assert [c.header for c in t.columns] == ["HR (95% CI)", "P"] * 2
    male = t.rows[2]
    assert male.cells["est"].raw == "Reference" and male.cells["est"].key is None
    r = R["cox"]["lung"]
    hr = store["cox.ph_ecog.2.est"].raw
    assert [hr["estimate"], hr["lower"], hr["upper"]] == pytest.approx([r["hr"][3], r["lower"][3], r["upper"][3]],
                                                                       rel=1e-10)
    assert store["cox.age.p"].raw == pytest.approx(r["p"][0], rel=1e-10)
    assert store["cox.uni.sex.2.est"].raw["estimate"] == pytest.approx(R["cox_uni_lung"]["sex"]["hr"],
                                                                           rel=1e-10)  # one term: a scalar
    assert store["cox.uni.ph_ecog.3.p"].raw == pytest.approx(R["cox_uni_lung"]["ph.ecog"]["p"][2], rel=1e-10)
    assert (store["cox.n"].raw, store["cox.events"].raw, store["cox.n_dropped"].raw) == (227, 164, 1)
    # every non-reference cell is bound to the key that holds the same raw value
    for row in t.rows:
        for cell in row.cells.values():
            if cell.key is not None:
                assert store[cell.key].raw == cell.raw
    text = to_text(t)
    assert "1.51 (1.02–2.23)" in text and "2.50 (1.61–3.88)" in text and "<0.001" in text
    assert "Cox proportional-hazards regression (Efron ties)" in text


def test_single_model_has_no_spanners_and_logistic_measure(lung: pd.DataFrame) -> None:
    """glm(case ~ age + parity + education + spontaneous + induced, binomial, infert)"""
    frame = pd.read_csv(REF / "infert.csv")
    frame["education"] = pd.Categorical(frame["education"], ["0-5yrs", "6-11yrs", "12+ yrs"])
    m = logistic_model(frame, outcome="case", terms=["age", "parity", "education", "spontaneous", "induced"])
    store = ResultsStore("t")
    t = tbl_regression(m, store=store, prefix="lr", table_id="tbl-lr", caption="Logistic",
                       include=["education", "spontaneous"]).table
    assert [c.header for c in t.columns] == ["OR (95% CI)", "P"] and {c.spanner for c in t.columns} == {None}
    assert [r.label for r in t.rows] == ["education", "0-5yrs", "6-11yrs", "12+ yrs", "spontaneous"]
    r = R["logistic"]["infert"]
    assert store["lr.education.12_yrs.est"].raw["estimate"] == pytest.approx(r["or"][4], rel=1e-10)
    assert store["lr.spontaneous.est"].raw["lower"] == pytest.approx(r["lower"][5], rel=1e-10)
    assert "OR, odds ratio; CI, confidence interval." in t.notes


def test_level_segments_never_collide() -> None:
    assert level_segments(["< 65", ">= 65"]) == {"< 65": "65_1", ">= 65": "65_2"}
    assert level_segments(["ID", "Rd"]) == {"ID": "ID", "Rd": "Rd"}


def test_include_names_unknown_variable(lung: pd.DataFrame) -> None:
    multi, _ = _lung_models(lung)
    with pytest.raises(StatisticsError, match=r"`include` names \['weight'\]"):
        tbl_regression(multi, store=ResultsStore("t"), prefix="c", table_id="tbl-c", caption="C", include=["weight"])


def test_forest_of_terms_shows_table_cells(lung: pd.DataFrame) -> None:
    multi, _ = _lung_models(lung)
    rt = tbl_regression(multi, store=ResultsStore("t"), prefix="c", table_id="tbl-c", caption="C", labels=LABELS)
    fig = rt.forest(title="Multivariable Cox model")
    texts = [t.get_text() for t in fig.findobj(plt.Text) if t.get_text()]
    assert "1.51 (1.02–2.23)" in texts and "Reference" in texts and "ECOG performance status" in texts
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_xlabel() == "Hazard ratio (log scale)"
    plt.close(fig)


def test_unsupported_object_refused() -> None:
    with pytest.raises(StatisticsError, match="Cannot read a model of type dict"):
        as_model({"coef": 1})


# ---------------------------------------------------------------------------------------------
# Adapters: statsmodels and lifelines fits bind the same way
# ---------------------------------------------------------------------------------------------
def test_statsmodels_phreg_and_logit_match_r() -> None:
    """statsmodels PHReg (Efron) vs coxph(Surv(time, status) ~ age + factor(sex) + factor(ph.ecog), lung);
    Logit vs glm(case ~ age + parity + education + spontaneous + induced, binomial, infert)."""
    smf = pytest.importorskip("statsmodels.formula.api")
    from statsmodels.duration.hazard_regression import PHReg

    lung = pd.read_csv(REF / "lung.csv").dropna(subset=["ph.ecog"]).rename(columns={"ph.ecog": "ecog"})
    ph = PHReg.from_formula("time ~ age + C(sex) + C(ecog)", lung, status=lung["status"].to_numpy(),
                            ties="efron").fit()
    m = from_statsmodels(ph, reference={"sex": 1, "ecog": 0})
    r = R["cox"]["lung"]
    mine = {t.label: t for t in m.terms}
    for label, i in (("age", 0), ("sex=2", 1), ("ecog=1", 2), ("ecog=2", 3), ("ecog=3", 4)):
        assert mine[label].coef == pytest.approx(r["coef"][i], rel=1e-6)
        assert mine[label].hr == pytest.approx(r["hr"][i], rel=1e-6)
    assert m.variable("ecog").reference == "0" and m.events == 164 and m.source == "statsmodels"

    frame = pd.read_csv(REF / "infert.csv")
    fit = smf.logit("case ~ age + parity + C(education, levels=['0-5yrs', '6-11yrs', '12+ yrs']) + spontaneous"
                    " + induced", frame).fit(disp=0)
    m = from_statsmodels(fit)
    r = R["logistic"]["infert"]
    mine = {t.label: t for t in m.terms}
    assert mine["education=12+ yrs"].odds_ratio == pytest.approx(r["or"][4], rel=1e-7)
    assert mine["spontaneous"].se == pytest.approx(r["se"][5], rel=1e-4)  # converged further than R: SE ~2e-5 off
    assert m.variable("education").reference == "0-5yrs"
    store = ResultsStore("t")
    t = tbl_regression(fit, store=store, prefix="sm", table_id="tbl-sm", caption="statsmodels").table
    assert "0-5yrs" in [row.label for row in t.rows]
    assert store["sm.education.6_11yrs.est"].raw["estimate"] == pytest.approx(r["or"][3], rel=1e-7)


def test_statsmodels_ols_coefficients_with_t_limits() -> None:
    """OLS coefficients print as estimate_ci (negative values allowed), limits as statsmodels' conf_int."""
    smf = pytest.importorskip("statsmodels.formula.api")
    frame = pd.read_csv(REF / "infert.csv")
    fit = smf.ols("age ~ parity + C(education)", frame).fit()
    m = from_statsmodels(fit)
    ci = fit.conf_int().loc["parity"].to_numpy()
    assert [m.term("parity").lower, m.term("parity").upper] == pytest.approx(ci, rel=1e-12)
    store = ResultsStore("t")
    t = tbl_regression(fit, store=store, prefix="ols", table_id="tbl-ols", caption="OLS").table
    assert [c.header for c in t.columns] == ["Beta (95% CI)", "P"]
    cell = t.rows[-1].cells["est"]
    assert cell.kind == "estimate_ci" and " to " in cell.text()


def test_lifelines_coxph_fitter_matches_r() -> None:
    """lifelines CoxPHFitter (Efron) vs coxph(Surv(time, status) ~ age + factor(sex), lung) at lifelines' 1e-6."""
    lifelines = pytest.importorskip("lifelines")
    lung = pd.read_csv(REF / "lung.csv")[["time", "status", "age", "sex"]]
    cph = lifelines.CoxPHFitter().fit(lung, "time", "status", formula="age + C(sex)")
    m = as_model(cph, reference={"sex": 1})
    ref = cox_model(lung, time="time", event="status", terms=["age", "sex"], factors=["sex"])
    assert [t.label for t in m.terms] == ["age", "sex=2"]
    assert np.allclose([t.coef for t in m.terms], [t.coef for t in ref.terms], rtol=1e-5)
    assert m.variable("sex").reference == "1" and m.n == 228 and m.events == 165 and m.source == "lifelines"
    t = tbl_regression(cph, store=ResultsStore("t"), prefix="ll", table_id="tbl-ll", caption="lifelines",
                       reference={"sex": 1}).table
    assert [r.label for r in t.rows] == ["age", "sex", "1", "2"]
