"""Survival statistics against R (survival 3.5-3, R 4.2.2).

Reference values: tests/reference/r_reference.json (made by /work/shared/reference/r_reference.R)
and tests/reference/survival_extra.json (made by tests/reference/survival_extra.R). Each test's
docstring holds the R call it reproduces. Statistics at rtol=1e-6; counts and medians exact.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.stats.survival import (
    CoxResult,
    KMFit,
    MedianCI,
    cox_ph,
    group_labels,
    kaplan_meier,
    km_by_group,
    logrank,
    median_follow_up,
    median_survival,
    numbers_at_risk,
    survival_at,
)

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
RTOL = 1e-6
R_REF = json.loads((REF_DIR / "r_reference.json").read_text())["survival"]
EXTRA = json.loads((REF_DIR / "survival_extra.json").read_text())


def _data(name: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    ref = R_REF[name]
    frame = pd.read_csv(REF_DIR / ref["file"])
    return frame[ref["time"]], frame[ref["event"]], frame[ref["group"]]


def _leukemia_arm(arm: int) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.read_csv(REF_DIR / "leukemia.csv")
    sub = frame[frame["Rx"] == arm]
    return sub["t"].to_numpy(), sub["status"].to_numpy()


def _three_arms() -> tuple[pd.Series, pd.Series, pd.Series]:
    frame = pd.read_csv(REF_DIR / "lung.csv")
    frame = frame[frame["ph.ecog"].isin([0, 1, 2])]
    return frame["time"], frame["status"], frame["ph.ecog"]


def _close(actual, expected, rtol: float = RTOL) -> None:
    """None (R's NA) must match None; numbers at rtol."""
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected, strict=True):
        if b is None:
            assert a is None or math.isinf(a), (actual, expected)
        else:
            assert a is not None and a == pytest.approx(b, rel=rtol, abs=1e-12), (actual, expected)


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arm", ["0", "1"])
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_table_matches_r(arm: str, conf_type: str) -> None:
    """f <- survfit(Surv(t, status) ~ 1, data = leukemia[leukemia$Rx == arm, ], conf.type = conf_type)
    f$time, f$n.risk, f$n.event, f$n.censor, f$surv, f$std.err, f$lower, f$upper"""
    r = EXTRA["km"]["leukemia"][arm][conf_type]
    fit = kaplan_meier(*_leukemia_arm(int(arm)), conf_type=conf_type)
    assert isinstance(fit, KMFit)
    assert list(fit.time) == r["time"]
    assert list(fit.n_risk) == r["n_risk"]
    assert list(fit.n_event) == r["n_event"]
    assert list(fit.n_censor) == r["n_censor"]
    _close(fit.survival, r["surv"])
    _close(fit.std_err, r["std_err"])
    _close(fit.lower, r["lower"])
    _close(fit.upper, r["upper"])
    assert all(type(x) is float for x in fit.survival)  # plain Python floats, not numpy


def test_km_std_err_is_infinite_when_curve_reaches_zero() -> None:
    """survfit(Surv(t, status) ~ 1, data = leukemia[leukemia$Rx == 1, ])$std.err  # last is Inf, CI NA"""
    fit = kaplan_meier(*_leukemia_arm(1))
    assert fit.survival[-1] == 0.0
    assert math.isinf(fit.std_err[-1])
    assert fit.lower[-1] is None and fit.upper[-1] is None
    assert fit.n == 21 and fit.events == 21


@pytest.mark.parametrize("name", ["lung", "leukemia"])
@pytest.mark.parametrize(("conf_type", "key"), [("log", "median_ci_log"), ("log-log", "median_ci_loglog")])
def test_median_and_ci_match_r_exactly(name: str, conf_type: str, key: str) -> None:
    """summary(survfit(Surv(time, status) ~ group, data, conf.type = conf_type))$table[, c("median",
    "0.95LCL", "0.95UCL")]  (lung: ~ sex; leukemia: ~ Rx; NA = not reached = None)"""
    fits = km_by_group(*_data(name), conf_type=conf_type)
    assert set(fits) == set(R_REF[name]["groups"])
    for label, fit in fits.items():
        ref = R_REF[name]["groups"][label]
        m = median_survival(fit)
        assert (m.median, m.lower, m.upper) == (ref["median"], *ref[key])
        assert fit.n == ref["n"] and fit.events == ref["events"]


