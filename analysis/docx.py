"""Finish pandoc's DOCX so that Word users accept it: tables sized to their content.

pandoc turns a table's relative column widths into fixed Word columns of that share of the
page, which split "13 (32.50)" and "Neutropenia" inside narrow cells. :func:`finish_docx`
rewrites ``word/document.xml`` after pandoc:

- every table gets column widths measured from its own text (Arial metrics, which
  LibreOffice's Liberation Sans shares): number columns as wide as their widest cell, so
  no number or "n (%)" wraps; the stub and text columns share the rest and wrap between
  words only; headers wrap between words when they must;
- a table too wide for the page at 9 pt is set at 8 pt; still too wide, it gets a
  landscape section of its own (caption, table and notes);
- single-rule look, as in the PDF: a rule above and below the table, under the header and
  under each spanner; header text bold;
- rows are not split over pages, a group heading row is kept with the row after it;
- optional line numbers in every section, for review.

Nothing is computed here; only the layout of text pandoc wrote is changed. The zip entries
keep pandoc's order and dates (``SOURCE_DATE_EPOCH``), so the file stays reproducible.
"""

from __future__ import annotations

import copy
import io
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

__all__ = ["TABLE_FONT_SIZES", "finish_docx", "text_width_pt"]

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#: Font sizes (pt) a table may be set in, largest first; the reference document's is 9 pt.
TABLE_FONT_SIZES = (9.0, 8.0)
#: Left + right cell margin of the reference document's table style (57 twips each), in pt.
_CELL_PAD_PT = 2 * 57 / 20
#: Slack for renderer differences (kerning, rounding): a column is never measured tight.
_SLACK = 1.04
_SLACK_PT = 2.0

# Advance widths (1/1000 em) of Liberation Sans Regular and Bold, which are metric-compatible
# with Arial (the reference document's table font); read from the fonts' hmtx tables.
_CHARS = (" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
          "\u00a0±–—−×χ²³≤≥·µ°’‘“”…αβγΔκλ")
_REGULAR = (278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556,
            556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778,
            722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278,
            278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
            556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 278, 549, 556, 1000, 584,
            584, 525, 333, 333, 549, 549, 278, 576, 400, 222, 222, 333, 333, 1000, 578, 575, 500, 668, 500, 500)
_BOLD = (278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
         556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278,
         556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
         556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
         333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 278, 549, 556, 1000, 584, 584, 576, 333, 333, 549,
         549, 278, 576, 400, 278, 278, 500, 500, 1000, 615, 610, 556, 719, 558, 556)
_WIDTHS = {False: dict(zip(_CHARS, _REGULAR, strict=True)), True: dict(zip(_CHARS, _BOLD, strict=True))}
_UNKNOWN_WIDTH = 1000  # a character outside the table: counted as wide as "M" and then some
_KEEP_TOGETHER_ROWS = 30
_SUPERSCRIPT = 0.65  # Word draws superscripts at about two thirds of the size

# Child order of the OOXML elements this module writes into (ECMA-376 Part 1, 17.x); Word
# refuses a document whose property elements are out of order.
_ORDER = {
    "tblPr": ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
              "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar",
              "tblLook", "tblCaption", "tblDescription"),
    "tcPr": ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
             "textDirection", "tcFitText", "vAlign", "hideMark"),
    "rPr": ("rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike", "outline",
            "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden", "color", "spacing",
            "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr", "shd", "fitText",
            "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish", "oMath"),
    "pPr": ("pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
            "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
            "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
            "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
            "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
            "sectPr", "pPrChange"),
    "sectPr": ("headerReference", "footerReference", "footnotePr", "endnotePr", "type", "pgSz", "pgMar",
               "paperSrc", "pgBorders", "lnNumType", "pgNumType", "cols", "formProt", "vAlign", "noEndnote",
               "titlePg", "textDirection", "bidi", "rtlGutter", "docGrid", "printerSettings", "sectPrChange"),
    "tcBorders": ("top", "start", "left", "bottom", "end", "right", "insideH", "insideV", "tl2br", "tr2bl"),
    "tblBorders": ("top", "start", "left", "bottom", "end", "right", "insideH", "insideV"),
}


