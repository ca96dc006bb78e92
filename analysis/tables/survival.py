"""Survival summary: Kaplan-Meier medians, events, landmarks, log-rank and Cox per arm.

One builder serves every study: it computes with :mod:`analysis.stats.survival`, stores
each value under ``<prefix>.*`` keys (so prose and table cite the same numbers), and returns
both the table and the fitted curves for the Kaplan-Meier figure.

Keys (``<arm>`` is the arm code):

* ``<prefix>.n.<arm>``, ``<prefix>.events.<arm>``: patients and events;
* ``<prefix>.median.<arm>`` (months as a number, or the text "NR" when not reached) and
  ``<prefix>.median_ci.<arm>`` (median with its confidence interval);
* ``<prefix>.landmark.<label>.<arm>``: survival proportion at a landmark, printed as a
  percentage, and ``<prefix>.landmark.<label>.time``;
* ``<prefix>.logrank.chisq``, ``.df``, ``.p``;
* ``<prefix>.hr.<arm>`` (hazard ratio with CI against the reference arm) and
  ``<prefix>.hr_p.<arm>`` (its Wald P).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from analysis.errors import DataValidationError, StatisticsError
from analysis.formatting import fmt_p_phrase
from analysis.results import ResultsStore
from analysis.stats.survival import (
    CoxResult,
    KMFit,
    LogRank,
    cox_ph,
    kaplan_meier,
    logrank,
    median_survival,
    survival_at,
)
from analysis.study import Arm
from analysis.tables.model import Cell, CellBinder, Column, Row, Table, key_segment

__all__ = ["SurvivalSummary", "tbl_survival"]


@dataclass(frozen=True)
class SurvivalSummary:
    """What :func:`tbl_survival` computed: the table, a curve per arm and the tests.

    ``label`` names the endpoint (the figure panel's default title); ``digits`` and
    ``time_unit`` are those of the stored medians, so the figure prints them as the prose does.
    """

    table: Table
    fits: dict[str, KMFit]
    logrank: LogRank
    cox: CoxResult | None
    arms: tuple[Arm, ...] = ()
    label: str | None = None
    digits: int = 2
    time_unit: str = "months"

    def labelled(self, label: str) -> SurvivalSummary:
        """The same summary naming its endpoint ``label``."""
        return replace(self, label=label)

    def km_panel(
        self,
        title: str | None = None,
        xlabel: str | None = None,
        hr_arm: str | None = None,
        xticks: Sequence[float] | None = None,
        style: Any = None,
        *,
        ylabel: str = "Survival probability",
        median_digits: int | None = None,
        risk_labels: Sequence[str] | None = None,
        risk_title: str = "No. at risk",
        show_medians: bool = True,
    ) -> Any:
        """The Kaplan-Meier figure panel of these curves and tests (plain data, no new statistics).

        ``title`` defaults to the endpoint's label, ``xlabel`` to the time unit ("Months");
        ``xticks`` are the time breaks (also the at-risk columns); ``median_digits`` default to
        the digits of the stored medians, so figure and prose agree; ``risk_labels`` name the
        at-risk rows (default: the arms' short names); ``hr_arm`` picks the hazard ratio to
        annotate (default: the first arm against the reference).
        """
        from analysis.figures.kmdata import KMPanel, km_curve_data

        curves = tuple(km_curve_data(self.fits[a.code], a.name) for a in self.arms)
        hr = None
        hr_label = "HR"
        if self.cox is not None and len(self.arms) == 2:
            arm = hr_arm or next(a.code for a in self.arms if a.code != self.cox.reference)
            term = self.cox.term(arm)
            hr = (term.hr, term.lower, term.upper)
            other = next(a for a in self.arms if a.code == self.cox.reference)
            hr_label = f"HR, {next(a.name for a in self.arms if a.code == arm)} vs {other.name}"
        kwargs: dict[str, Any] = {"style": style} if style is not None else {}
        return KMPanel(curves, title=title if title is not None else self.label, logrank_p=self.logrank.p, hr=hr,
                       hr_label=hr_label, xlabel=xlabel or self.time_unit.capitalize(), ylabel=ylabel,
                       xticks=tuple(float(x) for x in xticks) if xticks else None,
                       median_digits=self.digits if median_digits is None else median_digits,
                       show_medians=show_medians, risk_title=risk_title,
                       risk_labels=tuple(risk_labels) if risk_labels is not None else None, **kwargs)


def tbl_survival(
    frame: pd.DataFrame,
    *,
    time: str,
    event: str,
    arm_column: str,
    arms: Sequence[Arm],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    reference: str | None = None,
    landmarks: Sequence[tuple[str, float, str]] = (),
    conf_type: str = "log",
    time_unit: str = "months",
    inputs: Sequence[str] = (),
    digits: int = 2,
    stub_header: str = "Arm",
    landmark_noun: str = "survival",
    pairwise: bool = False,
    strata: Sequence[str] = (),
) -> SurvivalSummary:
    """Summarise one time-to-event endpoint by arm.

    ``landmarks`` are ``(label, time, header)`` triples, e.g. ``("y3", 36, "3-year")``, headed
    "3-year <landmark_noun>, %"; ``reference`` is the arm the hazard ratios compare against
    (default: the last arm); ``stub_header`` heads the first column.
    ``strata`` (column names, e.g. the randomisation strata) make the log-rank test and the
    Cox model stratified, as R's ``survdiff``/``coxph`` with ``strata()``; the Kaplan-Meier
    curves and medians stay per arm. Patients with a stratum missing are refused.

    With more than two arms a single log-rank P compares them all, which a reader of one row
    may take for that row's comparison. ``pairwise=True`` instead gives each arm's row the
    log-rank P of that arm against the reference (``<prefix>.logrank_vs_ref.<arm>``, stratified
    like the overall test), headed so, and states the overall test in a note; either way the
    column names its test.
    """
    codes = [a.code for a in arms]
    data = frame[frame[arm_column].isin(codes)]
    t = data[time].to_numpy(dtype=float)
    e = data[event].to_numpy(dtype=int)
    g = data[arm_column].astype(str).to_numpy()
    ref = reference or codes[-1]
    file = inputs[0] if inputs else "data frame"
    for arm in arms:
        if not (g == str(arm.code)).any():
            raise DataValidationError(file, f"no patient is in {arm.name!r}", column=arm_column, value=arm.code,
                                      expected="at least one row with each arm code declared in study.yaml")
    if len(e) and not e.any():
        raise DataValidationError(
            file, "every record is censored, so survival cannot be estimated or compared", column=event,
            value=0, expected=f"at least one event (1) in `{event}`")
    bind = CellBinder(store, prefix, table_id, inputs)
    km_test = f"Kaplan-Meier median, Brookmeyer-Crowley CI ({conf_type} scale)"

    columns = [Column("n", "Patients"), Column("events", "Events"),
               Column("median", f"Median, {time_unit} (95% CI)")]
    columns += [Column(f"lm_{label}", f"{header} {landmark_noun}, %") for label, _, header in landmarks]
    ref_name = next((a.name for a in arms if a.code == (reference or codes[-1])), None)
    p_header = f"Log-rank P vs {ref_name}" if pairwise and len(codes) > 2 else "Log-rank P"
    columns += [Column("hr", "Hazard ratio (95% CI)"), Column("p", p_header)]
    table = Table(table_id, caption, stub_header=stub_header, columns=columns)

    fits: dict[str, KMFit] = {}
    for label, when, _ in landmarks:
        bind.cell(["landmark", label, "time"], float(when), "num", digits=0, test="landmark time")
    strata = [strata] if isinstance(strata, str) else list(strata)
    s = None
    if strata:
        missing = [c for c in strata if c not in data.columns]
        if missing:
            raise StatisticsError(f"Invalid `strata`: column(s) {missing} not in the data")
        s = data[strata[0]] if len(strata) == 1 else data[strata].astype(str).agg(" / ".join, axis=1)
    stratified = f", stratified by {', '.join(strata)}" if strata else ""
    test = logrank(t, e, g, levels=codes, strata=s)
    cox, cox_note = None, None
    if len(codes) > 1:
        try:
            cox = cox_ph(t, e, g, reference=ref, levels=codes, strata=s)
        except StatisticsError as exc:  # e.g. an arm without events: the hazard ratio is infinite
            cox_note = f"Hazard ratio not estimable: {exc}"
    for i, arm in enumerate(arms):
        seg = key_segment(arm.code)
        mask = g == arm.code
        fit = kaplan_meier(t[mask], e[mask], conf_type=conf_type)
        fits[arm.code] = fit
        med = median_survival(fit)
        cells: dict[str, Cell] = {
            "n": bind.cell(["n", seg], fit.n, "int", test="count", where=f"{arm.name}/Patients"),
            "events": bind.cell(["events", seg], fit.events, "int", test="count of events",
                                where=f"{arm.name}/Events"),
        }
        if med.median is None:
            bind.cell(["median", seg], "NR", "text", test=km_test)
        else:
            bind.cell(["median", seg], med.median, "num", digits=digits, test=km_test)
        cells["median"] = bind.cell(
            ["median_ci", seg], {"median": med.median, "lower": med.lower, "upper": med.upper},
            "median_ci", digits=digits, test=km_test, where=f"{arm.name}/Median",
        )
        for (label, when, _), at in zip(landmarks, survival_at(fit, [w for _, w, _ in landmarks]), strict=True):
            cells[f"lm_{label}"] = bind.cell(
                ["landmark", label, seg], at.surv, "pct", test=f"Kaplan-Meier survival at {when:g} {time_unit}",
                where=f"{arm.name}/{label}",
            )
        if cox is None and cox_note is not None:
            cells["hr"] = Cell("–", "text")
        if cox is not None:
            if arm.code == ref:
                cells["hr"] = Cell("Reference", "text")
            else:
                term = cox.term(arm.code)
                cells["hr"] = bind.cell(
                    ["hr", seg], {"estimate": term.hr, "lower": term.lower, "upper": term.upper}, "ratio_ci",
                    test=f"Cox proportional hazards (Efron ties){stratified}, Wald CI", where=f"{arm.name}/HR",
                )
                bind.cell(["hr_p", seg], term.p, "p", test="Cox proportional hazards, Wald test")
        if pairwise and len(codes) > 2:
            if arm.code != ref:
                pair = (g == arm.code) | (g == ref)
                vs = logrank(t[pair], e[pair], g[pair], levels=[arm.code, ref],
                             strata=None if s is None else s.to_numpy()[pair])
                cells["p"] = bind.cell(["logrank_vs_ref", seg], vs.p, "p",
                                       test=f"log-rank test{stratified}, {arm.name} vs {ref_name}",
                                       where=f"{arm.name}/P")
        elif i == 0:
            cells["p"] = bind.cell(["logrank", "p"], test.p, "p", test=f"log-rank test{stratified}",
                                   where=f"{arm.name}/P")
        table.add_row(Row(arm.label, cells))
    if pairwise and len(codes) > 2:
        bind.cell(["logrank", "p"], test.p, "p", test=f"log-rank test{stratified} across {len(codes)} groups")
        overall = fmt_p_phrase(test.p, store.style.p_digits, "").strip()
        table.notes.append(f"Log-rank P: each row against {ref_name}. The log-rank test across all {len(codes)} "
                           f"groups ({test.df} degrees of freedom) gives P {overall}.")
    bind.cell(["logrank", "chisq"], test.chisq, "stat", test=f"log-rank test{stratified}")
    bind.cell(["logrank", "df"], test.df, "int", test=f"log-rank test{stratified}")
    if strata:
        table.notes.append(f"Log-rank test and hazard ratios stratified by {', '.join(strata)}.")
    if cox_note:
        table.notes.append(cox_note.rstrip(".") + ".")
    return SurvivalSummary(table.validate(), fits, test, cox, tuple(arms), digits=digits, time_unit=time_unit)

