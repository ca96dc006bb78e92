"""t-tests: Student (equal variances, SPSS's first row), Welch, paired, and from printed summaries;
one-way ANOVA for more than two groups.

Sign convention: for two samples the statistic and ``mean_diff`` are for ``x`` minus ``y``; for
a paired test they are for ``after`` minus ``before`` (R: ``t.test(after, before, paired = TRUE)``).
Papers usually print |t|; use ``abs(result.statistic)`` for that, the sign is kept here so the
direction is never lost.

Missing values are not dropped silently: by default a NaN raises :class:`StatisticsError`
naming how many there are; with ``dropna=True`` they are dropped and counted in ``n_missing``
(for a paired test, a pair with either value missing is dropped and counted once). ``None``,
NaN and ``pd.NA`` (pandas' nullable ``Int64``/``Float64`` columns) are all missing.

Libraries: the t statistics are computed here from the means and variances and their tails
taken from ``scipy.special.stdtr``, which is what ``scipy.stats.t.sf`` calls; the results equal
``scipy.stats.ttest_ind`` / ``ttest_rel`` (tested to 1e-12) and R's ``t.test`` without
importing ``scipy.stats`` (1.4 s, issue #14) in every build. :func:`one_way_anova` calls
``scipy.stats.f_oneway`` (imported when used), which equals R's
``oneway.test(var.equal = TRUE)`` and ``anova(lm(...))``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import stdtr

from analysis.errors import StatisticsError

__all__ = [
    "Anova", "TTest", "clean_groups", "clean_sample", "one_way_anova", "paired_t", "student_t", "t_from_summary",
    "two_sample_t", "welch_t",
]

Method = Literal["student", "welch", "paired"]
_LABELS = {"student": "Student's t-test", "welch": "Welch's t-test", "paired": "paired t-test"}


@dataclass(frozen=True)
class TTest:
    """A t-test result.

    ``statistic`` and ``mean_diff`` are x - y (two samples) or after - before (paired).
    ``n1``/``n2`` are the values used per group (for a paired test both are the number of
    complete pairs); ``n_missing`` counts values (pairs, for a paired test) dropped as missing.
    """

    statistic: float
    df: float
    p: float
    mean_diff: float
    method: Method
    method_label: str
    n1: int
    n2: int
    n_missing: int = 0


def _is_na(v: Any) -> bool:
    """None or pandas' NA scalar (checked by type name: this module does not import pandas)."""
    return v is None or type(v).__name__ == "NAType"


def _values(x: Iterable[float] | np.ndarray, name: str) -> np.ndarray:
    try:
        if hasattr(x, "to_numpy") and hasattr(x, "dtype"):  # a pandas Series, nullable dtypes too
            arr = x.to_numpy(dtype=float, na_value=np.nan)
        elif isinstance(x, np.ndarray) and x.dtype.kind in "biuf":  # as the loop below, at once
            arr = x.astype(float)
        else:
            arr = np.asarray(
                [np.nan if _is_na(v) else v for v in (x.tolist() if hasattr(x, "tolist") else x)], dtype=float
            )
    except (TypeError, ValueError):
        raise StatisticsError(f"Invalid `{name}`: values must be numbers (missing as NaN or None)") from None
    if arr.ndim != 1:
        raise StatisticsError(
            f"Invalid `{name}`: expected a 1-D sequence of numbers, got {arr.ndim} dimensions"
        )
    if np.any(np.isinf(arr)):
        raise StatisticsError(f"Invalid `{name}`: contains infinite values")
    return arr


def _missing_error(name: str, count: int) -> StatisticsError:
    return StatisticsError(
        f"`{name}` has {count} missing value{'s' if count != 1 else ''}; drop them first or pass "
        "`dropna=True` to drop and count them"
    )


def clean_sample(x: Iterable[float], name: str, dropna: bool) -> tuple[np.ndarray, int]:
    """The non-missing values of ``x`` as floats and how many were missing.

    Missing (None, NaN, ``pd.NA``) raise :class:`StatisticsError` naming ``name`` unless
    ``dropna``; strings and infinite values always do. Shared by the rank tests.
    """
    arr = _values(x, name)
    missing = int(np.isnan(arr).sum())
    if missing and not dropna:
        raise _missing_error(name, missing)
    return arr[~np.isnan(arr)], missing


