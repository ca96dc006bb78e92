"""The table data model: a table is data first (raw numbers with their results-store keys)
and rendered second (see :mod:`analysis.tables.render`).

A :class:`Table` is JSON-serialisable: the results store keeps ``table.to_dict()`` in
``results.json`` and the renderer works from that dict alone, so
``Table.from_dict(t.to_dict()) == t`` and ``Table.from_dict(d).to_dict() == d``.

Footnote marks are letters given by position: the first footnote is "a", the second "b".
:meth:`Table.mark` adds a footnote (once) and returns its letter.

:class:`CellBinder` is how builders make cells: it stores each value in the
:class:`~analysis.results.ResultsStore` under its key with its source, and returns a
:class:`Cell` carrying the same raw value and the key, so a table cell and the sentence
citing it cannot disagree.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from analysis.errors import ResultsError
from analysis.formatting import FORMAT_KINDS, Style, format_value
from analysis.results import ResultsStore, Source

__all__ = [
    "ALIGNS", "Cell", "CellBinder", "Column", "Row", "Table", "footnote_mark", "key_segment", "slugify",
]

#: Allowed column alignments.
ALIGNS = ("left", "right", "center")
_ID = re.compile(r"^tbl-[a-z0-9][a-z0-9-]*$")


def footnote_mark(index: int) -> str:
    """The mark of the footnote at 0-based ``index``: a, b, ..., z, aa, ab, ..."""
    if index < 0:
        raise ResultsError(f"Invalid footnote index {index}: must be 0 or more")
    letters = string.ascii_lowercase
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = letters[rem] + out
    return out


def slugify(text: object) -> str:
    """A key segment from a label or code: ``"Grade 3–4" -> "grade_3_4"``, ``"VGPR" -> "vgpr"``."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")
    if not slug:
        raise ResultsError(f"Cannot make a key segment from {text!r}: it has no letters or digits")
    return slug


def key_segment(code: object) -> str:
    """A key segment for an arm or level code: kept as it is when it is already valid
    (``"ID"`` stays ``"ID"``, as in ``pfs.median.ID``), else :func:`slugify`'d."""
    text = str(code)
    return text if re.fullmatch(r"[A-Za-z0-9_]+", text) else slugify(text)


