"""Ixazomib vs lenalidomide, each with dexamethasone, in newly diagnosed myeloma.

Data in, results out: Tables 1-4, Figures 1-2 and every value the manuscript cites. All
statistics come from the engine; this script only says what to compute.
"""

from __future__ import annotations

from analysis.consort import add_consort
from analysis.context import StudyContext
from analysis.results import ResultsStore
from analysis.stats.survival import median_follow_up
from analysis.study import Study

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
    ctx = StudyContext(study, data="patients", by="arm")
    ctx.counts()
    add_consort(ctx, received="received_allocated", discontinued="discontinued_reason", lost="lost_to_follow_up",
                screening="screening",
                caption="Flow of participants through the trial (CONSORT diagram). Screening numbers, "
                "discontinuations and losses to follow-up are not given in the original report; they come "
                "from the synthetic records.")
    _eligibility(ctx)
    ctx.baseline(BASELINE, key="table1", id="tbl-baseline")
    ctx.response(column="best_response", key="table2", id="tbl-response",
                 caption=f"Best response after {study.protocol['cycles_before_assessment']} cycles")

    landmark_years = int(study.statistics.get("landmark_years", 3))
    landmark = [(f"y{landmark_years}", landmark_years * MONTHS_PER_YEAR, f"{landmark_years}-year")]
    ctx.value("landmark.years", landmark_years, "int", note="study.yaml: statistics.landmark_years", inputs=())
    pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event", label="Progression-free survival",
                       reference=study.arms[-1].code, landmarks=landmark, table=False)
    os_ = ctx.survival("os", time="os_months", event="os_event", label="Overall survival",
                       reference=study.arms[-1].code, landmarks=landmark, table=False)
    _follow_up(ctx)
    ctx.km_figure(
        "fig-survival", [pfs, os_],
        caption="Kaplan-Meier estimates of progression-free survival (A) and overall survival (B) by arm, with "
        "censored patients marked and the numbers at risk below each panel.",
        alt="Two Kaplan-Meier plots comparing the arms",
    )

    ctx.scores(SCORES, key="table3", id="tbl-scores",
               caption="Pain (NRS) and performance (KPS) scores before and after treatment")
    ctx.score_figure(
        "fig-scores", SCORES, key="table3",
        caption="Mean NRS pain scores (left) and KPS scores (right) before and after treatment by arm; error bars "
        "show one standard deviation and asterisks the paired comparison with the pre-treatment score.",
        alt="Bar charts of NRS and KPS before and after treatment",
    )

    paired = [ctx.store[f"table3.{k}.p"].raw for k in ("nrs_change_id", "nrs_change_rd", "kps_change_id",
                                                        "kps_change_rd")]
    ctx.value("table3.paired_max_p", max(paired), "p", test="largest P of the four paired t-tests")
    ctx.adverse_events(events="adverse_events", key="table4", id="tbl-adverse-events")
    _adverse_summary(ctx)

    ctx.significance_summary("table1")
    ctx.significance_summary("table4")
    ctx.methods(tables=("table1", "table2", "table4"))
    return ctx.store


def _eligibility(ctx: StudyContext) -> None:
    """Patients outside the protocol's age window, and why the printed ages need them.

    The Bhatia-Davis inequality bounds the variance of values within [m, M] with mean mu by
    (M - mu)(mu - m); for a sample SD (n - 1 denominator) the bound is sqrt(n / (n - 1)) times
    the square root of that. With ages held to the eligibility window the printed SDs would
    exceed it, so the records keep the printed SDs and report the deviation instead.
    """
    eligibility = ctx.study.protocol["eligibility"]
    lo, hi = float(eligibility["age_min"]), float(eligibility["age_max"])
    src = {"test": "count of ages above protocol.eligibility.age_max"}
    over = 0
    for arm in ctx.arms:
        ages = ctx.frame.loc[ctx.frame[ctx.by] == arm.code, "age"].astype(float)
        n, mean = len(ages), float(ages.mean())
        bound = (n / (n - 1) * (hi - mean) * (mean - lo)) ** 0.5
        ctx.value(f"eligibility.sd_bound.{arm.code}", bound, "num", digits=1,
                  test="Bhatia-Davis bound on the sample SD of ages within the eligibility window, at the arm's mean")
        count = int((ages > hi).sum())
        over += count
        ctx.value(f"eligibility.over_age_max.{arm.code}", {"n": count, "N": n}, "n_pct", **src)
    ctx.value("eligibility.over_age_max.total", {"n": over, "N": len(ctx.frame)}, "n_pct", **src)
    ctx.value("eligibility.age_oldest", int(ctx.frame["age"].max()), "int", test="maximum")


def _follow_up(ctx: StudyContext) -> None:
    """Median follow-up and its quartiles by the reverse Kaplan-Meier method."""
    patients = ctx.frame
    follow = median_follow_up(patients["os_months"], patients["os_event"])
    q = _follow_up_quartiles(patients)
    src = {"test": "reverse Kaplan-Meier median follow-up"}
    ctx.value("followup.median_months", follow.median, "num", digits=1, **src)
    ctx.value("followup.median_years", follow.median / MONTHS_PER_YEAR, "num", digits=1, **src)
    ctx.value("followup.q1_years", q[0] / MONTHS_PER_YEAR, "num", digits=1, **src)
    ctx.value("followup.q3_years", q[1] / MONTHS_PER_YEAR, "num", digits=1, **src)


def _follow_up_quartiles(patients) -> tuple[float, float]:
    """Interquartile range of follow-up by the reverse Kaplan-Meier method."""
    from analysis.stats.survival import kaplan_meier

    fit = kaplan_meier(patients["os_months"], 1 - patients["os_event"].astype(int))
    out = []
    for level in (0.75, 0.25):  # S = 0.75 is the first quartile of follow-up
        out.append(next(t for t, s in zip(fit.time, fit.survival, strict=True) if s <= level))
    return out[0], out[1]


def _adverse_summary(ctx: StudyContext) -> None:
    """Counts the prose needs beyond the table: share of low-grade events, severe neuropathy."""
    events = ctx.frame_of("adverse_events")
    bands = [tuple(b) for b in ctx.study.statistics.get("ae_grade_bands", [["1–2", 1, 2], ["3–4", 3, 4]])]
    low_lo, low_hi = bands[0][1], bands[0][2]
    low = int(events["grade"].between(low_lo, low_hi).sum())
    src = {"test": "count", "inputs": [ctx.file_of("adverse_events")]}
    ctx.value("ae.low_band", str(bands[0][0]), "text", note="study.yaml: grade bands", inputs=())
    ctx.value("ae.high_band", str(bands[1][0]), "text", note="study.yaml: grade bands", inputs=())
    ctx.value("ae.low_grade_share", low / len(events), "pct", digits=1, **src)
    neuro = events[(events["term"] == "peripheral_neuropathy") & (events["grade"] >= bands[1][1])]
    ctx.value("ae.neuropathy_severe", len(neuro), "int", **src)