def _q(tag: str) -> str:
    return f"{{{_W}}}{tag}"


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname


def _child(parent: etree._Element, tag: str, first: bool = False) -> etree._Element:
    """``parent``'s child ``w:tag``, created at its schema position when missing."""
    found = parent.find(_q(tag))
    if found is not None:
        return found
    el = etree.Element(_q(tag))
    order = _ORDER.get(_local(parent))
    if first or order is None or tag not in order:
        parent.insert(0, el) if first else parent.append(el)
        return el
    rank = order.index(tag)
    for i, sibling in enumerate(parent):
        name = _local(sibling)
        if name in order and order.index(name) > rank:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


def _props(el: etree._Element, tag: str) -> etree._Element:
    """The properties element (``w:pPr``, ``w:rPr``, ``w:tcPr``, ...), always the first child."""
    found = el.find(_q(tag))
    if found is None:
        found = etree.Element(_q(tag))
        el.insert(0, found)
    return found


def _set(el: etree._Element, **attrs: str) -> etree._Element:
    for key, val in attrs.items():
        el.set(_q(key), val)
    return el


def text_width_pt(text: str, size_pt: float, bold: bool = False) -> float:
    """The advance width of ``text`` in Arial at ``size_pt``, in points."""
    table = _WIDTHS[bold]
    return sum(table.get(ch, _UNKNOWN_WIDTH) for ch in text) * size_pt / 1000


# -- measuring a table -------------------------------------------------------------------
@dataclass
class _Run:
    text: str
    bold: bool
    scale: float
    mono: bool = False

    def width(self, text: str, size: float, bold: bool) -> float:
        if self.mono:  # code (file names, hashes): every glyph of a monospaced font is 0.6 em
            return 0.6 * len(text) * size * self.scale
        return text_width_pt(text, size * self.scale, bold)


@dataclass
class _Cell:
    el: etree._Element
    start: int
    span: int
    header: bool
    paragraphs: list[list[_Run]]
    align: str

    def widths(self, size: float) -> tuple[float, float]:
        """(longest word, longest line) in pt at ``size``; words break at ordinary spaces only."""
        word = line = 0.0
        for runs in self.paragraphs:
            total = current = 0.0
            for run in runs:
                for piece_i, piece in enumerate(run.text.split(" ")):
                    if piece_i:  # an ordinary space: a possible line break
                        word, current = max(word, current), 0.0
                        total += run.width(" ", size, run.bold)
                    w = run.width(piece, size, run.bold or self.header)
                    current += w
                    total += w
            word, line = max(word, current), max(line, total)
        pad = _CELL_PAD_PT + _SLACK_PT
        return word * _SLACK + pad, line * _SLACK + pad


def _runs(p: etree._Element) -> list[_Run]:
    out = []
    for r in p.iter(_q("r")):
        rpr = r.find(_q("rPr"))
        b = rpr.find(_q("b")) if rpr is not None else None
        bold = b is not None and b.get(_q("val")) not in ("0", "false")
        vert = rpr.find(_q("vertAlign")) if rpr is not None else None
        scale = _SUPERSCRIPT if vert is not None and vert.get(_q("val")) in ("superscript", "subscript") else 1.0
        style = rpr.find(_q("rStyle")) if rpr is not None else None
        mono = style is not None and style.get(_q("val")) == "VerbatimChar"
        text = "".join(t.text or "" for t in r.iter(_q("t")))
        text += " " * len(r.findall(_q("tab")))
        if text:
            out.append(_Run(text, bold, scale, mono))
    return out


@dataclass
class _Table:
    el: etree._Element
    ncols: int
    rows: list[list[_Cell]] = field(default_factory=list)
    header_rows: int = 0


