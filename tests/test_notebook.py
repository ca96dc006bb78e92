"""Jupyter: open_study gives validated frames and built results; tables and values display."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from analysis.pipeline import analyse
from tests.conftest import REPO


def test_import_analysis_is_light():
    code = "import sys, analysis; assert 'pandas' not in sys.modules, 'pandas imported'; print(analysis.open_study)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert "open_study" in out.stdout


def test_open_study_reads_built_results_or_computes_them(mini_project):
    from analysis import open_study

    s = open_study("mini", root=mini_project)
    assert not s.built and s.frames["patients"]["age"].dtype.name == "Int64"
    assert repr(s["cr.A"]) == "cr.A = 3 (60.0)  (count; from patients.csv)"
    assert "<code>cr.A</code> = <b>3 (60.0)</b>" in s["cr.A"]._repr_html_()
    analyse(mini_project, "mini")
    built = open_study("mini", root=mini_project / "data")  # found from a subfolder too
    assert built.built and built["cr.A"].text == s["cr.A"].text and len(built) == len(s)
    assert [v.key for v in built.find("cr.")] == ["cr.A", "cr.B", "cr.p"]


def test_tables_display_as_html(tmp_path):
    from analysis import open_study

    s = open_study("ixazomib_ndmm", root=REPO, rebuild=True)
    table = s.tables["tbl-response"]
    page = table._repr_html_()
    assert page.startswith("<table><caption><b>tbl-response</b>")
    cell = s["table2.cr.ID"]
    assert f'title="table2.cr.ID">{cell.text}</td>' in page
    assert "Complete response (CR)" in repr(table)
    assert set(table.to_frame().columns) >= {"row", "column"}


def test_a_notebook_runs_headless(mini_project, tmp_path):
    """The tutorial's notebook cells, executed by a real kernel (nbclient)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    cells = [
        f"from analysis import open_study\ns = open_study('mini', root={str(mini_project)!r})\ns",
        "s.frames['patients'].head(3)",
        "s['cr.A']",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = [cell.outputs[0]["data"] for cell in nb.cells]
    assert "<b>mini</b>" in outputs[0]["text/html"]
    assert "P01" in outputs[1]["text/html"]
    assert outputs[2]["text/html"].startswith("<code>cr.A</code> = <b>3 (60.0)</b>")
    assert json.dumps(outputs)  # plain JSON outputs, as a saved notebook holds them
