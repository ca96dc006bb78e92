"""Rank tests: Wilcoxon rank-sum (Mann-Whitney) for two groups, Kruskal-Wallis for more.

Both call ``scipy.stats`` (imported inside the functions: it costs about 1.4 s to import,
issue #14), set up to give R's defaults:

* :func:`wilcoxon_rank_sum` is R's ``wilcox.test(x, y)``: the exact distribution when both
  groups have fewer than 50 values and there are no ties, otherwise the normal approximation
  with continuity correction and the tie-corrected variance. ``scipy.stats.mannwhitneyu``
  with ``method="exact"`` / ``"asymptotic"`` and ``use_continuity=True`` gives R's statistic
  W (the U of ``x``) and P to 1e-10 (tested); its own default ``method="auto"`` switches at
  8 values and with ties differently from R, so the method is always chosen here.
* :func:`kruskal_wallis` is R's ``kruskal.test``: ``scipy.stats.kruskal`` (chi-square on
  k - 1 df with the tie correction) equals it to 1e-10 (tested).

Missing values (NaN, None, ``pd.NA``) raise :class:`StatisticsError` naming how many there
are, or with ``dropna=True`` are dropped and counted in ``n_missing``, as for the t-tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from analysis.errors import StatisticsError
from analysis.stats.ttest import clean_groups, clean_sample

__all__ = ["KruskalWallis", "RankSum", "kruskal_wallis", "wilcoxon_rank_sum"]

#: R's wilcox.test computes an exact P only when both groups are smaller than this.
EXACT_BELOW = 50


@dataclass(frozen=True)
class RankSum:
    """A Wilcoxon rank-sum test of ``x`` against ``y``.

    ``statistic`` is R's W: the rank sum of ``x`` minus n1(n1 + 1)/2 (the Mann-Whitney U of
    ``x``). ``exact`` says whether the P is from the exact distribution (both groups < 50, no
    ties) or the normal approximation with continuity correction; ``method_label`` says
    the same in words, for a footnote.
    """

    statistic: float
    p: float
    exact: bool
    method_label: str
    n1: int
    n2: int
    ties: bool
    n_missing: int = 0


@dataclass(frozen=True)
class KruskalWallis:
    """A Kruskal-Wallis rank-sum test: chi-square ``statistic`` (tie-corrected) on ``df``."""

    statistic: float
    df: int
    p: float
    sizes: tuple[int, ...]
    method_label: str = "Kruskal-Wallis test"
    n_missing: int = 0


def wilcoxon_rank_sum(
    x: Iterable[float],
    y: Iterable[float],
    *,
    exact: Literal["auto", "exact", "approximate"] = "auto",
    dropna: bool = False,
) -> RankSum:
    """Two-sided Wilcoxon rank-sum test of ``x`` against ``y``, as R's ``wilcox.test(x, y)``.

    ``exact="auto"`` follows R: exact when both groups have fewer than 50 values and there
    are no ties, otherwise the normal approximation with continuity correction. "exact"
    refuses tied data (the exact distribution assumes none); "approximate" always uses the
    normal approximation (R's ``exact = FALSE``).
    """
    import scipy.stats  # lazily: about 1.4 s to import (issue #14)

    if exact not in ("auto", "exact", "approximate"):
        raise StatisticsError(f"Invalid `exact` value: {exact!r}. Must be one of: 'auto', 'exact', 'approximate'")
    a, miss_a = clean_sample(x, "x", dropna)
    b, miss_b = clean_sample(y, "y", dropna)
    for name, arr in (("x", a), ("y", b)):
        if len(arr) < 1:
            raise StatisticsError(
                f"`{name}` has no non-missing values; a rank-sum test needs at least one in each group"
            )
    ties = len(np.unique(np.concatenate([a, b]))) < len(a) + len(b)
    if exact == "exact" and ties:
        raise StatisticsError("The exact Wilcoxon rank-sum test assumes no ties; the data have ties")
    use_exact = exact == "exact" or (exact == "auto" and not ties and len(a) < EXACT_BELOW and len(b) < EXACT_BELOW)
    res = scipy.stats.mannwhitneyu(a, b, alternative="two-sided", use_continuity=True,
                                   method="exact" if use_exact else "asymptotic")
    label = ("Wilcoxon rank-sum test (exact)" if use_exact
             else "Wilcoxon rank-sum test (normal approximation with continuity correction)")
    return RankSum(float(res.statistic), float(res.pvalue), use_exact, label, len(a), len(b), ties, miss_a + miss_b)


def kruskal_wallis(groups: Sequence[Iterable[float]], *, dropna: bool = False) -> KruskalWallis:
    """Kruskal-Wallis rank-sum test of two or more groups, as R's ``kruskal.test``.

    Raises :class:`StatisticsError` for fewer than two non-empty groups or when every value
    is the same (the statistic is undefined).
    """
    import scipy.stats  # lazily: about 1.4 s to import (issue #14)

    samples, missing = clean_groups(groups, dropna)
    sizes = tuple(len(s) for s in samples)
    present = [s for s in samples if len(s)]
    if len(present) < 2:
        raise StatisticsError(f"A Kruskal-Wallis test needs at least two groups with values; got sizes {list(sizes)}")
    if len(np.unique(np.concatenate(present))) < 2:
        raise StatisticsError("Every value is the same; the Kruskal-Wallis statistic is undefined")
    res = scipy.stats.kruskal(*present)
    return KruskalWallis(float(res.statistic), len(present) - 1, float(res.pvalue), sizes, n_missing=missing)
