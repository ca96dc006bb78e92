"""Ixazomib, lenalidomide and dexamethasone in relapsed/refractory myeloma: a case series with
subgroup comparisons, a meta-analysis of the daratumumab triplet trials, and a transplant cohort.

All statistics come from the engine; this script only says what to compute.
"""

from __future__ import annotations

from analysis.context import StudyContext
from analysis.results import ResultsStore
from analysis.stats.contingency import compare_counts
from analysis.stats.meta import ModelChoice, generic_from_ci, mantel_haenszel_or
from analysis.stats.survival import logrank
from analysis.study import Arm, Study
from analysis.tables.meta import MetaOutcome, tbl_meta

RESPONSE_ROWS = (("CR", "Complete response"), ("VGPR", "Very good partial response"),
                 ("PR", "Partial response"), ("MR", "Minimal response"))
SUBGROUP_TABLES = (  # group in study.yaml, table id, caption
    ("disease_status", "tbl-status", "Response in relapsed and in refractory disease"),
    ("thalidomide", "tbl-thalidomide", "Response by previous thalidomide"),
    ("lenalidomide", "tbl-lenalidomide", "Response by previous lenalidomide"),
    ("ixazomib", "tbl-ixazomib", "Response by previous ixazomib"),
)
BINARY_OUTCOMES = (("orr", "Overall response", "OR"), ("vgpr_or_better", "Very good partial response or better", "OR"),
                   ("mrd_negative", "Negative minimal residual disease", "OR"))
RATIO_OUTCOMES = (("pfs", "Progression-free survival", "HR"), ("os", "Overall survival", "HR"))


_YES_NO = {"1": "yes", "0": "no"}


def _code(code: object) -> str:
    """Group codes as key segments: the 0/1 of yes/no columns read as "yes"/"no"."""
    return _YES_NO.get(str(code), str(code))


def _arms(group: dict) -> list[Arm]:
    return [Arm(_code(lv["code"]), lv["label"], lv.get("short")) for lv in group["levels"]]


def _levels(group: dict) -> list[list[str]]:
    return [[lv["code"], lv["label"]] for lv in group["levels"]]


def analyse(study: Study) -> ResultsStore:
    """Every table, figure and value of the manuscript."""
    ctx = StudyContext(study, data="case_series")
    groups = study.config["groups"]
    _case_series(ctx, groups)
    _meta_analysis(ctx)
    _transplant(ctx.using("transplant", by="chain_type", arms=_arms(groups["transplant_chain"])))
    ctx.methods(tables=("characteristics", *(g for g, _, _ in SUBGROUP_TABLES)))
    return ctx.store


