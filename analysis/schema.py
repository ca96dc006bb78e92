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

import pandas as pd

from analysis.errors import ConfigError, DataValidationError

__all__ = ["TYPES", "ColumnSpec", "DatasetSpec", "check_references", "validate_frame"]

TYPES = ("string", "integer", "number", "category", "date", "boolean")
_TRUE = {"1", "true", "yes", "y"}
_FALSE = {"0", "false", "no", "n"}
_INT = re.compile(r"^[+-]?\d+$")


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
    def from_mapping(cls, data: dict[str, Any], where: str) -> ColumnSpec:
        """A column from its study.yaml entry, refusing unknown settings and bad types."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{where}: unknown column setting(s) {unknown}; expected some of {sorted(known)}")
        if "name" not in data:
            raise ConfigError(f"{where}: a column has no `name`")
        if data.get("type") not in TYPES:
            raise ConfigError(
                f"{where}, column `{data['name']}`: invalid `type` {data.get('type')!r}. Must be one of: {TYPES}"
            )
        if data["type"] == "category" and not data.get("allowed"):
            raise ConfigError(f"{where}, column `{data['name']}`: a category needs `allowed` values")
        values = dict(data)
        values.setdefault("label", data["name"])
        if values.get("allowed") is not None:
            values["allowed"] = tuple(values["allowed"])
        for bound in ("min", "max"):
            if isinstance(values.get(bound), dt.date):
                values[bound] = values[bound].isoformat()
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

    @classmethod
    def from_mapping(cls, name: str, data: dict[str, Any], where: str) -> DatasetSpec:
        """A dataset from its study.yaml entry (``file``, ``columns``, keys)."""
        if not isinstance(data, dict) or "file" not in data or "columns" not in data:
            raise ConfigError(f"{where}: dataset `{name}` needs `file` and `columns`")
        cols = tuple(ColumnSpec.from_mapping(c, f"{where}, dataset `{name}`") for c in data["columns"])
        names = [c.name for c in cols]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"{where}, dataset `{name}`: column(s) declared twice: {dupes}")
        for key in [data.get("primary_key"), *data.get("unique", []), *data.get("references", {})]:
            if key is not None and key not in names:
                raise ConfigError(f"{where}, dataset `{name}`: `{key}` is not a declared column")
        return cls(
            name=name,
            file=data["file"],
            columns=cols,
            description=data.get("description"),
            primary_key=data.get("primary_key"),
            unique=tuple(data.get("unique", ())),
            references=dict(data.get("references", {})),
        )

    def column(self, name: str) -> ColumnSpec:
        """The column named ``name`` (KeyError when there is none)."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _convert(raw: str, spec: ColumnSpec) -> Any:
    """Convert one non-empty text cell; raise ValueError when it is not valid."""
    if spec.type == "string":
        value: Any = raw
    elif spec.type == "integer":
        if not _INT.match(raw):
            if re.match(r"^[+-]?\d+\.0+$", raw):
                raw = raw.split(".")[0]
            else:
                raise ValueError
        value = int(raw)
    elif spec.type == "number":
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError
    elif spec.type == "category":
        allowed = {str(a): a for a in spec.allowed or ()}
        if raw not in allowed:
            raise ValueError
        value = allowed[raw]
    elif spec.type == "date":
        value = dt.date.fromisoformat(raw)
    else:  # boolean
        low = raw.lower()
        if low not in _TRUE | _FALSE:
            raise ValueError
        value = low in _TRUE
    return value


def _check_bounds(value: Any, spec: ColumnSpec) -> bool:
    if spec.type in ("integer", "number") and spec.allowed is not None and value not in spec.allowed:
        return False
    lo, hi = spec.min, spec.max
    if spec.type == "date":
        lo = dt.date.fromisoformat(str(lo)) if lo is not None else None
        hi = dt.date.fromisoformat(str(hi)) if hi is not None else None
    if lo is not None and value < lo:
        return False
    if hi is not None and value > hi:
        return False
    return not (spec.pattern and not re.fullmatch(spec.pattern, str(value)))


def validate_frame(frame: pd.DataFrame, spec: DatasetSpec, file_label: str) -> pd.DataFrame:
    """Validate a frame of text cells (from :func:`analysis.dataio.read_raw`) and type it.

    Returns a new frame with the declared columns in declared order: integers as ``Int64``,
    numbers as ``float64``, dates as ``datetime64``, categories and strings as objects,
    booleans as ``boolean``. Raises :class:`DataValidationError` at the first problem.
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

    # Every problem as (row, column position, message, details); the first in file order is reported.
    problems: list[tuple[int, int, str, dict[str, Any]]] = []
    out: dict[str, list[Any]] = {}
    for pos, spec_col in enumerate(spec.columns):
        converted: list[Any] = []
        for i, raw in enumerate(frame[spec_col.name].tolist()):
            row = i + 2  # header is row 1
            if raw is None:
                if not spec_col.nullable:
                    problems.append((row, pos, "missing value", dict(
                        column=spec_col.name, expected=spec_col.describe() + " (this column may not be empty)")))
                converted.append(None)
                continue
            try:
                value = _convert(raw, spec_col)
                ok = _check_bounds(value, spec_col)
            except ValueError:
                ok, value = False, None
            if not ok:
                problems.append((row, pos, "invalid value", dict(
                    column=spec_col.name, value=raw, expected=spec_col.describe())))
            converted.append(value)
        out[spec_col.name] = converted

    for cols in ([spec.primary_key] if spec.primary_key else [], list(spec.unique)):
        if not cols:
            continue
        what = "identifier" if len(cols) == 1 else "combination of " + ", ".join(f"`{c}`" for c in cols)
        seen: dict[tuple, int] = {}
        for i, key in enumerate(zip(*(out[c] for c in cols), strict=True)):
            if None in key:
                continue
            if key in seen:
                problems.append((i + 2, len(spec.columns), f"duplicate {what}", dict(
                    column=cols[0], value=key[0] if len(key) == 1 else key,
                    expected=f"unique values (first seen on row {seen[key]})")))
            else:
                seen[key] = i + 2
    if problems:
        row, _, message, kw = min(problems, key=lambda p: (p[0], p[1]))
        raise DataValidationError(file_label, message, row=row, more=len(problems) - 1, **kw)

    typed = pd.DataFrame(index=range(len(frame)))
    for spec_col in spec.columns:
        vals = out[spec_col.name]
        if spec_col.type == "integer":
            typed[spec_col.name] = pd.array(vals, dtype="Int64")
        elif spec_col.type == "number":
            typed[spec_col.name] = pd.array([float("nan") if v is None else v for v in vals], dtype="float64")
        elif spec_col.type == "date":
            typed[spec_col.name] = pd.to_datetime(pd.Series(vals, dtype=object))
        elif spec_col.type == "boolean":
            typed[spec_col.name] = pd.array(vals, dtype="boolean")
        else:
            typed[spec_col.name] = pd.Series(vals, dtype=object)
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
            known = set(frames[tname][tcol].dropna())
            for i, value in enumerate(frames[name][column]):
                if value is not None and value not in known:
                    raise DataValidationError(
                        labels[name], "unknown reference", row=i + 2, column=column, value=value,
                        expected=f"a value of `{tcol}` in {labels[tname]}",
                    )
