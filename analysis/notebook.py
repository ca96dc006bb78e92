"""A study in a notebook: ``from analysis import open_study; s = open_study("ID")``.

:func:`open_study` gives the validated data frames (``s.frames["patients"]``) and the study's
built results (``build/<ID>/results.json``; computed in memory when the study has not been
analysed yet). In Jupyter, tables display as HTML (``s.tables["tbl-baseline"]``) and values
show their key, formatted text and source (``s["pfs.median.ID"]``), the text exactly as the
manuscript prints it.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.errors import AnalysisError

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    import pandas as pd

    from analysis.results import ResultsStore, Value
    from analysis.study import Study

__all__ = ["OpenStudy", "TableView", "ValueView", "find_root", "open_study"]


def find_root(start: Path | None = None) -> Path:
    """The project folder: ``start`` (default: the current folder) or the nearest parent
    holding a ``data/`` folder, so a notebook in ``notebooks/`` finds its project."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "data").is_dir():
            return folder
    raise AnalysisError(f"No project folder (with a data/ folder) at or above {here}; pass `root=`")


class ValueView:
    """One value of the results: its key, formatted text (as the manuscript prints it) and source."""

    def __init__(self, value: Value, store: ResultsStore) -> None:
        self.value = value
        self._store = store

    @property
    def key(self) -> str:
        """The dotted key that templates cite."""
        return self.value.key

    @property
    def raw(self) -> Any:
        """The number (or mapping of numbers) itself."""
        return self.value.raw

    @property
    def text(self) -> str:
        """The formatted text, as in the manuscript."""
        return self.value.text(self._store.style)

    @property
    def source(self) -> str:
        """Where it came from: the test, the table cell and the input files."""
        src = self.value.source
        parts = [src.test or src.note or ""]
        if src.table:
            parts.append(f"{src.table}" + (f" [{src.cell}]" if src.cell else ""))
        if src.inputs:
            parts.append("from " + ", ".join(src.inputs))
        return "; ".join(p for p in parts if p)

    def __repr__(self) -> str:
        return f"{self.key} = {self.text}  ({self.source})"

    def _repr_html_(self) -> str:
        return (f"<code>{html.escape(self.key)}</code> = <b>{html.escape(self.text)}</b> "
                f"<small>({html.escape(self.source)})</small>")


class TableView:
    """A table of the results, displayed as HTML in Jupyter and as text elsewhere."""

    def __init__(self, data: Mapping[str, Any], store: ResultsStore) -> None:
        self.data = data
        self._store = store

    @property
    def id(self) -> str:
        """The table's id (``tbl-baseline``), as templates cross-reference it."""
        return str(self.data["id"])

    def to_frame(self) -> pd.DataFrame:
        """The tidy frame of raw numbers with their keys (as the report's CSV)."""
        from analysis.tables.model import Table

        return Table.from_dict(self.data).to_frame()

    def __repr__(self) -> str:
        from analysis.tables.render import to_text

        return to_text(self.data, self._store.style)

    def _repr_html_(self) -> str:
        from analysis.tables.model import Table

        table = Table.from_dict(self.data)
        style = self._store.style
        head = f"<th>{html.escape(table.stub_header)}</th>"
        head += "".join(f"<th>{html.escape(c.header)}</th>" for c in table.columns)
        body = []
        for row in table.rows:
            pad = "&nbsp;" * 4 * row.indent
            label = f"<b>{html.escape(row.label)}</b>" if row.is_group_header else html.escape(row.label)
            cells = []
            for c in table.columns:
                cell = row.cells.get(c.key)
                text = html.escape(cell.text(style)) if cell is not None else ""
                title = f' title="{html.escape(cell.key)}"' if cell is not None and cell.key else ""
                cells.append(f'<td style="text-align:{c.align}"{title}>{text}</td>')
            body.append(f"<tr><td>{pad}{label}</td>{''.join(cells)}</tr>")
        notes = "".join(f"<br><small>{html.escape(n)}</small>" for n in table.notes)
        return (f"<table><caption><b>{html.escape(table.id)}</b>: {html.escape(table.caption)}</caption>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{notes}")


class OpenStudy(Mapping[str, ValueView]):
    """A study opened in a notebook: ``frames``, ``results``, ``tables``; ``s[key]`` is a value.

    It is a read-only mapping from keys to :class:`ValueView`; ``s.find("pfs.")`` lists the
    values whose key starts with a prefix.
    """

    def __init__(self, study: Study, results: ResultsStore, built: bool) -> None:
        self.study = study
        self.results = results
        #: True when the results were read from build/<id>/results.json, False when computed here.
        self.built = built

    @property
    def id(self) -> str:
        """The study id."""
        return self.study.id

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """The validated data frames, by dataset name of study.yaml."""
        return self.study.frames

    @property
    def tables(self) -> dict[str, TableView]:
        """The tables of the results, by id."""
        return {tid: TableView(data, self.results) for tid, data in sorted(self.results.tables.items())}

    def __getitem__(self, key: str) -> ValueView:
        return ValueView(self.results[key], self.results)

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results.values)

    def find(self, prefix: str) -> list[ValueView]:
        """The values whose key starts with ``prefix``, in key order."""
        return [self[k] for k in self.results if k.startswith(prefix)]

    def __repr__(self) -> str:
        origin = "built results" if self.built else "results computed in memory"
        return (f"<study {self.id}: {len(self.frames)} dataset(s), {len(self)} values, {len(self.results.tables)} "
                f"tables, {len(self.results.figures)} figures ({origin})>")

    def _repr_html_(self) -> str:
        frames = ", ".join(f"<code>{html.escape(n)}</code> ({len(f)} rows)" for n, f in self.frames.items())
        tables = ", ".join(f"<code>{html.escape(t)}</code>" for t in self.results.tables)
        return (f"<b>{html.escape(self.id)}</b>: {html.escape(str(self.study.config.get('title', '')))}<br>"
                f"frames: {frames}<br>values: {len(self)}; tables: {tables}")


def open_study(study_id: str, root: str | Path | None = None, *, rebuild: bool = False) -> OpenStudy:
    """Open a study: validated frames and its built results.

    The results are read from ``build/<id>/results.json`` when it exists (what the manuscript
    was made from); otherwise, or with ``rebuild=True``, the analysis script runs in memory
    (nothing is written). Raises the project's usual errors for bad data or settings.
    """
    from analysis.results import ResultsStore
    from analysis.study import load_study

    folder = find_root(Path(root) if root is not None else None)
    study = load_study(folder, study_id)
    results_file = folder / "build" / study_id / "results.json"
    if results_file.is_file() and not rebuild:
        return OpenStudy(study, ResultsStore.from_json(results_file.read_text(encoding="utf-8")), True)
    from analysis.pipeline import run_analysis

    store = run_analysis(study)
    drawn = [fig.figure for fig in store.figures.values() if fig.figure is not None and fig.recipe is None]
    if drawn:  # not saved here: close them so a notebook does not draw them all
        import matplotlib.pyplot as plt

        for figure in drawn:
            plt.close(figure)
    return OpenStudy(study, store, False)
