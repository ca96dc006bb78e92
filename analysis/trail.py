"""The paper trail: every source in ``results.json`` is true, and every bound number says so.

Each value of the results store names where it came from: a test, a table cell, the input
files. This module makes those claims true and then checks them:

* :func:`bind_table_sources` runs at the end of the analysis: a value's ``table`` and
  ``cell`` are set from where its key actually sits in a stored table, and a table claim of a
  value whose table was never stored (a builder computed it for a table the study chose not
  to show) is dropped, so no value points at a table that does not exist.
* :func:`check_trail` runs on every render: each table a source names is in the rendered
  manuscript, its cell holds the value's formatted text, the test named agrees with the
  footnote the table prints for that row, and every input file listed is hashed. A dangling
  source fails the build with the key and what it points at.
* :func:`check_spans` reads the rendered HTML: every bound span carries the key of the value
  it prints, and its text is a formatting of that value (parts of composite values, such as
  the numerator of an n (%), carry keys of their own: ``series.orr.N``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from analysis.errors import ResultsError
from analysis.formatting import PARTS, fmt_month_year, fmt_p_phrase, format_part, format_value
from analysis.results import ResultsStore, Value

__all__ = ["bind_table_sources", "cell_locations", "check_spans", "check_trail", "resolve", "span_texts"]

#: Kinds whose values are test results: each must name the test it came from.
_TESTED_KINDS = ("p",)


def _column_name(column: dict[str, Any]) -> str:
    spanner = column.get("spanner")
    return f"{spanner} {column['header']}" if spanner else column["header"]


def cell_locations(store: ResultsStore) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """Where each key sits in the stored tables: key -> (table id, "row/column", cell).

    ``row/column`` is the row's label (after the label of the group it is indented under,
    ``Sex › Male``) and the column's header (after its spanner, if it has one), as a reader
    finds the cell. A key shown in two tables is located in the first.
    """
    where: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for tid in sorted(store.tables):
        table = store.tables[tid]
        names = {c["key"]: _column_name(c) for c in table.get("columns", [])}
        group = None
        for row in table.get("rows", []):
            if row.get("is_group_header") or not row.get("indent"):
                group = row["label"]
            label = f"{group} › {row['label']}" if row.get("indent") and group else row["label"]
            for ckey, cell in row.get("cells", {}).items():
                key = cell.get("key")
                if key and key not in where:
                    where[key] = (tid, f"{label}/{names.get(ckey, ckey)}", cell)
    return where


def bind_table_sources(store: ResultsStore) -> int:
    """Make every value's ``table``/``cell`` the place its key is shown; return how many changed.

    A value not shown in any stored table loses its table claim (its test and inputs stay).
    """
    where = cell_locations(store)
    changed = 0
    for key, value in store.values.items():
        src = value.source
        table, cell = (where[key][0], where[key][1]) if key in where else (None, None)
        if (src.table, src.cell) != (table, cell):
            store.values[key] = dataclasses.replace(value, source=dataclasses.replace(src, table=table, cell=cell))
            changed += 1
    return changed


def _shown_tables(manuscript: str) -> set[str]:
    """Table ids the generated Quarto source labels (``{#tbl-x}``)."""
    return set(re.findall(r"\{#(tbl-[a-z0-9-]+)[\s}]", manuscript))


def _row_tests(table: dict[str, Any]) -> dict[str, list[str]]:
    """For each cell key of the table, the footnotes its row marks."""
    footnotes = table.get("footnotes", [])
    from analysis.tables.model import footnote_mark

    text_of = {footnote_mark(i): f for i, f in enumerate(footnotes)}
    out: dict[str, list[str]] = {}
    for row in table.get("rows", []):
        marked = [text_of[m] for m in row.get("marks", []) if m in text_of]
        for cell in row.get("cells", {}).values():
            if cell.get("key"):
                out[cell["key"]] = marked
    return out


def _problems(store: ResultsStore, manuscript: str | None) -> Iterator[str]:
    where = cell_locations(store)
    shown = _shown_tables(manuscript) if manuscript is not None else None
    tests_in: dict[str, set[str]] = {}
    for v in store.values.values():
        if v.source.table and v.source.test:
            tests_in.setdefault(v.source.table, set()).add(v.source.test)
    row_tests = {tid: _row_tests(t) for tid, t in store.tables.items()}
    for key in sorted(store.values):
        value = store.values[key]
        src = value.source
        for name in src.inputs:
            if name not in store.inputs:
                yield f"`{key}` names input file {name!r}, which is not among the hashed inputs {sorted(store.inputs)}"
        if value.kind in _TESTED_KINDS and not src.test:
            yield f"`{key}` is a {value.kind!r} value but names no test"
        if src.table is None:
            if src.cell is not None:
                yield f"`{key}` names cell {src.cell!r} but no table"
            continue
        if src.table not in store.tables:
            yield f"`{key}` names table {src.table!r}, which does not exist (tables: {sorted(store.tables)})"
            continue
        if shown is not None and src.table not in shown:
            yield f"`{key}` names table {src.table!r}, which the manuscript does not show"
        located = where.get(key)
        if located is None or located[0] != src.table:
            yield f"`{key}` names table {src.table!r}, which has no cell holding it"
            continue
        if src.cell != located[1]:
            yield f"`{key}` names cell {src.cell!r} of {src.table!r}; the value is in cell {located[1]!r}"
        cell = located[2]
        shown_text = format_value(cell["raw"], cell["kind"], cell.get("digits"), store.style)
        if shown_text != value.text(store.style):
            yield (f"`{key}`: cell {located[1]!r} of {src.table!r} shows {shown_text!r} "
                   f"but the value prints as {value.text(store.style)!r}")
        marked = row_tests[src.table].get(key, [])
        named_tests = [m for m in marked if m in tests_in.get(src.table, set())]
        if src.test and named_tests and src.test not in named_tests and value.kind in _TESTED_KINDS:
            yield (f"`{key}` names test {src.test!r} but its row in {src.table!r} is footnoted "
                   f"{' / '.join(repr(t) for t in named_tests)}")


def check_trail(store: ResultsStore, manuscript: str | None = None) -> None:
    """Raise :class:`ResultsError` listing every source that points at nothing real.

    ``manuscript`` is the generated Quarto source; when given, a table a source names must be
    one the manuscript shows.
    """
    problems = list(_problems(store, manuscript))
    if problems:
        shown = problems[:25]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise ResultsError(
            "the paper trail has dangling sources:\n  " + "\n  ".join(shown) + more
            + f"\n{len(problems)} problem(s)"
        )


# -- bound spans in the HTML -----------------------------------------------------------------
#: In pandoc's HTML: a span's start and end tags, and what to pass over (scripts, styles and
#: comments, whose text may look like tags). Pandoc escapes ``<`` and ``>`` in attribute
#: values and text, so a tag ends at the first ``>``.
_SPAN_TAGS = re.compile(r"<span\b([^>]*)>|</span\s*>|<(script|style)\b[^>]*>.*?</\2\s*>|<!--.*?-->",
                        re.DOTALL | re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_ANY_TAG = re.compile(r"<[^>]*>")


def span_texts(html_text: str) -> list[tuple[str, str]]:
    """Every bound span of an HTML manuscript: (key, the text a reader sees), in the order
    the spans end (markup inside a span, such as ``<em>P</em>``, gives only its text).

    A scan for span tags only, ten times faster than :class:`html.parser.HTMLParser` (the
    preview checks the page on every edit); the tests check that it finds what that parser
    finds in each study's manuscript."""
    spans: list[tuple[str, str]] = []
    open_spans: list[tuple[str | None, int]] = []  # (key of a bound span or None, where its text starts)
    for match in _SPAN_TAGS.finditer(html_text):
        tag = match.group(0)
        if match.group(2) or tag.startswith("<!--"):
            continue
        if tag[1] == "/":
            if open_spans:
                key, start = open_spans.pop()
                if key is not None:
                    spans.append((key, html.unescape(_ANY_TAG.sub("", html_text[start:match.start()]))))
            continue
        attrs = {name.lower(): html.unescape(a or b or c or "")
                 for name, a, b, c in _ATTRIBUTE.findall(match.group(1))}
        key = (attrs.get("data-key") or attrs.get("title")) if "val" in attrs.get("class", "").split() else None
        open_spans.append((key, match.end()))
    return spans


_TYPOGRAPHY = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "\u00a0": " ", "\u202f": " "})


def _normal(text: str) -> str:
    return " ".join(text.translate(_TYPOGRAPHY).split())


def _renderings(value: Value, part: str | None, store: ResultsStore) -> set[str]:
    """Every text a template helper may print for ``value`` (or one part of it)."""
    style = store.style
    out: set[str] = set()
    for digits in (value.digits, *range(0, 7)):
        try:
            if part:
                out.add(format_part(value.raw, value.kind, part, digits, style))
            else:
                out.add(format_value(value.raw, value.kind, digits, style))
                if value.kind == "p":
                    out.add(fmt_p_phrase(value.raw, digits if digits is not None else style.p_digits))
        except (ValueError, TypeError, KeyError):
            continue
    if value.kind == "date" and not part:
        with contextlib.suppress(ValueError):
            out.add(fmt_month_year(value.raw))
    return {_normal(t) for t in out}


def resolve(store: ResultsStore, key: str) -> tuple[Value, str | None] | None:
    """The value a span key names and the part of it (``series.orr.N`` -> orr, "N"); None if unknown."""
    if key in store.values:
        return store.values[key], None
    base, _, part = key.rpartition(".")
    value = store.values.get(base)
    if value is not None and part in PARTS.get(value.kind, ()):
        return value, part
    return None


def check_spans(html_file: Path, store: ResultsStore) -> int:
    """Check every bound span of ``html_file`` against the store; return how many were checked.

    Raises :class:`ResultsError` naming each span whose key is unknown or whose text is not a
    formatting of the value under that key.
    """
    spans = span_texts(html_file.read_text(encoding="utf-8"))
    problems = []
    for key, text in spans:
        found = resolve(store, key)
        if found is None:
            problems.append(f"a span carries key `{key}`, which results.json does not hold (text {text!r})")
            continue
        value, part = found
        if _normal(text) not in _renderings(value, part, store):
            problems.append(f"the span of `{key}` prints {text!r}, which is not a formatting of its value "
                            f"({value.text(store.style)!r})")
    if problems:
        raise ResultsError(f"{html_file.name}: bound numbers disagree with results.json:\n  "
                           + "\n  ".join(problems[:25]) + f"\n{len(problems)} problem(s)")
    return len(spans)
