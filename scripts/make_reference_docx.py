"""Generate ``templates/_shared/reference.docx``, the style source of every DOCX manuscript.

Starts from pandoc's own default (``pandoc --print-default-data-file reference.docx``), so
every style pandoc's DOCX writer uses is there, and changes only what a journal's Word
template would: A4 with 2.5 cm margins, page numbers in the footer, Times New Roman body
text and Arial headings, captions and tables (metric-compatible with LibreOffice's
Liberation fonts, so pages break alike in Word and LibreOffice), single-rule tables like
the PDF (a rule above and below the table and under its header), caption and table-note
styles. Line numbers for review are switched on per study (``render: line_numbers``) by the
DOCX finisher, not here.

Run it after changing this file (the file is committed; a test checks it is current)::

    .venv/bin/python scripts/make_reference_docx.py
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

OUT = Path(__file__).resolve().parents[1] / "templates" / "_shared" / "reference.docx"
BODY_FONT, SANS_FONT = "Times New Roman", "Arial"
#: zip entries get this fixed date so the file's bytes depend only on this script
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def pandoc_default() -> bytes:
    """pandoc's own reference.docx, from the pypandoc-binary wheel."""
    import pypandoc

    return subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                          check=True, capture_output=True).stdout


def _set_fonts(rpr, name: str) -> None:
    """Explicit fonts, theme fonts removed (a theme font would win over the explicit one)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), name)


def _style(doc, name: str, font: str | None = None, size: float | None = None, bold: bool | None = None,
           italic: bool | None = None, before: float | None = None, after: float | None = None,
           line: float | None = None, keep_next: bool | None = None, align=None):
    with warnings.catch_warnings():  # python-docx finds pandoc's "Caption" by its id, and says so
        warnings.simplefilter("ignore", UserWarning)
        st = doc.styles[name]
    if font:
        _set_fonts(st.element.get_or_add_rPr(), font)
    if size is not None:
        st.font.size = Pt(size)
    if bold is not None:
        st.font.bold = bold
    if italic is not None:
        st.font.italic = italic
    if font or size is not None:
        st.font.color.rgb = RGBColor(0, 0, 0)
    pf = st.paragraph_format
    if before is not None:
        pf.space_before = Pt(before)
    if after is not None:
        pf.space_after = Pt(after)
    if line is not None:
        pf.line_spacing = line
    if keep_next is not None:
        pf.keep_with_next = keep_next
    if align is not None:
        pf.alignment = align
    return st


def _border(parent, edge: str, size_eighths: int) -> None:
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single" if size_eighths else "nil")
    if size_eighths:
        el.set(qn("w:sz"), str(size_eighths))
        el.set(qn("w:space"), "0")
        el.set(qn("w:color"), "000000")
    parent.append(el)


def _table_style(doc) -> None:
    """The "Table" style pandoc gives every table: a rule above, below and under the header."""
    st = doc.styles["Table"].element
    tblpr = st.find(qn("w:tblPr"))
    for old in tblpr.findall(qn("w:tblBorders")):
        tblpr.remove(old)
    borders = OxmlElement("w:tblBorders")
    _border(borders, "top", 8)
    _border(borders, "left", 0)
    _border(borders, "bottom", 8)
    _border(borders, "right", 0)
    _border(borders, "insideH", 0)
    _border(borders, "insideV", 0)
    tblpr.insert(1, borders)
    for margin in tblpr.find(qn("w:tblCellMar")):
        if margin.tag in (qn("w:left"), qn("w:right")):
            margin.set(qn("w:w"), "57")  # 1 mm: compact columns, as in the PDF
    first = st.find(qn("w:tblStylePr"))
    first.find(qn("w:tcPr")).find(qn("w:tcBorders")).find(qn("w:bottom")).set(qn("w:sz"), "4")
    rpr = OxmlElement("w:rPr")
    bold = OxmlElement("w:b")
    rpr.append(bold)
    first.insert(1, rpr)


def _table_note_style(doc) -> None:
    from docx.enum.style import WD_STYLE_TYPE

    st = doc.styles.add_style("Table Note", WD_STYLE_TYPE.PARAGRAPH)
    st.base_style = doc.styles["Normal"]
    _set_fonts(st.element.get_or_add_rPr(), SANS_FONT)
    st.font.size = Pt(8)
    st.paragraph_format.space_before = Pt(0)
    st.paragraph_format.space_after = Pt(2)
    st.paragraph_format.line_spacing = 1.0


def _page(doc) -> None:
    """A4 portrait, 2.5 cm margins, centred page number in the footer."""
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.left_margin = sec.right_margin = sec.top_margin = sec.bottom_margin = Cm(2.5)
    sec.header_distance = sec.footer_distance = Cm(1.25)
    footer = sec.footer
    footer.is_linked_to_previous = False
    para = footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    run = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    _set_fonts(rpr, SANS_FONT)
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "18")
    rpr.append(size)
    run.append(rpr)
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    para._p.append(field)


def build_reference(default: bytes) -> bytes:
    """The reference document's bytes, from pandoc's default."""
    doc = Document(io.BytesIO(default))
    defaults = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(defaults, BODY_FONT)
    for el in defaults.findall(qn("w:sz")) + defaults.findall(qn("w:szCs")):
        el.set(qn("w:val"), "22")  # 11 pt
    lang = defaults.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-GB")
    _style(doc, "Normal", BODY_FONT, 11)
    _style(doc, "Body Text", before=0, after=8, line=1.5)
    _style(doc, "First Paragraph", before=0, after=8, line=1.5)
    _style(doc, "Compact", SANS_FONT, 9, before=1, after=1, line=1.0)
    _style(doc, "Title", SANS_FONT, 16, bold=True, after=6, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(doc, "Subtitle", SANS_FONT, 12, bold=False, italic=False, after=12, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(doc, "Author", BODY_FONT, 11, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(doc, "Date", BODY_FONT, 10, align=WD_ALIGN_PARAGRAPH.LEFT)
    _style(doc, "Abstract Title", SANS_FONT, 12, bold=True, before=12, after=4, align=WD_ALIGN_PARAGRAPH.LEFT)
    # the abstract may run over a page: no keep-with-next
    _style(doc, "Abstract", BODY_FONT, 11, before=0, after=6, line=1.5, keep_next=False)
    doc.styles["Abstract"].paragraph_format.keep_together = False
    for level, size in ((1, 14), (2, 12), (3, 11), (4, 11)):
        _style(doc, f"Heading {level}", SANS_FONT, size, bold=True, italic=level == 3, before=14 - level * 2,
               after=4, keep_next=True)
    _style(doc, "Caption", SANS_FONT, 9, italic=False, before=6, after=3)
    _style(doc, "Table Caption", SANS_FONT, 9, italic=False, before=10, after=3, keep_next=True)
    _style(doc, "Image Caption", SANS_FONT, 9, italic=False, before=3, after=10)
    _style(doc, "Bibliography", BODY_FONT, 10, after=3, line=1.15)
    _style(doc, "Footnote Text", BODY_FONT, 9)
    _table_style(doc)
    _table_note_style(doc)
    _page(doc)
    props = doc.core_properties
    props.title, props.author, props.last_modified_by, props.comments = "", "", "", ""
    props.revision = 1
    out = io.BytesIO()
    doc.save(out)
    return _fixed_dates(out.getvalue())


def _fixed_dates(data: bytes) -> bytes:
    """The same zip with every entry dated 1980-01-01 and core.xml's dates removed."""
    import re

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", body)
            dst.writestr(zipfile.ZipInfo(info.filename, _ZIP_DATE), body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Write the reference document (or, with ``--check``, fail if the committed one differs)."""
    argv = sys.argv[1:] if argv is None else argv
    data = build_reference(pandoc_default())
    if "--check" in argv:
        if not OUT.is_file() or OUT.read_bytes() != data:
            print(f"{OUT} is out of date: run scripts/make_reference_docx.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_bytes(data)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
