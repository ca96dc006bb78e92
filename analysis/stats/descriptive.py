"""Descriptive statistics for Table 1: mean and SD, median with quartiles or range, counts by
level, cross-tabulations.

Quantiles are R's default type 7 (``quantile(x, type = 7)``: linear interpolation between
order statistics), which is numpy's default ``method="linear"``; tested against R.

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

__all__ = [
    "ContinuousSummary", "CrossTab", "LevelCounts", "MeanSD", "count_levels", "crosstab", "mean_sd", "summarise",
]


@dataclass(frozen=True)
class MeanSD:
    """Mean and SD (``ddof=1``, as SPSS and R) of the non-missing values.

    ``sd`` is ``None`` when fewer than two values are present (it is undefined).
    """

    n: int
    n_missing: int
    mean: float
    sd: float | None


def _present(x: Iterable[Any]) -> tuple[np.ndarray, int]:
    """The non-missing values of ``x`` as floats, and how many were missing (NaN, None, pd.NA)."""
    pandas_numeric = isinstance(x, (pd.Series, pd.Index, pd.api.extensions.ExtensionArray)) and \
        pd.api.types.is_numeric_dtype(x.dtype) and not pd.api.types.is_bool_dtype(x.dtype)
    if pandas_numeric:
        arr = pd.Series(x).to_numpy(dtype=float, na_value=np.nan)  # nullable Int64/Float64 too
        if np.any(np.isinf(arr)):
            bad = arr[np.isinf(arr)][0]
            raise StatisticsError(f"Invalid value {bad!r} in a numeric variable; expected a finite number")
        missing = np.isnan(arr)
        return arr[~missing], int(missing.sum())
    if isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype.kind in "iuf":  # as the loop below, at once
        arr = x.astype(float)
        if np.any(np.isinf(arr)):
            bad = float(arr[np.isinf(arr)][0])
            raise StatisticsError(f"Invalid value {bad!r} in a numeric variable; expected a finite number")
        missing = np.isnan(arr)
        return arr[~missing], int(missing.sum())
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
    return np.asarray(present, dtype=float), missing


def mean_sd(x: Iterable[Any]) -> MeanSD:
    """Mean and sample SD (``ddof=1``) of ``x``; NaN, None and pandas NA count as missing.

    Raises :class:`StatisticsError` for a non-numeric or infinite value, or when every value
    is missing.
    """
    arr, missing = _present(x)
    if not len(arr):
        raise StatisticsError(f"No non-missing values ({missing} missing): mean and SD are undefined")
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else None
    return MeanSD(len(arr), missing, float(arr.mean()), sd)


@dataclass(frozen=True)
class ContinuousSummary:
    """Every summary a table may print for a continuous variable, from the non-missing values.

    ``q1``/``median``/``q3`` are R's type-7 quantiles; ``sd`` is ``None`` for a single value.
    """

    n: int
    n_missing: int
    mean: float
    sd: float | None
    median: float
    q1: float
    q3: float
    min: float
    max: float


def summarise(x: Iterable[Any]) -> ContinuousSummary:
    """Mean, SD, median, quartiles (R's ``quantile(x, c(.25, .5, .75), type = 7)``), minimum and
    maximum of ``x``; missing values (NaN, None, ``pd.NA``) are counted, not used.

    Raises :class:`StatisticsError` as :func:`mean_sd` does.
    """
    arr, missing = _present(x)
    if not len(arr):
        raise StatisticsError(f"No non-missing values ({missing} missing): the summaries are undefined")
    q1, med, q3 = (float(v) for v in np.quantile(arr, [0.25, 0.5, 0.75], method="linear"))
    sd = float(arr.std(ddof=1)) if len(arr) > 1 else None
    return ContinuousSummary(len(arr), missing, float(arr.mean()), sd, med, q1, q3, float(arr.min()),
                             float(arr.max()))


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
        """The counts as an int64 array, rows x columns."""
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
