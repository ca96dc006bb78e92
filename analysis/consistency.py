"""Consistency checks on printed statistics: no patient data needed, only what a paper printed.

Each check recomputes a statistic from the other numbers the paper printed and says whether
the printed value can follow from them once the printed rounding is allowed for: a printed
``0.03`` stands for any value in [0.025, 0.035], a printed ``63.9`` for [63.85, 63.95], and
``P < 0.001`` for [0, 0.001). The checks are statcheck's idea carried over to the statistics
clinical papers print in their tables: n (%), mean ± SD, chi-square, t, F, P, and ratios with
confidence intervals.

Every check returns a :class:`Finding` whose ``verdict`` is ``"consistent"``,
``"inconsistent"`` or ``"not checkable"``, with the recomputed value or range and a sentence a
reviewer can read. The statistics are the engine's own (validated against R in
``tests/stats``); the distribution functions come from ``scipy.special`` (``chdtrc``,
``stdtr``, ``fdtrc``), which equal R's ``pchisq``/``pt``/``pf`` upper tails.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.errors import AnalysisError

__all__ = [
    "Finding",
    "Printed",
    "check_chi2_p",
    "check_counts_test",
    "check_f_p",
    "check_grim",
    "check_pct",
    "check_point_probability",
    "check_ratio_events",
    "check_sd_range",
    "check_t_p",
    "check_t_summary",
    "duplicated_statistics",
]

CONSISTENT, INCONSISTENT, UNCHECKABLE = "consistent", "inconsistent", "not checkable"
_NUM = re.compile(r"^\s*([<>≤≥]|<=|>=)?\s*([-−–]?\d*\.?\d+)\s*$")


@dataclass(frozen=True)
class Printed:
    """A number as printed, with the interval of true values its rounding allows.

    ``Printed.parse("0.032")`` is [0.0315, 0.0325]; ``Printed.parse("<0.001")`` is [0, 0.001];
    ``Printed.parse(">0.05")`` is [0.05, inf).
    """

    text: str
    value: float
    lo: float
    hi: float
    decimals: int
    relation: str = "="

    @classmethod
    def parse(cls, text: str | float | int) -> Printed:
        """Read a printed number ("0.032", "<0.001", ">0.05", ".047", "−1.2") with its interval."""
        raw = str(text).strip()
        m = _NUM.match(raw.replace("−", "-").replace("–", "-"))
        if not m:
            raise AnalysisError(f"{raw!r} is not a printed number (expected e.g. 0.032, <0.001, 63.9)")
        rel, digits = m.group(1) or "=", m.group(2)
        rel = {"≤": "<", "<=": "<", "≥": ">", ">=": ">"}.get(rel, rel)
        value = float(digits)
        decimals = len(digits.split(".")[1]) if "." in digits else 0
        half = 0.5 * 10.0 ** -decimals
        if rel == "<":
            return cls(raw, value, -math.inf, value, decimals, "<")
        if rel == ">":
            return cls(raw, value, value, math.inf, decimals, ">")
        return cls(raw, value, value - half, value + half, decimals)

    def holds(self, x: float, tolerance: float = 1e-9) -> bool:
        """Whether a true value ``x`` would be printed as this number."""
        return self.lo - tolerance <= x <= self.hi + tolerance

    def overlaps(self, lo: float, hi: float) -> bool:
        """Whether some value in [lo, hi] would be printed as this number."""
        return lo <= self.hi + 1e-12 and hi >= self.lo - 1e-12

    def __str__(self) -> str:
        """The number as printed."""
        return self.text


def _printed(x: Printed | str | float) -> Printed:
    return x if isinstance(x, Printed) else Printed.parse(x)


@dataclass(frozen=True)
class Finding:
    """The verdict of one check: what was checked, the recomputed value or range, why."""

    check: str
    verdict: str
    printed: str
    recomputed: str
    message: str
    where: str = ""
    details: dict[str, object] = field(default_factory=dict)

    @property
    def inconsistent(self) -> bool:
        """Whether the printed value cannot follow from the numbers printed with it."""
        return self.verdict == INCONSISTENT


def _fmt(x: float, decimals: int) -> str:
    if math.isinf(x):
        return "inf"
    return f"{x:.{max(decimals, 1)}f}" if abs(x) >= 10 ** -max(decimals, 1) or x == 0 else f"{x:.2g}"


def _range(lo: float, hi: float, decimals: int) -> str:
    a, b = _fmt(lo, decimals), _fmt(hi, decimals)
    return a if a == b else f"{a} to {b}"  # "to", not a dash: a table cell may wrap at a dash


# -- P from a printed statistic -------------------------------------------------------------------
def _p_check(name: str, stat: Printed, p: Printed, p_of: callable, df_text: str, where: str) -> Finding:
    """P of the printed statistic's interval (P falls as the statistic grows) against the printed P."""
    lo_stat, hi_stat = max(stat.lo, 0.0), max(stat.hi, 0.0)
    p_hi, p_lo = p_of(lo_stat), p_of(hi_stat)
    shown = _range(p_lo, p_hi, max(p.decimals, 3))
    ok = p.overlaps(p_lo, p_hi)
    msg = (f"{name} = {stat} ({df_text}) gives P = {shown}; printed P {p.relation if p.relation != '=' else '='} "
           f"{p.value:g} " + ("is consistent" if ok else "cannot follow from it"))
    return Finding(f"P from {name}", CONSISTENT if ok else INCONSISTENT, str(p), shown, msg, where,
                   {"p_range": (p_lo, p_hi)})


