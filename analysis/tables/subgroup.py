"""Subgroup analysis: the treatment hazard ratio within each level of each subgroup variable.

:func:`tbl_subgroup` fits, for all patients and then for each level of each subgroup
variable, the Cox model of the arm (``coxph(Surv(time, event) ~ arm)``, optionally with
strata), and tests whether the treatment effect differs between the levels by the
likelihood-ratio test of the treatment-by-subgroup interaction, as R's
``anova(coxph(Surv ~ arm + sub), coxph(Surv ~ arm * sub))`` on the patients with the
subgroup known. The table shows events / patients per arm, HR (95% CI) and the interaction
P; :meth:`SubgroupAnalysis.forest` draws the subgroup forest plot (all patients on top,
each variable's levels under its heading) from the same cells.

Keys (``<arm>`` the arm code, ``<v>`` the subgroup variable, ``<l>`` its level, as key
segments: :func:`~analysis.tables.regression.level_segments`):

* ``<prefix>.overall.hr`` (HR with CI), ``.overall.p`` (Wald P), ``.overall.n.<arm>``,
  ``.overall.events.<arm>`` and ``.overall.events_n.<arm>`` (the "events/n" cell);
* ``<prefix>.<v>.<l>.hr``, ``.<v>.<l>.p``, ``.<v>.<l>.n.<arm>``, ``.<v>.<l>.events.<arm>``,
  ``.<v>.<l>.events_n.<arm>``;
* ``<prefix>.<v>.interaction.p``, ``.interaction.chisq``, ``.interaction.df``;
* ``<prefix>.<v>.n_missing``: patients whose subgroup is unknown (left out of its rows and test).

A level where the hazard ratio cannot be estimated (an arm without events there, or a
monotone likelihood) shows "NE" with a footnote saying why; its counts are still given. The
variable's interaction P is then "NE" too, with its own footnote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.errors import StatisticsError
from analysis.results import ResultsStore
from analysis.stats.cox import cox_model
from analysis.stats.regression import RegressionModel, chi2_sf, factor_levels, level_label
from analysis.study import Arm
from analysis.tables.model import Cell, CellBinder, Column, Row, Table, key_segment
from analysis.tables.regression import level_segments

__all__ = ["Subgroup", "SubgroupAnalysis", "tbl_subgroup"]

_NE_INTERACTION = ("Interaction not tested: an arm has no events in one of this variable's subgroups, so the "
                   "interaction coefficient is infinite and the likelihood-ratio test is not defined.")
_NE_NOTE = ("NE, not estimable: an arm has no events in this subgroup, so the hazard ratio has no finite "
            "estimate (R's coxph warns 'coefficient may be infinite').")


@dataclass(frozen=True)
class Subgroup:
    """A subgroup variable: its ``column``, heading ``label`` and optional level order and labels."""

    column: str
    label: str
    levels: Sequence[Any] | None = None
    level_labels: Mapping[str, str] | None = None


@dataclass(frozen=True)
class SubgroupAnalysis:
    """What :func:`tbl_subgroup` computed: the table, the fits and the forest rows."""

    table: Table
    overall: RegressionModel
    fits: Mapping[tuple[str, str], RegressionModel | None]
    interactions: Mapping[str, tuple[float, int, float]]
    forest_rows: tuple[Any, ...]
    conf_level: float = 0.95

    def forest(self, *, title: str | None = None, favours: tuple[str, str] | None = None, style: Any = None,
               width_in: float = 7.0) -> Any:
        """The subgroup forest plot: all patients on top, levels grouped under each variable."""
        from analysis.figures.forest import estimate_forest_plot

        # the table's headers, broken onto two lines to keep the figure's columns narrow
        headers = [c.header.replace(", ", "\n", 1).replace("P for ", "P for\n") for c in self.table.columns]
        return estimate_forest_plot(self.forest_rows, headers=headers, title=title,
                                    xlabel="Hazard ratio (log scale)", favours=favours, style=style,
                                    width_in=width_in)


def _fit(frame: pd.DataFrame, **kwargs: Any) -> tuple[RegressionModel | None, str | None]:
    try:
        return cox_model(frame, **kwargs), None
    except StatisticsError as exc:
        if "not estimable" in str(exc) or "no events" in str(exc).lower() or "needs events" in str(exc):
            return None, str(exc)
        raise


def tbl_subgroup(
    frame: pd.DataFrame,
    *,
    time: str,
    event: str,
    arm_column: str,
    arms: Sequence[Arm],
    subgroups: Sequence[Subgroup],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    reference: str | None = None,
    strata: Sequence[str] = (),
    ties: str = "efron",
    conf_level: float = 0.95,
    overall_label: str = "All patients",
    inputs: Sequence[str] = (),
    digits: int | None = None,
) -> SubgroupAnalysis:
    """Build the subgroup table (and forest rows) of the ``arms`` comparison on ``frame``.

    ``arms`` are the two (or more) arms in column order; ``reference`` is the arm the hazard
    ratios compare against (default: the last arm, as :func:`analysis.tables.survival.tbl_survival`).
    With more than two arms each row shows the first arm against the reference. ``strata``
    stratify every Cox model (not the subgroup variable itself). Patients whose subgroup value is
    missing are left out of that variable's rows and interaction test, and counted
    (``<prefix>.<v>.n_missing``).

    Keys written: see the module docstring.
    """
    from analysis.figures.forest import ForestRow

    codes = [a.code for a in arms]
    if len(codes) < 2:
        raise StatisticsError(f"A subgroup analysis compares arms; got {codes}")
    ref = reference or codes[-1]
    if ref not in codes:
        raise StatisticsError(f"Invalid `reference` value: {ref!r}. Must be one of the arms: {codes}")
    shown = next(c for c in codes if c != ref)
    data = frame[frame[arm_column].astype(str).isin(codes)].copy()
    data[arm_column] = pd.Categorical(data[arm_column].astype(str), categories=[ref, *[c for c in codes if c != ref]])
    bind = CellBinder(store, prefix, table_id, inputs)
    by_code = {a.code: a for a in arms}
    columns = [Column(f"n_{key_segment(c)}", f"{by_code[c].name}, events/n") for c in codes]
    columns += [Column("hr", f"HR ({round(100 * conf_level)}% CI)"), Column("p_int", "P for interaction")]
    table = Table(table_id, caption, stub_header="Subgroup", columns=columns)
    model_args = {"time": time, "event": event, "terms": [arm_column], "strata": list(strata), "ties": ties,
                  "reference": {arm_column: ref}, "conf_level": conf_level}
    test = f"Cox proportional hazards ({ties.capitalize()} ties), Wald {round(100 * conf_level)}% CI"

    def counts(sub: pd.DataFrame, segs: list[str], where: str) -> dict[str, Cell]:
        out: dict[str, Cell] = {}
        for c in codes:
            rows = sub[sub[arm_column] == c]
            n, ev = len(rows), int(pd.to_numeric(rows[event]).sum())
            seg = key_segment(c)
            bind.cell([*segs, "n", seg], n, "int", test="count")
            bind.cell([*segs, "events", seg], ev, "int", test="count of events")
            out[f"n_{seg}"] = bind.cell([*segs, "events_n", seg], {"events": ev, "n": n}, "events_n",
                                        test="events / patients", where=f"{where}/{by_code[c].name}")
        return out

    def hr_cells(fit: RegressionModel | None, segs: list[str], where: str) -> tuple[dict[str, Cell], Any]:
        if fit is None:
            return {"hr": Cell("NE", "text")}, None
        term = fit.term(arm_column, shown)
        cell = bind.cell([*segs, "hr"], {"estimate": term.hr, "lower": term.lower, "upper": term.upper},
                         "ratio_ci", digits=digits, test=test, where=f"{where}/HR")
        bind.cell([*segs, "p"], term.p, "p", test="Cox proportional hazards, Wald test")
        return {"hr": cell}, term

    overall, why = _fit(data, **model_args)
    if overall is None:
        raise StatisticsError(f"The overall hazard ratio is not estimable: {why}")
    cells = counts(data, ["overall"], overall_label)
    hr, term = hr_cells(overall, ["overall"], overall_label)
    cells.update(hr)
    table.add_row(Row(overall_label, cells))
    forest: list[Any] = [ForestRow(overall_label, term.hr, term.lower, term.upper,
                                   tuple(cells.get(c.key) for c in columns), bold=True)]
    fits: dict[tuple[str, str], RegressionModel | None] = {}
    interactions: dict[str, tuple[float, int, float]] = {}
    for sg in subgroups:
        if sg.column not in data.columns:
            raise StatisticsError(f"Subgroup column `{sg.column}` is not in the data; columns: {list(data.columns)}")
        vseg = key_segment(sg.column)
        known = data[data[sg.column].notna()].copy()
        bind.cell([vseg, "n_missing"], int(len(data) - len(known)), "int", test="patients with the subgroup unknown")
        levels = factor_levels(known[sg.column], sg.column, None)
        if sg.levels is not None:
            order = [str(v) for v in sg.levels]
            extra = sorted(set(levels) - set(order))
            if extra:
                raise StatisticsError(f"Subgroup `{sg.column}` has levels {extra} not in its `levels` {order}")
            levels = tuple(lev for lev in order if lev in levels)
        if len(levels) < 2:
            raise StatisticsError(f"Subgroup `{sg.column}` has one level ({list(levels)}); nothing to compare")
        labels = {lev: (sg.level_labels or {}).get(lev, lev) for lev in levels}
        segs = level_segments(levels)
        known["_subgroup"] = pd.Categorical(_labels(known[sg.column]), categories=list(levels))
        # interaction: LR test of arm x subgroup on the patients with the subgroup known
        main_args = {**model_args, "terms": [arm_column, "_subgroup"],
                     "reference": {arm_column: ref, "_subgroup": levels[0]}}
        reduced, _ = _fit(known, **main_args)
        full, _ = _fit(known, **{**main_args, "terms": [arm_column, "_subgroup", f"{arm_column}:_subgroup"]})
        marks: list[str] = []
        if reduced is None or full is None:
            # an arm without events in a level: the interaction coefficient is infinite
            p_cell = Cell("NE", "text")
            marks = [table.mark(_NE_INTERACTION)]
        else:
            assert reduced.loglik is not None and full.loglik is not None
            chisq = 2 * (full.loglik[1] - reduced.loglik[1])
            df = len(full.terms) - len(reduced.terms)
            p_int = chi2_sf(chisq, df)
            interactions[sg.column] = (chisq, df, p_int)
            lr_test = "likelihood-ratio test of the treatment-by-subgroup interaction (nested Cox models)"
            p_cell = bind.cell([vseg, "interaction", "p"], p_int, "p", test=lr_test, where=f"{sg.label}/P")
            bind.cell([vseg, "interaction", "chisq"], chisq, "stat", test=lr_test)
            bind.cell([vseg, "interaction", "df"], df, "int", test=lr_test)
        table.add_row(Row(sg.label, {"p_int": p_cell}, marks=marks))
        forest.append(ForestRow(sg.label, cells=tuple(p_cell if c.key == "p_int" else None for c in columns)))
        for lev in levels:
            sub = known[known["_subgroup"] == lev]
            where = f"{sg.label}/{labels[lev]}"
            cells = counts(sub, [vseg, segs[lev]], where)
            fit, why = _fit(sub, **model_args)
            fits[(sg.column, lev)] = fit
            hr, term = hr_cells(fit, [vseg, segs[lev]], where)
            cells.update(hr)
            marks = [table.mark(_NE_NOTE)] if fit is None else []
            table.add_row(Row(labels[lev], cells, indent=1, marks=marks))
            forest.append(ForestRow(labels[lev], *(term.hr, term.lower, term.upper) if term else (None,) * 3,
                                    tuple(cells.get(c.key) for c in columns), indent=1))
    if len(codes) > 2:
        table.notes.append(f"Hazard ratios of {by_code[shown].name} versus {by_code[ref].name}.")
    table.notes.append(
        f"Hazard ratios {by_code[shown].name} versus {by_code[ref].name} from Cox models within each subgroup"
        + (f", stratified by {', '.join(strata)}" if strata else "")
        + "; P for interaction from the likelihood-ratio test of the treatment-by-subgroup interaction."
    )
    return SubgroupAnalysis(table.validate(), overall, fits, interactions, tuple(forest), conf_level)


def _labels(values: pd.Series) -> list[str]:
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    text = [level_label(v) for v in uniques]
    return [text[c] for c in codes]
