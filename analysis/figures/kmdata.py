"""Kaplan-Meier figure data: the curves and panels a KM figure draws, as plain numbers.

The analysis turns each :class:`~analysis.stats.survival.KMFit` into a :class:`KMCurve` with
:func:`km_curve_data` and gathers a panel's curves, tests and labels in a :class:`KMPanel`;
:mod:`analysis.figures.km` draws them. Nothing here imports matplotlib, so an analysis can
build its panels without it and hand them to the figure worker
(:mod:`analysis.figureworker`) to draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analysis.errors import StatisticsError
from analysis.formatting import Style, fmt_median_ci, fmt_p_phrase, fmt_ratio_ci
from analysis.stats.estimates import MedianCI

if TYPE_CHECKING:
    from analysis.stats.survival import KMFit

__all__ = ["KMCurve", "KMPanel", "annotation_lines", "at_risk_at", "check_panels", "km_curve_data", "nice_ticks"]

#: Tick steps tried in order (months first: 3, 6, 12 ... are what readers expect).
_TICK_STEPS = (1, 2, 3, 6, 12, 24, 36, 48, 60, 120, 240, 365, 500, 1000)


@dataclass(frozen=True)
class KMCurve:
    """One arm's curve as plain data, in the figure's time unit.

    ``step_time``/``step_surv`` start at (0, 1) and hold S(t) from each time on (right-continuous
    steps); ``censor_time``/``censor_surv`` place the censoring marks; ``risk_time``/``risk_n``
    are the fit's distinct times and numbers at risk, from which the at-risk table is read.
    """

    label: str
    step_time: tuple[float, ...]
    step_surv: tuple[float, ...]
    censor_time: tuple[float, ...] = ()
    censor_surv: tuple[float, ...] = ()
    risk_time: tuple[float, ...] = ()
    risk_n: tuple[int, ...] = ()
    median: MedianCI | None = None

    def __post_init__(self) -> None:
        if len(self.step_time) != len(self.step_surv) or not self.step_time:
            raise StatisticsError(
                f"Curve {self.label!r}: `step_time` ({len(self.step_time)}) and `step_surv` "
                f"({len(self.step_surv)}) must be non-empty and of equal length"
            )
        if len(self.censor_time) != len(self.censor_surv):
            raise StatisticsError(f"Curve {self.label!r}: `censor_time` and `censor_surv` must pair up")
        if len(self.risk_time) != len(self.risk_n):
            raise StatisticsError(f"Curve {self.label!r}: `risk_time` and `risk_n` must pair up")
        bad = [s for s in self.step_surv if not 0 <= s <= 1]
        if bad:
            raise StatisticsError(f"Curve {self.label!r}: survival {bad[0]!r} outside [0, 1]")

    @property
    def last_time(self) -> float:
        """The last time the curve, its censoring marks or its risk data reach."""
        return max(self.step_time[-1], *(self.censor_time or (0.0,)), *(self.risk_time or (0.0,)))


@dataclass(frozen=True)
class KMPanel:
    """What one panel shows: curves, tests and labels (all numbers already computed).

    ``hr`` is (estimate, lower, upper) and ``hr_label`` names the comparison
    (e.g. "HR (95% CI), placebo vs 6-MP"); ``logrank_p`` is the log-rank P. ``xticks`` overrides
    the automatic ticks (:func:`nice_ticks`); the numbers at risk are printed under them.
    ``median_digits`` are the decimals of the medians in the key; ``risk_title`` heads the
    numbers-at-risk table and ``risk_labels`` name its rows (default: the curve labels).
    """

    curves: tuple[KMCurve, ...]
    title: str | None = None
    logrank_p: float | None = None
    hr: tuple[float, float, float] | None = None
    hr_label: str = "HR (95% CI)"
    xlabel: str = "Months"
    ylabel: str = "Survival probability"
    xticks: tuple[float, ...] | None = None
    median_digits: int = 1
    show_medians: bool = True
    style: Style = field(default_factory=Style)
    risk_title: str = "No. at risk"
    risk_labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.risk_labels is not None and len(self.risk_labels) != len(self.curves):
            raise StatisticsError(
                f"Invalid `risk_labels` {list(self.risk_labels)!r}: expected one label per curve "
                f"({len(self.curves)}: {[c.label for c in self.curves]})"
            )


def km_curve_data(fit: KMFit, label: str, time_scale: float = 1.0) -> KMCurve:
    """Turn a Kaplan-Meier fit into plain curve data; times are divided by ``time_scale``.

    E.g. ``time_scale=30.4375`` turns days into months. The median (with its CI) is taken from
    :func:`~analysis.stats.survival.median_survival` and scaled the same way.
    """
    from analysis.stats.survival import median_survival

    if not time_scale > 0:
        raise StatisticsError(f"Invalid `time_scale`: {time_scale!r}. Must be > 0 (e.g. 30.4375 for days)")
    times = [t / time_scale for t in fit.time]
    m = median_survival(fit)

    def scaled(x: float | None) -> float | None:
        return None if x is None else x / time_scale

    censored = [i for i, c in enumerate(fit.n_censor) if c > 0]
    return KMCurve(
        label=str(label),
        step_time=(0.0, *times),
        step_surv=(1.0, *fit.survival),
        censor_time=tuple(times[i] for i in censored),
        censor_surv=tuple(fit.survival[i] for i in censored),
        risk_time=tuple(times),
        risk_n=tuple(fit.n_risk),
        median=MedianCI(scaled(m.median), scaled(m.lower), scaled(m.upper)),
    )


def at_risk_at(curve: KMCurve, times: Sequence[float]) -> tuple[int, ...]:
    """Numbers at risk (time >= t) read from a curve's risk data, as the figure prints them."""
    rt = np.asarray(curve.risk_time, dtype=float)
    out = []
    for t in times:
        i = int(np.searchsorted(rt, t, side="left"))
        out.append(int(curve.risk_n[i]) if i < len(rt) else 0)
    return tuple(out)