def check_chi2_p(chi2: Printed | str, df: int, p: Printed | str, where: str = "") -> Finding:
    """P from a printed chi-square and its df (R: ``pchisq(x, df, lower.tail = FALSE)``)."""
    from scipy.special import chdtrc

    return _p_check("χ²", _printed(chi2), _printed(p), lambda x: float(chdtrc(df, x)), f"df {df}", where)


def check_t_p(t: Printed | str, df: float, p: Printed | str, where: str = "", sides: int = 2) -> Finding:
    """P from a printed t and its df, two-sided by default (R: ``2 * pt(-abs(t), df)``)."""
    from scipy.special import stdtr

    stat = _printed(t)
    stat = Printed(stat.text, abs(stat.value), abs(stat.value) - (stat.hi - stat.value),
                   abs(stat.value) + (stat.hi - stat.value), stat.decimals, stat.relation)
    return _p_check("t", stat, _printed(p), lambda x: sides * float(stdtr(df, -x)), f"df {df:g}", where)


def check_f_p(f: Printed | str, df1: int, df2: int, p: Printed | str, where: str = "") -> Finding:
    """P from a printed F and its two df (R: ``pf(F, df1, df2, lower.tail = FALSE)``)."""
    from scipy.special import fdtrc

    return _p_check("F", _printed(f), _printed(p), lambda x: float(fdtrc(df1, df2, x)), f"df {df1}, {df2}", where)


# -- t from printed means and SDs -----------------------------------------------------------------
def _t_range(m1: Printed, s1: Printed, n1: int, m2: Printed, s2: Printed, n2: int, method: str) -> tuple:
    """The smallest and largest |t| (and the df range) any means and SDs within rounding give."""
    d_lo, d_hi = m1.lo - m2.hi, m1.hi - m2.lo
    if d_lo <= 0 <= d_hi:
        dmin, dmax = 0.0, max(abs(d_lo), abs(d_hi))
    else:
        dmin, dmax = min(abs(d_lo), abs(d_hi)), max(abs(d_lo), abs(d_hi))

    def se_df(a: float, b: float) -> tuple[float, float]:
        if method == "welch":
            v1, v2 = a * a / n1, b * b / n2
            return math.sqrt(v1 + v2), (v1 + v2) ** 2 / (v1 * v1 / (n1 - 1) + v2 * v2 / (n2 - 1))
        pooled = ((n1 - 1) * a * a + (n2 - 1) * b * b) / (n1 + n2 - 2)
        return math.sqrt(pooled * (1 / n1 + 1 / n2)), float(n1 + n2 - 2)

    se_lo, df_a = se_df(max(s1.lo, 1e-12), max(s2.lo, 1e-12))
    se_hi, df_b = se_df(s1.hi, s2.hi)
    return dmin / se_hi, dmax / se_lo, min(df_a, df_b), max(df_a, df_b)


