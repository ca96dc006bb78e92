"""A synthetic ixazomib_ndmm study of any size, for the scale benchmark.

Every patient is drawn afresh (not a copy of the 80 reconstructed ones: copies would hide
code that is quadratic in the number of distinct values): continuous survival times from
exponential distributions with administrative censoring at the end of follow-up, ages,
categories and scores drawn per patient, and exactly ten adverse-event rows per patient
(ten different terms of the twelve, each with its own grade), so 100,000 patients come with
1,000,000 adverse-event rows.

    .venv/bin/python benchmarks/scale_study.py /tmp/scale --patients 100000

writes a project folder (``data/ixazomib_ndmm/`` + ``templates/``) that
``python -m analysis --root /tmp/scale analyse ixazomib_ndmm`` builds with the study's own
analysis script and data dictionary (only the patient-identifier pattern is widened).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STUDY = "ixazomib_ndmm"
AE_PER_PATIENT = 10
DAYS_PER_MONTH = 30.4375
ENROL_START, ENROL_END, FOLLOW_UP_END = dt.date(2014, 1, 1), dt.date(2015, 12, 31), dt.date(2019, 12, 31)
TERMS = {  # term -> category, as in the study's data dictionary
    "anemia": "hematologic", "neutropenia": "hematologic", "thrombocytopenia": "hematologic",
    "lymphocytopenia": "hematologic", "nausea": "gastrointestinal", "vomiting": "gastrointestinal",
    "diarrhea": "gastrointestinal", "dyspepsia": "gastrointestinal", "peripheral_neuropathy": "other",
    "rash": "other", "fatigue": "other", "constipation": "other",
}
LOST_SHARE = 0.03
MEDIAN_MONTHS = {"pfs": {"ID": 30.0, "RD": 25.0}, "os": {"ID": 50.0, "RD": 46.0}}


def patients(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` patients, half per arm, every value drawn independently."""
    width = max(3, len(str(n)))
    arm = np.where(np.arange(n) % 2 == 0, "ID", "RD")
    span = (ENROL_END - ENROL_START).days
    enrol = pd.to_datetime(ENROL_START) + pd.to_timedelta(rng.integers(0, span + 1, n), unit="D")
    admin = (pd.Timestamp(FOLLOW_UP_END) - enrol).days.to_numpy() / DAYS_PER_MONTH
    times = {}
    for endpoint, medians in MEDIAN_MONTHS.items():
        scale = np.where(arm == "ID", medians["ID"], medians["RD"]) / np.log(2)
        times[endpoint] = rng.exponential(scale)
    # a few patients are lost to follow-up at a random time before the end of follow-up
    lost = rng.random(n) < LOST_SHARE
    censor = np.where(lost, admin * rng.random(n), admin)
    os_time = np.minimum(times["os"], censor)
    os_event = (times["os"] <= censor).astype(int)
    pfs_raw = np.minimum(times["pfs"], times["os"])
    pfs_time = np.minimum(pfs_raw, censor)
    pfs_event = (pfs_raw <= censor).astype(int)
    lost &= os_event == 0
    # why the allocated treatment stopped: progression or death when they happened, otherwise
    # now and then an adverse event or withdrawal, else still on treatment (empty)
    other = rng.choice(["adverse_event", "withdrew_consent", ""], n, p=[0.08, 0.02, 0.90])
    stopped = np.where(pfs_event == 1, np.where(os_event == 1, rng.choice(["progression", "death"], n), "progression"),
                       other)
    nrs_before = np.clip(rng.normal(7.5, 2.0, n), 0, 10)
    kps_before = np.clip(rng.normal(69, 11, n), 30, 100)
    frame = pd.DataFrame({
        "patient_id": [f"P{i:0{width}d}" for i in range(1, n + 1)],
        "arm": arm,
        "enrolment_date": enrol.strftime("%Y-%m-%d"),
        "sex": rng.choice(["male", "female"], n, p=[0.56, 0.44]),
        "age": np.clip(np.rint(rng.normal(63.6, 11.1, n)), 18, 90).astype(int),
        "immunofixation": rng.choice(["IgG", "IgA", "light_chain"], n, p=[0.39, 0.34, 0.27]),
        "riss_stage": rng.choice(["I", "II", "III"], n, p=[0.49, 0.34, 0.17]),
        "cytogenetic_risk": rng.choice(["standard", "high"], n, p=[0.65, 0.35]),
        "best_response": rng.choice(["CR", "VGPR", "PR", "MR", "SD", "PD"], n,
                                    p=[0.22, 0.28, 0.36, 0.12, 0.015, 0.005]),
        "pfs_months": np.round(pfs_time, 4),
        "pfs_event": pfs_event,
        "os_months": np.round(os_time, 4),
        "os_event": os_event,
        "nrs_before": np.round(nrs_before, 1),
        "nrs_after": np.round(np.clip(nrs_before - rng.normal(2.8, 1.5, n), 0, 10), 1),
        "kps_before": np.round(kps_before, 1),
        "kps_after": np.round(np.clip(kps_before + rng.normal(15, 12, n), 30, 100), 1),
        "received_allocated": (rng.random(n) < 0.98).astype(int),
        "discontinued_reason": stopped,
        "lost_to_follow_up": lost.astype(int),
    })
    # rounding may lift a censored PFS time above the OS time by 0.0001: keep PFS <= OS
    frame["pfs_months"] = np.minimum(frame["pfs_months"], frame["os_months"])
    return frame


