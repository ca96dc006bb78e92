"""Rank tests and one-way ANOVA against R (wilcox.test, kruskal.test, oneway.test).

Reference values: tests/reference/summary_tests.json, made by
``Rscript tests/reference/summary_tests.R tests/reference/summary_tests.json``; the samples
are stored in the JSON. Each test names the R call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.stats.nonparametric import kruskal_wallis, wilcoxon_rank_sum
from analysis.stats.ttest import one_way_anova

RTOL = 1e-10
WILCOXON = ["small_no_ties", "small_unequal", "with_ties", "large_no_ties", "one_group_50", "separated"]


@pytest.mark.parametrize("name", WILCOXON)
def test_wilcoxon_matches_r_defaults(r_summary, name):
    """R: wilcox.test(x, y) -> statistic W, p.value, and method (exact or continuity correction)."""
    ref = r_summary["wilcoxon"][name]
    res = wilcoxon_rank_sum(ref["x"], ref["y"])
    assert res.statistic == pytest.approx(ref["statistic"], rel=RTOL)
    assert res.p == pytest.approx(ref["p"], rel=RTOL)
    assert res.exact == ref["exact"] == ("exact" in ref["method"])
    assert ("exact" in res.method_label) == res.exact
    assert (res.n1, res.n2) == (len(ref["x"]), len(ref["y"]))


def test_wilcoxon_exactness_follows_r_rule(r_summary):
    """Exact only when both groups < 50 and no ties: 50 vs 12 is approximate, ties are approximate."""
    assert not wilcoxon_rank_sum(r_summary["wilcoxon"]["one_group_50"]["x"],
                                 r_summary["wilcoxon"]["one_group_50"]["y"]).exact
    tied = r_summary["wilcoxon"]["with_ties"]
    assert wilcoxon_rank_sum(tied["x"], tied["y"]).ties
    with pytest.raises(StatisticsError, match="no ties"):
        wilcoxon_rank_sum(tied["x"], tied["y"], exact="exact")
    small = r_summary["wilcoxon"]["small_no_ties"]
    approx = wilcoxon_rank_sum(small["x"], small["y"], exact="approximate")
    assert not approx.exact and approx.p != pytest.approx(small["p"], rel=1e-3)


def test_wilcoxon_missing_values_and_nullable_dtypes(r_summary):
    """pd.NA in a nullable Float64 column counts as missing, like NaN; refused unless dropna."""
    ref = r_summary["wilcoxon"]["small_no_ties"]
    x = pd.array([*ref["x"], pd.NA], dtype="Float64")
    with pytest.raises(StatisticsError, match="1 missing value"):
        wilcoxon_rank_sum(x, ref["y"])
    res = wilcoxon_rank_sum(pd.Series(x), [*ref["y"], None], dropna=True)
    assert res.p == pytest.approx(ref["p"], rel=RTOL) and res.n_missing == 2
    with pytest.raises(StatisticsError, match="numbers"):
        wilcoxon_rank_sum(["a", "b"], [1.0, 2.0])


@pytest.mark.parametrize("name", ["three_groups", "four_groups_ties"])
def test_kruskal_wallis_matches_r(r_summary, name):
    """R: kruskal.test(values, factor(groups)) -> statistic, parameter, p.value."""
    ref = r_summary["groups"][name]
    values, groups = np.array(ref["values"]), np.array(ref["groups"])
    res = kruskal_wallis([values[groups == g] for g in sorted(set(groups))])
    assert res.statistic == pytest.approx(ref["kruskal"]["statistic"], rel=RTOL)
    assert res.df == ref["kruskal"]["df"]
    assert res.p == pytest.approx(ref["kruskal"]["p"], rel=RTOL)


@pytest.mark.parametrize("name", ["three_groups", "four_groups_ties"])
def test_one_way_anova_matches_r(r_summary, name):
    """R: oneway.test(values ~ factor(groups), var.equal = TRUE) and anova(lm(values ~ factor(groups)))."""
    ref = r_summary["groups"][name]
    values, groups = np.array(ref["values"]), np.array(ref["groups"])
    res = one_way_anova([values[groups == g] for g in sorted(set(groups))])
    assert res.statistic == pytest.approx(ref["anova"]["statistic"], rel=RTOL)
    assert res.statistic == pytest.approx(ref["anova"]["lm_f"], rel=RTOL)
    assert (res.df1, res.df2) == (ref["anova"]["df1"], ref["anova"]["df2"])
    assert res.p == pytest.approx(ref["anova"]["p"], rel=RTOL)


def test_group_tests_refuse_what_they_cannot_test():
    with pytest.raises(StatisticsError, match="at least two groups"):
        kruskal_wallis([[1.0, 2.0], []])
    with pytest.raises(StatisticsError, match="same"):
        kruskal_wallis([[1.0, 1.0], [1.0]])
    with pytest.raises(StatisticsError, match="zero variance"):
        one_way_anova([[1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(StatisticsError, match="no non-missing"):
        wilcoxon_rank_sum([np.nan], [1.0], dropna=True)