def _read_table(tbl: etree._Element) -> _Table:
    grid = tbl.find(_q("tblGrid"))
    ncols = len(grid.findall(_q("gridCol"))) if grid is not None else 0
    table = _Table(tbl, ncols)
    for tr in tbl.findall(_q("tr")):
        trpr = tr.find(_q("trPr"))
        header = trpr is not None and trpr.find(_q("tblHeader")) is not None
        table.header_rows += header
        col, row = 0, []
        for tc in tr.findall(_q("tc")):
            tcpr = tc.find(_q("tcPr"))
            span_el = tcpr.find(_q("gridSpan")) if tcpr is not None else None
            span = int(span_el.get(_q("val"))) if span_el is not None else 1
            vmerge = tcpr.find(_q("vMerge")) if tcpr is not None else None
            continued = vmerge is not None and vmerge.get(_q("val"), "continue") == "continue"
            paras = [] if continued else [_runs(p) for p in tc.findall(_q("p"))]
            jc = tc.find(f"{_q('p')}/{_q('pPr')}/{_q('jc')}")
            row.append(_Cell(tc, col, span, header, paras, jc.get(_q("val")) if jc is not None else "left"))
            col += span
        table.ncols = max(table.ncols, col)
        table.rows.append(row)
    return table


def _column_needs(table: _Table, size: float) -> list[list[float]]:
    """Width levels of each column in pt, from the least a column can take to what it would
    like: [hard minimum, headers unwrapped, everything unwrapped].

    The stub and left-aligned (text) columns may wrap between words; number columns may
    not, so their hard minimum is their widest body cell. Headers wrap between words only
    when the page leaves no room for them on one line.
    """
    n = table.ncols
    body_aligns: list[set[str]] = [set() for _ in range(n)]
    for row in table.rows:
        for c in row:
            if not c.header and c.span == 1 and c.paragraphs:
                body_aligns[c.start].add(c.align)
    wraps = [j == 0 or body_aligns[j] <= {"left"} for j in range(n)]
    levels = [[0.0] * n for _ in range(3)]
    spanning = []
    for row in table.rows:
        for c in row:
            if not c.paragraphs:
                continue
            word, line = c.widths(size)
            if c.span > 1:
                spanning.append((c, word, line))
                continue
            j = c.start
            hard = word if (wraps[j] or c.header) else line
            levels[0][j] = max(levels[0][j], hard)
            levels[1][j] = max(levels[1][j], line if (c.header and not wraps[j]) else hard)
            levels[2][j] = max(levels[2][j], line)
    for c, word, line in spanning:
        cols = range(c.start, c.start + c.span)
        if c.span == n:  # a full-width group heading may always wrap
            continue
        for level, need in ((0, word), (1, line), (2, line)):
            short = need - sum(levels[level][j] for j in cols)
            if short > 0:
                for j in cols:
                    levels[level][j] += short / c.span
    for k in (1, 2):
        levels[k] = [max(a, b) for a, b in zip(levels[k], levels[k - 1], strict=True)]
    return levels


def _allocate(levels: list[list[float]], available: float) -> list[float] | None:
    """Column widths within ``available`` pt: every column reaches the highest level that
    fits, and the rest is shared in proportion to what each column still lacks; None when
    even the hard minimums do not fit."""
    if sum(levels[0]) > available:
        return None
    if sum(levels[-1]) <= available:
        return list(levels[-1])
    k = max(i for i, lv in enumerate(levels) if sum(lv) <= available)
    low, high = levels[k], levels[k + 1]
    spare = available - sum(low)
    want = sum(h - lo for h, lo in zip(high, low, strict=True))
    return [lo + (h - lo) * spare / want for h, lo in zip(high, low, strict=True)]


@dataclass(frozen=True)
class _Page:
    """Page geometry of a section, in twips."""

    width: int
    height: int
    left: int
    right: int

    @property
    def text_width_pt(self) -> float:
        return (self.width - self.left - self.right) / 20

    def landscape(self) -> _Page:
        return _Page(self.height, self.width, self.left, self.right)


def _page_of(sect: etree._Element) -> _Page:
    size, margin = sect.find(_q("pgSz")), sect.find(_q("pgMar"))
    width = int(size.get(_q("w"), "11906")) if size is not None else 11906
    height = int(size.get(_q("h"), "16838")) if size is not None else 16838
    left = int(margin.get(_q("left"), "1417")) if margin is not None else 1417
    right = int(margin.get(_q("right"), "1417")) if margin is not None else 1417
    return _Page(width, height, left, right)


