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
