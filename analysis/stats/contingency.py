"""Tests of association for count tables: Pearson chi-square, Yates, Fisher's exact (r x c).

The project default (see DESIGN.md) is Pearson's chi-square without continuity correction,
switching to Fisher's exact test when any expected count is below 5 (gtsummary's rule).
:func:`compare_counts` applies that rule and returns one result that says which test it used.

Tables are given with groups (arms) in rows or columns; the tests are symmetric. Counts must be
whole numbers >= 0.

Edge cases, decided once here:

* a row or column that is all zeros carries no information; it is dropped and the result's
  ``note`` says which (R's ``chisq.test`` would return NaN, ``fisher.test`` silently ignores it);
* if fewer than two non-empty rows or columns remain (e.g. only one level observed), a
  :class:`StatisticsError` is raised ("needs at least two levels"); table builders catch it and
  print "–" rather than a made-up P;
* a zero *cell* is fine for both tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np
from scipy import stats
from scipy.special import gammaln

from analysis.errors import StatisticsError

__all__ = [
    "CategoricalRule",
    "CategoricalTest",
    "ChiSquare",
    "compare_counts",
    "fisher_exact",
    "pearson_chisq",
    "yates_chisq",
]

#: R's fisher.test counts tables whose probability is within this relative error of the observed.
_REL_ERR = 1 + 1e-7
#: Refuse Fisher's exact test beyond this many partial tables (a guard against hour-long runs).
_MAX_PARTIAL_TABLES = 5_000_000

CountsLike = Sequence[Sequence[int]] | np.ndarray


@dataclass(frozen=True)
class ChiSquare:
    """A chi-square test of a count table.

    ``counts`` and ``expected`` are for the table actually tested (after dropping empty rows
    or columns, see ``note``).
    """

    statistic: float
    df: int
    p: float
    expected: tuple[tuple[float, ...], ...]
    min_expected: float
    counts: tuple[tuple[int, ...], ...]
    correction: bool = False
    note: str | None = None


@dataclass(frozen=True)
class CategoricalRule:
    """How :func:`compare_counts` chooses its test.

    Fisher's exact test is used when any expected count is below ``fisher_below`` (default 5,
    for any table size, as gtsummary does); otherwise Pearson's chi-square without continuity
    correction. ``force`` ("pearson" or "fisher") overrides the rule for every table.
    """

    fisher_below: float = 5.0
    force: Literal["pearson", "fisher"] | None = None

    def __post_init__(self) -> None:
        if self.force not in (None, "pearson", "fisher"):
            raise StatisticsError(
                f"Invalid `force` value: {self.force!r}. Must be one of: None, 'pearson', 'fisher'"
            )
        if not self.fisher_below >= 0:
            raise StatisticsError(f"Invalid `fisher_below` value: {self.fisher_below!r}. Must be >= 0")

    def describe(self) -> str:
        """The rule in words, for a Methods section."""
        if self.force == "pearson":
            return "Pearson's chi-square test without continuity correction"
        if self.force == "fisher":
            return "Fisher's exact test"
        return (
            "Pearson's chi-square test without continuity correction, or Fisher's exact test "
            f"when any expected count was below {_plain(self.fisher_below)}"
        )


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class CategoricalTest:
    """The test :func:`compare_counts` chose, with both P values kept for audit.

    ``statistic`` is the chi-square for Pearson and ``None`` for Fisher, so nobody prints a
    chi-square next to a Fisher P; likewise ``df`` is ``None`` for Fisher. ``fisher_p`` is
    ``None`` only when Pearson was chosen and the table is too large to enumerate.
    """

    method: Literal["pearson", "fisher"]
    method_label: str
    statistic: float | None
    df: int | None
    p: float
    min_expected: float
    counts: tuple[tuple[int, ...], ...]
    pearson_statistic: float
    pearson_df: int
    pearson_p: float
    fisher_p: float | None
    note: str | None = None


# -- input checking ------------------------------------------------------------------------


def _as_table(counts: CountsLike) -> tuple[np.ndarray, str | None]:
    """Validate a count table; drop all-zero rows and columns. Returns (table, note)."""
    try:
        arr = np.asarray(counts, dtype=float)
    except (TypeError, ValueError):
        raise StatisticsError(
            f"Invalid count table {counts!r}: must be a 2-D table of whole numbers"
        ) from None
    if arr.ndim != 2:
        raise StatisticsError(f"Invalid count table: got {arr.ndim} dimension(s), expected a 2-D table")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise StatisticsError(f"Invalid count table {arr.tolist()}: counts must be whole numbers >= 0")
    table = arr.astype(np.int64)
    notes = []
    zero_rows = [i + 1 for i in range(table.shape[0]) if table[i].sum() == 0]
    zero_cols = [j + 1 for j in range(table.shape[1]) if table[:, j].sum() == 0]
    if zero_rows:
        notes.append(f"dropped empty row(s) {zero_rows}")
    if zero_cols:
        notes.append(f"dropped empty column(s) {zero_cols}")
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2:
        raise StatisticsError(
            f"Count table {arr.astype(int).tolist()} needs at least two levels with counts in each "
            f"direction; {table.shape[0]} non-empty row(s) and {table.shape[1]} non-empty column(s) remain"
        )
    return table, ("; ".join(notes) or None)


def _tuple2(a: np.ndarray, kind: type) -> tuple[tuple, ...]:
    return tuple(tuple(kind(v) for v in row) for row in a)


# -- chi-square ----------------------------------------------------------------------------


def _chisq(counts: CountsLike, correct: bool) -> ChiSquare:
    table, note = _as_table(counts)
    n = table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    diff = np.abs(table - expected)
    if correct:
        diff = diff - np.minimum(0.5, diff)  # R: YATES <- min(0.5, abs(x - E))
    statistic = float(np.sum(diff**2 / expected))
    df = int((table.shape[0] - 1) * (table.shape[1] - 1))
    return ChiSquare(
        statistic=statistic,
        df=df,
        p=float(stats.chi2.sf(statistic, df)),
        expected=_tuple2(expected, float),
        min_expected=float(expected.min()),
        counts=_tuple2(table, int),
        correction=correct,
        note=note,
    )


def pearson_chisq(counts: CountsLike) -> ChiSquare:
    """Pearson's chi-square test of independence, no continuity correction (r x c).

    Matches R's ``chisq.test(m, correct = FALSE)``.
    """
    return _chisq(counts, correct=False)


def yates_chisq(counts: CountsLike) -> ChiSquare:
    """Chi-square with Yates' continuity correction, for 2x2 tables only.

    Kept to audit papers that used it; matches R's ``chisq.test(m)`` on a 2x2 table.
    """
    table, _ = _as_table(counts)
    if table.shape != (2, 2):
        raise StatisticsError(
            f"Yates' correction applies to 2x2 tables; got a {table.shape[0]}x{table.shape[1]} table"
        )
    return _chisq(counts, correct=True)


# -- Fisher's exact test (r x c) ------------------------------------------------------------


@lru_cache(maxsize=65536)
def _compositions(total: int, caps: tuple[int, ...]) -> np.ndarray:
    """All vectors of len(caps) whole numbers summing to ``total`` with x_i <= caps_i."""
    caps_arr = np.asarray(caps, dtype=np.int64)
    tail_caps = np.concatenate([np.cumsum(caps_arr[::-1])[::-1][1:], [0]])  # sum of caps after i
    parts = np.empty((1, 0), dtype=np.int64)
    remaining = np.array([total], dtype=np.int64)
    for i in range(len(caps) - 1):
        lo = np.maximum(0, remaining - tail_caps[i])
        hi = np.minimum(caps_arr[i], remaining)
        width = np.maximum(hi - lo + 1, 0)
        rows = np.repeat(np.arange(len(remaining)), width)
        offsets = np.arange(len(rows)) - np.repeat(np.cumsum(width) - width, width)
        value = lo[rows] + offsets
        parts = np.hstack([parts[rows], value[:, None]])
        remaining = remaining[rows] - value
    ok = remaining <= caps_arr[-1]
    return np.hstack([parts[ok], remaining[ok, None]])


def _block(col_totals: Sequence[int], row_totals: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    """All fillings of a block of columns: row sums used -> array of sum(-log x_ij!)."""
    radix = np.cumprod(np.concatenate([[1], row_totals[:-1] + 1])).astype(np.int64)
    codes = np.zeros(1, dtype=np.int64)
    values = np.zeros(1)
    for t in col_totals:
        order = np.argsort(codes, kind="stable")
        codes, values = codes[order], values[order]
        uniq, starts = np.unique(codes, return_index=True)
        bounds = [*starts.tolist(), len(codes)]
        new_codes, new_values = [], []
        size = 0
        for i, code in enumerate(uniq.tolist()):
            used = (code // radix) % (row_totals + 1)
            comps = _compositions(int(t), tuple(int(c) for c in row_totals - used))
            if not len(comps):
                continue
            terms = -gammaln(comps + 1.0).sum(axis=1)
            group = values[bounds[i] : bounds[i + 1]]
            new_values.append(np.add.outer(group, terms).ravel())
            new_codes.append(np.tile(code + comps @ radix, len(group)))
            size += len(group) * len(comps)
            if size > _MAX_PARTIAL_TABLES:
                raise StatisticsError(
                    f"Fisher's exact test on a table with column totals {[int(c) for c in col_totals]} "
                    f"and row totals {row_totals.tolist()} needs more than {_MAX_PARTIAL_TABLES} "
                    "partial tables; "
                    "use the chi-square test or a Monte Carlo P for a table this large"
                )
        codes, values = np.concatenate(new_codes), np.concatenate(new_values)
    order = np.argsort(codes, kind="stable")
    codes, values = codes[order], values[order]
    uniq, starts = np.unique(codes, return_index=True)
    bounds = [*starts.tolist(), len(codes)]
    out = {}
    for i, code in enumerate(uniq.tolist()):
        used = (code // radix) % (row_totals + 1)
        out[tuple(int(u) for u in used)] = values[bounds[i] : bounds[i + 1]]
    return out


def fisher_exact(counts: CountsLike) -> float:
    """Two-sided P of Fisher's exact test for any r x c table, as R's ``fisher.test``.

    Enumerates every table with the observed margins and sums the probabilities of those no
    more likely than the observed one (within a relative 1e-7, as R does). The columns are
    split in two blocks whose fillings are enumerated separately and joined on the row sums
    they use (meet in the middle), which keeps clinical tables (2x2 with n=560, 3x2 with n=80,
    4x3 with n=100) well under a second.
    """
    table, _ = _as_table(counts)
    if table.shape[0] > table.shape[1]:
        table = table.T  # fewer rows -> fewer compositions per column
    rows = table.sum(axis=1)
    cols = table.sum(axis=0)
    n = int(table.sum())
    const = float(gammaln(rows + 1.0).sum() + gammaln(cols + 1.0).sum() - gammaln(n + 1.0))
    observed = float(-gammaln(table + 1.0).sum())
    limit = observed + np.log(_REL_ERR)
    k = len(cols) // 2
    left = _block(cols[:k], rows)
    right = _block(cols[k:], rows)
    total = 0.0
    for used_left, a in left.items():
        b = right.get(tuple(int(r - u) for r, u in zip(rows, used_left, strict=True)))
        if b is None:
            continue
        b = np.sort(b)
        b_max = b[-1]
        cum = np.cumsum(np.exp(b - b_max))
        idx = np.searchsorted(b, limit - a, side="right")
        ok = idx > 0
        total += float(np.sum(np.exp(const + a[ok] + b_max) * cum[idx[ok] - 1]))
    return float(min(1.0, total))


# -- the project rule -------------------------------------------------------------------------


def compare_counts(counts: CountsLike, rule: CategoricalRule | None = None) -> CategoricalTest:
    """Compare groups on a categorical variable: Pearson chi-square or Fisher's exact test.

    Fisher is chosen when any expected count is below ``rule.fisher_below`` (or when
    ``rule.force == "fisher"``). Both P values are kept for audit (``fisher_p`` is None only
    when Pearson was chosen and the table is too large to enumerate).
    Raises :class:`StatisticsError` when fewer than two levels remain in either direction.
    """
    rule = rule or CategoricalRule()
    pearson = pearson_chisq(counts)
    use_fisher = rule.force == "fisher" or (rule.force is None and pearson.min_expected < rule.fisher_below)
    note = pearson.note
    try:
        fisher_p: float | None = fisher_exact(counts)
    except StatisticsError:
        if use_fisher:
            raise
        fisher_p = None
        note = "; ".join(x for x in (note, "Fisher's exact P not computed: table too large") if x)
    common = dict(
        min_expected=pearson.min_expected,
        counts=pearson.counts,
        pearson_statistic=pearson.statistic,
        pearson_df=pearson.df,
        pearson_p=pearson.p,
        fisher_p=fisher_p,
        note=note,
    )
    if use_fisher:
        assert fisher_p is not None
        return CategoricalTest("fisher", "Fisher's exact test", None, None, fisher_p, **common)
    return CategoricalTest(
        "pearson", "Pearson chi-square", pearson.statistic, pearson.df, pearson.p, **common
    )
