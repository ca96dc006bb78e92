"""Meta-analysis of ratio measures (OR, HR, RR) on the log scale.

* :func:`generic_inverse_variance`: log ratios with their SEs (e.g. taken from published 95% CIs
  with :func:`se_from_ci`): inverse-variance fixed effect and DerSimonian-Laird random effects,
  as ``metafor::rma(yi, sei = sei, method = "FE" / "DL")``.
* :func:`mantel_haenszel_or`: 2x2 counts per study: Mantel-Haenszel fixed-effect odds ratio with
  the Robins-Breslow-Greenland variance, as ``meta::metabin(sm = "OR", method = "MH")`` and
  ``metafor::rma.mh(measure = "OR")``; DerSimonian-Laird random effects on the per-study log odds
  ratios (``metafor::rma(yi, vi, method = "DL")``).
* :class:`ModelChoice`: the study's rule for which model to report, with a reason for Methods.

Heterogeneity: Cochran's Q is the inverse-variance weighted sum of squares around the *fixed*
estimate (for MH, around the MH estimate, as RevMan, ``meta``'s ``Q.Cochrane = TRUE`` and
``rma.mh`` do); I-squared = max(0, (Q - df) / Q). The DL tau-squared always uses the
inverse-variance Q (``q_iv``), as ``rma(method = "DL")`` does.

Ratios are reported on the ratio scale (``exp``); weights are percentages summing to 100.

Studies with no events (or only events) in both arms: their odds ratio is undefined, but they
are kept in the Mantel-Haenszel sums, where they add zero (weight 0%), as
``metafor::rma.mh`` does (``drop00 = c(TRUE, FALSE)``: k counts them, ``k.yi`` does not);
they are left out of Cochran's Q, I-squared and the DerSimonian-Laird model, whose
per-study log odds ratios they lack. The pooled MH estimate and CI are therefore the same as
without them (tested against R), also the same as ``meta::metabin``, which by default
leaves them out (``allstudies = FALSE``). The result's ``note`` names them, for a footnote.

Bad input is refused with the study named: an estimate outside its own CI, non-positive or
missing ratios or bounds (NaN or ``pd.NA``), events above the number of patients.

Libraries: normal and chi-square tails come from ``scipy.special`` (``ndtr``, ``ndtri``,
``chdtrc``: what ``scipy.stats.norm``/``chi2`` call), so ``scipy.stats`` is not imported.
No Python library gives DerSimonian-Laird truncated at zero with metafor's weights and the
Robins-Breslow-Greenland variance together (statsmodels' ``combine_effects`` has no MH
estimator), so these are computed here and compared with metafor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
from scipy.special import chdtrc, ndtr, ndtri

from analysis.errors import StatisticsError
from analysis.formatting import fmt_number, fmt_p_phrase

__all__ = [
    "Heterogeneity",
    "MetaResult",
    "ModelChoice",
    "ModelDecision",
    "Pooled",
    "StudyEstimate",
    "generic_from_ci",
    "generic_inverse_variance",
    "mantel_haenszel_or",
    "se_from_ci",
]


@dataclass(frozen=True)
class StudyEstimate:
    """One study: ratio and Wald CI (from its log estimate and SE) and its weights in %."""

    label: str
    estimate: float
    lower: float
    upper: float
    log_estimate: float
    se_log: float
    weight_fixed_pct: float
    weight_random_pct: float


@dataclass(frozen=True)
class Pooled:
    """A pooled estimate on the ratio scale with its CI and z-test P."""

    model: Literal["fixed", "random"]
    method_label: str
    estimate: float
    lower: float
    upper: float
    log_estimate: float
    se_log: float
    z: float
    p: float


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q (df, P), I-squared in %, DL tau-squared, and the inverse-variance Q."""

    q: float
    df: int
    p: float
    i2_pct: float
    tau2: float
    q_iv: float


