"""Render a :class:`~analysis.tables.model.Table` (or its dict from results.json).

Renderers only format: every cell goes through :func:`analysis.formatting.format_value`
(via :meth:`Cell.text`), the same function prose uses. No statistic is computed here.

``to_markdown`` writes a pandoc grid table, which pandoc 3 reads with row and column
spans and which its HTML, DOCX and typst writers keep:

- a header row of spanners over the columns that share one (an arm over its grade
  columns); other headers span both header rows;
- alignment markers in the header separator (``+:====+====:+``), numbers right-aligned;
- relative column widths from the dash counts: a wide stub (long labels wrap) and compact
  numeric columns, so the table fits the page;
- group-header rows span the whole table (bold); indented rows start with non-breaking
  spaces; footnote marks are superscripts ``^a^``;
- the caption after the table as ``: Caption {#tbl-id}`` (Quarto's syntax), then general
  notes and footnotes in a ``::: {.table-notes}`` div.

``to_text`` is a plain fixed-width rendering for terminals and snapshot tests.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.formatting import Style
from analysis.markup import md_escape
from analysis.tables.model import Table, footnote_mark

__all__ = ["INDENT", "STUB_MAX_WIDTH", "to_markdown", "to_text"]

#: The visible indent of one level: two non-breaking spaces (kept by every pandoc writer).
INDENT = "\u00a0\u00a0"
#: Stub labels longer than this wrap onto several lines of their grid cell.
STUB_MAX_WIDTH = 34
_HEADER_MAX_WIDTH = 16
#: Widest a text (left-aligned) column may be; longer text wraps inside its cell, so a column of
#: explanations cannot squeeze the stub and numbers to nothing.
TEXT_MAX_WIDTH = 44
_MARKER = {"left": (":", "="), "right": ("=", ":"), "center": (":", ":")}


def _table(table: Table | Mapping[str, Any]) -> Table:
    return table if isinstance(table, Table) else Table.from_dict(table)


def _width(text: str) -> int:
    """Display width: East Asian wide characters count twice, combining marks not at all."""
    if text.isascii():  # no ASCII character is wide or combining: the common case, at C speed
        return len(text)
    w = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        w += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return w


def _pad(text: str, width: int, align: str) -> str:
    gap = max(0, width - _width(text))
    if align == "right":
        return " " * gap + text
    if align == "center":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _escape(text: str) -> str:
    """Escape Markdown specials so a label or value is read literally (the one escaping rule
    of the manuscript, :func:`analysis.markup.md_escape`)."""
    return md_escape(text)


def _marks(marks: list[str]) -> str:
    return f"^{','.join(marks)}^" if marks else ""


def _wrap(text: str, width: int) -> list[str]:
    """Word-wrap on ordinary spaces (not the non-breaking indent); never split a word."""
    if _width(text) <= width:
        return [text]
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [text]


@dataclass
class _Span:
    """A cell of the grid layout: first column, column span, lines of text, alignment."""

    start: int
    span: int
    lines: list[str]
    align: str


def _boundaries(widths: list[int]) -> list[int]:
    pos = [0]
    for w in widths:
        pos.append(pos[-1] + w + 3)
    return pos


def _content_lines(spans: list[_Span], bounds: list[int], height: int | None = None) -> list[str]:
    height = height or max(len(s.lines) for s in spans)
    lines = []
    for i in range(height):
        parts = []
        for s in spans:
            inner = bounds[s.start + s.span] - bounds[s.start] - 3
            text = s.lines[i] if i < len(s.lines) else ""
            # left-justified in the source: 4+ leading spaces would make an indented code
            # block; the alignment comes from the markers in the header separator line
            parts.append("| " + _pad(text, inner, "left") + " ")
        lines.append("".join(parts) + "|")
    return lines


def _rule(bounds: list[int], fill: list[str], joints: list[str]) -> str:
    """A separator line: ``fill[i]`` fills column i; ``joints[j]`` sits on boundary j."""
    chars = []
    for i, ch in enumerate(fill):
        chars.append(joints[i])
        chars.append(ch * (bounds[i + 1] - bounds[i] - 1))
    chars.append(joints[-1])
    return "".join(chars)


def _header_groups(table: Table) -> list[tuple[str | None, list[int]]]:
    """Runs of adjacent columns sharing a spanner: (spanner or None, column indices)."""
    groups: list[tuple[str | None, list[int]]] = []
    for i, col in enumerate(table.columns):
        if col.spanner is not None and groups and groups[-1][0] == col.spanner:
            groups[-1][1].append(i)
        else:
            groups.append((col.spanner, [i]))
    return groups


def _md_widths(table: Table, texts: list[list[str]], stub_texts: list[str]) -> list[int]:
    stub = max([_width(table.stub_header), *(_width(t) for t, r in zip(stub_texts, table.rows, strict=True)
                                              if not r.is_group_header)], default=0)
    # many columns: a narrower stub (labels wrap) leaves room for the numbers
    stub = min(max(stub, 8), STUB_MAX_WIDTH if len(table.columns) <= 5 else STUB_MAX_WIDTH - 8)
    widths = [stub]
    for j, col in enumerate(table.columns):
        cells = [texts[i][j] for i, r in enumerate(table.rows) if not r.is_group_header]
        head = max((_width(w) for w in _wrap(_escape(col.header), _HEADER_MAX_WIDTH)), default=0)
        # +2: slack for the cell padding that HTML, DOCX and typst add to each cell
        width = max([head, 1, *(_width(c) for c in cells)]) + 2
        widths.append(min(width, TEXT_MAX_WIDTH) if col.align == "left" else width)
    # spanners no wider than the columns they span
    for spanner, idx in _header_groups(table):
        if spanner is None:
            continue
        need = min(_width(_escape(spanner)), 2 * _HEADER_MAX_WIDTH)
        have = sum(widths[i + 1] for i in idx) + 3 * (len(idx) - 1)
        extra = need - have
        k = 0
        while extra > 0:
            widths[idx[k % len(idx)] + 1] += 1
            extra -= 1
            k += 1
    return widths


def to_markdown(table: Table | Mapping[str, Any], style: Style | None = None) -> str:
    """A pandoc grid table with its caption line and notes div; ends in a newline."""
    t = _table(table)
    st = style or Style()
    ncol = len(t.columns)
    texts = [[_escape(r.cells[c.key].text(st)) if c.key in r.cells else "" for c in t.columns]
             for r in t.rows]
    stub_texts = []
    for r in t.rows:
        label = _escape(r.label) + _marks(r.marks)
        if r.is_group_header:
            label = f"**{_escape(r.label)}**{_marks(r.marks)}"
        stub_texts.append(INDENT * r.indent + label)
    widths = _md_widths(t, texts, stub_texts)
    bounds = _boundaries(widths)
    aligns = ["left", *(c.align for c in t.columns)]
    lines: list[str] = []

    groups = _header_groups(t)
    spanned = any(s is not None for s, _ in groups)
    stub_head = _wrap(_escape(t.stub_header), widths[0])
    heads = [_wrap(_escape(c.header), widths[j + 1]) for j, c in enumerate(t.columns)]
    head_row = [_Span(0, 1, stub_head, "left")]
    head_row += [_Span(j + 1, 1, heads[j], aligns[j + 1]) for j in range(ncol)]
    if not spanned:
        lines.append(_rule(bounds, ["-"] * (ncol + 1), ["+"] * (ncol + 2)))
        lines += _content_lines(head_row, bounds)
    else:
        # top border: joints only at the edges of first-row cells
        top_joints = [" "] * (ncol + 2)
        top_joints[0] = top_joints[1] = "+"
        row1 = [_Span(0, 1, [], "left")]
        mid_fill = [" "]
        for spanner, idx in groups:
            first, last = idx[0] + 1, idx[-1] + 1
            top_joints[last + 1] = "+"
            if spanner is None:
                row1.append(_Span(first, 1, [], aligns[first]))
                mid_fill.append(" ")
            else:
                inner = bounds[last + 1] - bounds[first] - 3
                row1.append(_Span(first, len(idx), _wrap(_escape(spanner), inner), "center"))
                mid_fill += ["-"] * len(idx)
        top_fill = ["-"] * (ncol + 1)
        lines.append(_rule(bounds, top_fill, [j if j == "+" else "-" for j in top_joints]))
        # rowspan cells keep their text for the second header row (bottom-aligned headers)
        h1 = max(len(s.lines) for s in row1)
        lines += _content_lines(row1, bounds, max(h1, 1))
        mid_joints = []
        for b in range(ncol + 2):
            left = mid_fill[b - 1] if b > 0 else None
            right = mid_fill[b] if b <= ncol else None
            mid_joints.append("+" if "-" in (left, right) else "|")
        lines.append(_rule(bounds, mid_fill, mid_joints))
        lines += _content_lines(head_row, bounds)
    sep_fill = []
    for i, a in enumerate(aligns):
        left, right = _MARKER[a]
        inner = bounds[i + 1] - bounds[i] - 1
        sep_fill.append(left + "=" * (inner - 2) + right)
    lines.append("+" + "+".join(sep_fill) + "+")

    plain = _rule(bounds, ["-"] * (ncol + 1), ["+"] * (ncol + 2))
    for r, cells, stub in zip(t.rows, texts, stub_texts, strict=True):
        if r.is_group_header:
            inner = bounds[-1] - 3
            lines += _content_lines([_Span(0, ncol + 1, _wrap(stub, inner), "left")], bounds)
        else:
            spans = [_Span(0, 1, _wrap(stub, widths[0]), "left")]
            spans += [_Span(j + 1, 1, _wrap(cells[j], widths[j + 1]), aligns[j + 1]) for j in range(ncol)]
            lines += _content_lines(spans, bounds)
        lines.append(plain)
    # caption, notes and footnotes are plain text like the cells (they may quote data labels)
    out = "\n".join(lines) + "\n\n" + f": {_escape(t.caption)} {{#{t.id}}}\n"
    notes = [_escape(n) for n in t.notes]
    notes += [f"^{footnote_mark(i)}^ {_escape(text)}" for i, text in enumerate(t.footnotes)]
    if notes:
        out += "\n::: {.table-notes}\n" + "\n\n".join(notes) + "\n:::\n"
    return out


def to_text(table: Table | Mapping[str, Any], style: Style | None = None) -> str:
    """A plain fixed-width rendering (no Markdown) for terminals and snapshot tests."""
    t = _table(table)
    st = style or Style()
    texts = [[r.cells[c.key].text(st) if c.key in r.cells else "" for c in t.columns] for r in t.rows]
    stubs = []
    for r in t.rows:
        mark = f" {','.join(r.marks)}" if r.marks else ""
        stubs.append("  " * r.indent + r.label + mark)
    body = [(s, r) for s, r in zip(stubs, t.rows, strict=True) if not r.is_group_header]
    stub_w = max([_width(t.stub_header), *(_width(s) for s, _ in body)], default=0)
    widths = [max([_width(c.header), *(_width(row[j]) for row in texts)]) for j, c in enumerate(t.columns)]
    groups = _header_groups(t)
    for spanner, idx in groups:
        if spanner is None:
            continue
        have = sum(widths[i] for i in idx) + 2 * (len(idx) - 1)
        extra, k = _width(spanner) - have, 0
        while extra > 0:
            widths[idx[k % len(idx)]] += 1
            extra, k = extra - 1, k + 1
    total = stub_w + sum(w + 2 for w in widths)
    out = [f"{t.id}: {t.caption}", "=" * total]
    if any(s is not None for s, _ in groups):
        top, under = " " * stub_w, " " * stub_w
        for spanner, idx in groups:
            span_w = sum(widths[i] for i in idx) + 2 * (len(idx) - 1)
            top += "  " + _pad(spanner or "", span_w, "center")
            under += "  " + ("-" * span_w if spanner else " " * span_w)
        out += [top.rstrip(), under.rstrip()]
    head = _pad(t.stub_header, stub_w, "left")
    for c, w in zip(t.columns, widths, strict=True):
        head += "  " + _pad(c.header, w, c.align)
    out += [head.rstrip(), "-" * total]
    for r, cells, stub in zip(t.rows, texts, stubs, strict=True):
        if r.is_group_header:
            out.append(stub)
            continue
        line = _pad(stub, stub_w, "left")
        for c, w, text in zip(t.columns, widths, cells, strict=True):
            line += "  " + _pad(text, w, c.align)
        out.append(line.rstrip())
    out.append("=" * total)
    out += list(t.notes)
    out += [f"{footnote_mark(i)} {text}" for i, text in enumerate(t.footnotes)]
    return "\n".join(out) + "\n"
