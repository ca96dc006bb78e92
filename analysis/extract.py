"""Reported statistics read from the plain text of a paper.

:func:`extract` finds what a clinical paper prints, with the line it stands on and the table
row it belongs to when it can tell: χ², t and F with their df, P in its common spellings
(``P=0.032``, ``p < .05``, ``P value 0.03``), n (%), a/b counts, mean ± SD, and ratios (OR, HR,
RR) with their confidence interval. Tables are read from the lines after a ``Table N.``
caption: a row's label, then its cells.

This reads text, so it is heuristic: two-column layouts and broken lines defeat it in places.
What it does not recognise it leaves out; it never guesses a number.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import AnalysisError

__all__ = ["Inline", "Ratio", "Row", "Table", "extract", "read_text"]

NUM = r"[-−]?(?:\d+\.?\d*|\.\d+)"
_P = re.compile(r"(?<![A-Za-z])[Pp](?:[- ]?values?)?\s*(?:of\s*)?([=<>≤≥]|<=|>=|\s)\s*(" + NUM + r")(?![\d.])")
_CHI = re.compile(r"(?:χ\s*2|χ²|chi[- ]?squared?|chi2|X2)\s*(?:\(\s*(?:df\s*=\s*)?(\d+)\s*(?:,[^)]*)?\))?\s*[=:]\s*("
                  + NUM + ")", re.I)
_T = re.compile(r"(?<![A-Za-z])t\s*(?:\(\s*(\d+(?:\.\d+)?)\s*\))?\s*=\s*(" + NUM + ")")
_F = re.compile(r"(?<![A-Za-z])F\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*=\s*(" + NUM + ")")
_EST_CI = re.compile(r"(?<![\d.])(" + NUM + r")%?\s*[,;]?\s*[(\[]\s*(?:95\s*%\s*C[Il][:,]?\s*)(" + NUM
                     + r")%?\s*(?:[-–—]|to)\s*(" + NUM + r")%?")
_EST_CI_BARE = re.compile(r"(?<![\d.])(" + NUM + r")%?\s*[,;]\s*95\s*%\s*C[Il][:,]?\s*(" + NUM
                          + r")%?\s*(?:[-–—]|to)\s*(" + NUM + r")%?")
_MEASURE = re.compile(r"\b(HR|OR|RR)\b")
_CAPTION = re.compile(r"^\s*Table\s+(\d+)\.")
_NPCT = re.compile(r"^(\d+)\s*\((\d+(?:\.\d+)?)%?\)$")
_FRAC = re.compile(r"^(\d+)/(\d+)$")
_MSD = re.compile(r"^(" + NUM + r")\s*±\s*(" + NUM + r")$")
_PNUM = re.compile(r"^([<>≤≥]?)(" + NUM + r")([a-z*†‡]*)$")
_GROUP_N = re.compile(r"\((?:n\s*=\s*)?(\d+)\)")


@dataclass
class Inline:
    """A statistic and (when printed beside it) its P, in running text."""

    line: int
    stat: str  # "chi2", "t", "F" or "P"
    value: str | None
    df: tuple[float, ...] = ()
    p: str | None = None
    text: str = ""


@dataclass
class Ratio:
    """An OR, HR or RR with its confidence interval."""

    line: int
    measure: str
    estimate: str
    lower: str
    upper: str
    text: str = ""


@dataclass
class Row:
    """One table row: label, the cells recognised, and trailing plain numbers (statistics)."""

    line: int
    label: str
    counts: list[tuple[int, str | None]] = field(default_factory=list)  # n, printed % (None for a/b)
    fractions: list[tuple[int, int]] = field(default_factory=list)
    means: list[tuple[str, str]] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # every plain number, in order
    marks: list[str] = field(default_factory=list)  # footnote letters on trailing numbers

    @property
    def trailing(self) -> list[str]:
        """The plain numbers after the last recognised cell: a row's test statistic and P."""
        return self.numbers[self._after:]

    _after: int = 0


@dataclass
class Table:
    """A table: its caption, the group sizes its header gives, and its rows."""

    number: str
    caption: str
    line: int
    group_sizes: list[int] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    blank_after: set[int] = field(default_factory=set)  # row indices followed by a blank line


