"""Tests for analysis.stats.meta against R (metafor 3.8-1).

Generic inverse variance: tests/reference/r_reference.json ``meta.*``, made by
../shared/reference/r_reference.R with
``yi <- log(est); sei <- (log(hi) - log(lo)) / (2 * qnorm(0.975));
rma(yi = yi, sei = sei, method = "FE"); rma(yi = yi, sei = sei, method = "DL")``.
Mantel-Haenszel: tests/reference/stats_extra.json ``meta_mh.*``, made by tests/reference/stats_extra.R with
``rma.mh(ai, n1i, ci, n2i, measure = "OR")`` and ``rma(escalc("OR", ...), method = "DL")``.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.stats.meta import (
    ModelChoice,
    generic_from_ci,
    generic_inverse_variance,
    mantel_haenszel_or,
    se_from_ci,
)

RTOL = 1e-6
GENERIC = ["castor_pollux_orr_or", "castor_pollux_vgpr_or", "castor_pollux_mrd_or", "castor_pollux_pfs_hr",
           "castor_pollux_os_hr"]
MH = ["castor_pollux_orr", "castor_pollux_vgpr", "castor_pollux_mrd", "three_heterogeneous"]


def _check_pooled(pooled, ref):
    assert pooled.estimate == pytest.approx(ref["pooled"], rel=RTOL)
    assert pooled.lower == pytest.approx(ref["lower"], rel=RTOL)
    assert pooled.upper == pytest.approx(ref["upper"], rel=RTOL)
    assert pooled.p == pytest.approx(ref["p"], rel=RTOL, abs=1e-300)


@pytest.mark.parametrize("name", GENERIC)
def test_generic_inverse_variance_matches_metafor(r_ref, name):
    """R: rma(yi, sei = sei, method = "FE") and method = "DL"; weights(); $QE, $QEp, $I2, $tau2."""
    ref = r_ref["meta"][name]
    res = generic_from_ci(ref["estimate"], ref["lower"], ref["upper"], ["CASTOR", "POLLUX"], measure="OR")
    _check_pooled(res.fixed, ref["fixed"])
    _check_pooled(res.random, ref["random_dl"])
    assert [s.weight_fixed_pct for s in res.studies] == pytest.approx(ref["fixed"]["weights_pct"], rel=RTOL)
    assert [s.weight_random_pct for s in res.studies] == pytest.approx(ref["random_dl"]["weights_pct"], rel=RTOL)
    het = res.heterogeneity
    assert het.q == pytest.approx(ref["Q"], rel=RTOL)
    assert het.df == 1
    assert het.p == pytest.approx(ref["Q_p"], rel=RTOL)
    assert het.i2_pct == pytest.approx(ref["I2_pct"], rel=RTOL, abs=1e-12)
    assert het.tau2 == pytest.approx(ref["random_dl"]["tau2"], rel=RTOL, abs=1e-15)
    # the study rows give back the published estimates and CIs
    assert [s.estimate for s in res.studies] == pytest.approx(ref["estimate"], rel=1e-12)
    assert [s.lower for s in res.studies] == ref["lower"]
    assert [s.upper for s in res.studies] == ref["upper"]


def test_se_from_ci():
    """SE of log OR from 1.84-4.33: (log(4.33) - log(1.84)) / (2 * qnorm(0.975)) = 0.218313..."""
    assert se_from_ci(1.84, 4.33) == pytest.approx((math.log(4.33) - math.log(1.84)) / (2 * 1.959963984540054),
                                                   rel=1e-12)
    assert se_from_ci([1.84, 2.36], [4.33, 6.85]) == pytest.approx([se_from_ci(1.84, 4.33), se_from_ci(2.36, 6.85)])
    with pytest.raises(StatisticsError, match="lower < upper"):
        se_from_ci(2.0, 1.0)


@pytest.mark.parametrize("name", MH)
def test_mantel_haenszel_matches_metafor(r_extra, name):
    """R: rma.mh(ai, n1i, ci, n2i, measure = "OR") (exp(beta), CI, pval, weights, QE, QEp, I2) and
    rma(yi, vi, method = "DL") on escalc("OR", ...) for the random-effects part."""
    ref = r_extra["meta_mh"][name]
    tables = list(zip(ref["events_t"], ref["n_t"], ref["events_c"], ref["n_c"], strict=True))
    res = mantel_haenszel_or(tables)
    assert res.method == "mantel-haenszel" and res.fixed.method_label == "Mantel-Haenszel fixed effect"
    _check_pooled(res.fixed, ref["fixed"])
    assert res.fixed.se_log == pytest.approx(ref["fixed"]["se_log"], rel=RTOL)
    assert res.fixed.z == pytest.approx(ref["fixed"]["z"], rel=RTOL)
    assert [s.weight_fixed_pct for s in res.studies] == pytest.approx(ref["fixed"]["weights_pct"], rel=RTOL)
    assert [s.estimate for s in res.studies] == pytest.approx(ref["study_or"], rel=RTOL)
    assert [s.lower for s in res.studies] == pytest.approx(ref["study_lower"], rel=RTOL)
    assert [s.upper for s in res.studies] == pytest.approx(ref["study_upper"], rel=RTOL)
    het = res.heterogeneity
    assert het.q == pytest.approx(ref["Q"], rel=RTOL)
    assert het.p == pytest.approx(ref["Q_p"], rel=RTOL)
    assert het.i2_pct == pytest.approx(ref["I2_pct"], rel=RTOL, abs=1e-12)
    assert het.tau2 == pytest.approx(ref["random_dl"]["tau2"], rel=RTOL, abs=1e-15)
    assert het.q_iv == pytest.approx(ref["random_dl"]["Q_iv"], rel=RTOL)
    _check_pooled(res.random, ref["random_dl"])
    assert [s.weight_random_pct for s in res.studies] == pytest.approx(ref["random_dl"]["weights_pct"], rel=RTOL)


def test_mantel_haenszel_reproduces_printed_metabin():
    """meta::metabin(c(199, 261), c(240, 281), c(148, 211), c(234, 276), sm = "OR", method = "MH")
    prints: common effect 3.27 [2.34; 4.56], weights 62.8% and 37.2%."""
    from analysis.formatting import fmt_number

    res = mantel_haenszel_or([(199, 240, 148, 234), (261, 281, 211, 276)], ["CASTOR", "POLLUX"])
    assert [fmt_number(x, 2) for x in (res.fixed.estimate, res.fixed.lower, res.fixed.upper)] == [
        "3.27", "2.34", "4.56"]
    assert [fmt_number(s.weight_fixed_pct, 1) for s in res.studies] == ["62.8", "37.2"]
    assert [s.label for s in res.studies] == ["CASTOR", "POLLUX"]


def test_mantel_haenszel_hand_computation():
    """Two identical studies 10/20 vs 5/20: OR_MH = (10*15/40 * 2) / (10*5/40 * 2) = 3, weights 50/50."""
    res = mantel_haenszel_or([(10, 20, 5, 20), (10, 20, 5, 20)])
    assert res.fixed.estimate == pytest.approx(3.0, rel=1e-12)
    assert [s.weight_fixed_pct for s in res.studies] == pytest.approx([50.0, 50.0])
    assert res.heterogeneity.q == pytest.approx(0.0, abs=1e-12)
    assert res.heterogeneity.i2_pct == 0.0 and res.heterogeneity.tau2 == 0.0


def test_model_choice_rule(r_ref):
    """ORR: Q P = 0.309, I2 = 3.3% -> fixed; PFS HR: Q P < 0.001, I2 = 94.7% -> random."""
    ref = r_ref["meta"]
    orr = generic_from_ci(ref["castor_pollux_orr_or"]["estimate"], ref["castor_pollux_orr_or"]["lower"],
                          ref["castor_pollux_orr_or"]["upper"])
    pfs = generic_from_ci(ref["castor_pollux_pfs_hr"]["estimate"], ref["castor_pollux_pfs_hr"]["lower"],
                          ref["castor_pollux_pfs_hr"]["upper"])
    rule = ModelChoice()
    fixed = rule.decide(orr)
    assert fixed.model == "fixed" and fixed.pooled is orr.fixed
    assert "Q test P = 0.309, I² = 3.3%" in fixed.reason
    random = rule.decide(pfs)
    assert random.model == "random" and random.pooled is pfs.random
    assert "P < 0.001" in random.reason and "I² = 94.7%" in random.reason
    # thresholds are settings: with a P threshold of 0.5 the ORR analysis goes random
    assert ModelChoice(q_p_above=0.5).decide(orr).model == "random"
    assert ModelChoice(i2_below=3.0).decide(orr).model == "random"
    assert ModelChoice(force="random").decide(orr).pooled is orr.random
    assert "P > 0.1 and I² < 50%" in rule.describe()
    with pytest.raises(StatisticsError, match="force"):
        ModelChoice(force="bayes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: generic_inverse_variance([0.1], [0.2]), "at least 2 studies"),
        (lambda: generic_inverse_variance([0.1, 0.2], [0.2, 0.0]), "sei finite and > 0"),
        (lambda: generic_inverse_variance([0.1, 0.2], [0.2, 0.1], ["A"]), "one label per study"),
        (lambda: mantel_haenszel_or([(0, 10, 0, 10), (3, 10, 1, 10)], ["A", "B"]), r"\['A'\] have no events"),
        (lambda: generic_from_ci([0.5, 2.5], [0.6, 1.1], [0.9, 3.0], ["A", "B"]), r"outside its own confidence"),
        (lambda: generic_from_ci([0.5, pd.NA], [0.3, 1.1], [0.9, 3.0]), "must be finite"),
        (lambda: generic_from_ci(pd.Series([0.5, None], dtype="Float64"), [0.3, 1.1], [0.9, 3.0]), "must be finite"),
        (lambda: se_from_ci([0.3, pd.NA], [0.9, 2.0]), "must be finite"),
        (lambda: mantel_haenszel_or([(3, 10, 1, 10), (pd.NA, 10, 2, 10)], ["A", "B"]), r"Missing counts.*\['B'\]"),
        (lambda: generic_inverse_variance(pd.array([0.1, pd.NA], dtype="Float64"), [0.2, 0.1]), "must be finite"),
        (lambda: mantel_haenszel_or([(11, 10, 0, 10), (3, 10, 1, 10)]), "cannot exceed"),
        (lambda: generic_from_ci([0, 2], [0.5, 1], [2, 3]), "must be finite and > 0"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(StatisticsError, match=message):
        call()


def test_zero_cell_study_gets_continuity_correction():
    """R: escalc("OR", ai = 0, n1i = 10, ci = 3, n2i = 10) adds 0.5 to each cell: OR = (0.5*7.5)/(9.5*3.5)."""
    res = mantel_haenszel_or([(0, 10, 3, 10), (5, 10, 3, 10)])
    assert res.studies[0].estimate == pytest.approx(0.5 * 7.5 / (10.5 * 3.5), rel=1e-12)


def test_estimate_outside_ci_names_the_study():
    with pytest.raises(StatisticsError) as info:
        generic_from_ci([0.5, 0.95, 2.5], [0.3, 0.6, 1.1], [0.9, 0.9, 3.0], ["CASTOR", "POLLUX", "X"])
    assert "POLLUX (0.95 outside 0.6 to 0.9)" in str(info.value) and "CASTOR" not in str(info.value)
    assert generic_from_ci([0.5, 0.9], [0.3, 0.6], [0.9, 0.9]).fixed.estimate > 0  # on a bound is fine


def test_nullable_dtypes_work_like_floats(r_ref):
    """Float64 / Int64 pandas columns (no missing) give the same result as plain floats."""
    plain = generic_from_ci([0.5, 0.8], [0.3, 0.6], [0.9, 1.1])
    nullable = generic_from_ci(pd.Series([0.5, 0.8], dtype="Float64"), pd.Series([0.3, 0.6], dtype="Float64"),
                               pd.Series([0.9, 1.1], dtype="Float64"))
    assert nullable == plain
    counts = pd.DataFrame({"et": [199, 261], "nt": [240, 281], "ec": [148, 211], "nc": [234, 276]}, dtype="Int64")
    mh = mantel_haenszel_or([tuple(r) for r in counts.itertuples(index=False)])
    assert mh == mantel_haenszel_or([(199, 240, 148, 234), (261, 281, 211, 276)])
    assert mantel_haenszel_or(counts) == mh  # the frame itself


def test_double_zero_study_stays_in_the_mh_sums_as_metafor(r_summary):
    """R: rma.mh(ai=c(3, 0, 5, 2), n1i=c(50, 40, 60, 30), ci=c(8, 0, 9, 6), n2i=c(50, 40, 60, 30),
    measure='OR'): k = 4 with the double-zero study at weight 0%, Q over k.yi = 3 studies; the
    same pooled OR, CI and P as rma.mh without that study."""
    ref = r_summary["meta_mh_zero"]["with_double_zero"]
    tables = list(zip(ref["events_t"], ref["n_t"], ref["events_c"], ref["n_c"], strict=True))
    res = mantel_haenszel_or(tables, ["A", "B", "C", "D"])
    assert res.fixed.estimate == pytest.approx(ref["pooled"], rel=1e-10)
    assert (res.fixed.lower, res.fixed.upper) == pytest.approx((ref["lower"], ref["upper"]), rel=1e-10)
    assert res.fixed.se_log == pytest.approx(ref["se_log"], rel=1e-10)
    assert res.fixed.p == pytest.approx(ref["p"], rel=1e-10)
    assert res.heterogeneity.q == pytest.approx(ref["Q"], rel=1e-10)
    assert res.heterogeneity.df == ref["Q_df"] == ref["k_yi"] - 1 and ref["k"] == 4
    assert res.heterogeneity.p == pytest.approx(ref["Q_p"], rel=1e-10)
    weights = [w for w in ref["weights_pct"] if w > 0]
    assert [st.weight_fixed_pct for st in res.studies] == pytest.approx(weights, rel=1e-10)
    assert [st.label for st in res.studies] == ["A", "C", "D"] and res.not_estimable == ("B",)
    assert "B had no events" in res.note and "weight 0%" in res.note
    without = r_summary["meta_mh_zero"]["without"]
    assert res.fixed.estimate == pytest.approx(without["pooled"], rel=1e-12)


def test_se_from_ci_keeps_scalars_scalar():
    import numpy as np

    assert isinstance(se_from_ci(np.float64(0.5), np.float64(2.0)), float)
    assert se_from_ci(0.5, 2.0) == pytest.approx(math.log(4) / (2 * 1.959963984540054), rel=1e-12)
    assert se_from_ci([0.5], [2.0]) == [se_from_ci(0.5, 2.0)]
