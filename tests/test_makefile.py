"""The Makefile's targets are real files: nothing changed -> nothing done; a template edit
re-renders without recomputing; a data edit recomputes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO

pytestmark = pytest.mark.e2e


def make(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=root, capture_output=True, text=True)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The Makefile, package and shared templates, with only the fixture study, and the
    current interpreter's environment standing in for .venv (so nothing is installed)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "analysis", root / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "templates" / "_shared", root / "templates" / "_shared")
    shutil.copytree(FIXTURES / "mini" / "data", root / "data")
    shutil.copytree(FIXTURES / "mini" / "templates" / "mini", root / "templates" / "mini")
    shutil.copytree(FIXTURES / "mini" / "scripts", root / "scripts")
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    wrapper = venv_bin / "python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    time.sleep(0.01)
    (root / ".venv" / ".installed").touch()
    return root


def test_second_make_does_nothing_and_edits_redo_only_their_stage(repo_copy):
    first = make(repo_copy, "report", "STUDY=mini")
    assert first.returncode == 0, first.stderr
    assert "analysis analyse mini" in first.stdout and "analysis render mini" in first.stdout
    assert (repo_copy / "report/mini/manuscript.pdf").is_file()

    assert make(repo_copy, "-q", "report", "STUDY=mini").returncode == 0  # up to date

    template = repo_copy / "templates/mini/manuscript.qmd.j2"
    os.utime(template, (time.time() + 5, time.time() + 5))
    plan = make(repo_copy, "-n", "report", "STUDY=mini").stdout
    assert "analysis render mini" in plan and "analysis analyse mini" not in plan

    data = repo_copy / "data/mini/patients.csv"
    os.utime(data, (time.time() + 10, time.time() + 10))
    plan = make(repo_copy, "-n", "report", "STUDY=mini").stdout
    assert "analysis analyse mini" in plan
