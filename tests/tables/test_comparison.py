"""Generic k-group comparison of an outcome across subgroups."""

import pandas as pd
import pytest

from analysis.errors import DataValidationError, StatisticsError
from analysis.results import ResultsStore
from analysis.stats.contingency import compare_counts
from analysis.study import Arm
from analysis.tables.comparison import tbl_comparison
from analysis.tables.render import to_markdown, to_text

GROUPS = [Arm("relapsed", "Relapsed"), Arm("refractory", "Refractory")]
OUTCOMES = ["PR", "MR", {"label": "ORR", "codes": ["CR", "VGPR", "PR"]}]


def frame() -> pd.DataFrame:
    resp = ["CR", "PR", "PR", "PR", "MR", "SD", "PD", "PR", "PR", "MR", "MR", "SD", "PD", "PD"]
    return pd.DataFrame({"status": ["relapsed"] * 8 + ["refractory"] * 6, "response": resp})


def build(df=None, **kw):
    store = ResultsStore("demo")
    t = tbl_comparison(frame() if df is None else df, "status", GROUPS, store, "table5", "tbl-subgroups",
                       "Response by disease status", outcome_column="response", outcomes=OUTCOMES,
                       test="ORR", **kw)
    return t, store


def test_counts_and_test_on_the_main_outcome():
    t, store = build()
    assert store["table5.pr.relapsed"].raw == {"n": 4, "N": 8}
    assert store["table5.orr.relapsed"].raw == {"n": 5, "N": 8}
    assert store["table5.orr.refractory"].raw == {"n": 1, "N": 6}
    ref = compare_counts([[5, 1], [3, 5]])
    assert ref.method == "fisher"
    assert store["table5.orr.p"].raw == ref.p and "table5.orr.stat" not in store
    assert "table5.pr.p" not in store
    orr = t.rows[-1]
    assert orr.marks == ["a"] and t.footnotes == ["Fisher's exact test"] and "stat" not in orr.cells


def test_forced_pearson_prints_the_statistic():
    from analysis.stats.contingency import CategoricalRule

    t, store = build(rule=CategoricalRule(force="pearson"))
    assert store["table5.orr.stat"].raw == pytest.approx(compare_counts([[5, 1], [3, 5]]).pearson_statistic)
    assert t.footnotes == []


def test_errors_name_the_problem():
    df = frame()
    df.loc[0, "status"] = "unknown"
    with pytest.raises(DataValidationError, match="column `status`.*got 'unknown'"):
        build(df)
    with pytest.raises(StatisticsError, match="Invalid `test` row"):
        tbl_comparison(frame(), "status", GROUPS, ResultsStore("d"), "t5", "tbl-x", "x",
                       outcome_column="response", outcomes=OUTCOMES, test="CR")


def test_snapshots(snapshot):
    t, _ = build()
    assert to_markdown(t) == snapshot(name="markdown")
    assert to_text(t) == snapshot(name="text")


def test_audit_fisher_stores_fishers_p_beside_a_pearson_row_for_an_audit():
    """R: fisher.test(matrix(c(5, 1, 3, 5), 2, byrow = TRUE)) is kept as `.fisher_p`, not printed."""
    from analysis.stats.contingency import CategoricalRule, fisher_exact

    _, plain = build(rule=CategoricalRule(force="pearson"))
    assert "table5.orr.fisher_p" not in plain  # not computed unless asked for
    t, store = build(rule=CategoricalRule(force="pearson", audit_fisher=True))
    assert store["table5.orr.fisher_p"].raw == pytest.approx(fisher_exact([[5, 1], [3, 5]]), rel=1e-12)
    assert "not printed" in store["table5.orr.fisher_p"].source.test
    assert all(c.key != "table5.orr.fisher_p" for r in t.rows for c in r.cells.values())


def test_an_outcome_nobody_had_is_not_tested_and_says_so():
    store = ResultsStore("demo")
    t = tbl_comparison(frame(), "status", GROUPS, store, "t5", "tbl-x", "x", outcome_column="response",
                       outcomes=["PR", {"label": "CR or better", "codes": ["CR", "sCR"], "key": "cr"},
                                 {"label": "Any", "codes": ["CR", "PR", "MR", "SD", "PD"], "key": "any"},
                                 {"label": "Stringent CR", "codes": ["sCR"], "key": "scr"}],
                       test=["any", "scr"])
    assert store["t5.scr.test"].raw == "not tested (no patient had this outcome)"
    assert store["t5.any.test"].raw == "not tested (every patient had this outcome)"
    assert set(t.footnotes) == {"Not tested: no patient had this outcome.",
                                "Not tested: every patient had this outcome."}
