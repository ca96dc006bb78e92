"""Scores before and after treatment (e.g. pain NRS, Karnofsky): arms compared at each time,
and each arm compared with itself.

For each score: a group-header row, a "Before" and an "After" row with mean ± SD per arm and
the between-arm t-test (Student's or Welch's, as the study chooses) in the t and P columns,
then one row per arm with its mean change (after − before) and the paired t-test. Missing
values are shown in "Missing" rows; between-arm tests use the known values and paired tests
the complete pairs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import ConfigError, DataValidationError, StatisticsError
from analysis.results import ResultsStore
from analysis.stats.descriptive import mean_sd
from analysis.stats.ttest import paired_t, two_sample_t
from analysis.study import Arm
from analysis.tables.comparison import arm_columns, arm_sizes, register_sizes
from analysis.tables.model import CellBinder, Column, Row, Table, key_segment, slugify

__all__ = ["Score", "tbl_scores"]


@dataclass(frozen=True)
class Score:
    """A score measured twice: its ``label``, the ``before`` and ``after`` columns, the
    decimals of its mean ± SD and its key segment (default: slug of the label)."""

    label: str
    before: str
    after: str
    digits: int = 1
    key: str | None = None

    @property
    def slug(self) -> str:
        """The key segment of the score (``key`` or the label, slugified)."""
        return self.key or slugify(self.label)

    @classmethod
    def coerce(cls, spec: Score | Mapping[str, Any]) -> Score:
        """A Score from a Score or a spec mapping (``label``, ``before``, ``after``), with a clear error."""
        if isinstance(spec, Score):
            return spec
        missing = [k for k in ("label", "before", "after") if not isinstance(spec, Mapping) or k not in spec]
        if missing:
            raise ConfigError(
                f"Invalid score {spec!r}: missing {missing}; expected `label`, `before`, `after`"
            )
        return cls(str(spec["label"]), str(spec["before"]), str(spec["after"]), int(spec.get("digits", 1)),
                   spec.get("key"))


def tbl_scores(
    frame: pd.DataFrame,
    arm_column: str,
    arms: Sequence[Arm],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    scores: Sequence[Score | Mapping[str, Any]],
    *,
    t_method: str = "student",
    inputs: Sequence[str] = (),
    stub_header: str = "Score",
) -> Table:
    """Before/after scores by arm, with between-arm and within-arm (paired) t-tests.

    Keys: ``<prefix>.<score>_before.<arm>`` and ``_after`` (mean ± SD), their ``.stat``,
    ``.df``, ``.p``, ``.test``; ``<prefix>.<score>_change_<arm>.<arm>`` (mean change, after −
    before) with ``.stat``, ``.df``, ``.p``, ``.test`` of the paired test;
    ``<prefix>.<score>_<time>_missing.<arm>``; ``<prefix>.n.<arm>``.

    >>> tbl_scores(patients, "arm", study.arms, store, "table3", "tbl-scores", "Pain and performance",
    ...            [{"label": "NRS", "before": "nrs_before", "after": "nrs_after"}])  # doctest: +SKIP
    """
    if len(arms) != 2:
        raise StatisticsError(
            f"The scores table compares two arms by t-test; got {len(arms)} arms: {[a.code for a in arms]}"
        )
    file = inputs[0] if inputs else "data frame"
    specs = [Score.coerce(s) for s in scores]
    sizes = arm_sizes(frame, arm_column, arms, file)
    binder = CellBinder(store, prefix, table_id, tuple(inputs))
    columns = [*arm_columns(arms, sizes), Column("stat", "t"), Column("p", "P")]
    table = Table(table_id, caption, stub_header, columns)
    register_sizes(binder, arms, sizes)
    arm_of = frame[arm_column].astype("string")
    masks = {a.code: (arm_of == a.code).fillna(False).to_numpy() for a in arms}
    labels: dict[str, str] = {}
    for score in specs:
        for col in (score.before, score.after):
            if col not in frame.columns:
                raise DataValidationError(file, f"missing column of score {score.label!r}", column=col,
                                          expected=f"one of the columns {list(frame.columns)}")
        table.add_row(Row(score.label, is_group_header=True))
        data = {t: pd.to_numeric(frame[c], errors="raise").to_numpy(dtype=float)
                for t, c in (("before", score.before), ("after", score.after))}
        for time, title in (("before", "Before"), ("after", "After")):
            slug = f"{score.slug}_{time}"
            row = table.add_row(Row(title, indent=1))
            where = f"{score.label} {title}"
            for a in arms:
                s = mean_sd(data[time][masks[a.code]])
                raw, kind = ({"mean": s.mean, "sd": s.sd}, "mean_sd") if s.sd is not None else (s.mean, "num")
                row.cells[a.code] = binder.cell(
                    [slug, key_segment(a.code)], raw, kind, digits=score.digits,
                    test="mean ± SD", where=f"{where}/{a.code}",
                )
            x, y = (data[time][masks[a.code]] for a in arms)
            test = two_sample_t(x, y, method=t_method, dropna=True)
            labels["between"] = test.method_label
            _test_cells(binder, row, slug, test, where)
            _missing(table, binder, data[time], masks, arms, f"{slug}_missing", f"Missing, {title.lower()}")
        for a in arms:
            slug = f"{score.slug}_change_{slugify(a.code)}"
            title = f"Change, {a.name}"
            row = table.add_row(Row(title, indent=1))
            test = paired_t(data["before"][masks[a.code]], data["after"][masks[a.code]], dropna=True)
            labels["paired"] = test.method_label
            row.cells[a.code] = binder.cell(
                [slug, key_segment(a.code)], test.mean_diff, "num", digits=score.digits,
                test=f"mean change (after − before), {test.method_label}",
                where=f"{score.label} {title}/{a.code}",
            )
            _test_cells(binder, row, slug, test, f"{score.label} {title}")
    table.notes.append(
        "Before and After rows: mean ± SD, arms compared by "
        f"{labels.get('between', t_method)}. Change rows: mean change (after − before) within the arm, "
        f"by the {labels.get('paired', 'paired t-test')} on complete pairs."
    )
    if any(r.label.startswith("Missing") for r in table.rows):
        table.notes.append("Missing values are counted in the Missing rows and left out of the tests.")
    return table.validate()


def _test_cells(binder: CellBinder, row: Row, slug: str, test: Any, where: str) -> None:
    row.cells["stat"] = binder.cell([slug, "stat"], test.statistic, "stat", test=test.method_label,
                                    where=f"{where}/t")
    binder.cell([slug, "df"], test.df, "num", test=test.method_label, where=f"{where}/t")
    row.cells["p"] = binder.cell([slug, "p"], test.p, "p", test=test.method_label, where=f"{where}/P")
    binder.cell([slug, "test"], test.method_label, "text", test=test.method_label, where=f"{where}/P")


def _missing(
    table: Table, binder: CellBinder, values: np.ndarray, masks: Mapping[str, np.ndarray],
    arms: Sequence[Arm], slug: str, title: str,
) -> None:
    missing = np.isnan(values)
    if not missing.any():
        return
    row = table.add_row(Row(title, indent=2))
    for a in arms:
        n = int((missing & masks[a.code]).sum())
        row.cells[a.code] = binder.cell([slug, key_segment(a.code)], n, "int",
                                        test="count of missing values", where=f"{title}/{a.code}")