def read_text(path: Path) -> str:
    """A paper's text: a .txt file as it is, a PDF through ``pdftotext -layout`` when installed."""
    if not path.is_file():
        raise AnalysisError(f"{path}: no such file")
    if path.suffix.lower() == ".pdf":
        import shutil

        exe = shutil.which("pdftotext")
        if exe is None:
            raise AnalysisError(f"{path}: reading a PDF needs `pdftotext` (Debian: apt-get install poppler-utils)")
        proc = subprocess.run([exe, "-layout", str(path), "-"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise AnalysisError(f"{path}: pdftotext failed: {proc.stderr.strip()}")
        return proc.stdout
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1")


def _tokens(text: str) -> list[str]:
    """Cells of a table line: "13 (32.50)", "63.9±11.4", "23/17" and numbers stay whole."""
    text = re.sub(r"(\d)\s*\(\s*(\d+(?:\.\d+)?%?)\s*\)", r"\1(\2)", text)
    text = re.sub(r"(" + NUM + r")\s*±\s*(" + NUM + ")", r"\1±\2", text)
    return text.split()


def _cell(token: str) -> tuple[str, tuple] | None:
    clean = token.replace("−", "-")
    for kind, pattern in (("count", _NPCT), ("fraction", _FRAC), ("mean", _MSD), ("number", _PNUM)):
        m = pattern.match(clean)
        if m:
            return kind, m.groups()
    return None


def _row(line_no: int, text: str) -> Row | None:
    """A table line as label + cells: the cells are the longest run of cell-like tokens at the
    end of the line, so a label may hold numbers of its own ("≤58 years old")."""
    tokens = _tokens(text)
    cells: list[tuple[str, tuple]] = []
    k = len(tokens)
    while k > 0:
        cell = _cell(tokens[k - 1])
        if cell is None:
            break
        cells.insert(0, cell)
        k -= 1
    if not cells:
        return None
    row = Row(line_no, " ".join(tokens[:k]).strip())
    for kind, groups in cells:
        if kind == "count":
            row.counts.append((int(groups[0]), groups[1]))
        elif kind == "fraction":
            row.fractions.append((int(groups[0]), int(groups[1])))
        elif kind == "mean":
            row.means.append((groups[0], groups[1]))
        else:
            row.numbers.append(groups[0] + groups[1])
            if groups[2]:
                row.marks.append(groups[2])
            continue
        row._after = len(row.numbers)
    return row


def _inline(line_no: int, text: str) -> list[Inline]:
    out: list[Inline] = []
    used: set[int] = set()
    for pattern, name in ((_CHI, "chi2"), (_T, "t"), (_F, "F")):
        for m in pattern.finditer(text):
            if name == "F":
                df, value = (float(m.group(1)), float(m.group(2))), m.group(3)
            else:
                df, value = ((float(m.group(1)),) if m.group(1) else ()), m.group(2)
            p = _P.search(text, m.end(), min(len(text), m.end() + 40))
            if p:
                used.add(p.start())
            out.append(Inline(line_no, name, value, df, _p_text(p) if p else None, text.strip()))
    for p in _P.finditer(text):
        if p.start() not in used:
            out.append(Inline(line_no, "P", None, (), _p_text(p), text.strip()))
    return out


def _p_text(m: re.Match) -> str:
    rel = m.group(1).strip()
    rel = "" if rel in ("", "=") else rel
    return rel + m.group(2)


def extract(text: str) -> tuple[list[Table], list[Inline], list[Ratio]]:
    """Tables, inline statistics and ratios of a paper's text, each with its line number."""
    lines = text.splitlines()
    tables: list[Table] = []
    inline: list[Inline] = []
    current: Table | None = None
    in_header = False
    prose: list[tuple[int, str]] = []
    for i, raw in enumerate(lines, start=1):
        line = raw.strip()
        cap = _CAPTION.match(line)
        if cap:
            current = Table(cap.group(1), line, i)
            tables.append(current)
            in_header = True
            continue
        if current is not None:
            if line.lower().startswith(("note", "abbreviation")) or (not line and len(current.rows) > 60):
                current = None
                continue
            if not line:
                if current.rows:
                    current.blank_after.add(len(current.rows) - 1)
                continue
            row = _row(i, line)
            if row is None:
                if in_header:
                    current.group_sizes += [int(n) for n in _GROUP_N.findall(line)]
                    continue
                if len(line.split()) > 8:  # a sentence: the table has ended
                    current = None
                else:
                    continue
            else:
                if in_header and not (row.counts or row.fractions or row.means) and _GROUP_N.search(line):
                    current.group_sizes += [int(n) for n in _GROUP_N.findall(line)]
                    continue
                in_header = False
                current.rows.append(row)
                continue
        prose.append((i, line))
        inline.extend(_inline(i, line))
    ratios = _ratios(prose)
    return tables, inline, ratios


def _ratios(prose: list[tuple[int, str]]) -> list[Ratio]:
    """Estimates with a 95% CI in running text, read across line breaks; an estimate is an OR,
    HR or RR when one of them is named shortly before it."""
    joined, starts = "", []
    for line_no, text in prose:
        starts.append((len(joined), line_no))
        joined += text + " "

    def line_of(offset: int) -> int:
        current = starts[0][1] if starts else 0
        for start, line_no in starts:
            if start > offset:
                break
            current = line_no
        return current

    found = {}
    for pattern in (_EST_CI, _EST_CI_BARE):
        for m in pattern.finditer(joined):
            if m.start() in found:
                continue
            names = _MEASURE.findall(joined[max(0, m.start() - 80):m.start()])
            percent = joined[m.end(1):m.end(1) + 1] == "%" or joined[m.end(3):m.end(3) + 1] == "%"
            measure = names[-1] if names and not percent else "estimate"
            found[m.start()] = Ratio(line_of(m.start()), measure, m.group(1), m.group(2), m.group(3),
                                     joined[max(0, m.start() - 40):m.end()].strip())
    return [found[k] for k in sorted(found)]
