"""Shared fixtures: a throw-away project folder holding the fixture study."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def mini_project(tmp_path: Path) -> Path:
    """A project folder with the `mini` fixture study and the repository's shared templates."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURES / "mini", root)
    shutil.copytree(REPO / "templates" / "_shared", root / "templates" / "_shared")
    return root
