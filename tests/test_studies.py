"""End to end on the real studies: each builds to HTML, PDF and DOCX, and in every format the
numbers the abstract cites are the numbers the tables show."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from analysis.results import ResultsStore
from analysis.study import discover_studies
from tests.conftest import REPO, copy_real_study

pytestmark = pytest.mark.e2e
STUDIES = discover_studies(REPO)


copy_study = copy_real_study


@pytest.fixture(scope="module", params=STUDIES)
def built(request, study_report):
    report = study_report(request.param)
    store = ResultsStore.from_json((report / "results.json").read_text(encoding="utf-8"))
    return request.param, report, store


def norm(text: str) -> str:
    """Whitespace folded and typographic minus/NBSP made plain, identically for every format."""
    text = text.replace("\u2212", "-").replace("\u00a0", " ").replace("\u2019", "'")
    return re.sub(r"\s+", " ", text).strip()


class _HTMLParts(HTMLParser):
    """Collects the text of the abstract div and of all tables."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.abstract: list[str] = []
        self.tables: list[str] = []
        self.depth_abstract = 0
        self.in_table = 0

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class") or ""
        if tag == "div" and "abstract" in classes.split():
            self.depth_abstract = 1
        elif tag == "div" and self.depth_abstract:
            self.depth_abstract += 1
        if tag == "table":
            self.in_table += 1

    def handle_endtag(self, tag):
        if tag == "div" and self.depth_abstract:
            self.depth_abstract -= 1
        if tag == "table":
            self.in_table -= 1
            self.tables.append(" | ")

    def handle_data(self, data):
        if self.depth_abstract:
            self.abstract.append(data)
        if self.in_table:
            self.tables.append(data + " ")


def html_parts(path: Path) -> tuple[str, str]:
    parser = _HTMLParts()
    parser.feed(path.read_text(encoding="utf-8"))
    return norm("".join(parser.abstract)), norm("".join(parser.tables))


def docx_parts(path: Path) -> tuple[str, str]:
    doc = Document(str(path))
    paras = [p.text for p in doc.paragraphs]
    start = next(i for i, t in enumerate(paras) if t.strip() == "Abstract")
    end = next(i for i, t in enumerate(paras) if t.startswith("Keywords"))
    tables = " | ".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    return norm(" ".join(paras[start:end])), norm(tables)


def pdf_parts(path: Path) -> tuple[str, str]:
    text = norm(" ".join(page.extract_text() for page in PdfReader(path).pages))
    start, end = text.index("Abstract"), text.index("Keywords")
    return text[start:end], text[end:]  # tables follow the abstract


def abstract_citations(report: Path) -> list[tuple[str, str]]:
    """(key, text) of every bound value in the abstract of the generated .qmd."""
    qmd = (report / "manuscript.qmd").read_text(encoding="utf-8")
    block = qmd[qmd.index("::: {.abstract}"): qmd.index("**Keywords:**")]
    return [(key, re.sub(r"\\(.)", r"\1", text).replace("*", ""))
            for text, key in re.findall(r'\[([^\]]+)\]\{\.val[^}]*title="([^"]+)"\}', block)]


def test_three_formats_without_raw_markup(built):
    _, report, _ = built
    for name in ("manuscript.html", "manuscript.pdf", "manuscript.docx"):
        assert (report / name).stat().st_size > 10_000, name
    html = (report / "manuscript.html").read_text(encoding="utf-8")
    pdf = " ".join(p.extract_text() for p in PdfReader(report / "manuscript.pdf").pages)
    for text in (html, pdf):
        assert "{{" not in text and "{%" not in text and "??" not in text
        assert "@tbl-" not in text and "@fig-" not in text
    assert html.count("data:image/svg+xml;base64,") == len(list((report / "figures").glob("*.svg")))


def test_abstract_numbers_equal_table_cells_in_every_format(built):
    study, report, store = built
    from analysis.trail import resolve

    # a part of a composite value (`series.orr.N`) cites the cell of the whole value
    cited = [(resolve(store, key)[0].key, text) for key, text in abstract_citations(report)]
    assert len(cited) >= 10, "the abstract should cite its numbers"
    cells = [(key, text) for key, text in cited
             if store[key].source.table in store.tables and store[key].source.cell]  # cells the manuscript shows
    assert cells, f"{study}: the abstract cites no table cell"
    formats = {"html": html_parts(report / "manuscript.html"),
               "docx": docx_parts(report / "manuscript.docx"),
               "pdf": pdf_parts(report / "manuscript.pdf")}
    for key, shown in cited:
        for fmt, (abstract, _) in formats.items():
            assert norm(shown) in abstract, f"{fmt}: abstract lacks {shown!r} ({key})"
    for key, shown in cells:
        cell = norm(store.text(key))
        core = re.sub(r"^P < ", "<", re.sub(r"^P = ", "", norm(shown)))  # "P = 0.047" cites the cell "0.047"
        assert core in cell, f"abstract shows {shown!r} for {key}, the table cell is {cell!r}"
        for fmt, (_, tables) in formats.items():
            assert cell in tables, f"{fmt}: table cell {cell!r} ({key}) not found"


