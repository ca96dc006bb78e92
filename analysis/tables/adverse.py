"""Adverse events table: per term and arm, patients by worst grade band and in total.

Input is a long frame, one row per patient and term (several rows for one patient and term
are allowed: the worst grade counts), with the term's category and grade; the arm comes from
the patients frame, whose arm sizes are the denominators (a patient with no adverse event
is still a patient of the arm). Terms are grouped under their category with a group-header
row. Each term's total incidence is compared between arms by the study's rule; Fisher rows
are marked and print no chi-square beside their P.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from analysis.errors import ConfigError, DataValidationError
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.study import Arm
from analysis.tables.comparison import STAT_HEADER, add_categorical_test, arm_sizes, register_sizes
from analysis.tables.model import CellBinder, Column, Row, Table, key_segment, slugify

__all__ = ["GRADE_BANDS", "tbl_adverse"]

#: Default grade bands: (label, lowest grade, highest grade).
GRADE_BANDS: tuple[tuple[str, int, int], ...] = (("1–2", 1, 2), ("3–4", 3, 4))


def _check_columns(frame: pd.DataFrame, columns: Sequence[str], file: str) -> None:
    for col in columns:
        if col not in frame.columns:
            raise DataValidationError(file, "missing column", column=col,
                                      expected=f"one of the columns {list(frame.columns)}")


def tbl_adverse(
    events: pd.DataFrame,
    patients: pd.DataFrame,
    arm_column: str,
    arms: Sequence[Arm],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    *,
    id_column: str = "patient_id",
    term_column: str = "term",
    category_column: str = "category",
    grade_column: str = "grade",
    bands: Sequence[tuple[str, int, int]] = GRADE_BANDS,
    terms: Sequence[Sequence[str]] | None = None,
    category_labels: Mapping[str, str] | None = None,
    rule: CategoricalRule | None = None,
    inputs: Sequence[str] = (),
    stub_header: str = "Adverse event",
    pct_digits: int | None = None,
) -> Table:
    """Adverse events by term (grouped by category) and arm.

    ``bands`` are (label, lowest, highest) grade bands, e.g. ``(("1–2", 1, 2), ("3–5", 3, 5))``;
    ``terms`` optionally fixes the rows as (term in the data, label[, category]), in order (a
    listed term with no events gets a row of zeros and needs its category); otherwise terms
    appear in data order within their category. ``category_labels`` maps category codes to the
    group-header text (default: the code). ``inputs`` are the file names of (events,
    patients) for the paper trail.

    Keys: ``<prefix>.<term>.<arm>`` (total n (%) of the arm), ``<prefix>.<term>_g<band>.<arm>``
    (patients whose worst grade is in the band), ``<prefix>.<term>.p`` / ``.stat`` / ``.df`` /
    ``.test`` and ``<prefix>.n.<arm>``.

    >>> tbl_adverse(aes, patients, "arm", study.arms, store, "table4", "tbl-ae", "Adverse events",
    ...             bands=(("1–2", 1, 2), ("3–4", 3, 4)))  # doctest: +SKIP
    """
    ev_file = inputs[0] if inputs else "adverse events"
    pt_file = inputs[1] if len(inputs) > 1 else "patients"
    if not bands:
        raise ConfigError("Invalid `bands`: expected at least one (label, lowest, highest) grade band")
    for label, lo, hi in bands:
        if lo > hi:
            raise ConfigError(f"Invalid grade band {label!r}: lowest grade {lo} is above highest {hi}")
    _check_columns(events, [id_column, term_column, category_column, grade_column], ev_file)
    _check_columns(patients, [id_column, arm_column], pt_file)
    sizes = arm_sizes(patients, arm_column, arms, pt_file)
    ids = patients[id_column].astype("string")
    arm_by_id = dict(zip(ids, patients[arm_column].astype("string"), strict=True))

    ev = events.copy()
    ev["_id"] = ev[id_column].astype("string")
    unknown = ev[~ev["_id"].isin(list(arm_by_id))]
    if len(unknown):
        raise DataValidationError(
            ev_file, "adverse event of a patient not in the patients file", column=id_column,
            value=unknown[id_column].iloc[0], expected=f"a patient id of {pt_file}", more=len(unknown) - 1,
        )
    grades = pd.to_numeric(ev[grade_column], errors="coerce")
    bad = ev[grades.isna()]
    if len(bad):
        raise DataValidationError(
            ev_file, "grade is missing or not a number", column=grade_column,
            value=bad[grade_column].iloc[0], expected="a CTCAE grade 1–5", more=len(bad) - 1,
        )
    ev["_grade"] = grades
    ev["_arm"] = ev["_id"].map(arm_by_id)
    ev["_term"] = ev[term_column].astype("string")
    ev["_cat"] = ev[category_column].astype("string")
    conflict = ev.groupby("_term")["_cat"].nunique()
    if (conflict > 1).any():
        term = conflict[conflict > 1].index[0]
        raise DataValidationError(
            ev_file, f"term {term!r} is filed under more than one category", column=category_column,
            value=sorted(ev.loc[ev["_term"] == term, "_cat"].unique()), expected="one category per term",
        )
    worst = ev.groupby(["_term", "_id"], sort=False).agg(grade=("_grade", "max"), arm=("_arm", "first"))
    worst = worst.reset_index()
    in_band = pd.Series(False, index=worst.index)
    for _, lo, hi in bands:  # one vectorised comparison per band, not a Python call per row
        in_band |= worst["grade"].between(lo, hi)
    outside = worst[~in_band]
    if len(outside):
        raise DataValidationError(
            ev_file, f"worst grade of term {outside['_term'].iloc[0]!r} is in no grade band",
            column=grade_column, value=outside["grade"].iloc[0],
            expected=f"a grade in the bands {[b[0] for b in bands]}",
        )

    last = ev.drop_duplicates("_term", keep="last")  # as dict(zip(...)) over every row, in one pass
    category_of = dict(zip(last["_term"], last["_cat"], strict=True))
    order = [(t, t) for t in ev["_term"].unique()]
    if terms is not None:
        order = []
        for spec in terms:
            term, label = str(spec[0]), str(spec[1])
            if len(spec) > 2:
                category_of.setdefault(term, str(spec[2]))
            if term not in category_of:
                raise ConfigError(
                    f"Invalid `terms` entry {tuple(spec)!r}: term {term!r} has no events, so its category is "
                    "unknown; expected (term, label, category)"
                )
            order.append((term, label))
    categories = list(dict.fromkeys(category_of[t] for t, _ in order))

    binder = CellBinder(store, prefix, table_id, tuple(inputs))
    # each term's rows once, by one grouping (a mask per term would scan every row per term)
    by_term = {term: frame for term, frame in worst.groupby("_term", sort=False)}
    empty = worst.iloc[:0]
    columns = []
    for a in arms:
        spanner = f"{a.label} (n={sizes[a.code]})"
        columns += [Column(f"{a.code}_g{slugify(lab)}", f"Grade {lab}", spanner) for lab, _, _ in bands]
        columns.append(Column(f"{a.code}_total", "Total", spanner))
    table = Table(table_id, caption, stub_header, [*columns, Column("stat", STAT_HEADER), Column("p", "P")])
    register_sizes(binder, arms, sizes)
    for cat in categories:
        table.add_row(Row((category_labels or {}).get(cat, cat), is_group_header=True))
        for term, label in order:
            if category_of[term] != cat:
                continue
            slug = slugify(term)
            rows = by_term.get(term, empty)
            row = table.add_row(Row(label, indent=1))
            yes = []
            for a in arms:
                mine = rows[rows["arm"] == a.code]
                for lab, lo, hi in bands:
                    n = int(((mine["grade"] >= lo) & (mine["grade"] <= hi)).sum())
                    row.cells[f"{a.code}_g{slugify(lab)}"] = binder.cell(
                        [f"{slug}_g{slugify(lab)}", key_segment(a.code)], n, "int",
                        test="count of patients by worst grade", where=f"{label}/{a.name} Grade {lab}",
                    )
                total = len(mine)
                yes.append(total)
                row.cells[f"{a.code}_total"] = binder.cell(
                    [slug, key_segment(a.code)], {"n": total, "N": sizes[a.code]}, "n_pct", digits=pct_digits,
                    test="count of patients", where=f"{label}/{a.name} Total",
                )
            no = [sizes[a.code] - n for a, n in zip(arms, yes, strict=True)]
            add_categorical_test(binder, table, row, slug, [yes, no], rule, outcome=True)
    table.notes.append(
        "Grade columns: patients by their worst grade of the event; Total: n (%) of all patients of the arm."
    )
    table.notes.append(f"P values compare total incidence: {(rule or CategoricalRule()).describe()}.")
    return table.validate()
