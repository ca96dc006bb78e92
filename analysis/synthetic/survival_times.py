"""Small survival helpers for building synthetic time-to-event data with a known summary.

These are the generator's own tools (numpy only): Kaplan-Meier medians, the log-rank test and
the reverse Kaplan-Meier follow-up, plus a routine that scales latent event times so that an
arm's Kaplan-Meier median lands exactly on a printed value. The analysis engine has its own
estimators; tests check the synthetic data with those when they exist.

Conventions: times are in months of 30.4375 days (365.25 / 12); the Kaplan-Meier median is the
first event time at which the survival curve falls to 0.5 or below, and when the curve sits
exactly at 0.5 over an interval the midpoint to the next event time is taken (R's ``survfit``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
from scipy.stats import chi2 as _chi2

__all__ = [
    "DAYS_PER_MONTH",
    "km_curve",
    "km_median",
    "logrank",
    "months_between",
    "reverse_km_median",
    "scale_to_median",
]

DAYS_PER_MONTH = 30.4375


def months_between(start: dt.date, end: dt.date) -> float:
    """Months from ``start`` to ``end`` with 30.4375 days per month."""
    return (end - start).days / DAYS_PER_MONTH


def km_curve(time: Sequence[float], event: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier estimate at each distinct event time: ``(times, survival)``."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    times = np.unique(t[e == 1])
    surv = np.empty(len(times))
    s = 1.0
    for i, u in enumerate(times):
        at_risk = np.count_nonzero(t >= u)
        deaths = np.count_nonzero((t == u) & (e == 1))
        s *= 1.0 - deaths / at_risk
        surv[i] = s
    return times, surv


def km_median(time: Sequence[float], event: Sequence[int], eps: float = 1e-12) -> float:
    """Kaplan-Meier median (R convention); ``nan`` when the curve never reaches 0.5."""
    times, surv = km_curve(time, event)
    below = np.nonzero(surv <= 0.5 + eps)[0]
    if len(below) == 0:
        return float("nan")
    i = below[0]
    if abs(surv[i] - 0.5) <= eps and i + 1 < len(times):
        return float((times[i] + times[i + 1]) / 2)
    return float(times[i])


def km_median_is_strict(time: Sequence[float], event: Sequence[int], eps: float = 1e-9) -> bool:
    """True when the curve steps from above 0.5 to strictly below it (no 0.5 plateau)."""
    _, surv = km_curve(time, event)
    below = np.nonzero(surv <= 0.5 + eps)[0]
    return len(below) > 0 and surv[below[0]] < 0.5 - eps


def reverse_km_median(time: Sequence[float], event: Sequence[int]) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (censorings counted as events)."""
    e = 1 - np.asarray(event, dtype=int)
    return km_median(time, e)


def logrank(time: Sequence[float], event: Sequence[int], group: Sequence[object]) -> tuple[float, float]:
    """Two-group log-rank test: ``(chi2, p)`` with one degree of freedom."""
    t = np.asarray(time, dtype=float)
    e = np.asarray(event, dtype=int)
    g = np.asarray(group)
    levels = sorted(set(g.tolist()))
    if len(levels) != 2:
        raise ValueError(f"logrank needs exactly two groups, got {levels}")
    in_a = g == levels[0]
    obs = exp = var = 0.0
    for u in np.unique(t[e == 1]):
        at_risk = t >= u
        n = np.count_nonzero(at_risk)
        n1 = np.count_nonzero(at_risk & in_a)
        d_all = (t == u) & (e == 1)
        d = np.count_nonzero(d_all)
        d1 = np.count_nonzero(d_all & in_a)
        obs += d1
        exp += d * n1 / n
        if n > 1:
            var += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    stat = (obs - exp) ** 2 / var
    return float(stat), float(_chi2.sf(stat, 1))


def _observed(latent: np.ndarray, censor: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    event = (latent <= censor).astype(int)
    return np.round(np.where(event == 1, latent, censor), digits), event


def scale_to_median(
    latent: np.ndarray,
    censor: np.ndarray,
    target: float,
    offset: np.ndarray | None = None,
    digits: int = 2,
    k_range: tuple[float, float] = (0.6, 1.6),
) -> float | None:
    """A factor ``k`` so that times ``offset + k * latent``, censored at ``censor`` and rounded to
    ``digits`` decimals, have a Kaplan-Meier median of exactly ``target`` (a strict step through
    0.5). Candidates put one patient's time exactly on the target; the one nearest 1 that works
    is returned, or ``None`` when none in ``k_range`` does.
    """
    base = np.zeros_like(latent) if offset is None else offset
    with np.errstate(divide="ignore", invalid="ignore"):
        ks = (target - base) / latent
    ok = np.isfinite(ks) & (ks >= k_range[0]) & (ks <= k_range[1]) & (latent > 0)
    for k in sorted(set(ks[ok].tolist()), key=lambda v: abs(v - 1.0)):
        time, event = _observed(base + k * latent, censor, digits)
        med = km_median(time, event)
        if round(med, digits) == round(target, digits) and km_median_is_strict(time, event):
            return float(k)
    return None
