"""tbl_survival with `strata`: the stratified log-rank test and stratified Cox hazard ratio, against R.

R (tests/reference/models.R, models.json): survdiff(Surv(time, status) ~ trt + strata(celltype), veteran);
coxph(Surv(time, status) ~ factor(trt) + strata(celltype), veteran).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.results import ResultsStore
from analysis.stats.survival import cox_ph
from analysis.study import Arm
from analysis.tables.survival import tbl_survival

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "models.json").read_text())
ARMS = [Arm("2", "Test chemotherapy", "test"), Arm("1", "Standard chemotherapy", "standard")]


def test_stratified_logrank_and_cox_match_r() -> None:
    frame = pd.read_csv(REF / "veteran.csv")
    frame["trt"] = frame["trt"].astype(str)  # arm codes are text, as a data dictionary declares them
    store = ResultsStore("vet")
    summary = tbl_survival(frame, time="time", event="status", arm_column="trt", arms=ARMS, store=store, prefix="os",
                           table_id="tbl-os", caption="Survival", reference="1", time_unit="days",
                           strata=["celltype"])
    sd, cx = R["survdiff"]["veteran_trt_by_celltype"], R["cox"]["veteran_trt_by_celltype"]
    assert store["os.logrank.chisq"].raw == pytest.approx(sd["chisq"], rel=1e-10)
    assert store["os.logrank.p"].raw == pytest.approx(sd["p"], rel=1e-9)
    hr = store["os.hr.2"].raw
    assert [hr["estimate"], hr["lower"], hr["upper"]] == pytest.approx([cx["hr"], cx["lower"], cx["upper"]], rel=1e-10)
    assert store["os.hr_p.2"].raw == pytest.approx(cx["p"], rel=1e-9)
    assert summary.cox is not None and summary.cox.score_chisq == pytest.approx(cx["score"]["statistic"], rel=1e-10)
    assert "stratified by celltype" in store["os.logrank.p"].source.test
    assert "Log-rank test and hazard ratios stratified by celltype." in summary.table.notes


def test_unstratified_default_is_unchanged() -> None:
    frame = pd.read_csv(REF / "veteran.csv")
    plain = cox_ph(frame["time"], frame["status"], frame["trt"], reference=1)
    strat = cox_ph(frame["time"], frame["status"], frame["trt"], reference=1, strata=frame["celltype"])
    assert plain.coef != pytest.approx(strat.coef, rel=1e-3)
    frame["trt"] = frame["trt"].astype(str)
    with pytest.raises(StatisticsError, match=r"`strata`: column\(s\) \['site'\] not in the data"):
        tbl_survival(frame, time="time", event="status", arm_column="trt", arms=ARMS, store=ResultsStore("v"),
                     prefix="os", table_id="tbl-os", caption="S", strata=["site"])
