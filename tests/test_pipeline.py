"""End to end on the fixture study: data in, HTML/PDF/DOCX out, atomically and reproducibly."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from analysis.cli import main
from analysis.errors import DataValidationError, LintError, RenderError, TemplateError
from analysis.pipeline import analyse, build, render_study

pytestmark = pytest.mark.e2e


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def pdf_text(path: Path) -> str:
    return " ".join(page.extract_text() for page in PdfReader(path).pages)


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_build_writes_three_formats_with_the_bound_numbers(mini_project):
    report = build(mini_project, "mini")
    for name in ("manuscript.html", "manuscript.pdf", "manuscript.docx", "manuscript.qmd", "results.json",
                 "figures/fig-cr.svg", "figures/fig-cr.png"):
        assert (report / name).is_file(), name
    html = (report / "manuscript.html").read_text(encoding="utf-8")
    # values carry their key; figure embedded; cross-reference and citation resolved
    # each number explains itself on hover and focus: key, test, input file (from results.json)
    assert re.search(r'<span class="val" data-key="cr.A" data-tip="cr.A\ncount\nfrom patients.csv '
                     r'\(SHA-256 [0-9a-f]{12}…\)" tabindex="0">3 \(60.0\)</span>', html)
    assert ('<span class="val" data-key="protocol.dose_mg" data-tip="protocol.dose_mg\nstudy.yaml: protocol fact\n'
            'from study.yaml (SHA-256 ') in html
    assert "data:image/svg+xml;base64," in html
    assert "Figure\u00a01" in html and "@fig-cr" not in html
    assert "Kumar" in html and "Lancet Oncol" in html
    pdf = pdf_text(report / "manuscript.pdf")
    for number in ("3 (60.0)", "1 (20.0)", "59.6 ± 9.2", "P = 0.032", "January 2014"):
        assert number in pdf, number
    docx = docx_text(report / "manuscript.docx")
    assert "3 (60.0)" in docx and "P = 0.500" in docx
    assert "{{" not in html and "{{" not in pdf


def test_provenance_is_stamped(mini_project, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    report = build(mini_project, "mini")
    html = (report / "manuscript.html").read_text(encoding="utf-8")
    sha = hashlib.sha256((mini_project / "data/mini/patients.csv").read_bytes()).hexdigest()
    assert sha in html
    assert "2023-11-14 22:13:20 UTC" in html
    assert "pypandoc-binary" in html and "typst" in html


def test_two_builds_are_byte_identical(mini_project, monkeypatch, tmp_path):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = tree_hashes(build(mini_project, "mini"))
    second = tree_hashes(build(mini_project, "mini"))
    for name in ("results.json", "manuscript.html", "manuscript.docx", "manuscript.qmd", "figures/fig-cr.svg"):
        assert first[name] == second[name], name


def test_failed_build_leaves_previous_report_untouched(mini_project):
    report = build(mini_project, "mini")
    before = tree_hashes(report)
    data = mini_project / "data/mini/patients.csv"
    good = data.read_text()
    data.write_text(good.replace("P05,A,SD,66,5.0", "P05,A,SD,sixty,5.0"))
    with pytest.raises(DataValidationError, match=r"patients.csv, line 6 \(data row 5\), column `age`: invalid value: got 'sixty'"):
        build(mini_project, "mini")
    assert tree_hashes(report) == before
    # a failure late in rendering (broken template) leaves it untouched too
    data.write_text(good)
    template = mini_project / "templates/mini/manuscript.qmd.j2"
    template.write_text(template.read_text().replace("{{ cr.A }}", "{{ cr.C }}"))
    with pytest.raises(TemplateError, match=r'templates/mini/manuscript.qmd.j2:\d+: undefined key "cr.C"'):
        build(mini_project, "mini")
    assert tree_hashes(report) == before
    assert not list(report.parent.glob(".mini.*")), "staging folders must be cleaned up"


def test_unbound_number_fails_the_build(mini_project):
    template = mini_project / "templates/mini/manuscript.qmd.j2"
    text = template.read_text().replace("Mean age was", "Median follow-up was 30.03 months. Mean age was")
    template.write_text(text)
    line = text.splitlines().index(next(ln for ln in text.splitlines() if "30.03" in ln)) + 1
    with pytest.raises(LintError, match=rf'templates/mini/manuscript.qmd.j2:{line}: unbound number "30.03"'):
        build(mini_project, "mini")


def test_render_without_analysis_says_what_to_run(mini_project):
    with pytest.raises(Exception, match="python -m analysis analyse mini"):
        render_study(mini_project, "mini")


def test_quarto_engine_says_clearly_when_quarto_is_missing(mini_project, monkeypatch):
    analyse(mini_project, "mini")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RenderError, match="needs a `quarto` executable on PATH"):
        render_study(mini_project, "mini", engine="quarto")


def test_qmd_is_valid_quarto_source(mini_project):
    qmd = (build(mini_project, "mini", formats=("html",)) / "manuscript.qmd").read_text()
    assert qmd.startswith("---\ntitle:")
    assert "{#fig-cr width=100%}" in qmd and "(@fig-cr)" in qmd
    assert "bibliography: references.bib" in qmd


def test_cli_exit_codes_and_messages(mini_project, capsys):
    root = str(mini_project)
    assert main(["--root", root, "list"]) == 0
    assert "mini\tA minimal two-arm study" in capsys.readouterr().out
    assert main(["--root", root, "lint"]) == 0
    assert main(["--root", root, "build", "mini", "-q", "--formats", "html"]) == 0
    assert main(["--root", root, "build", "nosuch"]) == 1
    assert "Unknown study 'nosuch'" in capsys.readouterr().err
    (mini_project / "data/mini/patients.csv").write_text("patient_id,arm\nP01,A\n")
    assert main(["--root", root, "analyse", "mini", "-q"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: data/mini/patients.csv: missing column(s) `response`")
    assert "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["--root", root, "build", "--formats", "epub"])
    assert exc.value.code == 2


@pytest.mark.parametrize("command", ["list", "lint", "analyse", "render", "build", "audit", "diff", "synthesize"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage: python -m analysis" in capsys.readouterr().out


def test_missing_study_script_is_a_clear_error(mini_project):
    shutil.move(mini_project / "scripts/mini_analysis.py", mini_project / "scripts/other.py")
    with pytest.raises(Exception, match="`script` 'scripts/mini_analysis.py' does not exist"):
        analyse(mini_project, "mini")


def test_a_killed_builds_reading_of_the_manuscript_is_removed_by_the_next_build(mini_project):
    """pandoc's reading of the manuscript (shared by the renderers of a build of several
    formats) is kept beside the report folder, never published, and removed by the next
    build if a killed build left it."""
    from analysis.outputs import scratch_dir

    build(mini_project, "mini", formats=("html", "docx"))
    report = mini_project / "report" / "mini"
    assert sorted(p.name for p in report.parent.iterdir()) == ["mini"]  # no working folder left
    left = scratch_dir(report)
    (left / "source.json").write_text("{}", encoding="utf-8")  # as a killed build leaves it
    build(mini_project, "mini", formats=("html", "docx"))
    assert sorted(p.name for p in report.parent.iterdir()) == ["mini"]


def test_a_killed_analysis_leaves_its_figure_workers_folder_to_the_next_build(mini_project, tmp_path):
    """The figure worker draws in a working folder beside the analysis folder (not in the
    system's temporary folder), which the next build removes if a killed one left it, in the
    default folder and in one given as ``out`` (the preview's)."""
    from analysis.figureworker import figure_worker
    from analysis.outputs import scratch_dir

    analysis_folder = mini_project / "build" / "mini"
    with figure_worker(beside=analysis_folder) as worker:
        if worker is not None:  # a worker where it can fork: it draws beside the folder
            assert worker._folder.parent == analysis_folder.parent
            assert worker._folder.name.startswith(".mini.")
    def working(folder: Path) -> list[str]:
        return [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}.")]

    assert working(analysis_folder) == []  # removed when it stopped
    other = tmp_path / "elsewhere" / "mini.analysis"
    for folder in (analysis_folder, other):
        (scratch_dir(folder) / "fig-x.svg").write_text("<svg/>", encoding="utf-8")  # as a killed build leaves it
        assert len(working(folder)) == 1
    analyse(mini_project, "mini")
    analyse(mini_project, "mini", out=other)
    assert working(analysis_folder) == [] and working(other) == []
    assert (analysis_folder / "results.json").is_file() and (other / "results.json").is_file()
