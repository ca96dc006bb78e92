"""Regression tables (gtsummary's ``tbl_regression``): one row per term, HR/OR (95% CI) and P.

:func:`tbl_regression` lays out a fitted model (the engine's :func:`analysis.stats.cox_model`
or :func:`analysis.stats.logistic_model`, or a statsmodels / lifelines fit: see
:func:`analysis.stats.regression.as_model`) as a table: numeric terms one row each; a factor
as a row with its label and one indented row per level, the reference level first with
"Reference" in place of an estimate. Univariable models may be given too: their columns
stand left of the multivariable ones, under "Univariable" / "Multivariable" spanners. No
statistic is computed here: every cell is a value of a fitted model, stored in the results
store under its key.

Keys (``<v>`` is the variable, ``<l>`` the factor level, both as key segments:
:func:`~analysis.tables.model.key_segment`; levels whose segments would collide get their
position appended):

* ``<prefix>.<v>.est`` / ``<prefix>.<v>.<l>.est``: the estimate with its CI (``ratio_ci``
  for HR/OR, ``estimate_ci`` for coefficients); ``.p`` beside it: the Wald P;
* ``<prefix>.uni.<v>[.<l>].est`` and ``.p``: the same from the univariable models;
* ``<prefix>.n``, ``<prefix>.events`` (when known) and ``<prefix>.n_dropped``: rows used,
  events, and rows dropped for missing values, of the multivariable model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from analysis.errors import StatisticsError
from analysis.results import ResultsStore
from analysis.stats.regression import ModelTerm, ModelVariable, RegressionModel, as_model
from analysis.tables.model import Cell, CellBinder, Column, Row, Table, key_segment

__all__ = ["RegressionTable", "level_segments", "tbl_regression"]

_MEASURE_NAMES = {"HR": "hazard ratio", "OR": "odds ratio", "Beta": "regression coefficient"}
_KIND_TESTS = {
    "cox": "Cox proportional-hazards regression",
    "logistic": "logistic regression",
    "linear": "linear regression (least squares)",
}


@dataclass(frozen=True)
class RegressionTable:
    """What :func:`tbl_regression` built: the table, the models read, and the forest rows.

    ``forest_rows`` are :class:`analysis.figures.forest.ForestRow` inputs (label, estimate,
    CI, the table's own cells) of the multivariable model, for :meth:`forest`.
    """

    table: Table
    model: RegressionModel
    univariable: tuple[RegressionModel, ...]
    forest_rows: tuple[Any, ...]

    def forest(self, *, title: str | None = None, favours: tuple[str, str] | None = None,
               style: Any = None, width_in: float = 7.0) -> Any:
        """A forest plot of the multivariable terms (estimate and P columns as in the table)."""
        from analysis.figures.forest import estimate_forest_plot

        measure = self.model.measure
        log = measure != "Beta"
        names = {"HR": "Hazard ratio", "OR": "Odds ratio", "Beta": "Coefficient"}
        level = round(100 * self.model.conf_level)
        return estimate_forest_plot(
            self.forest_rows, headers=(f"{measure} ({level}% CI)", "P"), title=title,
            xlabel=f"{names[measure]}{' (log scale)' if log else ''}", log=log, favours=favours, style=style,
            width_in=width_in,
        )


def level_segments(levels: Sequence[str]) -> dict[str, str]:
    """Key segments of a factor's levels, unique: ``["< 65", ">= 65"]`` would both slug to
    ``"65"``, so each colliding one gets its 1-based position: ``65_1``, ``65_2``."""
    segs = [key_segment(lev) for lev in levels]
    out = {}
    for i, (lev, seg) in enumerate(zip(levels, segs, strict=True)):
        out[lev] = f"{seg}_{i + 1}" if segs.count(seg) > 1 else seg
    return out


def _estimate(term: ModelTerm) -> tuple[dict[str, float], str]:
    raw = {"estimate": term.estimate, "lower": term.lower, "upper": term.upper}
    return raw, ("estimate_ci" if term.measure == "Beta" else "ratio_ci")


def _univariable_index(models: Sequence[RegressionModel]) -> dict[tuple[str, str | None], tuple[ModelTerm,
                                                                                                   RegressionModel]]:
    index: dict[tuple[str, str | None], tuple[ModelTerm, RegressionModel]] = {}
    for m in models:
        for t in m.terms:
            key = (t.name, t.level)
            if key in index:
                raise StatisticsError(
                    f"Term {t.label!r} is in more than one univariable model; give one model per variable"
                )
            index[key] = (t, m)
    return index


def tbl_regression(
    model: Any,
    *,
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    univariable: Sequence[Any] | None = None,
    labels: Mapping[str, str] | None = None,
    level_labels: Mapping[str, Mapping[str, str]] | None = None,
    include: Sequence[str] | None = None,
    reference: Mapping[str, Any] | None = None,
    inputs: Sequence[str] = (),
    digits: int | None = None,
    p_digits: int | None = None,
) -> RegressionTable:
    """Build the regression table of ``model`` and bind every cell in ``store``.

    ``model`` is a fitted model of the engine, statsmodels or lifelines. ``univariable``
    (optional) are one fitted model per variable, shown in their own columns beside
    ``model``'s. ``labels`` maps a variable to its row label (default: the column name);
    ``level_labels[variable][level]`` relabels factor levels. ``include`` limits and orders
    the variables shown (default: all, in model order). ``reference`` names factors' reference
    levels for fitted models that do not keep them (statsmodels PHReg, lifelines formulas).
    ``digits`` are the estimate's
    decimals (default: the study style's ratio digits), ``p_digits`` the P value's.

    Keys written: see the module docstring (``<prefix>.<v>[.<l>].est``/``.p``,
    ``<prefix>.uni.<v>[.<l>].est``/``.p``, ``<prefix>.n``, ``.events``, ``.n_dropped``).
    """
    multi = as_model(model, reference=reference)
    unis = tuple(as_model(m, reference=reference) for m in (univariable or ()))
    uni_index = _univariable_index(unis)
    labels = dict(labels or {})
    level_labels = {k: dict(v) for k, v in (level_labels or {}).items()}
    variables = [v for v in multi.variables]
    if include is not None:
        known = {v.name: v for v in variables}
        missing = [name for name in include if name not in known]
        if missing:
            raise StatisticsError(f"`include` names {missing}, not variables of the model: {list(known)}")
        variables = [known[name] for name in include]
    bind = CellBinder(store, prefix, table_id, inputs)
    measure = multi.measure
    level = round(100 * multi.conf_level)
    head = f"{measure} ({level}% CI)"
    columns = []
    if unis:
        columns += [Column("uni_est", head, spanner="Univariable"), Column("uni_p", "P", spanner="Univariable")]
    spanner = "Multivariable" if unis else None
    columns += [Column("est", head, spanner=spanner), Column("p", "P", spanner=spanner)]
    table = Table(table_id, caption, stub_header="Characteristic", columns=columns)
    test = _KIND_TESTS.get(multi.kind, multi.kind)
    if multi.ties and multi.kind == "cox":
        test += f" ({multi.ties.capitalize()} ties)"
    est_test = f"{test}, Wald {level}% CI"
    p_test = f"{test}, Wald test"

    def cells(term: ModelTerm | None, segs: list[str], where: str, uni: bool) -> dict[str, Cell]:
        out: dict[str, Cell] = {}
        if term is None:
            return out
        raw, kind = _estimate(term)
        col = "uni_" if uni else ""
        key = ["uni", *segs] if uni else segs
        source = uni_index[(term.name, term.level)][1] if uni else multi
        t_name = _KIND_TESTS.get(source.kind, source.kind) + (" (univariable)" if uni else "")
        out[f"{col}est"] = bind.cell([*key, "est"], raw, kind, digits=digits, test=f"{t_name}, Wald {level}% CI"
                                     if uni else est_test, where=f"{where}/{col}est")
        out[f"{col}p"] = bind.cell([*key, "p"], term.p, "p", digits=p_digits,
                                   test=f"{t_name}, Wald test" if uni else p_test, where=f"{where}/{col}p")
        return out

    def reference_cells() -> dict[str, Cell]:
        ref = {"est": Cell("Reference", "text"), "p": Cell("—", "text")}
        if unis:
            ref.update({"uni_est": Cell("Reference", "text"), "uni_p": Cell("—", "text")})
        return ref

    forest: list[Any] = []
    from analysis.figures.forest import ForestRow  # a light import: the plot itself is drawn on demand

    for var in variables:
        label = labels.get(var.name, var.name)
        vseg = key_segment(var.name)
        if var.kind in ("numeric", "interaction") and not _is_factor_interaction(var, multi):
            term = multi.term(var.name)
            row_cells = cells(term, [vseg], label, uni=False)
            if unis and (var.name, None) in uni_index:
                row_cells.update(cells(uni_index[(var.name, None)][0], [vseg], label, uni=True))
            table.add_row(Row(label, row_cells))
            forest.append(ForestRow(label, term.estimate, term.lower, term.upper,
                                    (row_cells["est"], row_cells["p"])))
            continue
        levels = _levels_of(var, multi)
        segs = level_segments(levels)
        table.add_row(Row(label))
        forest.append(ForestRow(label))
        for lev in levels:
            shown = level_labels.get(var.name, {}).get(lev, lev)
            if var.kind == "factor" and lev == var.reference:
                table.add_row(Row(shown, reference_cells(), indent=1))
                forest.append(ForestRow(shown, cells=(Cell("Reference", "text"), None), indent=1))
                continue
            term = multi.term(var.name, lev)
            where = f"{label}/{shown}"
            row_cells = cells(term, [vseg, segs[lev]], where, uni=False)
            if unis and (var.name, lev) in uni_index:
                row_cells.update(cells(uni_index[(var.name, lev)][0], [vseg, segs[lev]], where, uni=True))
            table.add_row(Row(shown, row_cells, indent=1))
            forest.append(ForestRow(shown, term.estimate, term.lower, term.upper, (row_cells["est"], row_cells["p"]),
                                    indent=1))
    bind.cell(["n"], multi.n, "int", test="rows used by the model")
    if multi.events is not None:
        bind.cell(["events"], multi.events, "int", test="events in the rows used")
    bind.cell(["n_dropped"], multi.n_dropped, "int", test="rows dropped for missing values")
    name = _MEASURE_NAMES.get(measure, measure)
    table.notes.append(f"{measure}, {name}; CI, confidence interval.")
    what = f"{test[0].upper()}{test[1:]}" + (f", stratified by {', '.join(multi.strata)}" if multi.strata else "")
    # counts are bound values (<prefix>.n, .events, .n_dropped) for the caption or prose to cite;
    # the note itself carries no number
    dropped = "; patients with a missing value excluded" if multi.n_dropped else ""
    table.notes.append(f"{what}; Wald confidence intervals and P values{dropped}.")
    return RegressionTable(table.validate(), multi, unis, tuple(forest))


def _is_factor_interaction(var: ModelVariable, model: RegressionModel) -> bool:
    return var.kind == "interaction" and any(t.name == var.name and t.level is not None for t in model.terms)


def _levels_of(var: ModelVariable, model: RegressionModel) -> list[str]:
    if var.kind == "factor" and var.levels:
        return list(var.levels)
    levels = [t.level for t in model.terms if t.name == var.name and t.level is not None]
    if var.reference:
        levels.insert(0, var.reference)
    return levels  # type: ignore[return-value]
