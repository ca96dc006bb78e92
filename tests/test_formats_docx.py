"""The DOCX as a Word user gets it: the generated reference document, tables sized to their
content (no number or word broken inside a cell), wide tables in a smaller font or on a
landscape page, line numbers for review; and, through LibreOffice, the pages themselves."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from docx import Document
from lxml import etree

from analysis.docx import TABLE_FONT_SIZES, finish_document_xml, text_width_pt
from analysis.render import pandoc_path
from analysis.study import discover_studies
from tests.conftest import REPO

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
REFERENCE = REPO / "templates" / "_shared" / "reference.docx"


def test_reference_docx_is_what_the_script_generates():
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / "make_reference_docx.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_reference_docx_page_styles_and_footer():
    doc = Document(str(REFERENCE))
    sec = doc.sections[0]
    assert (sec.page_width.mm, sec.page_height.mm) == pytest.approx((210, 297), abs=0.1)
    assert [round(m.mm, 1) for m in (sec.left_margin, sec.right_margin, sec.top_margin, sec.bottom_margin)] == [25.0] * 4
    footer = etree.tostring(sec.footer._element).decode()
    assert 'w:instr="PAGE"' in footer
    styles = {s.name for s in doc.styles}
    assert {"Table Caption", "Image Caption", "Table Note", "Compact", "Abstract"} <= styles
    table = etree.tostring(doc.styles["Table"].element).decode()
    for edge in ("top", "bottom"):
        assert re.search(rf'<w:{edge} w:val="single" w:sz="8"', table), edge
    for edge in ("insideH", "insideV", "left", "right"):
        assert f'<w:{edge} w:val="nil"/>' in table, edge
    with zipfile.ZipFile(REFERENCE) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.skipif(not Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf").is_file(),
                    reason="Liberation Sans is not installed (fonts-liberation): cannot check the width table")
def test_width_table_matches_liberation_sans():
    from fontTools.ttLib import TTFont

    for bold, name in ((False, "Regular"), (True, "Bold")):
        font = TTFont(f"/usr/share/fonts/truetype/liberation/LiberationSans-{name}.ttf")
        cmap, hmtx, upm = font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm
        for text in ("13 (32.50)", "Thrombocytopenia", "Grade 1–2", "χ²", "63.9 ± 11.4", "<0.001"):
            want = sum(hmtx[cmap[ord(ch)]][0] for ch in text) / upm * 10
            assert text_width_pt(text, 10, bold) == pytest.approx(want, abs=0.02), text


def _pandoc_docx(tmp_path: Path, markdown: str) -> bytes:
    src = tmp_path / "t.md"
    src.write_text(markdown, encoding="utf-8")
    out = tmp_path / "t.docx"
    subprocess.run([pandoc_path(), str(src), "--reference-doc", str(REFERENCE), "-o", str(out)], check=True)
    with zipfile.ZipFile(out) as z:
        return z.read("word/document.xml")


def _grid_table(ncols: int, cell: str, stub: str = "Thrombocytopenia") -> str:
    head = "| Event | " + " | ".join(f"Arm {i}" for i in range(ncols)) + " |"
    sep = "|:--|" + "|".join("--:" for _ in range(ncols)) + "|"
    group = "| **Group heading** |" + " |" * ncols
    row = f"| {stub} | " + " | ".join(cell for _ in range(ncols)) + " |"
    return "\n".join([head, sep, group, row, row]) + "\n\n: Caption {#tbl-x}\n"


def _tables(xml: bytes) -> list[etree._Element]:
    return etree.fromstring(xml).find(f"{W}body").findall(f"{W}tbl")


def test_number_columns_are_as_wide_as_their_widest_cell(tmp_path):
    xml = finish_document_xml(_pandoc_docx(tmp_path, "Text.\n\n" + _grid_table(4, "13 (32.50)")))
    tbl = _tables(xml)[0]
    cols = [int(c.get(f"{W}w")) / 20 for c in tbl.find(f"{W}tblGrid")]
    need = text_width_pt("13 (32.50)", TABLE_FONT_SIZES[0]) + 5.7
    assert all(w >= need for w in cols[1:]), (cols, need)
    assert cols[0] >= text_width_pt("Thrombocytopenia", TABLE_FONT_SIZES[0])
    assert tbl.find(f"{W}tblPr/{W}tblLayout").get(f"{W}type") == "fixed"
    # every cell's width is the sum of the grid columns it spans
    first = tbl.findall(f"{W}tr")[0].findall(f"{W}tc")
    assert [int(tc.find(f"{W}tcPr/{W}tcW").get(f"{W}w")) for tc in first] == [
        int(c.get(f"{W}w")) for c in tbl.find(f"{W}tblGrid")]
    # the group heading row is kept with the row after it; no row splits over pages
    group = tbl.findall(f"{W}tr")[1]
    assert group.find(f".//{W}keepNext") is not None
    assert all(tr.find(f"{W}trPr/{W}cantSplit") is not None for tr in tbl.findall(f"{W}tr"))
    # single rules: above, below, under the header; header bold
    borders = tbl.find(f"{W}tblPr/{W}tblBorders")
    assert borders.find(f"{W}top").get(f"{W}sz") == "8" and borders.find(f"{W}insideH").get(f"{W}val") == "nil"
    assert all(tc.find(f"{W}tcPr/{W}tcBorders/{W}bottom") is not None for tc in first)
    assert all(r.find(f"{W}rPr/{W}b") is not None for tc in first for r in tc.iter(f"{W}r"))


def test_a_wide_table_gets_a_smaller_font_then_a_landscape_page(tmp_path):
    # 8 columns of "13 (32.50)": too wide for the portrait text width at 9 pt, fits at 8 pt
    xml = finish_document_xml(_pandoc_docx(tmp_path, _grid_table(8, "13 (32.50)")))
    sizes = {r.get(f"{W}val") for r in etree.fromstring(xml).iter(f"{W}sz")}
    assert sizes == {"16"}
    body = etree.fromstring(xml).find(f"{W}body")
    assert len(list(body.iter(f"{W}sectPr"))) == 1  # no landscape section needed
    # 10 columns of "1300 (32.50)" do not fit a portrait page even at 8 pt: a landscape section
    xml = finish_document_xml(_pandoc_docx(tmp_path, "Before.\n\n" + _grid_table(10, "1300 (32.50)")
                                           + "\n::: {custom-style=\"Table Note\"}\nA note.\n:::\n\nAfter.\n"))
    body = etree.fromstring(xml).find(f"{W}body")
    sections = list(body.iter(f"{W}sectPr"))
    assert len(sections) == 3
    orient = [s.find(f"{W}pgSz").get(f"{W}orient") for s in sections]
    assert orient == [None, "landscape", None]
    land = sections[1].find(f"{W}pgSz")
    assert (land.get(f"{W}w"), land.get(f"{W}h")) == ("16838", "11906")
    # the landscape section ends with the table's note, and starts after the text before it
    texts = ["".join(t.text for t in p.iter(f"{W}t")) for p in body.findall(f"{W}p")]
    holder = [p for p in body.findall(f"{W}p") if p.find(f"{W}pPr/{W}sectPr") is not None]
    assert ["".join(t.text for t in p.iter(f"{W}t")) for p in holder] == ["Before.", "A note."]
    assert texts[-1] == "After."
    # the sections keep the footer (page numbers) of the reference document
    assert all(s.find(f"{W}footerReference") is not None for s in sections)


def test_line_numbers_for_review(tmp_path):
    xml = finish_document_xml(_pandoc_docx(tmp_path, "Text.\n"), line_numbers=True)
    ln = etree.fromstring(xml).find(f"{W}body/{W}sectPr/{W}lnNumType")
    assert ln.get(f"{W}countBy") == "1" and ln.get(f"{W}restart") == "continuous"
    assert etree.fromstring(finish_document_xml(_pandoc_docx(tmp_path, "Text.\n"))).find(
        f".//{W}lnNumType") is None


def test_render_line_numbers_setting_is_validated(mini_project):
    from analysis.errors import ConfigError
    from analysis.pipeline import build

    yaml_file = mini_project / "data/mini/study.yaml"
    yaml_file.write_text(yaml_file.read_text() + "render: {line_numbers: maybe}\n")
    with pytest.raises(ConfigError, match=r"`render.line_numbers`: got 'maybe'; expected true or false"):
        build(mini_project, "mini", formats=("docx",))
    yaml_file.write_text(yaml_file.read_text().replace("maybe", "yes please"))
    with pytest.raises(ConfigError, match=r"`render.line_numbers`: got 'yes please'; expected true or false"):
        build(mini_project, "mini", formats=("docx",))
    yaml_file.write_text(yaml_file.read_text().replace("line_numbers: yes please", "numbers: true"))
    with pytest.raises(ConfigError, match=r"unknown setting `render.numbers` \(did you mean `line_numbers`\?\)"):
        build(mini_project, "mini", formats=("docx",))
    yaml_file.write_text(yaml_file.read_text().replace("numbers: true", "line_numbers: true"))
    report = build(mini_project, "mini", formats=("docx",))
    with zipfile.ZipFile(report / "manuscript.docx") as z:
        assert b"<w:lnNumType" in z.read("word/document.xml")


# -- the pages, through LibreOffice ---------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


@pytest.fixture(scope="module")
def docx_pages(study_report, tmp_path_factory):
    """(study, DOCX path, text lines of the PDF LibreOffice makes of it) per study."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftotext") is None:
        pytest.skip("LibreOffice (soffice, Debian libreoffice-writer-nogui) or pdftotext (poppler-utils) "
                    "is not installed: the DOCX pages cannot be checked")
    out = tmp_path_factory.mktemp("docx-pdf")
    pages = {}
    for study in discover_studies(REPO):
        docx = out / f"{study}.docx"
        shutil.copy2(study_report(study) / "manuscript.docx", docx)
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{out}/lo-profile",
                        "--convert-to", "pdf", "--outdir", str(out), str(docx)],
                       check=True, capture_output=True, timeout=240)
        text = subprocess.run(["pdftotext", "-layout", str(docx.with_suffix(".pdf")), "-"], check=True,
                              capture_output=True, text=True).stdout
        pages[study] = (docx, [_norm(line) for line in text.splitlines()])
    return pages