def nice_ticks(last_time: float, max_intervals: int = 8) -> tuple[float, ...]:
    """Ticks from 0 in a readable step (1, 2, 3, 6, 12, 24 ...) covering ``last_time``."""
    if not last_time > 0:
        return (0.0, 1.0)
    step = next((s for s in _TICK_STEPS if last_time / s <= max_intervals), None)
    if step is None:
        step = 10 ** math.ceil(math.log10(last_time / max_intervals))
    n = math.ceil(last_time / step - 1e-9)
    return tuple(float(i * step) for i in range(n + 1))


def _p_text(p: float) -> str:
    return fmt_p_phrase(p)


def annotation_lines(panel: KMPanel) -> list[str]:
    """The annotation text, one line per arm median then HR and P (all via analysis.formatting)."""
    st = panel.style
    lines: list[str] = []
    if panel.show_medians and any(c.median is not None for c in panel.curves):
        lines.append("Median (95% CI)")
        for c in panel.curves:
            m = c.median or MedianCI(None, None, None)
            lines.append(f"{c.label}: {fmt_median_ci(m.median, m.lower, m.upper, panel.median_digits, st)}")
    if panel.hr is not None:
        est, lo, hi = panel.hr
        lines.append(f"{panel.hr_label}: {fmt_ratio_ci(est, lo, hi, st.ratio_digits, st)}")
    if panel.logrank_p is not None:
        # with more than two curves the test compares all of them at once: say so
        groups = f" ({len(panel.curves)} groups)" if len(panel.curves) > 2 else ""
        lines.append(f"Log-rank {_p_text(panel.logrank_p)}{groups}")
    return lines


def check_panels(panels: Sequence[KMPanel]) -> None:
    """Raise :class:`~analysis.errors.StatisticsError` unless there is at least one panel and
    every panel has curves (checked before a figure is handed over to be drawn)."""
    if not panels:
        raise StatisticsError("`panels` is empty; give at least one KMPanel")
    for p in panels:
        if not p.curves:
            raise StatisticsError(f"Panel {p.title!r} has no curves")