def adverse_events(ids: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """Ten different terms per patient, each with a worst grade (mostly 1-2)."""
    n = len(ids)
    terms = np.array(list(TERMS))
    picks = np.argsort(rng.random((n, len(terms))), axis=1)[:, :AE_PER_PATIENT]
    term = terms[picks.ravel()]
    return pd.DataFrame({
        "patient_id": np.repeat(ids.to_numpy(), AE_PER_PATIENT),
        "term": term,
        "category": pd.Series(term).map(TERMS).to_numpy(),
        "grade": rng.choice([1, 2, 3, 4], n * AE_PER_PATIENT, p=[0.55, 0.35, 0.08, 0.02]),
    })


def write_study(out: Path, n_patients: int, seed: int = 2021) -> Path:
    """Write a project folder with ``n_patients`` synthetic patients; return it."""
    rng = np.random.default_rng(seed)
    data = out / "data" / STUDY
    if out.exists():
        shutil.rmtree(out)
    data.mkdir(parents=True)
    shutil.copytree(ROOT / "templates", out / "templates")
    src = ROOT / "data" / STUDY
    for name in sorted(p.name for p in src.iterdir() if p.suffix in (".yaml", ".yml")):
        text = (src / name).read_text(encoding="utf-8")
        if name == "study.yaml":
            text = text.replace('pattern: "^P[0-9]{3}$"', 'pattern: "^P[0-9]+$"')
        (data / name).write_text(text, encoding="utf-8")
    pts = patients(n_patients, rng)
    real = pd.read_csv(src / "patients.csv", dtype=str, keep_default_na=False)
    for column in real.columns.difference(pts.columns):
        # a column the study gained after this generator was written: bootstrap its values
        pts[column] = rng.choice(real[column].to_numpy(), n_patients)
    pts = pts[[c for c in real.columns if c in pts.columns]]
    pts.to_csv(data / "patients.csv", index=False, lineterminator="\n")
    adverse_events(pts["patient_id"], rng).to_csv(data / "adverse_events.csv", index=False, lineterminator="\n")
    for extra in sorted(src.glob("*.csv")):
        if extra.name not in ("patients.csv", "adverse_events.csv"):  # study-level files (e.g. screening)
            shutil.copy2(extra, data / extra.name)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="project folder to (re)create")
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)
    write_study(args.out, args.patients, args.seed)
    rows = sum(1 for _ in (args.out / "data" / STUDY / "adverse_events.csv").open()) - 1
    print(f"{args.out}: {args.patients} patients, {rows} adverse-event rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
