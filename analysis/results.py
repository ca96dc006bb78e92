"""The results store: every value a manuscript may cite, with its paper trail.

An analysis script fills one :class:`ResultsStore`: each value has a stable dotted key
(``pfs.median.ID``, ``table2.cr.p``), its raw number, how it is formatted, and where it came
from (which test, which table cell, which input files). Tables (as data) and figures (as
matplotlib objects until the pipeline saves them) live in the same store.

``to_json`` is sorted and deterministic: the same inputs give the same bytes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from analysis.errors import ResultsError
from analysis.formatting import FORMAT_KINDS, Style, format_value

__all__ = ["KEY_PATTERN", "Figure", "ResultsStore", "Source", "Value", "comparable"]

#: Dotted keys: lower-case first segment, then segments of letters, digits, underscores.
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[A-Za-z0-9_]+)*$")
_ID_PATTERN = re.compile(r"^(tbl|fig)-[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Source:
    """Where a value came from.

    ``test`` names the statistic ("Pearson chi-square", "Kaplan-Meier median"); ``table``
    and ``cell`` locate it in a table (``cell`` is "row/column"); ``inputs`` names the
    data files it was computed from (their SHA-256 sits in the store's provenance);
    ``note`` is free text (e.g. "study.yaml: protocol fact").
    """

    test: str | None = None
    table: str | None = None
    cell: str | None = None
    inputs: tuple[str, ...] = ()
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The source as JSON-ready data (empty fields left out)."""
        out: dict[str, Any] = {}
        for name in ("test", "table", "cell", "note"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.inputs:
            out["inputs"] = list(self.inputs)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Source:
        """A source from :meth:`to_dict`'s data."""
        return cls(
            test=data.get("test"),
            table=data.get("table"),
            cell=data.get("cell"),
            inputs=tuple(data.get("inputs", ())),
            note=data.get("note"),
        )


@dataclass(frozen=True)
class Value:
    """One citable value: its key, raw value, format kind and decimals, and source."""

    key: str
    raw: Any
    kind: str
    digits: int | None = None
    source: Source = field(default_factory=Source)

    def text(self, style: Style | None = None) -> str:
        """The formatted text, exactly as a table cell shows it."""
        return format_value(self.raw, self.kind, self.digits, style)

    def to_dict(self) -> dict[str, Any]:
        """The value as JSON-ready data."""
        out: dict[str, Any] = {"raw": _jsonable(self.raw, self.key), "kind": self.kind}
        if self.digits is not None:
            out["digits"] = self.digits
        src = self.source.to_dict()
        if src:
            out["source"] = src
        return out

    @classmethod
    def from_dict(cls, key: str, data: Mapping[str, Any]) -> Value:
        """A value from :meth:`to_dict`'s data, under ``key``."""
        return cls(
            key=key,
            raw=data["raw"],
            kind=data["kind"],
            digits=data.get("digits"),
            source=Source.from_dict(data.get("source", {})),
        )


@dataclass
class Figure:
    """A figure the analysis made: the pipeline saves it as SVG (HTML, PDF) and PNG (DOCX).

    ``figure`` is a matplotlib Figure, or the :class:`~analysis.figureworker.FigureRecipe` the
    engine's builders give (drawn by the figure worker, or here by :meth:`drawn`); after loading
    from JSON it is None and ``files`` holds the saved paths relative to the study's output
    folder."""

    id: str
    caption: str
    figure: Any = None
    files: dict[str, str] = field(default_factory=dict)
    alt: str | None = None
    width: str = "100%"

    @property
    def recipe(self) -> Any:
        """The figure's :class:`~analysis.figureworker.FigureRecipe` while it is not drawn here, else None."""
        from analysis.figureworker import FigureRecipe

        return self.figure if isinstance(self.figure, FigureRecipe) else None

    def drawn(self) -> Any:
        """The matplotlib Figure, drawing its recipe in this process first if it has one (None
        for a figure loaded from JSON)."""
        recipe = self.recipe
        if recipe is not None:
            self.figure = recipe.draw()
        return self.figure

    def to_dict(self) -> dict[str, Any]:
        """The figure's caption, files, width and alt text as JSON-ready data."""
        out = {"caption": self.caption, "files": dict(sorted(self.files.items())), "width": self.width}
        if self.alt:
            out["alt"] = self.alt
        return out


def comparable(raw: Any) -> float | None:
    """The number a comparison of two values means: the proportion of an n (%), the mean of a
    mean ± SD, the median of a median (CI), the estimate of a ratio (CI); None when there is none."""
    if isinstance(raw, dict):
        if "n" in raw and "N" in raw:
            return raw["n"] / raw["N"] if raw["N"] else None
        for field in ("mean", "median", "estimate"):
            if field in raw:
                return raw[field]
        return None
    return raw if isinstance(raw, (int, float)) else None


def _jsonable(x: Any, key: str) -> Any:
    """Plain JSON types only; NaN/inf are refused, since JSON cannot hold them honestly."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return int(x)
    if hasattr(x, "item") and not isinstance(x, (list, tuple, dict)):  # numpy scalar
        x = x.item()
        if isinstance(x, int):
            return x
    if isinstance(x, float):
        if math.isnan(x) or math.isinf(x):
            raise ResultsError(f"Value `{key}` is {x}: NaN and infinities cannot be stored")
        return x
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v, key) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v, key) for v in x]
    raise ResultsError(f"Value `{key}` has unsupported type {type(x).__name__}")


class ResultsStore:
    """Every citable value, table and figure of one study build."""

    def __init__(self, study: str, style: Style | None = None) -> None:
        self.study = study
        self.style = style or Style()
        self.values: dict[str, Value] = {}
        self.tables: dict[str, dict[str, Any]] = {}
        self.figures: dict[str, Figure] = {}
        self.inputs: dict[str, str] = {}  # file name -> SHA-256
        self.meta: dict[str, Any] = {}

    # -- adding -------------------------------------------------------------------------
    def add(
        self,
        key: str,
        raw: Any,
        kind: str,
        digits: int | None = None,
        source: Source | None = None,
        **source_fields: Any,
    ) -> Value:
        """Store one value. ``source_fields`` are a shorthand for ``Source(...)``.

        Raises :class:`ResultsError` for a malformed or duplicate key or unknown kind, and
        formats the value once at once, so a value that cannot be printed fails here, at
        the analysis, not later in a template.
        """
        if not KEY_PATTERN.match(key):
            raise ResultsError(
                f"Invalid key {key!r}: must be dotted segments of letters, digits and "
                "underscores, starting with a lower-case letter (e.g. `pfs.median.ID`)"
            )
        if key in self.values:
            raise ResultsError(f"Duplicate key {key!r}: each value is stored once")
        prefixes = [key[:i] for i, ch in enumerate(key) if ch == "."]
        groups = self._groups()
        clash = next((p for p in prefixes if p in self.values), None)
        if clash is None and key in groups:
            clash = next(k for k in self.values if k.startswith(key + "."))
        if clash is not None:
            raise ResultsError(
                f"Key {key!r} clashes with {clash!r}: a key cannot be both a value and a group of values"
            )
        if kind not in FORMAT_KINDS:
            raise ResultsError(f"Invalid kind {kind!r} for {key!r}. Must be one of: {sorted(FORMAT_KINDS)}")
        if source is None:
            if "inputs" in source_fields:
                source_fields["inputs"] = tuple(source_fields["inputs"])
            source = Source(**source_fields)
        value = Value(key, _jsonable(raw, key), kind, digits, source)
        value.text(self.style)  # fail early on an unprintable value
        self.values[key] = value
        groups.update(prefixes)
        self._group_state = (id(self.values), len(self.values))
        return value

    def _groups(self) -> set[str]:
        """Every group of the stored keys (``pfs.median`` of ``pfs.median.ID``), kept as keys
        are added, so that adding one is not a scan of all (made afresh if the values were
        replaced wholesale, as loading from JSON does)."""
        if getattr(self, "_group_state", None) != (id(self.values), len(self.values)):
            self._group_set = {k[:i] for k in self.values for i, ch in enumerate(k) if ch == "."}
            self._group_state = (id(self.values), len(self.values))
        return self._group_set

    def add_table(self, table: Any) -> None:
        """Store a table (an object with ``id`` and ``to_dict()``, see analysis.tables)."""
        data = table.to_dict() if hasattr(table, "to_dict") else dict(table)
        tid = data.get("id")
        if not tid or not _ID_PATTERN.match(tid):
            raise ResultsError(f"Invalid table id {tid!r}: must look like `tbl-baseline`")
        if tid in self.tables:
            raise ResultsError(f"Duplicate table id {tid!r}")
        self.tables[tid] = data

    def add_figure(self, fig_id: str, figure: Any, caption: str, alt: str | None = None,
                   width: str = "100%") -> Figure:
        """Store a figure (a matplotlib Figure or a :class:`~analysis.figureworker.FigureRecipe`);
        the pipeline saves it as SVG and PNG."""
        if not _ID_PATTERN.match(fig_id) or not fig_id.startswith("fig-"):
            raise ResultsError(f"Invalid figure id {fig_id!r}: must look like `fig-km-pfs`")
        if fig_id in self.figures:
            raise ResultsError(f"Duplicate figure id {fig_id!r}")
        fig = Figure(fig_id, caption, figure, alt=alt, width=width)
        self.figures[fig_id] = fig
        return fig

    # -- reading ------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Value:
        try:
            return self.values[key]
        except KeyError:
            close = [k for k in self.values if k.split(".")[0] == key.split(".")[0]][:5]
            hint = f"; keys under `{key.split('.')[0]}` include {close}" if close else ""
            raise ResultsError(f"Unknown key {key!r}{hint}") from None

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.values))

    def text(self, key: str) -> str:
        """The formatted text of ``key`` in the study's style."""
        return self[key].text(self.style)

    # -- serialising --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Everything in the store as JSON-ready data, sorted."""
        return {
            "study": self.study,
            "style": dict(vars(self.style)),
            "inputs": dict(sorted(self.inputs.items())),
            "meta": self.meta,
            "values": {k: self.values[k].to_dict() for k in sorted(self.values)},
            "tables": {k: self.tables[k] for k in sorted(self.tables)},
            "figures": {k: self.figures[k].to_dict() for k in sorted(self.figures)},
        }

    def to_json(self) -> str:
        """Sorted, indented JSON ending in a newline: byte-identical for identical inputs."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, ensure_ascii=False,
                          allow_nan=False) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultsStore:
        """A store from :meth:`to_dict`'s data (figures as saved files)."""
        store = cls(data["study"], Style(**data.get("style", {})))
        store.inputs = dict(data.get("inputs", {}))
        store.meta = dict(data.get("meta", {}))
        store.values = {k: Value.from_dict(k, v) for k, v in data.get("values", {}).items()}
        store.tables = dict(data.get("tables", {}))
        store.figures = {
            k: Figure(k, v["caption"], None, dict(v.get("files", {})), v.get("alt"), v.get("width", "100%"))
            for k, v in data.get("figures", {}).items()
        }
        return store

    @classmethod
    def from_json(cls, text: str) -> ResultsStore:
        """A store from the text of a ``results.json``."""
        return cls.from_dict(json.loads(text))
