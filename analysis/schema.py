"""The data dictionary of a study and validation of raw frames against it.

A dataset's schema lives in ``study.yaml`` under ``data: <name>: columns: [...]``. Each
column has a ``name``, a ``type`` (string, integer, number, category, date, boolean), a
``label`` and optional ``unit``, ``allowed``, ``min``, ``max``, ``pattern`` and
``nullable`` (default false). A dataset may declare ``primary_key``, ``unique`` (a list of
columns unique together) and ``references`` (``column: other_dataset.column``).

Validation converts the text cells into typed columns and stops at the first bad cell
with one error naming the file, the row as a spreadsheet shows it, the column, the value
and what was expected, plus how many more problems the file has.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import ConfigError, DataValidationError, line_label

__all__ = ["TYPES", "ColumnSpec", "DatasetSpec", "check_references", "validate_frame"]

TYPES = ("string", "integer", "number", "category", "date", "boolean")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the data dictionary."""

    name: str
    type: str
    label: str
    unit: str | None = None
    allowed: tuple[Any, ...] | None = None
    min: Any = None
    max: Any = None
    pattern: str | None = None
    nullable: bool = False
    description: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any], where: str, path: str = "columns[]") -> ColumnSpec:
        """A column from its study.yaml mapping, every setting checked against
        :data:`analysis.settings.SETTINGS` (``path`` names it in messages)."""
        from analysis.settings import check_mapping

        name = data.get("name") if isinstance(data, dict) else None
        if isinstance(data, dict) and "name" not in data:
            raise ConfigError(f"{where}: a column has no `name` (`{path}`)")
        check_mapping(data, "data.<name>.columns[]", f"{path}", where)
        if data["type"] == "category" and not data.get("allowed"):
            raise ConfigError(f"{where}, column `{name}`: a category needs `allowed` values")
        values = dict(data)
        values.setdefault("label", data["name"])
        if values.get("allowed") is not None:
            values["allowed"] = tuple(values["allowed"])
        for bound in ("min", "max"):
            value = values.get(bound)
            if value is None:
                continue
            if isinstance(value, dt.date):
                value = values[bound] = value.isoformat()
            _check_bound(value, data["type"], f"{where}: `{path}.{bound}` of column `{name}`")
        return cls(**values)

    def describe(self) -> str:
        """What a valid value looks like, for error messages."""
        parts = {"string": "text", "integer": "a whole number", "number": "a number",
                 "category": "one of " + ", ".join(map(str, self.allowed or ())),
                 "date": "a date YYYY-MM-DD", "boolean": "0/1 or true/false"}[self.type]
        if self.type in ("integer", "number") and self.allowed:
            parts = "one of " + ", ".join(map(str, self.allowed))
        if self.min is not None and self.max is not None:
            parts += f" from {self.min} to {self.max}"
        elif self.min is not None:
            parts += f" of at least {self.min}"
        elif self.max is not None:
            parts += f" of at most {self.max}"
        if self.pattern:
            parts += f" matching {self.pattern}"
        if self.unit:
            parts += f" ({self.unit})"
        return parts


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset of a study: its file and columns."""

    name: str
    file: str
    columns: tuple[ColumnSpec, ...]
    description: str | None = None
    primary_key: str | None = None
    unique: tuple[str, ...] = ()
    references: dict[str, str] = field(default_factory=dict)
    checks: tuple[Any, ...] = ()

    @classmethod
    def from_mapping(cls, name: str, data: dict[str, Any], where: str) -> DatasetSpec:
        """A dataset from its study.yaml mapping, settings and checks vetted."""
        from analysis.checks import parse_check
        from analysis.settings import check_mapping

        path = f"data.{name}"
        if not isinstance(data, dict) or "file" not in data or "columns" not in data:
            raise ConfigError(f"{where}, dataset `{name}`: `{path}` needs `file` and `columns`")
        check_mapping(data, "data.<name>", path, where)
        cols = tuple(ColumnSpec.from_mapping(c, f"{where}, dataset `{name}`", f"{path}.columns[{i}]")
                     for i, c in enumerate(data["columns"]))
        names = [c.name for c in cols]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"{where}, dataset `{name}`: column(s) declared twice: {dupes}")
        for key in [data.get("primary_key"), *(data.get("unique") or []), *(data.get("references") or {})]:
            if key is not None and key not in names:
                raise ConfigError(f"{where}, dataset `{name}`: `{key}` is not a declared column")
        checks = tuple(parse_check(text, names, f"{where}: `{path}.checks[{i}]`")
                       for i, text in enumerate(data.get("checks") or []))
        return cls(
            name=name,
            file=data["file"],
            columns=cols,
            description=data.get("description"),
            primary_key=data.get("primary_key"),
            unique=tuple(data.get("unique") or ()),
            references=dict(data.get("references") or {}),
            checks=checks,
        )

    def column(self, name: str) -> ColumnSpec:
        """The declared column called ``name`` (KeyError if there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"


def _check_bound(value: Any, kind: str, where: str) -> None:
    """``min``/``max`` must be of the column's kind: a number, or a date for a date column."""
    if kind in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: got {value!r}; expected a number (the column is of type {kind})")
    elif kind == "date":
        if not (isinstance(value, str) and re.fullmatch(_ISO_DATE, value)):
            raise ConfigError(f"{where}: got {value!r}; expected a date YYYY-MM-DD (the column is a date)")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"{where}: got {value!r}, not a calendar date; expected YYYY-MM-DD") from None
    else:
        raise ConfigError(f"{where}: got {value!r}; `min`/`max` apply to integer, number and date columns, "
                          f"not to a {kind} column")
