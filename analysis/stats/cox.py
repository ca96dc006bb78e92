"""Cox proportional-hazards regression as R's ``coxph``, and its PH test as ``cox.zph``.

- :func:`cox_model` fits ``coxph(Surv(time, event) ~ terms + strata(...), ties=...)`` on a
  frame: numeric and factor terms (treatment contrasts, reference level choosable),
  interactions (``"arm:sub"``), strata, Efron (R's default) or Breslow ties. It returns a
  :class:`~analysis.stats.regression.RegressionModel` with per-term HR, Wald CI and P and the
  Wald, likelihood-ratio and score tests of ``summary(coxph)``.
- :func:`cox_zph` is ``cox.zph(fit)`` (survival >= 3, ``transform = "km"``): the score test of
  coef * g(t) for each term and globally.

The fit follows R's ``coxfit6`` iteration exactly: Newton-Raphson from beta = 0, stopping at
the first new beta whose log partial likelihood differs from the previous one by at most
1e-9 relatively (``coxph.control(eps = 1e-9)``), halving a step that lowers the likelihood,
at most 20 iterations. Taking the same steps, it lands on the same beta as R (to rounding),
not merely near it. As R, it then checks whether one more Newton step would still move a
coefficient (``toler.inf``): if so the likelihood is monotone (a coefficient is infinite),
which R only warns about; here it is an error.

Everything is vectorised: one sort per fit; per iteration, sums over tied-time groups with
``np.add.reduceat`` and risk-set sums as cumulative sums within strata; Efron's tie
correction expands each death group into its deaths (O(deaths), no Python loop).
lifelines' ``CoxPHFitter`` (also Efron) agrees with R to about 1e-6 only, as it stops on a
looser criterion, and has no ``cox.zph`` equivalent with R's km transform.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import StatisticsError
from analysis.stats.regression import (
    ModelTest,
    RegressionModel,
    build_design,
    chi2_sf,
    numeric_column,
    row_label,
    wald_terms,
)

__all__ = ["TIES", "PHTermTest", "PHTest", "cox_model", "cox_zph"]

#: Tie-handling methods, named as R's ``ties``.
TIES = ("efron", "breslow")
_EPS = 1e-9  # coxph.control()$eps
_TOLER_INF = math.sqrt(_EPS)  # coxph.control()$toler.inf
_TOLER_CHOL = np.finfo(float).eps ** 0.75  # coxph.control()$toler.chol
_MAX_ITER = 20  # coxph.control()$iter.max


@dataclass(frozen=True)
class PHTermTest:
    """The proportional-hazards test of one term (``cox.zph(fit)$table`` row)."""

    name: str
    chisq: float
    df: int
    p: float


@dataclass(frozen=True)
class PHTest:
    """``cox.zph``: one :class:`PHTermTest` per term and the ``GLOBAL`` test."""

    terms: tuple[PHTermTest, ...]
    global_test: ModelTest
    transform: str = "km"

    def term(self, name: str) -> PHTermTest:
        """The test of the term called ``name``."""
        for t in self.terms:
            if t.name == name:
                return t
        raise StatisticsError(f"Unknown term {name!r}; terms: {[t.name for t in self.terms]}")


class _CoxLikelihood:
    """Log partial likelihood, score and information of a (stratified) Cox model."""

    def __init__(self, t: np.ndarray, e: np.ndarray, x: np.ndarray, strata: np.ndarray, ties: str) -> None:
        # stratum ascending, time descending: a cumulative sum within a stratum up to the last
        # row of a tied-time group is the sum over that group's risk set {time >= t}
        order = np.lexsort((-t, strata))
        self.t, self.e, self.s = t[order], e[order], strata[order]
        self.x = x[order] - x.mean(axis=0)  # centring changes nothing but the rounding, as R
        n, p = self.x.shape
        new = np.ones(n, dtype=bool)
        new[1:] = (self.t[1:] != self.t[:-1]) | (self.s[1:] != self.s[:-1])
        starts = np.flatnonzero(new)
        ends = np.r_[starts[1:], n] - 1
        deaths = np.add.reduceat(self.e, starts)
        dg = np.flatnonzero(deaths > 0)
        self.deaths = deaths[dg].astype(int)
        self.end = ends[dg]  # last row of each death group
        # the row just before each death group's stratum starts (-1: none)
        sstart = np.flatnonzero(np.r_[True, self.s[1:] != self.s[:-1]])
        self.before = sstart[np.searchsorted(sstart, self.end, side="right") - 1] - 1
        self.drows = np.flatnonzero(self.e == 1)
        self.dstarts = np.r_[0, np.cumsum(self.deaths)[:-1]]
        d = self.deaths
        self.expand = np.repeat(np.arange(len(d)), d)
        r = np.arange(len(self.expand)) - np.repeat(self.dstarts, d)
        self.frac = r / np.repeat(d, d) if ties == "efron" else np.zeros(len(self.expand))
        self.xd = np.add.reduceat(self.x[self.drows], self.dstarts, axis=0)
        self.group_time = self.t[self.end]
        self.tri = np.triu_indices(p)  # second moments: the upper triangle only

    def _risk(self, rows: np.ndarray) -> np.ndarray:
        """Risk-set sums at each death group from per-row values (cumulative sums within strata)."""
        cum = np.cumsum(rows, axis=0)
        out = cum[self.end]
        has = self.before >= 0
        out[has] -= cum[self.before[has]]
        return out

    def _full(self, tri: np.ndarray) -> np.ndarray:
        """(groups, p(p+1)/2) upper triangles -> (groups, p, p) symmetric matrices."""
        p = self.x.shape[1]
        out = np.empty((tri.shape[0], p, p))
        out[:, self.tri[0], self.tri[1]] = tri
        out[:, self.tri[1], self.tri[0]] = tri
        return out

    def __call__(self, beta: np.ndarray, per_group: bool = False) -> tuple[Any, ...]:
        x = self.x
        eta = x @ beta
        w = np.exp(eta)
        wx = w[:, None] * x
        wxx = wx[:, self.tri[0]] * x[:, self.tri[1]]
        s0, s1, s2 = self._risk(w), self._risk(wx), self._risk(wxx)
        dr, ds = self.drows, self.dstarts
        d0 = np.add.reduceat(w[dr], ds)
        d1 = np.add.reduceat(wx[dr], ds, axis=0)
        d2 = np.add.reduceat(wxx[dr], ds, axis=0)
        g, f = self.expand, self.frac
        den = s0[g] - f * d0[g]
        a = (s1[g] - f[:, None] * d1[g]) / den[:, None]
        ll = float(np.sum(eta[dr]) - np.sum(np.log(den)))
        m = len(self.deaths)
        c0 = np.bincount(g, weights=1.0 / den, minlength=m)
        c1 = np.bincount(g, weights=f / den, minlength=m)
        if per_group:
            ua = np.add.reduceat(a, ds, axis=0)
            aa = np.add.reduceat(a[:, :, None] * a[:, None, :], ds, axis=0)
            v = self._full(c0[:, None] * s2 - c1[:, None] * d2) - aa
            return self.xd - ua, v
        u = self.xd.sum(axis=0) - a.sum(axis=0)
        info = self._full((c0 @ s2 - c1 @ d2)[None, :])[0] - a.T @ a
        return ll, u, info


def _solve(info: np.ndarray, u: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """info^-1 u, refusing a singular information matrix (collinear terms) as R's cholesky2 would flag."""
    diag = np.diag(info)
    try:
        chol = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        chol = None
    if chol is None or np.any(np.diag(chol) ** 2 <= _TOLER_CHOL * np.maximum(diag, 1e-300)):
        raise StatisticsError(
            f"The Cox model's information matrix is singular: the terms {list(names)} are collinear or a "
            "factor level has no variation (R's coxph would return NA for a coefficient). Drop or merge terms"
        )
    return np.linalg.solve(info, u)