def clean_groups(groups: Sequence[Iterable[float]], dropna: bool) -> tuple[list[np.ndarray], int]:
    """:func:`clean_sample` of each group (named "group 1", "group 2", ...) and the total
    missing. Shared by ANOVA and Kruskal-Wallis."""
    samples, missing = [], 0
    for i, g in enumerate(groups):
        arr, miss = clean_sample(g, f"group {i + 1}", dropna)
        samples.append(arr)
        missing += miss
    return samples, missing


def _need(n: int, minimum: int, name: str) -> None:
    if n < minimum:
        raise StatisticsError(f"`{name}` has {n} non-missing value(s); a t-test needs at least {minimum}")


def _two_sided(t: float, df: float) -> float:
    """Two-sided P of a t statistic: 2 * scipy.stats.t.sf(|t|, df), via scipy.special."""
    return float(2 * stdtr(df, -abs(t)))


def _from_moments(
    m1: float, v1: float, n1: int, m2: float, v2: float, n2: int, method: Literal["student", "welch"]
) -> tuple[float, float, float]:
    """(t, df, two-sided P) from means, variances and sizes."""
    diff = m1 - m2
    if method == "student":
        df = float(n1 + n2 - 2)
        pooled = ((n1 - 1) * v1 + (n2 - 1) * v2) / df
        se = math.sqrt(pooled * (1 / n1 + 1 / n2))
    elif method == "welch":
        a, b = v1 / n1, v2 / n2
        se = math.sqrt(a + b)
        df = (a + b) ** 2 / (a**2 / (n1 - 1) + b**2 / (n2 - 1)) if se > 0 else float("nan")
    else:
        raise StatisticsError(f"Invalid `method` value: {method!r}. Must be one of: 'student', 'welch'")
    if se == 0:
        raise StatisticsError("Both groups have zero variance; the t statistic is undefined")
    t = diff / se
    return float(t), float(df), _two_sided(t, df)


def two_sample_t(
    x: Iterable[float],
    y: Iterable[float],
    method: Literal["student", "welch"] = "student",
    *,
    dropna: bool = False,
) -> TTest:
    """Two-sample t-test of ``x`` minus ``y``: Student's (pooled variance) or Welch's.

    Matches R's ``t.test(x, y, var.equal = TRUE)`` (student) and ``t.test(x, y)`` (welch).
    """
    if method not in ("student", "welch"):
        raise StatisticsError(f"Invalid `method` value: {method!r}. Must be one of: 'student', 'welch'")
    a, miss_a = clean_sample(x, "x", dropna)
    b, miss_b = clean_sample(y, "y", dropna)
    _need(len(a), 2, "x")
    _need(len(b), 2, "y")
    m1, m2 = float(a.mean()), float(b.mean())
    t, df, p = _from_moments(m1, float(a.var(ddof=1)), len(a), m2, float(b.var(ddof=1)), len(b), method)
    return TTest(t, df, p, m1 - m2, method, _LABELS[method], len(a), len(b), miss_a + miss_b)


def student_t(x: Iterable[float], y: Iterable[float], *, dropna: bool = False) -> TTest:
    """Student's two-sample t-test (equal variances), ``x`` minus ``y``."""
    return two_sample_t(x, y, "student", dropna=dropna)


def welch_t(x: Iterable[float], y: Iterable[float], *, dropna: bool = False) -> TTest:
    """Welch's two-sample t-test (unequal variances, Satterthwaite df), ``x`` minus ``y``."""
    return two_sample_t(x, y, "welch", dropna=dropna)


