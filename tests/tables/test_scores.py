"""Scores table: between-arm t at each time and paired t within each arm."""

import numpy as np
import pandas as pd
import pytest

from analysis.results import ResultsStore
from analysis.stats.ttest import paired_t, two_sample_t
from analysis.study import Arm
from analysis.tables.render import to_markdown, to_text
from analysis.tables.scores import tbl_scores

ARMS = [Arm("ID", "ID group"), Arm("DT", "DT group")]
B_ID, A_ID = [7, 6, 8, 5, 7, 6], [3, 2, 4, 3, 2, 3]
B_DT, A_DT = [6, 7, 7, 6, 8, 5], [4, 5, 3, 4, 5, np.nan]


def build():
    df = pd.DataFrame({"arm": ["ID"] * 6 + ["DT"] * 6, "nrs_before": B_ID + B_DT, "nrs_after": A_ID + A_DT})
    store = ResultsStore("demo")
    t = tbl_scores(df, "arm", ARMS, store, "table3", "tbl-scores", "Pain scores",
                   [{"label": "NRS", "before": "nrs_before", "after": "nrs_after", "digits": 1}])
    return t, store


def test_between_arm_tests_equal_the_stats_module():
    _, store = build()
    before = two_sample_t(B_ID, B_DT)
    after = two_sample_t(A_ID, A_DT, dropna=True)
    assert store["table3.nrs_before.p"].raw == before.p
    assert store["table3.nrs_after.stat"].raw == after.statistic
    assert store["table3.nrs_after.DT"].raw["mean"] == pytest.approx(np.nanmean(A_DT))


def test_paired_rows_per_arm():
    t, store = build()
    ref = paired_t(B_ID, A_ID)
    assert store["table3.nrs_change_id.stat"].raw == ref.statistic
    assert store["table3.nrs_change_id.ID"].raw == pytest.approx(np.mean(A_ID) - np.mean(B_ID))
    ref_dt = paired_t(B_DT, A_DT, dropna=True)
    assert store["table3.nrs_change_dt.p"].raw == ref_dt.p
    assert store["table3.nrs_change_dt.test"].raw == "paired t-test"
    assert [r.label for r in t.rows] == ["NRS", "Before", "After", "Missing, after", "Change, ID group",
                                         "Change, DT group"]
    assert store["table3.nrs_after_missing.DT"].raw == 1


def test_snapshots(snapshot):
    t, _ = build()
    assert to_markdown(t) == snapshot(name="markdown")
    assert to_text(t) == snapshot(name="text")