@pytest.mark.e2e
@pytest.mark.parametrize("study", discover_studies(REPO))
def test_every_table_cell_is_intact_on_the_page(docx_pages, study):
    """A number column's cell is on one line as a whole ("13 (32.50)", never "(32.50" then
    ")"); in a text column each word is on one line ("Neutropenia", never "Neutropeni" then "a"),
    though a hyphenated word (or a range in prose) may wrap after its dash, as any typesetter does."""
    docx, lines = docx_pages[study]
    doc = Document(str(docx))
    assert doc.tables, "no tables"
    broken = []
    checked = 0
    for t_i, table in enumerate(doc.tables):
        for row in table.rows:
            for cell in row.cells:
                text = _norm(cell.text)
                if not text:
                    continue
                aligns = {p.paragraph_format.alignment for p in cell.paragraphs}
                number = any(a is not None and a.name == "RIGHT" for a in aligns) and row._tr.find(
                    f"{W}trPr/{W}tblHeader") is None
                # text may wrap between words and after a word's own hyphen or a range's dash
                # ("Post-" / "treatment", "0.369–" / "0.373"), as Unicode line breaking allows
                pieces = [text] if number else re.findall(r"[^ \-–]+[-–]?|[-–]", text)
                for piece in pieces:
                    checked += 1
                    if not any(piece in line for line in lines):
                        broken.append((t_i + 1, piece))
    assert checked > 100
    assert not broken, f"{study}: cells broken on the page: {broken[:20]}"


@pytest.mark.e2e
def test_adverse_event_table_fits_the_page_in_a_smaller_font(study_report):
    docx = study_report("ixazomib_ndmm") / "manuscript.docx"
    with zipfile.ZipFile(docx) as z:
        body = etree.fromstring(z.read("word/document.xml")).find(f"{W}body")
    caption = next(p for p in body.iter(f"{W}p") if "Adverse events by arm" in "".join(t.text or "" for t in p.iter(f"{W}t")))
    tbl = caption.getnext()
    assert tbl.tag == f"{W}tbl"
    width = sum(int(c.get(f"{W}w")) for c in tbl.find(f"{W}tblGrid"))
    assert width <= 11906 - 2 * 1417
    assert {r.get(f"{W}val") for r in tbl.iter(f"{W}sz")} == {"16"}  # 8 pt
