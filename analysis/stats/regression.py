"""Regression models as one shape: terms with estimate, CI and P, whatever fitted them.

- :class:`RegressionModel` holds a fitted model's terms (:class:`ModelTerm`), its variables
  (:class:`ModelVariable`: numeric, or a factor with its levels and reference) and its global
  tests (:class:`ModelTest`). :func:`analysis.stats.cox_model` and
  :func:`analysis.stats.logistic_model` return one; so do the adapters below for models fitted
  with statsmodels or lifelines, so a table builder binds them all the same way.
- :func:`build_design` turns frame columns into a design matrix as R's ``model.matrix`` does with
  treatment contrasts: numeric columns as they are, factors as one 0/1 column per non-reference
  level, ``"a:b"`` as the products of ``a``'s and ``b``'s columns. Rows with a missing value in
  any column used are dropped and counted, as R's ``na.omit``.
- :func:`from_statsmodels` reads PHReg, Logit, GLM (binomial) and OLS results;
  :func:`from_lifelines` reads a fitted ``CoxPHFitter``. Neither library is imported here: the
  adapters read the fitted objects' attributes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis.errors import StatisticsError

__all__ = [
    "MEASURES",
    "Design",
    "ModelTerm",
    "ModelTest",
    "ModelVariable",
    "RegressionModel",
    "as_model",
    "build_design",
    "chi2_sf",
    "factor_levels",
    "from_lifelines",
    "from_statsmodels",
    "level_label",
    "numeric_column",
    "row_label",
    "wald_terms",
    "z_quantile",
]

#: What a model's estimates are: hazard ratios, odds ratios, or coefficients on the outcome's scale.
MEASURES = ("HR", "OR", "Beta")


def chi2_sf(statistic: float, df: float) -> float:
    """Upper tail of the chi-square distribution (scipy.special, so scipy.stats is not imported)."""
    return float(special.chdtrc(df, statistic))


def z_quantile(conf_level: float) -> float:
    """The two-sided normal quantile of ``conf_level`` (1.959964 for 0.95)."""
    if not 0 < conf_level < 1:
        raise StatisticsError(f"Invalid `conf_level`: {conf_level!r}. Must be between 0 and 1 (e.g. 0.95)")
    return float(special.ndtri(1 - (1 - conf_level) / 2))


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelTerm:
    """One coefficient: ``name`` is the variable (column), ``level`` the factor level compared
    with the variable's reference (``None`` for a numeric term). ``estimate`` is exp(coef) for
    HR/OR models and coef itself for "Beta"; ``lower``/``upper`` are its Wald limits."""

    name: str
    level: str | None
    coef: float
    se: float
    z: float
    p: float
    estimate: float
    lower: float
    upper: float
    measure: str = "HR"

    @property
    def label(self) -> str:
        """``name`` or ``name=level`` (how the term is named in messages)."""
        return self.name if self.level is None else f"{self.name}={self.level}"

    @property
    def hr(self) -> float:
        """The hazard ratio exp(coef) (Cox models only)."""
        if self.measure != "HR":
            raise StatisticsError(f"Term {self.label!r} is from a model of {self.measure}, not hazard ratios")
        return self.estimate

    @property
    def odds_ratio(self) -> float:
        """The odds ratio exp(coef) (logistic models only)."""
        if self.measure != "OR":
            raise StatisticsError(f"Term {self.label!r} is from a model of {self.measure}, not odds ratios")
        return self.estimate


@dataclass(frozen=True)
class ModelTest:
    """A global test: chi-square ``statistic`` on ``df`` degrees of freedom and its P."""

    statistic: float
    df: int
    p: float


@dataclass(frozen=True)
class ModelVariable:
    """A model variable: ``kind`` is "numeric", "factor" or "interaction"; a factor lists its
    ``levels`` in display order with the ``reference`` first."""

    name: str
    kind: str
    levels: tuple[str, ...] = ()
    reference: str | None = None


@dataclass(frozen=True)
class RegressionModel:
    """A fitted regression model in one shape, whichever engine or library fitted it.

    ``kind`` is "cox", "logistic" or "linear"; ``measure`` one of :data:`MEASURES`. ``n`` counts the
    rows used, ``n_dropped`` the rows dropped for missing values, ``events`` the events (Cox) or
    outcome = 1 rows (logistic). ``wald``, ``lr`` and ``score`` are the global tests where known;
    ``loglik`` is (null, fitted); ``extra`` holds further statistics (a logistic
    model's deviances and AIC). ``source`` names what fitted the model; ``fit`` keeps the
    engine's fitted state for follow-up tests such as :func:`analysis.stats.cox.cox_zph`
    (``None`` for models adapted from other libraries).
    """

    kind: str
    measure: str
    terms: tuple[ModelTerm, ...]
    variables: tuple[ModelVariable, ...]
    n: int
    events: int | None = None
    n_dropped: int = 0
    wald: ModelTest | None = None
    lr: ModelTest | None = None
    score: ModelTest | None = None
    loglik: tuple[float, float] | None = None
    conf_level: float = 0.95
    ties: str | None = None
    strata: tuple[str, ...] = ()
    iterations: int | None = None
    source: str = "analysis"
    extra: Mapping[str, float] = field(default_factory=dict)
    fit: Any = field(default=None, compare=False, repr=False)

    def term(self, name: str, level: Any = None) -> ModelTerm:
        """The term of variable ``name`` (and factor ``level``)."""
        want = None if level is None else level_label(level)
        for t in self.terms:
            if t.name == name and t.level == want:
                return t
        known = [t.label for t in self.terms]
        raise StatisticsError(f"Unknown term {name!r}{'' if want is None else f' level {want!r}'}; terms: {known}")

    def variable(self, name: str) -> ModelVariable:
        """The variable called ``name``."""
        for v in self.variables:
            if v.name == name:
                return v
        raise StatisticsError(f"Unknown variable {name!r}; variables: {[v.name for v in self.variables]}")


def wald_terms(
    names: Sequence[tuple[str, str | None]], coef: np.ndarray, se: np.ndarray, conf_level: float, measure: str
) -> tuple[ModelTerm, ...]:
    """Terms with Wald z, two-sided P and CI (R's ``confint.default``; exp'd unless "Beta")."""
    zq = z_quantile(conf_level)
    out = []
    for (name, level), b, s in zip(names, coef, se, strict=True):
        z = b / s
        lo, hi = b - zq * s, b + zq * s
        est, lo, hi = (b, lo, hi) if measure == "Beta" else (math.exp(b), math.exp(lo), math.exp(hi))
        out.append(ModelTerm(name, level, float(b), float(s), float(z), float(2 * special.ndtr(-abs(z))),
                             float(est), float(lo), float(hi), measure))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# Input columns
# ---------------------------------------------------------------------------------------------
def level_label(x: Any) -> str:
    """A level as text; integral floats lose their ".0" (pandas reads 1 as 1.0 next to NaN)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def row_label(index: pd.Index, position: int) -> Any:
    """The frame's label of row ``position`` as a plain Python value (for messages)."""
    label = index[position]
    return label.item() if isinstance(label, np.generic) else label


def _is_text(values: pd.Series) -> bool:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return not pd.api.types.is_numeric_dtype(values.dtype.categories.dtype)
    if values.dtype == object:
        return any(isinstance(v, (str, bytes)) for v in values.dropna().head(1000))
    return pd.api.types.is_string_dtype(values.dtype)


def numeric_column(values: Any, name: str, where: str | None = None) -> np.ndarray:
    """``values`` as float64 with NaN for missing (pd.NA, None, NaN alike).

    Text is refused, even text that looks like a number ("12"): a time or event read as text
    means the file or its data dictionary is wrong, and converting silently would hide it.
    ``where`` names the column in the message (e.g. "column `futime`").
    """
    series = values if isinstance(values, pd.Series) else pd.Series(
        values if isinstance(values, (np.ndarray, list, tuple, pd.Index, pd.api.extensions.ExtensionArray))
        else list(values)
    )
    what = f"`{name}`" + (f" ({where})" if where else "")
    if _is_text(series):
        texts = series.dropna()
        first = texts.iloc[0] if len(texts) else None
        row = row_label(texts.index, 0) if len(texts) else "?"
        raise StatisticsError(
            f"Invalid {what}: values are text (first: {first!r} at row {row}); "
            "expected numbers. Declare the column numeric in the data dictionary or convert it with pd.to_numeric"
        )
    if pd.api.types.is_bool_dtype(series.dtype) and not isinstance(series.dtype, np.dtype):
        series = series.astype("Int64")
    try:
        arr = series.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise StatisticsError(f"Invalid {what}: values must be numbers") from None
    return arr


# ---------------------------------------------------------------------------------------------
# Design matrix
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Design:
    """A design matrix and what its columns mean; ``rows`` are the frame's index labels kept."""

    x: np.ndarray
    columns: tuple[tuple[str, str | None], ...]
    variables: tuple[ModelVariable, ...]
    keep: np.ndarray
    n_dropped: int
    data: pd.DataFrame


def factor_levels(values: pd.Series, name: str, reference: Any) -> tuple[str, ...]:
    """The levels of a factor column as text: in category order for a pandas Categorical
    (unused categories dropped), else sorted (numerically when all are numbers); ``reference``
    (if given) first."""
    present = set(level_label(v) for v in values.unique())
    if isinstance(values.dtype, pd.CategoricalDtype):
        levels = [lab for lab in (level_label(c) for c in values.dtype.categories) if lab in present]
    else:
        levels = list(present)
        try:
            levels.sort(key=float)
        except ValueError:
            levels.sort()
    if reference is not None:
        ref = level_label(reference)
        if ref not in levels:
            raise StatisticsError(f"Invalid `reference` for `{name}`: {ref!r}. Must be one of the levels: {levels}")
        levels.remove(ref)
        levels.insert(0, ref)
    return tuple(levels)


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise StatisticsError(f"{what} needs a pandas DataFrame; got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise StatisticsError(f"{what}: column(s) {missing} not in the data; columns are {list(frame.columns)}")


def build_design(
    frame: pd.DataFrame,
    terms: Sequence[str],
    *,
    reference: Mapping[str, Any] | None = None,
    factors: Sequence[str] = (),
    also: Sequence[str] = (),
    what: str = "model",
) -> Design:
    """The design matrix of ``terms`` over ``frame`` (R's ``model.matrix`` with treatment contrasts).

    A term is a column name or ``"a:b"`` (an interaction). A column is a factor when it is not
    numeric (text, categorical, boolean) or is listed in ``factors``; its reference is
    ``reference[column]`` or its first level (category order for a pandas Categorical, else
    sorted). ``also`` are further columns that must be complete (outcome, time, strata): rows
    with a missing value in any of them or in a term column are dropped and counted.
    """
    reference = dict(reference or {})
    if isinstance(terms, str):
        raise StatisticsError(f"`terms` must be a list of column names, not the string {terms!r}")
    parsed = [tuple(part.strip() for part in str(t).split(":")) for t in terms]
    names = list(dict.fromkeys(p for parts in parsed for p in parts))
    _check_columns(frame, [*names, *also], f"The {what}")
    unknown = sorted(set(reference) - set(names))
    if unknown:
        raise StatisticsError(f"`reference` names {unknown}, which are not model terms; terms: {names}")
    used = list(dict.fromkeys([*names, *also]))
    complete = ~frame[used].isna().any(axis=1).to_numpy()
    data = frame.loc[complete, used]
    if len(data) == 0:
        raise StatisticsError(f"The {what} has no complete rows: every row misses one of {used}")

    blocks: dict[str, tuple[np.ndarray, list[str | None]]] = {}
    variables: dict[str, ModelVariable] = {}
    for name in names:
        col = data[name]
        is_factor = (
            name in factors or _is_text(col) or pd.api.types.is_bool_dtype(col.dtype)
            or isinstance(col.dtype, pd.CategoricalDtype)
        )
        if name in reference and not is_factor:
            is_factor = True  # a reference level makes a numeric code (e.g. sex 1/2) a factor
        if is_factor:
            levels = factor_levels(col, name, reference.get(name))
            codes, uniques = pd.factorize(col.to_numpy(dtype=object))
            labels = np.array([level_label(v) for v in uniques], dtype=object)[codes]
            mat = np.column_stack([(labels == lev).astype(float) for lev in levels[1:]]) if len(levels) > 1 \
                else np.zeros((len(col), 0))
            blocks[name] = (mat, list(levels[1:]))
            variables[name] = ModelVariable(name, "factor", levels, levels[0])
        else:
            blocks[name] = (numeric_column(col, name, f"column `{name}`").reshape(-1, 1), [None])
            variables[name] = ModelVariable(name, "numeric")

    mats, columns, var_list = [], [], []
    for parts in parsed:
        if len(parts) == 1:
            mat, levels = blocks[parts[0]]
            mats.append(mat)
            columns += [(parts[0], lev) for lev in levels]
            var_list.append(variables[parts[0]])
            continue
        mat, levels = blocks[parts[0]]
        for part in parts[1:]:
            other, other_levels = blocks[part]
            mat = np.column_stack([mat[:, i] * other[:, j] for i in range(mat.shape[1])
                                   for j in range(other.shape[1])]) if mat.shape[1] and other.shape[1] \
                else np.zeros((len(data), 0))
            levels = [":".join(x for x in (a, b) if x is not None) or None for a in levels for b in other_levels]
        name = ":".join(parts)
        mats.append(mat)
        columns += [(name, lev) for lev in levels]
        var_list.append(ModelVariable(name, "interaction"))
    x = np.column_stack(mats) if mats else np.zeros((len(data), 0))
    return Design(x, tuple(columns), tuple(var_list), complete, int((~complete).sum()), data)


# ---------------------------------------------------------------------------------------------
# Adapters for models fitted elsewhere
# ---------------------------------------------------------------------------------------------
_PATSY = re.compile(r"^(?P<var>.+?)\[T\.(?P<level>.+)\]$")
_CALL = re.compile(r"^C\(\s*(?P<var>[^,)]+?)\s*(?:,.*)?\)$")


def _split_name(name: str) -> tuple[str, str | None]:
    """``"C(sex)[T.2]" -> ("sex", "2")``, ``"education[T.6-11yrs]" -> ("education", "6-11yrs")``."""
    m = _PATSY.match(name)
    var, level = (m.group("var"), m.group("level")) if m else (name, None)
    if level is not None and re.fullmatch(r"-?\d+\.0", level):
        level = level[:-2]  # a numeric code read as float: level "1.0" is the engine's "1"
    call = _CALL.match(var)
    return (call.group("var") if call else var), level


def _variables_from(names: Sequence[tuple[str, str | None]], categories: Mapping[str, Sequence[str]],
                    reference: Mapping[str, Any] | None = None) -> tuple[ModelVariable, ...]:
    out: dict[str, ModelVariable] = {}
    for var, level in names:
        if var in out:
            continue
        if level is None:
            out[var] = ModelVariable(var, "numeric")
            continue
        shown = [lev for v, lev in names if v == var and lev is not None]
        cats = [level_label(c) for c in categories.get(var, ())]
        ref = next((c for c in cats if c not in shown), None)
        if ref is None and reference and var in reference:
            ref = level_label(reference[var])
        out[var] = ModelVariable(var, "factor", tuple([ref] if ref else []) + tuple(shown), ref)
    return tuple(out.values())


def _patsy_categories(model: Any) -> dict[str, list[str]]:
    """Factor categories from a formula-fitted statsmodels model (to name the reference level)."""
    data = getattr(model, "data", None)
    info = getattr(data, "design_info", None) or getattr(getattr(data, "orig_exog", None), "design_info", None)
    out: dict[str, list[str]] = {}
    for factor, finfo in getattr(info, "factor_infos", {}).items():
        if getattr(finfo, "type", None) == "categorical":
            out[_split_name(factor.name())[0]] = [level_label(c) for c in finfo.categories]
    return out


def from_statsmodels(result: Any, *, conf_level: float = 0.95,
                     reference: Mapping[str, Any] | None = None) -> RegressionModel:
    """A fitted statsmodels result (PHReg, Logit, GLM binomial with logit link, OLS) as a
    :class:`RegressionModel`. CIs are Wald at ``conf_level`` from the library's coef and SE
    (what its ``conf_int()`` gives; OLS: t-based, as its ``conf_int()``); P values are the
    library's own. The intercept is left out. A factor's reference level is read from the
    formula's design (Logit, GLM, OLS); where the model does not keep it (PHReg), name it in
    ``reference={"sex": 1}`` so a table can show its reference row.
    """
    model = getattr(result, "model", None)
    kind_name = type(model).__name__
    if kind_name == "PHReg":
        kind, measure = "cox", "HR"
    elif kind_name == "Logit":
        kind, measure = "logistic", "OR"
    elif kind_name == "GLM":
        family = type(model.family).__name__
        link = type(model.family.link).__name__
        if family != "Binomial" or link != "Logit":
            raise StatisticsError(f"GLM family {family} with link {link} is not supported; expected Binomial (logit)")
        kind, measure = "logistic", "OR"
    elif kind_name == "OLS":
        kind, measure = "linear", "Beta"
    else:
        raise StatisticsError(
            f"Unsupported statsmodels model {kind_name!r}; expected one of PHReg, Logit, GLM (binomial), OLS"
        )
    names = list(model.exog_names)
    coef = np.asarray(result.params, dtype=float)
    se = np.asarray(result.bse, dtype=float)
    pvals = np.asarray(result.pvalues, dtype=float)
    keep = [i for i, nm in enumerate(names) if nm not in ("Intercept", "const")]
    split = [_split_name(names[i]) for i in keep]
    terms = wald_terms(split, coef[keep], se[keep], conf_level, measure)
    # the library's P (t-based for OLS) rather than our normal approximation
    terms = tuple(ModelTerm(t.name, t.level, t.coef, t.se, t.z, float(p), t.estimate, t.lower, t.upper, t.measure)
                  for t, p in zip(terms, pvals[keep], strict=True))
    if measure == "Beta":
        # OLS limits use the t distribution with the residual df, as statsmodels' conf_int
        ci = np.asarray(result.conf_int(alpha=1 - conf_level), dtype=float)[keep]
        terms = tuple(ModelTerm(t.name, t.level, t.coef, t.se, t.z, t.p, t.estimate, float(lo), float(hi), t.measure)
                      for t, (lo, hi) in zip(terms, ci, strict=True))
    events = None
    if kind == "cox":
        events = int(np.asarray(model.status).sum())
        n = int(model.exog.shape[0])
    else:
        n = int(result.nobs)
        if kind == "logistic":
            events = int(np.asarray(model.endog).sum())
    return RegressionModel(kind, measure, terms, _variables_from(split, _patsy_categories(model), reference), n, events,
                           conf_level=conf_level, ties=getattr(model, "ties", None), source="statsmodels")


def from_lifelines(fitter: Any, *, conf_level: float | None = None,
                   reference: Mapping[str, Any] | None = None) -> RegressionModel:
    """A fitted lifelines ``CoxPHFitter`` as a :class:`RegressionModel` (HR terms).

    Coef, SE and P are lifelines' own; CIs are Wald at ``conf_level`` (default: the fitter's
    ``1 - alpha``). lifelines handles tied times by Efron's method, as R, but stops iterating
    earlier (its coefficients agree with R to about 1e-6). ``reference`` names the reference
    level of formula factors (lifelines does not keep it).
    """
    if type(fitter).__name__ != "CoxPHFitter" or not hasattr(fitter, "summary"):
        raise StatisticsError(f"Expected a fitted lifelines CoxPHFitter; got {type(fitter).__name__}")
    level = conf_level if conf_level is not None else 1 - float(fitter.alpha)
    summary = fitter.summary
    split = [_split_name(str(nm)) for nm in summary.index]
    terms = wald_terms(split, summary["coef"].to_numpy(float), summary["se(coef)"].to_numpy(float), level, "HR")
    terms = tuple(ModelTerm(t.name, t.level, t.coef, t.se, t.z, float(p), t.estimate, t.lower, t.upper, t.measure)
                  for t, p in zip(terms, summary["p"].to_numpy(float), strict=True))
    events = int(np.asarray(fitter.event_observed).sum())
    lr = None
    if hasattr(fitter, "log_likelihood_ratio_test"):
        test = fitter.log_likelihood_ratio_test()
        lr = ModelTest(float(test.test_statistic), int(test.degrees_freedom), float(test.p_value))
    return RegressionModel("cox", "HR", terms, _variables_from(split, {}, reference), int(fitter._n_examples), events,
                           lr=lr, conf_level=level, ties="efron", source="lifelines")


def as_model(fitted: Any, *, conf_level: float | None = None,
             reference: Mapping[str, Any] | None = None) -> RegressionModel:
    """Any supported fitted model as a :class:`RegressionModel`: the engine's own (returned as
    is), a statsmodels result (PHReg, Logit, GLM binomial, OLS) or a lifelines CoxPHFitter
    (``reference`` as in :func:`from_statsmodels`)."""
    if isinstance(fitted, RegressionModel):
        return fitted
    if type(fitted).__name__ == "CoxPHFitter":
        return from_lifelines(fitted, conf_level=conf_level, reference=reference)
    if hasattr(fitted, "model") and hasattr(fitted, "params") and type(fitted).__module__.startswith("statsmodels"):
        return from_statsmodels(fitted, conf_level=0.95 if conf_level is None else conf_level, reference=reference)
    raise StatisticsError(
        f"Cannot read a model of type {type(fitted).__name__}; expected analysis.stats.cox_model/logistic_model "
        "results, a statsmodels PHReg/Logit/GLM/OLS result or a fitted lifelines CoxPHFitter"
    )
