"""Tests for analysis.render and the figure files of the pipeline: formats, aliases, the
parallel embedded engine, and figures saved at journal sizes for submission."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.cli import main
from analysis.errors import RenderError
from analysis.figures.style import DOUBLE_COLUMN_IN, SINGLE_COLUMN_IN, column_width
from analysis.pipeline import analyse, build
from analysis.render import FORMATS, normalise_formats, output_name


def test_formats_include_jats_and_accept_the_xml_alias():
    assert FORMATS == ("html", "pdf", "docx", "jats", "figures")
    assert normalise_formats(("xml", "html", "jats")) == ("jats", "html")
    assert output_name("jats") == "manuscript.xml" and output_name("xml") == "manuscript.xml"
    assert output_name("figures") == "figures"
    with pytest.raises(RenderError, match=r"Invalid format 'odt'. Must be one of: html, pdf, docx, jats, figures, xml"):
        normalise_formats(("html", "odt"))


def test_cli_refuses_an_unknown_format(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["render", "mini", "--formats", "html,rtf"])
    assert exc.value.code == 2
    assert "invalid format(s) ['rtf']; choose from html, pdf, docx, jats, figures, xml" in capsys.readouterr().err


def test_column_width_snaps_to_journal_columns():
    assert pytest.approx(85 / 25.4) == SINGLE_COLUMN_IN and pytest.approx(175 / 25.4) == DOUBLE_COLUMN_IN
    assert column_width(3.0) == SINGLE_COLUMN_IN and column_width(4.5) == SINGLE_COLUMN_IN
    assert column_width(6.5) == DOUBLE_COLUMN_IN and column_width(8.0) == DOUBLE_COLUMN_IN


def test_analysis_saves_each_figure_once_as_svg(mini_project):
    """The other figure files are made from the SVG by the formats that need them
    (tests/test_figurefiles.py); matplotlib draws a figure once, without ``bbox_inches``."""
    folder = analyse(mini_project, "mini") / "figures"
    assert sorted(p.name for p in folder.iterdir()) == ["fig-cr.svg"]


def test_figure_svg_is_byte_identical_across_builds(mini_project):
    first = (analyse(mini_project, "mini") / "figures" / "fig-cr.svg").read_bytes()
    assert (analyse(mini_project, "mini") / "figures" / "fig-cr.svg").read_bytes() == first


def test_saving_draws_each_figure_once(mini_project, monkeypatch):
    """No ``bbox_inches="tight"``: that draws a figure twice per file (once to measure)."""
    from matplotlib.figure import Figure

    calls: list[dict] = []
    real = Figure.savefig

    def spy(self, fname, **kwargs):
        calls.append(kwargs)
        return real(self, fname, **kwargs)

    draws = []
    real_draw = Figure.draw

    def count_draw(self, renderer):
        draws.append(1)
        return real_draw(self, renderer)

    monkeypatch.setattr(Figure, "savefig", spy)
    monkeypatch.setattr(Figure, "draw", count_draw)
    analyse(mini_project, "mini")
    assert len(calls) == 1 and all("bbox_inches" not in c for c in calls)
    assert len(draws) == 1


@pytest.mark.e2e
def test_jats_only_build_writes_well_formed_xml(mini_project):
    import xml.etree.ElementTree as ET

    report = build(mini_project, "mini", formats=("xml",))
    assert not (report / "manuscript.html").exists()
    root = ET.parse(report / "manuscript.xml").getroot()
    assert root.tag == "article"
    assert root.findtext("front/article-meta/title-group/article-title") == "A minimal two-arm study for pipeline tests"
    assert len(root.findall(".//fig")) == 1
    assert root.find(".//ref-list") is not None


def test_render_reports_which_pandoc_call_failed(tmp_path):
    from analysis.render import render

    qmd = tmp_path / "manuscript.qmd"
    qmd.write_text("---\ntitle: x\n---\n\nSee @tbl-missing.\n", encoding="utf-8")
    shared = Path(__file__).resolve().parents[1] / "templates" / "_shared"
    with pytest.raises(RenderError, match=r"pandoc \((typst|HTML|DOCX|JATS)\) failed \(exit \d+\):\n(.|\n)*unresolved cross-reference\(s\): tbl-missing"):
        render(qmd, shared, ("html", "docx", "jats"))


# -- the renderers that run, and reproducible PDF (#9 item 7, #17 item 3) --------------------------
def test_pandoc_is_the_wheels_binary_whatever_is_on_path(tmp_path, monkeypatch):
    """A `pandoc` earlier on PATH, or named by PYPANDOC_PANDOC, is never the one the build runs."""
    import os
    import subprocess

    import pypandoc

    from analysis.render import pandoc_path, pandoc_version

    fake = tmp_path / "pandoc"
    fake.write_text("#!/bin/sh\necho 'pandoc 0.0-fake'\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYPANDOC_PANDOC", str(fake))
    exe = Path(pandoc_path())
    assert exe == Path(pypandoc.__file__).resolve().parent / "files" / "pandoc"
    assert pandoc_version() != "0.0-fake"
    first = subprocess.run([str(exe), "--version"], capture_output=True, text=True, check=True).stdout
    assert first.splitlines()[0] == f"pandoc {pandoc_version()}"


def test_missing_wheel_binary_is_a_clear_error(tmp_path, monkeypatch):
    import pypandoc

    from analysis.render import pandoc_path

    monkeypatch.setattr(pypandoc, "__file__", str(tmp_path / "pypandoc" / "__init__.py"))
    with pytest.raises(RenderError, match="the pandoc binary of the pypandoc-binary wheel is missing"):
        pandoc_path()


def test_typst_version_is_the_compilers_own():
    """The wheel's version (importlib.metadata) is not the compiler's (sys.version in typst)."""
    import typst

    from analysis.render import typst_version

    pdf = pdf_from_bytes(typst.compile(b"Hello"))
    assert pdf.metadata["/Creator"] == f"Typst {typst_version()}"


def pdf_from_bytes(data: bytes) -> PdfReader:
    import io

    return PdfReader(io.BytesIO(data))


def provenance_rows(text: str) -> dict[str, str]:
    import re

    return dict(re.findall(r"^\| (pandoc|typst|typst \(Python wheel\)|pypandoc-binary) \| ([^|]+?) \|$", text, re.M))


@pytest.mark.e2e
def test_two_builds_give_byte_identical_outputs_and_true_versions(mini_project, monkeypatch):
    """Every output, the PDF included, is byte-identical across builds under SOURCE_DATE_EPOCH;
    the PDF is dated by it; the versions printed are those in the files' own metadata."""
    import datetime as dt
    import io
    import zipfile

    from analysis.render import pandoc_version, typst_version

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    report = build(mini_project, "mini")
    first = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in report.rglob("*") if p.is_file()}
    assert {"manuscript.pdf", "manuscript.html", "manuscript.docx", "manuscript.xml"} <= set(first)
    report = build(mini_project, "mini")
    second = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in report.rglob("*") if p.is_file()}
    assert first == second
    pdf = PdfReader(report / "manuscript.pdf")
    assert pdf.metadata["/CreationDate"] == "D:20231114221320Z"
    assert pdf.metadata["/Creator"] == f"Typst {typst_version()}"
    rows = provenance_rows((report / "manuscript.qmd").read_text(encoding="utf-8"))
    assert rows["typst"] == typst_version() and rows["pandoc"] == pandoc_version()
    from importlib.metadata import version

    assert rows["typst (Python wheel)"] == version("typst")
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert f"typst {pdf.metadata['/Creator'].split()[1]}" in text
    html = (report / "manuscript.html").read_text(encoding="utf-8")
    assert '<meta name="generator" content="pandoc" />' in html
    assert f'<td style="text-align: left;">{pandoc_version()}</td>' in html
    core = zipfile.ZipFile(io.BytesIO((report / "manuscript.docx").read_bytes())).read("docProps/core.xml").decode()
    stamp = dt.datetime.fromtimestamp(1700000000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f">{stamp}</dcterms:created>" in core


def _long_table_qmd(rows: int = 90) -> str:
    lines = ["---", 'title: "Long tables"', 'author:', '  - name: "Ann Example"', "keywords: [alpha, beta]", "---", "",
             "See @tbl-long.", "", "| Event | n |", "|:--|--:|"]
    for i in range(rows):
        if i % 30 == 29:
            lines.append("| **Group heading** | |")
        lines.append(f"| Event {i} | {i} |")
    lines += ["", ": A long table {#tbl-long}", ""]
    return "\n".join(lines)


@pytest.mark.e2e
def test_pdf_long_table_continues_with_its_header_and_properties(tmp_path):
    from analysis.render import render

    qmd = tmp_path / "manuscript.qmd"
    qmd.write_text(_long_table_qmd(), encoding="utf-8")
    shared = Path(__file__).resolve().parents[1] / "templates" / "_shared"
    (pdf,) = render(qmd, shared, ("pdf",), source_date_epoch=1700000000)
    reader = PdfReader(pdf)
    assert len(reader.pages) >= 2
    pages = [p.extract_text().replace("\u00a0", " ") for p in reader.pages]
    assert "Table 1. A long table" in pages[0] and "(continued)" not in pages[0]
    for text in pages[1:]:
        if "Event" in text:
            assert "Table 1 (continued)" in text and "Event n" in text.replace("\n", " ")  # header repeated
    # a group heading is printed with the row under it, never alone at a page foot
    for text in pages:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        for i, line in enumerate(lines):
            if line == "Group heading":
                assert i + 1 < len(lines) and lines[i + 1].startswith("Event"), (line, lines[i + 1:i + 2])
    meta = reader.metadata
    assert meta["/Title"] == "Long tables" and meta["/Author"] == "Ann Example"
    assert meta["/Keywords"] == "alpha, beta"


def test_a_filter_refusal_is_reported_without_the_lua_traceback():
    from analysis.render import _without_lua_trace

    err = ("Error running filter safe-links.lua:\nunsafe link target \"javascript:x\"\nstack traceback:\n"
           "\tsafe-links.lua:38: in upvalue 'refuse'")
    assert _without_lua_trace(err) == "Error running filter safe-links.lua:\nunsafe link target \"javascript:x\""
    assert _without_lua_trace("plain error") == "plain error"


def test_fill_placeholders_replaces_each_and_refuses_a_split_one():
    from analysis.render import fill_placeholders

    values = {"XqzAbstractWordsXqz": "291", "XqzMainTextWordsXqz": "1694"}
    text = b"<p>Word count: abstract XqzAbstractWordsXqz; main text XqzMainTextWordsXqz.</p>"
    assert fill_placeholders(text, values, "x.html") == b"<p>Word count: abstract 291; main text 1694.</p>"
    # a writer that broke the token over two runs (as a DOCX writer might) must not pass silently
    split = b"<w:t>abstract XqzAbstrac</w:t><w:t>tWordsXqz</w:t>; main text XqzMainTextWordsXqz"
    with pytest.raises(RenderError, match=r"x.docx: the renderer changed the placeholder\(s\) \['XqzAbstractWordsXqz'\]"):
        fill_placeholders(split, values, "x.docx")


def test_the_reading_is_used_as_soon_as_written_and_a_call_that_never_writes_it_fails(tmp_path):
    """An output finished before the reading call ends need not wait for all of it: the
    reading is there early in its run (written whole, then renamed into place)."""
    import os
    import time

    from analysis.render import _Job, _wait_for_file

    path = tmp_path / "source.json"
    slow = _Job(["sh", "-c", f"sleep 0.2; echo '{{}}' > {path}.part; mv {path}.part {path}; sleep 30"], tmp_path,
                dict(os.environ), "pandoc (HTML)")
    began = time.perf_counter()
    try:
        _wait_for_file(path, slow)
        assert time.perf_counter() - began < 10 and slow.proc.poll() is None and path.read_text() == "{}\n"
    finally:
        slow.kill()
    silent = _Job(["true"], tmp_path, dict(os.environ), "pandoc (DOCX)")
    with pytest.raises(RenderError, match=r"pandoc \(DOCX\) ended without writing its reading of the source"):
        _wait_for_file(tmp_path / "never.json", silent)


def test_a_call_that_writes_much_to_stderr_is_not_stopped_by_a_full_pipe(tmp_path):
    """The calls are polled, not read from: their output goes to files, so 200 kB of
    messages (more than a pipe holds) cannot stall pandoc and the build with it."""
    import os

    from analysis.render import _Job, _next_done

    noisy = _Job(["sh", "-c", "yes xxxx | head -c 200000 >&2; exit 3"], tmp_path, dict(os.environ),
                 "pandoc (JATS)")
    assert _next_done({"jats": noisy}) == "jats"
    with pytest.raises(RenderError, match=r"pandoc \(JATS\) failed \(exit 3\):\nxxxx"):
        noisy.wait()
