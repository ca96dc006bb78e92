"""The survival summary builder on the Freireich leukemia data, against R.

R: fit <- survfit(Surv(t, status) ~ Rx, data = leukemia); survdiff(...); coxph(..., ties = "efron")
(values in tests/reference/r_reference.json, survival.leukemia).
"""

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.results import ResultsStore
from analysis.study import Arm
from analysis.tables.render import to_markdown
from analysis.tables.survival import tbl_survival

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="module")
def built():
    r = json.loads((REF / "r_reference.json").read_text())["survival"]["leukemia"]
    frame = pd.read_csv(REF / "leukemia.csv")
    frame["arm"] = frame["Rx"].map({0: "C", 1: "T"})
    store = ResultsStore("leuk")
    summary = tbl_survival(
        frame, time="t", event="status", arm_column="arm",
        arms=[Arm("T", "6-MP", "treated"), Arm("C", "Control", "control")],
        store=store, prefix="rfs", table_id="tbl-rfs", caption="Remission duration",
        reference="C", landmarks=[("w10", 10, "10-week")], time_unit="weeks", inputs=["leukemia.csv"],
    )
    return r, store, summary


def test_values_match_r(built):
    r, store, _ = built
    # Rx = 1 is arm T here; R's reference group "0" is our control arm C
    assert store["rfs.median.T"].raw == r["groups"]["1"]["median"]
    assert store["rfs.median.C"].raw == r["groups"]["0"]["median"]
    assert store["rfs.median_ci.T"].raw == {"median": 8.0, "lower": 4.0, "upper": 12.0}
    assert store["rfs.median_ci.C"].raw["upper"] is None  # not reached, as R's NA
    assert store["rfs.events.T"].raw == r["groups"]["1"]["events"]
    assert store["rfs.logrank.chisq"].raw == pytest.approx(r["logrank_chisq"], rel=1e-6)
    assert store["rfs.logrank.p"].raw == pytest.approx(r["logrank_p"], rel=1e-6)
    hr = store["rfs.hr.T"].raw
    assert hr["estimate"] == pytest.approx(r["cox_hr"], rel=1e-6)
    assert [hr["lower"], hr["upper"]] == pytest.approx(r["cox_hr_ci"], rel=1e-6)
    assert store["rfs.hr_p.T"].raw == pytest.approx(r["cox_wald_p"], rel=1e-6)
    at10 = next(a for a in r["at_times"] if a["group"] == "1" and a["time"] == 10)
    assert store["rfs.landmark.w10.T"].raw == pytest.approx(at10["surv"], rel=1e-9)


def test_table_cells_are_the_stored_values(built):
    _, store, summary = built
    row = summary.table.rows[0]
    assert row.cells["median"].key == "rfs.median_ci.T"
    assert row.cells["hr"].text(store.style) == store.text("rfs.hr.T")
    assert summary.table.rows[1].cells["hr"].raw == "Reference"
    md = to_markdown(summary.table, store.style)
    assert "8.00 (4.00–12.00)" in md and "23.00 (16.00–NR)" in md and "{#tbl-rfs}" in md
    assert set(summary.fits) == {"T", "C"}


def test_arm_without_events_prints_nr_and_no_hazard_ratio():
    frame = pd.DataFrame({"t": [5, 8, 12, 20, 3, 9, 15, 30], "e": [1, 1, 1, 0, 0, 0, 0, 0],
                          "arm": ["A"] * 4 + ["B"] * 4})
    store = ResultsStore("x")
    summary = tbl_survival(frame, time="t", event="e", arm_column="arm", arms=[Arm("A", "A"), Arm("B", "B")],
                           store=store, prefix="os", table_id="tbl-os", caption="OS")
    assert store.text("os.median.B") == "NR" and store.text("os.median_ci.B") == "NR"
    assert store.text("os.events.B") == "0"
    assert "os.hr.A" not in store
    assert [r.cells["hr"].raw for r in summary.table.rows] == ["–", "–"]
    assert summary.table.notes[-1].startswith("Hazard ratio not estimable:")
    assert 0 < store["os.logrank.p"].raw < 1  # the log-rank test is still reported


def test_pairwise_log_rank_against_the_reference():
    """Three groups: each row's P is its two-group log-rank test against the reference (the test
    R's survdiff gives on that pair), the overall test is in a note, the headers name both."""
    from analysis.stats.survival import logrank

    frame = pd.read_csv(REF / "leukemia.csv")
    frame["arm"] = ["T" if rx else ("C1" if i % 2 else "C2") for i, rx in enumerate(frame["Rx"])]
    store = ResultsStore("leuk3")
    arms = [Arm("T", "6-MP"), Arm("C1", "Control one"), Arm("C2", "Control two")]
    summary = tbl_survival(frame, time="t", event="status", arm_column="arm", arms=arms, store=store, prefix="s",
                           table_id="tbl-s", caption="c", reference="C1", landmarks=[("w10", 10, "10-week")],
                           time_unit="weeks", stub_header="Group", landmark_noun="remission", pairwise=True)
    pair = frame[frame["arm"].isin(["T", "C1"])]
    expected = logrank(pair["t"], pair["status"], pair["arm"], levels=["T", "C1"]).p
    assert store["s.logrank_vs_ref.T"].raw == pytest.approx(expected, rel=1e-12)
    assert "s.logrank_vs_ref.C1" not in store
    headers = [c.header for c in summary.table.columns]
    assert headers[-1] == "Log-rank P vs Control one" and "10-week remission, %" in headers
    assert summary.table.stub_header == "Group"
    overall = logrank(frame["t"], frame["status"], frame["arm"], levels=["T", "C1", "C2"])
    assert store["s.logrank.p"].raw == pytest.approx(overall.p, rel=1e-12)
    assert "The log-rank test across all 3 groups (2 degrees of freedom)" in summary.table.notes[0]
