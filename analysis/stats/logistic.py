"""Logistic regression for a binary outcome, as R's ``glm(family = binomial)``.

:func:`logistic_model` takes the same steps as R's ``glm.fit``: start from
mu = (y + 0.5) / 2, iteratively reweighted least squares, stop when the deviance changes by
less than 1e-8 relatively (``glm.control(epsilon = 1e-8, maxit = 25)``), with R's clamping of
the logit link at |eta| > 30. Standard errors come from the weights of the last IRLS pass, as
``summary.glm`` does, so coef and SE agree with R to rounding. Odds-ratio CIs are Wald
(``confint.default``), P values the Wald z test of ``summary.glm``. statsmodels' ``Logit``
iterates to full convergence and takes its SE from the final weights: its coefficients agree
with R to about 1e-9, its SEs only to about 1e-5 (infert data), which is why this is not
delegated to it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

__all__ = ["logistic_model"]

_EPSILON = 1e-8  # glm.control()$epsilon
_MAX_IT = 25  # glm.control()$maxit
_THRESH = 30.0  # R's binomial logit link clamps eta outside +-30
_DBL_EPS = np.finfo(float).eps


def _linkinv(eta: np.ndarray) -> np.ndarray:
    tmp = np.where(eta < -_THRESH, _DBL_EPS, np.where(eta > _THRESH, 1 / _DBL_EPS, np.exp(np.clip(eta, -_THRESH,
                                                                                                    _THRESH))))
    return tmp / (1 + tmp)


def _mu_eta(eta: np.ndarray) -> np.ndarray:
    ex = np.exp(np.clip(eta, -_THRESH, _THRESH))
    return np.where((eta > _THRESH) | (eta < -_THRESH), _DBL_EPS, ex / (1 + ex) ** 2)


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(y > 0, y * np.log(y / mu), 0.0)
        b = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
    return float(np.sum(2 * (a + b)))


def _irls(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    mu = (y + 0.5) / 2
    eta = np.log(mu / (1 - mu))
    devold = _deviance(y, mu)
    coef = None
    converged = False
    for it in range(1, _MAX_IT + 1):  # noqa: B007 - the count is reported
        mu_eta = _mu_eta(eta)
        var = mu * (1 - mu)
        z = eta + (y - mu) / mu_eta
        w = np.sqrt(mu_eta**2 / var)
        q, r = np.linalg.qr(x * w[:, None])
        if np.any(np.abs(np.diag(r)) < 1e-7 * np.max(np.abs(np.diag(r)))):
            raise StatisticsError("The logistic model's terms are collinear (R's glm would give an NA coefficient)")
        start = np.linalg.solve(r, q.T @ (z * w))
        eta = x @ start
        mu = _linkinv(eta)
        dev = _deviance(y, mu)
        coef = start
        if abs(dev - devold) / (abs(dev) + 0.1) < _EPSILON:
            converged = True
            break
        devold = dev
    r_inv = np.linalg.inv(r)
    return {"coef": coef, "cov": r_inv @ r_inv.T, "deviance": dev, "iterations": it, "converged": converged,
            "mu": mu}


def logistic_model(
    frame: pd.DataFrame,
    *,
    outcome: str,
    terms: Sequence[str],
    reference: Mapping[str, Any] | None = None,
    factors: Sequence[str] = (),
    conf_level: float = 0.95,
) -> RegressionModel:
    """Fit ``glm(outcome ~ terms, family = binomial)`` on ``frame``; odds ratios with Wald CIs.

    ``outcome`` is a 0/1 (or boolean) column. ``terms``, ``reference`` and ``factors`` work
    as in :func:`analysis.stats.cox.cox_model`; rows with a missing value are dropped and
    counted (``n_dropped``). The result's terms carry name, level, coef, se, z, p, estimate
    (the OR, also ``.odds_ratio``), lower, upper; ``lr`` is the likelihood-ratio test against
    the intercept-only model (null minus residual deviance) and ``extra`` holds ``deviance``,
    ``null_deviance`` and ``aic``. Raises :class:`StatisticsError` for a text or non-0/1 outcome,
    collinear terms, and complete separation (an infinite odds ratio).
    """
    design = build_design(frame, terms, reference=reference, factors=factors, also=[outcome],
                          what="logistic model")
    y = numeric_column(design.data[outcome], "outcome", f"column `{outcome}`")
    bad = (y != 0) & (y != 1)
    if bad.any():
        first = row_label(design.data.index, int(np.flatnonzero(bad)[0]))
        raise StatisticsError(
            f"Invalid `outcome` (column `{outcome}`): {int(bad.sum())} value(s) not 0 or 1 (first at row {first!r}: "
            f"{float(y[bad][0])!r}); expected 0 or 1"
        )
    if y.min() == y.max():
        raise StatisticsError(
            f"The outcome `{outcome}` is {int(y[0])} in every row; a logistic model needs both 0 and 1"
        )
    x = np.column_stack([np.ones(len(y)), design.x])
    fit = _irls(x, y)
    if not fit["converged"]:
        raise StatisticsError(f"The logistic model did not converge in {_MAX_IT} iterations (R's glm warns too)")
    mu = fit["mu"]
    if np.any((mu < 10 * _DBL_EPS) | (mu > 1 - 10 * _DBL_EPS)):
        raise StatisticsError(
            "The logistic model separates the outcome completely or quasi-completely (fitted probabilities 0 or 1; "
            "R's glm warns 'fitted probabilities numerically 0 or 1 occurred'): an odds ratio is infinite. "
            "Merge sparse levels or report counts instead"
        )
    coef, se = fit["coef"], np.sqrt(np.diag(fit["cov"]))
    model_terms = wald_terms(design.columns, coef[1:], se[1:], conf_level, "OR")
    null_dev = _deviance(y, np.full(len(y), y.mean()))
    lr = null_dev - fit["deviance"]
    k = x.shape[1] - 1
    # the binomial log-likelihood of 0/1 data is -deviance / 2
    return RegressionModel(
        kind="logistic", measure="OR", terms=model_terms, variables=design.variables, n=len(y), events=int(y.sum()),
        n_dropped=design.n_dropped, lr=ModelTest(lr, k, chi2_sf(lr, k)),
        loglik=(-null_dev / 2, -fit["deviance"] / 2), conf_level=conf_level, iterations=fit["iterations"],
        extra={"deviance": fit["deviance"], "null_deviance": null_dev, "aic": fit["deviance"] + 2 * x.shape[1],
               "intercept": float(coef[0]), "intercept_se": float(se[0])},
    )
