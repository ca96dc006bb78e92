"""The study context: builders given the study once give exactly what the long calls give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.context import StudyContext, table_id
from analysis.errors import ConfigError, StatisticsError
from analysis.formatting import Style
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.study import Arm, Study

ARMS = [Arm("T", "Treatment arm", "treatment"), Arm("C", "Control arm", "control")]
BASELINE = [
    {"column": "sex", "label": "Sex", "levels": [["m", "Male"], ["f", "Female"]]},
    {"column": "age", "label": "Age, years", "type": "continuous"},
]


def make_study(n: int = 60, seed: int = 7) -> Study:
    """A two-arm trial with baseline, response, survival and adverse events (deterministic)."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["T", "C"], n // 2)
    patients = pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)],
        "arm": arm,
        "sex": rng.choice(["m", "f"], n),
        "age": rng.normal(60, 8, n).round(0),
        "best_response": rng.choice(["CR", "VGPR", "PR", "MR", "SD", "PD"], n),
        "pfs_months": rng.exponential(np.where(arm == "T", 20, 12)).round(2) + 0.1,
        "pfs_event": rng.integers(0, 2, n),
    })
    terms = rng.choice(["nausea", "rash"], 40)
    events = pd.DataFrame({
        "patient_id": rng.choice(patients["patient_id"], 40),
        "term": terms,
        "category": np.where(terms == "nausea", "gi", "skin"),
        "grade": rng.integers(1, 5, 40),
    })
    return Study(
        id="trial", root=Path("."), config={"statistics": {"t_test": "welch", "categorical_rule": {"fisher_below": 5},
                                                             "ae_grade_bands": [["1–2", 1, 2], ["3–4", 3, 4]]}},
        arms=ARMS, style=Style(), frames={"patients": patients, "adverse_events": events},
        files={"patients": "patients.csv", "adverse_events": "ae.csv"},
    )


def analyse(study: Study) -> ResultsStore:
    """A standard two-arm trial through the context: the script a user writes."""
    ctx = StudyContext(study, data="patients", by="arm")
    ctx.counts()
    ctx.baseline(BASELINE)
    ctx.response(column="best_response")
    pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event", label="Progression-free survival")
    ctx.km_figure("fig-km", [pfs], caption="Progression-free survival by arm.")
    ctx.adverse_events()
    ctx.significance_summary("baseline")
    ctx.methods(tables=("baseline", "response", "ae"))
    return ctx.store


def analyse_long(study: Study) -> ResultsStore:
    """The same analysis through the builders' long calls (what scripts looked like before)."""
    from analysis.figures.km import km_panels
    from analysis.methods import add_methods_values, add_significance_summary
    from analysis.tables.adverse import tbl_adverse
    from analysis.tables.baseline import tbl_baseline
    from analysis.tables.response import tbl_response
    from analysis.tables.survival import tbl_survival

    store = ResultsStore(study.id, study.style)
    p, ae = study.frames["patients"], study.frames["adverse_events"]
    rule = CategoricalRule(fisher_below=5)
    store.add("n.total", len(p), "int", test="count", inputs=["patients.csv"])
    for a in ARMS:
        store.add(f"n.{a.code}", int((p["arm"] == a.code).sum()), "int", test="count", inputs=["patients.csv"])
    store.add_table(tbl_baseline(p, "arm", ARMS, store, "baseline", "tbl-baseline",
                                 "Baseline characteristics of the patients", BASELINE, rule=rule, t_method="welch",
                                 inputs=["patients.csv"]))
    store.add_table(tbl_response(p, "arm", ARMS, store, "response", "tbl-response", "Best response",
                                 response_column="best_response", rule=rule, inputs=["patients.csv"]))
    pfs = tbl_survival(p, time="pfs_months", event="pfs_event", arm_column="arm", arms=ARMS, store=store,
                       prefix="pfs", table_id="tbl-pfs", caption="Progression-free survival by arm",
                       inputs=["patients.csv"])
    store.add_table(pfs.table)
    store.add_figure("fig-km", km_panels([pfs.km_panel("Progression-free survival")], letters=""),
                     "Progression-free survival by arm.")
    store.add_table(tbl_adverse(ae, p, "arm", ARMS, store, "ae", "tbl-ae", "Adverse events by arm and worst grade",
                                bands=[("1–2", 1, 2), ("3–4", 3, 4)], rule=rule, inputs=["ae.csv", "patients.csv"]))
    add_significance_summary(store, "baseline", study)
    add_methods_values(store, study, rule, "welch", "log", tables=("baseline", "response", "ae"))
    return store


def test_context_gives_the_same_results_as_the_long_calls():
    a, b = analyse(make_study()), analyse_long(make_study())
    assert a.to_json() == b.to_json()
    assert sorted(a.figures) == ["fig-km"]


def test_the_standard_trial_script_is_about_thirty_lines():
    import inspect

    assert len(inspect.getsource(analyse).splitlines()) <= 30


