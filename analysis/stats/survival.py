"""Survival analysis that matches R's ``survival`` package (survfit, survdiff, coxph).

Implemented with numpy/scipy on purpose: lifelines' defaults differ from R's (its median CI,
its Breslow-style ties), and the manuscripts state R's conventions in their Methods.

- :func:`kaplan_meier` is ``survfit(Surv(time, event) ~ 1, conf.type=...)``: the Greenwood SE of
  log S (R's ``std.err``) and the confidence band of ``survfit_confint``.
- :func:`median_survival` is the median row of ``summary(survfit)$table``: Brookmeyer-Crowley
  limits read off the band, with R's midpoint rule when S(t) sits exactly at 0.5.
- :func:`survival_at` is ``summary(survfit, times=, extend=TRUE)``.
- :func:`logrank` is ``survdiff`` (rho = 0) for any number of groups, stratified with ``strata=``
  as ``survdiff(Surv(time, event) ~ group + strata(s))``.
- :func:`cox_ph` is ``coxph(Surv(time, event) ~ factor(group))`` with Efron ties (the engine of
  :func:`analysis.stats.cox.cox_model`, which fits several covariates and strata).
- :func:`median_follow_up` is the reverse Kaplan-Meier median (censoring counted as the event).

Each is O(n log n): one sort (``np.unique``/``np.lexsort``), then counts per distinct time by
``np.bincount`` and risk sets as cumulative sums; nothing rescans the data per event time.
Times and events given as text are refused (a file read wrongly), and pandas nullable dtypes
(``Int64``, ``Float64``, ``pd.NA``) are read as numbers with NaN for missing.

Group labels are compared as text: ``1``, ``1.0`` and ``"1"`` are the same arm ``"1"``.
Every result is a frozen dataclass of plain Python numbers; "not reached" or "not defined"
(R's ``NA``) is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import StatisticsError
from analysis.stats.estimates import MedianCI
from analysis.stats.regression import numeric_column

__all__ = [
    "CONF_TYPES",
    "CoxResult",
    "CoxTerm",
    "KMFit",
    "LogRank",
    "MedianCI",
    "SurvivalAt",
    "cox_ph",
    "group_labels",
    "kaplan_meier",
    "km_by_group",
    "logrank",
    "median_follow_up",
    "median_survival",
    "numbers_at_risk",
    "survival_at",
]

#: Confidence-interval transforms of the survival curve, named as R's ``conf.type``.
CONF_TYPES = ("log", "log-log", "plain")

#: R's tolerance in ``survmean``'s median search (``.Machine$double.eps^0.5``).
_MEDIAN_TOL = math.sqrt(np.finfo(float).eps)


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class KMFit:
    """A Kaplan-Meier curve, one row per distinct time (event or censoring), as R's survfit.

    ``std_err`` is the Greenwood standard error of log S(t) (R's ``survfit$std.err``); it is
    ``inf`` once S(t) reaches 0. ``lower``/``upper`` are the pointwise confidence band of
    ``conf_type``; ``None`` where R gives ``NA`` (S = 0, and S = 1 for log-log).
    """

    time: tuple[float, ...]
    n_risk: tuple[int, ...]
    n_event: tuple[int, ...]
    n_censor: tuple[int, ...]
    survival: tuple[float, ...]
    std_err: tuple[float, ...]
    lower: tuple[float | None, ...]
    upper: tuple[float | None, ...]
    conf_type: str
    conf_level: float
    n: int
    events: int


@dataclass(frozen=True)
class SurvivalAt:
    """S(t) at a landmark time with its confidence limits and the number still at risk."""

    time: float
    surv: float
    lower: float | None
    upper: float | None
    n_risk: int


@dataclass(frozen=True)
class LogRank:
    """A log-rank test (R's ``survdiff``): chi-square with ``df`` = groups with events - 1.

    ``groups``, ``n``, ``observed`` and ``expected`` are in the same order; ``variance`` is
    the full k x k variance matrix of observed - expected.
    """

    chisq: float
    df: int
    p: float
    groups: tuple[str, ...]
    n: tuple[int, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    variance: tuple[tuple[float, ...], ...]

    def observed_of(self, group: Any) -> int:
        """Observed events of one group."""
        return self.observed[self._index(group)]

    def expected_of(self, group: Any) -> float:
        """Expected events of one group under the null hypothesis."""
        return self.expected[self._index(group)]

    def _index(self, group: Any) -> int:
        label = _label(group)
        if label not in self.groups:
            raise StatisticsError(f"Unknown group {label!r}. Must be one of: {list(self.groups)}")
        return self.groups.index(label)


@dataclass(frozen=True)
class CoxTerm:
    """One level of the group compared with the reference: HR = exp(coef), Wald CI and P."""

    level: str
    coef: float
    se: float
    hr: float
    lower: float
    upper: float
    p: float


@dataclass(frozen=True)
class CoxResult:
    """A Cox proportional-hazards fit of one categorical covariate (Efron ties), as R's coxph.

    ``terms`` holds one :class:`CoxTerm` per non-reference level. ``wald_p``, ``score_p``
    (= log-rank for one binary covariate) and ``lr_p`` are the global tests on ``df`` degrees
    of freedom. With two groups, ``hr``, ``lower``, ``upper``, ``coef`` and ``se`` read the
    single term directly.
    """

    reference: str
    terms: tuple[CoxTerm, ...]
    df: int
    wald_chisq: float
    wald_p: float
    score_chisq: float
    score_p: float
    lr_chisq: float
    lr_p: float
    loglik_null: float
    loglik: float
    n: int
    events: int
    iterations: int
    conf_level: float
    converged: bool = True
    ties: str = "efron"

    def term(self, level: Any) -> CoxTerm:
        """The comparison of ``level`` with the reference."""
        label = _label(level)
        for t in self.terms:
            if t.level == label:
                return t
        raise StatisticsError(
            f"Unknown level {label!r}. Must be one of: {[t.level for t in self.terms]} "
            f"(the reference {self.reference!r} has no term)"
        )

    def _single(self) -> CoxTerm:
        if len(self.terms) != 1:
            raise StatisticsError(
                f"This Cox model has {len(self.terms)} terms (levels {[t.level for t in self.terms]} "
                f"vs {self.reference!r}); use `.term(level)` to pick one"
            )
        return self.terms[0]

    @property
    def hr(self) -> float:
        """The hazard ratio of the single term (two arms only)."""
        return self._single().hr

    @property
    def lower(self) -> float:
        """The lower CI limit of the single term's hazard ratio."""
        return self._single().lower

    @property
    def upper(self) -> float:
        """The upper CI limit of the single term's hazard ratio."""
        return self._single().upper

    @property
    def coef(self) -> float:
        """The log hazard ratio of the single term."""
        return self._single().coef

    @property
    def se(self) -> float:
        """The standard error of the single term's coefficient."""
        return self._single().se


# ---------------------------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------------------------
def _positions(mask: np.ndarray, limit: int = 5) -> str:
    idx = np.flatnonzero(mask)
    shown = ", ".join(str(int(i)) for i in idx[:limit])
    more = f" and {len(idx) - limit} more" if len(idx) > limit else ""
    return f"{len(idx)} value{'s' if len(idx) != 1 else ''} at position{'s' if len(idx) != 1 else ''} " \
           f"{shown}{more} (0-based)"


def _as_float_array(values: Any, name: str) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        arr = values.astype(float, copy=False)
    else:
        if isinstance(values, np.ndarray) and values.ndim != 1:
            raise StatisticsError(f"Invalid `{name}`: must be one-dimensional, got shape {values.shape}")
        where = f"column `{values.name}`" if isinstance(values, pd.Series) and values.name is not None else None
        arr = numeric_column(values, name, where)
    if arr.ndim != 1:
        raise StatisticsError(f"Invalid `{name}`: must be one-dimensional, got shape {arr.shape}")
    return arr


def _check_time_event(time: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    t = _as_float_array(time, "time")
    e = _as_float_array(event, "event")
    if len(t) != len(e):
        raise StatisticsError(f"`time` has {len(t)} values but `event` has {len(e)}; they must pair up")
    if len(t) == 0:
        raise StatisticsError("No observations: `time` and `event` are empty")
    bad = ~np.isfinite(t)
    if bad.any():
        raise StatisticsError(f"Invalid `time`: {_positions(bad)} missing or not finite; expected times >= 0")
    bad = t < 0
    if bad.any():
        raise StatisticsError(f"Invalid `time`: {_positions(bad)} negative; expected times >= 0")
    bad = ~np.isfinite(e)
    if bad.any():
        raise StatisticsError(
            f"Invalid `event`: {_positions(bad)} missing; expected 0 (censored) or 1 (event)"
        )
    bad = (e != 0) & (e != 1)
    if bad.any():
        raise StatisticsError(
            f"Invalid `event`: {_positions(bad)} not 0 or 1 (first: {float(e[bad][0])!r}); "
            "expected 0 (censored) or 1 (event)"
        )
    return t, e.astype(int)


def _label(x: Any) -> str:
    """A group label as text; integral floats lose their ".0" (pandas reads 1 as 1.0 next to NaN)."""
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return str(int(x))
    if isinstance(x, np.generic):
        x = x.item()
    return str(x)


def _check_group(group: Any, n: int, name: str = "group") -> np.ndarray:
    """Labels as text, one array; factorised so a million rows label only their distinct values."""
    g = group if isinstance(group, (pd.Series, pd.Index)) else pd.Series(
        group if isinstance(group, np.ndarray) else list(group), dtype=object)
    if len(g) != n:
        raise StatisticsError(f"`{name}` has {len(g)} values but `time` has {n}; they must pair up")
    missing = pd.isna(pd.Series(g)).to_numpy()
    if missing.any():
        raise StatisticsError(f"Invalid `{name}`: {_positions(missing)} missing; every patient needs an arm")
    codes, uniques = pd.factorize(pd.Series(g).to_numpy(dtype=object))
    labels = np.array([_label(v) for v in uniques], dtype=object)
    return labels[codes]


def group_labels(group: Iterable[Any], levels: Sequence[Any] | None = None) -> tuple[str, ...]:
    """The arms in order: ``levels`` if given (as text), else sorted (numerically if all numbers)."""
    values = group.to_numpy(dtype=object) if isinstance(group, (pd.Series, pd.Index)) else (
        group if isinstance(group, np.ndarray) else np.asarray(list(group), dtype=object))
    # label the distinct values only (a million rows have two arms)
    present = list(dict.fromkeys(_label(v) for v in pd.unique(values.astype(object))))
    if levels is not None:
        order = [_label(v) for v in levels]
        unknown = sorted(set(present) - set(order))
        if unknown:
            raise StatisticsError(f"Group values {unknown} are not in `levels` {order}")
        return tuple(order)
    try:
        return tuple(sorted(present, key=float))
    except ValueError:
        return tuple(sorted(present))


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise StatisticsError(f"Invalid `conf_level`: {conf_level!r}. Must be between 0 and 1 (e.g. 0.95)")
    return float(special.ndtri(1 - (1 - conf_level) / 2))


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier
# ---------------------------------------------------------------------------------------------
def _band(surv: np.ndarray, se: np.ndarray, conf_type: str, z: float) -> tuple[np.ndarray, np.ndarray]:
    """R's ``survfit_confint`` with ``logse=TRUE``; NaN where R gives NA."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lower = np.exp(np.log(xx) - z * se)
            upper = np.minimum(np.exp(np.log(xx) + z * se), 1.0)
        elif conf_type == "log-log":
            xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
        else:  # plain
            se2 = se * surv * z
            lower = np.maximum(surv - se2, 0.0)
            upper = np.minimum(surv + se2, 1.0)
    return lower, upper


def _opt_tuple(values: np.ndarray) -> tuple[float | None, ...]:
    """Plain floats with None for NaN (R's NA); ``tolist`` keeps a million rows fast."""
    return tuple(None if x != x else x for x in values.tolist())


def kaplan_meier(time: Any, event: Any, conf_type: str = "log", conf_level: float = 0.95) -> KMFit:
    """The Kaplan-Meier estimate with R's pointwise confidence band.

    ``conf_type`` is R's ``conf.type``: ``"log"`` (R's default), ``"log-log"`` (SAS's default)
    or ``"plain"``. Raises :class:`StatisticsError` for negative or missing times and for
    events that are not 0/1, naming how many and where.
    """
    if conf_type not in CONF_TYPES:
        raise StatisticsError(f"Invalid `conf_type` value: {conf_type!r}. Must be one of: {list(CONF_TYPES)}")
    z = _z(conf_level)
    t, e = _check_time_event(time, event)
    utimes, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=e, minlength=len(utimes)).astype(int)
    n_total = np.bincount(inverse, minlength=len(utimes))
    n_censor = n_total - n_event
    n_risk = len(t) - np.concatenate(([0], np.cumsum(n_total)[:-1]))
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - n_event / n_risk)
        term = np.where(n_event == 0, 0.0,
                        np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), np.inf))
    se = np.sqrt(np.cumsum(term))
    lower, upper = _band(surv, se, conf_type, z)
    return KMFit(
        time=tuple(utimes.astype(float).tolist()),
        n_risk=tuple(n_risk.astype(int).tolist()),
        n_event=tuple(n_event.astype(int).tolist()),
        n_censor=tuple(n_censor.astype(int).tolist()),
        survival=tuple(surv.astype(float).tolist()),
        std_err=tuple(se.astype(float).tolist()),
        lower=_opt_tuple(lower),
        upper=_opt_tuple(upper),
        conf_type=conf_type,
        conf_level=float(conf_level),
        n=len(t),
        events=int(e.sum()),
    )


