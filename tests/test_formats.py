"""Every format as a reader meets it: the HTML explains its numbers, carries real alt text,
reads on a phone and links to the other formats; JATS XML is well formed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from analysis.results import ResultsStore
from analysis.study import discover_studies
from tests.conftest import REPO

pytestmark = pytest.mark.e2e
STUDIES = discover_studies(REPO)


class _Page(HTMLParser):
    """Bound spans, images, table wrappers and links of a manuscript page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.spans: list[dict[str, str]] = []
        self.images: list[dict[str, str]] = []
        self.links: list[str] = []
        self.captions_in_tables = 0
        self.tables = 0
        self.wraps: list[list[str]] = []  # classes of the direct children of each .table-wrap
        self._stack: list[tuple[str, list[str]]] = []
        self._table_depth = 0

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if self._stack and "table-wrap" in self._stack[-1][1] and tag == "div":
            self.wraps[-1].append(" ".join(classes))
        if tag == "div" and "table-wrap" in classes:
            self.wraps.append([])
        if tag not in ("img", "br", "col", "meta", "link", "hr", "input"):
            self._stack.append((tag, classes))
        if tag == "span" and "val" in classes:
            self.spans.append(a)
        elif tag == "img":
            self.images.append(a)
        elif tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "table":
            self._table_depth += 1
            self.tables += 1
        elif tag == "caption" and self._table_depth:
            self.captions_in_tables += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table_depth -= 1
        while self._stack:
            if self._stack.pop()[0] == tag:
                break


@pytest.fixture(scope="module", params=STUDIES)
def page(request, study_report):
    report = study_report(request.param)
    parser = _Page()
    parser.feed((report / "manuscript.html").read_text(encoding="utf-8"))
    store = ResultsStore.from_json((report / "results.json").read_text(encoding="utf-8"))
    return request.param, report, store, parser


def _value_key(store: ResultsStore, key: str) -> str:
    return key if key in store.values else key.rsplit(".", 1)[0]


def test_every_number_says_what_it_is_where_it_sits_and_what_it_came_from(page):
    _, report, store, html = page
    assert len(html.spans) > 50
    manuscript_tables = re.findall(r"\{#(tbl-[a-z0-9-]+)\}", (report / "manuscript.qmd").read_text(encoding="utf-8"))
    numbers = {tid: i + 1 for i, tid in enumerate(dict.fromkeys(manuscript_tables))}
    for span in html.spans:
        key = span["data-key"]
        assert span.get("tabindex") == "0", key  # keyboard users reach it
        assert "title" not in span, key  # no second, key-only browser tooltip
        tip = span["data-tip"].split("\n")
        assert tip[0].startswith(key)
        src = store[_value_key(store, key)].source
        for part in (src.test, src.note):
            if part:
                assert part in tip, (key, tip)
        if src.table in numbers:
            where = f"Table {numbers[src.table]}"
            if src.cell:
                where += ", cell " + src.cell.replace("/", " × ", 1)
            assert where in tip, (key, tip)
        for name in src.inputs:
            sha = store.inputs[name][:12]
            assert any(line.startswith("from ") and f"{name} (SHA-256 {sha}…)" in line for line in tip), (key, tip)


def test_figures_carry_the_builders_alt_text(page):
    _, _, store, html = page
    figures = [img for img in html.images if img.get("src", "").startswith("data:image/svg+xml")]
    assert len(figures) == len(store.figures)
    alts = sorted(img.get("aria-label") or img.get("alt") for img in figures)
    assert alts == sorted(f.alt for f in store.figures.values())
    captions = {f.caption for f in store.figures.values()}
    assert not captions & set(alts)


def test_tables_scroll_under_a_caption_that_stays_put(page):
    _, report, _, html = page
    shown = set(re.findall(r"\{#(tbl-[a-z0-9-]+)\}", (report / "manuscript.qmd").read_text(encoding="utf-8")))
    assert len(html.wraps) == html.tables >= len(shown) > 0  # the provenance tables too
    assert html.captions_in_tables == 0
    for children in html.wraps:
        assert children == ["table-caption", "scroll-cue", "table-scroll"]


def test_phone_css_keeps_figure_text_legible_and_cues_scrolling():
    css = (REPO / "templates/_shared/manuscript.css").read_text(encoding="utf-8")
    phone = css[css.index("@media (max-width: 600px)"):]
    width_rem = float(re.search(r"\.figure-scroll img \{[^}]*width: ([\d.]+)rem", phone).group(1))
    # a 175 mm (6.89 in, 661 CSS px) figure with 8 pt text shown 40rem wide at 15 px/rem: >= 7 pt
    assert 8 * width_rem * 15 / (175 / 25.4 * 96) >= 7
    assert ".overflows .scroll-cue { display: block; }" in css


def test_html_links_to_the_other_formats_of_the_build(page):
    _, report, _, html = page
    for name in ("manuscript.pdf", "manuscript.docx", "manuscript.xml"):
        assert name in html.links
        assert (report / name).is_file()


