"""Ixazomib vs lenalidomide, each with dexamethasone, in newly diagnosed myeloma.

Data in, results out: Tables 1-4, Figures 1-2 and every value the manuscript cites. All
statistics come from the engine; this script only says what to compute.
"""

from __future__ import annotations

from analysis.figures.km import km_panels
from analysis.figures.scores import before_after_figure, score_panels
from analysis.methods import add_methods_values, add_significance_summary
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.stats.survival import median_follow_up
from analysis.study import Study
from analysis.tables.adverse import tbl_adverse
from analysis.tables.baseline import tbl_baseline
from analysis.tables.response import tbl_response
from analysis.tables.scores import tbl_scores
from analysis.tables.survival import tbl_survival

MONTHS_PER_YEAR = 12

BASELINE = [
    {"column": "sex", "label": "Sex", "levels": [["male", "Male"], ["female", "Female"]]},
    {"column": "age", "label": "Age, years", "type": "continuous", "digits": 1},
    {"column": "immunofixation", "label": "Immunofixation type",
     "levels": [["IgG", "IgG"], ["IgA", "IgA"], ["light_chain", "Light chain"]]},
    {"column": "riss_stage", "label": "R-ISS stage",
     "levels": [["I", "Stage I"], ["II", "Stage II"], ["III", "Stage III"]]},
    {"column": "cytogenetic_risk", "label": "Cytogenetic risk",
     "levels": [["standard", "Standard"], ["high", "High"]]},
]
SCORES = [
    {"label": "NRS pain score", "before": "nrs_before", "after": "nrs_after", "digits": 2, "key": "nrs"},
    {"label": "KPS score", "before": "kps_before", "after": "kps_after", "digits": 2, "key": "kps"},
]


def analyse(study: Study) -> ResultsStore:
    """Every table, figure and value of the manuscript."""
    store = ResultsStore(study.id, study.style)
    patients = study.frames["patients"]
    events = study.frames["adverse_events"]
    pfile, afile = study.files["patients"], study.files["adverse_events"]
    stats = study.statistics
    rule = CategoricalRule(**stats.get("categorical_rule", {}))
    t_method = stats.get("t_test", "student")
    arms = study.arms

    store.add("n.total", len(patients), "int", test="count", inputs=[pfile])
    for arm in arms:
        store.add(f"n.{arm.code}", int((patients["arm"] == arm.code).sum()), "int", test="count", inputs=[pfile])

    baseline = tbl_baseline(
        patients, "arm", arms, store, "table1", "tbl-baseline", "Baseline characteristics of the patients",
        BASELINE, rule=rule, t_method=t_method, inputs=[pfile],
    )
    store.add_table(baseline)

    response = tbl_response(
        patients, "arm", arms, store, "table2", "tbl-response",
        f"Best response after {study.protocol['cycles_before_assessment']} cycles",
        response_column="best_response", rule=rule, inputs=[pfile],
    )
    store.add_table(response)

    conf_type = stats.get("survival_conf_type", "log")
    landmark_years = int(stats.get("landmark_years", 3))
    landmark = [(f"y{landmark_years}", landmark_years * MONTHS_PER_YEAR, f"{landmark_years}-year")]
    store.add("landmark.years", landmark_years, "int", note="study.yaml: statistics.landmark_years")
    summaries = {}
    for endpoint, label in (("pfs", "Progression-free survival"), ("os", "Overall survival")):
        summaries[endpoint] = tbl_survival(
            patients, time=f"{endpoint}_months", event=f"{endpoint}_event", arm_column="arm", arms=arms,
            store=store, prefix=endpoint, table_id=f"tbl-{endpoint}", caption=f"{label} by arm",
            reference=arms[-1].code, landmarks=landmark, conf_type=conf_type, inputs=[pfile],
        )
    follow = median_follow_up(patients["os_months"], patients["os_event"])
    q = _follow_up_quartiles(patients)
    src = {"test": "reverse Kaplan-Meier median follow-up", "inputs": [pfile]}
    store.add("followup.median_months", follow.median, "num", digits=1, **src)
    store.add("followup.median_years", follow.median / MONTHS_PER_YEAR, "num", digits=1, **src)
    store.add("followup.q1_years", q[0] / MONTHS_PER_YEAR, "num", digits=1, **src)
    store.add("followup.q3_years", q[1] / MONTHS_PER_YEAR, "num", digits=1, **src)

    panels = [summaries["pfs"].km_panel("Progression-free survival", style=study.style),
              summaries["os"].km_panel("Overall survival", style=study.style)]
    store.add_figure(
        "fig-survival", km_panels(panels),
        "Kaplan-Meier estimates of progression-free survival (A) and overall survival (B) by arm, with "
        "censored patients marked and the numbers at risk below each panel.",
        alt="Two Kaplan-Meier plots comparing the arms",
    )

    scores = tbl_scores(
        patients, "arm", arms, store, "table3", "tbl-scores",
        "Pain (NRS) and performance (KPS) scores before and after treatment", SCORES,
        t_method=t_method, inputs=[pfile],
    )
    store.add_table(scores)
    store.add_figure(
        "fig-scores", before_after_figure(score_panels(store, "table3", SCORES, arms)),
        "Mean NRS pain scores (left) and KPS scores (right) before and after treatment by arm; error bars show "
        "one standard deviation and asterisks the paired comparison with the pre-treatment score.",
        alt="Bar charts of NRS and KPS before and after treatment",
    )

    bands = [tuple(b) for b in stats.get("ae_grade_bands", [["1–2", 1, 2], ["3–4", 3, 4]])]
    labels = study.config.get("value_labels", {})
    adverse = tbl_adverse(
        events, patients, "arm", arms, store, "table4", "tbl-adverse-events",
        "Adverse events by arm and worst grade", bands=bands, rule=rule, inputs=[afile, pfile],
        terms=list(labels.get("term", {}).items()) or None, category_labels=labels.get("category"),
    )
    store.add_table(adverse)
    _adverse_summary(store, events, bands, afile)

    add_significance_summary(store, "table1", study)
    add_significance_summary(store, "table4", study)
    add_methods_values(store, study, rule, t_method, conf_type, tables=("table1", "table2", "table4"))
    return store


def _follow_up_quartiles(patients) -> tuple[float, float]:
    """Interquartile range of follow-up by the reverse Kaplan-Meier method."""
    from analysis.stats.survival import kaplan_meier

    fit = kaplan_meier(patients["os_months"], 1 - patients["os_event"].astype(int))
    out = []
    for level in (0.75, 0.25):  # S = 0.75 is the first quartile of follow-up
        out.append(next(t for t, s in zip(fit.time, fit.survival, strict=True) if s <= level))
    return out[0], out[1]


def _adverse_summary(store: ResultsStore, events, bands, afile: str) -> None:
    """Counts the prose needs beyond the table: share of low-grade events, severe neuropathy."""
    low_lo, low_hi = bands[0][1], bands[0][2]
    low = int(events["grade"].between(low_lo, low_hi).sum())
    src = {"test": "count", "inputs": [afile]}
    store.add("ae.low_band", str(bands[0][0]), "text", note="study.yaml: grade bands")
    store.add("ae.high_band", str(bands[1][0]), "text", note="study.yaml: grade bands")
    store.add("ae.low_grade_share", low / len(events), "pct", digits=1, **src)
    neuro = events[(events["term"] == "peripheral_neuropathy") & (events["grade"] >= bands[1][1])]
    store.add("ae.neuropathy_severe", len(neuro), "int", **src)
