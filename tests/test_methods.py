"""The Methods values are read from what the engine did: which rows used Fisher's test,
which tests were significant."""

from pathlib import Path

import pandas as pd

from analysis.formatting import Style
from analysis.methods import add_methods_values, add_significance_summary, fisher_rows, used_tests
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.study import Arm, Study
from analysis.tables.comparison import tbl_comparison

ARMS = [Arm("A", "Arm A"), Arm("B", "Arm B")]


def study() -> Study:
    return Study("x", Path("."), {"statistics": {"alpha": 0.05}}, ARMS, Style())


def store_with_tables() -> ResultsStore:
    store = ResultsStore("x")
    # 12/16 vs 1/5 (R: fisher.test gives 0.0475, an expected count is below 5) and 20/40 vs 20/40
    small = pd.DataFrame({"arm": ["A"] * 16 + ["B"] * 5, "resp": ["Y"] * 12 + ["N"] * 4 + ["Y"] + ["N"] * 4})
    big = pd.DataFrame({"arm": ["A"] * 40 + ["B"] * 40, "resp": (["Y"] * 20 + ["N"] * 20) * 2})
    for prefix, frame in (("small", small), ("big", big)):
        store.add_table(tbl_comparison(frame, "arm", ARMS, store, prefix, f"tbl-{prefix}", prefix,
                                       outcome_column="resp", outcomes=[{"label": "Response", "codes": ["Y"]}],
                                       test=["response"]))
    return store


def test_fisher_rows_and_significance_come_from_the_tests():
    store = store_with_tables()
    assert store["small.response.test"].raw == "Fisher's exact test"
    assert store["big.response.test"].raw != "Fisher's exact test"
    assert fisher_rows(store, ["small", "big"]) == ["response"]
    add_significance_summary(store, "small", study())
    add_significance_summary(store, "big", study())
    assert store["small.significant_count"].raw == 1
    assert store["small.significant_rows.0"].raw == "response"
    assert store["big.significant_count"].raw == 0


def test_methods_values():
    store = store_with_tables()
    add_methods_values(store, study(), CategoricalRule(), "welch", "log-log", tables=("small", "big"))
    assert store.text("methods.fisher_count") == "1"
    assert store.text("methods.t_test") == "Welch's t-test (unequal variances)"
    assert store.text("methods.km_conf_type") == "log-log"
    assert store.text("methods.alpha") == "0.05"
    assert "Fisher's exact test when any expected count was below 5" in store.text("methods.categorical_rule")


def test_a_label_tested_in_several_tables_is_listed_once():
    store = store_with_tables()
    small = pd.DataFrame({"arm": ["A"] * 16 + ["B"] * 5, "resp": ["Y"] * 12 + ["N"] * 4 + ["Y"] + ["N"] * 4})
    store.add_table(tbl_comparison(small, "arm", ARMS, store, "again", "tbl-again", "again",
                                   outcome_column="resp", outcomes=[{"label": "Response", "codes": ["Y"]}],
                                   test=["response"]))
    assert fisher_rows(store, ["small", "again"]) == ["response (in 2 comparisons)"]


def test_the_tests_used_are_listed_for_the_methods():
    """Pearson and Fisher rows from the tables, named as the Methods should; untested rows left out."""
    store = store_with_tables()
    add_methods_values(store, study(), CategoricalRule(), "student", "log", tables=("small", "big"))
    assert store["methods.tests_count"].raw == 2
    assert {store["methods.tests.0"].raw, store["methods.tests.1"].raw} == {
        "Fisher's exact test", "Pearson's chi-square test without continuity correction"}
    store.add("other.x.test", "not tested (only one level was observed)", "text")
    store.add("other.y.test", "Wilcoxon rank-sum test (exact)", "text")
    assert used_tests(store, ["other"]) == ["Wilcoxon rank-sum test (exact)"]


def test_monte_carlo_fisher_is_named_in_the_methods_values():
    """A 4x4 table with n = 200 forced to Fisher is simulated; the Methods get B and the seed."""
    import json

    ref = json.loads((Path(__file__).parent / "reference" / "summary_tests.json").read_text())["fisher_4x4"]
    arms = [Arm(f"g{j}", f"Group {j}") for j in range(4)]
    rows = [(f"g{j}", f"L{i}") for i, counts in enumerate(ref["counts"]) for j, n in enumerate(counts)
            for _ in range(n)]
    frame = pd.DataFrame(rows, columns=["arm", "level"])
    rule = CategoricalRule(force="fisher", mc_samples=2000, mc_seed=11)
    store = ResultsStore("x")
    store.add_table(tbl_comparison(frame, "arm", arms, store, "t", "tbl-t", "t", outcome_column="level",
                                   outcomes=["L0"], test=["L0"], rule=rule))
    # a 2 x 4 table (L0 or not, by group) is small: exact
    assert store["t.l0.test"].raw == "Fisher's exact test"
    from analysis.tables.baseline import tbl_baseline

    store.add_table(tbl_baseline(frame, "arm", arms, store, "b", "tbl-b", "b",
                                 [{"column": "level", "label": "Level", "levels": ["L0", "L1", "L2", "L3"]}],
                                 rule=rule))
    add_methods_values(store, study(), rule, "student", "log", tables=("t", "b"))
    assert store["methods.fisher_mc_count"].raw == 1
    assert (store["methods.fisher_mc_samples"].raw, store["methods.fisher_mc_seed"].raw) == (2000, 11)
    assert "Fisher's exact test, Monte Carlo P (2,000 simulated tables, seed 11)" in [
        store[f"methods.tests.{i}"].raw for i in range(store["methods.tests_count"].raw)]
    assert fisher_rows(store, ["b"]) == ["level"]
