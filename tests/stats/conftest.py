"""Fixtures for the statistics tests: R reference values committed under tests/reference/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="session")
def r_ref() -> dict[str, Any]:
    """``tests/reference/r_reference.json`` (copied from ../shared/reference, R 4.2.2)."""
    return json.loads((REFERENCE / "r_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def r_extra() -> dict[str, Any]:
    """``tests/reference/stats_extra.json``, made by ``tests/reference/stats_extra.R``."""
    return json.loads((REFERENCE / "stats_extra.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def r_summary() -> dict[str, Any]:
    """``tests/reference/summary_tests.json``, made by ``tests/reference/summary_tests.R``."""
    return json.loads((REFERENCE / "summary_tests.json").read_text(encoding="utf-8"))