def _newton(lik: _CoxLikelihood, p: int, names: Sequence[str]) -> dict[str, Any]:
    """R's coxfit6 iteration: the same steps, the same stopping rule."""
    beta = np.zeros(p)
    ll0, u, info = lik(beta)
    step = _solve(info, u, names)
    score = float(u @ step)
    prev = ll0
    newbeta = beta + step
    halving = False
    converged = False
    for it in range(1, _MAX_ITER + 1):
        newlk, u, info = lik(newbeta)
        if not np.isfinite(newlk):
            newlk = -np.inf
        if not halving and np.isfinite(newlk) and abs(1 - prev / newlk) <= _EPS:
            converged = True
            break
        if it == _MAX_ITER:
            break
        if newlk < prev:
            halving = True
            newbeta = (newbeta + beta) / 2
        else:
            halving = False
            prev = newlk
            step = _solve(info, u, names)
            beta = newbeta
            newbeta = newbeta + step
    return {"beta": newbeta, "loglik": newlk, "u": u, "info": info, "loglik0": ll0, "score": score,
            "iterations": it, "converged": converged}


def _strata_codes(data: pd.DataFrame, strata: Sequence[str]) -> np.ndarray:
    if not strata:
        return np.zeros(len(data), dtype=np.int64)
    keys = data[list(strata)].astype(str).agg("\x1f".join, axis=1) if len(strata) > 1 else data[strata[0]]
    codes, _ = pd.factorize(keys, sort=True)
    return codes.astype(np.int64)


