"""Compare groups on a categorical outcome: n (%) per group and a test by the study's rule.

:func:`tbl_comparison` builds a table of outcome rows (e.g. PR, MR, ORR) by group (two or
more arms or subgroups) with Pearson's chi-square or Fisher's exact test (as
:func:`analysis.stats.contingency.compare_counts` chooses) on the rows asked for.
:func:`add_categorical_test` puts one such test into a row; the other builders use it too,
so every table marks Fisher rows and leaves their statistic cell empty the same way.

Denominators are all patients of the group (intention to treat); a patient without an
outcome counts as not having it and is shown in a "Missing" row, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.errors import DataValidationError, StatisticsError
from analysis.formatting import fmt_int
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule, CategoricalTest, UntestableTable, compare_counts
from analysis.study import Arm
from analysis.tables.model import Cell, CellBinder, Column, Row, Table, key_segment, slugify

__all__ = [
    "DASH",
    "Outcome",
    "add_categorical_test",
    "arm_columns",
    "arm_sizes",
    "drop_empty_column",
    "register_sizes",
    "tbl_comparison",
    "untested_reason",
]

#: What a cell shows when a test was not done (e.g. a single observed level).
DASH = "–"
STAT_HEADER = "χ²"


@dataclass(frozen=True)
class Outcome:
    """An outcome row: its label, the outcome codes it counts (one code, or several for a
    composite such as ORR = CR + VGPR + PR), its key segment and its indent."""

    label: str
    codes: tuple[str, ...]
    key: str | None = None
    indent: int = 0

    @property
    def slug(self) -> str:
        """The outcome's key segment: ``key``, or the label made a key segment."""
        return self.key or slugify(self.label)

    @classmethod
    def coerce(cls, spec: Outcome | Mapping[str, Any] | str) -> Outcome:
        """From an Outcome, a code ("CR"), or a dict ``{"label": "ORR", "codes": [...]}``."""
        if isinstance(spec, Outcome):
            return spec
        if isinstance(spec, str):
            return cls(spec, (spec,))
        if not isinstance(spec, Mapping) or "label" not in spec:
            raise StatisticsError(
                f"Invalid outcome {spec!r}: expected a code or a mapping with `label` and `codes`"
            )
        codes = spec.get("codes", [spec["label"]])
        codes = (codes,) if isinstance(codes, str) else tuple(str(c) for c in codes)
        return cls(str(spec["label"]), codes, spec.get("key"), int(spec.get("indent", 0)))


def arm_sizes(
    frame: pd.DataFrame, arm_column: str, arms: Sequence[Arm], file: str = "data frame"
) -> dict[str, int]:
    """Patients per arm; raises DataValidationError for a patient in no listed arm."""
    if arm_column not in frame.columns:
        raise DataValidationError(file, "missing arm column", column=arm_column,
                                  expected=f"one of the columns {list(frame.columns)}")
    codes = [a.code for a in arms]
    values = frame[arm_column].astype("string")
    stray = frame[~values.isin(codes) | values.isna()]
    if len(stray):
        raise DataValidationError(
            file, "a patient belongs to no arm of the table", column=arm_column,
            value=stray[arm_column].iloc[0], expected=f"one of {codes}", more=len(stray) - 1,
        )
    sizes = {a.code: int((values == a.code).sum()) for a in arms}
    empty = [a for a in arms if sizes[a.code] == 0]
    if empty:
        raise DataValidationError(
            file, f"no patient is in {empty[0].name!r}", column=arm_column, value=empty[0].code,
            expected=f"at least one row with each declared code ({', '.join(map(str, codes))}); "
            "check the arm codes in study.yaml against the data",
        )
    return sizes


def arm_columns(arms: Sequence[Arm], sizes: Mapping[str, int], spanner: str | None = None) -> list[Column]:
    """One right-aligned column per arm headed "<arm label> (n=<N>)" (prose uses the short name)."""
    return [Column(a.code, f"{a.label} (n={fmt_int(sizes[a.code])})", spanner, "right") for a in arms]


