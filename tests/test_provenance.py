"""The provenance stamp: commit and uncommitted changes, the study script, software versions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.errors import ConfigError
from analysis.provenance import build_time, git_state, package_versions, provenance
from analysis.render import pandoc_path, typst_version

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=root,
                   check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for folder in ("data/s", "analysis", "templates/s", "scripts", "notes"):
        (root / folder).mkdir(parents=True)
    (root / "data/s/study.yaml").write_text("id: s\n", encoding="utf-8")
    (root / "analysis/a.py").write_text("x = 1\n", encoding="utf-8")
    (root / "templates/s/m.qmd.j2").write_text("text\n", encoding="utf-8")
    (root / "scripts/s.py").write_text("def analyse(study): ...\n", encoding="utf-8")
    (root / ".gitignore").write_text("__pycache__/\n/report/\n/build/\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    return root


@needs_git
def test_a_clean_checkout_is_not_dirty(repo):
    state = git_state(repo)
    assert len(state["commit"]) == 40 and state["dirty"] is False
    # build outputs, ignored files and untracked files elsewhere do not count
    (repo / "report").mkdir()
    (repo / "report/x.html").write_text("x", encoding="utf-8")
    (repo / "analysis/__pycache__").mkdir()
    (repo / "analysis/__pycache__/a.pyc").write_bytes(b"\0")
    (repo / "notes/todo.txt").write_text("x", encoding="utf-8")
    assert git_state(repo)["dirty"] is False


@needs_git
@pytest.mark.parametrize("path", ["data/s/extra.csv", "analysis/new_module.py", "templates/s/part.md.j2",
                                  "templates/_shared/new/deep.lua"])
def test_untracked_files_under_data_analysis_templates_are_uncommitted(repo, path):
    (repo / path).parent.mkdir(parents=True, exist_ok=True)
    (repo / path).write_text("new\n", encoding="utf-8")
    assert git_state(repo)["dirty"] is True


@needs_git
def test_modified_tracked_file_is_uncommitted(repo):
    (repo / "analysis/a.py").write_text("x = 2\n", encoding="utf-8")
    assert git_state(repo)["dirty"] is True


@needs_git
def test_the_study_script_counts_wherever_it_lives(repo):
    (repo / "scripts/untracked.py").write_text("def analyse(study): ...\n", encoding="utf-8")
    assert git_state(repo)["dirty"] is False  # scripts/ is not watched unless it holds the script
    assert git_state(repo, ("scripts/untracked.py",))["dirty"] is True
    (repo / "scripts/untracked.py").unlink()
    (repo / "scripts/s.py").write_text("def analyse(study): return 1\n", encoding="utf-8")
    assert git_state(repo, ("scripts/s.py",))["dirty"] is True


def test_not_a_checkout_says_so(tmp_path):
    assert git_state(tmp_path) == {"commit": "unknown (not a git checkout)", "dirty": False}


def test_build_time_from_source_date_epoch(monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert build_time() == (1700000000, "2023-11-14 22:13:20 UTC")


def test_versions_are_those_of_the_programs_that_run():
    """pandoc: the `--version` of the wheel's binary the build invokes; typst: the compiler's
    own `sys.version`, which differs from the typst wheel's version."""
    versions = package_versions()
    first = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True, check=True).stdout
    assert first.splitlines()[0] == f"pandoc {versions['pandoc']}"
    probe = subprocess.run([pandoc_path(), "--from", "markdown", "--to", "typst"], input="x",
                           capture_output=True, text=True, check=True)
    assert probe.returncode == 0
    assert versions["typst"] == typst_version()
    from importlib.metadata import version

    assert versions["typst (Python wheel)"] == version("typst")
    assert versions["pypandoc-binary"] == version("pypandoc-binary")


def test_quarto_engine_lists_quarto_and_the_renderers_it_bundles(tmp_path, monkeypatch):
    from analysis.render import quarto_version

    fake = tmp_path / "quarto"
    fake.write_text('#!/bin/sh\ncase "$1" in\n  --version) echo 1.6.40;;\n  pandoc) echo "pandoc 3.4";;\n'
                    '  typst) echo "typst 0.12.0 (737895d7)";;\nesac\n', encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    quarto_version.cache_clear()
    try:
        versions = package_versions("quarto")
    finally:
        quarto_version.cache_clear()
    assert (versions["quarto"], versions["pandoc"], versions["typst"]) == ("1.6.40", "3.4", "0.12.0")


def test_quarto_engine_without_quarto_says_unknown(monkeypatch):
    from analysis.render import quarto_version

    monkeypatch.setenv("PATH", "/nonexistent")
    quarto_version.cache_clear()
    versions = package_versions("quarto")
    assert versions["quarto"] == versions["pandoc"] == versions["typst"] == "unknown"


def test_provenance_lists_inputs_sorted(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    prov = provenance(tmp_path, {"b.csv": "2" * 64, "a.csv": "1" * 64})
    assert [i["file"] for i in prov["inputs"]] == ["a.csv", "b.csv"]
    assert prov["epoch"] == 1700000000


# -- the study script ------------------------------------------------------------------------------
def set_script(project: Path, value: str) -> None:
    study = project / "data/mini/study.yaml"
    text = study.read_text(encoding="utf-8").replace("script: scripts/mini_analysis.py", f"script: {value}")
    study.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("value", ["../outside.py", "/tmp/outside.py", "scripts/../../outside.py"])
def test_script_outside_the_project_is_refused(mini_project, value):
    from analysis.pipeline import analyse

    outside = mini_project.parent / "outside.py"
    shutil.copy(mini_project / "scripts/mini_analysis.py", outside)
    if value.startswith("/"):
        value = str(outside)
    set_script(mini_project, value)
    with pytest.raises(ConfigError, match=r"data/mini/study.yaml: `script` .* resolves to .*outside.py, outside "
                                          r"the project folder .*; expected a path inside the project"):
        analyse(mini_project, "mini")


def test_script_linked_from_outside_the_project_is_refused(mini_project):
    from analysis.pipeline import analyse

    outside = mini_project.parent / "outside.py"
    shutil.move(mini_project / "scripts/mini_analysis.py", outside)
    os.symlink(outside, mini_project / "scripts/mini_analysis.py")
    with pytest.raises(ConfigError, match="outside the project folder"):
        analyse(mini_project, "mini")


def test_script_sha256_is_listed_with_the_inputs(mini_project):
    import hashlib

    from analysis.pipeline import analyse

    results = json.loads((analyse(mini_project, "mini") / "results.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((mini_project / "scripts/mini_analysis.py").read_bytes()).hexdigest()
    assert results["inputs"]["scripts/mini_analysis.py"] == digest
    assert set(results["inputs"]) == {"patients.csv", "study.yaml", "scripts/mini_analysis.py"}
