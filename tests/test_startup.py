"""Lean start-up: the quick commands import no numeric stack, and an analysis imports only
what its study uses.

These are correctness tests (which modules a fresh interpreter ends up with), not timings:
the timings live in ``benchmarks/run_all.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

HEAVY = ("pandas", "scipy", "matplotlib", "numpy", "PIL", "pypandoc", "typst")

_PROBE = """
import json, sys
from analysis.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:  # --help exits from argparse
    status = exc.code
json.dump({"status": status, "modules": sorted(sys.modules)}, sys.stderr)
"""


def modules_after(*argv: str, cwd=REPO) -> tuple[int, set[str]]:
    """Run ``python -m analysis ARGV`` in a fresh interpreter; return its exit status and
    every module it had imported when it finished."""
    proc = subprocess.run([sys.executable, "-c", _PROBE, *argv], cwd=cwd, capture_output=True, text=True)
    report = json.loads(proc.stderr.strip().splitlines()[-1])
    return report["status"], set(report["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.mark.parametrize("argv", [("--help",), ("list",), ("lint",), ("lint", "ixazomib_ndmm"), ("analyse", "--help")])
def test_quick_commands_import_no_numeric_stack(argv):
    status, modules = modules_after(*argv)
    assert status == 0
    assert _heavy(modules) == []


def test_list_and_lint_still_work_without_pandas(mini_project):
    status, modules = modules_after("--root", str(mini_project), "list")
    assert status == 0 and "pandas" not in modules
    status, modules = modules_after("--root", str(mini_project), "lint")
    assert status == 0 and "pandas" not in modules


def test_analyse_imports_only_what_the_study_uses(tmp_path):
    """ixazomib_ndmm has no meta-analysis, no forest plot and reads only CSV: none of those
    modules (nor the renderers, nor spreadsheet/SPSS readers) is imported by its analysis."""
    import shutil

    root = tmp_path / "project"
    for folder in ("data/ixazomib_ndmm",):
        shutil.copytree(REPO / folder, root / folder)
    status, modules = modules_after("--root", str(root), "analyse", "-q", "ixazomib_ndmm")
    assert status == 0
    unused = {"analysis.stats.meta", "analysis.figures.forest", "analysis.tables.meta",
              "analysis.templating", "openpyxl", "pyreadstat", "pypandoc", "typst", "jinja2"}
    if sys.platform == "linux" and len(os.sched_getaffinity(0)) > 1:
        unused.add("matplotlib")  # the figure worker draws every figure (analysis.figureworker)
    assert sorted(unused & modules) == []


def test_the_command_exits_with_main_status_and_runs_exit_handlers(mini_project):
    """``python -m analysis`` freezes the garbage collector before exiting (see ``cli.run``):
    its exit status is still main()'s, and exit handlers still run (stdout fully written)."""
    ok = subprocess.run([sys.executable, "-m", "analysis", "--root", str(mini_project), "list"], cwd=REPO,
                        capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.strip()
    bad = subprocess.run([sys.executable, "-m", "analysis", "--root", str(mini_project), "analyse", "no_such_study"],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 1 and "no_such_study" in bad.stderr
    usage = subprocess.run([sys.executable, "-m", "analysis", "no-such-command"], cwd=REPO, capture_output=True,
                           text=True)
    assert usage.returncode == 2
    probe = ("import atexit, sys; from analysis import cli; atexit.register(lambda: print('handler ran')); "
             "cli.run(sys.argv[1:])")
    ran = subprocess.run([sys.executable, "-c", probe, "--root", str(mini_project), "list"], cwd=REPO,
                         capture_output=True, text=True)
    assert ran.returncode == 0 and ran.stdout.rstrip().endswith("handler ran")