def check_t_summary(
    mean1: Printed | str, sd1: Printed | str, n1: int,
    mean2: Printed | str, sd2: Printed | str, n2: int,
    t: Printed | str | None = None, p: Printed | str | None = None,
    where: str = "",
) -> list[Finding]:
    """The printed t (and its P) against printed means, SDs and group sizes, for Student's and
    Welch's test. Consistent when either variant can give the printed values (the finding
    says which); R: ``t.test`` on data with those moments."""
    from scipy.special import stdtr

    m1, s1, m2, s2 = (_printed(x) for x in (mean1, sd1, mean2, sd2))
    out = []
    fits = {}
    for method in ("student", "welch"):
        lo, hi, df_lo, df_hi = _t_range(m1, s1, n1, m2, s2, n2, method)
        fits[method] = (lo, hi, df_lo, df_hi)
    label = {"student": "Student", "welch": "Welch"}
    if t is not None:
        pt = _printed(t)
        tt = abs(pt.value)
        half = pt.hi - pt.value
        ok = [m for m, (lo, hi, _, _) in fits.items() if lo <= tt + half + 1e-12 and hi >= tt - half - 1e-12]
        lo, hi = fits["student"][:2]
        shown = f"{_range(lo, hi, pt.decimals)} (Student)"
        if ok:
            msg = f"t = {pt} follows from the printed means and SDs ({' or '.join(label[m] for m in ok)})"
        else:
            msg = (f"t = {pt} cannot follow from {m1}±{s1} (n={n1}) vs {m2}±{s2} (n={n2}): "
                   f"those give |t| = {shown}")
        out.append(Finding("t from means and SDs", CONSISTENT if ok else INCONSISTENT, str(pt), shown, msg, where,
                           {"variants": ok}))
    if p is not None:
        pp = _printed(p)
        ok = []
        ranges = {}
        for method, (lo, hi, df_lo, df_hi) in fits.items():
            p_hi = 2 * float(stdtr(df_lo, -lo))
            p_lo = 2 * float(stdtr(df_hi, -hi))
            ranges[method] = (p_lo, p_hi)
            if pp.overlaps(p_lo, p_hi):
                ok.append(method)
        shown = f"{_range(*ranges['student'], max(pp.decimals, 3))} (Student)"
        msg = (f"P = {pp} follows from the printed means and SDs ({' or '.join(label[m] for m in ok)})" if ok
               else f"P = {pp} cannot follow from the printed means and SDs, which give P = {shown}")
        out.append(Finding("P from means and SDs", CONSISTENT if ok else INCONSISTENT, str(pp), shown, msg, where,
                           {"variants": ok}))
    return out


# -- tests of printed counts ----------------------------------------------------------------------
def check_counts_test(
    counts: Sequence[Sequence[int]],
    stat: Printed | str | None = None,
    p: Printed | str | None = None,
    where: str = "",
) -> Finding:
    """Which test of a printed count table gives the printed chi-square and P: Pearson, Yates
    (2x2 only), Fisher (P only), or none. R: ``chisq.test(x, correct = FALSE)``,
    ``chisq.test(x)``, ``fisher.test(x)``."""
    from analysis.stats.contingency import fisher_exact, pearson_chisq, yates_chisq

    table = [list(map(int, row)) for row in counts]
    variants: dict[str, tuple[float | None, float]] = {}
    pearson = pearson_chisq(table)
    variants["Pearson"] = (pearson.statistic, pearson.p)
    if len(table) == 2 and len(table[0]) == 2:
        yates = yates_chisq(table)
        variants["Yates"] = (yates.statistic, yates.p)
    if sum(map(sum, table)) <= 2000:
        variants["Fisher"] = (None, fisher_exact(table))
    ps = _printed(p) if p is not None else None
    st = _printed(stat) if stat is not None else None
    fitting = []
    for name, (x, px) in variants.items():
        stat_ok = st is None or (x is not None and st.holds(x))
        if st is not None and x is None:
            stat_ok = False
        p_ok = ps is None or ps.holds(px)
        if stat_ok and p_ok:
            fitting.append(name)
        elif name == "Fisher" and st is not None and ps is not None and ps.holds(px):
            fitting.append("Fisher (P only)")
    cells = "; ".join("/".join(map(str, row)) for row in table)
    recomputed = f"Pearson χ² {pearson.statistic:.3f}, P {pearson.p:.3f}"
    if "Fisher" in variants:
        recomputed += f"; Fisher P {variants['Fisher'][1]:.3f}"
    printed = ", ".join(x for x in (f"χ² {st}" if st else "", f"P {ps}" if ps else "") if x)
    if fitting == ["Fisher (P only)"]:
        beside = ("is Pearson's chi-square of these counts, printed beside it" if st is not None and
                  st.holds(pearson.statistic) else
                  f"printed beside it ({st}) is no chi-square of these counts (Pearson {pearson.statistic:.3f})")
        return Finding("test of printed counts", CONSISTENT, printed, recomputed,
                       f"counts {cells}: the printed P {ps} is Fisher's exact test; the statistic {beside}", where,
                       {"variants": fitting})
    if fitting:
        return Finding("test of printed counts", CONSISTENT, printed, recomputed,
                       f"counts {cells}: the printed {printed} fit {' or '.join(fitting)}", where,
                       {"variants": fitting})
    return Finding("test of printed counts", INCONSISTENT, printed, recomputed,
                   f"counts {cells}: no test (Pearson, Yates, Fisher) gives the printed {printed}; "
                   f"the counts give {recomputed}", where, {"variants": []})


