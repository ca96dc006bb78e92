"""Tests of association for count tables: Pearson chi-square, Yates, Fisher's exact (r x c).

The project default (see DESIGN.md) is Pearson's chi-square without continuity correction,
switching to Fisher's exact test when any expected count is below 5 (gtsummary's rule).
:func:`compare_counts` applies that rule and returns one result that says which test it used.

Tables are given with groups (arms) in rows or columns; the tests are symmetric. Counts must be
whole numbers >= 0.

Edge cases, decided once here:

* a row or column that is all zeros carries no information; it is dropped and the result's
  ``note`` says which (R's ``chisq.test`` would return NaN, ``fisher.test`` silently ignores it);
* if fewer than two non-empty rows or columns remain (e.g. only one level observed), an
  :class:`UntestableTable` (a :class:`StatisticsError`) is raised ("needs at least two levels"),
  saying how many non-empty rows and columns remain; table builders catch it, print "–" and
  state that reason in a footnote;
* a zero *cell* is fine for both tests.

Fisher's exact test is exact where the tables with the observed margins can be enumerated
(at most 2,000,000 partial tables for each half of the columns: e.g. 4x3 with n = 100, or 3x2
with n = 7,604 in under a second; benchmarks/bench_fisher.py); beyond that
:func:`fisher_test` gives a Monte Carlo P with a fixed seed and a stated number of simulated
tables, as R's ``fisher.test(m, simulate.p.value = TRUE, B = ...)`` (its P is within Monte
Carlo error of R's, not equal: R's random numbers cannot be reproduced here). Fisher is
computed only when it is read: :func:`compare_counts` leaves it uncomputed when the rule
picks Pearson, and :attr:`CategoricalTest.fisher_p` computes it on first access (an audit).

Libraries: the statistics are a few lines of numpy; their tails come from ``scipy.special``
(``chdtrc``), which is what ``scipy.stats.chi2.sf`` calls, so the results equal
``scipy.stats.chi2_contingency(m, correction=...)`` to 1e-12 (tested) without importing
``scipy.stats`` (1.4 s at start-up, issue #14). ``scipy.stats.fisher_exact`` has no exact r x c
test (Monte Carlo only); on 2x2 tables it equals R to 1e-10 (tested) but counts ties within a
relative 1e-14 where R uses 1e-7, and would import ``scipy.stats`` into every build with a
Fisher row. So Fisher's exact P is computed here, for every table size with R's 1e-7 (equal
to R to 1e-10 on the reference tables; on a 3x2 table with n = 7,604 R's FEXACT is itself
1e-9 off, which an independent enumeration in the tests shows); the Monte
Carlo tables are drawn by ``scipy.stats.random_table`` (Patefield's algorithm, as R's
``r2dtable``), imported only then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Literal

import numpy as np
from scipy.special import chdtrc, comb, gammaln

from analysis.errors import StatisticsError

__all__ = [
    "CategoricalRule",
    "CategoricalTest",
    "ChiSquare",
    "FisherTest",
    "UntestableTable",
    "compare_counts",
    "fisher_exact",
    "fisher_monte_carlo",
    "fisher_test",
    "pearson_chisq",
    "yates_chisq",
]

#: R's fisher.test counts tables whose probability is within this relative error of the observed.
_REL_ERR = 1 + 1e-7
#: Enumerate at most this many partial tables per half for an exact Fisher P; beyond it
#: :func:`fisher_test` simulates (a 4x4 table with n = 200 would need far more).
_MAX_PARTIAL_TABLES = 2_000_000
#: R's ``fisher.test(simulate.p.value = TRUE)`` counts simulated tables within this factor.
_ALMOST_ONE = 1 + 64 * np.finfo(float).eps
#: Default Monte Carlo size and seed of a simulated Fisher P (R's default B is 2000; a larger
#: B keeps the Monte Carlo standard error below 0.0016 at any P).
DEFAULT_MC_SAMPLES = 100_000
DEFAULT_MC_SEED = 20240101

CountsLike = Sequence[Sequence[int]] | np.ndarray



class UntestableTable(StatisticsError):
    """A count table no test can be done on: fewer than two non-empty rows or columns.

    ``nonempty_rows`` and ``nonempty_cols`` say what remains, so a table builder that knows
    which direction holds the groups can state the real reason in its footnote.
    """

    def __init__(self, message: str, nonempty_rows: int, nonempty_cols: int) -> None:
        super().__init__(message)
        self.nonempty_rows = nonempty_rows
        self.nonempty_cols = nonempty_cols


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
class FisherTest:
    """Fisher's exact test of an r x c table: exact P, or Monte Carlo P when too large.

    ``method`` is "exact" or "monte carlo"; for Monte Carlo, ``samples`` (R's ``B``) and
    ``seed`` say how it was simulated and ``mc_se`` is the Monte Carlo standard error of ``p``.
    ``label`` names the test for a footnote or the Methods.
    """

    p: float
    method: Literal["exact", "monte carlo"]
    samples: int | None = None
    seed: int | None = None
    mc_se: float | None = None

    @property
    def label(self) -> str:
        """"Fisher's exact test", or with the Monte Carlo details when simulated."""
        if self.method == "exact":
            return "Fisher's exact test"
        return f"Fisher's exact test, Monte Carlo P ({self.samples:,} simulated tables, seed {self.seed})"


@dataclass(frozen=True)
class CategoricalRule:
    """How :func:`compare_counts` chooses its test.

    Fisher's exact test is used when any expected count is below ``fisher_below`` (default 5,
    for any table size, as gtsummary does); otherwise Pearson's chi-square without continuity
    correction. ``force`` ("pearson" or "fisher") overrides the rule for every table.
    ``mc_samples`` and ``mc_seed`` set the Monte Carlo P of a Fisher test on a table too large
    to enumerate. ``audit_fisher`` asks table builders to store Fisher's P beside a Pearson
    row too (``<row>.fisher_p``), for an audit of a paper that printed Fisher where the rule
    picks Pearson; it is otherwise not computed.
    """

    fisher_below: float = 5.0
    force: Literal["pearson", "fisher"] | None = None
    mc_samples: int = DEFAULT_MC_SAMPLES
    mc_seed: int = DEFAULT_MC_SEED
    audit_fisher: bool = False

    def __post_init__(self) -> None:
        if self.force not in (None, "pearson", "fisher"):
            raise StatisticsError(
                f"Invalid `force` value: {self.force!r}. Must be one of: None, 'pearson', 'fisher'"
            )
        if not self.fisher_below >= 0:
            raise StatisticsError(f"Invalid `fisher_below` value: {self.fisher_below!r}. Must be >= 0")
        if isinstance(self.mc_samples, bool) or not isinstance(self.mc_samples, int) or self.mc_samples < 100:
            raise StatisticsError(f"Invalid `mc_samples` value: {self.mc_samples!r}. Must be a whole number >= 100")
        if isinstance(self.mc_seed, bool) or not isinstance(self.mc_seed, int) or self.mc_seed < 0:
            raise StatisticsError(f"Invalid `mc_seed` value: {self.mc_seed!r}. Must be a whole number >= 0")

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
    """The test :func:`compare_counts` chose, with Pearson's statistic kept for audit.

    ``statistic`` is the chi-square for Pearson and ``None`` for Fisher, so nobody prints a
    chi-square next to a Fisher P; likewise ``df`` is ``None`` for Fisher. ``fisher`` is the
    Fisher result when Fisher was chosen; when Pearson was, Fisher is not computed unless
    :attr:`fisher_p` is read (then it is computed once, exact or Monte Carlo).
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
    note: str | None = None
    fisher: FisherTest | None = None
    rule: CategoricalRule = field(default_factory=lambda: CategoricalRule(), repr=False, compare=False)

    @cached_property
    def fisher_result(self) -> FisherTest:
        """Fisher's test of ``counts``: the one used, or computed now (for an audit)."""
        if self.fisher is not None:
            return self.fisher
        return fisher_test(self.counts, samples=self.rule.mc_samples, seed=self.rule.mc_seed)

    @property
    def fisher_p(self) -> float:
        """Fisher's P (exact or Monte Carlo), computed on first access when Pearson was used."""
        return self.fisher_result.p


