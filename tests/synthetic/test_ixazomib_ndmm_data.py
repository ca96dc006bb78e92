"""The synthetic ixazomib NDMM records reproduce what the seed paper printed.

Every entry of ``data/ixazomib_ndmm/published.yaml`` is keyed by the value the analysis gives it in
``build/ixazomib_ndmm/results.json``. Each one marked reproducible is recomputed here from the CSVs
with the project's own statistics under that key and compared at the printed precision, the way the
audit compares (``analysis/audit.py``); values marked not reproducible must carry a note and must
really differ. ``test_audit_of_the_analysis`` runs the analysis itself and audits it against the
same file. The records must also be internally consistent and regenerate byte for byte.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.audit import audit, load_published
from analysis.formatting import fmt_number, fmt_p
from analysis.pipeline import run_analysis
from analysis.stats.contingency import fisher_exact, pearson_chisq
from analysis.stats.survival import kaplan_meier, logrank, median_follow_up, median_survival
from analysis.stats.ttest import paired_t, student_t
from analysis.study import load_study
from analysis.synthetic import ixazomib_ndmm
from tests.synthetic.published_keys import lookup

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "ixazomib_ndmm"
ARMS = ("ID", "RD")
FISHER_TERMS = ("nausea", "vomiting")  # an expected count below 5: Fisher's exact test
NUMBER = re.compile(r"[<>]?\s*-?\d+(\.\d+)?")


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    study = load_study(ROOT, "ixazomib_ndmm")  # validates both files against study.yaml
    return study.frames["patients"], study.frames["adverse_events"]


@pytest.fixture(scope="module")
def published() -> list[dict[str, Any]]:
    return yaml.safe_load((DATA / "published.yaml").read_text(encoding="utf-8"))["values"]


# ---------------------------------------------------------------- computations behind the keys
# Keys are those of build/ixazomib_ndmm/results.json. A count with a percentage is stored as "<key>#n"
# and "<key>#pct", a mean (SD) as "<key>#mean" and "<key>#sd"; ``lookup`` picks one the way the audit does.
def _two_by_two(yes: dict[str, int]) -> list[list[int]]:
    return [[yes[a], 40 - yes[a]] for a in ARMS]


def _n_pct(out: dict[str, float], key: str, n: int, total: int) -> None:
    out[f"{key}#n"] = n
    out[f"{key}#pct"] = 100 * n / total


def _mean_sd(out: dict[str, float], key: str, values: pd.Series) -> None:
    out[f"{key}#mean"] = float(values.astype(float).mean())
    out[f"{key}#sd"] = float(values.astype(float).std(ddof=1))


def _follow_up_quartiles(patients: pd.DataFrame) -> tuple[float, float]:
    """First and third quartiles of follow-up (months) by the reverse Kaplan-Meier method."""
    fit = kaplan_meier(patients["os_months"].to_numpy(), 1 - patients["os_event"].astype(int).to_numpy())
    q1 = next(t for t, s in zip(fit.time, fit.survival, strict=True) if s <= 0.75)
    q3 = next(t for t, s in zip(fit.time, fit.survival, strict=True) if s <= 0.25)
    return q1, q3


def _computed(patients: pd.DataFrame, aes: pd.DataFrame) -> dict[str, float]:
    """Every value a published key names, recomputed from the CSVs."""
    out: dict[str, float] = {"n.total": len(patients)}
    by = {a: patients[patients["arm"] == a] for a in ARMS}
    for a in ARMS:
        out[f"n.{a}"] = out[f"table1.n.{a}"] = out[f"table2.n.{a}"] = len(by[a])
    for var, levels in (("sex", ["male", "female"]), ("immunofixation", ["IgG", "IgA", "light_chain"]),
                        ("riss_stage", ["I", "II", "III"]), ("cytogenetic_risk", ["standard", "high"])):
        table = [[int((by[a][var] == lvl).sum()) for lvl in levels] for a in ARMS]
        for i, a in enumerate(ARMS):
            for j, lvl in enumerate(levels):
                _n_pct(out, f"table1.{var}_{lvl.lower()}.{a}", table[i][j], len(by[a]))
        test = pearson_chisq(table)
        out[f"table1.{var}.stat"], out[f"table1.{var}.p"] = test.statistic, test.p
    for a in ARMS:
        _mean_sd(out, f"table1.age.{a}", by[a]["age"])
    t = student_t(*(by[a]["age"].astype(float).to_numpy() for a in ARMS))
    out["table1.age.stat"], out["table1.age.p"] = t.statistic, t.p

    for a in ARMS:
        for lvl in ("CR", "VGPR", "PR", "MR", "SD", "PD"):
            _n_pct(out, f"table2.{lvl.lower()}.{a}", int((by[a]["best_response"] == lvl).sum()), len(by[a]))
        _n_pct(out, f"table2.orr.{a}", int(by[a]["best_response"].isin(["CR", "VGPR", "PR"]).sum()), len(by[a]))
    for what in ("cr", "orr"):
        test = pearson_chisq(_two_by_two({a: int(out[f"table2.{what}.{a}#n"]) for a in ARMS}))
        out[f"table2.{what}.stat"], out[f"table2.{what}.p"] = test.statistic, test.p

    for m in ("nrs", "kps"):
        for when in ("before", "after"):
            col = f"{m}_{when}"
            for a in ARMS:
                _mean_sd(out, f"table3.{col}.{a}", by[a][col])
            st = student_t(by["ID"][col].to_numpy(), by["RD"][col].to_numpy())  # ID minus RD, signed
            out[f"table3.{col}.stat"], out[f"table3.{col}.p"] = st.statistic, st.p
        for a in ARMS:
            pt = paired_t(by[a][f"{m}_before"].to_numpy(), by[a][f"{m}_after"].to_numpy())  # after minus before
            out[f"table3.{m}_change_{a.lower()}.stat"] = pt.statistic
            out[f"table3.{m}_change_{a.lower()}.p"] = pt.p

    for term in ixazomib_ndmm.AE_TERMS:
        rows = aes[aes["term"] == term]
        totals = {}
        for a in ARMS:
            grades = rows[rows["patient_id"].isin(by[a]["patient_id"])]["grade"].astype(int)
            out[f"table4.{term}_g1_2.{a}"] = int(grades.between(1, 2).sum())
            out[f"table4.{term}_g3_4.{a}"] = int(grades.between(3, 4).sum())
            totals[a] = len(grades)
            _n_pct(out, f"table4.{term}.{a}", len(grades), len(by[a]))
        test = pearson_chisq(_two_by_two(totals))
        if term in FISHER_TERMS:
            out[f"table4.{term}.pearson_stat"] = test.statistic
            out[f"table4.{term}.p"] = fisher_exact(_two_by_two(totals))
        else:
            out[f"table4.{term}.stat"], out[f"table4.{term}.p"] = test.statistic, test.p

    for ep in ("pfs", "os"):
        for a in ARMS:
            fit = kaplan_meier(by[a][f"{ep}_months"].to_numpy(), by[a][f"{ep}_event"].astype(int).to_numpy())
            out[f"{ep}.median.{a}"] = median_survival(fit).median
        out[f"{ep}.logrank.p"] = logrank(
            patients[f"{ep}_months"].to_numpy(), patients[f"{ep}_event"].astype(int).to_numpy(),
            patients["arm"].to_numpy()).p
    out["followup.median_years"] = median_follow_up(
        patients["os_months"].to_numpy(), patients["os_event"].astype(int).to_numpy()).median / 12
    q1, q3 = _follow_up_quartiles(patients)
    out["followup.q1_years"], out["followup.q3_years"] = q1 / 12, q3 / 12
    return out



def _matches(entry: dict[str, Any], value: float) -> bool:
    """As the audit compares: at the printed decimals, "<0.001" style for bounded P values."""
    printed = str(entry["printed"]).strip()
    digits = len(printed.split(".")[1]) if "." in printed else 0
    if printed.startswith("<"):
        return fmt_p(value, digits).replace(" ", "") == printed.replace(" ", "")
    return fmt_number(float(value), digits).replace("\u2212", "-") == printed


@pytest.fixture(scope="module")
def computed(frames: tuple[pd.DataFrame, pd.DataFrame]) -> dict[str, float]:
    return _computed(*frames)


def test_published_file_is_complete(published: list[dict[str, Any]]) -> None:
    ids = [(v["key"], v.get("field"), v["where"], str(v["printed"])) for v in published]
    assert len(ids) == len(set(ids)), "duplicate entries in published.yaml"
    assert len(ids) >= 200
    for v in published:
        assert {"key", "printed", "digits", "where", "reproducible"} <= set(v), v
        assert isinstance(v["printed"], str), f"{v['key']}: quote printed so its decimals survive"
        printed = v["printed"].lstrip("<>")
        assert (len(printed.split(".")[1]) if "." in printed else 0) == v["digits"], v["key"]
        if not v["reproducible"]:
            assert v.get("note") or v.get("check"), f"{v['key']} is marked not reproducible without a note or check"
        if v.get("check"):  # a computed explanation must find the printed numbers inconsistent
            from analysis.audit import explain

            assert re.search(r"cannot follow|no test|not the printed|impossible", explain(v)), (v["key"], explain(v))


def test_every_reproducible_value_matches(published: list[dict[str, Any]], computed: dict[str, float]) -> None:
    checked, wrong = 0, []
    for v in published:
        if not v["reproducible"]:
            continue
        name = lookup(v, computed)
        assert name in computed, f"no computation for {name}"
        checked += 1
        if not _matches(v, computed[name]):
            wrong.append((name, v["printed"], computed[name]))
    assert wrong == []
    assert checked >= 200


def test_unreproducible_values_really_differ(published: list[dict[str, Any]], computed: dict[str, float]) -> None:
    """The audit must be able to show each of these: the data give something else."""
    for v in published:
        if not v["reproducible"]:
            name = lookup(v, computed)
            assert name in computed, f"{name}: every printed number has a computed counterpart"
            assert not _matches(v, computed[name]), name


def test_audit_of_the_analysis(published: list[dict[str, Any]]) -> None:
    """The analysis itself against published.yaml: every reproducible printed number matches and every
    other one is explained; every printed number has a computed counterpart."""
    store = run_analysis(load_study(ROOT, "ixazomib_ndmm"))
    rows = audit(store, load_published(DATA / "published.yaml"))
    assert len(rows) == len(published)
    assert [r.key for r in rows if r.surprising] == []
    assert [r.key for r in rows if r.status in ("not computed", "not a number")] == []
    numeric = [v for v in published if NUMBER.fullmatch(str(v["printed"]).strip())]
    assert sum(r.status == "match" for r in rows) == sum(bool(v["reproducible"]) for v in numeric)
    assert store["audit.unexplained"].raw == 0


def test_known_discrepancies(computed: dict[str, float]) -> None:
    """The counts' own statistics where the paper printed something else."""
    assert fmt_number(computed["table4.peripheral_neuropathy.stat"], 3) == "1.067"
    assert fmt_p(computed["table4.peripheral_neuropathy.p"]) == "0.302"
    assert fmt_p(computed["table4.fatigue.p"]) == "0.633"
    assert fmt_number(computed["table1.immunofixation.stat"], 3) == "0.251"
    assert fmt_number(abs(computed["table3.nrs_after.stat"]), 3) in {"1.056", "1.057"}
    assert fmt_p(computed["table4.nausea.p"]) == "0.712"  # Fisher; the printed 0.456 is Pearson's
    assert fmt_p(pearson_chisq([[5, 35], [3, 37]]).p) == "0.456"


def test_printed_absolute_t_values(computed: dict[str, float]) -> None:
    """The paper prints |t|: the paired NRS tests (after minus before) and the KPS pre-treatment
    comparison (ID minus RD) are negative in the data, with the printed magnitude."""
    for key, printed in (("table3.nrs_change_id.stat", "6.324"), ("table3.nrs_change_rd.stat", "8.248"),
                         ("table3.kps_before.stat", "1.033")):
        assert computed[key] < 0 and fmt_number(-computed[key], 3) == printed, key


def test_logrank_p_close_to_printed(computed: dict[str, float]) -> None:
    """The log-rank P values are reproduced within 0.01 (not at the printed third decimal)."""
    for ep, printed in (("pfs", 0.123), ("os", 0.242)):
        assert abs(computed[f"{ep}.logrank.p"] - printed) <= 0.01


def test_exact_survival_medians(computed: dict[str, float]) -> None:
    assert [computed[f"{ep}.median.{a}"] for ep in ("pfs", "os") for a in ARMS] == [
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
    for name in ("patients.csv", "adverse_events.csv", "screening.csv"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
