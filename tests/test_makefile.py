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


def test_make_j2_builds_two_studies_side_by_side(repo_copy):
    """`make -j2 report` runs the two studies' stages at the same time, and both reports are
    complete: the per-study rules share no file (each stage writes its own staging folder)."""
    shutil.copytree(repo_copy / "data/mini", repo_copy / "data/mini2")
    study = repo_copy / "data/mini2/study.yaml"
    study.write_text(study.read_text().replace("id: mini\n", "id: mini2\n"))
    shutil.copytree(repo_copy / "templates/mini", repo_copy / "templates/mini2")
    log = repo_copy / "runs.log"
    wrapper = repo_copy / ".venv/bin/python"
    # the stand-in interpreter notes when each command starts and ends
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo "start $(date +%s.%N) $*" >> "{log}"\n'
        f'"{sys.executable}" "$@"; status=$?\n'
        f'echo "end $(date +%s.%N) $*" >> "{log}"\n'
        "exit $status\n"
    )
    (repo_copy / ".venv/.installed").touch()
    done = make(repo_copy, "-j2", "report")
    assert done.returncode == 0, done.stderr
    for sid in ("mini", "mini2"):
        assert (repo_copy / f"report/{sid}/manuscript.html").stat().st_size > 0
        assert (repo_copy / f"report/{sid}/manuscript.pdf").stat().st_size > 0
    spans: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        _kind, stamp, *args = line.split()
        if "analyse" in args:
            spans.setdefault(args[-1], []).append(float(stamp))
    (a_start, a_end), (b_start, b_end) = spans["mini"], spans["mini2"]
    assert a_start < b_end and b_start < a_end, f"the two analyses ran one after the other: {spans}"