# -- input checking ------------------------------------------------------------------------


def _as_table(counts: CountsLike) -> tuple[np.ndarray, str | None]:
    """Validate a count table; drop all-zero rows and columns. Returns (table, note)."""
    if hasattr(counts, "to_numpy"):  # a DataFrame, possibly of nullable Int64
        counts = counts.to_numpy(dtype=float, na_value=np.nan)
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
        raise UntestableTable(
            f"Count table {arr.astype(int).tolist()} needs at least two levels with counts in each "
            f"direction; {table.shape[0]} non-empty row(s) and {table.shape[1]} non-empty column(s) remain",
            int(table.shape[0]), int(table.shape[1]),
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
        p=float(chdtrc(df, statistic)),  # = scipy.stats.chi2.sf(statistic, df)
        expected=_tuple2(expected, float),
        min_expected=float(expected.min()),
        counts=_tuple2(table, int),
        correction=correct,
        note=note,
    )


def pearson_chisq(counts: CountsLike) -> ChiSquare:
    """Pearson's chi-square test of independence, no continuity correction (r x c).

    Matches R's ``chisq.test(m, correct = FALSE)``; equals
    ``scipy.stats.chi2_contingency(m, correction=False)`` (tested), computed without importing
    ``scipy.stats``.
    """
    return _chisq(counts, correct=False)


