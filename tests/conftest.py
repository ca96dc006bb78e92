"""Shared fixtures: a throw-away project folder holding the fixture study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _own_cache_folder(tmp_path_factory):
    """The tests keep the user's cache folder (the figure pictures of analysis.figurefiles)
    in a folder of their own, so a run neither reads nor fills the developer's."""
    import os

    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    """A project folder with the `mini` fixture study and the repository's shared templates."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "mini", root)
    shutil.copytree(REPO / "templates" / "_shared", root / "templates" / "_shared")
    return root


def copy_real_study(root: Path, study: str) -> Path:
    """A project folder with one real study's data and templates (the package is imported as installed)."""
    shutil.copytree(REPO / "data" / study, root / "data" / study)
    shutil.copytree(REPO / "templates" / study, root / "templates" / study)
    shutil.copytree(REPO / "templates" / "_shared", root / "templates" / "_shared")
    from analysis.study import load_config

    script = load_config(REPO, study).get("script")  # a study made by `new` names its script
    if script:
        (root / script).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / script, root / script)
    return root


@pytest.fixture(scope="session")
def study_report(tmp_path_factory):
    """``study_report(study)``: the report folder of a real study, built once per test session
    (the end-to-end tests of several modules share the same build)."""
    from analysis.pipeline import build

    reports: dict[str, Path] = {}

    def get(study: str) -> Path:
        if study not in reports:
            root = copy_real_study(tmp_path_factory.mktemp(study), study)
            reports[study] = build(root, study, progress=None)
        return reports[study]

    return get
