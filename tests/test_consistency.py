"""Consistency checks on printed statistics, against R (tests/reference/consistency.R)."""

from __future__ import annotations

import json
import math

import pytest

from analysis.consistency import (
    CONSISTENT,
    INCONSISTENT,
    UNCHECKABLE,
    Printed,
    check_chi2_p,
    check_counts_test,
    check_f_p,
    check_grim,
    check_pct,
    check_point_probability,
    check_ratio_events,
    check_sd_range,
    check_t_p,
    check_t_summary,
    duplicated_statistics,
)
from analysis.errors import AnalysisError
from tests.conftest import REPO

R = json.loads((REPO / "tests" / "reference" / "consistency.json").read_text())


@pytest.mark.parametrize("text, lo, hi, rel", [
    ("0.03", 0.025, 0.035, "="),
    ("0.032", 0.0315, 0.0325, "="),
    ("<0.001", -math.inf, 0.001, "<"),
    (">0.05", 0.05, math.inf, ">"),
    (".047", 0.0465, 0.0475, "="),
    ("63.9", 63.85, 63.95, "="),
    ("−1.2", -1.25, -1.15, "="),
])
def test_printed_numbers_stand_for_their_rounding_interval(text, lo, hi, rel):
    p = Printed.parse(text)
    assert (p.lo, p.hi, p.relation) == (pytest.approx(lo), pytest.approx(hi), rel)


def test_a_printed_number_must_be_a_number():
    with pytest.raises(AnalysisError, match="'n.s.' is not a printed number"):
        Printed.parse("n.s.")


def test_p_from_chi2_uses_the_whole_rounding_interval():
    """R: pchisq(c(4.5875, 4.5885), 1, lower.tail = FALSE)"""
    f = check_chi2_p("4.588", 1, "0.032")
    assert f.verdict == CONSISTENT
    assert f.details["p_range"] == pytest.approx((R["chi2_p"]["p"][1], R["chi2_p"]["p"][0]), rel=1e-10)
    fatigue = check_chi2_p("0.228", 1, "0.663")  # the seed paper's fatigue row: 0.633 misprinted
    assert fatigue.verdict == INCONSISTENT
    assert fatigue.details["p_range"] == pytest.approx((R["chi2_p"]["p"][3], R["chi2_p"]["p"][2]), rel=1e-10)


def test_p_from_t_and_f():
    """R: 2 * pt(-c(2.0995, 2.1005), 38); pf(c(3.145, 3.155), 2, 57, lower.tail = FALSE)"""
    t = check_t_p("-2.100", 38, "0.042")
    assert t.verdict == CONSISTENT
    assert t.details["p_range"] == pytest.approx((R["t_p"]["p"][1], R["t_p"]["p"][0]), rel=1e-10)
    assert check_t_p("2.100", 38, "0.021").verdict == INCONSISTENT  # a one-sided P printed as two-sided
    assert check_t_p("2.100", 38, "0.021", sides=1).verdict == CONSISTENT
    f = check_f_p("3.15", 2, 57, "0.05")
    assert f.verdict == CONSISTENT
    assert f.details["p_range"] == pytest.approx((R["f_p"]["p"][1], R["f_p"]["p"][0]), rel=1e-10)
    assert check_f_p("3.15", 2, 57, "<0.01").verdict == INCONSISTENT


def test_which_test_of_printed_counts_the_paper_used():
    """R: chisq.test(x, correct = FALSE), chisq.test(x), fisher.test(x)"""
    ref = R["counts"]
    copied = check_counts_test([[12, 28], [8, 32]], "4.588", "0.032")  # the neuropathy row
    assert copied.verdict == INCONSISTENT and copied.details["variants"] == []
    assert f"{ref['neuro']['pearson']:.3f}" in copied.recomputed and f"{ref['neuro']['fisher_p']:.3f}" in copied.recomputed
    assert check_counts_test([[12, 28], [8, 32]], "1.067", "0.302").details["variants"] == ["Pearson"]
    assert check_counts_test([[12, 28], [8, 32]], "0.600", "0.439").details["variants"] == ["Yates", "Fisher (P only)"]
    assert check_counts_test([[12, 28], [8, 32]], None, "0.439").details["variants"] == ["Yates", "Fisher"]
    immuno = check_counts_test([[15, 13, 12], [16, 14, 10]], "0.172", "0.583")
    assert immuno.verdict == INCONSISTENT and f"{ref['immuno']['pearson']:.3f}" in immuno.recomputed
    small = check_counts_test([[12, 4], [1, 4]], "4.887", "0.047")  # Fisher's P printed beside a statistic
    assert small.details["variants"] == ["Fisher (P only)"]
    assert f"{ref['small']['fisher_p']:.3f}" == "0.047"