def yates_chisq(counts: CountsLike) -> ChiSquare:
    """Chi-square with Yates' continuity correction, for 2x2 tables only.

    Kept to audit papers that used it; matches R's ``chisq.test(m)`` on a 2x2 table and
    ``scipy.stats.chi2_contingency(m)`` (tested).
    """
    table, _ = _as_table(counts)
    if table.shape != (2, 2):
        raise StatisticsError(
            f"Yates' correction applies to 2x2 tables; got a {table.shape[0]}x{table.shape[1]} table"
        )
    return _chisq(counts, correct=True)


# -- Fisher's exact test (r x c) ------------------------------------------------------------


class _TooLarge(StatisticsError):
    """Exact enumeration would exceed ``_MAX_PARTIAL_TABLES``."""


@lru_cache(maxsize=65536)
def _compositions(total: int, caps: tuple[int, ...]) -> np.ndarray:
    """All vectors of len(caps) whole numbers summing to ``total`` with x_i <= caps_i."""
    if len(caps) == 2:  # two rows (two arms): one free entry, no loop
        first = np.arange(max(0, total - caps[1]), min(caps[0], total) + 1, dtype=np.int64)
        return np.stack([first, total - first], axis=1)
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


def _n_compositions(total: int, caps: np.ndarray) -> np.ndarray:
    """How many vectors x with sum ``total`` and 0 <= x_i <= caps[k, i] each row k of ``caps``
    has (inclusion-exclusion over the capped entries; floats, for a size estimate)."""
    r = caps.shape[1]
    out = np.zeros(len(caps))
    for mask in range(1 << r):
        chosen = [i for i in range(r) if mask >> i & 1]
        rest = total - (caps[:, chosen] + 1).sum(axis=1) if chosen else np.full(len(caps), total)
        ways = np.where(rest >= 0, comb(rest + r - 1, r - 1), 0.0)
        out += -ways if len(chosen) % 2 else ways
    return out


def _check_size(col_totals: Sequence[int], row_totals: np.ndarray) -> None:
    """Refuse a block at once when filling its first two columns already needs more than
    ``_MAX_PARTIAL_TABLES`` partial tables (counted, not enumerated), instead of finding out
    after seconds of enumeration (a 4x4 table with n = 200 needs about 10^8)."""
    if len(row_totals) > 10 or not len(col_totals):
        return
    caps = row_totals[None, :].astype(float)
    size = float(_n_compositions(int(col_totals[0]), caps)[0])
    if size <= _MAX_PARTIAL_TABLES and len(col_totals) > 1:
        first = _compositions(int(col_totals[0]), tuple(int(c) for c in row_totals))
        size = float(_n_compositions(int(col_totals[1]), (row_totals - first).astype(float)).sum())
    if size > _MAX_PARTIAL_TABLES:
        raise _TooLarge(
            f"Fisher's exact test on a table with column totals {[int(c) for c in col_totals]} "
            f"and row totals {row_totals.tolist()} needs about {size:.2g} partial tables to enumerate, "
            f"more than {_MAX_PARTIAL_TABLES:,}"
        )