def check_point_probability(counts: Sequence[Sequence[int]], p: Printed | str, where: str = "") -> Finding | None:
    """A printed "P" that is the probability of the observed 2x2 table (the hypergeometric point
    probability, R: ``dhyper``) rather than a P value. Returns None when it is not."""
    from scipy.special import gammaln

    from analysis.stats.contingency import fisher_exact

    (a, b), (c, d) = counts
    n = a + b + c + d
    logp = (gammaln(a + b + 1) + gammaln(c + d + 1) + gammaln(a + c + 1) + gammaln(b + d + 1) - gammaln(n + 1)
            - gammaln(a + 1) - gammaln(b + 1) - gammaln(c + 1) - gammaln(d + 1))
    point = math.exp(logp)
    pp = _printed(p)
    fisher = fisher_exact([[a, b], [c, d]])
    if pp.holds(point) and not pp.holds(fisher):
        return Finding("P is a table probability", INCONSISTENT, str(pp), f"{point:.3f}",
                       f"the printed P = {pp} is the probability of the observed table ({point:.4f}), not a P "
                       f"value: Fisher's test gives P = {fisher:.3f}", where)
    return None


# -- descriptive statistics -------------------------------------------------------------------------
def check_pct(n: int, total: int, pct: Printed | str, where: str = "") -> Finding:
    """A printed percentage against its count and denominator."""
    pp = _printed(pct)
    value = 100.0 * n / total if total else math.nan
    ok = total > 0 and pp.holds(value)
    shown = f"{value:.{max(pp.decimals, 1)}f}"
    return Finding("percentage from counts", CONSISTENT if ok else INCONSISTENT, f"{pp}%", f"{shown}%",
                   f"{n}/{total} is {shown}%" + ("" if ok else f", not the printed {pp}%"), where)


def check_grim(mean: Printed | str, n: int, items: int = 1, where: str = "") -> Finding:
    """GRIM: a mean of ``n`` integer scores (``items`` per person) must be a whole sum over n*items.
    Not checkable when n*items is large enough for every printed mean to be possible."""
    pm = _printed(mean)
    k = n * items
    if k <= 0:
        return Finding("GRIM", UNCHECKABLE, str(pm), "", "no group size", where)
    if 10 ** pm.decimals <= k:
        return Finding("GRIM", UNCHECKABLE, str(pm), "",
                       f"with n = {k} every mean at {pm.decimals} decimals is possible", where)
    lo, hi = math.ceil(pm.lo * k - 1e-9), math.floor(pm.hi * k + 1e-9)
    ok = lo <= hi
    near = round(pm.value * k) / k
    return Finding("GRIM", CONSISTENT if ok else INCONSISTENT, str(pm), f"{near:.{pm.decimals + 2}f}",
                   f"a mean of {k} whole scores " + (f"can be {pm}" if ok else f"cannot be {pm} (nearest: {near:.4f})"),
                   where)