def test_a_p_that_is_the_probability_of_the_table():
    """R: dhyper(3, 10, 10, 11) against fisher.test(matrix(c(3, 7, 8, 2), 2, byrow = TRUE))"""
    point, fisher = R["point"]["p"], R["point"]["fisher"]
    f = check_point_probability([[3, 7], [8, 2]], f"{point:.3f}")
    assert f is not None and f.verdict == INCONSISTENT and f"{fisher:.3f}" in f.message
    assert check_point_probability([[3, 7], [8, 2]], f"{fisher:.3f}") is None


def test_t_from_printed_means_sds_and_n():
    """R (Student and Welch from summaries): see tsum() in tests/reference/consistency.R"""
    age = R["tsummary"]["age_student"]
    t, p = check_t_summary("63.9", "11.4", 40, "63.3", "10.9", 40, "0.860", "0.393")
    assert t.verdict == p.verdict == INCONSISTENT
    lo, hi = (float(x) for x in t.recomputed.split(" (")[0].split(" to "))
    assert lo <= age["t"] <= hi
    assert check_t_summary("63.9", "11.4", 40, "63.3", "10.9", 40, f"{age['t']:.3f}", f"{age['p']:.3f}")[0].verdict \
        == CONSISTENT
    kps = R["tsummary"]["kps_student"]
    assert check_t_summary("86.65", "14.32", 40, "83.69", "15.10", 40, f"{kps['t']:.3f}")[0].verdict == CONSISTENT
    assert check_t_summary("86.65", "14.32", 40, "83.69", "15.10", 40, "0.930")[0].verdict == INCONSISTENT
    welch = R["tsummary"]["unequal_welch"]
    both = check_t_summary("10.2", "2.1", 12, "12.9", "6.3", 30, f"{abs(welch['t']):.3f}", f"{welch['p']:.3f}")
    assert [f.details["variants"] for f in both] == [["welch"], ["welch"]]


def test_percentages_grim_and_sd_bounds():
    assert check_pct(13, 40, "32.50").verdict == CONSISTENT
    assert check_pct(3, 6, "50.05").verdict == INCONSISTENT
    assert check_grim("7.56", 40).verdict == INCONSISTENT  # 302.4 / 40: no 40 whole scores average 7.56
    assert check_grim("7.55", 40).verdict == CONSISTENT
    assert check_grim("7.563", 4000).verdict == UNCHECKABLE
    # Bhatia-Davis: ages in 18-65 with mean 63.9 cannot have SD 11.4 (bound sqrt((65-63.85)(63.85-18)*40/39))
    sd = check_sd_range("63.9", "11.4", 18, 65, n=40)
    assert sd.verdict == INCONSISTENT
    assert sd.recomputed == f"≤ {math.sqrt((65 - 63.85) * (63.85 - 18) * 40 / 39):.2f}"
    assert check_sd_range("41.0", "9.8", 18, 65, n=40).verdict == CONSISTENT


def test_events_implied_by_a_ratio_ci():
    # SE = (ln 1.10 - ln 0.61) / (2 * 1.96) needs D >= 4 / SE^2 events: about 170, not possible in 80 patients
    f = check_ratio_events("0.82", "0.61", "1.10", available=80)
    se = (math.log(1.105) - math.log(0.605)) / (2 * 1.959963984540054)
    assert f.verdict == INCONSISTENT and f.recomputed == f"≥ {math.ceil(4 / se**2)} events"
    assert check_ratio_events("0.82", "0.61", "1.10", available=400).verdict == CONSISTENT
    assert check_ratio_events("3.27", "2.34", "4.56", available=1031, measure="OR").verdict == CONSISTENT
    assert check_ratio_events("1.5", "1.6", "2.0", available=100).verdict == INCONSISTENT


def test_identical_statistics_in_two_rows():
    found = duplicated_statistics([("Table 2, CR", ("4.588", "0.032")), ("Table 4, neuropathy", ("4.588", "0.032")),
                                   ("Table 4, vomiting", ("1.000",))])
    assert [f.where for f in found] == ["Table 4, neuropathy"] and found[0].details["first"] == "Table 2, CR"