def _case_series(ctx: StudyContext, groups: dict) -> None:
    series = ctx.frame.copy()
    orr_codes = tuple(ctx.study.statistics["response"]["orr_categories"])
    cut = ctx.study.statistics["age_cut"]
    series["age_group"] = ["le58" if a <= cut else "gt58" for a in series["age"]]
    series["responder"] = ["yes" if r in orr_codes else "no" for r in series["best_response"]]
    for name in ("thalidomide", "lenalidomide", "ixazomib", "renal", "diabetes"):
        column = groups[name]["column"]
        series[column] = [_code(v) for v in series[column]]
    ctx = ctx.using(frame=series)

    n = len(series)
    ctx.value("series.n", n, "int", test="count")
    ctx.value("series.age_cut", cut, "int", note="study.yaml: age cut point", inputs=())
    ctx.value("series.age_median", float(series["age"].median()), "num", digits=1, test="median")
    ctx.value("series.age_min", float(series["age"].min()), "num", digits=1, test="minimum")
    ctx.value("series.age_max", float(series["age"].max()), "num", digits=1, test="maximum")
    for name in ("disease_status", "sex", "chain"):
        column = groups[name]["column"]
        for level in groups[name]["levels"]:
            count = int((series[column].astype(str) == str(level["code"])).sum())
            ctx.value(f"series.{name}.{level['code']}", {"n": count, "N": n}, "n_pct", test="count")
    for drug in ("thalidomide", "lenalidomide", "ixazomib"):
        count = int((series[groups[drug]["column"]] == "yes").sum())
        ctx.value(f"series.exposed.{drug}", {"n": count, "N": n}, "n_pct", test="count")
    for code, _ in (*RESPONSE_ROWS, ("SD", ""), ("PD", "")):
        count = int((series["best_response"] == code).sum())
        ctx.value(f"series.response.{code.lower()}", {"n": count, "N": n}, "n_pct", test="count")
    ctx.value("series.orr", {"n": int((series["responder"] == "yes").sum()), "N": n}, "n_pct",
              test="overall response, " + " + ".join(orr_codes))
    for i, code in enumerate(orr_codes):
        ctx.value(f"series.orr_codes.{i}", code, "text", note="study.yaml: ORR definition", inputs=())
    imwg = [c for c in orr_codes if c != "MR"]  # the IMWG convention: partial response or better
    ctx.value("series.orr_imwg", {"n": int(series["best_response"].isin(imwg).sum()), "N": n}, "n_pct",
              test="overall response by IMWG, " + " + ".join(imwg))
    for i, code in enumerate(imwg):
        ctx.value(f"series.orr_imwg_codes.{i}", code, "text", note="IMWG ORR definition", inputs=())
    for name in ("renal", "diabetes"):
        count = int((series[groups[name]["column"]] == "yes").sum())
        ctx.value(f"series.{name}.yes", {"n": count, "N": n}, "n_pct", test="count")
    ages = series["age"].astype(float)
    ctx.value("series.age", {"median": float(ages.median()), "min": float(ages.min()), "max": float(ages.max())},
              "median_range", digits=1, test="median (range)")
    _series_table(ctx, groups)

    responders = ctx.using(by="responder", arms=[Arm("yes", "Responders"), Arm("no", "Non-responders")])
    responders.baseline(
        [{"column": "age", "label": "Age, years", "type": "continuous"},
         {"column": "age_group", "label": "Age group", "key": "age_group", "levels": _levels(groups["age"])},
         {"column": "sex", "label": "Sex", "levels": _levels(groups["sex"])},
         {"column": "chain_type", "label": "Chain type", "key": "chain", "levels": _levels(groups["chain"])},
         {"column": "disease_status", "label": "Disease status", "levels": _levels(groups["disease_status"])},
         {"column": "renal_insufficiency", "label": "Renal insufficiency", "key": "renal",
          "levels": [["yes", "Yes"], ["no", "No"]]},
         {"column": "diabetes", "label": "Diabetes", "levels": [["yes", "Yes"], ["no", "No"]]}],
        key="characteristics", caption="Characteristics of responders and non-responders",
    )
    outcomes = [{"label": label, "codes": [code]} for code, label in RESPONSE_ROWS]
    outcomes.append({"label": "Overall response (" + ", ".join(orr_codes) + ")", "codes": list(orr_codes),
                     "key": "orr"})
    for group, tid, caption in SUBGROUP_TABLES:
        ctx.using(by=groups[group]["column"], arms=_arms(groups[group])).comparison(
            outcomes, column="best_response", key=group, id=tid, caption=caption, test=["orr"],
        )
    # Renal function and diabetes: only the ORR comparison is reported, in the text
    for group in ("renal", "diabetes"):
        column = groups[group]["column"]
        arms = _arms(groups[group])
        counts = [[int(((series[column].astype(str) == a.code) & (series["responder"] == r)).sum())
                   for r in ("yes", "no")] for a in arms]
        test = compare_counts(counts, ctx.rule)
        for a, (yes, no) in zip(arms, counts, strict=True):
            ctx.value(f"{group}.orr.{a.code}", {"n": yes, "N": yes + no}, "n_pct", test="count")
        ctx.value(f"{group}.orr.p", test.p, "p", test=test.method_label)
        ctx.value(f"{group}.orr.test", test.method_label, "text", test=test.method_label)
    ctx.significance_summary("characteristics")


def _series_table(ctx: StudyContext, groups: dict) -> None:
    """The 21 patients of the case series in one column: every cell is a ``series.*`` value."""
    from analysis.tables.model import Cell, Column, Row, Table

    store = ctx.store
    n = store["series.n"].raw
    table = Table("tbl-series", "Characteristics and best response of the patients in the case series",
                  "Characteristic", [Column("all", f"All patients (n={n})")])

    def cell(key: str) -> dict[str, Cell]:
        value = store[key]
        return {"all": Cell(value.raw, value.kind, value.digits, key)}

    table.add_row(Row("Age, years, median (range)", cell("series.age")))
    blocks = [("Sex", [(f"series.sex.{lv['code']}", lv["label"]) for lv in groups["sex"]["levels"]]),
              ("Paraprotein", [(f"series.chain.{lv['code']}", lv["label"]) for lv in groups["chain"]["levels"]]),
              ("Disease status", [(f"series.disease_status.{lv['code']}", lv["label"])
                                  for lv in groups["disease_status"]["levels"]]),
              ("Previous treatment", [(f"series.exposed.{d}", d.capitalize())
                                      for d in ("thalidomide", "lenalidomide", "ixazomib")]),
              ("Comorbidity", [("series.renal.yes", "Renal insufficiency"), ("series.diabetes.yes", "Diabetes")]),
              ("Best response", [(f"series.response.{c.lower()}", label) for c, label in
                                 (*RESPONSE_ROWS, ("SD", "Stable disease"), ("PD", "Progressive disease"))])]
    for head, rows in blocks:
        table.add_row(Row(head))
        for key, label in rows:
            table.add_row(Row(label, cell(key), indent=1))
    table.notes.append("Values are n (%) of the patients, or median (range).")
    ctx.add_table(table.validate())


