"""Descriptive statistics for Table 1: mean and SD, counts by level, cross-tabulations.

Missing values are always counted and returned, never silently dropped. A value that is not
missing and not one of the declared levels is an error (a typo in the data must not vanish
from a table).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import StatisticsError

__all__ = ["CrossTab", "LevelCounts", "MeanSD", "count_levels", "crosstab", "mean_sd"]


@dataclass(frozen=True)
class MeanSD:
    """Mean and SD (``ddof=1``, as SPSS and R) of the non-missing values.

    ``sd`` is ``None`` when fewer than two values are present (it is undefined).
    """

    n: int
    n_missing: int
    mean: float
    sd: float | None


def mean_sd(x: Iterable[Any]) -> MeanSD:
    """Mean and sample SD (``ddof=1``) of ``x``; NaN, None and pandas NA count as missing.

    Raises :class:`StatisticsError` for a non-numeric or infinite value, or when every value
    is missing.
    """
    present: list[float] = []
    missing = 0
    for v in x.tolist() if hasattr(x, "tolist") else x:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            missing += 1
            continue
        if isinstance(v, (bool, str, bytes)):
            raise StatisticsError(f"Invalid value {v!r} in a numeric variable; expected a number or missing")
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise StatisticsError(
                f"Invalid value {v!r} in a numeric variable; expected a number or missing"
            ) from None
        if np.isinf(fv):
            raise StatisticsError(f"Invalid value {v!r} in a numeric variable; expected a finite number")
        present.append(fv)
    if not present:
        raise StatisticsError(f"No non-missing values ({missing} missing): mean and SD are undefined")
    arr = np.asarray(present)
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else None
    return MeanSD(len(arr), missing, float(arr.mean()), sd)


@dataclass(frozen=True)
class LevelCounts:
    """Counts per level, in the order the levels were given.

    ``total`` is the number of non-missing values (the denominator of percentages);
    ``n_missing`` the number of missing ones.
    """

    levels: tuple[Any, ...]
    counts: tuple[int, ...]
    n_missing: int
    total: int

    def as_dict(self) -> dict[Any, int]:
        """``{level: count}`` in level order."""
        return dict(zip(self.levels, self.counts, strict=True))


def _unknown_error(name: str, values: Iterable[Any], levels: Sequence[Any]) -> StatisticsError:
    unknown = sorted({repr(v) for v in values})
    return StatisticsError(
        f"`{name}` has value(s) {', '.join(unknown[:5])} that are not among its declared levels "
        f"{list(levels)}"
    )


def count_levels(series: Iterable[Any], levels: Sequence[Any], name: str = "variable") -> LevelCounts:
    """Count each of ``levels`` in ``series`` (in the given order); missing counted separately.

    Raises :class:`StatisticsError` when a non-missing value is not a declared level, or when
    ``levels`` has duplicates.
    """
    if len(set(levels)) != len(levels):
        raise StatisticsError(f"`levels` of `{name}` has duplicates: {list(levels)}")
    s = series if isinstance(series, pd.Series) else pd.Series(list(series), dtype=object)
    missing = s.isna()
    present = s[~missing]
    known = present.isin(list(levels))
    if not known.all():
        raise _unknown_error(name, present[~known], levels)
    counts = tuple(int((present == level).sum()) for level in levels)
    return LevelCounts(tuple(levels), counts, int(missing.sum()), len(present))


@dataclass(frozen=True)
class CrossTab:
    """A count table of ``row`` by ``col`` (levels in the given order).

    ``counts`` is a tuple of rows (plain ints, so it serialises); :meth:`as_array` gives a numpy
    array for :func:`analysis.stats.contingency.compare_counts`. ``n_missing`` counts records
    missing either variable (they are not in the table).
    """

    row_levels: tuple[Any, ...]
    col_levels: tuple[Any, ...]
    counts: tuple[tuple[int, ...], ...]
    n_missing: int

    def as_array(self) -> np.ndarray:
        """The counts as a 2-D array (rows by columns)."""
        return np.array(self.counts, dtype=np.int64)


def crosstab(
    frame: pd.DataFrame, row: str, col: str, row_levels: Sequence[Any], col_levels: Sequence[Any]
) -> CrossTab:
    """Cross-tabulate two columns of ``frame`` with declared levels; missing counted, not dropped.

    Raises :class:`StatisticsError` for an unknown column or a value outside its declared levels.
    """
    for name in (row, col):
        if name not in frame.columns:
            raise StatisticsError(f"Unknown column `{name}`; the frame has {list(frame.columns)}")
    for name, levels in ((row, row_levels), (col, col_levels)):
        if len(set(levels)) != len(levels):
            raise StatisticsError(f"`levels` of `{name}` has duplicates: {list(levels)}")
    missing = frame[row].isna() | frame[col].isna()
    sub = frame.loc[~missing, [row, col]]
    for name, levels in ((row, row_levels), (col, col_levels)):
        known = sub[name].isin(list(levels))
        if not known.all():
            raise _unknown_error(name, sub.loc[~known, name], levels)
    counts = tuple(
        tuple(int(((sub[row] == r) & (sub[col] == c)).sum()) for c in col_levels) for r in row_levels
    )
    return CrossTab(tuple(row_levels), tuple(col_levels), counts, int(missing.sum()))
