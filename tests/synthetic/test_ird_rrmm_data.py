"""The synthetic ``ird_rrmm`` data: byte-identical regeneration and every printed value it reproduces.

Each ``reproducible: true`` entry of ``data/ird_rrmm/published.yaml`` is recomputed here from the
committed CSVs with the project's statistics modules (counts exactly; percentages, medians and
statistics at the printed precision, rounding half away from zero).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.formatting import round_half_away
from analysis.stats.contingency import fisher_exact, pearson_chisq
from analysis.stats.meta import generic_from_ci, mantel_haenszel_or
from analysis.stats.survival import kaplan_meier, logrank, median_survival
from analysis.study import load_study
from analysis.synthetic import ird_rrmm

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "ird_rrmm"
FILES = ("case_series.csv", "meta_binary.csv", "meta_ratios.csv", "transplant.csv")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {name: frame for name, frame in load_study(ROOT, "ird_rrmm").frames.items()}


@pytest.fixture(scope="module")
def published() -> list[dict]:
    return yaml.safe_load((DATA / "published.yaml").read_text(encoding="utf-8"))["values"]


def test_regenerates_identical_bytes(tmp_path: Path) -> None:
    ird_rrmm.main(["--out", str(tmp_path)])
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
        assert b"\r" not in (DATA / name).read_bytes()


def test_seed_in_study_yaml_is_the_generator_seed() -> None:
    config = yaml.safe_load((DATA / "study.yaml").read_text(encoding="utf-8"))
    assert config["synthetic"]["seed"] == ird_rrmm.SEED
    assert config["statistics"]["age_cut"] == ird_rrmm.AGE_CUT


# ---------------------------------------------------------------- computations behind the keys
def _orr_set(frames: dict[str, pd.DataFrame]) -> set[str]:
    config = yaml.safe_load((DATA / "study.yaml").read_text(encoding="utf-8"))
    return set(config["statistics"]["response"]["orr_categories"])


def _case_values(cs: pd.DataFrame, orr: set[str]) -> dict[str, float]:
    """Every case-series value keyed as in published.yaml."""
    out: dict[str, float] = {"case.n": len(cs)}
    resp = cs["best_response"].isin(orr)
    groups = {"effective": cs[resp], "not_effective": cs[~resp]}
    rows = {
        "age_le58": lambda d: d["age"] <= ird_rrmm.AGE_CUT, "age_gt58": lambda d: d["age"] > ird_rrmm.AGE_CUT,
        "male": lambda d: d["sex"] == "male", "female": lambda d: d["sex"] == "female",
        "light_chain": lambda d: d["chain_type"] == "light_chain",
        "heavy_chain": lambda d: d["chain_type"] == "heavy_chain",
    }
    for g, d in groups.items():
        out[f"table3.{g}.n"] = len(d)
        out[f"table3.{g}.age.median"] = float(np.median(d["age"]))
        out[f"table3.{g}.age.min"] = float(d["age"].min())
        out[f"table3.{g}.age.max"] = float(d["age"].max())
        for r, f in rows.items():
            k = int(f(d).sum())
            out[f"table3.{g}.{r}.n"] = k
            out[f"table3.{g}.{r}.pct"] = 100 * k / len(d)
    for name, r1 in (("age", "age_le58"), ("sex", "male"), ("chain", "light_chain")):
        table = [[int(rows[r1](d).sum()), int((~rows[r1](d)).sum())] for d in groups.values()]
        out[f"table3.{name}.chi2"] = pearson_chisq(table).statistic
        out[f"table3.{name}.p"] = fisher_exact(table)
    specs = {
        "table4": ("disease_status", {"relapsed": "relapsed", "refractory": "refractory"}),
        "table5": ("thalidomide_exposed", {"exposed": 1, "unexposed": 0}),
        "table6": ("lenalidomide_exposed", {"exposed": 1, "unexposed": 0}),
        "table7": ("ixazomib_exposed", {"exposed": 1, "unexposed": 0}),
    }
    for t, (col, levels) in specs.items():
        table = []
        for g, code in levels.items():
            d = cs[cs[col] == code]
            out[f"{t}.{g}.n"] = len(d)
            for c, cats in (("pr", {"PR"}), ("mr", {"MR"}), ("orr", orr)):
                k = int(d["best_response"].isin(cats).sum())
                out[f"{t}.{g}.{c}.n"] = k
                out[f"{t}.{g}.{c}.pct"] = 100 * k / len(d)
            k = int(d["best_response"].isin(orr).sum())
            table.append([k, len(d) - k])
        out[f"{t}.orr.chi2"] = pearson_chisq(table).statistic
        out[f"{t}.orr.p"] = fisher_exact(table)
    out["text.relapsed_vs_refractory.orr.p"] = out["table4.orr.p"]
    out["text.thalidomide.exposed.orr.pct"] = out["table5.exposed.orr.pct"]
    out["text.thalidomide.unexposed.orr.pct"] = out["table5.unexposed.orr.pct"]
    out["text.thalidomide.orr.p"] = out["table5.orr.p"]
    out["text.lenalidomide.orr.p"] = out["table6.orr.p"]
    out["text.ixazomib.orr.p"] = out["table7.orr.p"]
    for col, name in (("renal_insufficiency", "renal"), ("diabetes", "diabetes")):
        table = []
        for g, code in (("yes", 1), ("no", 0)):
            d = cs[cs[col] == code]
            k = int(d["best_response"].isin(orr).sum())
            out[f"text.{name}.{g}.orr.pct"] = 100 * k / len(d)
            table.append([k, len(d) - k])
        out[f"text.{name}.orr.p"] = fisher_exact(table)
    return out


def _meta_values(mb: pd.DataFrame, mr: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    first = mb[mb["outcome"] == "orr"]
    out["text.meta.n"] = int(first["n_treat"].sum() + first["n_control"].sum())
    for o, d in mb.groupby("outcome", sort=False):
        cols = ["events_treat", "n_treat", "events_control", "n_control"]
        res = mantel_haenszel_or([tuple(int(x) for x in r) for r in d[cols].to_numpy()], list(d["study"]))
        assert res.heterogeneity.p > 0.1 and res.heterogeneity.i2_pct < 50  # the fixed model applies
        for st in res.studies:
            s = st.label.lower()
            out.update({f"table2.{o}.{s}.or": st.estimate, f"table2.{o}.{s}.lower": st.lower,
                        f"table2.{o}.{s}.upper": st.upper, f"table2.{o}.{s}.weight": st.weight_fixed_pct})
        out.update({f"table2.{o}.pooled.or": res.fixed.estimate, f"table2.{o}.pooled.lower": res.fixed.lower,
                    f"table2.{o}.pooled.upper": res.fixed.upper})
    for o, d in mr.groupby("outcome", sort=False):
        res = generic_from_ci(d["hr"], d["lower"], d["upper"], list(d["study"]))
        het = res.heterogeneity
        model = "fixed" if (het.p > 0.1 and het.i2_pct < 50) else "random"
        pooled = res.pooled(model)
        for st in res.studies:
            s = st.label.lower()
            out.update({f"table2.{o}.{s}.hr": st.estimate, f"table2.{o}.{s}.lower": st.lower,
                        f"table2.{o}.{s}.upper": st.upper})
        out.update({f"table2.{o}.pooled.hr": pooled.estimate, f"table2.{o}.pooled.lower": pooled.lower,
                    f"table2.{o}.pooled.upper": pooled.upper})
    return out


def _km_median(d: pd.DataFrame, end: str) -> float:
    m = median_survival(kaplan_meier(d[f"{end}_years"], d[f"{end}_event"])).median
    assert m is not None
    return m


def _tx_values(tx: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    for g in ("light_chain", "IgG", "IgA"):
        out[f"transplant.{g}.n"] = int((tx["chain_type"] == g).sum())
    two = tx[tx["chain_type"].isin(["light_chain", "IgG"])]
    for end in ("os", "efs"):
        for g in ("light_chain", "IgG"):
            out[f"transplant.{end}.median.{g}"] = _km_median(tx[tx["chain_type"] == g], end)
        out[f"transplant.{end}.logrank_p"] = logrank(two[f"{end}_years"], two[f"{end}_event"], two["chain_type"]).p
    return out


def _number(text: str) -> tuple[Decimal, int]:
    assert re.fullmatch(r"-?\d+(\.\d+)?", text), f"not a plain number: {text!r}"
    return Decimal(text), len(text.split(".")[1]) if "." in text else 0


def _protocol_checks(config: dict, tx: pd.DataFrame) -> dict[str, Callable[[], bool]]:
    """Reproducible entries that are not plain numbers: checked against study.yaml or the data."""
    proto = config["protocol"]
    cr = tx[(tx["achieved_cr"] == 1) & tx["chain_type"].isin(["light_chain", "IgG"])]

    def cr_similar() -> bool:
        return all(logrank(cr[f"{e}_years"], cr[f"{e}_event"], cr["chain_type"]).p > 0.3 for e in ("os", "efs"))

    return {
        "text.enrolment": lambda: (proto["enrolment"]["start"][:7], proto["enrolment"]["end"][:7])
        == ("2014-06", "2018-04"),
        "text.software": lambda: (proto["meta_analysis"]["software_version"], proto["meta_analysis"]["package"])
        == ("3.3.1", "meta"),
        "protocol.regimen.lenalidomide.dose_mg": lambda: proto["regimen"]["lenalidomide"]["dose_mg"] == 25,
        "protocol.regimen.dexamethasone.dose_mg": lambda: proto["regimen"]["dexamethasone"]["dose_mg"] == 40
        and proto["regimen"]["dexamethasone"]["days"] == [1, 8, 15, 22],
        "transplant.cr.no_difference": cr_similar,
    }


def test_every_reproducible_value(frames: dict[str, pd.DataFrame], published: list[dict]) -> None:
    config = yaml.safe_load((DATA / "study.yaml").read_text(encoding="utf-8"))
    computed = _case_values(frames["case_series"], _orr_set(frames))
    computed |= _meta_values(frames["meta_binary"], frames["meta_ratios"])
    computed |= _tx_values(frames["transplant"])
    checks = _protocol_checks(config, frames["transplant"])
    keys = [e["key"] for e in published]
    assert len(keys) == len(set(keys)), "duplicate keys in published.yaml"
    failures = []
    for entry in published:
        key, printed = entry["key"], str(entry["printed"])
        assert {"key", "printed", "where", "reproducible"} <= set(entry), key
        if key in checks:
            assert entry["reproducible"], key
            if not checks[key]():
                failures.append(f"{key}: check failed")
            continue
        if not entry["reproducible"]:
            assert entry.get("note"), f"{key}: a non-reproducible entry needs a note"
            if key in computed:  # the data must really differ from what was printed
                value, digits = _number(printed)
                assert round_half_away(computed[key], digits) != value, f"{key} matches but is marked not reproducible"
            continue
        assert key in computed, f"{key}: reproducible but not recomputed by this test"
        value, digits = _number(printed)
        got = round_half_away(float(computed[key]), digits)
        if got != value:
            failures.append(f"{key}: printed {printed}, data give {computed[key]!r}")
    assert not failures, "\n".join(failures)


def test_logrank_p_close_to_printed(frames: dict[str, pd.DataFrame]) -> None:
    tx = _tx_values(frames["transplant"])
    for end in ("os", "efs"):
        assert abs(tx[f"transplant.{end}.logrank_p"] - 0.03) <= 0.005


def test_table4_against_r(frames: dict[str, pd.DataFrame]) -> None:
    """R: chisq.test(matrix(c(12, 1, 4, 4), 2), correct = FALSE); fisher.test(...)."""
    values = _case_values(frames["case_series"], _orr_set(frames))
    assert values["table4.orr.chi2"] == pytest.approx(4.88653846153846, rel=1e-9)
    assert values["table4.orr.p"] == pytest.approx(0.0474716202270382, rel=1e-9)


def test_case_series_plausibility(frames: dict[str, pd.DataFrame]) -> None:
    cs = frames["case_series"]
    assert set(cs["best_response"]) <= {"PR", "MR", "SD", "PD"}  # no CR/VGPR: ORR = PR + MR
    assert not ((cs["ixazomib_exposed"] == 1) & (cs["lenalidomide_exposed"] == 0)).any()
    refractory = cs[cs["disease_status"] == "refractory"]
    assert ((refractory["thalidomide_exposed"] == 1) | (refractory["lenalidomide_exposed"] == 1)).all()
    assert cs["age"].between(48, 69).all()


def test_transplant_consistency(frames: dict[str, pd.DataFrame]) -> None:
    tx = frames["transplant"]
    assert (tx["efs_years"] <= tx["os_years"]).all()
    assert not ((tx["os_event"] == 1) & (tx["efs_event"] == 0)).any()  # death is an EFS event
    assert tx["os_years"].max() <= 12
    for end in ("os", "efs"):  # no flat 0.5 plateau, so every median convention agrees
        for _, d in tx.groupby("chain_type"):
            surv = np.array(kaplan_meier(d[f"{end}_years"], d[f"{end}_event"]).survival)
            assert not np.any(np.isclose(surv, 0.5, rtol=0, atol=1e-12))