def register_sizes(binder: CellBinder, arms: Sequence[Arm], sizes: Mapping[str, int]) -> None:
    """Store ``<prefix>.n.<arm>`` for every arm (the "n=" of the column headers)."""
    for a in arms:
        binder.cell(["n", key_segment(a.code)], sizes[a.code], "int", test="count of patients",
                    where=f"header/{a.code}")


def untested_reason(counts: Sequence[Sequence[int]], error: UntestableTable, *, outcome: bool = False) -> str:
    """Why ``counts`` (levels x groups) could not be tested, in words for a footnote.

    With ``outcome=True`` the two rows are "has the outcome" and "has not" (a 2 x k table of
    :func:`tbl_comparison`), so a single non-empty row says whether nobody or everybody had it.
    """
    if error.nonempty_cols < 2:
        if sum(sum(r) for r in counts) == 0:
            return "no patient had a known value"
        return "only one group had patients with a known value"
    if outcome and len(counts) == 2:
        return "no patient had this outcome" if sum(counts[0]) == 0 else "every patient had this outcome"
    return "only one level was observed"


def drop_empty_column(table: Table, key: str) -> None:
    """Remove column ``key`` when no row has a cell in it (e.g. a χ² column where every row
    used Fisher's exact test, which has no statistic)."""
    if not any(key in row.cells for row in table.rows):
        table.columns = [c for c in table.columns if c.key != key]


def add_categorical_test(
    binder: CellBinder,
    table: Table,
    row: Row,
    slug: str,
    counts: Sequence[Sequence[int]],
    rule: CategoricalRule | None = None,
    *,
    stat_col: str = "stat",
    p_col: str = "p",
    outcome: bool = False,
) -> CategoricalTest | None:
    """Test ``counts`` (levels x arms) by ``rule`` and fill ``row``'s statistic and P cells.

    Stores ``<slug>.p``, ``<slug>.test`` (the method label) and, for Pearson only,
    ``<slug>.stat`` and ``<slug>.df``; for Fisher, Pearson's statistic as ``<slug>.pearson_stat``
    (for audits only, never printed); with ``rule.audit_fisher``, a Pearson row also stores
    Fisher's P as ``<slug>.fisher_p`` (for audits only; otherwise Fisher is not computed).
    A Fisher row gets a footnote naming the test ("Fisher's exact test", or its Monte Carlo
    version with the number of tables and the seed) and an empty statistic cell. A table
    that cannot be tested (one level observed, one group with values; ``outcome=True`` for
    has/has-not rows, see :func:`untested_reason`) shows "–" in both cells with a footnote
    giving that reason, stores it as ``<slug>.test``, and returns None.
    """
    rule = rule or CategoricalRule()
    try:
        test = compare_counts(counts, rule)
    except UntestableTable as exc:
        reason = untested_reason(counts, exc, outcome=outcome)
        row.marks.append(table.mark(f"Not tested: {reason}."))
        row.cells[stat_col] = Cell(DASH, "text")
        row.cells[p_col] = Cell(DASH, "text")
        binder.cell([slug, "test"], f"not tested ({reason})", "text", where=f"{row.label}/{p_col}")
        return None
    stat_header = table.column(stat_col).header
    p_header = table.column(p_col).header
    if test.statistic is not None:
        row.cells[stat_col] = binder.cell([slug, "stat"], test.statistic, "stat", test=test.method_label,
                                          where=f"{row.label}/{stat_header}")
        binder.cell([slug, "df"], test.df, "int", test=test.method_label, where=f"{row.label}/{stat_header}")
        if rule.audit_fisher:
            binder.cell([slug, "fisher_p"], test.fisher_p, "p",
                        test=f"{test.fisher_result.label} (not printed: Pearson chi-square was used)")
    else:
        row.marks.append(table.mark(test.method_label))
        # Not printed (Fisher's P stands alone), but kept so an audit can check a paper that
        # printed Pearson's statistic beside a Fisher P.
        binder.cell([slug, "pearson_stat"], test.pearson_statistic, "stat",
                    test="Pearson chi-square (not printed: Fisher's exact test was used)")
    row.cells[p_col] = binder.cell([slug, "p"], test.p, "p", test=test.method_label,
                                   where=f"{row.label}/{p_header}")
    binder.cell([slug, "test"], test.method_label, "text", test=test.method_label,
                where=f"{row.label}/{p_header}")
    return test