def test_every_value_has_a_source(built):
    _, _, store = built
    for key in store:
        src = store[key].source
        assert src.test or src.note or src.table, f"{key} has no provenance"


def test_every_bound_span_prints_its_own_value(built):
    """The whole paper trail of a real manuscript: each span of the HTML against results.json,
    each source against the rendered tables and the hashed inputs."""
    from analysis.trail import check_spans, check_trail, span_texts

    study, report, store = built
    spans = span_texts((report / "manuscript.html").read_text(encoding="utf-8"))
    assert check_spans(report / "manuscript.html", store) == len(spans) > 50
    check_trail(store, (report / "manuscript.qmd").read_text(encoding="utf-8"))
    named = {store[k].source.table for k in store if store[k].source.table}
    assert named <= set(store.tables), f"{study}: sources name tables that do not exist"
    keys = {k for k, _ in spans}
    if study == "ird_rrmm":  # "13 of 21": numerator and denominator each carry their own key
        assert {"series.orr.n", "series.orr.N"} <= keys


def _texts(report: Path) -> dict[str, str]:
    """The reader-visible text of each format, whitespace folded."""
    html = re.sub(r"<[^>]+>", " ", (report / "manuscript.html").read_text(encoding="utf-8"))
    doc = Document(str(report / "manuscript.docx"))
    docx = " ".join([p.text for p in doc.paragraphs] + [c.text for t in doc.tables for r in t.rows for c in r.cells])
    pdf = " ".join(page.extract_text() for page in PdfReader(report / "manuscript.pdf").pages)
    return {"html": norm(html), "docx": norm(docx), "pdf": norm(pdf.replace("\u00ad\n", "").replace("-\n", "-"))}


def test_title_block_and_declarations_in_every_format(built):
    """Issue #13: authors, affiliations, correspondence, word counts and declarations are printed in
    HTML, PDF and DOCX; the .qmd carries Quarto's author schema; the notice speaks to the reader."""
    import yaml

    from analysis.frontmatter import load_front_matter
    from analysis.study import load_config

    study, report, _ = built
    config = load_config(REPO, study)
    front = load_front_matter(config)
    statement = norm(config["synthetic"]["statement"])
    assert "folder" not in statement and "published.yaml" not in statement and "analysed here" in statement
    qmd = (report / "manuscript.qmd").read_text(encoding="utf-8")
    meta = yaml.safe_load(qmd.split("---")[1])
    assert [a["name"] for a in meta["author"]] == [a.name for a in front.authors]
    assert {a["id"] for a in meta["affiliations"]} == {f.id for f in front.affiliations}
    first = meta["author"][0]
    assert first["corresponding"] is True and first["affiliations"][0] == {"ref": front.authors[0].affiliations[0]}
    for fmt, text in _texts(report).items():
        for needle in ("Placeholder front matter", "Corresponding author", "Word count: abstract", "Declarations",
                       "Ethics approval", "Funding", "Conflicts of interest", "Author contributions",
                       "Data availability", front.authors[-1].name, front.affiliations[0].name):
            assert needle in text, (fmt, needle)
        assert statement[:80] in text, fmt
        if study == "ixazomib_ndmm":
            assert "Trial registration" in text, fmt
            assert "Flow of participants through the trial" in text, fmt


def test_rrmm_tables_name_their_tests(built):
    """Issue #13 item 5: the transplant tables' first column is the myeloma type, each P names its
    comparison, landmark columns name the endpoint; no table keeps an empty chi-square column."""
    study, report, store = built
    if study != "ird_rrmm":
        pytest.skip("RRMM tables only")
    efs = (report / "tables/tbl-tx-efs.md").read_text(encoding="utf-8")
    assert norm(efs).startswith("+") and "Myeloma type" in efs and "| Arm " not in efs
    assert "event-free" in efs and "Log-rank P vs" in efs
    assert store["tx_efs.logrank_vs_ref.light_chain"].raw == store["tx_efs.lc_vs_igg.all.p"].raw
    for tid in ("tbl-status", "tbl-thalidomide", "tbl-lenalidomide", "tbl-ixazomib"):
        header = (report / f"tables/{tid}.md").read_text(encoding="utf-8").splitlines()[1]
        assert "χ²" not in header, tid
    assert "tbl-series" in store.tables
    assert store["series.orr_imwg"].raw["n"] < store["series.orr"].raw["n"]
