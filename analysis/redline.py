"""Redlines: the new manuscript with every change since an earlier version marked.

The two versions' manuscript sources are read by pandoc into its document tree; blocks are
aligned (sections, paragraphs, list items, table rows and cells) and the words of each pair of
blocks compared. What the new version dropped is wrapped in a span classed ``deletion``, what
it added in one classed ``insertion``, both with author and date: pandoc's DOCX writer turns
those spans into real Word tracked changes (``w:del``/``w:ins``), which Word and LibreOffice
can accept or reject one by one. The same tree, rendered to HTML, highlights the changes and
lists them with a link to each.

Writes ``report/<study>/revision/``: ``manuscript-tracked.docx``, ``manuscript-changes.html``,
``changes.md`` and ``changes.csv`` (a table for the response-to-reviewers letter).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from analysis.diff import ValueChange
from analysis.errors import RenderError

__all__ = ["Change", "Redliner", "changes_table", "write_redline"]

Node = dict[str, Any]
_CSS = """
.insertion { background: #d9f2d9; text-decoration: underline; color: #0a4d0a; }
.deletion { background: #f9dcdc; text-decoration: line-through; color: #7a1010; }
#revision-changes { border: 1px solid #999; padding: 0.5em 1em; margin-bottom: 2em; font-size: 0.95em; }
#revision-changes li { margin: 0.2em 0; }
"""


@dataclass
class Change:
    """One marked change: where (section), what it said and what it says now (plain text)."""

    id: str
    section: str
    old: str
    new: str


def _fp(node: Any) -> str:
    return json.dumps(node, sort_keys=True, ensure_ascii=False)


def _stringify(inlines: list[Node]) -> str:
    out = []
    for node in inlines:
        t, c = node.get("t"), node.get("c")
        if t == "Str":
            out.append(c)
        elif t in ("Space", "SoftBreak", "LineBreak"):
            out.append(" ")
        elif t in ("Emph", "Strong", "Underline", "Strikeout", "Superscript", "Subscript", "SmallCaps"):
            out.append(_stringify(c))
        elif t in ("Span", "Link"):
            out.append(_stringify(c[1]))
        elif t == "Quoted":
            out.append("“" + _stringify(c[1]) + "”")
        elif t == "Cite":
            out.append(_stringify(c[1]))
        elif t in ("Code", "Math"):
            out.append(c[1])
    return "".join(out)


def _block_text(block: Node) -> str:
    t, c = block.get("t"), block.get("c")
    if t in ("Para", "Plain"):
        return _stringify(c)
    if t == "Header":
        return _stringify(c[2])
    return ""


@dataclass
class Redliner:
    """Merges two pandoc documents into one with tracked-change spans.

    ``author`` and ``date`` (ISO 8601) are carried by every change; ``ids`` gives each change
    an anchor (``chg-1`` ...) for the HTML list of changes (Word needs none).
    """

    author: str
    date: str
    ids: bool = False
    changes: list[Change] = field(default_factory=list)
    section: str = ""
    quiet: bool = False  # marking the cells of a whole new row: the row is listed once

    # -- inline level -----------------------------------------------------------------------
    def _span(self, cls: str, inlines: list[Node], ident: str = "") -> Node:
        attrs = [["author", self.author], ["date", self.date]]
        return {"t": "Span", "c": [[ident if self.ids else "", [cls], attrs], inlines]}

    def _record(self, old: list[Node], new: list[Node]) -> str:
        ident = f"chg-{len(self.changes) + 1}"
        if not self.quiet:
            self.changes.append(Change(ident, self.section, _stringify(old).strip(), _stringify(new).strip()))
        return ident

    def merge_inlines(self, old: list[Node], new: list[Node]) -> list[Node]:
        """The new inlines with words the old had and the new lacks marked deleted, and the
        words it added marked inserted."""
        old, new = _words(old), _words(new)
        sm = SequenceMatcher(None, [_fp(n) for n in old], [_fp(n) for n in new], autojunk=False)
        out: list[Node] = []
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op == "equal":
                out.extend(new[j1:j2])
                continue
            gone, came = old[i1:i2], new[j1:j2]
            if not _trim(gone) and not _trim(came):  # only spacing differed
                out.extend(came)
                continue
            # spaces stay inside the marks, so accepting or rejecting every change reads right
            ident = self._record(gone, came)
            if _trim(gone):
                out.append(self._span("deletion", gone, ident))
            if _trim(came):
                out.append(self._span("insertion", came, "" if _trim(gone) else ident))
        return out

    def _mark_inlines(self, cls: str, inlines: list[Node]) -> list[Node]:
        inlines = _trim(_words(inlines))
        if not inlines:
            return []
        ident = self._record(inlines, []) if cls == "deletion" else self._record([], inlines)
        return [self._span(cls, inlines, ident)]

    # -- block level ------------------------------------------------------------------------
    def mark_block(self, block: Node, cls: str) -> Node | None:
        """A whole block added (``insertion``) or dropped (``deletion``), its text marked."""
        t, c = block.get("t"), block.get("c")
        if t in ("Para", "Plain"):
            return {"t": t, "c": self._mark_inlines(cls, c)}
        if t == "Header":
            self.section = _stringify(c[2]) if cls == "insertion" else self.section
            return {"t": t, "c": [c[0], c[1], self._mark_inlines(cls, c[2])]}
        if t in ("Div", "BlockQuote"):
            inner = c[1] if t == "Div" else c
            marked = [b for b in (self.mark_block(x, cls) for x in inner) if b]
            return {"t": t, "c": [c[0], marked]} if t == "Div" else {"t": t, "c": marked}
        if t in ("BulletList", "OrderedList"):
            items = c if t == "BulletList" else c[1]
            marked = [[b for b in (self.mark_block(x, cls) for x in item) if b] for item in items]
            return {"t": t, "c": marked if t == "BulletList" else [c[0], marked]}
        if t == "Table":
            return self._map_table_cells(block, lambda blocks: self._mark_all(blocks, cls))
        if t == "Figure":
            caption = [c[1][0], [b for b in (self.mark_block(x, cls) for x in c[1][1]) if b]]
            return {"t": t, "c": [c[0], caption, c[2]]} if cls == "insertion" else None
        return block if cls == "insertion" else None  # a rule or a code block cannot be struck through

    def _mark_all(self, blocks: list[Node], cls: str) -> list[Node]:
        return [b for b in (self.mark_block(x, cls) for x in blocks) if b]

    def merge_blocks(self, old: list[Node], new: list[Node]) -> list[Node]:
        """The new blocks, each paired with its old counterpart and marked where they differ."""
        sm = SequenceMatcher(None, [_fp(b) for b in old], [_fp(b) for b in new], autojunk=False)
        out: list[Node] = []
        for op, i1, i2, j1, j2 in sm.get_opcodes():
            if op == "equal":
                for b in new[j1:j2]:
                    self._track_section(b)
                out.extend(new[j1:j2])
                continue
            olds, news = old[i1:i2], new[j1:j2]
            pairs = _pair(olds, news)
            for o, n in pairs:
                if o is not None and n is not None:
                    out.append(self.merge_block(o, n))
                elif n is not None:
                    marked = self.mark_block(n, "insertion")
                    if marked:
                        out.append(marked)
                else:
                    marked = self.mark_block(o, "deletion")
                    if marked:
                        out.append(marked)
        return out

    def _track_section(self, block: Node) -> None:
        if block.get("t") == "Header":
            self.section = _stringify(block["c"][2])

    def merge_block(self, old: Node, new: Node) -> Node:
        """Two blocks of the same type: their contents merged."""
        t, oc, nc = new["t"], old.get("c"), new.get("c")
        if t in ("Para", "Plain"):
            return {"t": t, "c": self.merge_inlines(oc, nc)}
        if t == "Header":
            merged = self.merge_inlines(oc[2], nc[2])
            self.section = _stringify(nc[2])
            return {"t": t, "c": [nc[0], nc[1], merged]}
        if t == "Div":
            return {"t": t, "c": [nc[0], self.merge_blocks(oc[1], nc[1])]}
        if t == "BlockQuote":
            return {"t": t, "c": self.merge_blocks(oc, nc)}
        if t in ("BulletList", "OrderedList"):
            oi, ni = (oc, nc) if t == "BulletList" else (oc[1], nc[1])
            items = [self.merge_blocks(o or [], n or []) for o, n in _pair_items(oi, ni)]
            return {"t": t, "c": items if t == "BulletList" else [nc[0], items]}
        if t == "Table":
            return self._merge_table(old, new)
        if t == "Figure":
            caption = [nc[1][0], self.merge_blocks(oc[1][1], nc[1][1])]
            return {"t": t, "c": [nc[0], caption, nc[2]]}
        return new

    # -- tables -----------------------------------------------------------------------------
    @staticmethod
    def _rows(table: Node) -> list[tuple[str, int, int]]:
        """(part, body index, row index) of every row: the head, each body, the foot."""
        c = table["c"]
        out = [("head", 0, i) for i in range(len(c[3][1]))]
        for b, body in enumerate(c[4]):
            out += [("body", b, i) for i in range(len(body[3]))]
        out += [("foot", 0, i) for i in range(len(c[5][1]))]
        return out

    def _map_table_cells(self, table: Node, fn: Any) -> Node:
        table = json.loads(_fp(table))
        c = table["c"]
        c[1][1] = fn(c[1][1])  # caption
        for rows in [c[3][1], *[body[3] for body in c[4]], c[5][1]]:
            for row in rows:
                for cell in row[1]:
                    cell[4] = fn(cell[4])
        return table

    def _merge_table(self, old: Node, new: Node) -> Node:
        """Caption merged; rows aligned by content; paired rows merged cell by cell."""
        merged = json.loads(_fp(new))
        oc, c = old["c"], merged["c"]
        c[1][1] = self.merge_blocks(oc[1][1], c[1][1])
        section = self.section
        caption = " ".join(_block_text(b) for b in new["c"][1][1]).strip()
        self.section = f"{section} (table: {caption})" if caption else section

        def merge_rows(orows: list[Any], nrows: list[Any]) -> list[Any]:
            out = []
            for o, n in _pair_items(orows, nrows, key=_row_text):
                if n is None:
                    continue  # a dropped row: its text is struck in the row it stood beside, if any
                if o is None or len(o[1]) != len(n[1]):
                    ident, self.quiet = self._record([], [{"t": "Str", "c": _row_text(n)}]), True
                    for cell in n[1]:
                        cell[4] = self._mark_all(cell[4], "insertion")
                    self.quiet = False
                    if self.ids and n[1] and n[1][0][4]:
                        _set_first_id(n[1][0][4], ident)
                else:
                    for ocell, ncell in zip(o[1], n[1], strict=True):
                        ncell[4] = self.merge_blocks(ocell[4], ncell[4])
                out.append(n)
            return out

        c[3][1] = merge_rows(oc[3][1], c[3][1])
        for b, body in enumerate(c[4]):
            obody = oc[4][b] if b < len(oc[4]) else [None, 0, [], []]
            body[3] = merge_rows(obody[3], body[3])
        c[5][1] = merge_rows(oc[5][1], c[5][1])
        self.section = section
        return merged


def _set_first_id(blocks: list[Node], ident: str) -> None:
    """Anchor a change listed once (a whole new row) on the first mark inside it."""
    for block in blocks:
        for node in block.get("c", []) if block.get("t") in ("Para", "Plain") else []:
            if node.get("t") == "Span":
                node["c"][0][0] = ident
                return


def _row_text(row: Any) -> str:
    return " | ".join(" ".join(_block_text(b) for b in cell[4]) for cell in row[1])


def _words(inlines: list[Node]) -> list[Node]:
    """Soft line breaks read as spaces: a re-wrapped line is not a change."""
    return [{"t": "Space"} if n.get("t") == "SoftBreak" else n for n in inlines]


def _trim(inlines: list[Node]) -> list[Node]:
    start, end = 0, len(inlines)
    while start < end and inlines[start].get("t") == "Space":
        start += 1
    while end > start and inlines[end - 1].get("t") == "Space":
        end -= 1
    return inlines[start:end]


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b, autojunk=False).ratio() if a or b else 1.0


def _pair(olds: list[Node], news: list[Node]) -> list[tuple[Node | None, Node | None]]:
    """Pair changed blocks of the same type in order; the rest are deleted or inserted."""
    out: list[tuple[Node | None, Node | None]] = []
    i = 0
    for n in news:
        match = None
        for k in range(i, len(olds)):
            if olds[k].get("t") == n.get("t") and _similar(_block_text(olds[k]), _block_text(n)) >= 0.3:
                match = k
                break
        if match is None:
            out.append((None, n))
            continue
        out.extend((o, None) for o in olds[i:match])
        out.append((olds[match], n))
        i = match + 1
    out.extend((o, None) for o in olds[i:])
    return out


def _pair_items(olds: list[Any], news: list[Any], key: Any = _fp) -> list[tuple[Any, Any]]:
    """Align two lists (list items, table rows) by content; unmatched ones stand alone."""
    sm = SequenceMatcher(None, [key(o) for o in olds], [key(n) for n in news], autojunk=False)
    out: list[tuple[Any, Any]] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal" or (op == "replace" and i2 - i1 == j2 - j1):
            out.extend(zip(olds[i1:i2], news[j1:j2], strict=True))
        else:
            out.extend((o, None) for o in olds[i1:i2])
            out.extend((None, n) for n in news[j1:j2])
    return out


# -- files ------------------------------------------------------------------------------------
def _pandoc_json(qmd: Path, env: dict[str, str]) -> Node:
    from analysis.render import READER, pandoc_path

    proc = subprocess.run([pandoc_path(), qmd.name, "--from", READER, "--to", "json"], cwd=qmd.parent,
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RenderError(f"pandoc could not read {qmd}: {proc.stderr.strip()}")
    return json.loads(proc.stdout)


def _run_writer(cmd: list[str], source: Path, out: Path, env: dict[str, str], what: str) -> None:
    """A renderer command of :mod:`analysis.render` (built for ``manuscript.qmd`` in the
    folder of ``source``) made to read the merged document tree ``source`` instead; its output
    is moved to ``out``."""
    cmd = list(cmd)
    for i, arg in enumerate(cmd[:-1]):
        if arg == "--from":
            cmd[i + 1] = "json"
    cmd = [source.name if a == "manuscript.qmd" else a for a in cmd]
    produced = source.parent / out.name
    proc = subprocess.run(cmd, cwd=source.parent, capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not produced.is_file() or produced.stat().st_size == 0:
        raise RenderError(f"pandoc ({what}) failed on the redline: {(proc.stderr or proc.stdout).strip()}")
    shutil.move(produced, out)


def changes_table(changes: list[ValueChange]) -> list[dict[str, str]]:
    """Rows for the response-to-reviewers letter: section, what it said, what it says now, key.

    One row per sentence citing a changed value (old and new sentence paired in order), and one
    per table cell showing it.
    """
    rows = []
    for c in changes:
        olds, news = list(c.cited_old), list(c.cited_new)
        for i in range(max(len(olds), len(news))):
            o = olds[i] if i < len(olds) else None
            n = news[i] if i < len(news) else None
            rows.append({"section": (n or o).section, "said": o.sentence if o else "",
                         "says": n.sentence if n else "", "key": c.key})
        if c.table:
            rows.append({"section": f"Table {c.table}", "said": c.old or "", "says": c.new or "", "key": c.key})
        if not olds and not news and not c.table:
            rows.append({"section": "(not cited in the text)", "said": c.old or "", "says": c.new or "",
                         "key": c.key})
    return rows


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def write_redline(
    old_folder: Path,
    new_folder: Path,
    out: Path,
    changes: list[ValueChange],
    shared: Path,
    author: str,
    date: str,
    epoch: int | None = None,
    labels: tuple[str, str] = ("old", "new"),
) -> dict[str, Path]:
    """Write the redline of ``new_folder``'s manuscript against ``old_folder``'s into ``out``.

    Both folders hold a built ``manuscript.qmd`` (and the new one its figures); ``changes``
    are the cited value changes for ``changes.md``/``changes.csv``. Returns the files written.
    """
    import os

    from analysis.render import _docx_cmd, _html_cmd

    for folder in (old_folder, new_folder):
        if not (folder / "manuscript.qmd").is_file():
            raise RenderError(f"{folder}: no manuscript.qmd to redline (a bare results.json has no text)")
    env = dict(os.environ)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    work = out / ".work"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for item in new_folder.iterdir():
        if item.name != "manuscript.qmd":
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, work / item.name)
    for name in ("references.bib", "vancouver.csl"):
        if not (work / name).exists() and (shared / name).exists():
            shutil.copy2(shared / name, work / name)
    old_doc, new_doc = (_pandoc_json(f / "manuscript.qmd", env) for f in (old_folder, new_folder))

    files: dict[str, Path] = {}
    tracked = Redliner(author, date)
    doc = dict(new_doc, blocks=tracked.merge_blocks(old_doc["blocks"], new_doc["blocks"]))
    (work / "tracked.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    docx = out / "manuscript-tracked.docx"
    _run_writer(_docx_cmd(work / "manuscript.qmd", docx, shared), work / "tracked.json", docx, env, "DOCX")
    files["docx"] = docx

    listed = Redliner(author, date, ids=True)
    blocks = listed.merge_blocks(old_doc["blocks"], new_doc["blocks"])
    doc = dict(new_doc, blocks=[_change_list(listed.changes, labels), *blocks])
    (work / "changes.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    (work / "redline.css").write_text(_CSS, encoding="utf-8")
    html = out / "manuscript-changes.html"
    cmd = [*_html_cmd(work / "manuscript.qmd", html, shared), "--css", str(work / "redline.css")]
    _run_writer(cmd, work / "changes.json", html, env, "HTML")
    files["html"] = html

    rows = changes_table(changes)
    md = ["| Section | What it said | What it says now | Key |", "|---|---|---|---|"]
    md += [f"| {_md_cell(r['section'])} | {_md_cell(r['said'])} | {_md_cell(r['says'])} | `{r['key']}` |"
           for r in rows]
    (out / "changes.md").write_text(f"Changes from {labels[0]} to {labels[1]}\n\n" + "\n".join(md) + "\n",
                                    encoding="utf-8")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=["section", "said", "says", "key"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    (out / "changes.csv").write_text(buf.getvalue(), encoding="utf-8")
    files["md"], files["csv"] = out / "changes.md", out / "changes.csv"
    shutil.rmtree(work)
    return files


def _change_list(changes: list[Change], labels: tuple[str, str]) -> Node:
    """A box at the top of the HTML: every change, each linking to where it stands."""

    def text(s: str) -> list[Node]:
        out: list[Node] = []
        for i, word in enumerate(s.split()):
            if i:
                out.append({"t": "Space"})
            out.append({"t": "Str", "c": word})
        return out

    items = []
    for ch in changes:
        what = (text(f"“{ch.old}” → “{ch.new}”") if ch.old and ch.new
                else text(f"added “{ch.new}”") if ch.new else text(f"removed “{ch.old}”"))
        where = text(ch.section or "Front matter")
        link = {"t": "Link", "c": [["", [], []], where, ["#" + ch.id, ""]]}
        items.append([{"t": "Plain", "c": [link, {"t": "Str", "c": ":"}, {"t": "Space"}, *what]}])
    title = text(f"{len(changes)} change(s) from {labels[0]} to {labels[1]}")
    body: list[Node] = [{"t": "Para", "c": [{"t": "Strong", "c": title}]}]
    if items:
        body.append({"t": "BulletList", "c": items})
    return {"t": "Div", "c": [["revision-changes", [], []], body]}