# -- writing a table ----------------------------------------------------------------------
def _border(parent: etree._Element, edge: str, eighths: int) -> None:
    el = _child(parent, edge)
    if eighths:
        _set(el, val="single", sz=str(eighths), space="0", color="000000")
    else:
        _set(el, val="nil")


def _write_table(table: _Table, widths_pt: list[float], size: float) -> None:
    tbl = table.el
    twips = [round(w * 20) for w in widths_pt]
    tblpr = _props(tbl, "tblPr")
    _set(_child(tblpr, "tblW"), w=str(sum(twips)), type="dxa")
    _set(_child(tblpr, "tblLayout"), type="fixed")
    borders = _child(tblpr, "tblBorders")
    for edge, size_8 in (("top", 8), ("left", 0), ("bottom", 8), ("right", 0), ("insideH", 0), ("insideV", 0)):
        _border(borders, edge, size_8)
    look = tblpr.find(_q("tblLook"))
    if look is not None:  # the rules and bold headers are written explicitly below
        _set(look, firstRow="0", val="0000")
    grid = tbl.find(_q("tblGrid"))
    for col in list(grid):
        grid.remove(col)
    for w in twips:
        _set(etree.SubElement(grid, _q("gridCol")), w=str(w))
    n = table.ncols
    rows = tbl.findall(_q("tr"))
    # a table that fits on a page is kept on one page (Word's "keep with next" on each row)
    keep_together = len(rows) <= _KEEP_TOGETHER_ROWS
    for i, (tr, row) in enumerate(zip(rows, table.rows, strict=True)):
        _child(_props(tr, "trPr"), "cantSplit", first=True)
        last_header = i == table.header_rows - 1
        group_heading = len(row) == 1 and row[0].span == n and not row[0].header
        for c in row:
            tcpr = _props(c.el, "tcPr")
            _set(_child(tcpr, "tcW"), w=str(sum(twips[c.start:c.start + c.span])), type="dxa")
            if c.header:
                _set(_child(tcpr, "vAlign"), val="bottom")
                if last_header or (c.span > 1 and i < table.header_rows - 1):
                    _border(_child(tcpr, "tcBorders"), "bottom", 4)
            for p in c.el.findall(_q("p")):
                ppr = _props(p, "pPr")
                if group_heading or (keep_together and i < len(rows) - 1):  # a group heading never ends a page
                    _child(ppr, "keepNext")
                if c.header and c.span > 1:  # a spanner is centred over its columns
                    _set(_child(ppr, "jc"), val="center")
                for r in p.iter(_q("r")):
                    rpr = _props(r, "rPr")
                    if c.header:
                        _child(rpr, "b")
                    if size != TABLE_FONT_SIZES[0]:
                        _set(_child(rpr, "sz"), val=str(round(size * 2)))
                        _set(_child(rpr, "szCs"), val=str(round(size * 2)))


def _layout(table: _Table, portrait: _Page) -> bool:
    """Size the table's columns; True when it needs a landscape page.

    Preference: portrait with unwrapped headers at 9 pt, then at 8 pt; then portrait with
    wrapped headers; then the same on a landscape page.
    """
    for page, landscape in ((portrait, False), (portrait.landscape(), True)):
        for level in (1, 0):
            for size in TABLE_FONT_SIZES:
                levels = _column_needs(table, size)
                if sum(levels[level]) <= page.text_width_pt:
                    _write_table(table, _allocate(levels, page.text_width_pt), size)
                    return landscape
    size = TABLE_FONT_SIZES[-1]
    _write_table(table, _column_needs(table, size)[0], size)  # wider than a landscape page: the least it needs
    return True


# -- sections ----------------------------------------------------------------------------
def _section_break(after: etree._Element | None, body: etree._Element, index: int,
                   sect: etree._Element) -> int:
    """End a section with ``sect``: in paragraph ``after``'s properties, or in a new empty
    paragraph inserted at ``index``. Returns how many elements were inserted."""
    if after is not None and _local(after) == "p" and after.find(f"{_q('pPr')}/{_q('sectPr')}") is None:
        ppr = _props(after, "pPr")
        ppr.append(sect)  # sectPr is the last child of pPr but for pPrChange, which pandoc never writes
        return 0
    p = etree.Element(_q("p"))
    etree.SubElement(p, _q("pPr")).append(sect)
    body.insert(index, p)
    return 1


