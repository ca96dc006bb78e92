"""Synthetic patient records for the ixazomib (ID) versus lenalidomide (RD) myeloma study.

The seed paper (Am J Transl Res 2021;13(5):5248-5255) printed only aggregates. This script builds
80 fictitious patients whose records reproduce those aggregates: Table 1-4 counts, age, NRS and
KPS means and SDs, the paired t statistics, the Kaplan-Meier medians of PFS and OS and (within
0.01) the log-rank P values. It is deterministic: a fixed seed and a fixed search order give the
same bytes on every run.

    python -m analysis.synthetic.ixazomib_ndmm --out data/ixazomib_ndmm

The records are not the trial's patient data.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from analysis.formatting import fmt_number
from analysis.synthetic.survival_times import (
    logrank,
    months_between,
    reverse_km_median,
    scale_to_median,
)

__all__ = ["AE_TERMS", "ARMS", "SCREEN_FAILURES", "SEED", "build", "build_screening", "main", "write"]

SEED = 5248
ARMS = ("ID", "RD")
N_PER_ARM = 40
ENROL_START = dt.date(2014, 1, 1)
ENROL_END = dt.date(2015, 12, 31)
FOLLOW_UP_END = dt.date(2019, 12, 31)

# Table 1 margins, per arm (ID, RD).
SEX = {"male": (23, 27), "female": (17, 13)}
IMMUNOFIXATION = {"IgG": (15, 16), "IgA": (13, 14), "light_chain": (12, 10)}
RISS = {"I": (18, 21), "II": (14, 13), "III": (8, 6)}
CYTOGENETIC = {"standard": (25, 27), "high": (15, 13)}
AGE = {"ID": (63.9, 11.4), "RD": (63.3, 10.9)}
# Table 2.
RESPONSE = {"CR": (13, 5), "VGPR": (12, 10), "PR": (11, 18), "MR": (4, 6), "SD": (0, 1), "PD": (0, 0)}
# Table 4: term -> (category, ID grade 1-2, ID grade 3-4, RD grade 1-2, RD grade 3-4).
AE_TERMS: dict[str, tuple[str, int, int, int, int]] = {
    "anemia": ("hematologic", 12, 1, 11, 1),
    "neutropenia": ("hematologic", 10, 0, 9, 0),
    "thrombocytopenia": ("hematologic", 11, 1, 13, 0),
    "lymphocytopenia": ("hematologic", 16, 3, 14, 2),
    "nausea": ("gastrointestinal", 5, 0, 3, 0),
    "vomiting": ("gastrointestinal", 3, 0, 3, 0),
    "diarrhea": ("gastrointestinal", 7, 1, 5, 0),
    "dyspepsia": ("gastrointestinal", 7, 0, 6, 0),
    "peripheral_neuropathy": ("other", 12, 0, 8, 0),
    "rash": ("other", 8, 0, 5, 0),
    "fatigue": ("other", 28, 0, 26, 0),
    "constipation": ("other", 7, 0, 8, 0),
}
# Table 3: (pre mean, pre SD, post mean, post SD, |paired t|) per arm; bounds and decimals of a score.
SCORES = {
    "nrs": {"ID": (7.56, 2.13, 4.55, 1.05, 6.324), "RD": (7.40, 1.96, 4.82, 1.23, 8.248)},
    "kps": {"ID": (67.51, 11.35, 86.65, 14.32, 10.525), "RD": (70.05, 10.62, 83.69, 15.10, 9.737)},
}
SCORE_BOUNDS = {"nrs": (0.0, 10.0), "kps": (30.0, 100.0)}
# Between-arm Student t (pre, post) aimed at; None = aim at the P below instead, or at nothing.
# NRS pre: t 0.350 with P 0.728 needs |t| in [0.3495, 0.3497], hence 0.3496.
# NRS post: printed t 1.060 with P 0.294; P 0.294 follows from the means and SDs (|t| about 1.056).
# KPS post: printed t 0.930 is out of reach of the printed means and SDs (about 0.900).
SCORE_BETWEEN_T = {"nrs": (0.3496, None), "kps": (1.033, None)}
SCORE_BETWEEN_P = {"nrs": (None, 0.294), "kps": (None, None)}
# What the data must then print: ((pre t, pre P), (post t, post P)); None = not checked.
SCORE_BETWEEN_PRINTED = {"nrs": ((0.350, 0.728), (None, 0.294)), "kps": ((1.033, 0.305), (None, None))}
# Survival: KM medians (months) and log-rank P.
MEDIANS = {"pfs": {"ID": 30.03, "RD": 25.04}, "os": {"ID": 50.21, "RD": 46.33}}
LOGRANK_P = {"pfs": 0.123, "os": 0.242}
P_TOLERANCE = 0.004  # tighter than the 0.01 the data promise
FOLLOW_UP_YEARS = "4.5"


# ----------------------------------------------------------------------------------------------
# Categorical variables


def _allocate(rng: np.random.Generator, counts: dict[str, tuple[int, int]], arm: int) -> list[str]:
    """Exact counts of each level for one arm, in random order."""
    values = [level for level, n in counts.items() for _ in range(n[arm])]
    if len(values) != N_PER_ARM:
        raise ValueError(f"counts {counts} do not add to {N_PER_ARM} in arm {ARMS[arm]}")
    return [values[i] for i in rng.permutation(len(values))]


# ----------------------------------------------------------------------------------------------
# Continuous variables: exact moments, then a small search at the stored precision


def _sd(x: np.ndarray) -> float:
    return float(np.std(x, ddof=1))


def _rescale(x: np.ndarray, mean: float, sd: float, lo: float, hi: float) -> np.ndarray:
    """Exact mean and SD, pushing values inside [lo, hi] by repeated clip-and-rescale."""
    y = x.astype(float)
    for _ in range(200):
        y = mean + sd * (y - y.mean()) / _sd(y)
        if y.min() >= lo and y.max() <= hi:
            break
        y = np.clip(y, lo, hi)
    return y


def _hill_climb(
    vectors: list[np.ndarray],
    loss: Callable[[list[np.ndarray]], float],
    done: Callable[[list[np.ndarray]], bool],
    steps: Sequence[float],
    bounds: tuple[float, float],
    rng: np.random.Generator,
    decimals: int,
    max_iter: int = 400_000,
    temperature: float = 20.0,
    cooling: float = 0.9998,
) -> list[np.ndarray]:
    """Simulated annealing over single-value nudges (and mean-keeping +-step pairs) within bounds,
    until ``done``. A worse state is accepted with probability exp(-increase / temperature)."""
    vecs = [v.copy() for v in vectors]
    current = loss(vecs)
    for it in range(max_iter):
        temp = temperature * cooling ** (it % 50_000)
        if done(vecs):
            return vecs
        j = int(rng.integers(len(vecs)))
        i, i2 = (int(v) for v in rng.integers(len(vecs[j]), size=2))
        step = float(steps[int(rng.integers(len(steps)))]) * (1 if rng.random() < 0.5 else -1)
        paired = rng.random() < 0.5 and i != i2  # a +step/-step pair keeps the mean
        old, old2 = vecs[j][i], vecs[j][i2]
        new, new2 = round(old + step, decimals), round(old2 - step, decimals)
        if not bounds[0] <= new <= bounds[1] or (paired and not bounds[0] <= new2 <= bounds[1]):
            continue
        vecs[j][i] = new
        if paired:
            vecs[j][i2] = new2
        trial = loss(vecs)
        if trial <= current or rng.random() < np.exp(-(trial - current) / temp):
            current = trial
        else:
            vecs[j][i], vecs[j][i2] = old, old2
    raise RuntimeError("continuous values did not converge to the printed statistics")


def _ages(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Integer ages whose mean and SD round to the printed one-decimal values.

    The printed SDs (11.4 and 10.9 around means near 64) need ages above the protocol's 65.
    """
    out = {}
    for arm, (mean, sd) in AGE.items():
        raw = 88.0 - rng.gamma(3.0, 8.0, N_PER_ARM)  # left-skewed, as ages near a ceiling are
        x = np.round(_rescale(raw, mean, sd, 30, 85))

        def loss(v: list[np.ndarray], mean: float = mean, sd: float = sd) -> float:
            return ((v[0].mean() - mean) / 0.05) ** 2 + ((_sd(v[0]) - sd) / 0.05) ** 2

        def done(v: list[np.ndarray], mean: float = mean, sd: float = sd) -> bool:
            got = (fmt_number(v[0].mean(), 1), fmt_number(_sd(v[0]), 1))
            return got == (fmt_number(mean, 1), fmt_number(sd, 1))

        out[arm] = _hill_climb([x], loss, done, (1.0,), (30, 85), rng, 0)[0].astype(int)
    return out


