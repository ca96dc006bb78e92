"""Tests for analysis.stats.descriptive (values checked against R where a statistic is involved)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.stats.contingency import compare_counts
from analysis.stats.descriptive import count_levels, crosstab, mean_sd

LUNG = Path(__file__).resolve().parents[1] / "reference" / "lung.csv"


def test_mean_sd_matches_r_on_lung():
    """R: lung <- read.csv("lung.csv"); c(sum(!is.na(lung$wt.loss)), sum(is.na(lung$wt.loss)),
    mean(lung$wt.loss, na.rm = TRUE), sd(lung$wt.loss, na.rm = TRUE))
    -> 214, 14, 9.83177570093458, 13.13990158766386"""
    res = mean_sd(pd.read_csv(LUNG)["wt.loss"])
    assert (res.n, res.n_missing) == (214, 14)
    assert res.mean == pytest.approx(9.83177570093458, rel=1e-9)
    assert res.sd == pytest.approx(13.13990158766386, rel=1e-9)
    assert isinstance(res.mean, float) and isinstance(res.sd, float)


def test_mean_sd_uses_sample_sd_and_counts_missing():
    """R: sd(c(2, 4, 4, 4, 5, 5, 7, 9)) = 2.138089935299395 (ddof = 1, not the population SD 2)."""
    res = mean_sd([2, 4, 4, 4, 5, 5, 7, 9, None, np.nan, pd.NA])
    assert (res.n, res.n_missing, res.mean) == (8, 3, 5.0)
    assert res.sd == pytest.approx(2.138089935299395, rel=1e-12)
    single = mean_sd([3.0, np.nan])
    assert (single.n, single.mean, single.sd) == (1, 3.0, None)


@pytest.mark.parametrize(("values", "message"), [([np.nan, None], "No non-missing"), ([1, "x"], "'x'"),
                                                 ([1, np.inf], "finite")])
def test_mean_sd_refuses(values, message):
    with pytest.raises(StatisticsError, match=message):
        mean_sd(values)


def test_count_levels_in_given_order_with_missing():
    s = pd.Series(["PR", "CR", None, "PR", "SD", np.nan, "PR"])
    res = count_levels(s, ["CR", "VGPR", "PR", "SD"])
    assert res.counts == (1, 0, 3, 1)
    assert (res.n_missing, res.total) == (2, 5)
    assert res.as_dict() == {"CR": 1, "VGPR": 0, "PR": 3, "SD": 1}


def test_count_levels_refuses_unknown_level():
    with pytest.raises(StatisticsError, match=r"`response` has value\(s\) 'Pr' that are not among"):
        count_levels(["CR", "Pr"], ["CR", "PR"], name="response")
    with pytest.raises(StatisticsError, match="duplicates"):
        count_levels(["CR"], ["CR", "CR"])


def test_crosstab_counts_missing_and_feeds_compare_counts():
    """13/40 vs 5/40 complete remission, plus two patients with response missing."""
    frame = pd.DataFrame({
        "arm": ["A"] * 41 + ["B"] * 41,
        "cr": ["yes"] * 13 + ["no"] * 27 + [None] + ["yes"] * 5 + ["no"] * 35 + [None],
    })
    tab = crosstab(frame, "arm", "cr", ["A", "B"], ["yes", "no"])
    assert tab.counts == ((13, 27), (5, 35))
    assert tab.n_missing == 2
    assert tab.as_array().dtype == np.int64
    # R: chisq.test(matrix(c(13, 27, 5, 35), 2, byrow = TRUE), correct = FALSE)$p.value
    assert compare_counts(tab.counts).p == pytest.approx(0.0322000642003265, rel=1e-6)


def test_crosstab_refuses_unknown_column_and_level():
    frame = pd.DataFrame({"arm": ["A", "B"], "sex": ["M", "X"]})
    with pytest.raises(StatisticsError, match="Unknown column `age`"):
        crosstab(frame, "arm", "age", ["A", "B"], ["M", "F"])
    with pytest.raises(StatisticsError, match="`sex` has value"):
        crosstab(frame, "arm", "sex", ["A", "B"], ["M", "F"])


def test_summarise_quantiles_are_r_type_7(r_summary):
    """R: quantile(x, c(0.25, 0.5, 0.75), type = 7), min, max, mean, sd (summary_tests.R)."""
    from analysis.stats.descriptive import summarise

    ref = r_summary["quantiles"]
    s = summarise(ref["x"])
    assert [s.q1, s.median, s.q3] == pytest.approx(ref["q"], rel=1e-12)
    assert (s.min, s.max) == (ref["min"], ref["max"])
    assert s.mean == pytest.approx(ref["mean"], rel=1e-12) and s.sd == pytest.approx(ref["sd"], rel=1e-12)
    even = summarise(ref["even"]["x"])
    assert [even.q1, even.median, even.q3] == pytest.approx(ref["even"]["q"], rel=1e-12)  # 1.75, 2.5, 3.25


def test_summarise_counts_pd_na_as_missing():
    import pandas as pd

    from analysis.stats.descriptive import summarise

    s = summarise(pd.Series([4, pd.NA, 1, 3, 2], dtype="Int64"))
    assert (s.n, s.n_missing, s.median, s.q1, s.q3) == (4, 1, 2.5, 1.75, 3.25)
    assert mean_sd(pd.array([1.0, None, 3.0], dtype="Float64")) == mean_sd([1.0, float("nan"), 3.0])
    with pytest.raises(StatisticsError, match="No non-missing"):
        summarise(pd.Series([pd.NA, pd.NA], dtype="Float64"))


def test_counts_and_crosstabs_take_nullable_dtypes_with_pd_na():
    """pandas "string" and "Int64" columns with pd.NA: missing counted, never a level."""
    s = pd.Series(["a", "b", pd.NA, "a"], dtype="string")
    assert count_levels(s, ["a", "b"]) == count_levels(["a", "b", None, "a"], ["a", "b"])
    assert count_levels(pd.Series([1, 0, pd.NA, 1], dtype="Int64"), [0, 1]).n_missing == 1
    frame = pd.DataFrame({"arm": pd.Series(["x", "y", None, "x"], dtype="string"), "v": s})
    tab = crosstab(frame, "v", "arm", ["a", "b"], ["x", "y"])
    assert tab.counts == ((2, 0), (0, 1)) and tab.n_missing == 1


@pytest.mark.parametrize("dtype", [float, np.int64, np.float32])
def test_numpy_arrays_take_the_vectorised_path_with_the_same_answer(dtype):
    """A numeric numpy array is summarised at once; a list of the same values goes through
    the per-value loop: same n, missing, mean and SD, to the last bit."""
    values = [3.5, 1.0, 3.5, 2.25, 10.0, 0.0, 7.75] if dtype is not np.int64 else [3, 1, 3, 2, 10, 0, 7]
    if dtype is not np.int64:
        values = [*values, float("nan"), float("nan")]
    fast, slow = mean_sd(np.asarray(values, dtype=dtype)), mean_sd(np.asarray(values, dtype=dtype).tolist())
    assert fast == slow
    assert fast.n_missing == (2 if dtype is not np.int64 else 0)


def test_numpy_arrays_reject_infinite_values_as_the_loop_does():
    for x in (np.array([1.0, np.inf]), [1.0, float("inf")]):
        with pytest.raises(StatisticsError, match=r"Invalid value inf in a numeric variable; expected a finite"):
            mean_sd(x)
    with pytest.raises(StatisticsError, match="expected a number or missing"):
        mean_sd(np.array([True, False]))  # booleans are not scores