def _landscape(sect: etree._Element) -> etree._Element:
    out = copy.deepcopy(sect)
    size = out.find(_q("pgSz"))
    w, h = size.get(_q("w")), size.get(_q("h"))
    _set(size, w=h, h=w, orient="landscape")
    return out


def _is_table_note(el: etree._Element) -> bool:
    style = el.find(f"{_q('pPr')}/{_q('pStyle')}")
    return _local(el) == "p" and style is not None and style.get(_q("val")) == "TableNote"


def _is_caption(el: etree._Element) -> bool:
    style = el.find(f"{_q('pPr')}/{_q('pStyle')}")
    return _local(el) == "p" and style is not None and style.get(_q("val")) == "TableCaption"


def _landscape_sections(body: etree._Element, wide: list[etree._Element], final: etree._Element) -> None:
    for tbl in wide:
        kids = list(body)
        i = kids.index(tbl)
        start = i
        while start > 0 and (_is_caption(kids[start - 1]) or _local(kids[start - 1]) == "bookmarkStart"):
            start -= 1
        end = i
        while end + 1 < len(kids) and (_is_table_note(kids[end + 1]) or _local(kids[end + 1]) == "bookmarkEnd"):
            end += 1
        last_note = next((k for k in reversed(kids[i + 1:end + 1]) if _local(k) == "p"), None)
        # landscape end first, so the portrait break's index stays valid
        _section_break(last_note, body, end + 1, _landscape(final))
        before = kids[start - 1] if start > 0 else None
        _section_break(before, body, start, copy.deepcopy(final))


def _line_numbers(body: etree._Element) -> None:
    for sect in body.iter(_q("sectPr")):
        _set(_child(sect, "lnNumType"), countBy="1", restart="continuous", distance="283")


def finish_document_xml(xml: bytes, line_numbers: bool = False) -> bytes:
    """The finished ``word/document.xml`` (see the module docstring)."""
    root = etree.fromstring(xml)
    body = root.find(_q("body"))
    final = body.find(_q("sectPr"))
    if final is None:
        final = etree.SubElement(body, _q("sectPr"))
    portrait = _page_of(final)
    wide = [tbl for tbl in body.findall(_q("tbl")) if _layout(_read_table(tbl), portrait)]
    _landscape_sections(body, wide, final)
    if line_numbers:
        _line_numbers(body)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def core_properties_xml(xml: bytes, authors: Sequence[str]) -> bytes:
    """``docProps/core.xml`` with the authors as the document's creator (pandoc leaves it empty,
    since the title block, not pandoc, prints the authors)."""
    from xml.sax.saxutils import escape

    names = escape("; ".join(authors)).encode("utf-8")
    for empty in (b"<dc:creator></dc:creator>", b"<dc:creator/>"):
        if empty in xml:
            return xml.replace(empty, b"<dc:creator>" + names + b"</dc:creator>", 1)
    return xml


def finish_docx(path: Path, line_numbers: bool = False, authors: Sequence[str] = (),
                fill: Callable[[bytes], bytes] | None = None, media: Callable[[bytes], bytes] | None = None) -> None:
    """Rewrite the DOCX at ``path`` in place (see the module docstring); ``authors`` become the
    document properties' creator; ``fill`` rewrites the text of ``word/document.xml`` first
    (the build's late values, see :func:`analysis.render.fill_placeholders`); ``media`` gives
    each picture under ``word/media/`` its final bytes (see
    :class:`analysis.figurefiles.DocxPictures`)."""
    with zipfile.ZipFile(path) as src:
        entries = [(info, src.read(info.filename)) for info in src.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info, data in entries:
            if info.filename == "word/document.xml":
                data = finish_document_xml(fill(data) if fill else data, line_numbers)
            elif info.filename == "docProps/core.xml" and authors:
                data = core_properties_xml(data, authors)
            elif info.filename.startswith("word/media/") and media is not None:
                data = media(data)
            dst.writestr(info, data)
    path.write_bytes(out.getvalue())