def test_key_scheme():
    store = analyse(make_study())
    assert sorted(store.tables) == ["tbl-ae", "tbl-baseline", "tbl-pfs", "tbl-response"]
    for key in ("n.total", "n.T", "baseline.age.T", "baseline.age.p", "baseline.sex_m.C", "baseline.sex.test",
                "response.cr.T", "response.orr.p", "pfs.median.T", "pfs.hr.T", "pfs.logrank.p", "ae.nausea.T",
                "ae.nausea_g3_4.C", "ae.nausea.p", "ae.n.T", "methods.t_test"):
        assert key in store, key
    assert store["baseline.age.test"].raw.startswith("Welch")
    assert store["baseline.age.p"].source.inputs == ("patients.csv",)
    assert store["ae.nausea.T"].source.inputs == ("ae.csv", "patients.csv")
    assert table_id("tx_os") == "tbl-tx-os"


def test_using_shares_the_store_and_changes_only_what_it_names():
    study = make_study()
    ctx = StudyContext(study)
    frame = ctx.frame.assign(old=lambda d: np.where(d["age"] > 60, "yes", "no"))
    sub = ctx.using(frame=frame, by="old", arms=[Arm("yes", "Older"), Arm("no", "Younger")])
    assert sub.store is ctx.store and sub.inputs == ("patients.csv",)
    sub.baseline(BASELINE[:1], key="by_age")
    assert ctx.store["by_age.sex_m.yes"].raw["N"] == int((frame["old"] == "yes").sum())
    assert ctx.using("adverse_events").frame is study.frames["adverse_events"]


def test_settings_are_read_once_and_checked():
    study = make_study()
    ctx = StudyContext(study)
    assert (ctx.t_method, ctx.conf_type, ctx.alpha, ctx.rule.fisher_below) == ("welch", "log", 0.05, 5)
    with pytest.raises(ConfigError, match=r"Invalid `data` 'visits'.*Must be one of: \['adverse_events', 'patients'\]"):
        StudyContext(study, data="visits")
    study.config["statistics"]["t_test"] = "wilcoxon"
    with pytest.raises(ConfigError, match=r"statistics.t_test.*'wilcoxon'.*student"):
        StudyContext(study)


def test_survival_table_can_stay_out_of_the_manuscript():
    ctx = StudyContext(make_study())
    pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event", table=False, digits=1)
    assert "tbl-pfs" not in ctx.store.tables and "pfs.median.T" in ctx.store
    assert pfs.label == "PFS" and pfs.digits == 1


def test_km_panel_options_through_the_documented_call():
    ctx = StudyContext(make_study())
    pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event", label="PFS", digits=1, time_unit="weeks")
    panel = pfs.km_panel(xticks=[0, 10, 20], risk_labels=["Tr", "Co"], risk_title="At risk", ylabel="PFS")
    assert (panel.xlabel, panel.ylabel, panel.xticks, panel.risk_labels, panel.risk_title, panel.median_digits) == (
        "Weeks", "PFS", (0.0, 10.0, 20.0), ("Tr", "Co"), "At risk", 1)
    with pytest.raises(StatisticsError, match="risk_labels"):
        pfs.km_panel(risk_labels=["only one"])


def test_km_figure_prints_medians_with_the_digits_of_the_prose():
    from analysis.figures.km import annotation_lines

    ctx = StudyContext(make_study())
    pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event", digits=1)
    lines = annotation_lines(pfs.km_panel())
    for arm in ARMS:
        assert f"{arm.name}: {ctx.store.text(f'pfs.median_ci.{arm.code}')}" in lines


def test_regression_and_subgroups_through_the_context():
    from analysis.stats import cox_model
    from analysis.tables.regression import tbl_regression
    from analysis.tables.subgroup import Subgroup, tbl_subgroup

    study = make_study(n=120)
    ctx = StudyContext(study)
    model = cox_model(ctx.frame, time="pfs_months", event="pfs_event", terms=["arm", "age", "sex"])
    built = ctx.regression(model, key="cox", caption="Cox model")
    sub = ctx.subgroups([{"column": "sex", "label": "Sex"}], time="pfs_months", event="pfs_event", reference="C")
    assert sorted(ctx.store.tables) == ["tbl-cox", "tbl-subgroups"]
    direct = ResultsStore("trial", study.style)
    tbl_regression(model, store=direct, prefix="cox", table_id="tbl-cox", caption="Cox model", inputs=["patients.csv"])
    tbl_subgroup(study.frames["patients"], time="pfs_months", event="pfs_event", arm_column="arm", arms=ARMS,
                 subgroups=[Subgroup("sex", "Sex")], store=direct, prefix="subgroups", table_id="tbl-subgroups",
                 caption="Hazard ratios by subgroup", reference="C", inputs=["patients.csv"])
    assert {k: ctx.store[k].raw for k in ctx.store} == {k: direct[k].raw for k in direct}
    assert built.table.id == "tbl-cox" and sub.table.id == "tbl-subgroups"
