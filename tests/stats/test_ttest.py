"""Tests for analysis.stats.ttest against R's t.test.

Reference values: tests/reference/r_reference.json ``ttest.*`` (made by ../shared/reference/r_reference.R).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.stats.ttest import paired_t, student_t, t_from_summary, two_sample_t, welch_t

RTOL = 1e-6
LUNG = Path(__file__).resolve().parents[1] / "reference" / "lung.csv"


@pytest.fixture(scope="module")
def lung_age() -> tuple[pd.Series, pd.Series]:
    lung = pd.read_csv(LUNG)
    return lung.loc[lung["sex"] == 1, "age"], lung.loc[lung["sex"] == 2, "age"]


def test_paired_matches_r_sleep(r_ref):
    """R: with(sleep, t.test(extra[group == 2], extra[group == 1], paired = TRUE)):
    t = 4.0621, df = 9, p = 0.002833, mean difference 1.58 (group 2 minus group 1)."""
    ref = r_ref["ttest"]["sleep_paired"]
    res = paired_t(before=ref["group1"], after=ref["group2"])
    assert res.statistic == pytest.approx(ref["t"], rel=RTOL)
    assert res.df == ref["df"]
    assert res.p == pytest.approx(ref["p"], rel=RTOL)
    assert res.mean_diff == pytest.approx(ref["mean_diff"], rel=RTOL)
    assert (res.method, res.method_label, res.n1, res.n2, res.n_missing) == ("paired", "paired t-test", 10, 10, 0)
    reverse = paired_t(before=ref["group2"], after=ref["group1"])
    assert reverse.statistic == pytest.approx(-ref["t"], rel=RTOL)  # sign is after minus before
    assert reverse.p == pytest.approx(ref["p"], rel=RTOL)


def test_student_and_welch_match_r_lung(r_ref, lung_age):
    """R: t.test(age ~ sex, data = lung, var.equal = TRUE) and t.test(age ~ sex, data = lung)
    (sex 1 minus sex 2)."""
    ref = r_ref["ttest"]["lung_age_by_sex"]
    men, women = lung_age
    st = student_t(men, women)
    assert st.statistic == pytest.approx(ref["student_t"], rel=RTOL)
    assert st.df == ref["student_df"]
    assert st.p == pytest.approx(ref["student_p"], rel=RTOL)
    assert (st.method_label, st.n1, st.n2) == ("Student's t-test", 138, 90)
    we = welch_t(men, women)
    assert we.statistic == pytest.approx(ref["welch_t"], rel=RTOL)
    assert we.df == pytest.approx(ref["welch_df"], rel=RTOL)
    assert we.p == pytest.approx(ref["welch_p"], rel=RTOL)
    assert we.method_label == "Welch's t-test"
    assert two_sample_t(men, women, method="welch") == we
    assert st.mean_diff == pytest.approx(men.mean() - women.mean(), rel=1e-12)
    assert all(isinstance(v, float) for v in (st.statistic, st.df, st.p, st.mean_diff))


def test_from_summary_reproduces_raw_data_test(r_ref, lung_age):
    """Means, SDs (ddof=1) and n of lung age by sex give R's Student and Welch results back."""
    ref = r_ref["ttest"]["lung_age_by_sex"]
    men, women = lung_age
    args = (men.mean(), men.std(), len(men), women.mean(), women.std(), len(women))
    st = t_from_summary(*args)
    assert st.statistic == pytest.approx(ref["student_t"], rel=RTOL)
    assert st.p == pytest.approx(ref["student_p"], rel=RTOL)
    we = t_from_summary(*args, method="welch")
    assert we.df == pytest.approx(ref["welch_df"], rel=RTOL)
    assert we.p == pytest.approx(ref["welch_p"], rel=RTOL)


def test_from_summary_hand_values():
    """10 ± 2 (n=10) vs 8 ± 2 (n=10): pooled SE = 2*sqrt(0.2), t = sqrt(5) = 2.2360680, df = 18."""
    res = t_from_summary(10, 2, 10, 8, 2, 10)
    assert res.statistic == pytest.approx(5**0.5, rel=1e-12)
    assert res.df == 18
    # R: print(2 * pt(sqrt(5), 18, lower.tail = FALSE), digits = 15) = 0.0382496145161138
    assert res.p == pytest.approx(0.0382496145161138, rel=RTOL)