def check_sd_range(mean: Printed | str, sd: Printed | str, lower: float, upper: float, n: int | None = None,
                   where: str = "") -> Finding:
    """Bhatia–Davis: values within [lower, upper] with mean μ have variance at most
    (upper − μ)(μ − lower); the sample SD at most that times n/(n − 1). An age SD against the
    eligibility limits, a score SD against the scale's range."""
    pm, ps = _printed(mean), _printed(sd)
    best = max((upper - m) * (m - lower) for m in (pm.lo, pm.hi, min(max((lower + upper) / 2, pm.lo), pm.hi)))
    factor = n / (n - 1) if n and n > 1 else 1.0
    bound = math.sqrt(max(best, 0.0) * factor)
    ok = ps.lo <= bound + 1e-9
    return Finding("SD within the range", CONSISTENT if ok else INCONSISTENT, str(ps), f"≤ {bound:.2f}",
                   f"values in {lower:g} to {upper:g} with mean {pm} have SD at most {bound:.2f}"
                   + ("" if ok else f": the printed SD {ps} is impossible"), where)


def check_ratio_events(estimate: Printed | str, lower: Printed | str, upper: Printed | str, available: int,
                       measure: str = "HR", level: float = 0.95, where: str = "") -> Finding:
    """The events a ratio's confidence interval implies, against the patients available.

    For a hazard ratio the variance of log HR is at least 4/D (D events, equal arms): a CI this
    narrow needs D ≥ 4/SE². For an odds ratio the variance of log OR is at least 16/N (N
    patients): N ≥ 16/SE². SE comes from the printed bounds, (ln U − ln L) / (2 z).
    """
    from scipy.special import ndtri

    est, lo, hi = (_printed(x) for x in (estimate, lower, upper))
    if not (0 < lo.value <= est.value <= hi.value):
        return Finding(f"{measure} CI", INCONSISTENT, f"{est} ({lo}–{hi})", "",
                       f"the estimate {est} is not inside its own interval {lo} to {hi}", where)
    z = float(ndtri(0.5 + level / 2))
    widest = (math.log(hi.hi) - math.log(max(lo.lo, 1e-300))) / (2 * z)
    factor = 4.0 if measure.upper() == "HR" else 16.0
    needed = math.ceil(factor / widest ** 2 - 1e-9)
    what = "events" if measure.upper() == "HR" else "patients"
    ok = needed <= available
    return Finding(f"{what} implied by the {measure} CI", CONSISTENT if ok else INCONSISTENT,
                   f"{est} ({lo}–{hi})", f"≥ {needed} {what}",
                   f"a 95% CI of {lo} to {hi} needs at least {needed} {what}; {available} were available", where)


def duplicated_statistics(
    rows: Sequence[tuple[str, tuple[str, ...]]], consistent: Mapping[str, bool | None] | None = None,
) -> list[Finding]:
    """Rows printing the very same statistics (e.g. χ² and P), a sign of a value copied from
    another row. ``rows`` are (where, printed statistics); a pair is reported once.

    ``consistent`` (where -> whether that row's statistics follow from its own numbers, None
    when unknown) makes the check stricter: a repeat counts only when one of the two rows does
    not follow from its own numbers, and that row is reported as the copy. (Two symmetric
    tables, 13/40 vs 12/40 and 12/40 vs 13/40, legitimately print the same χ² and P.)
    """
    seen: dict[tuple[str, ...], str] = {}
    out = []
    for where, stats in rows:
        key = tuple(s.strip() for s in stats)
        if consistent is None and (len(key) < 2 or all(_printed_or_none(s) in (None, 1.0) for s in key)):
            continue  # a single number, or "1.000" P values, repeat by chance
        if key not in seen:
            seen[key] = where
            continue
        first, shown = seen[key], " / ".join(key)
        if consistent is None:
            out.append(Finding("identical statistics", INCONSISTENT, shown, "",
                               f"{where} prints the same statistics ({shown}) as {first}: likely copied from that row",
                               where, {"first": first, "source": first}))
        elif consistent.get(where) is False or consistent.get(first) is False:
            copied, source = (where, first) if consistent.get(where) is False else (first, where)
            out.append(Finding("identical statistics", INCONSISTENT, shown, "",
                               f"{copied} prints the same statistics ({shown}) as {source}, and they do not "
                               "follow from its own numbers: likely copied from there", copied,
                               {"first": first, "source": source}))
    return out


def _printed_or_none(text: str) -> float | None:
    try:
        return Printed.parse(text).value
    except AnalysisError:
        return None