_INT_TEXT = r"[+-]?\d{1,18}(?:\.0+)?"  # 18 digits always fit an int64


def _fullmatch(text: pd.Series, pattern: str) -> np.ndarray:
    """Which cells match ``pattern`` in full: the compiled regex mapped over the column in C
    (pandas' ``.str.fullmatch`` on object columns runs a Python lambda per cell)."""
    found = np.array(list(map(re.compile(pattern).fullmatch, text.to_numpy(dtype=object))), dtype=object)
    return found != None  # noqa: E711 (elementwise, on an object array)


def _convert_column(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Convert a column of text cells, each distinct value once (a million adverse-event rows
    hold a few dozen grades and terms), then spread the results over the rows.

    Returns the typed column (missing where the cell is empty or invalid), a boolean array
    marking the invalid cells and one marking the empty ones.
    """
    codes, distinct = pd.factorize(raw.to_numpy(dtype=object))  # empty cells get code -1
    empty = codes < 0
    if empty.any():  # one empty cell among the distinct values, converted as every empty cell is
        distinct = np.append(distinct, None)
        codes = np.where(empty, len(distinct) - 1, codes)
    typed, bad = _convert_values(pd.Series(distinct, dtype=object), spec)
    return typed.iloc[codes].reset_index(drop=True), bad[codes], empty


def _convert_values(raw: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    """Convert text cells at once (no Python loop per cell): the typed values (missing where
    the cell is empty or invalid) and a boolean array marking the invalid cells."""
    present = raw.notna().to_numpy()
    text = raw.where(raw.notna(), "")  # str methods on a column without None
    if spec.type == "string":
        typed, ok = raw.astype(object), np.ones(len(raw), dtype=bool)
    elif spec.type == "integer":
        ok = _fullmatch(text, _INT_TEXT)
        typed = pd.Series(pd.NA, index=text.index, dtype="Int64")
        if ok.any():
            valid = text[ok]  # no missing cells, so whole numbers parse as exact int64
            values = pd.to_numeric(valid)
            if values.dtype.kind == "f" and (values.abs() > 2**53).any():  # "…123.0" beyond float precision
                values = pd.to_numeric(valid.str.replace(r"\.0+$", "", regex=True))
            typed[ok] = values.astype("Int64")
    elif spec.type == "number":
        values = pd.to_numeric(text.where(present, None), errors="coerce").astype("float64")
        ok = np.isfinite(values.to_numpy())
        typed = values.where(ok)
    elif spec.type == "category":
        allowed = {str(a): a for a in spec.allowed or ()}
        ok = text.isin(list(allowed)).to_numpy(dtype=bool)
        typed = text.map(allowed).where(ok, None).astype(object)
    elif spec.type == "date":
        shaped = _fullmatch(text, _ISO_DATE)
        parsed = pd.to_datetime(text.where(shaped, None), format="%Y-%m-%d", errors="coerce")
        lo, hi = pd.Timestamp.min.ceil("D"), pd.Timestamp.max.floor("D")
        ok = (parsed.notna() & (parsed >= lo) & (parsed <= hi)).to_numpy(dtype=bool)
        typed = parsed.where(ok).astype("datetime64[ns]")
    else:  # boolean
        low = text.str.lower()
        ok = low.isin(list(_TRUE | _FALSE)).to_numpy(dtype=bool)
        typed = low.isin(list(_TRUE)).astype("boolean").where(ok & present)
    ok = ok & present
    if spec.type in ("integer", "number") and spec.allowed is not None:
        ok &= typed.isin(list(spec.allowed)).fillna(False).to_numpy(dtype=bool)
    for bound, op in ((spec.min, "ge"), (spec.max, "le")):
        if bound is None:
            continue
        limit = pd.Timestamp(str(bound)) if spec.type == "date" else bound
        within = getattr(typed, op)(limit)
        ok &= within.fillna(False).to_numpy(dtype=bool) if hasattr(within, "fillna") else within
    if spec.pattern:
        ok &= _fullmatch(text, spec.pattern)
    bad = present & ~ok
    if spec.type == "string":
        return typed, bad
    return typed.where(~pd.Series(bad, index=typed.index)), bad


def row_lines(frame: pd.DataFrame) -> np.ndarray:
    """The file line of each data row: from the reader when it knows (CSV), else header + i."""
    lines = frame.attrs.get("lines")
    if lines is not None and len(lines) == len(frame):
        return np.asarray(lines, dtype=np.int64)
    return np.arange(2, len(frame) + 2, dtype=np.int64)


def validate_frame(frame: pd.DataFrame, spec: DatasetSpec, file_label: str) -> pd.DataFrame:
    """Validate a frame of text cells (from :func:`analysis.dataio.read_raw`) and type it.

    Returns a new frame with the declared columns in declared order: integers as ``Int64``,
    numbers as ``float64``, dates as ``datetime64``, categories and strings as objects,
    booleans as ``boolean``. Raises :class:`DataValidationError` at the first problem in
    file order (line, then column), counting the others. Each column is checked as a
    whole with pandas, so a million rows cost a handful of vector operations.
    """
    declared = [c.name for c in spec.columns]
    missing = [c for c in declared if c not in frame.columns]
    if missing:
        raise DataValidationError(
            file_label, "missing column(s) " + ", ".join(f"`{m}`" for m in missing),
            expected="the columns declared in study.yaml: " + ", ".join(declared),
        )
    extra = [c for c in frame.columns if c not in declared]
    if extra:
        raise DataValidationError(
            file_label, "undeclared column(s) " + ", ".join(f"`{e}`" for e in extra),
            expected="every column to be declared in study.yaml's data dictionary",
        )
    if len(frame) == 0:
        raise DataValidationError(file_label, "file has a header but no data rows")

    lines = row_lines(frame)
    if frame.attrs:  # pandas deep-copies attrs on every operation: work without them
        frame = frame.copy(deep=False)
        frame.attrs = {}
    n = len(frame)
    # problems[i, j]: row i has a problem in column j (the last column: a duplicate key).
    problems = np.zeros((n, len(spec.columns) + 1), dtype=bool)
    missing_cells = np.zeros_like(problems)
    typed = pd.DataFrame(index=range(n))
    for pos, col in enumerate(spec.columns):
        raw = frame[col.name].reset_index(drop=True)
        values, bad, empty = _convert_column(raw, col)
        if not col.nullable:
            missing_cells[:, pos] = empty
        problems[:, pos] = bad | missing_cells[:, pos]
        typed[col.name] = values.reset_index(drop=True)

    duplicates: dict[int, tuple[list[str], int]] = {}
    for cols in ([spec.primary_key] if spec.primary_key else [], list(spec.unique)):
        if not cols:
            continue
        keys = typed[cols]
        complete = keys.notna().all(axis=1).to_numpy()
        dup = keys.duplicated(keep="first").to_numpy() & complete
        if dup.any():
            first = pd.Series(np.arange(n)).groupby([keys[c] for c in cols], dropna=True).transform("first")
            for i in np.flatnonzero(dup)[:1]:
                duplicates.setdefault(int(i), (cols, int(first[i])))
            problems[:, -1] |= dup

    total = int(problems.sum())
    if total:
        row, pos = divmod(int(np.argmax(problems.ravel())), problems.shape[1])
        line, more = int(lines[row]), total - 1
        if pos == len(spec.columns):
            cols, first = duplicates[row]
            what = "identifier" if len(cols) == 1 else "combination of " + ", ".join(f"`{c}`" for c in cols)
            value = frame[cols[0]].iloc[row] if len(cols) == 1 else tuple(frame[c].iloc[row] for c in cols)
            raise DataValidationError(
                file_label, f"duplicate {what}", row=line, data_row=row + 1, column=cols[0], value=value,
                expected=f"unique values (first seen on {line_label(int(lines[first]), first + 1)})", more=more)
        col = spec.columns[pos]
        if missing_cells[row, pos]:
            raise DataValidationError(
                file_label, "missing value", row=line, data_row=row + 1, column=col.name, more=more,
                expected=col.describe() + " (this column may not be empty)")
        raise DataValidationError(
            file_label, "invalid value", row=line, data_row=row + 1, column=col.name,
            value=frame[col.name].iloc[row], expected=col.describe(), more=more)
    if not np.array_equal(lines, np.arange(2, n + 2)):
        typed.attrs["lines"] = lines  # only when records span lines (see analysis.dataio)
    return typed


def check_references(
    frames: dict[str, pd.DataFrame], specs: dict[str, DatasetSpec], labels: dict[str, str]
) -> None:
    """Check every declared ``references`` (foreign key) between datasets."""
    for name, spec in specs.items():
        for column, target in spec.references.items():
            tname, _, tcol = target.partition(".")
            if tname not in frames or tcol not in frames[tname].columns:
                raise ConfigError(f"study.yaml, dataset `{name}`: reference target `{target}` does not exist")
            values = frames[name][column]
            unknown = (values.notna() & ~values.isin(frames[tname][tcol].dropna())).to_numpy()
            if unknown.any():
                i = int(np.argmax(unknown))
                lines = row_lines(frames[name])
                raise DataValidationError(
                    labels[name], "unknown reference", row=int(lines[i]), data_row=i + 1, column=column,
                    value=values.iloc[i], expected=f"a value of `{tcol}` in {labels[tname]}",
                    more=int(unknown.sum()) - 1,
                )