def tbl_comparison(
    frame: pd.DataFrame,
    group_column: str,
    groups: Sequence[Arm],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    *,
    outcome_column: str,
    outcomes: Sequence[Outcome | Mapping[str, Any] | str],
    test: Sequence[str] | str = (),
    rule: CategoricalRule | None = None,
    stub_header: str = "Outcome",
    inputs: Sequence[str] = (),
    pct_digits: int | None = None,
) -> Table:
    """A table of outcome rows, n (%) per group, with tests on the rows named in ``test``.

    ``outcomes`` are codes or :class:`Outcome` specs in row order; ``test`` names rows (by
    label or key segment) to compare across groups as 2 x k tables (has the outcome or
    not, by group). Keys: ``<prefix>.<outcome>.<group>`` (n_pct), ``<prefix>.<outcome>.p``,
    ``.stat``, ``.df``, ``.test``, ``<prefix>.n.<group>``; a "Missing" row
    (``<prefix>.missing.<group>``) appears when any outcome is missing.

    >>> tbl_comparison(df, "relapse", [Arm("relapsed", "Relapsed"), Arm("refractory", "Refractory")],
    ...                store, "table5", "tbl-subgroups", "Response by disease status",
    ...                outcome_column="response", outcomes=["PR", "MR", {"label": "ORR",
    ...                "codes": ["CR", "VGPR", "PR"]}], test="ORR")  # doctest: +SKIP
    """
    file = inputs[0] if inputs else "data frame"
    if outcome_column not in frame.columns:
        raise DataValidationError(file, "missing outcome column", column=outcome_column,
                                  expected=f"one of the columns {list(frame.columns)}")
    specs = [Outcome.coerce(o) for o in outcomes]
    tested = {test} if isinstance(test, str) else set(test)
    unknown = tested - {o.label for o in specs} - {o.slug for o in specs}
    if unknown:
        raise StatisticsError(
            f"Invalid `test` row(s) {sorted(unknown)}: expected labels of the outcomes "
            f"{[o.label for o in specs]}"
        )
    sizes = arm_sizes(frame, group_column, groups, file)
    binder = CellBinder(store, prefix, table_id, tuple(inputs))
    table = Table(table_id, caption, stub_header,
                  [*arm_columns(groups, sizes), Column("stat", STAT_HEADER), Column("p", "P")])
    register_sizes(binder, groups, sizes)
    arm_of = frame[group_column].astype("string")
    outcome = frame[outcome_column].astype("string")
    for spec in specs:
        row = Row(spec.label, indent=spec.indent)
        has = outcome.isin(spec.codes).fillna(False)
        yes = [int((has & (arm_of == g.code)).sum()) for g in groups]
        for g, n in zip(groups, yes, strict=True):
            row.cells[g.code] = binder.cell(
                [spec.slug, key_segment(g.code)], {"n": n, "N": sizes[g.code]}, "n_pct", digits=pct_digits,
                test="count of patients", where=f"{spec.label}/{g.code}",
            )
        if spec.label in tested or spec.slug in tested:
            no = [sizes[g.code] - n for g, n in zip(groups, yes, strict=True)]
            add_categorical_test(binder, table, row, spec.slug, [yes, no], rule, outcome=True)
        table.add_row(row)
    missing = outcome.isna()
    if missing.any():
        row = Row("Missing")
        for g in groups:
            n = int((missing & (arm_of == g.code)).sum())
            row.cells[g.code] = binder.cell(["missing", key_segment(g.code)], {"n": n, "N": sizes[g.code]},
                                            "n_pct", digits=pct_digits, test="count of patients",
                                            where=f"Missing/{g.code}")
        table.add_row(row)
        table.notes.append("Patients with a missing outcome are counted as not having it in the tests.")
    drop_empty_column(table, "stat")
    table.notes.insert(0, "Values are n (%) of all patients in each group.")
    if tested:
        table.notes.append(f"P values: {(rule or CategoricalRule()).describe()}.")
    return table.validate()
