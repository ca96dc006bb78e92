"""Baseline characteristics table: one block per variable, arms as columns, a test each.

Variables are given as spec dicts (or :class:`Variable`)::

    {"column": "sex", "label": "Sex", "type": "categorical",
     "levels": [["male", "Male"], ["female", "Female"]]}
    {"column": "age", "label": "Age (years)", "type": "continuous", "digits": 1}

Categorical variables show n (%) per level and arm (``"format": "n"`` for counts only), with
one test per variable by the study's rule (Pearson's chi-square without correction, Fisher's
exact test when an expected count is below 5; Fisher rows are marked and have no statistic).
Continuous variables show mean ± SD per arm with Student's or Welch's t-test.

Missing values are never dropped silently: a "Missing" row under the variable gives their
count per arm, and the tests use the patients with a known value. A value outside a
variable's declared levels is an error, not a new row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.errors import ConfigError, DataValidationError, StatisticsError
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.stats.descriptive import mean_sd
from analysis.stats.ttest import two_sample_t
from analysis.study import Arm
from analysis.tables.comparison import add_categorical_test, arm_columns, arm_sizes, register_sizes
from analysis.tables.model import CellBinder, Column, Row, Table, key_segment, slugify

__all__ = ["Variable", "tbl_baseline"]

_TYPES = ("categorical", "continuous")
_FORMATS = ("n_pct", "n")


@dataclass(frozen=True)
class Variable:
    """One baseline variable: data ``column``, row ``label``, ``type`` (categorical or
    continuous), ``levels`` as (code, label) pairs in row order (categorical; default: the
    observed values, sorted), ``digits`` of mean ± SD (continuous) and ``format`` of the level
    cells ("n_pct" or "n"). ``key`` is its key segment (default: the column name)."""

    column: str
    label: str
    type: str
    levels: tuple[tuple[str, str], ...] | None = None
    digits: int = 1
    format: str = "n_pct"
    key: str | None = None

    @property
    def slug(self) -> str:
        """The key segment of the variable (``key`` or the column, slugified)."""
        return self.key or slugify(self.column)

    @classmethod
    def coerce(cls, spec: Variable | Mapping[str, Any]) -> Variable:
        """From a Variable or a spec dict, with a clear error for a malformed spec."""
        if isinstance(spec, Variable):
            return spec
        if not isinstance(spec, Mapping) or "column" not in spec:
            raise ConfigError(f"Invalid baseline variable {spec!r}: expected a mapping with `column`")
        kind = spec.get("type", "categorical")
        if kind not in _TYPES:
            raise ConfigError(
                f"Invalid `type` {kind!r} of variable {spec['column']!r}. Must be one of: {_TYPES}"
            )
        fmt = spec.get("format", "n_pct")
        if fmt not in _FORMATS:
            raise ConfigError(
                f"Invalid `format` {fmt!r} of variable {spec['column']!r}. Must be one of: {_FORMATS}"
            )
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
                        f"Invalid level {lev!r} of variable {spec['column']!r}: "
                        "expected a code or [code, label]"
                    )
            levels = tuple(pairs)
        return cls(str(spec["column"]), str(spec.get("label", spec["column"])), kind, levels,
                   int(spec.get("digits", 1)), fmt, spec.get("key"))


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
    inputs: Sequence[str] = (),
    stub_header: str = "Characteristic",
    pct_digits: int | None = None,
) -> Table:
    """Baseline characteristics by arm with a "Statistic" and a "P" column.

    Keys: ``<prefix>.<var>_<level>.<arm>`` (level cells), ``<prefix>.<var>.<arm>``
    (mean ± SD), ``<prefix>.<var>.p`` / ``.stat`` / ``.df`` / ``.test``,
    ``<prefix>.<var>_missing.<arm>`` and ``<prefix>.n.<arm>``.

    >>> tbl_baseline(patients, "arm", study.arms, store, "table1", "tbl-baseline",
    ...              "Baseline characteristics",
    ...              [{"column": "age", "label": "Age (years)", "type": "continuous"}])  # doctest: +SKIP
    """
    file = inputs[0] if inputs else "data frame"
    specs = [Variable.coerce(v) for v in variables]
    sizes = arm_sizes(frame, arm_column, arms, file)
    binder = CellBinder(store, prefix, table_id, tuple(inputs))
    table = Table(table_id, caption, stub_header,
                  [*arm_columns(arms, sizes), Column("stat", "Statistic"), Column("p", "P")])
    register_sizes(binder, arms, sizes)
    arm_of = frame[arm_column].astype("string")
    t_label = None
    has_categorical = False
    for var in specs:
        if var.column not in frame.columns:
            raise DataValidationError(file, f"missing column for baseline variable {var.label!r}",
                                      column=var.column, expected=f"one of the columns {list(frame.columns)}")
        if var.type == "categorical":
            has_categorical = True
            _categorical(table, binder, frame, arm_of, arms, sizes, var, rule, file, pct_digits)
        else:
            t_label = _continuous(table, binder, frame, arm_of, arms, var, t_method) or t_label
    parts = []
    if has_categorical:
        parts.append(f"χ² for categorical variables ({(rule or CategoricalRule()).describe()})")
    if t_label:
        parts.append(f"t for continuous variables ({t_label})")
    table.notes.append("Values are n (%) or mean ± SD. Statistic: " + "; ".join(parts) + ".")
    if any(r.label == "Missing" for r in table.rows):
        table.notes.append("Missing values are counted in the Missing rows and left out of the tests.")
    return table.validate()


def _categorical(
    table: Table, binder: CellBinder, frame: pd.DataFrame, arm_of: pd.Series, arms: Sequence[Arm],
    sizes: Mapping[str, int], var: Variable, rule: CategoricalRule | None, file: str, pct_digits: int | None,
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
    for code, label in levels:
        row = table.add_row(Row(label, indent=1))
        per_arm = []
        for a in arms:
            n = int(((values == code) & (arm_of == a.code)).fillna(False).sum())
            per_arm.append(n)
            raw, kind = ({"n": n, "N": sizes[a.code]}, "n_pct") if var.format == "n_pct" else (n, "int")
            row.cells[a.code] = binder.cell(
                [f"{var.slug}_{slugify(code)}", key_segment(a.code)], raw, kind,
                digits=pct_digits if kind == "n_pct" else None, test="count of patients",
                where=f"{var.label}: {label}/{a.code}",
            )
        counts.append(per_arm)
    _missing_row(table, binder, values.isna(), arm_of, arms, sizes, var, pct_digits)
    add_categorical_test(binder, table, head, var.slug, counts, rule)


def _missing_row(
    table: Table, binder: CellBinder, missing: pd.Series, arm_of: pd.Series, arms: Sequence[Arm],
    sizes: Mapping[str, int], var: Variable, pct_digits: int | None,
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


def _continuous(
    table: Table, binder: CellBinder, frame: pd.DataFrame, arm_of: pd.Series, arms: Sequence[Arm],
    var: Variable, t_method: str,
) -> str | None:
    if len(arms) != 2:
        raise StatisticsError(
            f"Continuous baseline variable {var.label!r} is compared by a two-sample t-test, which needs "
            f"exactly two arms; got {len(arms)}: {[a.code for a in arms]}"
        )
    values = pd.to_numeric(frame[var.column], errors="raise")
    row = table.add_row(Row(var.label))
    samples = []
    for a in arms:
        x = values[(arm_of == a.code).fillna(False)]
        summary = mean_sd(x.to_numpy(dtype=float))
        # a single value has no SD: the mean alone, never a made-up SD
        raw, kind = ({"mean": summary.mean, "sd": summary.sd}, "mean_sd") if summary.sd is not None \
            else (summary.mean, "num")
        row.cells[a.code] = binder.cell(
            [var.slug, key_segment(a.code)], raw, kind,
            digits=var.digits, test="mean ± SD", where=f"{var.label}/{a.code}",
        )
        samples.append(x.dropna().to_numpy(dtype=float))
    test = two_sample_t(samples[0], samples[1], method=t_method)
    row.cells["stat"] = binder.cell([var.slug, "stat"], test.statistic, "stat", test=test.method_label,
                                    where=f"{var.label}/Statistic")
    binder.cell([var.slug, "df"], test.df, "num", test=test.method_label, where=f"{var.label}/Statistic")
    row.cells["p"] = binder.cell([var.slug, "p"], test.p, "p", test=test.method_label, where=f"{var.label}/P")
    binder.cell([var.slug, "test"], test.method_label, "text", test=test.method_label, where=f"{var.label}/P")
    sizes = {a.code: int((arm_of == a.code).fillna(False).sum()) for a in arms}
    _missing_row(table, binder, values.isna(), arm_of, arms, sizes, var, None)
    return test.method_label