def test_jats_is_well_formed_with_front_matter_tables_figures_and_references(page):
    _, report, store, _ = page
    root = ET.parse(report / "manuscript.xml").getroot()
    meta = root.find("front/article-meta")
    assert meta.findtext("title-group/article-title")
    shown = set(re.findall(r"\{#(tbl-[a-z0-9-]+)\}", (report / "manuscript.qmd").read_text(encoding="utf-8")))
    assert {t.get("id") for t in root.findall(".//table-wrap") if t.get("id")} == shown
    assert len(root.findall(".//fig")) == len(store.figures)
    assert len(root.findall("back/ref-list/ref")) >= 5


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u00a0", " ")).strip()


class _Captions(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.captions: list[str] = []
        self.refs: list[str] = []
        self._buf: list[str] | None = None
        self._depth = 0
        self._link: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if self._buf is not None:
            self._depth += 1
        elif (tag == "div" and "table-caption" in (a.get("class") or "")) or tag == "figcaption":
            self._buf, self._depth = [], 1
        if tag == "a" and (a.get("href") or "").startswith(("#tbl-", "#fig-")):
            self._link = []

    def handle_endtag(self, tag):
        if self._link is not None and tag == "a":
            self.refs.append(_norm("".join(self._link)))
            self._link = None
        if self._buf is not None:
            self._depth -= 1
            if self._depth == 0:
                self.captions.append(_norm("".join(self._buf)))
                self._buf = None

    def handle_data(self, data):
        if self._buf is not None:
            self._buf.append(data)
        if self._link is not None:
            self._link.append(data)


def test_structure_is_the_same_in_html_pdf_docx_and_jats(page):
    """Tables and figures, their numbers and captions, and the cross-references to them."""
    from docx import Document
    from pypdf import PdfReader

    _, report, store, _ = page
    qmd = (report / "manuscript.qmd").read_text(encoding="utf-8")
    ids = list(dict.fromkeys(re.findall(r"\{#((?:tbl|fig)-[a-z0-9-]+)[ }]", qmd)))
    tables = [i for i in ids if i.startswith("tbl-")]
    figures = [i for i in ids if i.startswith("fig-")]
    assert len(figures) == len(store.figures)
    html = _Captions()
    html.feed((report / "manuscript.html").read_text(encoding="utf-8"))
    numbered = [c for c in html.captions if re.match(r"(Table|Figure) \d+\.", c)]
    want = [f"Table {n}." for n in range(1, len(tables) + 1)] + [f"Figure {n}." for n in range(1, len(figures) + 1)]
    assert sorted(c.split(" ", 2)[0] + " " + c.split(" ", 2)[1] for c in numbered) == sorted(want)
    # DOCX: the same captions, in the same order, and one picture per figure
    doc = Document(str(report / "manuscript.docx"))
    docx_caps = [_norm(p.text) for p in doc.paragraphs if p.style.name in ("Table Caption", "Image Caption")]
    docx_caps = [c for c in docx_caps if re.match(r"(Table|Figure) \d+\.", c)]
    assert docx_caps == numbered
    assert len(doc.inline_shapes) == len(figures)
    # PDF: each caption, in order
    pdf = _norm(" ".join(p.extract_text() for p in PdfReader(report / "manuscript.pdf").pages))
    pos = [pdf.find(c[:60]) for c in numbered]
    assert all(p >= 0 for p in pos), [c for c, p in zip(numbered, pos, strict=True) if p < 0]
    # JATS: labelled tables with the ids of the manuscript, figures with theirs
    root = ET.parse(report / "manuscript.xml").getroot()
    jats_tables = [(w.get("id"), w.findtext("label")) for w in root.iter("table-wrap") if w.get("id")]
    assert jats_tables == [(t, f"Table {n}") for n, t in enumerate(tables, 1)]
    assert [f.get("id") for f in root.iter("fig")] == figures
    # cross-references: the same "Table N"/"Figure N" texts in HTML and JATS, none unresolved
    jats_refs = [_norm("".join(x.itertext())) for x in root.iter("xref") if x.get("ref-type") in ("table", "fig")]
    assert html.refs == jats_refs and html.refs
    assert all(re.fullmatch(r"(Table|Figure) \d+[A-Z]?", r) for r in html.refs)
    assert "??" not in pdf


def test_docx_properties_carry_title_authors_and_keywords(page):
    """Word's File > Properties: the title, every author of the front matter, the keywords."""
    import zipfile

    from analysis.render import front_matter_authors

    _, report, _, _ = page
    core = zipfile.ZipFile(report / "manuscript.docx").read("docProps/core.xml").decode("utf-8")
    authors = front_matter_authors(report / "manuscript.qmd")
    assert len(authors) >= 2
    assert f"<dc:creator>{'; '.join(authors)}</dc:creator>" in core
    assert re.search(r"<dc:title>[^<]{20,}</dc:title>", core) and re.search(r"<cp:keywords>[^<]+</cp:keywords>", core)
