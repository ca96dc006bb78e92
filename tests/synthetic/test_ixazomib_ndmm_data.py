"""The synthetic ixazomib NDMM records reproduce what the seed paper printed.

Every value of ``data/ixazomib_ndmm/published.yaml`` marked reproducible is recomputed from the
CSVs with the project's own statistics and compared at the printed decimals (log-rank P within
0.01); values marked not reproducible must carry a note and must really differ. The records must
also be internally consistent and regenerate byte for byte.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.formatting import fmt_number, fmt_p
from analysis.stats.contingency import fisher_exact, pearson_chisq
from analysis.stats.survival import kaplan_meier, logrank, median_follow_up, median_survival
from analysis.stats.ttest import paired_t, student_t
from analysis.study import load_study
from analysis.synthetic import ixazomib_ndmm

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "ixazomib_ndmm"
ARMS = ("ID", "RD")
LOGRANK_KEYS = {"text.pfs.logrank.p", "text.os.logrank.p"}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    study = load_study(ROOT, "ixazomib_ndmm")  # validates both files against study.yaml
    return study.frames["patients"], study.frames["adverse_events"]


@pytest.fixture(scope="module")
def published() -> list[dict[str, Any]]:
    return yaml.safe_load((DATA / "published.yaml").read_text(encoding="utf-8"))["values"]


def _two_by_two(yes: dict[str, int]) -> list[list[int]]:
    return [[yes[a], 40 - yes[a]] for a in ARMS]


def _computed(patients: pd.DataFrame, aes: pd.DataFrame) -> dict[str, float]:
    """Every published key that data can give, recomputed from the CSVs."""
    out: dict[str, float] = {}
    by = {a: patients[patients["arm"] == a] for a in ARMS}
    for a in ARMS:
        out[f"table1.n.{a}"] = out[f"table2.n.{a}"] = len(by[a])
    for key, col, levels in (("sex", "sex", ["male", "female"]),
                             ("immunofixation", "immunofixation", ["IgG", "IgA", "light_chain"]),
                             ("riss", "riss_stage", ["I", "II", "III"]),
                             ("cytogenetic", "cytogenetic_risk", ["standard", "high"])):
        table = [[int((by[a][col] == lvl).sum()) for lvl in levels] for a in ARMS]
        for i, a in enumerate(ARMS):
            for j, lvl in enumerate(levels):
                out[f"table1.{key}.{lvl}.{a}"] = table[i][j]
        test = pearson_chisq(table)
        out[f"table1.{key}.chi2"], out[f"table1.{key}.p"] = test.statistic, test.p
    for a in ARMS:
        out[f"table1.age.mean.{a}"] = by[a]["age"].astype(float).mean()
        out[f"table1.age.sd.{a}"] = by[a]["age"].astype(float).std(ddof=1)
    ages = [by[a]["age"].astype(float).to_numpy() for a in ARMS]
    t = student_t(*ages)
    out["table1.age.t"], out["table1.age.p"] = abs(t.statistic), t.p

    for a in ARMS:
        for lvl in ("CR", "VGPR", "PR", "MR", "SD", "PD"):
            out[f"table2.{lvl.lower()}.{a}"] = int((by[a]["best_response"] == lvl).sum())
        orr = int(by[a]["best_response"].isin(["CR", "VGPR", "PR"]).sum())
        out[f"table2.orr.pct.{a}"] = out[f"text.orr.pct.{a}"] = 100 * orr / len(by[a])
        out[f"discussion.orr.pct.{a}"] = out[f"table2.orr.pct.{a}"]
        out[f"text.cr.n.{a}"] = out[f"table2.cr.{a}"]
    for what, levels in (("cr", ["CR"]), ("orr", ["CR", "VGPR", "PR"])):
        test = pearson_chisq(_two_by_two({a: int(by[a]["best_response"].isin(levels).sum()) for a in ARMS}))
        out[f"table2.{what}.chi2"] = out[f"text.{what}.chi2"] = test.statistic
        out[f"table2.{what}.p"] = out[f"text.{what}.p"] = test.p

    for m in ("nrs", "kps"):
        for a in ARMS:
            for tp, col in (("pre", f"{m}_before"), ("post", f"{m}_after")):
                out[f"table3.{m}.{tp}.mean.{a}"] = by[a][col].mean()
                out[f"table3.{m}.{tp}.sd.{a}"] = by[a][col].std(ddof=1)
            pt = paired_t(by[a][f"{m}_before"].to_numpy(), by[a][f"{m}_after"].to_numpy())
            out[f"table3.{m}.paired_t.{a}"], out[f"table3.{m}.paired_p.{a}"] = abs(pt.statistic), pt.p
        for tp, col in (("pre", f"{m}_before"), ("post", f"{m}_after")):
            st = student_t(by["ID"][col].to_numpy(), by["RD"][col].to_numpy())
            out[f"table3.{m}.{tp}.t"], out[f"table3.{m}.{tp}.p"] = abs(st.statistic), st.p

    for term in ixazomib_ndmm.AE_TERMS:
        rows = aes[aes["term"] == term]
        totals = {}
        for a in ARMS:
            grades = rows[rows["patient_id"].isin(by[a]["patient_id"])]["grade"].astype(int)
            out[f"table4.{term}.grade_1_2.{a}"] = int(grades.between(1, 2).sum())
            out[f"table4.{term}.grade_3_4.{a}"] = int(grades.between(3, 4).sum())
            totals[a] = out[f"table4.{term}.total.{a}"] = len(grades)
            out[f"table4.{term}.pct.{a}"] = out[f"text.{term}.pct.{a}"] = 100 * len(grades) / len(by[a])
        test = pearson_chisq(_two_by_two(totals))
        out[f"table4.{term}.chi2"] = test.statistic
        out[f"table4.{term}.p"] = out[f"text.{term}.p"] = test.p
    out["table4.vomiting.p"] = fisher_exact(_two_by_two(
        {a: int(out[f"table4.vomiting.total.{a}"]) for a in ARMS}))
    out["abstract.peripheral_neuropathy.pct.ID"] = out["table4.peripheral_neuropathy.pct.ID"]

    for ep in ("pfs", "os"):
        for a in ARMS:
            fit = kaplan_meier(by[a][f"{ep}_months"].to_numpy(), by[a][f"{ep}_event"].astype(int).to_numpy())
            out[f"text.{ep}.median.{a}"] = out[f"discussion.{ep}.median.{a}"] = median_survival(fit).median
        out[f"text.{ep}.logrank.p"] = logrank(
            patients[f"{ep}_months"].to_numpy(), patients[f"{ep}_event"].astype(int).to_numpy(),
            patients["arm"].to_numpy()).p
    out["text.follow_up.median_years"] = median_follow_up(
        patients["os_months"].to_numpy(), patients["os_event"].astype(int).to_numpy()).median / 12
    return out


def _matches(value: dict[str, Any], computed: float) -> bool:
    printed, digits = value["printed"], value["digits"]
    if value["key"] in LOGRANK_KEYS:
        return abs(computed - printed) <= 0.01
    if printed == "<0.001":
        return fmt_p(computed, 3) == "<0.001"
    if value["kind"] == "count":
        return computed == printed
    return fmt_number(computed, digits) == fmt_number(printed, digits)


@pytest.fixture(scope="module")
def computed(frames: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, float]:
    return _computed(*frames)


def test_published_file_is_complete(published: list[dict[str, Any]]) -> None:
    keys = [v["key"] for v in published]
    assert len(keys) == len(set(keys))
    assert len(keys) >= 200
    for v in published:
        assert {"key", "printed", "digits", "where", "reproducible"} <= set(v), v
        if not v["reproducible"]:
            assert v.get("note"), f"{v['key']} is marked not reproducible without a note"


def test_every_reproducible_value_matches(published: list[dict[str, Any]], computed: dict[str, float]) -> None:
    checked, wrong = 0, []
    for v in published:
        if not v["reproducible"]:
            continue
        assert v["key"] in computed, f"no computation for {v['key']}"
        checked += 1
        if not _matches(v, computed[v["key"]]):
            wrong.append((v["key"], v["printed"], computed[v["key"]]))
    assert wrong == []
    assert checked >= 200


def test_unreproducible_values_really_differ(published: list[dict[str, Any]], computed: dict[str, float]) -> None:
    """The audit must be able to show each of these: the data give something else."""
    for v in published:
        if not v["reproducible"] and v["key"] in computed:
            assert not _matches(v, computed[v["key"]]), v["key"]


def test_known_discrepancies(computed: dict[str, float]) -> None:
    """The counts' own statistics where the paper printed something else."""
    assert fmt_number(computed["table4.peripheral_neuropathy.chi2"], 3) == "1.067"
    assert fmt_p(computed["table4.peripheral_neuropathy.p"]) == "0.302"
    assert fmt_p(computed["table4.fatigue.p"]) == "0.633"
    assert fmt_number(computed["table1.immunofixation.chi2"], 3) == "0.251"
    assert fmt_number(computed["table3.nrs.post.t"], 3) in {"1.056", "1.057"}


