"""CONSORT flow counts from patient records, the diagram's numbers, and the ixazomib flow columns."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.consort import add_consort, count_flow
from analysis.context import StudyContext
from analysis.errors import ConfigError
from analysis.study import Arm, load_study
from tests.conftest import REPO

ARMS = [Arm("A", "Drug A"), Arm("B", "Drug B")]


def patients() -> pd.DataFrame:
    return pd.DataFrame({
        "arm": ["A", "A", "A", "B", "B"],
        "received": [1, 1, 0, 1, 1],
        "stopped": ["progression", None, "adverse_event", "", "progression"],
        "lost": [0, 1, 0, 0, 0],
        "analysed": [1, 1, 0, 1, 1],
    })


def test_flow_counts_per_arm():
    screening = pd.DataFrame({"reason": ["renal", "renal", "declined"],
                              "reason_group": ["not_eligible", "not_eligible", "declined"]})
    flow = count_flow(patients(), "arm", ARMS, received="received", discontinued="stopped", lost="lost",
                      analysed="analysed", screening=screening)
    assert (flow.assessed, flow.excluded, flow.randomised) == (8, 3, 5)
    assert flow.excluded_groups == {"not_eligible": 2, "declined": 1}
    a, b = flow.arms
    assert (a.allocated, a.received, a.not_received, a.lost, a.analysed, a.excluded_from_analysis) == (3, 2, 1, 1, 2, 1)
    assert a.discontinued == {"progression": 1, "adverse_event": 1}
    assert (b.allocated, b.received, b.lost, b.analysed) == (2, 2, 0, 2)
    assert b.discontinued == {"progression": 1}  # an empty reason is "still on treatment"


def test_without_optional_columns_everyone_is_treated_and_analysed():
    flow = count_flow(patients(), "arm", ARMS)
    assert [(f.received, f.lost, f.analysed, f.discontinued) for f in flow.arms] == [(3, 0, 3, {}), (2, 0, 2, {})]
    assert not flow.screened and flow.assessed == 5


def test_unknown_group_is_refused():
    with pytest.raises(ConfigError, match=r"column `arm` holds group\(s\) \['C'\]"):
        count_flow(pd.DataFrame({"arm": ["A", "C"]}), "arm", ARMS)


@pytest.fixture(scope="module")
def ixazomib():
    study = load_study(REPO, "ixazomib_ndmm")
    ctx = StudyContext(study, data="patients", by="arm")
    flow = add_consort(ctx, received="received_allocated", discontinued="discontinued_reason",
                       lost="lost_to_follow_up", screening="screening")
    return study, ctx.store, flow


def test_ixazomib_flow_from_the_records(ixazomib):
    study, store, _ = ixazomib
    frame = study.frames["patients"]
    assert store["consort.randomised"].raw == 80
    assert store["consort.allocated.ID"].raw == store["consort.analysed.ID"].raw == 40
    assert store["consort.assessed"].raw == 80 + len(study.frames["screening"])
    # every progression or death recorded as the reason treatment stopped is a PFS event
    stopped = frame["discontinued_reason"].isin(["progression", "death"])
    assert (stopped == (frame["pfs_event"] == 1)).all()
    # lost to follow-up: censored for OS before the end of follow-up
    assert (frame.loc[frame["lost_to_follow_up"] == 1, "os_event"] == 0).all()
    for arm in ("ID", "RD"):
        rows = frame[frame["arm"] == arm]
        assert store[f"consort.lost.{arm}"].raw == int(rows["lost_to_follow_up"].sum())
        total = sum(store[k].raw for k in store if k.startswith("consort.discontinued_reason.") and k.endswith(arm))
        assert total == store[f"consort.discontinued.{arm}"].raw == int(rows["discontinued_reason"].notna().sum())


def test_diagram_prints_the_store_values(ixazomib):
    _, store, _ = ixazomib
    fig = store.figures["fig-consort"].drawn()
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    assert f"Assessed for eligibility (n = {store['consort.assessed'].raw})" in texts
    assert f"Randomised (n = {store['consort.randomised'].raw})" in texts
    assert f"Lost to follow-up (n = {store['consort.lost.RD'].raw})" in texts
    assert "Not meeting inclusion criteria (n = 11)" in texts
    assert len(fig.axes[0].patches) + len(fig.axes[0].texts) > 10