def test_median_midpoint_rule_when_curve_sits_at_half() -> None:
    """summary(survfit(Surv(c(1, 2, 3, 4), c(1, 1, 1, 1)) ~ 1))$table  # median 2.5, LCL 1, UCL NA"""
    r = EXTRA["midpoint"]["km"]
    m = median_survival(kaplan_meier([1, 2, 3, 4], [1, 1, 1, 1]))
    assert [m.median, m.lower, m.upper] == r["median"] == [2.5, 1, None]


def test_median_midpoint_rule_with_censoring_and_float_half() -> None:
    """summary(survfit(Surv(c(1, 3, 3, 3, 5, 6), c(1, 1, 1, 0, 1, 0)) ~ 1))$table  # S = 5/6 * 3/5,
    median (3 + 5) / 2 = 4, LCL 3, UCL NA"""
    r = EXTRA["midpoint_censored"]["km"]
    fit = kaplan_meier([1, 3, 3, 3, 5, 6], [1, 1, 1, 0, 1, 0])
    _close(fit.survival, r["surv"])
    m = median_survival(fit)
    assert [m.median, m.lower, m.upper] == r["median"] == [4, 3, None]


def test_one_patient_arm() -> None:
    """summary(survfit(Surv(7, 1) ~ 1))$table  # median 7, CI NA NA; std.err Inf"""
    r = EXTRA["one_patient"]["km"]
    fit = kaplan_meier([7], [1])
    assert (fit.time, fit.n_risk, fit.n_event, fit.survival) == ((7.0,), (1,), (1,), (0.0,))
    assert math.isinf(fit.std_err[0]) and r["std_err"] is None
    m = median_survival(fit)
    assert [m.median, m.lower, m.upper] == r["median"] == [7, None, None]


def test_one_censored_patient_arm_never_reaches_median() -> None:
    """survfit(Surv(7, 0) ~ 1): surv 1, median NA (not reached)"""
    fit = kaplan_meier([7], [0])
    assert fit.survival == (1.0,) and fit.lower == (1.0,) and fit.upper == (1.0,)
    assert median_survival(fit) == MedianCI(None, None, None)


# ---------------------------------------------------------------------------------------------
# Landmarks and numbers at risk
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lung", "leukemia"])
def test_survival_at_matches_r_reference(name: str) -> None:
    """summary(survfit(Surv(time, status) ~ group, data), times = round(quantile(time, c(.25, .5, .75))),
    extend = TRUE)  -> n.risk, surv, lower, upper"""
    fits = km_by_group(*_data(name))
    rows = R_REF[name]["at_times"]
    for label, fit in fits.items():
        mine = survival_at(fit, [r["time"] for r in rows if r["group"] == label])
        ref = [r for r in rows if r["group"] == label]
        assert [m.n_risk for m in mine] == [r["n_risk"] for r in ref]
        _close([m.surv for m in mine], [r["surv"] for r in ref])
        _close([m.lower for m in mine], [r["lower"] for r in ref])
        _close([m.upper for m in mine], [r["upper"] for r in ref])


@pytest.mark.parametrize("arm", ["0", "1"])
@pytest.mark.parametrize("conf_type", ["log", "log-log"])
def test_survival_at_landmarks_before_between_and_after(arm: str, conf_type: str) -> None:
    """summary(survfit(Surv(t, status) ~ 1, data = leukemia[leukemia$Rx == arm, ], conf.type = conf_type),
    times = c(0, 1, 5.5, 10, 22, 23, 30, 40), extend = TRUE)"""
    r = EXTRA["landmarks"]["leukemia"][arm][conf_type]
    fit = kaplan_meier(*_leukemia_arm(int(arm)), conf_type=conf_type)
    mine = survival_at(fit, r["time"])
    assert [m.time for m in mine] == r["time"]
    assert [m.n_risk for m in mine] == r["n_risk"]
    _close([m.surv for m in mine], r["surv"])
    _close([m.lower for m in mine], r["lower"])
    _close([m.upper for m in mine], r["upper"])


def test_numbers_at_risk_counts_time_at_or_after() -> None:
    """summary(survfit(Surv(t, status) ~ Rx, data = leukemia), times = c(0, 10, 20, 30), extend = TRUE)$n.risk
    # 21 15 8 4 / 21 8 2 0"""
    t, _, g = _data("leukemia")
    assert numbers_at_risk(t, g, [0, 10, 20, 30]) == {"0": (21, 15, 8, 4), "1": (21, 8, 2, 0)}


def test_numbers_at_risk_agree_with_survival_at() -> None:
    """Same n.risk as summary(survfit(...), times = ., extend = TRUE) for lung by sex."""
    t, e, g = _data("lung")
    times = [0, 200, 400, 600, 800, 1000]
    table = numbers_at_risk(t, g, times)
    for label, fit in km_by_group(t, e, g).items():
        assert table[label] == tuple(s.n_risk for s in survival_at(fit, times))


