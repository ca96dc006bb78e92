"""Response table: IMWG counts, ORR, tests against R, keys, more than two arms."""

import numpy as np
import pandas as pd
import pytest

from analysis.results import ResultsStore
from analysis.stats.contingency import compare_counts
from analysis.study import Arm
from analysis.tables.render import to_markdown, to_text
from analysis.tables.response import tbl_response

ARMS = [Arm("ID", "ID group"), Arm("DT", "DT group")]
# Seed paper 000, Table 2: CR 13/40 vs 5/40
COUNTS = {"ID": {"CR": 13, "VGPR": 5, "PR": 10, "MR": 4, "SD": 5, "PD": 3},
          "DT": {"CR": 5, "VGPR": 6, "PR": 12, "MR": 6, "SD": 6, "PD": 5}}


def frame(counts=COUNTS) -> pd.DataFrame:
    rows = [(arm, code) for arm, by in counts.items() for code, n in by.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["arm", "response"])


def build(df=None, arms=ARMS, **kw):
    store = ResultsStore("demo")
    t = tbl_response(df if df is not None else frame(), "arm", arms, store, "table2", "tbl-response",
                     "Best response by arm", inputs=("patients.csv",), **kw)
    return t, store


def test_counts_exact_and_orr_is_cr_vgpr_pr():
    t, store = build()
    assert store["table2.cr.ID"].raw == {"n": 13, "N": 40}
    assert store["table2.cr.DT"].raw == {"n": 5, "N": 40}
    assert store["table2.orr.ID"].raw == {"n": 28, "N": 40}
    assert store["table2.orr.DT"].raw == {"n": 23, "N": 40}
    assert store["table2.n.ID"].raw == 40
    assert [r.label for r in t.rows][-1] == "Overall response rate (ORR)"


def test_cr_test_matches_r():
    """R: chisq.test(matrix(c(13,5,27,35),2), correct=FALSE) -> X-squared 4.58781362007168, p 0.0322000642003265"""
    _, store = build()
    assert store["table2.cr.stat"].raw == pytest.approx(4.58781362007168, rel=1e-6)
    assert store["table2.cr.p"].raw == pytest.approx(0.0322000642003265, rel=1e-6)
    assert store["table2.cr.df"].raw == 1
    assert store["table2.cr.test"].raw == "Pearson chi-square"
    orr = compare_counts([[28, 23], [12, 17]])
    assert store["table2.orr.p"].raw == orr.p
    assert store.text("table2.cr.p") == "0.032"


def test_every_key_has_the_right_kind_and_source():
    t, store = build()
    kinds = {k: store[k].kind for k in store}
    for code in ("cr", "vgpr", "pr", "mr", "sd", "pd", "orr"):
        for arm in ("ID", "DT"):
            assert kinds[f"table2.{code}.{arm}"] == "n_pct"
    for code in ("cr", "orr"):
        assert kinds[f"table2.{code}.p"] == "p" and kinds[f"table2.{code}.stat"] == "stat"
        assert kinds[f"table2.{code}.test"] == "text"
    assert "table2.vgpr.p" not in store
    src = store["table2.cr.p"].source
    assert (src.test, src.table, src.cell, src.inputs) == ("Pearson chi-square", "tbl-response",
                                                           "Complete response (CR)/P", ("patients.csv",))
    for row in t.rows:  # each cell's key holds the same raw value
        for cell in row.cells.values():
            if cell.key:
                assert store[cell.key].raw == cell.raw


def test_three_arms_and_fisher_rows():
    counts = {"A": {"CR": 3, "PR": 5, "PD": 2}, "B": {"CR": 1, "PR": 4, "PD": 5}, "C": {"CR": 0, "PR": 6, "PD": 4}}
    arms = [Arm("A", "Arm A"), Arm("B", "Arm B"), Arm("C", "Arm C")]
    t, store = build(frame(counts), arms)
    expected = compare_counts([[3, 1, 0], [7, 9, 10]])
    assert expected.method == "fisher"
    assert store["table2.cr.p"].raw == pytest.approx(expected.p, rel=1e-12)
    assert "table2.cr.stat" not in store
    cr = t.rows[0]
    assert "stat" not in cr.cells and cr.marks == ["a"] and t.footnotes == ["Fisher's exact test"]
    assert [c.key for c in t.columns] == ["A", "B", "C", "p"]  # every row used Fisher: no empty χ² column


def test_missing_response_is_shown_and_counted_as_non_response():
    df = frame()
    df.loc[0, "response"] = np.nan  # an ID patient with CR becomes not evaluable
    _, store = build(df)
    assert store["table2.cr.ID"].raw == {"n": 12, "N": 40}
    assert store["table2.missing.ID"].raw == {"n": 1, "N": 40}
    assert store["table2.cr.p"].raw == compare_counts([[12, 5], [28, 35]]).p


def test_snapshots(snapshot):
    t, _ = build()
    assert to_markdown(t) == snapshot(name="markdown")
    assert to_text(t) == snapshot(name="text")
