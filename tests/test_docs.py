"""The user guide: `mkdocs build --strict` passes, and every code example in it runs.

Fenced ``python`` blocks of a page run in order in one namespace, in a throw-away project
holding the example studies' data and templates (the current folder while they run). Fenced
``sh`` blocks run their commands too: ``python -m analysis ...`` through the CLI in-process, and
``make report STUDY=x`` as the build it stands for (``python -m analysis build x``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import main
from tests.conftest import REPO

DOCS = REPO / "docs"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
BUILDS = {"tutorial.md"}  # pages whose examples build a manuscript (slow: end to end)


def blocks(page: str) -> list[tuple[str, str]]:
    """(language, code) of every fenced block of a page, in order; the code is padded with blank
    lines so that a failing example's traceback names its line of the page."""
    text = (DOCS / page).read_text(encoding="utf-8")
    return [(m.group(1), "\n" * text[: m.start(2)].count("\n") + m.group(2)) for m in FENCE.finditer(text)]


@pytest.fixture
def project(tmp_path: Path):
    root = tmp_path / "project"
    for study in ("ixazomib_ndmm", "ird_rrmm"):
        shutil.copytree(REPO / "data" / study, root / "data" / study)
    shutil.copytree(REPO / "templates", root / "templates", ignore=shutil.ignore_patterns("ird_rrmm"))
    old = Path.cwd()
    os.chdir(root)
    try:
        yield root
    finally:
        os.chdir(old)


def run_shell(code: str, root: Path) -> None:
    for line in code.strip().splitlines():
        args = shlex.split(line.split("#")[0])
        if args[:3] == ["python", "-m", "analysis"]:
            command = args[3:]
        elif args[:2] == ["make", "report"] and len(args) == 3 and args[2].startswith("STUDY="):
            command = ["build", args[2].split("=", 1)[1], "-q"]
        else:
            raise AssertionError(f"docs example runs an unknown command: {line!r}")
        assert main(["--root", str(root), *command]) == 0, line


def run_page(page: str, root: Path) -> int:
    namespace: dict = {"__name__": f"docs_{page}"}
    ran = 0
    for lang, code in blocks(page):
        if lang == "python":
            exec(compile(code, f"docs/{page}", "exec"), namespace)  # the docs' own examples
        elif lang == "sh":
            run_shell(code, root)
        else:
            continue
        ran += 1
    return ran


@pytest.mark.parametrize("page", [p for p in PAGES if p not in BUILDS])
def test_code_examples_run(page, project):
    run_page(page, project)


@pytest.mark.e2e
def test_tutorial_runs_from_csv_to_three_formats(project):
    assert run_page("tutorial.md", project) >= 4
    report = project / "report" / "my_trial"
    for fmt in ("html", "pdf", "docx"):
        assert (report / f"manuscript.{fmt}").stat().st_size > 10_000


def test_every_page_with_code_is_run():
    with_code = {p for p in PAGES if any(lang in ("python", "sh") for lang, _ in blocks(p))}
    assert {"tutorial.md", "templates.md", "reference/context.md", "reference/builders.md"} <= with_code


def test_mkdocs_build_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    out = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
                         cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text(encoding="utf-8")
    assert "statistics.alpha" in html and "style.p_digits" in html
    api = (tmp_path / "site" / "reference" / "context" / "index.html").read_text(encoding="utf-8")
    assert "km_figure" in api and "significance_summary" in api


def test_a_public_function_without_docstring_fails_the_docs(tmp_path, monkeypatch):
    sys.path.insert(0, str(DOCS))
    try:
        import hooks
    finally:
        sys.path.remove(str(DOCS))
    assert hooks.undocumented() == []
    fake = tmp_path / "analysis"
    fake.mkdir()
    (fake / "__init__.py").write_text('"""Fake."""\n', encoding="utf-8")
    (fake / "context.py").write_text(
        '"""Fake."""\n__all__ = ["documented", "bare"]\n\n\ndef documented():\n    """Yes."""\n\n\n'
        'def bare():\n    pass\n\n\ndef _private():\n    pass\n', encoding="utf-8")
    monkeypatch.setattr(hooks, "ROOT", tmp_path)
    assert hooks.undocumented(("analysis.context",)) == ["analysis.context.bare"]