def test_exact_survival_medians(computed: dict[str, float]) -> None:
    assert [computed[f"text.{ep}.median.{a}"] for ep in ("pfs", "os") for a in ARMS] == [
        30.03, 25.04, 50.21, 46.33]


def test_records_are_consistent(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    patients, aes = frames
    assert (patients["pfs_months"] <= patients["os_months"]).all()
    assert (patients.loc[patients["os_event"] == 1, "pfs_event"] == 1).all()
    censored_pfs_only = (patients["pfs_event"] == 0) & (patients["os_event"] == 0)
    assert (patients.loc[censored_pfs_only, "pfs_months"] == patients.loc[censored_pfs_only, "os_months"]).all()
    end = dt.date(2019, 12, 31)
    enrol = pd.to_datetime(patients["enrolment_date"]).dt.date
    assert enrol.min() >= dt.date(2014, 1, 1) and enrol.max() <= dt.date(2015, 12, 31)
    potential = np.array([(end - d).days / 30.4375 for d in enrol])
    assert (patients["os_months"].to_numpy() <= potential + 0.005).all()
    admin = np.isclose(patients["os_months"].to_numpy(), np.round(potential, 2))
    assert admin.sum() >= 20  # most survivors are censored at the end of follow-up
    assert (patients.loc[admin, "os_event"] == 0).all()
    assert ((patients["age"] > 65).sum()) > 0  # the documented break of the 18-65 window
    assert set(aes["grade"].astype(int)) <= {1, 2, 3, 4, 5}
    assert not aes.duplicated(["patient_id", "term"]).any()
    categories = {t: c[0] for t, c in ixazomib_ndmm.AE_TERMS.items()}
    assert (aes["term"].map(categories) == aes["category"]).all()


def test_study_yaml_statement_and_protocol() -> None:
    config = yaml.safe_load((DATA / "study.yaml").read_text(encoding="utf-8"))
    assert "synthetic" in config["synthetic"]["statement"]
    assert config["synthetic"]["seed"] == ixazomib_ndmm.SEED
    assert config["synthetic"]["generator"] == "analysis/synthetic/ixazomib_ndmm.py"
    assert [a["code"] for a in config["arms"]] == list(ARMS)
    assert config["protocol"]["eligibility"]["age_max"] == 65


def test_regeneration_gives_identical_bytes(tmp_path: Path) -> None:
    ixazomib_ndmm.write(tmp_path)
    for name in ("patients.csv", "adverse_events.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
