"""Baseline characteristics table: one block per variable, arms as columns, a test each.

Variables are given as spec dicts (or :class:`Variable`)::

    {"column": "sex", "label": "Sex", "type": "categorical",
     "levels": [["male", "Male"], ["female", "Female"]]}
    {"column": "age", "label": "Age (years)", "type": "continuous", "digits": 1}
    {"column": "crp", "label": "CRP (mg/L)", "type": "continuous", "summary": "median_iqr",
     "test": "wilcoxon"}

Categorical variables show n (%) per level and arm (``"format": "n"`` for counts only), with
one test per variable by the study's rule (Pearson's chi-square without correction, Fisher's
exact test when an expected count is below 5, a Monte Carlo Fisher P for a table too large
to enumerate; Fisher rows are marked and have no statistic).

Continuous variables show, per arm, ``summary``: "mean_sd" (mean ± SD), "median_iqr"
(median and interquartile range, R's type-7 quartiles) or "median_range" (median and
minimum–maximum). Their ``test``: "student" or "welch" (t-tests), "wilcoxon" (rank-sum, as R's
``wilcox.test``) for two arms; "anova" or "kruskal" (Kruskal-Wallis) for two or more; "none".
A categorical variable's ``test`` is "rule" (the study's rule), "pearson", "fisher" or "none".

Unset summaries and tests come from a named :class:`SummaryRule` (``summary_rule=``):

* ``"default"``: mean ± SD; the study's t-test for two arms, one-way ANOVA for more;
* ``"gtsummary"``: gtsummary's defaults: median (IQR); Wilcoxon rank-sum for two arms,
  Kruskal-Wallis for more (categorical variables: the study's rule, whose default is
  gtsummary's: chi-square, Fisher when an expected count is below 5).

Missing values are never dropped silently: a "Missing" row under the variable gives their
count per arm, and the tests use the patients with a known value. A value outside a
variable's declared levels is an error, not a new row. A variable that cannot be tested
shows "–" with a footnote giving the reason. The table notes name every summary and test
used, each statistic with its symbol (t, W, F, H, χ²); when continuous variables use more than
one kind of summary, each continuous row's label names its own ("CRP, median (min–max)").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import ConfigError, DataValidationError
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.stats.descriptive import summarise
from analysis.stats.nonparametric import kruskal_wallis, wilcoxon_rank_sum
from analysis.stats.ttest import one_way_anova, two_sample_t
from analysis.study import Arm
from analysis.tables.comparison import (
    DASH,
    add_categorical_test,
    arm_columns,
    arm_sizes,
    drop_empty_column,
    register_sizes,
)
from analysis.tables.model import Cell, CellBinder, Column, Row, Table, key_segment, slugify

__all__ = ["SUMMARY_RULES", "SummaryRule", "Variable", "tbl_baseline"]

_TYPES = ("categorical", "continuous")
_FORMATS = ("n_pct", "n")
#: Summaries of a continuous variable, with the words a table note uses for each.
SUMMARIES = {"mean_sd": "mean ± SD", "median_iqr": "median (IQR)", "median_range": "median (min–max)"}
#: Tests a variable may ask for, by type.
CONTINUOUS_TESTS = ("student", "welch", "wilcoxon", "anova", "kruskal", "none")
CATEGORICAL_TESTS = ("rule", "pearson", "fisher", "none")
_TWO_GROUP_TESTS = ("student", "welch", "wilcoxon")
#: The symbol of each continuous test's statistic in the "Statistic" column.
_SYMBOLS = {"student": "t", "welch": "t", "wilcoxon": "W", "anova": "F", "kruskal": "H"}


@dataclass(frozen=True)
class SummaryRule:
    """A named default for continuous variables: the ``summary`` shown, the test for two
    groups (``two_groups``: "t" = the study's t-test, "student", "welch" or "wilcoxon") and
    for more than two (``more_groups``: "anova" or "kruskal")."""

    name: str
    summary: str
    two_groups: str
    more_groups: str

    def __post_init__(self) -> None:
        if self.summary not in SUMMARIES:
            raise ConfigError(f"Invalid `summary` {self.summary!r} of rule {self.name!r}. Must be one of: "
                              f"{list(SUMMARIES)}")
        if self.two_groups not in ("t", *_TWO_GROUP_TESTS):
            raise ConfigError(f"Invalid `two_groups` {self.two_groups!r} of rule {self.name!r}. Must be one of: "
                              f"{['t', *_TWO_GROUP_TESTS]}")
        if self.more_groups not in ("anova", "kruskal"):
            raise ConfigError(f"Invalid `more_groups` {self.more_groups!r} of rule {self.name!r}. Must be one of: "
                              "['anova', 'kruskal']")

    @classmethod
    def coerce(cls, rule: SummaryRule | str) -> SummaryRule:
        """A rule, or one of :data:`SUMMARY_RULES` by name (ConfigError naming the choices)."""
        if isinstance(rule, SummaryRule):
            return rule
        if rule not in SUMMARY_RULES:
            raise ConfigError(f"Invalid `summary_rule` {rule!r}. Must be one of: {sorted(SUMMARY_RULES)}")
        return SUMMARY_RULES[rule]


#: The named rules a study may choose with ``summary_rule=``.
SUMMARY_RULES = {
    "default": SummaryRule("default", "mean_sd", "t", "anova"),
    "gtsummary": SummaryRule("gtsummary", "median_iqr", "wilcoxon", "kruskal"),
}


@dataclass(frozen=True)
class Variable:
    """One baseline variable: data ``column``, row ``label``, ``type`` (categorical or
    continuous), ``levels`` as (code, label) pairs in row order (categorical; default: the
    observed values, sorted), ``digits`` of the summary (continuous), ``format`` of the level
    cells ("n_pct" or "n"), ``summary`` and ``test`` (None: from the table's
    :class:`SummaryRule`; see the module docstring for the choices). ``key`` is its key
    segment (default: the column name)."""

    column: str
    label: str
    type: str
    levels: tuple[tuple[str, str], ...] | None = None
    digits: int = 1
    format: str = "n_pct"
    key: str | None = None
    summary: str | None = None
    test: str | None = None

    @property
    def slug(self) -> str:
        """The variable's key segment."""
        return self.key or slugify(self.column)

    @classmethod
    def coerce(cls, spec: Variable | Mapping[str, Any]) -> Variable:
        """From a Variable or a spec dict, with a clear error for a malformed spec."""
        if isinstance(spec, Variable):
            return spec
        if not isinstance(spec, Mapping) or "column" not in spec:
            raise ConfigError(f"Invalid baseline variable {spec!r}: expected a mapping with `column`")
        name = spec["column"]
        kind = spec.get("type", "categorical")
        if kind not in _TYPES:
            raise ConfigError(f"Invalid `type` {kind!r} of variable {name!r}. Must be one of: {_TYPES}")
        fmt = spec.get("format", "n_pct")
        if fmt not in _FORMATS:
            raise ConfigError(f"Invalid `format` {fmt!r} of variable {name!r}. Must be one of: {_FORMATS}")
        summary = spec.get("summary")
        if summary is not None and (kind != "continuous" or summary not in SUMMARIES):
            allowed = list(SUMMARIES) if kind == "continuous" else "none (a categorical variable shows n (%))"
            raise ConfigError(f"Invalid `summary` {summary!r} of variable {name!r}. Must be one of: {allowed}")
        test = spec.get("test")
        allowed_tests = CONTINUOUS_TESTS if kind == "continuous" else CATEGORICAL_TESTS
        if test is not None and test not in allowed_tests:
            raise ConfigError(f"Invalid `test` {test!r} of {kind} variable {name!r}. Must be one of: "
                              f"{list(allowed_tests)}")
        levels = None
        if spec.get("levels") is not None:
            pairs = []
            for lev in spec["levels"]:
                if isinstance(lev, str):
                    pairs.append((lev, lev))
                elif isinstance(lev, Sequence) and len(lev) == 2:
                    pairs.append((str(lev[0]), str(lev[1])))
                else:
                    raise ConfigError(
                        f"Invalid level {lev!r} of variable {name!r}: expected a code or [code, label]"
                    )
            levels = tuple(pairs)
        return cls(str(name), str(spec.get("label", name)), kind, levels,
                   int(spec.get("digits", 1)), fmt, spec.get("key"), summary, test)


@dataclass
class _Used:
    """What a table used, for its notes: summaries, categorical rules and continuous tests."""

    summaries: list[str]
    categorical: list[str]
    continuous: dict[str, list[str]]  # "t for ... (label)" grouping: (symbol, label) -> variable labels
    symbols: dict[str, str]
    exact: list[str] = field(default_factory=list)  # tests without a statistic (Fisher's exact)


def tbl_baseline(
    frame: pd.DataFrame,
    arm_column: str,
    arms: Sequence[Arm],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    variables: Sequence[Variable | Mapping[str, Any]],
    *,
    rule: CategoricalRule | None = None,
    t_method: str = "student",
    summary_rule: SummaryRule | str = "default",
    inputs: Sequence[str] = (),
    stub_header: str = "Characteristic",
    pct_digits: int | None = None,
) -> Table:
    """Baseline characteristics by arm (two or more) with a "Statistic" and a "P" column.

    ``rule`` tests categorical variables, ``t_method`` ("student" or "welch") is the t-test of
    the "default" summary rule, ``summary_rule`` ("default", "gtsummary" or a
    :class:`SummaryRule`) sets the summaries and tests a variable does not set itself.

    Keys: ``<prefix>.<var>_<level>.<arm>`` (level cells), ``<prefix>.<var>.<arm>`` (the
    continuous summary: kind ``mean_sd``, ``median_iqr`` or ``median_range``),
    ``<prefix>.<var>.p`` / ``.stat`` / ``.df`` (``.df2`` for ANOVA) / ``.test`` (the test's
    label, or "not tested (reason)"), ``<prefix>.<var>_missing.<arm>`` and ``<prefix>.n.<arm>``.

    >>> tbl_baseline(patients, "arm", study.arms, store, "table1", "tbl-baseline",
    ...              "Baseline characteristics",
    ...              [{"column": "age", "label": "Age (years)", "type": "continuous"}])  # doctest: +SKIP
    """
    file = inputs[0] if inputs else "data frame"
    specs = [Variable.coerce(v) for v in variables]
    if t_method not in ("student", "welch"):
        raise ConfigError(f"Invalid `t_method` {t_method!r}. Must be one of: ['student', 'welch']")
    named = SummaryRule.coerce(summary_rule)
    rule = rule or CategoricalRule()
    sizes = arm_sizes(frame, arm_column, arms, file)
    binder = CellBinder(store, prefix, table_id, tuple(inputs))
    table = Table(table_id, caption, stub_header,
                  [*arm_columns(arms, sizes), Column("stat", "Statistic"), Column("p", "P")])
    register_sizes(binder, arms, sizes)
    arm_of = frame[arm_column].astype("string")
    used = _Used([], [], {}, {})
    # with more than one kind of continuous summary the note alone cannot say which row shows
    # which: each continuous row then names its own (gtsummary's add_stat_label)
    kinds = {v.summary or named.summary for v in specs if v.type == "continuous"}
    for var in specs:
        if var.column not in frame.columns:
            raise DataValidationError(file, f"missing column for baseline variable {var.label!r}",
                                      column=var.column, expected=f"one of the columns {list(frame.columns)}")
        if var.type == "categorical":
            _add(used.summaries, "n (%)")
            _categorical(table, binder, frame, arm_of, arms, sizes, var, rule, file, pct_digits, used)
        else:
            _continuous(table, binder, frame, arm_of, arms, var, named, t_method, file, used, len(kinds) > 1)
    table.notes.append(_note(used))
    drop_empty_column(table, "stat")
    if any(r.label == "Missing" for r in table.rows):
        table.notes.append("Missing values are counted in the Missing rows and left out of the tests.")
    return table.validate()


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _or_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _note(used: _Used) -> str:
    """"Values are n (%) or mean ± SD. Statistic: χ² for categorical variables (...); t for
    continuous variables (Student's t-test)." naming every summary and test the table used."""
    parts = [f"χ² for categorical variables ({_and_list(used.categorical)})"] if used.categorical else []
    groups = list(used.continuous.items())
    for label, names in groups:
        who = "continuous variables" if len(groups) == 1 else _and_list(names)
        parts.append(f"{used.symbols[label]} for {who} ({label})")
    order = ["n (%)", *SUMMARIES.values()]
    text = f"Values are {_or_list(sorted(used.summaries, key=order.index) or ['n (%)'])}."
    text += " Statistic: " + "; ".join(parts) + "." if parts else ""
    if used.exact and not used.categorical:
        # every categorical row used an exact test: the note must not promise a χ² the table lacks
        text += f" Categorical variables were compared with {_and_list(used.exact)} (marked), which has no statistic."
    return text


def _categorical(
    table: Table, binder: CellBinder, frame: pd.DataFrame, arm_of: pd.Series, arms: Sequence[Arm],
    sizes: Mapping[str, int], var: Variable, rule: CategoricalRule, file: str, pct_digits: int | None,
    used: _Used,
) -> None:
    values = frame[var.column].astype("string")
    observed = sorted(values.dropna().unique().tolist())
    levels = var.levels or tuple((v, v) for v in observed)
    codes = [c for c, _ in levels]
    stray = values[values.notna() & ~values.isin(codes)]
    if len(stray):
        raise DataValidationError(file, f"value not among the declared levels of {var.label!r}",
                                  column=var.column, value=stray.iloc[0], expected=f"one of {codes}",
                                  more=len(stray) - 1)
    head = table.add_row(Row(var.label))
    counts = []
    in_arm = {a.code: (arm_of == a.code).fillna(False).to_numpy(dtype=bool) for a in arms}
    for code, label in levels:
        row = table.add_row(Row(label, indent=1))
        per_arm = []
        is_level = (values == code).fillna(False).to_numpy(dtype=bool)  # once per level, not per arm
        for a in arms:
            n = int((is_level & in_arm[a.code]).sum())
            per_arm.append(n)
            raw, kind = ({"n": n, "N": sizes[a.code]}, "n_pct") if var.format == "n_pct" else (n, "int")
            row.cells[a.code] = binder.cell(
                [f"{var.slug}_{slugify(code)}", key_segment(a.code)], raw, kind,
                digits=pct_digits if kind == "n_pct" else None, test="count of patients",
                where=f"{var.label}: {label}/{a.code}",
            )
        counts.append(per_arm)
    _missing_row(table, binder, values.isna(), arm_of, arms, var)
    test = var.test or "rule"
    if test == "none":
        _untested(table, binder, head, var, "no test was planned for this variable")
        return
    var_rule = rule if test == "rule" else CategoricalRule(
        force=test, mc_samples=rule.mc_samples, mc_seed=rule.mc_seed, audit_fisher=rule.audit_fisher)
    result = add_categorical_test(binder, table, head, var.slug, counts, var_rule)
    if result is None:
        return
    if test == "rule" and result.statistic is None:
        _add(used.exact, result.method_label)  # Fisher: the row is marked and has no statistic
    elif test == "rule":
        _add(used.categorical, rule.describe())
    elif test == "pearson":  # set for this variable: say so on its row, the table's rule does not apply
        head.marks.append(table.mark(var_rule.describe()))


def _untested(table: Table, binder: CellBinder, row: Row, var: Variable, reason: str) -> None:
    row.marks.append(table.mark(f"Not tested: {reason}."))
    row.cells["stat"] = Cell(DASH, "text")
    row.cells["p"] = Cell(DASH, "text")
    binder.cell([var.slug, "test"], f"not tested ({reason})", "text", where=f"{var.label}/P")


def _missing_row(
    table: Table, binder: CellBinder, missing: pd.Series, arm_of: pd.Series, arms: Sequence[Arm], var: Variable,
) -> None:
    if not missing.any():
        return
    row = table.add_row(Row("Missing", indent=1))
    for a in arms:
        n = int((missing & (arm_of == a.code)).sum())
        row.cells[a.code] = binder.cell(
            [f"{var.slug}_missing", key_segment(a.code)], n, "int",
            test="count of missing values", where=f"{var.label}: Missing/{a.code}",
        )


def _summary_cell(summary: str, values: pd.Series) -> tuple[Any, str, str]:
    """(raw, kind, what) of one arm's summary; a single value has no SD: the mean alone."""
    s = summarise(values)
    if summary == "median_iqr":
        return {"median": s.median, "q1": s.q1, "q3": s.q3}, "median_iqr", "median (IQR, type-7 quartiles)"
    if summary == "median_range":
        return {"median": s.median, "min": s.min, "max": s.max}, "median_range", "median (minimum–maximum)"
    if s.sd is None:
        return s.mean, "num", "mean ± SD"
    return {"mean": s.mean, "sd": s.sd}, "mean_sd", "mean ± SD"


def _continuous(
    table: Table, binder: CellBinder, frame: pd.DataFrame, arm_of: pd.Series, arms: Sequence[Arm],
    var: Variable, named: SummaryRule, t_method: str, file: str, used: _Used, label_summary: bool,
) -> None:
    try:
        values = pd.to_numeric(frame[var.column], errors="raise")
    except (TypeError, ValueError):
        bad = frame[var.column][pd.to_numeric(frame[var.column], errors="coerce").isna() & frame[var.column].notna()]
        raise DataValidationError(file, f"non-numeric value in continuous baseline variable {var.label!r}",
                                  column=var.column, value=bad.iloc[0], expected="a number or missing",
                                  more=len(bad) - 1) from None
    summary = var.summary or named.summary
    test = var.test or (named.more_groups if len(arms) > 2 else named.two_groups)
    if test == "t":
        test = t_method
    if test in _TWO_GROUP_TESTS and len(arms) != 2:
        raise ConfigError(
            f"Invalid `test` {test!r} of variable {var.label!r}: it compares two groups and the table has "
            f"{len(arms)} ({[a.code for a in arms]}); use 'anova' or 'kruskal'"
        )
    _add(used.summaries, SUMMARIES[summary])
    row = table.add_row(Row(f"{var.label}, {SUMMARIES[summary]}" if label_summary else var.label))
    samples = []
    for a in arms:
        x = values[(arm_of == a.code).fillna(False)]
        samples.append(x.dropna().to_numpy(dtype=float))
        if not x.notna().any():
            row.cells[a.code] = Cell(DASH, "text")
            continue
        raw, kind, what = _summary_cell(summary, x)
        row.cells[a.code] = binder.cell([var.slug, key_segment(a.code)], raw, kind, digits=var.digits, test=what,
                                        where=f"{var.label}/{a.code}")
    if test == "none":
        _untested(table, binder, row, var, "no test was planned for this variable")
    else:
        reason = _cannot_test(test, samples, arms)
        if reason:
            _untested(table, binder, row, var, reason)
        else:
            _continuous_test(binder, row, var, test, samples, used)
    _missing_row(table, binder, values.isna(), arm_of, arms, var)


def _cannot_test(test: str, samples: Sequence[np.ndarray], arms: Sequence[Arm]) -> str | None:
    """Why ``test`` cannot be run on ``samples``, in words for a footnote, or None."""
    need = 2 if test in ("student", "welch") else 1
    short = [a.name for a, s in zip(arms, samples, strict=True) if len(s) < need]
    with_values = [s for s in samples if len(s)]
    if test in _TWO_GROUP_TESTS and short:
        few = "no values" if need == 1 else "fewer than two values"
        return f"{_and_list(short)} had {few}"
    if len(with_values) < 2:
        return "only one group had values"
    if test == "anova" and sum(len(s) for s in with_values) <= len(with_values):
        return "too few values for an analysis of variance"
    pooled = np.concatenate(with_values)
    if np.all(pooled == pooled[0]):
        return "every value was the same"
    if test in ("student", "welch", "anova") and all(np.all(s == s[0]) for s in with_values):
        return "no variation within any group"
    return None


def _continuous_test(
    binder: CellBinder, row: Row, var: Variable, test: str, samples: Sequence[np.ndarray], used: _Used,
) -> None:
    if test in ("student", "welch"):
        res = two_sample_t(samples[0], samples[1], method=test)
        stat, df, df2, p, label = res.statistic, res.df, None, res.p, res.method_label
    elif test == "wilcoxon":
        w = wilcoxon_rank_sum(samples[0], samples[1])
        stat, df, df2, p, label = w.statistic, None, None, w.p, w.method_label
    elif test == "anova":
        f = one_way_anova([s for s in samples if len(s)])
        stat, df, df2, p, label = f.statistic, f.df1, f.df2, f.p, f.method_label
    else:
        k = kruskal_wallis([s for s in samples if len(s)])
        stat, df, df2, p, label = k.statistic, k.df, None, k.p, k.method_label
    row.cells["stat"] = binder.cell([var.slug, "stat"], stat, "stat", test=label, where=f"{var.label}/Statistic")
    if df is not None:
        binder.cell([var.slug, "df"], df, "num" if test in ("student", "welch") else "int", test=label,
                    where=f"{var.label}/Statistic")
    if df2 is not None:
        binder.cell([var.slug, "df2"], df2, "int", test=label, where=f"{var.label}/Statistic")
    row.cells["p"] = binder.cell([var.slug, "p"], p, "p", test=label, where=f"{var.label}/P")
    binder.cell([var.slug, "test"], label, "text", test=label, where=f"{var.label}/P")
    used.symbols[label] = _SYMBOLS[test]
    used.continuous.setdefault(label, []).append(var.label[0].lower() + var.label[1:]
                                                 if not var.label[:2].isupper() else var.label)