def _block(col_totals: Sequence[int], row_totals: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    """All fillings of a block of columns: row sums used -> array of sum(-log x_ij!)."""
    _check_size(col_totals, row_totals)
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
            size += len(group) * len(comps)
            if size > _MAX_PARTIAL_TABLES:
                raise _TooLarge(
                    f"Fisher's exact test on a table with column totals {[int(c) for c in col_totals]} "
                    f"and row totals {row_totals.tolist()} needs more than {_MAX_PARTIAL_TABLES:,} "
                    "partial tables to enumerate"
                )
            new_values.append(np.add.outer(group, terms).ravel())
            new_codes.append(np.tile(code + comps @ radix, len(group)))
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


def _oriented(counts: CountsLike) -> np.ndarray:
    table, _ = _as_table(counts)
    return table.T if table.shape[0] > table.shape[1] else table  # fewer rows -> fewer compositions


def fisher_exact(counts: CountsLike) -> float:
    """Two-sided P of Fisher's exact test for any r x c table, as R's ``fisher.test``.

    Enumerates every table with the observed margins and sums the probabilities of those no
    more likely than the observed one (within a relative 1e-7, as R does). The columns are
    split in two blocks whose fillings are enumerated separately and joined on the row sums
    they use (meet in the middle), which keeps clinical tables (2x2 with n=560, 3x2 with n=80,
    4x3 with n=100) well under a second. Raises :class:`StatisticsError` when a half would
    need more than 2,000,000 partial tables (use :func:`fisher_test`, which then simulates).
    Compared with ``scipy.stats.fisher_exact``: equal on 2x2 tables to 1e-9 (scipy counts ties
    within 1e-14, R within 1e-7); scipy has no exact r x c test.
    """
    table = _oriented(counts)
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


def fisher_monte_carlo(
    counts: CountsLike, samples: int = DEFAULT_MC_SAMPLES, seed: int = DEFAULT_MC_SEED
) -> FisherTest:
    """Monte Carlo P of Fisher's exact test, as R's ``fisher.test(m, simulate.p.value = TRUE, B = samples)``.

    Draws ``samples`` tables with the observed margins (``scipy.stats.random_table``,
    Patefield's algorithm like R's ``r2dtable``, from ``numpy.random.default_rng(seed)``) and
    returns (1 + #{simulated tables no more likely than the observed}) / (samples + 1), with
    R's tolerance (the observed log-probability divided by 1 + 64 machine epsilons). The
    same seed gives the same P; R's own random numbers cannot be reproduced, so the P agrees
    with R's within Monte Carlo error, reported as ``mc_se``.
    """
    import scipy.stats  # lazily: about 1.4 s to import, needed only here (issue #14)

    table = _oriented(counts)
    observed = float(-gammaln(table + 1.0).sum())
    dist = scipy.stats.random_table(table.sum(axis=1), table.sum(axis=0), seed=np.random.default_rng(seed))
    hits = 0
    chunk = max(1, min(samples, 4_000_000 // table.size))  # bounded memory for large tables
    done = 0
    while done < samples:
        size = min(chunk, samples - done)
        sims = dist.rvs(size=size)
        hits += int(np.sum(-gammaln(sims + 1.0).sum(axis=(1, 2)) <= observed / _ALMOST_ONE))
        done += size
    p = (1 + hits) / (samples + 1)
    return FisherTest(float(p), "monte carlo", samples, seed, float(np.sqrt(p * (1 - p) / samples)))


def fisher_test(
    counts: CountsLike,
    *,
    simulate: Literal["auto", "never", "always"] = "auto",
    samples: int = DEFAULT_MC_SAMPLES,
    seed: int = DEFAULT_MC_SEED,
) -> FisherTest:
    """Fisher's exact test: the exact P where the tables can be enumerated, else Monte Carlo.

    ``simulate="auto"`` enumerates when each half of the table needs at most 2,000,000
    partial tables (:func:`fisher_exact`) and otherwise simulates ``samples`` tables with
    ``seed`` (:func:`fisher_monte_carlo`); "never" raises :class:`StatisticsError` instead of
    simulating; "always" simulates.
    """
    if simulate not in ("auto", "never", "always"):
        raise StatisticsError(f"Invalid `simulate` value: {simulate!r}. Must be one of: 'auto', 'never', 'always'")
    if simulate != "always":
        try:
            return FisherTest(fisher_exact(counts), "exact")
        except _TooLarge:
            if simulate == "never":
                raise
    return fisher_monte_carlo(counts, samples, seed)


# -- the project rule -------------------------------------------------------------------------


def compare_counts(counts: CountsLike, rule: CategoricalRule | None = None) -> CategoricalTest:
    """Compare groups on a categorical variable: Pearson chi-square or Fisher's exact test.

    Fisher is chosen when any expected count is below ``rule.fisher_below`` (or when
    ``rule.force == "fisher"``); it is computed only then (or when ``fisher_p`` is read).
    A Fisher test on a table too large to enumerate gets a Monte Carlo P (``rule.mc_samples``,
    ``rule.mc_seed``), and its ``method_label`` says so.
    Raises :class:`UntestableTable` when fewer than two levels remain in either direction.
    """
    rule = rule or CategoricalRule()
    pearson = pearson_chisq(counts)
    use_fisher = rule.force == "fisher" or (rule.force is None and pearson.min_expected < rule.fisher_below)
    common = dict(
        min_expected=pearson.min_expected,
        counts=pearson.counts,
        pearson_statistic=pearson.statistic,
        pearson_df=pearson.df,
        pearson_p=pearson.p,
        note=pearson.note,
        rule=rule,
    )
    if use_fisher:
        fisher = fisher_test(pearson.counts, samples=rule.mc_samples, seed=rule.mc_seed)
        return CategoricalTest("fisher", fisher.label, None, None, fisher.p, fisher=fisher, **common)
    return CategoricalTest(
        "pearson", "Pearson chi-square", pearson.statistic, pearson.df, pearson.p, **common
    )
