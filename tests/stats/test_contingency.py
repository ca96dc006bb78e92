"""Tests for analysis.stats.contingency against R (chisq.test, fisher.test).

Reference values: tests/reference/r_reference.json (``contingency.*``; made by
../shared/reference/r_reference.R) and tests/reference/stats_extra.json (made by
tests/reference/stats_extra.R) and tests/reference/summary_tests.json (made by
tests/reference/summary_tests.R). Each test names the R call.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from analysis.errors import StatisticsError
from analysis.stats.contingency import (
    DEFAULT_MC_SEED,
    CategoricalRule,
    UntestableTable,
    compare_counts,
    fisher_exact,
    fisher_test,
    pearson_chisq,
    yates_chisq,
)

RTOL = 1e-6
R_TABLES = [
    "cr_13of40_vs_5of40", "orr_36of40_vs_33of40", "neuropathy_12of40_vs_8of40", "nausea_5of40_vs_3of40",
    "vomiting_3of40_vs_3of40", "fatigue_28of40_vs_26of40", "riss_3x2", "immunofixation_3x2",
    "relapsed_12of16_vs_refractory_1of5", "zero_cell",
]
EXTRA_TABLES = ["ecog_3x2_n80", "response_2x2_n560", "stage_4x3_n100", "sparse_4x3", "wide_2x6"]


@pytest.mark.parametrize("name", R_TABLES)
def test_pearson_matches_r(r_ref, name):
    """R: chisq.test(m, correct = FALSE) -> statistic, parameter, p.value, min(expected)."""
    ref = r_ref["contingency"][name]
    res = pearson_chisq(ref["counts"])
    assert res.statistic == pytest.approx(ref["pearson_chisq"], rel=RTOL, abs=1e-12)
    assert res.df == ref["pearson_df"]
    assert res.p == pytest.approx(ref["pearson_p"], rel=RTOL)
    assert res.min_expected == pytest.approx(ref["min_expected"], rel=RTOL)
    assert isinstance(res.p, float) and isinstance(res.statistic, float)


@pytest.mark.parametrize("name", [n for n in R_TABLES if "3x2" not in n])
def test_yates_matches_r(r_ref, name):
    """R: chisq.test(m) (2x2, Yates' continuity correction) -> statistic, p.value."""
    ref = r_ref["contingency"][name]
    res = yates_chisq(ref["counts"])
    assert res.statistic == pytest.approx(ref["yates_chisq"], rel=RTOL, abs=1e-12)
    assert res.p == pytest.approx(ref["yates_p"], rel=RTOL)
    assert res.correction is True


@pytest.mark.parametrize("name", R_TABLES)
def test_fisher_matches_r(r_ref, name):
    """R: fisher.test(m)$p.value."""
    ref = r_ref["contingency"][name]
    assert fisher_exact(ref["counts"]) == pytest.approx(ref["fisher_p"], rel=RTOL)


@pytest.mark.parametrize("name", EXTRA_TABLES)
def test_fisher_and_pearson_rxc_match_r(r_extra, name):
    """R: fisher.test(m, workspace = 2e8)$p.value and chisq.test(m, correct = FALSE) on larger r x c
    tables (3x2 n=80, 2x2 n=560, 4x3 n=100, sparse 4x3, 2x6); see tests/reference/stats_extra.R."""
    ref = r_extra["contingency"][name]
    assert fisher_exact(ref["counts"]) == pytest.approx(ref["fisher_p"], rel=RTOL)
    res = pearson_chisq(ref["counts"])
    assert res.statistic == pytest.approx(ref["pearson_chisq"], rel=RTOL)
    assert res.df == ref["pearson_df"]
    assert res.p == pytest.approx(ref["pearson_p"], rel=RTOL)


def test_fisher_is_symmetric_and_fast(r_extra):
    """Transposing a table or reordering rows does not change Fisher's P; clinical sizes run fast."""
    counts = np.array(r_extra["contingency"]["stage_4x3_n100"]["counts"])
    start = time.perf_counter()
    p = fisher_exact(counts)
    assert time.perf_counter() - start < 5
    assert fisher_exact(counts.T) == pytest.approx(p, rel=1e-12)
    assert fisher_exact(counts[::-1]) == pytest.approx(p, rel=1e-12)


def test_fisher_2x2_agrees_with_scipy():
    """scipy.stats.fisher_exact is R-compatible for 2x2; a second, independent check."""
    from scipy.stats import fisher_exact as scipy_fisher

    for table in ([[13, 27], [5, 35]], [[12, 4], [1, 4]], [[0, 10], [6, 4]], [[200, 80], [170, 110]]):
        assert fisher_exact(table) == pytest.approx(scipy_fisher(table).pvalue, rel=1e-9)


def test_seed_paper_neuropathy_row_is_not_the_printed_one(r_ref):
    """The seed paper printed chi2 = 4.588, P = 0.032 for 12/40 vs 8/40; the counts give 1.067, 0.302."""
    res = compare_counts([[12, 28], [8, 32]])
    assert res.method == "pearson"
    assert res.statistic == pytest.approx(16 / 15, rel=1e-12)
    assert res.p == pytest.approx(r_ref["contingency"]["neuropathy_12of40_vs_8of40"]["pearson_p"], rel=RTOL)


def test_compare_counts_uses_pearson_when_expected_counts_are_large(r_ref):
    """R: chisq.test(matrix(c(13, 27, 5, 35), 2, byrow = TRUE), correct = FALSE); min expected 9."""
    ref = r_ref["contingency"]["cr_13of40_vs_5of40"]
    res = compare_counts(ref["counts"])
    assert (res.method, res.method_label) == ("pearson", "Pearson chi-square")
    assert res.statistic == pytest.approx(ref["pearson_chisq"], rel=RTOL)
    assert res.df == 1
    assert res.p == pytest.approx(ref["pearson_p"], rel=RTOL)
    assert res.fisher_p == pytest.approx(ref["fisher_p"], rel=RTOL)  # kept for audit
    assert res.counts == ((13, 27), (5, 35))


@pytest.mark.parametrize("name", ["nausea_5of40_vs_3of40", "relapsed_12of16_vs_refractory_1of5", "zero_cell"])
def test_compare_counts_switches_to_fisher_below_five(r_ref, name):
    """Any expected count < 5 -> Fisher (R: fisher.test(m)$p.value); no chi-square is reported."""
    ref = r_ref["contingency"][name]
    res = compare_counts(ref["counts"])
    assert ref["min_expected"] < 5
    assert (res.method, res.method_label) == ("fisher", "Fisher's exact test")
    assert res.statistic is None and res.df is None
    assert res.p == pytest.approx(ref["fisher_p"], rel=RTOL)
    assert res.pearson_p == pytest.approx(ref["pearson_p"], rel=RTOL)


def test_rule_applies_to_rxc_tables(r_extra):
    """gtsummary's rule holds for any table size: sparse 4x3 (min expected 0.9) -> Fisher."""
    ref = r_extra["contingency"]["sparse_4x3"]
    res = compare_counts(ref["counts"])
    assert res.method == "fisher"
    assert res.p == pytest.approx(ref["fisher_p"], rel=RTOL)


def test_rule_threshold_and_force(r_ref):
    """Min expected 5.5 (ORR 36/40 vs 33/40): Pearson at the default threshold, Fisher at 6 or forced."""
    ref = r_ref["contingency"]["orr_36of40_vs_33of40"]
    assert compare_counts(ref["counts"]).method == "pearson"
    assert compare_counts(ref["counts"], CategoricalRule(fisher_below=6)).method == "fisher"
    forced = compare_counts(ref["counts"], CategoricalRule(force="fisher"))
    assert forced.method == "fisher" and forced.p == pytest.approx(ref["fisher_p"], rel=RTOL)
    small = r_ref["contingency"]["zero_cell"]
    assert compare_counts(small["counts"], CategoricalRule(force="pearson")).p == pytest.approx(
        small["pearson_p"], rel=RTOL
    )
    with pytest.raises(StatisticsError, match="force"):
        CategoricalRule(force="yates")  # type: ignore[arg-type]
    assert "below 5" in CategoricalRule().describe()


def test_empty_column_is_dropped_and_said(r_extra):
    """R: fisher.test(matrix(c(3, 0, 5, 4, 0, 9), 2, byrow = TRUE)) = 1; chisq.test on m[, -2]."""
    ref = r_extra["contingency"]["zero_column"]
    res = compare_counts(ref["counts"], CategoricalRule(force="pearson"))
    assert res.note == "dropped empty column(s) [2]"
    assert res.counts == ((3, 5), (4, 9))
    assert res.df == 1
    assert res.statistic == pytest.approx(ref["dropped"]["pearson_chisq"], rel=RTOL)
    assert res.p == pytest.approx(ref["dropped"]["pearson_p"], rel=RTOL)
    assert res.fisher_p == pytest.approx(ref["fisher_p"], rel=RTOL)


def test_one_level_only_raises():
    """Every patient in one category: no test is possible; callers print a dash."""
    with pytest.raises(StatisticsError, match="needs at least two levels"):
        compare_counts([[10, 0], [12, 0]])
    with pytest.raises(StatisticsError, match="needs at least two levels"):
        fisher_exact([[10, 4]])


@pytest.mark.parametrize("bad", [[[1.5, 2], [3, 4]], [[-1, 2], [3, 4]], [[1, 2, 3]][0], [[np.nan, 1], [2, 3]]])
def test_bad_counts_are_refused(bad):
    with pytest.raises(StatisticsError, match="count table"):
        pearson_chisq(bad)


def test_yates_refuses_larger_tables(r_ref):
    with pytest.raises(StatisticsError, match="2x2"):
        yates_chisq(r_ref["contingency"]["riss_3x2"]["counts"])


def test_too_large_for_fisher_keeps_pearson_and_does_not_compute_fisher():
    """Pearson chosen: Fisher is not computed (issue #14) until an audit reads ``fisher_p``."""
    big = [[40, 35, 30, 45], [38, 42, 33, 37], [30, 36, 44, 40], [41, 39, 35, 36]]
    res = compare_counts(big)
    assert res.method == "pearson" and res.fisher is None
    assert "fisher_result" not in res.__dict__  # nothing computed yet
    assert res.fisher_result.method == "monte carlo"  # too large to enumerate: simulated on demand
    assert 0 < res.fisher_p <= 1


def test_fisher_is_computed_only_when_the_rule_picks_it(monkeypatch):
    """A Pearson row never calls Fisher; a Fisher row calls it once."""
    import analysis.stats.contingency as contingency

    calls = []
    real = contingency.fisher_test
    monkeypatch.setattr(contingency, "fisher_test", lambda *a, **k: calls.append(a) or real(*a, **k))
    compare_counts([[13, 27], [5, 35]])
    assert calls == []
    compare_counts([[5, 35], [3, 37]])
    assert len(calls) == 1


def test_pearson_and_yates_equal_scipy_bit_for_bit(r_ref):
    """scipy.stats.chi2_contingency(m, correction=False/True) gives the same statistic and P."""
    from scipy.stats import chi2_contingency

    for name in ["cr_13of40_vs_5of40", "nausea_5of40_vs_3of40", "riss_3x2", "zero_cell"]:
        counts = r_ref["contingency"][name]["counts"]
        sp = chi2_contingency(counts, correction=False)
        assert pearson_chisq(counts).statistic == pytest.approx(sp.statistic, rel=1e-12)
        assert pearson_chisq(counts).p == pytest.approx(sp.pvalue, rel=1e-12)
        if "3x2" not in name:
            sp = chi2_contingency(counts, correction=True)
            assert yates_chisq(counts).p == pytest.approx(sp.pvalue, rel=1e-12)


def test_fisher_2x2_matches_r_and_scipy(r_summary):
    """R: fisher.test(matrix(v, 2, byrow = TRUE))$p.value for eight 2x2 tables, incl. symmetric
    ones (ties in probability) and a table with two zero cells; scipy.stats.fisher_exact agrees."""
    from scipy.stats import fisher_exact as scipy_fisher

    for ref in r_summary["fisher_2x2"]:
        assert fisher_exact(ref["counts"]) == pytest.approx(ref["p"], rel=1e-10)
        assert scipy_fisher(ref["counts"]).pvalue == pytest.approx(ref["p"], rel=1e-10)


def test_fisher_4x4_n200_is_monte_carlo_within_error_of_r(r_summary):
    """R: fisher.test(m, workspace = 2e8)$p.value (exact) for a 4x4 table with n = 200; our
    Monte Carlo P (100,000 tables, fixed seed) is within 4 Monte Carlo SEs of it, is the same on
    every run, and says how it was made. (Timing: benchmarks/bench_fisher.py, not a test.)"""
    ref = r_summary["fisher_4x4"]
    assert ref["n"] == 200
    res = fisher_test(ref["counts"])
    assert res.method == "monte carlo" and res.samples == 100_000 and res.seed == DEFAULT_MC_SEED
    assert abs(res.p - ref["p_exact"]) < 4 * res.mc_se
    assert fisher_test(ref["counts"]) == res
    assert "Monte Carlo" in res.label and "100,000" in res.label
    with pytest.raises(StatisticsError, match="partial tables"):
        fisher_test(ref["counts"], simulate="never")
    small = fisher_test(ref["counts"], samples=2000, seed=7)
    assert small.samples == 2000 and abs(small.p - ref["p_exact"]) < 4 * small.mc_se


def test_monte_carlo_also_agrees_on_an_enumerable_table(r_extra):
    """Forced simulation of the 4x3 n=100 table (exact P known from R) lands within MC error."""
    ref = r_extra["contingency"]["stage_4x3_n100"]
    res = fisher_test(ref["counts"], simulate="always", samples=20_000)
    assert abs(res.p - ref["fisher_p"]) < 4 * res.mc_se
    assert fisher_test(ref["counts"]).method == "exact"


def test_compare_counts_labels_a_simulated_fisher_row(r_summary):
    ref = r_summary["fisher_4x4"]
    res = compare_counts(ref["counts"], CategoricalRule(force="fisher", mc_samples=5000, mc_seed=3))
    assert res.method == "fisher" and res.fisher.method == "monte carlo"
    assert res.method_label == "Fisher's exact test, Monte Carlo P (5,000 simulated tables, seed 3)"
    with pytest.raises(StatisticsError, match="mc_samples"):
        CategoricalRule(mc_samples=10)


def test_untestable_table_says_what_remains():
    with pytest.raises(UntestableTable) as info:
        compare_counts([[10, 0], [12, 0]])
    assert (info.value.nonempty_rows, info.value.nonempty_cols) == (2, 1)


def test_nullable_counts_frame():
    """A DataFrame of nullable Int64 counts is accepted; a pd.NA count is refused, not zeroed."""
    import pandas as pd

    frame = pd.DataFrame({"a": [13, 5], "b": [27, 35]}, dtype="Int64")
    assert pearson_chisq(frame).statistic == pytest.approx(pearson_chisq([[13, 27], [5, 35]]).statistic)
    frame.iloc[0, 0] = pd.NA
    with pytest.raises(StatisticsError, match="whole numbers"):
        pearson_chisq(frame)


def test_rule_settings_are_declared_for_study_yaml():
    """statistics.categorical_rule.{mc_samples, mc_seed, audit_fisher} pass the settings check and
    build the rule; a bad value is refused naming the setting."""
    import copy

    from analysis.errors import ConfigError
    from analysis.settings import setting, validate_config

    base = {"id": "x", "title": "T", "data": {"p": {"file": "p.csv", "columns": [{"name": "a", "type": "integer"}]}}}
    config = copy.deepcopy(base)
    config["statistics"] = {"categorical_rule": {"fisher_below": 5, "mc_samples": 20000, "mc_seed": 3,
                                                 "audit_fisher": True}}
    validate_config(config, "data/x/study.yaml")
    rule = CategoricalRule(**config["statistics"]["categorical_rule"])
    assert (rule.mc_samples, rule.mc_seed, rule.audit_fisher) == (20000, 3, True)
    defaults = CategoricalRule()
    assert setting("statistics.categorical_rule.mc_samples").default == defaults.mc_samples
    assert setting("statistics.categorical_rule.mc_seed").default == defaults.mc_seed
    config["statistics"]["categorical_rule"]["mc_samples"] = 10
    with pytest.raises(ConfigError, match="mc_samples"):
        validate_config(config, "data/x/study.yaml")


def test_fisher_on_a_large_sparse_3x2_table_is_exact_and_accurate(r_summary):
    """R: fisher.test(matrix(c(3000, 2000, 1500, 1100, 2, 2), 3, byrow = TRUE), workspace = 2e8)
    = 0.110639533238552. An independent enumeration of all 13,000 tables (math.lgamma, math.fsum)
    gives 0.1106395331208..., 1e-9 below R's: R's FEXACT loses digits here, this engine does not."""
    import math

    ref = r_summary["fisher_3x2_n7604"]
    res = fisher_test(ref["counts"])
    assert res.method == "exact"
    assert res.p == pytest.approx(ref["p"], rel=2e-9)
    rows, cols = [sum(r) for r in ref["counts"]], [sum(c) for c in zip(*ref["counts"], strict=True)]

    def logp(t):
        return -math.fsum(math.lgamma(x + 1) for r in t for x in r)

    const = math.fsum([*(math.lgamma(v + 1) for v in rows + cols), -math.lgamma(sum(rows) + 1)])
    observed = logp(ref["counts"])
    total = []
    for x3 in range(rows[2] + 1):
        for x2 in range(rows[1] + 1):
            x1 = cols[0] - x2 - x3
            if 0 <= x1 <= rows[0]:
                v = logp([[x1, rows[0] - x1], [x2, rows[1] - x2], [x3, rows[2] - x3]])
                if v <= observed + math.log(1 + 1e-7):
                    total.append(math.exp(const + v))
    assert res.p == pytest.approx(math.fsum(total), rel=1e-10)