def _time_event(data: pd.DataFrame, time: str, event: str) -> tuple[np.ndarray, np.ndarray]:
    t = numeric_column(data[time], "time", f"column `{time}`")
    e = numeric_column(data[event], "event", f"column `{event}`")
    bad = ~np.isfinite(t) | (t < 0)
    if bad.any():
        first = row_label(data.index, int(np.flatnonzero(bad)[0]))
        raise StatisticsError(
            f"Invalid `time` (column `{time}`): {int(bad.sum())} value(s) negative or infinite (first at row "
            f"{first!r}: {float(t[bad][0])!r}); expected times >= 0"
        )
    bad = (e != 0) & (e != 1)
    if bad.any():
        first = row_label(data.index, int(np.flatnonzero(bad)[0]))
        raise StatisticsError(
            f"Invalid `event` (column `{event}`): {int(bad.sum())} value(s) not 0 or 1 (first at row {first!r}: "
            f"{float(e[bad][0])!r}); expected 0 (censored) or 1 (event)"
        )
    return t, e


def cox_model(
    frame: pd.DataFrame,
    *,
    time: str,
    event: str,
    terms: Sequence[str],
    strata: Sequence[str] = (),
    ties: str = "efron",
    reference: Mapping[str, Any] | None = None,
    factors: Sequence[str] = (),
    conf_level: float = 0.95,
) -> RegressionModel:
    """Fit ``coxph(Surv(time, event) ~ terms + strata(strata), ties = ties)`` on ``frame``.

    ``terms`` are column names (``"a:b"`` for an interaction). Text, boolean and categorical
    columns, and those named in ``factors`` or ``reference``, are factors with treatment
    contrasts; ``reference={"celltype": "large"}`` picks a reference level (default: the first
    level, in category order for a pandas Categorical, else sorted). Rows with a missing value
    in any column used are dropped (``n_dropped``), as R's ``na.omit``.

    Returns a :class:`~analysis.stats.regression.RegressionModel` whose ``terms`` carry name,
    level, coef, se, z, p, hr (= estimate), lower, upper; ``wald``, ``lr`` and ``score`` are the
    global tests; ``loglik`` is (null, fitted). Raises :class:`StatisticsError` for text times
    or events, negative times, events not 0/1, no events, collinear terms and a monotone
    likelihood (an infinite coefficient, e.g. a level with no events).
    """
    if ties not in TIES:
        raise StatisticsError(f"Invalid `ties` value: {ties!r}. Must be one of: {list(TIES)}")
    strata = [strata] if isinstance(strata, str) else list(strata)
    if not terms:
        raise StatisticsError("A Cox model needs at least one term; for no covariates use the log-rank test")
    design = build_design(frame, terms, reference=reference, factors=factors, also=[time, event, *strata],
                          what="Cox model")
    t, e = _time_event(design.data, time, event)
    if e.sum() == 0:
        raise StatisticsError("A Cox model needs events; all observations are censored")
    x = design.x
    names = [n if lev is None else f"{n}={lev}" for n, lev in design.columns]
    if x.shape[1] == 0:
        raise StatisticsError(f"The Cox model's terms {list(terms)} give no columns (a factor with one level?)")
    lik = _CoxLikelihood(t, e, x, _strata_codes(design.data, strata), ties)
    fit = _newton(lik, x.shape[1], names)
    beta, info = fit["beta"], fit["info"]
    if not fit["converged"]:
        raise StatisticsError(
            f"The Cox model did not converge in {_MAX_ITER} iterations (coefficients {np.round(beta, 3).tolist()}); "
            "R's coxph warns 'Ran out of iterations and did not converge'"
        )
    var = np.linalg.inv(info)
    infinite = np.abs(fit["u"] @ var)
    infinite = (infinite > _EPS) & (infinite > _TOLER_INF * np.abs(beta))
    if infinite.any():
        bad = [names[i] for i in np.flatnonzero(infinite)]
        raise StatisticsError(
            f"Cox hazard ratio not estimable for {bad}: the partial likelihood keeps rising as the coefficient "
            f"grows (monotone likelihood; coefficients reached {np.round(beta, 1).tolist()}). This happens when "
            "one group's events all precede or follow the other's, or a level has no events; R's coxph warns "
            "'coefficient may be infinite'. Report the log-rank test instead"
        )
    se = np.sqrt(np.diag(var))
    model_terms = wald_terms(design.columns, beta, se, conf_level, "HR")
    p = x.shape[1]
    wald = float(beta @ info @ beta)
    lr = 2 * (fit["loglik"] - fit["loglik0"])
    return RegressionModel(
        kind="cox", measure="HR", terms=model_terms, variables=design.variables, n=len(t), events=int(e.sum()),
        n_dropped=design.n_dropped, wald=ModelTest(wald, p, chi2_sf(wald, p)), lr=ModelTest(lr, p, chi2_sf(lr, p)),
        score=ModelTest(fit["score"], p, chi2_sf(fit["score"], p)), loglik=(fit["loglik0"], fit["loglik"]),
        conf_level=conf_level, ties=ties, strata=tuple(strata), iterations=fit["iterations"],
        fit=_ZphState(lik, beta, info, t, e, design.columns),
    )