def test_missing_values_raise_with_count(lung_age):
    men, women = lung_age
    with_nan = [*men, np.nan, None]
    with pytest.raises(StatisticsError, match="`x` has 2 missing values"):
        student_t(with_nan, women)
    res = student_t(with_nan, women, dropna=True)
    assert res.n_missing == 2 and res.n1 == 138
    assert res.statistic == pytest.approx(student_t(men, women).statistic, rel=1e-12)


def test_paired_missing_drops_whole_pairs(r_ref):
    ref = r_ref["ttest"]["sleep_paired"]
    before = [*ref["group1"], np.nan, 1.0]
    after = [*ref["group2"], 2.0, np.nan]
    with pytest.raises(StatisticsError, match="2 pairs with a missing value"):
        paired_t(before, after)
    res = paired_t(before, after, dropna=True)
    assert (res.n1, res.n_missing) == (10, 2)
    assert res.statistic == pytest.approx(ref["t"], rel=RTOL)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: student_t([1.0], [2.0, 3.0]), "at least 2"),
        (lambda: paired_t([1.0, 2.0], [1.0]), "one `after` value per `before`"),
        (lambda: paired_t([1.0, 2.0, 3.0], [2.0, 3.0, 4.0]), "differences are equal"),
        (lambda: two_sample_t([1, 2], [3, 4], method="mann"), "Invalid `method`"),
        (lambda: t_from_summary(1, -1, 10, 2, 1, 10), "sd1"),
        (lambda: t_from_summary(1, 1, 1, 2, 1, 10), "n1"),
        (lambda: student_t([1.0, "a"], [2.0, 3.0]), "must be numbers"),
    ],
)
def test_bad_input_is_named(call, message):
    with pytest.raises(StatisticsError, match=message):
        call()


def test_t_tests_match_r_and_scipy(r_summary):
    """R: t.test(x, y, var.equal = TRUE), t.test(x, y), t.test(after, before, paired = TRUE);
    scipy.stats.ttest_ind / ttest_rel give the same to 1e-12 (the engine only uses scipy.special)."""
    import scipy.stats

    ref = r_summary["ttest"]
    x, y = ref["x"], ref["y"]
    for res, r, sp in (
        (student_t(x, y), ref["student"], scipy.stats.ttest_ind(x, y)),
        (welch_t(x, y), ref["welch"], scipy.stats.ttest_ind(x, y, equal_var=False)),
        (paired_t(ref["before"], ref["after"]), ref["paired"], scipy.stats.ttest_rel(ref["after"], ref["before"])),
    ):
        assert res.statistic == pytest.approx(r["statistic"], rel=1e-10)
        assert res.df == pytest.approx(r["df"], rel=1e-10)
        assert res.p == pytest.approx(r["p"], rel=1e-10)
        assert res.statistic == pytest.approx(float(sp.statistic), rel=1e-12)
        assert res.p == pytest.approx(float(sp.pvalue), rel=1e-12)


def test_nullable_dtypes_with_pd_na_work_like_nan(r_summary):
    """A pandas Float64/Int64 column with pd.NA is missing data, refused or dropped like NaN."""
    import pandas as pd

    ref = r_summary["ttest"]
    x = pd.Series([*ref["x"], None], dtype="Float64")
    with pytest.raises(StatisticsError, match="1 missing value"):
        student_t(x, ref["y"])
    res = student_t(x, [*ref["y"], pd.NA], dropna=True)
    assert res.p == pytest.approx(ref["student"]["p"], rel=1e-10) and res.n_missing == 2
    ints = pd.Series([3, 5, pd.NA, 8, 9], dtype="Int64")
    assert welch_t(ints, [1, 2, 3], dropna=True).n1 == 4


def test_numpy_arrays_give_what_lists_give():
    """Numeric numpy arrays are converted at once; lists of the same values (None for
    missing) go through the per-value loop: the same tests to the last bit."""
    x = np.array([5.1, 4.9, np.nan, 6.2, 5.8, 6.0, 5.5])
    y = np.array([4.1, 4.5, 5.0, np.nan, 4.8, 3.9, 4.4])
    as_list = [[None if np.isnan(v) else float(v) for v in a] for a in (x, y)]
    assert two_sample_t(x, y, dropna=True) == two_sample_t(*as_list, dropna=True)
    assert paired_t(x, y, dropna=True) == paired_t(*as_list, dropna=True)
    ints = np.array([3, 4, 4, 6, 8])
    assert welch_t(ints, ints[::-1] + 1) == welch_t(ints.tolist(), (ints[::-1] + 1).tolist())
