"""Baseline table: categorical and continuous variables, tests, missing values, one level."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import ConfigError, DataValidationError
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule, compare_counts
from analysis.stats.nonparametric import wilcoxon_rank_sum
from analysis.stats.ttest import two_sample_t
from analysis.study import Arm
from analysis.tables.baseline import Variable, tbl_baseline
from analysis.tables.render import to_markdown, to_text

ARMS = [Arm("ID", "ID group"), Arm("DT", "DT group")]
AGES_ID = [55, 61, 70, 48, 66, 59, 72, 63, 58, 67]
AGES_DT = [60, 65, 71, 69, 62, 74, 57, 68, 70, 66]
VARIABLES = [
    {"column": "age", "label": "Age (years)", "type": "continuous", "digits": 1},
    {"column": "sex", "label": "Sex", "type": "categorical", "levels": [["male", "Male"], ["female", "Female"]]},
    {"column": "iss", "label": "ISS stage", "type": "categorical", "levels": ["I", "II", "III"]},
    {"column": "site", "label": "Centre", "type": "categorical"},
]


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "arm": ["ID"] * 10 + ["DT"] * 10,
        "age": AGES_ID + AGES_DT,
        "sex": ["male"] * 6 + ["female"] * 4 + ["male"] * 3 + ["female"] * 7,
        "iss": ["I", "II", "III", "I", "II", "III", "I", "II", None, "I"] + ["II"] * 5 + ["III"] * 5,
        "site": ["A"] * 20,
    })


def build(df=None, **kw):
    store = ResultsStore("demo")
    t = tbl_baseline(frame() if df is None else df, "arm", ARMS, store, "table1", "tbl-baseline",
                     "Baseline characteristics", VARIABLES, inputs=("patients.csv",), **kw)
    return t, store


def test_continuous_mean_sd_and_student_t():
    _, store = build()
    assert store["table1.age.ID"].raw == {"mean": pytest.approx(np.mean(AGES_ID)),
                                          "sd": pytest.approx(np.std(AGES_ID, ddof=1))}
    ref = two_sample_t(AGES_ID, AGES_DT, method="student")
    assert store["table1.age.stat"].raw == ref.statistic and store["table1.age.p"].raw == ref.p
    assert store["table1.age.test"].raw == "Student's t-test"
    _, welch = build(t_method="welch")
    assert welch["table1.age.p"].raw == two_sample_t(AGES_ID, AGES_DT, method="welch").p


def test_categorical_counts_and_rule_chosen_test():
    t, store = build()
    assert store["table1.sex_male.ID"].raw == {"n": 6, "N": 10}
    assert store["table1.sex_female.DT"].raw == {"n": 7, "N": 10}
    sex = compare_counts([[6, 3], [4, 7]])
    assert sex.method == "fisher"  # expected counts below 5
    assert store["table1.sex.p"].raw == sex.p and "table1.sex.stat" not in store
    sex_row = next(r for r in t.rows if r.label == "Sex")
    assert "stat" not in sex_row.cells and sex_row.marks == [t.mark("Fisher's exact test")]


def test_missing_values_are_shown_and_left_out_of_the_test():
    t, store = build()
    assert store["table1.iss_missing.ID"].raw == 1 and store["table1.iss_missing.DT"].raw == 0
    assert store["table1.iss_i.ID"].raw == {"n": 4, "N": 10}
    assert store["table1.iss.p"].raw == compare_counts([[4, 0], [3, 5], [2, 5]]).p
    labels = [r.label for r in t.rows]
    assert labels[labels.index("ISS stage") + 4] == "Missing"


def test_single_level_variable_has_no_test_dashes_and_a_note():
    t, store = build()
    site = next(r for r in t.rows if r.label == "Centre")
    assert site.cells["stat"].text() == "–" and site.cells["p"].text() == "–"
    assert "table1.site.p" not in store
    assert t.footnotes[int(ord(site.marks[0]) - ord("a"))].startswith("Not tested")


def test_value_outside_declared_levels_is_an_error():
    df = frame()
    df.loc[3, "sex"] = "M"
    with pytest.raises(DataValidationError, match=r"patients.csv, column `sex`.*got 'M'; expected one of"):
        build(df)


def test_keys_have_the_right_kinds():
    _, store = build()
    assert store["table1.n.ID"].kind == "int" and store["table1.n.ID"].raw == 10
    assert store["table1.age.ID"].kind == "mean_sd" and store["table1.age.ID"].digits == 1
    assert store["table1.sex_male.ID"].kind == "n_pct"
    assert store["table1.age.p"].kind == "p" and store["table1.age.stat"].kind == "stat"
    assert store["table1.iss_missing.ID"].kind == "int"


def test_round_trip_of_a_built_table():
    from analysis.tables.model import Table

    t, _ = build()
    assert Table.from_dict(t.to_dict()) == t


def test_snapshots(snapshot):
    t, _ = build()
    assert to_markdown(t) == snapshot(name="markdown")
    assert to_text(t) == snapshot(name="text")


# -- summaries and tests per variable, named rules (R values: tests/reference/summary_tests.json) --

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "summary_tests.json").read_text())
THREE = [Arm("a", "A"), Arm("b", "B"), Arm("c", "C")]


def three_groups() -> pd.DataFrame:
    ref = REF["groups"]["three_groups"]
    return pd.DataFrame({"arm": ref["groups"], "score": ref["values"],
                         "sex": (["m", "f"] * 20)[: len(ref["values"])]})


def test_median_iqr_and_range_summaries_with_wilcoxon():
    """R: quantile(x, c(.25, .5, .75), type = 7) per arm; wilcox.test(x, y) (exact: n < 50, no ties)."""
    ref = REF["wilcoxon"]["small_no_ties"]
    df = pd.DataFrame({"arm": ["ID"] * len(ref["x"]) + ["DT"] * len(ref["y"]), "v": ref["x"] + ref["y"]})
    df["w"] = df["v"]
    store = ResultsStore("demo")
    t = tbl_baseline(df, "arm", ARMS, store, "t1", "tbl-t1", "T", [
        {"column": "v", "label": "Value", "type": "continuous", "summary": "median_iqr", "test": "wilcoxon"},
        {"column": "w", "label": "Range", "type": "continuous", "summary": "median_range", "test": "wilcoxon"},
    ])
    q1, med, q3 = np.quantile(ref["x"], [0.25, 0.5, 0.75])
    assert store["t1.v.ID"].kind == "median_iqr"
    assert store["t1.v.ID"].raw == {"median": pytest.approx(med), "q1": pytest.approx(q1), "q3": pytest.approx(q3)}
    assert store["t1.w.DT"].raw == {"median": pytest.approx(np.median(ref["y"])), "min": min(ref["y"]),
                                    "max": max(ref["y"])}
    assert store["t1.v.stat"].raw == pytest.approx(ref["statistic"], rel=1e-10)
    assert store["t1.v.p"].raw == pytest.approx(ref["p"], rel=1e-10)
    assert store["t1.v.test"].raw == "Wilcoxon rank-sum test (exact)"
    assert t.notes[0] == ("Values are median (IQR) or median (min–max). Statistic: W for continuous variables "
                          "(Wilcoxon rank-sum test (exact)).")
    assert [r.label for r in t.rows] == ["Value, median (IQR)", "Range, median (min–max)"]


def test_gtsummary_rule_with_three_groups_is_kruskal_and_median_iqr():
    """R: kruskal.test(values, factor(groups)); categorical: chisq.test/fisher.test by the rule."""
    ref = REF["groups"]["three_groups"]
    store = ResultsStore("demo")
    t = tbl_baseline(three_groups(), "arm", THREE, store, "t1", "tbl-t1", "T", [
        {"column": "score", "label": "Score", "type": "continuous"},
        {"column": "sex", "label": "Sex", "levels": [["m", "Male"], ["f", "Female"]]},
    ], summary_rule="gtsummary")
    assert store["t1.score.a"].kind == "median_iqr"
    assert store["t1.score.stat"].raw == pytest.approx(ref["kruskal"]["statistic"], rel=1e-10)
    assert store["t1.score.df"].raw == 2
    assert store["t1.score.p"].raw == pytest.approx(ref["kruskal"]["p"], rel=1e-10)
    assert store["t1.score.test"].raw == "Kruskal-Wallis test"
    assert "H for continuous variables (Kruskal-Wallis test)" in t.notes[0]
    assert t.notes[0].startswith("Values are n (%) or median (IQR). Statistic: H for continuous variables")
    assert t.notes[0].endswith("Categorical variables were compared with Fisher's exact test (marked), which has no statistic.")


def test_default_rule_with_three_groups_is_one_way_anova():
    """R: oneway.test(values ~ factor(groups), var.equal = TRUE): F, df1, df2, P."""
    ref = REF["groups"]["three_groups"]["anova"]
    store = ResultsStore("demo")
    t = tbl_baseline(three_groups(), "arm", THREE, store, "t1", "tbl-t1", "T",
                     [{"column": "score", "label": "Score", "type": "continuous"}])
    assert store["t1.score.a"].kind == "mean_sd"
    assert store["t1.score.stat"].raw == pytest.approx(ref["statistic"], rel=1e-10)
    assert (store["t1.score.df"].raw, store["t1.score.df2"].raw) == (ref["df1"], ref["df2"])
    assert store["t1.score.p"].raw == pytest.approx(ref["p"], rel=1e-10)
    assert t.notes[0] == "Values are mean ± SD. Statistic: F for continuous variables (one-way ANOVA)."


def test_mixed_tests_are_each_named_with_their_variables():
    df = frame()
    df["weight"] = [70.5, 80.25, 65.0, 90.0, 72.0, 68.5, 77.0, 81.0, 59.5, 66.0,
                    71.0, 79.0, 83.5, 62.0, 75.5, 88.0, 69.0, 73.5, 64.0, 86.0]
    store = ResultsStore("demo")
    t = tbl_baseline(df, "arm", ARMS, store, "t1", "tbl-t1", "T", [
        {"column": "age", "label": "Age", "type": "continuous"},
        {"column": "weight", "label": "Weight", "type": "continuous", "test": "welch", "summary": "median_iqr"},
    ])
    assert store["t1.weight.test"].raw == "Welch's t-test"
    assert t.notes[0] == ("Values are mean ± SD or median (IQR). Statistic: t for age (Student's t-test); "
                          "t for weight (Welch's t-test).")


def test_untested_rows_state_their_real_reason():
    df = frame()
    df["lab"] = [1.0] * 10 + [np.nan] * 10  # no values at all in DT
    store = ResultsStore("demo")
    t = tbl_baseline(df, "arm", ARMS, store, "t1", "tbl-t1", "T", [
        {"column": "lab", "label": "Lab value", "type": "continuous"},
        {"column": "age", "label": "Age", "type": "continuous", "test": "none"},
        {"column": "sex", "label": "Sex", "levels": [["male", "Male"], ["female", "Female"]], "test": "none"},
    ])
    assert store["t1.lab.test"].raw == "not tested (DT group had fewer than two values)"
    assert store["t1.age.test"].raw == "not tested (no test was planned for this variable)"
    assert store["t1.sex.test"].raw == "not tested (no test was planned for this variable)"
    assert "Not tested: DT group had fewer than two values." in t.footnotes
    lab = next(r for r in t.rows if r.label == "Lab value")
    assert lab.cells["DT"].text() == "–" and lab.cells["p"].text() == "–"
    assert all("only one level" not in f for f in t.footnotes)


def test_forced_tests_per_categorical_variable_are_marked():
    """`test: pearson` prints the chi-square even with small expected counts, and says so."""
    store = ResultsStore("demo")
    t = tbl_baseline(frame(), "arm", ARMS, store, "t1", "tbl-t1", "T", [
        {"column": "sex", "label": "Sex", "levels": [["male", "Male"], ["female", "Female"]], "test": "pearson"},
        {"column": "iss", "label": "ISS", "levels": ["I", "II", "III"], "test": "fisher"},
    ])
    assert store["t1.sex.p"].raw == compare_counts([[6, 3], [4, 7]], CategoricalRule(force="pearson")).p
    assert "Pearson's chi-square test without continuity correction" in t.footnotes
    assert store["t1.iss.test"].raw == "Fisher's exact test"


def test_a_large_fisher_table_gets_a_monte_carlo_footnote():
    """4 levels x 4 arms, n = 200 (R exact P 0.891): too large to enumerate, simulated and said so."""
    ref = REF["fisher_4x4"]
    arms = [Arm(f"g{j}", f"Group {j}") for j in range(4)]
    rows = [(f"g{j}", f"L{i}") for i, counts in enumerate(ref["counts"]) for j, n in enumerate(counts)
            for _ in range(n)]
    df = pd.DataFrame(rows, columns=["arm", "level"])
    store = ResultsStore("demo")
    t = tbl_baseline(df, "arm", arms, store, "t1", "tbl-t1", "T",
                     [{"column": "level", "label": "Level", "levels": ["L0", "L1", "L2", "L3"],
                       "test": "fisher"}])
    label = store["t1.level.test"].raw
    assert label.startswith("Fisher's exact test, Monte Carlo P (100,000 simulated tables, seed")
    assert label in t.footnotes
    assert abs(store["t1.level.p"].raw - ref["p_exact"]) < 0.005


def test_bad_specs_are_refused_with_the_choices():
    with pytest.raises(ConfigError, match="Invalid `summary` 'mean' of variable 'age'"):
        Variable.coerce({"column": "age", "type": "continuous", "summary": "mean"})
    with pytest.raises(ConfigError, match="Invalid `test` 'wilcoxon' of categorical variable"):
        Variable.coerce({"column": "sex", "test": "wilcoxon"})
    with pytest.raises(ConfigError, match="compares two groups"):
        tbl_baseline(three_groups(), "arm", THREE, ResultsStore("d"), "t1", "tbl-t1", "T",
                     [{"column": "score", "label": "Score", "type": "continuous", "test": "wilcoxon"}])
    with pytest.raises(ConfigError, match="summary_rule"):
        tbl_baseline(three_groups(), "arm", THREE, ResultsStore("d"), "t1", "tbl-t1", "T", [], summary_rule="spss")


def test_nullable_dtypes_with_pd_na_give_the_same_table():
    """Int64 / Float64 / string columns with pd.NA build the same table as float/object with NaN/None."""
    df = frame()
    df.loc[[1, 12], "age"] = np.nan
    nullable = df.astype({"age": "Float64", "sex": "string", "iss": "string", "arm": "string"})
    nullable["age_int"] = nullable["age"].round().astype("Int64")
    df["age_int"] = df["age"].round()
    specs = [*VARIABLES, {"column": "age_int", "label": "Age, whole years", "type": "continuous",
                          "summary": "median_iqr", "test": "wilcoxon"}]
    tables = []
    for data in (df, nullable):
        store = ResultsStore("demo")
        tables.append((tbl_baseline(data, "arm", ARMS, store, "t1", "tbl-t1", "T", specs), store))
    (t_plain, s_plain), (t_null, s_null) = tables
    assert to_markdown(t_null) == to_markdown(t_plain)
    assert s_null["t1.age_missing.ID"].raw == 1 and s_null["t1.age.p"].raw == s_plain["t1.age.p"].raw
    assert s_null["t1.age_int.p"].raw == s_plain["t1.age_int.p"].raw


def test_a_study_chooses_the_named_rule_through_the_context():
    """ctx.baseline(..., summary_rule="gtsummary"): median (IQR) and Wilcoxon, the study's
    categorical rule for the rest (R: wilcox.test(x, y), normal approximation here: ties)."""
    from analysis.context import StudyContext
    from analysis.formatting import Style
    from analysis.study import Study

    study = Study(id="trial", root=Path("."), config={"statistics": {}}, arms=ARMS, style=Style(),
                  frames={"patients": frame()}, files={"patients": "patients.csv"})
    ctx = StudyContext(study, data="patients", by="arm")
    ctx.baseline(VARIABLES, summary_rule="gtsummary")
    assert ctx.store["baseline.age.ID"].kind == "median_iqr"
    ref = wilcoxon_rank_sum(AGES_ID, AGES_DT)
    assert ctx.store["baseline.age.p"].raw == ref.p and not ref.exact  # AGES have ties
    assert ctx.store["baseline.age.test"].raw == ref.method_label