# ---------------------------------------------------------------------------------------------
# Log-rank
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lung", "leukemia"])
def test_logrank_matches_r(name: str) -> None:
    """sd <- survdiff(Surv(time, status) ~ group, data); sd$chisq, pchisq(sd$chisq, 1, lower = FALSE),
    sd$obs, sd$exp"""
    ref = R_REF[name]
    lr = logrank(*_data(name))
    assert lr.df == 1
    assert lr.chisq == pytest.approx(ref["logrank_chisq"], rel=RTOL)
    assert lr.p == pytest.approx(ref["logrank_p"], rel=RTOL)
    for label, g in ref["groups"].items():
        assert lr.observed_of(label) == g["events"]
        assert lr.expected_of(label) == pytest.approx(g["expected"], rel=RTOL)
        assert lr.n[lr.groups.index(label)] == g["n"]


def test_logrank_three_arms_df2_with_full_variance() -> None:
    """sd <- survdiff(Surv(time, status) ~ ph.ecog, data = subset(lung, ph.ecog %in% 0:2))
    sd$chisq, sd$var, pchisq(sd$chisq, 2, lower.tail = FALSE)  # df = 2"""
    r = EXTRA["three_arms"]
    lr = logrank(*_three_arms())
    assert lr.groups == ("0", "1", "2")
    assert lr.df == r["df"] == 2
    assert list(lr.n) == r["n"]
    assert list(lr.observed) == r["observed"]
    _close(lr.expected, r["expected"])
    for mine, ref in zip(lr.variance, r["var"], strict=True):
        _close(mine, ref)
    assert lr.chisq == pytest.approx(r["chisq"], rel=RTOL)
    assert lr.p == pytest.approx(r["p"], rel=RTOL)


def test_logrank_arm_with_zero_events() -> None:
    """survdiff(Surv(time, status) ~ arm, data = ze)  # ze in survival_extra.R: arm A all censored"""
    r = EXTRA["zero_events"]
    lr = logrank(r["time"], r["status"], r["arm"])
    assert list(lr.observed) == r["observed"] == [0, 6]
    _close(lr.expected, r["expected"])
    assert lr.chisq == pytest.approx(r["chisq"], rel=RTOL)
    assert lr.p == pytest.approx(r["p"], rel=RTOL)