@dataclass(frozen=True)
class MetaResult:
    """A meta-analysis: studies, fixed and random pooled estimates, heterogeneity."""

    measure: str
    method: Literal["inverse-variance", "mantel-haenszel"]
    studies: tuple[StudyEstimate, ...]
    fixed: Pooled
    random: Pooled
    heterogeneity: Heterogeneity
    level: float = 0.95
    #: Studies kept in the MH sums with weight 0 but without an estimate (no events in either
    #: arm, or only events); not in ``studies``.
    not_estimable: tuple[str, ...] = ()
    #: A sentence for a footnote when something about the input needs saying (e.g. such studies).
    note: str | None = None

    def pooled(self, model: Literal["fixed", "random"]) -> Pooled:
        """The fixed or random pooled estimate."""
        if model not in ("fixed", "random"):
            raise StatisticsError(f"Invalid `model` value: {model!r}. Must be one of: 'fixed', 'random'")
        return self.fixed if model == "fixed" else self.random


@dataclass(frozen=True)
class ModelDecision:
    """The model a :class:`ModelChoice` picked, its pooled estimate, and why (for Methods)."""

    model: Literal["fixed", "random"]
    pooled: Pooled
    reason: str


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


@dataclass(frozen=True)
class ModelChoice:
    """Which pooled model to report: fixed when Q's P > ``q_p_above`` and I² < ``i2_below`` (%).

    ``force`` ("fixed" or "random") overrides the rule. Defaults: 0.1 and 50%.
    """

    q_p_above: float = 0.1
    i2_below: float = 50.0
    force: Literal["fixed", "random"] | None = None

    def __post_init__(self) -> None:
        if self.force not in (None, "fixed", "random"):
            raise StatisticsError(
                f"Invalid `force` value: {self.force!r}. Must be one of: None, 'fixed', 'random'"
            )
        if not 0 <= self.q_p_above <= 1:
            raise StatisticsError(f"Invalid `q_p_above` value: {self.q_p_above!r}. Must be between 0 and 1")
        if not 0 <= self.i2_below <= 100:
            raise StatisticsError(f"Invalid `i2_below` value: {self.i2_below!r}. Must be between 0 and 100")

    def describe(self) -> str:
        """The rule in words, for a Methods section."""
        if self.force:
            return f"a {self.force}-effect{'s' if self.force == 'random' else ''} model was used throughout"
        return (
            f"a fixed-effect model was used when Cochran's Q test gave P > {_plain(self.q_p_above)} and "
            f"I² < {_plain(self.i2_below)}%, otherwise a random-effects model"
        )

    def decide(self, result: MetaResult) -> ModelDecision:
        """Apply the rule to ``result``; the reason quotes the formatted Q P and I²."""
        het = result.heterogeneity
        stats_text = f"Q test {fmt_p_phrase(het.p)}, I² = {fmt_number(het.i2_pct, 1)}%"
        if self.force:
            model: Literal["fixed", "random"] = self.force
            plural = "s" if model == "random" else ""
            reason = f"{model} effect{plural} model set by the analysis plan ({stats_text})"
        elif het.p > self.q_p_above and het.i2_pct < self.i2_below:
            model = "fixed"
            reason = (
                f"fixed-effect model: no important heterogeneity ({stats_text}; rule: P > "
                f"{_plain(self.q_p_above)} and I² < {_plain(self.i2_below)}%)"
            )
        else:
            model = "random"
            reason = (
                f"random-effects model: heterogeneity present ({stats_text}; rule: fixed only when P > "
                f"{_plain(self.q_p_above)} and I² < {_plain(self.i2_below)}%)"
            )
        return ModelDecision(model, result.pooled(model), reason)


# -- helpers -------------------------------------------------------------------------------


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise StatisticsError(f"Invalid `level` value: {level!r}. Must be between 0 and 1 (e.g. 0.95)")
    return float(ndtri(1 - (1 - level) / 2))  # = scipy.stats.norm.ppf


def _floats(values: Any, name: str) -> np.ndarray:
    """``values`` as floats, with None, NaN and ``pd.NA`` (nullable dtypes) as NaN."""
    if hasattr(values, "to_numpy") and hasattr(values, "dtype"):
        try:
            return values.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise StatisticsError(f"Invalid `{name}`: values must be numbers; got {list(values)!r}") from None
    seq = values.tolist() if hasattr(values, "tolist") else values
    if np.ndim(seq) == 0:
        seq = [seq]
    try:
        return np.asarray([np.nan if (v is None or type(v).__name__ == "NAType") else v for v in seq], dtype=float)
    except (TypeError, ValueError):
        raise StatisticsError(f"Invalid `{name}`: values must be numbers; got {list(seq)!r}") from None


