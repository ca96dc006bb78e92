"""The audit compares computed values with printed ones at the printed precision."""

import pytest
import yaml

from analysis.audit import audit, load_published
from analysis.errors import ConfigError
from analysis.results import ResultsStore


def store() -> ResultsStore:
    s = ResultsStore("x")
    s.add("table2.cr.ID", {"n": 13, "N": 40}, "n_pct")
    s.add("table2.cr.p", 0.0322000642003265, "p")
    s.add("table4.neuropathy.p", 0.301699582478348, "p")
    s.add("table4.neuropathy.stat", 1.06666666666667, "stat")
    s.add("table1.age.ID", {"mean": 63.94, "sd": 11.43}, "mean_sd")
    s.add("table3.nrs.paired.ID", 0.0000001, "p")
    return s


PUBLISHED = {"values": [
    {"key": "table2.cr.ID", "printed": 13, "where": "Table 2, CR, ID"},
    {"key": "table2.cr.ID", "printed": "32.50", "where": "text, CR %"},
    {"key": "table2.cr.p", "printed": 0.032, "where": "Table 2, CR, P"},
    {"key": "table4.neuropathy.p", "printed": 0.032, "where": "Table 4, neuropathy, P", "reproducible": False,
     "note": "Table 2's CR P value; 12/40 vs 8/40 gives 0.302"},
    {"key": "table4.neuropathy.stat", "printed": 4.588, "where": "Table 4, neuropathy, chi2"},
    {"key": "table1.age.ID", "field": "mean", "printed": 63.9, "where": "Table 1, age, ID mean"},
    {"key": "table1.age.ID", "field": "sd", "printed": 11.4, "where": "Table 1, age, ID SD"},
    {"key": "table3.nrs.paired.ID", "printed": "<0.001", "where": "Table 3"},
    {"key": "pfs.logrank.p", "printed": 0.123, "where": "text"},
    {"key": "abstract.claim", "printed": "P>0.05", "where": "abstract"},
]}


def test_audit_statuses():
    rows = audit(store(), PUBLISHED)
    assert [(r.status, r.computed) for r in rows] == [
        ("match", "13"),
        ("match", "32.50"),
        ("match", "0.032"),
        ("differs", "0.302"),
        ("differs", "1.067"),
        ("match", "63.9"),
        ("match", "11.4"),
        ("match", "<0.001"),
        ("not computed", None),
        ("not a number", None),
    ]
    # the known neuropathy error is explained; the chi-square mismatch is not
    assert [r.key for r in rows if r.surprising] == ["table4.neuropathy.stat", "pfs.logrank.p"]


def test_load_published_checks_entries(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text(yaml.safe_dump({"values": [{"key": "a.b", "printed": 1}]}))
    with pytest.raises(ConfigError, match=r"entry 1 \(a.b\) lacks \['where'\]"):
        load_published(path)


def test_diff_lists_changed_added_and_removed_values():
    from analysis.diff import diff_results

    old, new = store(), store()
    new.values.pop("table3.nrs.paired.ID")
    new.values["table2.cr.ID"] = new.values["table2.cr.ID"].__class__("table2.cr.ID", {"n": 14, "N": 40}, "n_pct")
    new.add("table2.orr.p", 0.33, "p")
    assert [(c.kind, c.key, c.old, c.new) for c in diff_results(old, new)] == [
        ("changed", "table2.cr.ID", "13 (32.5)", "14 (35.0)"),
        ("added", "table2.orr.p", None, "0.330"),
        ("removed", "table3.nrs.paired.ID", "<0.001", None),
    ]


def test_whole_number_percentages_with_field_pct():
    s = ResultsStore("x")
    s.add("t.orr.refractory", {"n": 1, "N": 5}, "n_pct")
    rows = audit(s, {"values": [
        {"key": "t.orr.refractory", "field": "pct", "printed": 20, "where": "text, 20%"},
        {"key": "t.orr.refractory", "printed": 20, "where": "a count of 20 is wrong"},
    ]})
    assert [(r.status, r.computed) for r in rows] == [("match", "20"), ("differs", "1")]


def test_explanations_are_computed_from_the_printed_numbers():
    """A `check:` makes the audit's explanation a computed finding (analysis.consistency), the note
    only adding context."""
    from analysis.audit import explain
    from analysis.errors import ConfigError

    neuro = {"key": "table4.pn.p", "check": {"counts": [[12, 28], [8, 32]], "stat": "4.588", "p": "0.032"},
             "note": "The printed values are Table 2's CR row."}
    assert explain(neuro) == (
        "Recomputed from the printed numbers: counts 12/28; 8/32: no test (Pearson, Yates, Fisher) gives the "
        "printed χ² 4.588, P 0.032; the counts give Pearson χ² 1.067, P 0.302; Fisher P 0.439. "
        "The printed values are Table 2's CR row.")
    age = explain({"key": "t", "check": {"means": [["63.9", "11.4", 40], ["63.3", "10.9", 40]], "t": "0.860"}})
    assert "t = 0.860 cannot follow from 63.9±11.4 (n=40) vs 63.3±10.9 (n=40)" in age
    assert "3/6 is 50.00%, not the printed 50.05%" in explain({"key": "x", "check": {"n": 3, "of": 6, "pct": "50.05"}})
    assert explain({"key": "x", "note": "typed"}) == "typed"
    with pytest.raises(ConfigError, match="entry 'x': bad `check`"):
        explain({"key": "x", "check": {"median": "3"}})


def test_add_audit_separates_differs_unchecked_and_findings():
    """Differences, unchecked numbers and non-numeric findings go to three tables; every row names its item."""
    from analysis.audit import add_audit

    s = store()
    published = {**PUBLISHED, "contradictions": [
        {"where": "Methods vs Table 1", "claim": "aged 18-65", "note": "the SDs need older patients"}]}
    add_audit(s, published)
    assert (s["audit.printed"].raw, s["audit.checked"].raw, s["audit.matched"].raw) == (9, 8, 6)
    assert (s["audit.differs"].raw, s["audit.not_checked"].raw, s["audit.findings"].raw) == (2, 1, 2)
    differs = s.tables["tbl-audit-differs"]
    assert [r["label"] for r in differs["rows"]] == ["table4.neuropathy.p; Table 4, neuropathy, P",
                                                     "table4.neuropathy.stat; Table 4, neuropathy, chi2"]
    unchecked = s.tables["tbl-audit-unchecked"]
    assert [r["label"] for r in unchecked["rows"]] == ["pfs.logrank.p; text"]
    findings = s.tables["tbl-audit-findings"]
    assert [r["label"] for r in findings["rows"]] == ["Methods vs Table 1", "abstract (abstract.claim)"]