@dataclass(frozen=True)
class Cell:
    """One table cell: the raw value, how it is formatted, and its results-store key.

    ``kind`` and ``digits`` are those of :func:`analysis.formatting.format_value`; ``key``
    is the key under which the same value sits in the results store (None for a cell that
    is not a result, e.g. a dash).
    """

    raw: Any
    kind: str
    digits: int | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FORMAT_KINDS:
            raise ResultsError(f"Invalid cell kind {self.kind!r}. Must be one of: {sorted(FORMAT_KINDS)}")

    def text(self, style: Style | None = None) -> str:
        """The cell as a reader sees it."""
        return format_value(self.raw, self.kind, self.digits, style)

    def to_dict(self) -> dict[str, Any]:
        """The cell as JSON-ready data."""
        return {"raw": self.raw, "kind": self.kind, "digits": self.digits, "key": self.key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Cell:
        """A cell from :meth:`to_dict`'s data."""
        return cls(raw=data["raw"], kind=data["kind"], digits=data.get("digits"), key=data.get("key"))


@dataclass(frozen=True)
class Column:
    """A data column: ``key`` (used by rows' cells), its ``header``, an optional ``spanner``
    (a header spanning adjacent columns with the same spanner, e.g. an arm over its grade
    columns) and its alignment."""

    key: str
    header: str
    spanner: str | None = None
    align: str = "right"

    def __post_init__(self) -> None:
        if self.align not in ALIGNS:
            raise ResultsError(
                f"Invalid `align` {self.align!r} of column {self.key!r}. Must be one of: {ALIGNS}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The column as JSON-ready data."""
        return {"key": self.key, "header": self.header, "spanner": self.spanner, "align": self.align}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Column:
        """A column from :meth:`to_dict`'s data."""
        return cls(data["key"], data["header"], data.get("spanner"), data.get("align", "right"))


@dataclass
class Row:
    """A body row: its stub ``label``, cells by column key (a missing key is an empty cell),
    indent level, whether it is a group header (spans the whole table), and footnote marks."""

    label: str
    cells: dict[str, Cell] = field(default_factory=dict)
    indent: int = 0
    is_group_header: bool = False
    marks: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready data."""
        return {
            "label": self.label,
            "cells": {k: c.to_dict() for k, c in self.cells.items()},
            "indent": self.indent,
            "is_group_header": self.is_group_header,
            "marks": list(self.marks),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Row:
        """A row from :meth:`to_dict`'s data."""
        return cls(
            label=data["label"],
            cells={k: Cell.from_dict(c) for k, c in data.get("cells", {}).items()},
            indent=int(data.get("indent", 0)),
            is_group_header=bool(data.get("is_group_header", False)),
            marks=list(data.get("marks", [])),
        )


@dataclass
class Table:
    """A table as data. ``id`` is its cross-reference label (``tbl-baseline``)."""

    id: str
    caption: str
    stub_header: str = ""
    columns: list[Column] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ResultsError(f"Invalid table id {self.id!r}: must look like `tbl-baseline`")

    # -- building -------------------------------------------------------------------------
    def mark(self, footnote: str) -> str:
        """Add ``footnote`` (once) and return its mark letter."""
        if footnote not in self.footnotes:
            self.footnotes.append(footnote)
        return footnote_mark(self.footnotes.index(footnote))

    def add_row(self, row: Row) -> Row:
        """Append ``row`` and return it (so cells can be added to it)."""
        self.rows.append(row)
        return row

    def column(self, key: str) -> Column:
        """The column with key ``key``."""
        for col in self.columns:
            if col.key == key:
                return col
        known = [c.key for c in self.columns]
        raise ResultsError(f"Unknown column {key!r} in table {self.id!r}; columns: {known}")

    def validate(self) -> Table:
        """Check that columns are unique, cells name known columns and marks known footnotes."""
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ResultsError(f"Table {self.id!r} has duplicate column keys: {keys}")
        marks = {footnote_mark(i) for i in range(len(self.footnotes))}
        for row in self.rows:
            unknown = sorted(set(row.cells) - set(keys))
            if unknown:
                raise ResultsError(
                    f"Row {row.label!r} of table {self.id!r} has cells for unknown column(s) {unknown}; "
                    f"expected among {keys}"
                )
            bad = [m for m in row.marks if m not in marks]
            if bad:
                raise ResultsError(
                    f"Row {row.label!r} of table {self.id!r} has footnote mark(s) {bad} with no footnote; "
                    f"marks in use: {sorted(marks)}"
                )
        return self

    # -- serialising ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only; ``Table.from_dict`` gives back an equal table."""
        return {
            "id": self.id,
            "caption": self.caption,
            "stub_header": self.stub_header,
            "columns": [c.to_dict() for c in self.columns],
            "rows": [r.to_dict() for r in self.rows],
            "footnotes": list(self.footnotes),
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Table:
        """Rebuild a table from :meth:`to_dict` output (e.g. read from results.json)."""
        missing = [k for k in ("id", "caption") if k not in data]
        if missing:
            raise ResultsError(f"Table dict is missing {missing}; expected the output of Table.to_dict()")
        return cls(
            id=data["id"],
            caption=data["caption"],
            stub_header=data.get("stub_header", ""),
            columns=[Column.from_dict(c) for c in data.get("columns", [])],
            rows=[Row.from_dict(r) for r in data.get("rows", [])],
            footnotes=list(data.get("footnotes", [])),
            notes=list(data.get("notes", [])),
        ).validate()

    def to_frame(self, style: Style | None = None) -> pd.DataFrame:
        """The tidy frame: one row per non-empty cell, in table order.

        Columns: ``row`` (label), ``row_index``, ``column`` (key), ``raw`` (a number or
        string; composite values such as n (%) as JSON text), ``kind``, ``digits``, ``key``
        and ``text`` (formatted in ``style``).
        """
        records = []
        order = [c.key for c in self.columns]
        for i, row in enumerate(self.rows):
            for ckey in order:
                cell = row.cells.get(ckey)
                if cell is None:
                    continue
                raw = cell.raw
                if isinstance(raw, (Mapping, list)):
                    raw = json.dumps(raw, sort_keys=True, ensure_ascii=False)
                records.append({
                    "row": row.label, "row_index": i, "column": ckey, "raw": raw, "kind": cell.kind,
                    "digits": cell.digits, "key": cell.key, "text": cell.text(style),
                })
        cols = ["row", "row_index", "column", "raw", "kind", "digits", "key", "text"]
        return pd.DataFrame.from_records(records, columns=cols)


@dataclass
class CellBinder:
    """Stores table values in a results store and returns cells bound to their keys.

    ``prefix`` starts every key (``table2`` -> ``table2.cr.ID``); ``table`` is the table id
    and ``inputs`` the data files the values were computed from (both go into each
    value's :class:`~analysis.results.Source`).
    """

    store: ResultsStore
    prefix: str
    table: str
    inputs: Sequence[str] = ()

    def key(self, *segments: str) -> str:
        """The full key of a cell: the prefix and the segments, dotted."""
        return ".".join([self.prefix, *segments])

    def cell(
        self,
        segments: Sequence[str],
        raw: Any,
        kind: str,
        *,
        digits: int | None = None,
        test: str | None = None,
        where: str | None = None,
    ) -> Cell:
        """Store ``raw`` under ``prefix.<segments>`` and return the cell showing it.

        ``where`` is the "row/column" position in the table; ``test`` names the statistic.
        """
        key = self.key(*segments)
        value = self.store.add(
            key, raw, kind, digits,
            source=Source(test=test, table=self.table, cell=where, inputs=tuple(self.inputs)),
        )
        return Cell(value.raw, kind, digits, key)