def _student_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """|t| and two-sided P of Student's pooled-variance t-test."""
    na, nb = len(a), len(b)
    pooled = ((na - 1) * np.var(a, ddof=1) + (nb - 1) * np.var(b, ddof=1)) / (na + nb - 2)
    t = abs(float((a.mean() - b.mean()) / np.sqrt(pooled * (1 / na + 1 / nb))))
    return t, float(2 * stats.t.sf(t, na + nb - 2))


def _paired_t(pre: np.ndarray, post: np.ndarray) -> float:
    d = post - pre
    return abs(float(d.mean() / (_sd(d) / np.sqrt(len(d)))))


def _score_pair_start(
    rng: np.random.Generator, spec: tuple[float, ...], lo: float, hi: float
) -> list[np.ndarray]:
    """Pre and post values (one decimal) with the printed moments and exact printed sums.

    The pairing correlation is the one the printed paired t implies for the printed SDs.
    """
    m1, s1, m2, s2, t = spec
    n = N_PER_ARM
    sd_diff = abs(m2 - m1) * np.sqrt(n) / t
    r = (s1**2 + s2**2 - sd_diff**2) / (2 * s1 * s2)
    z = rng.standard_normal((2, n))
    x = (z[0] - z[0].mean()) / _sd(z[0])
    e = z[1] - z[1].mean()
    e = e - x * (e @ x) / (x @ x)
    e = e / _sd(e)
    y = r * x + np.sqrt(1 - r**2) * e
    out = []
    for values, mean, sd in ((m1 + s1 * x, m1, s1), (m2 + s2 * y, m2, s2)):
        v = np.round(_rescale(values, mean, sd, lo, hi), 1)
        target_tenths = round(mean * n * 10)
        while (diff := target_tenths - round(v.sum() * 10)) != 0:  # make the sum exact
            movable = np.nonzero((v < hi) if diff > 0 else (v > lo))[0]
            i = int(movable[int(rng.integers(len(movable)))])
            v[i] = round(v[i] + 0.1 * np.sign(diff), 1)
        out.append(v)
    return out