def km_by_group(
    time: Any,
    event: Any,
    group: Any,
    levels: Sequence[Any] | None = None,
    conf_type: str = "log",
    conf_level: float = 0.95,
) -> dict[str, KMFit]:
    """One :func:`kaplan_meier` per arm, keyed by arm label in ``levels`` (or sorted) order."""
    t, e = _check_time_event(time, event)
    g = _check_group(group, len(t))
    out: dict[str, KMFit] = {}
    for label in group_labels(g, levels):
        mask = g == label
        if not mask.any():
            raise StatisticsError(f"Arm {label!r} has no patients")
        out[label] = kaplan_meier(t[mask], e[mask], conf_type, conf_level)
    return out


def _minmin(y: Sequence[float | None], x: Sequence[float]) -> float | None:
    """R's ``survmean`` median search: first x where y <= 0.5, midpoint when y == 0.5 exactly."""
    if len(x) != len(y):
        raise ValueError(f"_minmin: {len(x)} times but {len(y)} values")
    values = np.asarray(y, dtype=float)  # None (not estimable) -> NaN, which is never below
    below = values < 0.5 + _MEDIAN_TOL
    if not below.any():
        return None
    first = int(np.argmax(below))
    x0, y0 = x[first], float(values[first])
    if abs(y0 - 0.5) < _MEDIAN_TOL:
        later = np.flatnonzero(below & (values < y0))  # all after `first`, as below is False before it
        if len(later):
            return (x0 + x[int(later[0])]) / 2
    return x0


