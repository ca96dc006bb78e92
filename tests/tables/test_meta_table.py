"""Meta-analysis summary table: the chosen model's pooled estimate, study weights, heterogeneity.

Reference: R metafor::rma.mh(ai, n1i, ci, n2i, measure = "OR") on CASTOR and POLLUX ORR
(199/240 vs 148/234; 261/281 vs 211/276) gives OR 3.27 [2.34; 4.56], MH weights 62.8% / 37.2%,
as meta::metabin printed in the seed paper; rma(yi, sei, method = "DL") on the PFS hazard
ratios gives 0.36 [0.27; 0.47] (tests/reference/r_reference.json, meta.castor_pollux_pfs_hr).
"""

import json
from pathlib import Path

import pytest

from analysis.results import ResultsStore
from analysis.stats.meta import ModelChoice, generic_from_ci, mantel_haenszel_or
from analysis.tables.meta import MetaOutcome, tbl_meta
from analysis.tables.render import to_markdown

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "r_reference.json").read_text())["meta"]


@pytest.fixture(scope="module")
def built():
    orr = mantel_haenszel_or([(199, 240, 148, 234), (261, 281, 211, 276)], ["CASTOR", "POLLUX"])
    ref = REF["castor_pollux_pfs_hr"]
    pfs = generic_from_ci(ref["estimate"], ref["lower"], ref["upper"], ["CASTOR", "POLLUX"], measure="ratio")
    store = ResultsStore("x")
    table, decisions = tbl_meta([MetaOutcome("orr", "Overall response", "OR", orr),
                                 MetaOutcome("pfs", "Progression-free survival", "HR", pfs)],
                                store, "meta", "tbl-meta", "Pooled", ModelChoice())
    return store, table, decisions


def test_model_choice_and_pooled_values(built):
    store, _, decisions = built
    assert decisions["orr"].model == "fixed" and decisions["pfs"].model == "random"
    assert store.text("meta.orr.pooled") == "3.27 (2.34–4.56)"
    assert (store.text("meta.orr.CASTOR.weight"), store.text("meta.orr.POLLUX.weight")) == ("62.8", "37.2")
    rd = REF["castor_pollux_pfs_hr"]["random_dl"]
    pooled = store["meta.pfs.pooled"].raw
    assert pooled["estimate"] == pytest.approx(rd["pooled"], rel=1e-6)
    assert [pooled["lower"], pooled["upper"]] == pytest.approx([rd["lower"], rd["upper"]], rel=1e-6)
    assert store["meta.pfs.CASTOR.weight"].raw == pytest.approx(rd["weights_pct"][0], rel=1e-6)
    assert store["meta.pfs.i2"].raw == pytest.approx(REF["castor_pollux_pfs_hr"]["I2_pct"], rel=1e-6)
    assert store.text("meta.pfs.model") == "random effects"


def test_table_rows(built):
    store, table, _ = built
    labels = [r.label for r in table.rows]
    assert labels == ["Overall response", "CASTOR", "POLLUX", "Pooled (fixed effect)",
                      "Progression-free survival", "CASTOR", "POLLUX", "Pooled (random effects)"]
    md = to_markdown(table, store.style)
    assert "3.27 (2.34–4.56)" in md and "0.36 (0.27–0.47)" in md and "{#tbl-meta}" in md


def test_a_study_without_events_in_either_arm_is_named_in_a_footnote():
    """R: rma.mh keeps a double-zero study in the MH sums with weight 0% (summary_tests.R);
    the table says so rather than dropping it silently."""
    res = mantel_haenszel_or([(3, 50, 8, 50), (0, 40, 0, 40), (5, 60, 9, 60)], ["A", "B", "C"])
    store = ResultsStore("x")
    table, _ = tbl_meta([MetaOutcome("ae", "Serious adverse events", "OR", res)], store, "meta", "tbl-meta",
                        "Pooled", ModelChoice())
    assert [r.label for r in table.rows] == ["Serious adverse events", "A", "C", "Pooled (fixed effect)"]
    assert any(n.startswith("Serious adverse events: B had no events") for n in table.notes)
