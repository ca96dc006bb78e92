"""Drift: change one patient's best response from PR to CR in a copy of the data; the CR count
and percentage in the response table, the CR P value and the abstract sentence all change
together, with no template edit."""

from __future__ import annotations

import csv
import io

import pytest

from analysis.pipeline import build
from analysis.results import ResultsStore
from tests.conftest import REPO
from tests.test_studies import abstract_citations, copy_study, html_parts

pytestmark = pytest.mark.e2e
STUDY = "ixazomib_ndmm"


def promote_one_pr_to_cr(path, arm: str) -> str:
    """Rewrite the first PR patient of ``arm`` as CR; return that patient's id."""
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    patient = next(r for r in rows if r["arm"] == arm and r["best_response"] == "PR")
    patient["best_response"] = "CR"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return patient["patient_id"]


@pytest.mark.skipif(not (REPO / "data" / STUDY).is_dir(), reason="study data not present")
def test_one_response_changes_table_p_value_and_abstract_together(tmp_path):
    root = copy_study(tmp_path, STUDY)
    before_dir = build(root, STUDY)
    before = ResultsStore.from_json((before_dir / "results.json").read_text(encoding="utf-8"))
    before_abstract, before_tables = html_parts(before_dir / "manuscript.html")
    cited_before = dict(abstract_citations(before_dir))  # read now: the second build replaces the folder
    templates = {p: p.read_bytes() for p in (root / "templates").rglob("*")  if p.is_file()}

    promote_one_pr_to_cr(root / "data" / STUDY / "patients.csv", "ID")
    after_dir = build(root, STUDY)
    after = ResultsStore.from_json((after_dir / "results.json").read_text(encoding="utf-8"))
    after_abstract, after_tables = html_parts(after_dir / "manuscript.html")

    assert {p: p.read_bytes() for p in templates} == templates, "no template was edited"
    cr_before, cr_after = before["table2.cr.ID"].raw, after["table2.cr.ID"].raw
    assert cr_after["n"] == cr_before["n"] + 1
    assert before["table2.pr.ID"].raw["n"] - 1 == after["table2.pr.ID"].raw["n"]
    assert after["table2.cr.p"].raw != before["table2.cr.p"].raw
    # the table cell shows the new count and percentage
    assert before.text("table2.cr.ID") in before_tables
    assert after.text("table2.cr.ID") in after_tables
    # the abstract cites the new count and the new P value, in the same sentence as before
    cited_after = dict(abstract_citations(after_dir))
    assert cited_before["table2.cr.ID.n"] == str(cr_before["n"])
    assert cited_after["table2.cr.ID.n"] == str(cr_after["n"])
    assert cited_after["table2.cr.p"] == "P " + ("< " if after.text("table2.cr.p").startswith("<") else "= ") + (
        after.text("table2.cr.p").lstrip("<"))
    assert after_abstract != before_abstract
