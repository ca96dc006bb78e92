"""What changed between two versions: values added, removed, or printed differently, and every
place the manuscript cites each of them.

``python -m analysis diff STUDY`` compares the report readers have (``report/STUDY``) with the
latest analysis (``build/STUDY``); with ``--from REF`` it compares two revisions of the study
(see :mod:`analysis.revisions`) and lists, for each changed value, the template lines that
print it, the section and sentence where the manuscript cites it, and the table cell that
shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.results import ResultsStore

__all__ = ["Citation", "ValueChange", "cite_changes", "diff_results", "manuscript_citations", "template_lines"]


@dataclass(frozen=True)
class Citation:
    """One sentence of the manuscript that cites a value: its section and its text."""

    section: str
    sentence: str


@dataclass(frozen=True)
class ValueChange:
    """A value whose printed text differs between two versions (each in its own format)."""

    key: str
    old: str | None  # formatted text, None when the key is new
    new: str | None  # formatted text, None when the key was removed
    templates: tuple[str, ...] = ()  # "templates/<study>/03-results.md.j2:12"
    table: str | None = None  # "tbl-response, Complete response (CR)/ID group (n=40)"
    cited_old: tuple[Citation, ...] = field(default=())
    cited_new: tuple[Citation, ...] = field(default=())

    @property
    def kind(self) -> str:
        """"added", "removed" or "changed"."""
        return "added" if self.old is None else "removed" if self.new is None else "changed"


def diff_results(old: ResultsStore, new: ResultsStore) -> list[ValueChange]:
    """Every key whose printed text differs between two stores, sorted by key.

    Each value is printed in its own format and store style, so a df stays an integer and a
    P value reads as the manuscript prints it.
    """
    changes = []
    for key in sorted(set(old.values) | set(new.values)):
        before = old.text(key) if key in old else None
        after = new.text(key) if key in new else None
        if before != after:
            changes.append(ValueChange(key, before, after))
    return changes


# -- where a value is cited ----------------------------------------------------------------------
_SPAN = re.compile(r'\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\{[^}]*?title="([^"]+)"[^}]*\}')
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*(\{[^}]*\})?\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def _plain(markdown: str) -> str:
    """Markdown as a reader reads it: spans unwrapped, emphasis and escapes dropped."""
    text = markdown
    for _ in range(3):  # spans inside spans
        text = _SPAN.sub(lambda m: m.group(1), text)
    text = re.sub(r"\[@[^\]]+\]", "", text)  # citations
    text = text.replace("*", "")
    text = re.sub(r"\\(.)", r"\1", text)
    return " ".join(text.split())


def _cites(title: str, key: str) -> bool:
    return title == key or title.startswith(key + ".")


def manuscript_citations(qmd: str, keys: Iterable[str]) -> dict[str, list[Citation]]:
    """For each key, the sentences of the generated manuscript source that print it (or a
    part of it), with the heading of their section. Tables are not sentences: they are
    reported by cell (see :func:`cite_changes`)."""
    wanted = set(keys)
    found: dict[str, list[Citation]] = {k: [] for k in wanted}
    section = ""
    paragraph: list[str] = []

    def flush() -> None:
        text = " ".join(paragraph).strip()
        paragraph.clear()
        if not text or text.startswith(("+", "|", ":")):
            return
        for sentence in _SENTENCE_END.split(text):
            titles = [m.group(2) for m in _SPAN.finditer(sentence)]
            for key in wanted:
                if any(_cites(t, key) for t in titles):
                    found[key].append(Citation(section, _plain(sentence)))

    for line in qmd.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            section = _plain(heading.group(2))
        elif not line.strip() or line.startswith((":::", "+-", "+=", "|", "```", "---")):
            flush()
        else:
            paragraph.append(line.strip())
    flush()
    return found


def template_lines(templates: Iterable[Path], key: str, root: Path) -> list[str]:
    """``file:line`` of every template line whose expressions name ``key`` (or a part of it)."""
    pattern = re.compile(r"\{\{[^}]*?(?<![\w.])" + re.escape(key) + r"(?![\w])[^}]*\}\}")
    out = []
    for path in templates:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if pattern.search(line):
                try:
                    shown = path.relative_to(root)
                except ValueError:
                    shown = path
                out.append(f"{shown}:{n}")
    return out


def cite_changes(
    changes: list[ValueChange],
    old: ResultsStore,
    new: ResultsStore,
    old_qmd: str | None,
    new_qmd: str | None,
    templates: Iterable[Path] = (),
    root: Path | None = None,
) -> list[ValueChange]:
    """The same changes, each with the template lines, sentences and table cell citing it."""
    keys = [c.key for c in changes]
    before = manuscript_citations(old_qmd, keys) if old_qmd else {}
    after = manuscript_citations(new_qmd, keys) if new_qmd else {}
    files = list(templates)
    out = []
    for c in changes:
        store = new if c.key in new else old
        src = store[c.key].source
        table = f"{src.table}, {src.cell}" if src.table and src.cell else src.table
        out.append(ValueChange(
            c.key, c.old, c.new,
            templates=tuple(template_lines(files, c.key, root or Path.cwd())),
            table=table,
            cited_old=tuple(before.get(c.key, ())),
            cited_new=tuple(after.get(c.key, ())),
        ))
    return out