def se_from_ci(lower: float | Sequence[float], upper: float | Sequence[float], level: float = 0.95):
    """SE of a log ratio from its ratio-scale CI: (log(upper) - log(lower)) / (2 z).

    Accepts scalars (returns a float) or sequences (returns a list of floats).
    """
    scalar = np.ndim(lower) == 0
    lo, hi = _floats(lower, "lower"), _floats(upper, "upper")
    if lo.shape != hi.shape:
        raise StatisticsError(f"Got {lo.size} lower and {hi.size} upper bound(s); give one of each per study")
    if scalar:
        lo, hi = lo[0], hi[0]
    if np.any(~np.isfinite(lo)) or np.any(~np.isfinite(hi)) or np.any(lo <= 0) or np.any(hi <= lo):
        raise StatisticsError(
            f"Invalid CI {lower!r} to {upper!r}: bounds of a ratio must be finite, > 0, and lower < upper"
        )
    se = (np.log(hi) - np.log(lo)) / (2 * _z(level))
    return float(se) if se.ndim == 0 else [float(v) for v in se]


def _study_rows(
    names: Sequence[str], y: np.ndarray, se: np.ndarray, w_fixed: np.ndarray, w_random: np.ndarray, z: float
) -> tuple[StudyEstimate, ...]:
    """Each study's ratio with its Wald CI (log scale) and its fixed and random weights in %."""
    return tuple(
        StudyEstimate(
            names[i],
            math.exp(y[i]),
            math.exp(y[i] - z * se[i]),
            math.exp(y[i] + z * se[i]),
            float(y[i]),
            float(se[i]),
            float(100 * w_fixed[i] / w_fixed.sum()),
            float(100 * w_random[i] / w_random.sum()),
        )
        for i in range(len(y))
    )