def median_survival(fit: KMFit) -> MedianCI:
    """Median survival with Brookmeyer-Crowley limits read off the fit's band, as R.

    The median is the first time S(t) <= 0.5; the lower limit the first time the lower band
    is <= 0.5 and the upper limit the first time the upper band is <= 0.5 (``None``: not
    reached). Where a curve equals 0.5 over an interval, R's midpoint rule applies: the
    middle of that time and the next time the curve drops.
    """
    return MedianCI(
        median=_minmin(fit.survival, fit.time),
        lower=_minmin(fit.lower, fit.time),
        upper=_minmin(fit.upper, fit.time),
    )


def survival_at(fit: KMFit, times: Iterable[float]) -> list[SurvivalAt]:
    """S(t) and its band at landmark ``times``, as ``summary(survfit, times=, extend=TRUE)``.

    Before the first time S = 1 with limits 1 (for every ``conf_type``, as R's summary pads);
    past the last time the last value carries on with 0 at risk. ``n_risk`` counts patients with time >= t.
    """
    ts = _as_float_array(list(times), "times")
    if (~np.isfinite(ts)).any() or (ts < 0).any():
        raise StatisticsError(f"Invalid `times`: {list(ts)}; expected finite landmark times >= 0")
    ftime = np.asarray(fit.time)
    out = []
    for t in ts:
        i = int(np.searchsorted(ftime, t, side="right")) - 1
        later = np.searchsorted(ftime, t, side="left")
        n_risk = fit.n_risk[later] if later < len(ftime) else 0
        if i < 0:
            out.append(SurvivalAt(float(t), 1.0, 1.0, 1.0, int(n_risk)))
        else:
            out.append(SurvivalAt(float(t), fit.survival[i], fit.lower[i], fit.upper[i], int(n_risk)))
    return out