def _sd_targets(
    arms: dict[str, tuple[float, ...]], k: int, t: float | None, p: float | None
) -> tuple[float, float]:
    """SDs (ID, RD) of time point ``k`` inside their printed rounding windows whose Student t (or
    its P) hits the printed value at the centre; the printed SDs when there is no such target."""
    s_id, s_rd = arms["ID"][1 + 2 * k], arms["RD"][1 + 2 * k]
    if t is None and p is None:
        return s_id, s_rd
    diff = abs(arms["ID"][2 * k] - arms["RD"][2 * k])
    n = N_PER_ARM
    if t is None:
        t = float(stats.t.isf(p / 2, 2 * n - 2))
    f = np.sqrt(n * (diff / t) ** 2 / (s_id**2 + s_rd**2))
    out = (float(np.clip(s_id * f, s_id - 0.004, s_id + 0.004)),
           float(np.clip(s_rd * f, s_rd - 0.004, s_rd + 0.004)))
    reached = diff / np.sqrt((out[0] ** 2 + out[1] ** 2) / n)
    if fmt_number(reached, 3) != fmt_number(t, 3):
        raise ValueError(f"between-arm t {t} is out of reach of the printed means and SDs ({reached:.4f})")
    return out


def _tune_pair(
    rng: np.random.Generator, pre: np.ndarray, post: np.ndarray, targets: tuple[float, float, float],
    lo: float, hi: float, max_iter: int = 300_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Move 0.1 from one patient to another (sums stay exact) until both SDs and the paired t sit
    within a small tolerance of ``targets`` = (pre SD, post SD, paired |t|)."""
    tol = np.array([0.0002, 0.0002, 0.0002])
    vecs = [pre.copy(), post.copy()]

    def dev(v: list[np.ndarray]) -> np.ndarray:
        return (np.array([_sd(v[0]), _sd(v[1]), _paired_t(v[0], v[1])]) - targets) / tol

    current = float(np.sum(dev(vecs) ** 2))
    for _ in range(max_iter):
        if np.all(np.abs(dev(vecs)) < 1):
            return vecs[0], vecs[1]
        j = int(rng.integers(2))
        i, i2 = (int(v) for v in rng.integers(N_PER_ARM, size=2))
        step = 0.1 * int(rng.choice((1, 2, 5, 10)))
        a, b = vecs[j][i], vecs[j][i2]
        na, nb = round(a + step, 1), round(b - step, 1)
        if i == i2 or not (lo <= na <= hi and lo <= nb <= hi):
            continue
        vecs[j][i], vecs[j][i2] = na, nb
        trial = float(np.sum(dev(vecs) ** 2))
        if trial <= current:
            current = trial
        else:
            vecs[j][i], vecs[j][i2] = a, b
    raise RuntimeError("scores did not converge to the printed SDs and paired t")


def _scores(rng: np.random.Generator) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """NRS and KPS before and after treatment, one decimal, matching Table 3."""
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for measure, arms in SCORES.items():
        lo, hi = SCORE_BOUNDS[measure]
        between = zip(SCORE_BETWEEN_T[measure], SCORE_BETWEEN_P[measure], strict=True)
        sds = [_sd_targets(arms, k, t, p) for k, (t, p) in enumerate(between)]
        out[measure] = {}
        for a, arm in enumerate(ARMS):
            pre, post = _score_pair_start(rng, arms[arm], lo, hi)
            out[measure][arm] = _tune_pair(rng, pre, post, (sds[0][a], sds[1][a], arms[arm][4]), lo, hi)
        for k, printed in enumerate(SCORE_BETWEEN_PRINTED[measure]):
            got = _student_t(out[measure]["ID"][k], out[measure]["RD"][k])
            for value, target in zip(got, printed, strict=True):
                if target is not None and fmt_number(value, 3) != fmt_number(target, 3):
                    raise RuntimeError(f"{measure} between-arm {value:.4f} does not print as {target}")
    return out


# ----------------------------------------------------------------------------------------------
# Survival


@dataclass
class Survival:
    """Observed PFS and OS (months, 2 decimals) and events, in patient order."""

    pfs: np.ndarray
    pfs_event: np.ndarray
    os: np.ndarray
    os_event: np.ndarray


def _enrolment(rng: np.random.Generator, n: int) -> list[dt.date]:
    """Enrolment dates over 2014-2015, sorted; more patients in 2015 than 2014."""
    span = (ENROL_END - ENROL_START).days
    offsets = np.sort(np.floor(span * rng.beta(1.7, 1.0, n) + 0.5).astype(int))
    return [ENROL_START + dt.timedelta(days=int(d)) for d in offsets]


def _survival(rng: np.random.Generator, arm: np.ndarray, enrol: list[dt.date]) -> Survival:
    """PFS then OS with exact KM medians per arm and log-rank P near the printed values.

    Latent first-event (progression or death) times are scaled per arm so the KM median lands on
    the printed value; OS adds a post-progression gap (zero for deaths without progression), so a
    death is always a PFS event and PFS never exceeds OS. Patients are censored at the end of
    follow-up (2019-12-31) or, for a few, when lost to follow-up.
    """
    n = len(arm)
    admin = np.array([months_between(d, FOLLOW_UP_END) for d in enrol])
    groups = {a: np.nonzero(arm == a)[0] for a in ARMS}
    for _ in range(20_000):
        lost = rng.random(n) < 0.12
        censor = np.where(lost, admin * rng.uniform(0.3, 0.95, n), admin)
        latent = np.empty(n)
        for a, scale in (("ID", 36.0), ("RD", 29.0)):
            latent[groups[a]] = scale * rng.weibull(1.4, len(groups[a]))
        pfs_latent = np.empty(n)
        ok = True
        for a in ARMS:
            idx = groups[a]
            k = scale_to_median(latent[idx], censor[idx], MEDIANS["pfs"][a])
            if k is None:
                ok = False
                break
            pfs_latent[idx] = k * latent[idx]
        if not ok:
            continue
        pfs_event = (pfs_latent <= censor).astype(int)
        pfs = np.round(np.where(pfs_event == 1, pfs_latent, censor), 2)
        if abs(logrank(pfs, pfs_event, arm)[1] - LOGRANK_P["pfs"]) > P_TOLERANCE:
            continue
        for _ in range(200):
            gap = np.where(rng.random(n) < 0.12, 0.0, 1.0) * 22.0 * rng.weibull(1.5, n)
            os_latent = np.empty(n)
            ok = True
            for a in ARMS:
                idx = groups[a]
                k = scale_to_median(gap[idx], censor[idx], MEDIANS["os"][a], offset=pfs_latent[idx])
                if k is None:
                    ok = False
                    break
                os_latent[idx] = pfs_latent[idx] + k * gap[idx]
            if not ok:
                continue
            os_event = (os_latent <= censor).astype(int)
            os = np.round(np.where(os_event == 1, os_latent, censor), 2)
            if abs(logrank(os, os_event, arm)[1] - LOGRANK_P["os"]) > P_TOLERANCE:
                continue
            if fmt_number(reverse_km_median(os, os_event) / 12, 1) != FOLLOW_UP_YEARS:
                continue
            return Survival(pfs, pfs_event, os, os_event)
    raise RuntimeError("no survival data matched the printed medians and P values")


# ----------------------------------------------------------------------------------------------
# Adverse events


def _adverse_events(
    rng: np.random.Generator, ids_by_arm: dict[str, list[str]]
) -> list[tuple[str, str, str, int]]:
    """One row per patient and term with the worst grade; counts per grade band as Table 4."""
    rows = []
    for term, (category, *counts) in AE_TERMS.items():
        for a, arm in enumerate(ARMS):
            low, high = counts[2 * a], counts[2 * a + 1]
            chosen = rng.choice(ids_by_arm[arm], size=low + high, replace=False)
            grades = [1 if rng.random() < 0.65 else 2 for _ in range(low)]
            grades += [3 if rng.random() < 0.75 else 4 for _ in range(high)]
            rows += [(str(pid), term, category, g) for pid, g in zip(chosen, grades, strict=True)]
    return sorted(rows, key=lambda r: (r[0], list(AE_TERMS).index(r[1])))


# ----------------------------------------------------------------------------------------------
# Participant flow (not printed by the paper: the generator's choice, documented in study.yaml)

#: Patients assessed but not randomised: (reason, reason group, count).
SCREEN_FAILURES = (
    ("creatinine_clearance", "not_eligible", 4),
    ("thrombocytopenia", "not_eligible", 3),
    ("neutropenia", "not_eligible", 2),
    ("prior_study_drug", "not_eligible", 2),
    ("declined", "declined", 3),
)
#: Up to this many patients per arm (as many as remain on treatment and followed) stopped the
#: allocated treatment for a reason other than progression or
#: death (adverse event, withdrawal of consent).
DISCONTINUED = {"adverse_event": (2, 3), "withdrew_consent": (1, 1)}
FLOW_STREAM = 1  # added to the seed: the flow columns never disturb the constrained ones


def _flow(seed: int, arm: np.ndarray, enrol: list[dt.date], surv: Survival) -> dict[str, list[str]]:
    """Treatment received, reason the treatment stopped, and loss to follow-up per patient.

    A PFS event stops treatment (progression, or death when it is also the OS event at the same
    time); a patient censored before the end of follow-up is lost to follow-up; a few others stop
    for an adverse event or withdraw consent. Every randomised patient received the allocated
    treatment and is analysed, as in the paper's tables.
    """
    rng = np.random.default_rng(seed + FLOW_STREAM)
    n = len(arm)
    admin = np.round([months_between(d, FOLLOW_UP_END) for d in enrol], 2)
    lost = (surv.os_event == 0) & (surv.os < admin - 1e-9)
    reason = [""] * n
    for i in range(n):
        if surv.pfs_event[i] == 1:
            died_first = surv.os_event[i] == 1 and surv.os[i] == surv.pfs[i]
            reason[i] = "death" if died_first else "progression"
    for a, name in enumerate(ARMS):
        free = [i for i in np.nonzero(arm == name)[0] if not reason[i] and not lost[i]]
        picks = rng.permutation(free)
        start = 0
        for why, counts in DISCONTINUED.items():
            for i in picks[start:start + counts[a]]:
                reason[int(i)] = why
            start += counts[a]
    return {
        "received_allocated": ["1"] * n,
        "discontinued_reason": reason,
        "lost_to_follow_up": [str(int(x)) for x in lost],
    }


def build_screening() -> list[dict[str, str]]:
    """The patients assessed for eligibility but not randomised, one row each, with the reason."""
    rows = []
    for reason, group, count in SCREEN_FAILURES:
        rows += [{"reason": reason, "reason_group": group}] * count
    return [{"screening_id": f"S{i + 1:03d}", **row} for i, row in enumerate(rows)]


# ----------------------------------------------------------------------------------------------
# Assembly and output

PATIENT_COLUMNS = (
    "patient_id", "arm", "enrolment_date", "sex", "age", "immunofixation", "riss_stage", "cytogenetic_risk",
    "best_response", "pfs_months", "pfs_event", "os_months", "os_event",
    "nrs_before", "nrs_after", "kps_before", "kps_after",
    "received_allocated", "discontinued_reason", "lost_to_follow_up",
)
SCREENING_COLUMNS = ("screening_id", "reason", "reason_group")
AE_COLUMNS = ("patient_id", "term", "category", "grade")


def build(seed: int = SEED) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Build the patient and adverse-event rows (as formatted text) from ``seed``."""
    rng = np.random.default_rng(seed)
    n = 2 * N_PER_ARM
    ids = [f"P{i + 1:03d}" for i in range(n)]
    arm = np.array([ARMS[0]] * N_PER_ARM + [ARMS[1]] * N_PER_ARM)[rng.permutation(n)]
    enrol = _enrolment(rng, n)
    positions = {a: np.nonzero(arm == a)[0] for a in ARMS}

    columns: dict[str, list] = {c: [None] * n for c in PATIENT_COLUMNS}
    for a, name in enumerate(ARMS):
        for col, counts in (("sex", SEX), ("immunofixation", IMMUNOFIXATION), ("riss_stage", RISS),
                            ("cytogenetic_risk", CYTOGENETIC)):
            for pos, value in zip(positions[name], _allocate(rng, counts, a), strict=True):
                columns[col][pos] = value
    ages = _ages(rng)
    scores = _scores(rng)
    surv = _survival(rng, arm, enrol)

    # Best response follows PFS loosely: better responses go to longer (noisy) PFS ranks.
    order_levels = list(RESPONSE)
    for a, name in enumerate(ARMS):
        idx = positions[name]
        levels = sorted(_allocate(rng, RESPONSE, a), key=order_levels.index)
        noisy = surv.pfs[idx] * np.exp(rng.normal(0, 0.5, len(idx)))
        for rank, pos in enumerate(idx[np.argsort(-noisy, kind="stable")]):
            columns["best_response"][pos] = levels[rank]
        for j, pos in enumerate(idx):
            columns["age"][pos] = str(int(ages[name][j]))
            columns["nrs_before"][pos] = f"{scores['nrs'][name][0][j]:.1f}"
            columns["nrs_after"][pos] = f"{scores['nrs'][name][1][j]:.1f}"
            columns["kps_before"][pos] = f"{scores['kps'][name][0][j]:.1f}"
            columns["kps_after"][pos] = f"{scores['kps'][name][1][j]:.1f}"
    for i in range(n):
        columns["patient_id"][i] = ids[i]
        columns["arm"][i] = str(arm[i])
        columns["enrolment_date"][i] = enrol[i].isoformat()
        columns["pfs_months"][i] = f"{surv.pfs[i]:.2f}"
        columns["pfs_event"][i] = str(int(surv.pfs_event[i]))
        columns["os_months"][i] = f"{surv.os[i]:.2f}"
        columns["os_event"][i] = str(int(surv.os_event[i]))
    columns.update(_flow(seed, arm, enrol, surv))
    patients = [{c: columns[c][i] for c in PATIENT_COLUMNS} for i in range(n)]

    ids_by_arm = {name: [ids[p] for p in positions[name]] for name in ARMS}
    aes = [dict(zip(AE_COLUMNS, (pid, term, cat, str(g)), strict=True))
           for pid, term, cat, g in _adverse_events(rng, ids_by_arm)]
    return patients, aes


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict[str, str]]) -> None:
    lines = [",".join(columns)] + [",".join(row[c] for c in columns) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def write(out: Path, seed: int = SEED) -> list[Path]:
    """Write ``patients.csv``, ``adverse_events.csv`` and ``screening.csv`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    patients, aes = build(seed)
    paths = [out / "patients.csv", out / "adverse_events.csv", out / "screening.csv"]
    _write_csv(paths[0], PATIENT_COLUMNS, patients)
    _write_csv(paths[1], AE_COLUMNS, aes)
    _write_csv(paths[2], SCREENING_COLUMNS, build_screening())
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry: ``python -m analysis.synthetic.ixazomib_ndmm --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/ixazomib_ndmm"))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    for path in write(args.out, args.seed):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