@dataclass(frozen=True)
class _ZphState:
    lik: _CoxLikelihood
    beta: np.ndarray
    info: np.ndarray
    t: np.ndarray
    e: np.ndarray
    columns: tuple[tuple[str, str | None], ...]


def _km_left(t: np.ndarray, e: np.ndarray, at: np.ndarray) -> np.ndarray:
    """1 - S(at-) of the pooled Kaplan-Meier curve (cox.zph's "km" transform)."""
    utimes, inverse = np.unique(t, return_inverse=True)
    n_event = np.bincount(inverse, weights=e, minlength=len(utimes))
    n_total = np.bincount(inverse, minlength=len(utimes))
    n_risk = len(t) - np.concatenate(([0], np.cumsum(n_total)[:-1]))
    surv = np.cumprod(1.0 - n_event / n_risk)
    idx = np.searchsorted(utimes, at, side="left")  # times strictly before `at`
    return 1.0 - np.concatenate(([1.0], surv))[idx]


def cox_zph(model: RegressionModel) -> PHTest:
    """The proportional-hazards test of ``cox.zph(fit)`` (survival >= 3, transform "km").

    For each term, the score test that adding coef * g(t) (g = 1 - KM(t-), centred over the
    events) does not improve the fit, with the model's coefficients held in the test's
    information matrix as R does; factor terms are tested on all their levels together
    (df = levels - 1); ``global_test`` tests every term at once.
    """
    state = model.fit
    if not isinstance(state, _ZphState):
        raise StatisticsError("cox_zph needs a model fitted by analysis.stats.cox_model (it reuses the fit's data)")
    lik = state.lik
    ug, vg = lik(state.beta, per_group=True)
    d = lik.deaths
    g = _km_left(state.t, state.e, lik.group_time)
    g = g - np.sum(g * d) / np.sum(d)  # centred over the events (each death counts once)
    p = len(state.beta)
    vsum = vg.sum(axis=0)
    gv = np.einsum("g,gij->ij", g, vg)
    g2v = np.einsum("g,gij->ij", g * g, vg)
    imat = np.block([[vsum, gv], [gv, g2v]])
    u_gamma = g @ ug
    groups: dict[str, list[int]] = {}
    for i, (name, _) in enumerate(state.columns):
        groups.setdefault(name, []).append(i)

    def test(cols: list[int]) -> float:
        kk = list(range(p)) + [p + j for j in cols]
        u = np.concatenate([np.zeros(p), u_gamma[cols]])
        return float(np.linalg.solve(imat[np.ix_(kk, kk)], u) @ u)

    terms = tuple(PHTermTest(name, (chisq := test(cols)), len(cols), chi2_sf(chisq, len(cols)))
                  for name, cols in groups.items())
    total = test(list(range(p)))
    return PHTest(terms, ModelTest(total, p, chi2_sf(total, p)))