def numbers_at_risk(time: Any, group: Any, times: Iterable[float],
                    levels: Sequence[Any] | None = None) -> dict[str, tuple[int, ...]]:
    """Patients still at risk (time >= t) at each of ``times``, per arm, for a figure's table."""
    t = _as_float_array(time, "time")
    if (~np.isfinite(t)).any() or (t < 0).any():
        raise StatisticsError(f"Invalid `time`: {_positions(~np.isfinite(t) | (t < 0))} missing or negative")
    g = _check_group(group, len(t))
    ts = [float(x) for x in times]
    return {label: tuple(int((t[g == label] >= x).sum()) for x in ts) for label in group_labels(g, levels)}


def median_follow_up(time: Any, event: Any, conf_level: float = 0.95) -> MedianCI:
    """Median follow-up by the reverse Kaplan-Meier method: censoring is the "event".

    Equals R's median of ``survfit(Surv(time, 1 - event) ~ 1)`` with its log CI.
    """
    t, e = _check_time_event(time, event)
    return median_survival(kaplan_meier(t, 1 - e, "log", conf_level))


# ---------------------------------------------------------------------------------------------
# Log-rank test
# ---------------------------------------------------------------------------------------------
def _risk_tables(t: np.ndarray, e: np.ndarray, gcode: np.ndarray, k: int,
                 scode: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Numbers at risk and events per (stratum, distinct event time), one column per group.

    One lexsort; counts by ``np.bincount``; at-risk numbers are reverse cumulative sums within
    each stratum (integers, so exact). Rows without events are dropped.
    """
    s = np.zeros(len(t), dtype=np.int64) if scode is None else scode
    order = np.lexsort((t, s))
    ts, ss, gs, es = t[order], s[order], gcode[order], e[order]
    new = np.ones(len(ts), dtype=bool)
    new[1:] = (ts[1:] != ts[:-1]) | (ss[1:] != ss[:-1])
    gid = np.cumsum(new) - 1
    m = int(gid[-1]) + 1
    total = np.bincount(gid * k + gs, minlength=m * k).reshape(m, k)
    deaths = np.bincount(gid * k + gs, weights=es, minlength=m * k).reshape(m, k)
    # at risk = this group and every later one in the same stratum
    rev = np.cumsum(total[::-1], axis=0)[::-1]
    gstrat = ss[new]
    last = np.flatnonzero(np.r_[gstrat[1:] != gstrat[:-1], True])  # last group of each stratum
    nxt = np.searchsorted(last, np.arange(m), side="left") + 1  # index into `last` of the next stratum
    after = np.zeros((m, k), dtype=total.dtype)
    has_next = nxt < len(last)
    after[has_next] = rev[last[nxt[has_next] - 1] + 1]
    n_risk = rev - after
    keep = deaths.sum(axis=1) > 0
    return n_risk[keep].astype(float), deaths[keep]


def logrank(time: Any, event: Any, group: Any, levels: Sequence[Any] | None = None,
            strata: Any = None) -> LogRank:
    """The log-rank test of k groups, as R's ``survdiff(Surv(time, event) ~ group)``.

    With ``strata`` (one label per patient) it is the stratified test
    ``survdiff(Surv(time, event) ~ group + strata(s))``: observed, expected and variance are
    summed over strata, each with its own risk sets. Groups without expected events are
    dropped from the chi-square, as R does; ``df`` is the number of remaining groups minus 1.
    """
    t, e = _check_time_event(time, event)
    g = _check_group(group, len(t))
    labels = group_labels(g, levels)
    if len(labels) < 2:
        raise StatisticsError(f"The log-rank test needs at least two groups; got {list(labels)}")
    if e.sum() == 0:
        raise StatisticsError("The log-rank test needs at least one event; all observations are censored")
    index = {label: i for i, label in enumerate(labels)}
    gcode = np.array([index[v] for v in pd.unique(g)], dtype=np.int64)[pd.factorize(g)[0]]
    counts = np.bincount(gcode, minlength=len(labels))
    for label, c in zip(labels, counts, strict=True):
        if c == 0:
            raise StatisticsError(f"Group {label!r} has no patients")
    scode = None
    if strata is not None:
        sl = _check_group(strata, len(t), "strata")
        scode = pd.factorize(sl, sort=True)[0].astype(np.int64)
    n, d = _risk_tables(t, e, gcode, len(labels), scode)
    ntot, dtot = n.sum(axis=1), d.sum(axis=1)
    expected = (n * (dtot / ntot)[:, None]).sum(axis=0)
    observed = d.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(ntot > 1, dtot * (ntot - dtot) / (ntot - 1), 0.0) / ntot**2
    # V[j, m] = sum factor * n_j * (ntot * [j == m] - n_m)
    var = np.diag((factor * ntot) @ n) - (n * factor[:, None]).T @ n
    keep = np.flatnonzero(expected > 0)
    if len(keep) < 2:
        chisq, df = 0.0, 0
    else:
        sub = keep[1:]
        diff = (observed - expected)[sub]
        chisq = float(diff @ np.linalg.solve(var[np.ix_(sub, sub)], diff))
        df = len(keep) - 1
    p = float(special.chdtrc(df, chisq)) if df > 0 else 1.0
    return LogRank(
        chisq=chisq,
        df=df,
        p=p,
        groups=tuple(labels),
        n=tuple(int(c) for c in counts),
        observed=tuple(int(x) for x in observed),
        expected=tuple(float(x) for x in expected),
        variance=tuple(tuple(float(x) for x in row) for row in var),
    )


# ---------------------------------------------------------------------------------------------
# Cox proportional hazards of one categorical covariate (Efron ties)
# ---------------------------------------------------------------------------------------------
def cox_ph(
    time: Any,
    event: Any,
    group: Any,
    reference: Any,
    levels: Sequence[Any] | None = None,
    conf_level: float = 0.95,
    strata: Any = None,
) -> CoxResult:
    """Cox hazard ratios of each arm versus ``reference`` (dummy coding), Efron ties, as R.

    With ``strata`` (one label per patient) the model is stratified, as
    ``coxph(Surv(time, event) ~ group + strata(s))``: each stratum has its own baseline hazard.

    The fit is :func:`analysis.stats.cox.cox_model`'s: R's own Newton-Raphson steps and
    stopping rule, so the coefficients are R's to rounding. Hazard-ratio CIs and term P values
    are Wald; the global Wald, score and likelihood-ratio tests are R's.

    Raises :class:`StatisticsError` when the hazard ratio is not estimable: no events, an arm
    without events, or any other monotone likelihood (R's coxph then warns "Loglik converged
    before variable 1; coefficient may be infinite" and prints an absurd HR). Report the
    log-rank test for such data instead.
    """
    from analysis.stats.cox import cox_model

    t, e = _check_time_event(time, event)
    g = _check_group(group, len(t))
    labels = group_labels(g, levels)
    ref = _label(reference)
    if ref not in labels:
        raise StatisticsError(f"Invalid `reference` value: {ref!r}. Must be one of the arms: {list(labels)}")
    others = [label for label in labels if label != ref]
    if not others:
        raise StatisticsError(f"A Cox model needs at least two arms; only {ref!r} is present")
    for label in labels:
        if not (g == label).any():
            raise StatisticsError(f"Arm {label!r} has no patients; drop it from `levels`")
    if e.sum() == 0:
        raise StatisticsError("A Cox model needs events; all observations are censored")
    no_events = [label for label in labels if e[g == label].sum() == 0]
    if no_events:
        raise StatisticsError(
            f"Cox hazard ratio not estimable: arm(s) {no_events} have zero events, so the partial "
            "likelihood has no maximum (R's coxph warns 'coefficient may be infinite'). "
            "Report the log-rank test and medians instead"
        )
    frame = pd.DataFrame({"time": t, "event": e, "group": pd.Categorical(g, categories=[ref, *others])})
    if strata is not None:
        frame["strata"] = _check_group(strata, len(t), "strata")
    model = cox_model(frame, time="time", event="event", terms=["group"], reference={"group": ref},
                      conf_level=conf_level, strata=["strata"] if strata is not None else [])
    terms = tuple(
        CoxTerm(level=str(mt.level), coef=mt.coef, se=mt.se, hr=mt.estimate, lower=mt.lower, upper=mt.upper, p=mt.p)
        for mt in model.terms
    )
    assert model.wald is not None and model.score is not None and model.lr is not None and model.loglik
    return CoxResult(
        reference=ref,
        terms=terms,
        df=len(others),
        wald_chisq=model.wald.statistic,
        wald_p=model.wald.p,
        score_chisq=model.score.statistic,
        score_p=model.score.p,
        lr_chisq=model.lr.statistic,
        lr_p=model.lr.p,
        loglik_null=model.loglik[0],
        loglik=model.loglik[1],
        n=model.n,
        events=int(model.events or 0),
        iterations=int(model.iterations or 0),
        conf_level=float(conf_level),
    )
