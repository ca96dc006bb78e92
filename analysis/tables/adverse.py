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
from dataclasses import dataclass

import numpy as np
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
    worst = _worst_grades(events, patients, arm_column, arms, id_column, term_column, category_column,
                          grade_column, ev_file, pt_file)
    in_band = np.zeros(len(worst.grade), dtype=bool)
    for _, lo, hi in bands:  # one vectorised comparison per band, not a Python call per row
        in_band |= worst.grade.between(lo, hi).to_numpy(dtype=bool)
    if not in_band.all():
        first = int(np.argmin(in_band))
        raise DataValidationError(
            ev_file, f"worst grade of term {worst.terms[worst.term[first]]!r} is in no grade band",
            column=grade_column, value=worst.grade.iloc[first],
            expected=f"a grade in the bands {[b[0] for b in bands]}",
        )

    category_of = dict(zip(worst.terms, worst.categories, strict=True))
    order = [(t, t) for t in worst.terms]
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
    # patients per term and arm, in total and by band: one count over all (term, patient) pairs
    cells = len(worst.terms) * len(arms)
    of_arm = worst.arm >= 0
    cell = (worst.term * len(arms) + worst.arm)[of_arm]
    totals = np.bincount(cell, minlength=cells).reshape(-1, len(arms))
    by_band = [np.bincount(cell, weights=worst.grade.between(lo, hi).to_numpy(dtype=bool)[of_arm],
                           minlength=cells).reshape(-1, len(arms)) for _, lo, hi in bands]
    position = {t: i for i, t in enumerate(worst.terms)}

    binder = CellBinder(store, prefix, table_id, tuple(inputs))
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
            i = position.get(term)
            row = table.add_row(Row(label, indent=1))
            yes = []
            for j, a in enumerate(arms):
                for (lab, _, _), counts in zip(bands, by_band, strict=True):
                    n = 0 if i is None else int(counts[i, j])
                    row.cells[f"{a.code}_g{slugify(lab)}"] = binder.cell(
                        [f"{slug}_g{slugify(lab)}", key_segment(a.code)], n, "int",
                        test="count of patients by worst grade", where=f"{label}/{a.name} Grade {lab}",
                    )
                total = 0 if i is None else int(totals[i, j])
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


@dataclass(frozen=True)
class _Worst:
    """Each (term, patient) pair once, in order of first appearance, with the worst grade.

    ``term`` indexes ``terms`` (the distinct terms in data order) and ``categories`` (each
    term's category on its last row); ``arm`` indexes the arms (-1: none of them).
    """

    terms: list[str]
    categories: list[str]
    term: np.ndarray
    arm: np.ndarray
    grade: pd.Series


def _worst_grades(
    events: pd.DataFrame, patients: pd.DataFrame, arm_column: str, arms: Sequence[Arm], id_column: str,
    term_column: str, category_column: str, grade_column: str, ev_file: str, pt_file: str,
) -> _Worst:
    """Check the events against the patients and find each patient's worst grade of each
    term, on integer codes (grouping a million rows by their strings is slow)."""
    ids = patients[id_column].astype("string")
    known = pd.Index(ids[~ids.duplicated(keep="last")])  # an id's last row gives its arm, as a dict would
    arm_of = patients[arm_column].astype("string")[~ids.duplicated(keep="last")].to_numpy()
    patient_arm = np.full(len(known), -1, dtype=np.int64)
    for j, a in enumerate(arms):
        patient_arm[arm_of == a.code] = j
    patient = known.get_indexer(events[id_column].astype("string"))
    unknown = patient < 0
    if unknown.any():
        raise DataValidationError(
            ev_file, "adverse event of a patient not in the patients file", column=id_column,
            value=events[id_column].iloc[int(np.argmax(unknown))], expected=f"a patient id of {pt_file}",
            more=int(unknown.sum()) - 1,
        )
    grades = pd.to_numeric(events[grade_column], errors="coerce").reset_index(drop=True)
    missing = grades.isna().to_numpy()
    if missing.any():
        raise DataValidationError(
            ev_file, "grade is missing or not a number", column=grade_column,
            value=events[grade_column].iloc[int(np.argmax(missing))], expected="a CTCAE grade 1–5",
            more=int(missing.sum()) - 1,
        )
    term_text = events[term_column].astype("string")
    if term_text.isna().any():
        raise DataValidationError(ev_file, "missing term", column=term_column,
                                  expected="the adverse event's term on every row")
    term, terms = pd.factorize(term_text, sort=False)  # codes in order of first appearance
    category, category_values = pd.factorize(events[category_column].astype("string"), sort=False)
    pairs = pd.DataFrame({"t": term, "c": category})
    pairs = pairs[pairs["c"] >= 0].drop_duplicates()
    per_term = np.bincount(pairs["t"], minlength=len(terms))
    if (per_term > 1).any():
        bad = terms[int(np.argmax(per_term > 1))]
        categories = events[category_column].astype("string")[(term_text == bad).to_numpy()]
        raise DataValidationError(
            ev_file, f"term {bad!r} is filed under more than one category", column=category_column,
            value=sorted(categories.dropna().unique()), expected="one category per term",
        )
    last = len(term) - 1 - np.unique(term[::-1], return_index=True)[1]  # each term's last row
    categories = [None if category[i] < 0 else category_values[category[i]] for i in last]
    key = term.astype(np.int64) * len(known) + patient
    worst = grades.groupby(key, sort=False).max()
    return _Worst(
        terms=[str(t) for t in terms], categories=categories,
        term=(worst.index.to_numpy() // len(known)).astype(np.int64),
        arm=patient_arm[worst.index.to_numpy() % len(known)], grade=worst.reset_index(drop=True),
    )