def _meta_analysis(ctx: StudyContext) -> None:
    binary, ratios = ctx.frame_of("meta_binary"), ctx.frame_of("meta_ratios")
    bfile, rfile = ctx.file_of("meta_binary"), ctx.file_of("meta_ratios")
    rule = ModelChoice(**ctx.study.statistics["meta"]["model_rule"])
    outcomes = []
    for key, label, measure in BINARY_OUTCOMES:
        rows = binary[binary["outcome"] == key]
        tables = [(int(r.events_treat), int(r.n_treat), int(r.events_control), int(r.n_control))
                  for r in rows.itertuples()]
        outcomes.append(MetaOutcome(key, label, measure, mantel_haenszel_or(tables, list(rows["study"]))))
    for key, label, measure in RATIO_OUTCOMES:
        rows = ratios[ratios["outcome"] == key]
        result = generic_from_ci(list(rows["hr"]), list(rows["lower"]), list(rows["upper"]), list(rows["study"]),
                                 measure=measure)
        outcomes.append(MetaOutcome(key, label, measure, result))
    table, decisions = tbl_meta(outcomes, ctx.store, "meta", "tbl-meta",
                                "Pooled efficacy of daratumumab-based triplets against doublets (CASTOR and POLLUX)",
                                rule, inputs=[bfile, rfile])
    ctx.add_table(table)
    ctx.value("meta.rule", rule.describe(), "text", note="study.yaml: model-choice rule", inputs=())
    ctx.value("meta.n_patients", int(binary[binary["outcome"] == "orr"][["n_treat", "n_control"]].to_numpy().sum()),
              "int", test="sum of randomised patients", inputs=[bfile])
    for out in outcomes:
        favours = ("Favours doublet", "Favours triplet") if out.measure == "OR" else ("Favours triplet",
                                                                                     "Favours doublet")
        ctx.forest_figure(f"fig-forest-{out.key.replace('_', '-')}", out.result, title=out.label,
                          xlabel=f"{out.measure} (log scale)", model=decisions[out.key], favours=favours,
                          caption=f"{out.label}: {out.measure} of the daratumumab triplet against its doublet in "
                          "each trial and pooled, with study weights and the heterogeneity statistics.",
                          alt=f"Forest plot of {out.label.lower()}", width="90%")


def _transplant(ctx: StudyContext) -> None:
    cohort = ctx.frame
    summaries = []
    for endpoint, label in (("os", "Overall survival"), ("efs", "Event-free survival")):
        summary = ctx.survival(
            f"tx_{endpoint}", time=f"{endpoint}_years", event=f"{endpoint}_event", label=label,
            caption=f"{label} after autologous transplantation by myeloma type", reference="IgG",
            landmarks=[("y3", 3.0, "3-year")], time_unit="years", digits=1, table=False,
            stub_header="Myeloma type", landmark_noun=label[0].lower() + label[1:], pairwise=True,
        )
        summary.table.notes.append(
            "Reconstruction only: the original report printed the light-chain and IgG medians and the light-chain "
            "against IgG P values; the IgA row, the hazard ratios and the 3-year rates exist only in these "
            "synthetic records and were not reported.")
        ctx.add_table(summary.table)
        summaries.append(summary)
        # the comparison the report makes: light chain against IgG, all patients and those in CR
        for subset, mask in (("all", cohort["chain_type"].isin(["light_chain", "IgG"])),
                             ("cr", cohort["chain_type"].isin(["light_chain", "IgG"]) & (cohort["achieved_cr"] == 1))):
            sub = cohort[mask]
            test = logrank(sub[f"{endpoint}_years"], sub[f"{endpoint}_event"], sub["chain_type"],
                           levels=["light_chain", "IgG"])
            ctx.value(f"tx_{endpoint}.lc_vs_igg.{subset}.p", test.p, "p", test="log-rank test, light chain vs IgG")
            ctx.value(f"tx_{endpoint}.lc_vs_igg.{subset}.n", len(sub), "int", test="count")
    for arm in ctx.arms:
        ctx.value(f"tx.n.{arm.code}", int((cohort["chain_type"] == arm.code).sum()), "int", test="count")
    ctx.value("tx.n_total", len(cohort), "int", test="count")
    ctx.value("tx.n_cr", int(cohort["achieved_cr"].sum()), "int", test="count")
    for arm in ctx.arms:
        rows = cohort[cohort["chain_type"] == arm.code]
        ctx.value(f"tx.n_cr_by.{arm.code}", int(rows["achieved_cr"].sum()), "int", test="count")
    ctx.km_figure(
        "fig-transplant", summaries,
        caption="Kaplan-Meier estimates of overall survival (A) and event-free survival (B) after autologous "
        "transplantation in light-chain, IgG and IgA myeloma, with the numbers at risk.",
        alt="Two Kaplan-Meier plots by myeloma type",
    )