def _labels(labels: Sequence[str] | None, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    if len(labels) != k:
        raise StatisticsError(f"Got {len(labels)} label(s) for {k} studies; give one label per study")
    return tuple(str(x) for x in labels)


def _pool(y: np.ndarray, w: np.ndarray, model: Literal["fixed", "random"], label: str, z: float) -> Pooled:
    mu = float(np.sum(w * y) / np.sum(w))
    return _pooled(model, label, mu, float(1 / math.sqrt(np.sum(w))), z)


def _pooled(model: Literal["fixed", "random"], label: str, mu: float, se: float, z: float) -> Pooled:
    """A pooled log-scale estimate with its Wald CI and two-sided z-test P, back on the ratio scale."""
    zval = mu / se
    return Pooled(model, label, math.exp(mu), math.exp(mu - z * se), math.exp(mu + z * se), mu, se, zval,
                  float(2 * ndtr(-abs(zval))))  # = 2 * scipy.stats.norm.sf(|z|)


def _q(y: np.ndarray, w: np.ndarray, center: float) -> float:
    return float(max(0.0, np.sum(w * (y - center) ** 2)))


def _i2(q: float, df: int) -> float:
    return float(max(0.0, 100 * (q - df) / q)) if q > 0 and df > 0 else 0.0


def _dl_tau2(y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """(tau2, Q) of DerSimonian-Laird with inverse-variance weights ``w``."""
    mu = float(np.sum(w * y) / np.sum(w))
    q = _q(y, w, mu)
    c = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    tau2 = max(0.0, (q - (len(y) - 1)) / c) if c > 0 else 0.0
    return float(tau2), q


def _check_yi_sei(yi: Sequence[float], sei: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y, s = _floats(yi, "yi"), _floats(sei, "sei")
    if y.ndim != 1 or y.shape != s.shape:
        raise StatisticsError(f"`yi` and `sei` must be 1-D of the same length; got {y.shape} and {s.shape}")
    if len(y) < 2:
        raise StatisticsError(f"A meta-analysis needs at least 2 studies; got {len(y)}")
    if not np.all(np.isfinite(y)) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise StatisticsError(
            f"Invalid study estimates: yi must be finite and sei finite and > 0; got {s.tolist()}"
        )
    return y, s


# -- public API ----------------------------------------------------------------------------


def generic_inverse_variance(
    yi: Sequence[float],
    sei: Sequence[float],
    labels: Sequence[str] | None = None,
    *,
    measure: str = "ratio",
    level: float = 0.95,
) -> MetaResult:
    """Inverse-variance fixed effect and DerSimonian-Laird random effects for log ratios.

    ``yi`` are log ratios, ``sei`` their SEs; pooled estimates and CIs are returned on the
    ratio scale. Matches ``metafor::rma(yi = yi, sei = sei, method = "FE")`` and ``"DL"``.
    """
    y, s = _check_yi_sei(yi, sei)
    z = _z(level)
    names = _labels(labels, len(y))
    w = 1 / s**2
    fixed = _pool(y, w, "fixed", "inverse-variance fixed effect", z)
    tau2, q = _dl_tau2(y, w)
    w_r = 1 / (s**2 + tau2)
    random = _pool(y, w_r, "random", "DerSimonian-Laird random effects", z)
    df = len(y) - 1
    het = Heterogeneity(q, df, float(chdtrc(df, q)), _i2(q, df), tau2, q)
    studies = _study_rows(names, y, s, w, w_r, z)
    return MetaResult(measure, "inverse-variance", studies, fixed, random, het, level)


def generic_from_ci(
    estimates: Sequence[float],
    lowers: Sequence[float],
    uppers: Sequence[float],
    labels: Sequence[str] | None = None,
    *,
    measure: str = "ratio",
    level: float = 0.95,
) -> MetaResult:
    """:func:`generic_inverse_variance` from published ratios and CIs (SE via :func:`se_from_ci`).

    The study rows keep the published bounds (``lower``/``upper``) so a forest plot shows what
    the papers printed; pooling uses the SE derived from them. An estimate outside its own CI
    (a transcription error) is refused, naming the study.
    """
    est = _floats(estimates, "estimates")
    if np.any(~np.isfinite(est)) or np.any(est <= 0):
        raise StatisticsError(f"Invalid ratio estimates {est.tolist()}: must be finite and > 0")
    lo, hi = _floats(lowers, "lowers"), _floats(uppers, "uppers")
    names = _labels(labels, len(est))
    if lo.shape != est.shape or hi.shape != est.shape:
        raise StatisticsError(
            f"Got {est.size} estimate(s), {lo.size} lower and {hi.size} upper bound(s); give one of each per study"
        )
    outside = [f"{names[i]} ({est[i]:g} outside {lo[i]:g} to {hi[i]:g})"
               for i in range(len(est)) if not lo[i] <= est[i] <= hi[i]]
    if outside:
        raise StatisticsError(
            f"Estimate outside its own confidence interval for {', '.join(outside)}; "
            "expected lower <= estimate <= upper"
        )
    res = generic_inverse_variance(np.log(est), se_from_ci(lo, hi, level), names, measure=measure, level=level)
    studies = tuple(
        replace(st, lower=float(a), upper=float(b)) for st, a, b in zip(res.studies, lo, hi, strict=True)
    )
    return replace(res, studies=studies)


def mantel_haenszel_or(
    tables: Sequence[tuple[int, int, int, int]],
    labels: Sequence[str] | None = None,
    *,
    level: float = 0.95,
) -> MetaResult:
    """Mantel-Haenszel odds ratio from ``(events_t, n_t, events_c, n_c)`` per study.

    Fixed effect: MH estimate with the Robins-Breslow-Greenland (1986) variance of its log;
    study weights are the MH weights b*c/N in %. Per-study ORs have Wald CIs on the log scale
    (0.5 added to every cell of a study with a zero cell, as ``meta`` and ``metafor`` do).
    Heterogeneity: Cochran's Q around the MH estimate with inverse-variance weights.
    Random effects: DerSimonian-Laird on the per-study log ORs. Matches ``metafor::rma.mh``
    (and ``meta::metabin(sm = "OR", method = "MH")``) and ``metafor::rma(method = "DL")``.
    A study with no events (or only events) in both arms stays in the MH sums (it adds zero)
    but has no OR: it is listed in ``not_estimable`` and ``note``, not in ``studies``, and is
    left out of Q, I-squared and the random-effects model (``rma.mh``'s ``k.yi``).
    """
    if hasattr(tables, "to_numpy"):  # a DataFrame of the four columns, nullable dtypes too
        arr = tables.to_numpy(dtype=float, na_value=np.nan)
    else:
        arr = np.asarray([_floats(t, "tables") for t in tables]) if len(tables) else np.zeros((0, 4))
    if arr.ndim != 2 or arr.shape[1] != 4:
        raise StatisticsError("`tables` must be a list of (events_t, n_t, events_c, n_c), one per study")
    if len(arr) < 2:
        raise StatisticsError(f"A meta-analysis needs at least 2 studies; got {len(arr)}")
    names = _labels(labels, len(arr))
    bad = [names[i] for i in range(len(arr)) if not np.all(np.isfinite(arr[i]))]
    if bad:
        raise StatisticsError(f"Missing counts for study {bad}: every study needs events and patients in both arms")
    if np.any(arr != np.round(arr)) or np.any(arr < 0):
        raise StatisticsError(f"Invalid counts {arr.tolist()}: must be whole numbers >= 0")
    e_t, n_t, e_c, n_c = arr.T
    if np.any(e_t > n_t) or np.any(e_c > n_c):
        raise StatisticsError(f"Invalid counts {arr.tolist()}: events cannot exceed the number of patients")
    a, b, c, d = e_t, n_t - e_t, e_c, n_c - e_c
    undefined = (a + c == 0) | (b + d == 0)
    if int((~undefined).sum()) < 2:
        raise StatisticsError(
            f"Studies {[names[i] for i in np.flatnonzero(undefined)]} have no events (or only events) in both "
            "arms; fewer than 2 studies with an odds ratio remain, so there is nothing to pool"
        )
    n = a + b + c + d
    r, s = a * d / n, b * c / n  # zero for a study without events (or non-events) in both arms
    sum_r, sum_s = float(r.sum()), float(s.sum())
    if sum_r == 0 or sum_s == 0:
        raise StatisticsError("The Mantel-Haenszel odds ratio is 0 or infinite for these counts")
    p_, q_ = (a + d) / n, (b + c) / n
    var = (
        float(np.sum(p_ * r)) / (2 * sum_r**2)
        + float(np.sum(p_ * s + q_ * r)) / (2 * sum_r * sum_s)
        + float(np.sum(q_ * s)) / (2 * sum_s**2)
    )
    z = _z(level)
    mu = math.log(sum_r / sum_s)
    fixed = _pooled("fixed", "Mantel-Haenszel fixed effect", mu, math.sqrt(var), z)
    # per-study log OR with 0.5 added to every cell of a study with a zero cell
    keep = ~undefined
    a, b, c, d = a[keep], b[keep], c[keep], d[keep]
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    inc = np.where(zero, 0.5, 0.0)
    aa, bb, cc, dd = a + inc, b + inc, c + inc, d + inc
    y = np.log(aa * dd / (bb * cc))
    v = 1 / aa + 1 / bb + 1 / cc + 1 / dd
    w = 1 / v
    q = _q(y, w, mu)
    tau2, q_iv = _dl_tau2(y, w)
    w_r = 1 / (v + tau2)
    random = _pool(y, w_r, "random", "DerSimonian-Laird random effects", z)
    df = len(y) - 1
    het = Heterogeneity(q, df, float(chdtrc(df, q)), _i2(q, df), tau2, q_iv)
    kept = tuple(names[i] for i in np.flatnonzero(keep))
    dropped = tuple(names[i] for i in np.flatnonzero(undefined))
    studies = _study_rows(kept, y, np.sqrt(v), s[keep], w_r, z)
    note = None
    if dropped:
        which = " and ".join(dropped)
        note = (
            f"{which} had no events (or only events) in both arms: no odds ratio can be estimated; "
            f"{'it stays' if len(dropped) == 1 else 'they stay'} in the Mantel-Haenszel sums with weight 0% "
            "and out of the heterogeneity statistics and the random-effects model"
        )
    return MetaResult("OR", "mantel-haenszel", studies, fixed, random, het, level, dropped, note)