def paired_t(before: Iterable[float], after: Iterable[float], *, dropna: bool = False) -> TTest:
    """Paired t-test of ``after`` minus ``before`` (same patients, same order).

    Matches R's ``t.test(after, before, paired = TRUE)``. With ``dropna=True`` a pair with
    either value missing is dropped and counted once in ``n_missing``.
    """
    b = _values(before, "before")
    a = _values(after, "after")
    if len(a) != len(b):
        raise StatisticsError(
            f"Paired t-test needs one `after` value per `before` value; "
            f"got {len(b)} before and {len(a)} after"
        )
    incomplete = np.isnan(a) | np.isnan(b)
    missing = int(incomplete.sum())
    if missing and not dropna:
        raise StatisticsError(
            f"{missing} pair{'s' if missing != 1 else ''} with a missing value; drop them first or pass "
            "`dropna=True` to drop and count them"
        )
    d = a[~incomplete] - b[~incomplete]
    _need(len(d), 2, "pairs")
    sd = float(d.std(ddof=1))
    if sd == 0:
        raise StatisticsError("All paired differences are equal; the t statistic is undefined")
    mean = float(d.mean())
    t = mean / (sd / math.sqrt(len(d)))
    df = float(len(d) - 1)
    p = _two_sided(t, df)
    return TTest(float(t), df, p, mean, "paired", _LABELS["paired"], len(d), len(d), missing)


def t_from_summary(
    mean1: float,
    sd1: float,
    n1: int,
    mean2: float,
    sd2: float,
    n2: int,
    method: Literal["student", "welch"] = "student",
) -> TTest:
    """Two-sample t-test from printed means, SDs and group sizes (group 1 minus group 2).

    For auditing published tables: "63.9 ± 11.4 (n=40) vs 60.1 ± 10.2 (n=40)" gives the t and P
    the paper should have printed.
    """
    for name, sd in (("sd1", sd1), ("sd2", sd2)):
        if not (isinstance(sd, (int, float)) and math.isfinite(sd) and sd >= 0):
            raise StatisticsError(f"Invalid `{name}` value: {sd!r}. Must be a finite number >= 0")
    for name, n in (("n1", n1), ("n2", n2)):
        if int(n) != n or n < 2:
            raise StatisticsError(f"Invalid `{name}` value: {n!r}. Must be a whole number >= 2")
    t, df, p = _from_moments(
        float(mean1), float(sd1) ** 2, int(n1), float(mean2), float(sd2) ** 2, int(n2), method
    )
    return TTest(t, df, p, float(mean1) - float(mean2), method, _LABELS[method], int(n1), int(n2), 0)


@dataclass(frozen=True)
class Anova:
    """One-way analysis of variance: ``statistic`` F on (``df1``, ``df2``) degrees of freedom."""

    statistic: float
    df1: int
    df2: int
    p: float
    sizes: tuple[int, ...]
    method_label: str = "one-way ANOVA"
    n_missing: int = 0


def one_way_anova(groups: Sequence[Iterable[float]], *, dropna: bool = False) -> Anova:
    """One-way ANOVA (equal variances) of two or more groups, as R's
    ``oneway.test(values ~ group, var.equal = TRUE)`` and ``anova(lm(values ~ group))``.

    Calls ``scipy.stats.f_oneway`` (equal to R to 1e-10, tested). Groups without values are
    left out; raises :class:`StatisticsError` for fewer than two groups with values, a group
    count that leaves no residual degrees of freedom, or zero variance within every group.
    """
    import scipy.stats  # lazily: about 1.4 s to import (issue #14)

    samples, missing = clean_groups(groups, dropna)
    sizes = tuple(len(s) for s in samples)
    present = [s for s in samples if len(s)]
    n = sum(len(s) for s in present)
    if len(present) < 2 or n <= len(present):
        raise StatisticsError(
            f"One-way ANOVA needs at least two groups with values and more values than groups; got sizes {list(sizes)}"
        )
    if all(np.all(s == s[0]) for s in present):
        raise StatisticsError("Every group has zero variance; the ANOVA F statistic is undefined")
    res = scipy.stats.f_oneway(*present)
    return Anova(float(res.statistic), len(present) - 1, n - len(present), float(res.pvalue), sizes, n_missing=missing)