def test_logrank_needs_two_groups_and_events() -> None:
    """survdiff refuses one group; with no events there is nothing to test."""
    with pytest.raises(StatisticsError, match="at least two groups"):
        logrank([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(StatisticsError, match="at least one event"):
        logrank([1, 2, 3], [0, 0, 0], ["a", "b", "a"])


# ---------------------------------------------------------------------------------------------
# Cox
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lung", "leukemia"])
def test_cox_matches_r(name: str) -> None:
    """cx <- coxph(Surv(time, status) ~ factor(group), data, ties = "efron"); s <- summary(cx)
    s$conf.int[1, c(1, 3, 4)], s$waldtest["pvalue"], s$sctest["pvalue"], s$logtest["pvalue"], coef(cx),
    sqrt(diag(vcov(cx)))  (lung: sex, reference 1; leukemia: Rx, reference 0)"""
    ref, extra = R_REF[name], EXTRA["cox"][name]
    fit = cox_ph(*_data(name), reference=ref["cox_reference_group"])
    assert isinstance(fit, CoxResult)
    assert fit.converged and fit.ties == "efron" and fit.df == 1
    assert fit.hr == pytest.approx(ref["cox_hr"], rel=RTOL)
    assert [fit.lower, fit.upper] == pytest.approx(ref["cox_hr_ci"], rel=RTOL)
    assert fit.wald_p == pytest.approx(ref["cox_wald_p"], rel=RTOL)
    assert fit.score_p == pytest.approx(ref["cox_score_p"], rel=RTOL)
    assert fit.lr_p == pytest.approx(extra["lr_p"], rel=RTOL)
    assert fit.coef == pytest.approx(extra["coef"], rel=RTOL)
    assert fit.se == pytest.approx(extra["se"], rel=RTOL)
    assert fit.wald_chisq == pytest.approx(extra["wald_chisq"], rel=RTOL)
    assert fit.score_chisq == pytest.approx(extra["score_chisq"], rel=RTOL)
    assert fit.lr_chisq == pytest.approx(extra["lr_chisq"], rel=RTOL)
    assert [fit.loglik_null, fit.loglik] == pytest.approx(extra["loglik"], rel=RTOL)
    assert fit.terms[0].p == pytest.approx(ref["cox_wald_p"], rel=RTOL)


def test_cox_uses_efron_not_breslow_ties() -> None:
    """coef(coxph(Surv(t, status) ~ factor(Rx), leukemia, ties = "breslow")) differs from Efron's"""
    fit = cox_ph(*_data("leukemia"), reference="0")
    assert fit.coef == pytest.approx(EXTRA["cox"]["leukemia"]["coef"], rel=RTOL)
    assert fit.coef != pytest.approx(EXTRA["cox"]["leukemia_breslow_check"], rel=1e-3)


def test_cox_score_test_is_logrank_for_two_arms() -> None:
    """summary(coxph(Surv(time, status) ~ factor(sex), lung))$sctest equals survdiff's chisq up to ties
    handling; here both are checked against R separately, and must be close to each other."""
    t, e, g = _data("lung")
    assert cox_ph(t, e, g, "1").score_chisq == pytest.approx(logrank(t, e, g).chisq, rel=1e-3)


def test_cox_reference_flips_hr() -> None:
    """coxph(Surv(t, status) ~ relevel(factor(Rx), "1"), leukemia): HR = 1 / 4.8169, same P"""
    t, e, g = _data("leukemia")
    a, b = cox_ph(t, e, g, reference="0"), cox_ph(t, e, g, reference=1)
    assert b.hr == pytest.approx(1 / a.hr, rel=RTOL)
    assert b.lower == pytest.approx(1 / a.upper, rel=RTOL)
    assert b.wald_p == pytest.approx(a.wald_p, rel=RTOL)
    assert b.terms[0].level == "0" and b.reference == "1"


def test_cox_three_arms_each_vs_reference() -> None:
    """cx <- coxph(Surv(time, status) ~ factor(ph.ecog), data = subset(lung, ph.ecog %in% 0:2));
    s <- summary(cx); s$conf.int, s$coefficients[, 5], cx$wald.test, s$sctest, s$logtest"""
    r = EXTRA["three_arms"]
    fit = cox_ph(*_three_arms(), reference="0")
    assert [t.level for t in fit.terms] == r["levels"] == ["1", "2"]
    assert fit.df == 2
    _close([t.coef for t in fit.terms], r["coef"])
    _close([t.se for t in fit.terms], r["se"])
    _close([t.hr for t in fit.terms], r["hr"])
    _close([t.lower for t in fit.terms], r["hr_lower"])
    _close([t.upper for t in fit.terms], r["hr_upper"])
    _close([t.p for t in fit.terms], r["term_p"])
    assert fit.term(2).hr == pytest.approx(r["hr"][1], rel=RTOL)
    for attr in ("wald_chisq", "wald_p", "score_chisq", "score_p", "lr_chisq", "lr_p"):
        assert getattr(fit, attr) == pytest.approx(r[attr], rel=RTOL), attr
    with pytest.raises(StatisticsError, match=r"2 terms .*use `.term\(level\)`"):
        _ = fit.hr


def test_cox_arm_with_zero_events_is_not_estimable() -> None:
    """coxph(Surv(time, status) ~ arm, data = ze) warns 'Loglik converged before variable 1;
    coefficient may be infinite' with coef 21.7 (HR ~ 2.7e9): we refuse instead of printing it."""
    r = EXTRA["zero_events"]
    assert "coefficient may be infinite" in r["cox_warning"] and r["cox_coef"] > 20
    with pytest.raises(StatisticsError, match=r"arm\(s\) \['A'\] have zero events"):
        cox_ph(r["time"], r["status"], r["arm"], reference="A")


def test_cox_monotone_likelihood_without_an_empty_arm() -> None:
    """coxph(Surv(c(1, 2, 3, 4, 5, 6), c(1, 1, 1, 1, 1, 0)) ~ c(1, 1, 1, 0, 0, 0)): every B patient dies
    before any A patient, so R warns 'coefficient may be infinite'."""
    with pytest.raises(StatisticsError, match="monotone likelihood"):
        cox_ph([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0], ["B", "B", "B", "A", "A", "A"], reference="A")


def test_cox_rejects_unknown_reference() -> None:
    with pytest.raises(StatisticsError, match=r"Invalid `reference` value: '3'. Must be one of the arms"):
        cox_ph(*_data("leukemia"), reference=3)


# ---------------------------------------------------------------------------------------------
# Follow-up
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["lung", "leukemia"])
def test_median_follow_up_reverse_km(name: str) -> None:
    """summary(survfit(Surv(time, 1 - status) ~ 1, data))$table[c("median", "0.95LCL", "0.95UCL")]
    # lung 588 (511-1010); leukemia 32 (20-NA)"""
    t, e, _ = _data(name)
    m = median_follow_up(t, e)
    assert [m.median, m.lower, m.upper] == EXTRA["follow_up"][name]


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def test_rejects_negative_times_naming_count_and_position() -> None:
    with pytest.raises(StatisticsError, match=r"2 values at positions 1, 3 \(0-based\) negative"):
        kaplan_meier([1, -2, 3, -4], [1, 1, 0, 1])


def test_rejects_nan_time_and_event() -> None:
    with pytest.raises(StatisticsError, match=r"`time`: 1 value at position 2 \(0-based\) missing"):
        kaplan_meier([1, 2, float("nan")], [1, 1, 0])
    with pytest.raises(StatisticsError, match=r"`event`: 1 value at position 0 \(0-based\) missing"):
        kaplan_meier([1, 2, 3], [np.nan, 1, 0])


def test_rejects_events_not_zero_or_one() -> None:
    with pytest.raises(StatisticsError, match=r"1 value at position 1 \(0-based\) not 0 or 1 \(first: 2.0\)"):
        kaplan_meier([1, 2, 3], [1, 2, 0])


def test_rejects_mismatched_lengths_and_bad_options() -> None:
    with pytest.raises(StatisticsError, match="`time` has 3 values but `event` has 2"):
        kaplan_meier([1, 2, 3], [1, 0])
    with pytest.raises(StatisticsError, match=r"Invalid `conf_type` value: 'logit'. Must be one of"):
        kaplan_meier([1, 2], [1, 0], conf_type="logit")
    with pytest.raises(StatisticsError, match="empty"):
        kaplan_meier([], [])
    with pytest.raises(StatisticsError, match="`group`: 1 value at position 1"):
        logrank([1, 2, 3], [1, 1, 0], ["a", None, "b"])


def test_group_labels_order_and_text() -> None:
    assert group_labels([2.0, 1.0, 10.0]) == ("1", "2", "10")
    assert group_labels(["b", "a"]) == ("a", "b")
    assert group_labels(["b", "a"], levels=["b", "a"]) == ("b", "a")
    with pytest.raises(StatisticsError, match=r"\['c'\] are not in `levels`"):
        group_labels(["a", "c"], levels=["a", "b"])


def _minmin_loop(y, x):
    """R's survmean median search written as the loop R's code reads like."""
    tol = math.sqrt(np.finfo(float).eps)
    keep = [(xi, yi) for xi, yi in zip(x, y, strict=True) if yi is not None and yi < 0.5 + tol]
    if not keep:
        return None
    x0, y0 = keep[0]
    if abs(y0 - 0.5) < tol:
        later = [xi for xi, yi in keep if yi < y0]
        if later:
            return (x0 + later[0]) / 2
    return x0


@pytest.mark.parametrize(("y", "x"), [
    ((1.0, 0.75, 0.5, 0.5, 0.25), (1.0, 2.0, 3.0, 4.0, 5.0)),  # a plateau at exactly 0.5: midpoint
    ((1.0, 0.5), (1.0, 2.0)),  # ends at 0.5: no later drop
    ((None, 0.9, None, 0.4, 0.3), (0.5, 1.0, 2.0, 3.0, 4.0)),  # limits not estimable at some times
    ((1.0, 0.9, 0.8), (1.0, 2.0, 3.0)),  # never reaches the median
    ((None, None), (1.0, 2.0)),
    ((), ()),
    ((1.0, 0.5 + 1e-9, 0.2), (1.0, 2.5, 7.25)),  # within the tolerance of 0.5
])
def test_median_search_equals_the_loop(y, x):
    from analysis.stats.survival import _minmin

    assert _minmin(y, x) == _minmin_loop(y, x)


def test_median_search_equals_the_loop_on_fits_with_ties_and_censoring():
    """Fits with tied times, censoring at event times and plateaus: the median and both
    limits found at once equal the loop's."""
    from analysis.stats.survival import _minmin

    rng = np.random.default_rng(5)
    for n in (4, 10, 40, 400):
        time = rng.integers(1, 12, n).astype(float)  # heavy ties
        event = rng.integers(0, 2, n)
        fit = kaplan_meier(time, event)
        for y in (fit.survival, fit.lower, fit.upper):
            assert _minmin(y, fit.time) == _minmin_loop(y, fit.time)
