"""Synthetic data for the ``ird_rrmm`` study (ixazomib, lenalidomide and dexamethasone in RRMM).

The source paper (Int J Public Health Prev Med 2020;1(3):1-12) prints only aggregates. This
module rebuilds, deterministically, data that reproduce them:

* ``case_series.csv``: 21 patients whose best responses and covariates make every count of
  Tables 3-7 (and the renal-function and diabetes comparisons of the text) true at once. The
  joint record is found by a seeded min-conflicts search over swaps that keep every printed
  margin fixed, with plausibility constraints on treatment history (see :func:`solve_case_series`).
* ``meta_binary.csv`` and ``meta_ratios.csv``: the CASTOR and POLLUX study-level inputs of the
  meta-analysis (Table 2), as 2x2 counts and as printed hazard ratios.
* ``transplant.csv``: 253 transplanted patients (61 light-chain, 153 IgG, 39 IgA) with overall
  and event-free survival whose Kaplan-Meier medians and log-rank P values match the text.

None of these are patient data. Run ``python -m analysis.synthetic.ird_rrmm --out data/ird_rrmm``;
the output is byte-identical on every run. The survival helpers below (Kaplan-Meier median and
log-rank test) are this module's own small numpy code, independent of the analysis engine.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import chi2 as _chi2

__all__ = [
    "SEED",
    "build_case_series",
    "build_meta_binary",
    "build_meta_ratios",
    "build_transplant",
    "km_median",
    "logrank_p",
    "main",
    "solve_case_series",
    "write_all",
]

SEED = 20200301
AGE_CUT = 58.0

# --------------------------------------------------------------------------------------------
# Case series: the printed margins of Tables 3-7 and the text's renal / diabetes comparisons.
# Response classes: PR (11), MR (2) and non-responders NR (8); ORR = PR + MR (no CR/VGPR seen).
# For each binary factor: how many patients have level 1 within each response class. Factors
# printed only against "effective / not effective" (Table 3, renal, diabetes) are given for
# responders (PR + MR together) and non-responders; the PR/MR split of those is free.
# --------------------------------------------------------------------------------------------
CLASS_SIZES = {"PR": 11, "MR": 2, "NR": 8}
BY_CLASS: dict[str, dict[str, int]] = {
    "relapsed": {"PR": 10, "MR": 2, "NR": 4},  # Table 4: relapsed 16 (PR 10, MR 2); refractory 5 (PR 1)
    "thalidomide_exposed": {"PR": 8, "MR": 1, "NR": 6},  # Table 5: 15 (PR 8, MR 1) vs 6 (PR 3, MR 1)
    "lenalidomide_exposed": {"PR": 4, "MR": 1, "NR": 6},  # Table 6: 11 (PR 4, MR 1) vs 10 (PR 7, MR 1)
    "ixazomib_exposed": {"PR": 4, "MR": 0, "NR": 1},  # Table 7: 5 (PR 4) vs 16 (PR 7, MR 2)
}
BY_RESPONDER: dict[str, dict[str, int]] = {
    "age_le58": {"R": 7, "NR": 4},  # Table 3
    "male": {"R": 7, "NR": 4},  # Table 3
    "light_chain": {"R": 4, "NR": 2},  # Table 3
    "renal_insufficiency": {"R": 5, "NR": 2},  # text: ORR 71.4% (5/7) vs 57.1% (8/14)
    "diabetes": {"R": 2, "NR": 1},  # text: ORR 66.7% (2/3) vs 61.1% (11/18)
}
# Best response of the 8 non-responders (SD or PD) is not printed: our choice.
NONRESPONDER_SD = 5
# Table 3 age summaries: median (range) 57.9 (48-69) among responders, 59.4 (48-69) among the rest.
AGE_MEDIAN = {"R": 57.9, "NR": 59.4}
AGE_RANGE = (48.0, 69.0)


@dataclass(frozen=True)
class CaseSeriesSolution:
    """A joint assignment of every factor to the 21 patients (patient i has class ``classes[i]``)."""

    classes: tuple[str, ...]
    factors: dict[str, np.ndarray]
    iterations: int


def _violations(f: dict[str, np.ndarray]) -> tuple[int, int]:
    """Hard and soft plausibility violations of an assignment.

    Hard: prior ixazomib implies prior lenalidomide (ixazomib is given with lenalidomide);
    refractory disease implies prior exposure to thalidomide or lenalidomide.
    Soft: prior lenalidomide implies prior thalidomide (thalidomide came first in the era);
    at least one patient with renal insufficiency has light-chain disease.
    """
    refractory = f["relapsed"] == 0
    hard = int(np.sum((f["ixazomib_exposed"] == 1) & (f["lenalidomide_exposed"] == 0)))
    hard += int(np.sum(refractory & (f["thalidomide_exposed"] == 0) & (f["lenalidomide_exposed"] == 0)))
    soft = int(np.sum((f["lenalidomide_exposed"] == 1) & (f["thalidomide_exposed"] == 0)))
    soft += int(np.sum((f["renal_insufficiency"] == 1) & (f["light_chain"] == 1)) == 0)
    return hard, soft


def solve_case_series(rng: np.random.Generator, max_iter: int = 20000) -> CaseSeriesSolution:
    """Find a joint record for the 21 patients that meets every printed margin.

    Margins are met by construction: each factor's values are a permutation, within each
    response class (or responder group), of the printed number of ones and zeros. A
    min-conflicts search then swaps a factor's values between two patients of the same class,
    accepting swaps that do not increase ``10 * hard + soft`` violations, until none are left.
    """
    classes = tuple(c for c, n in CLASS_SIZES.items() for _ in range(n))
    cls = np.array(classes)
    resp = np.where(cls == "NR", "NR", "R")
    groups: dict[str, np.ndarray] = {}
    factors: dict[str, np.ndarray] = {}
    for name, counts in BY_CLASS.items():
        groups[name] = cls
        factors[name] = np.zeros(len(cls), dtype=int)
        for c, k in counts.items():
            idx = rng.permutation(np.nonzero(cls == c)[0])
            factors[name][idx[:k]] = 1
    for name, counts in BY_RESPONDER.items():
        groups[name] = resp
        factors[name] = np.zeros(len(cls), dtype=int)
        for c, k in counts.items():
            idx = rng.permutation(np.nonzero(resp == c)[0])
            factors[name][idx[:k]] = 1
    names = sorted(factors)

    def cost(f: dict[str, np.ndarray]) -> int:
        hard, soft = _violations(f)
        return 10 * hard + soft

    current = cost(factors)
    for it in range(max_iter):
        if current == 0:
            return CaseSeriesSolution(classes, factors, it)
        name = names[int(rng.integers(len(names)))]
        g = groups[name]
        i = int(rng.integers(len(cls)))
        same = np.nonzero((g == g[i]) & (factors[name] != factors[name][i]))[0]
        if len(same) == 0:
            continue
        j = int(same[int(rng.integers(len(same)))])
        f = factors[name]
        f[i], f[j] = f[j], f[i]
        new = cost(factors)
        if new <= current:
            current = new
        else:
            f[i], f[j] = f[j], f[i]
    hard, _ = _violations(factors)
    if hard:
        raise RuntimeError(f"case-series search left {hard} hard violation(s) after {max_iter} swaps")
    return CaseSeriesSolution(classes, factors, max_iter)


def _ages(rng: np.random.Generator, responder: np.ndarray, le58: np.ndarray) -> np.ndarray:
    """Ages (1 decimal) meeting Table 3's split at 58, its group medians and the range 48-69."""
    ages = np.zeros(len(responder))
    lo, hi = AGE_RANGE
    for grp, is_r in (("R", True), ("NR", False)):
        young = np.nonzero((responder == is_r) & le58)[0]
        old = np.nonzero((responder == is_r) & ~le58)[0]
        n = len(young) + len(old)
        if n % 2 == 1:  # odd: the middle value is the largest "young" age
            top_young = AGE_MEDIAN[grp]
            bottom_old = round(float(rng.uniform(58.1, 62.0)), 1)
        else:  # even: the median is the mean of the largest young and the smallest old age
            top_young = 57.6
            bottom_old = round(2 * AGE_MEDIAN[grp] - top_young, 1)
        fixed_young = [lo, top_young]
        fixed_old = [bottom_old, hi]
        young_vals = fixed_young + [round(float(v), 1) for v in rng.uniform(lo + 0.1, top_young - 0.1,
                                                                            len(young) - 2)]
        old_vals = fixed_old + [round(float(v), 1) for v in rng.uniform(bottom_old + 0.1, hi - 0.1,
                                                                        len(old) - 2)]
        ages[rng.permutation(young)] = young_vals
        ages[rng.permutation(old)] = old_vals
    return ages


def build_case_series(rng: np.random.Generator) -> list[dict[str, object]]:
    """The 21-patient case series as rows in the CSV's column order."""
    sol = solve_case_series(rng)
    cls = np.array(sol.classes)
    responder = cls != "NR"
    f = sol.factors
    ages = _ages(rng, responder, f["age_le58"] == 1)
    nr = np.nonzero(~responder)[0]
    best = cls.astype(object)
    sd = set(rng.permutation(nr)[:NONRESPONDER_SD].tolist())
    for i in nr:
        best[i] = "SD" if i in sd else "PD"
    order = rng.permutation(len(cls))
    rows = []
    for k, i in enumerate(order, start=1):
        rows.append({
            "patient_id": f"RR{k:02d}",
            "age": f"{ages[i]:.1f}",
            "sex": "male" if f["male"][i] else "female",
            "chain_type": "light_chain" if f["light_chain"][i] else "heavy_chain",
            "disease_status": "relapsed" if f["relapsed"][i] else "refractory",
            "thalidomide_exposed": int(f["thalidomide_exposed"][i]),
            "lenalidomide_exposed": int(f["lenalidomide_exposed"][i]),
            "ixazomib_exposed": int(f["ixazomib_exposed"][i]),
            "renal_insufficiency": int(f["renal_insufficiency"][i]),
            "diabetes": int(f["diabetes"][i]),
            "best_response": str(best[i]),
        })
    return rows


# --------------------------------------------------------------------------------------------
# Meta-analysis inputs (Table 2). Row order of the printed table: CASTOR first, then POLLUX
# (established from the odds ratios that the 2x2 counts give; see published.yaml).
# --------------------------------------------------------------------------------------------
META_BINARY = [
    # study, outcome, events_treat, n_treat, events_control, n_control
    ("CASTOR", "orr", 199, 240, 148, 234),
    ("CASTOR", "vgpr_or_better", 142, 240, 68, 234),
    ("CASTOR", "mrd_negative", 17, 240, 4, 234),
    ("POLLUX", "orr", 261, 281, 211, 276),
    ("POLLUX", "vgpr_or_better", 222, 281, 132, 276),
    ("POLLUX", "mrd_negative", 63, 281, 22, 276),
]
REGIMENS = {"CASTOR": ("DVd", "Vd"), "POLLUX": ("DRd", "Rd")}
META_RATIOS = [
    ("CASTOR", "pfs", 0.31, 0.29, 0.33),
    ("CASTOR", "os", 0.77, 0.59, 1.01),
    ("POLLUX", "pfs", 0.41, 0.37, 0.46),
    ("POLLUX", "os", 0.64, 0.47, 0.87),
]


def build_meta_binary() -> list[dict[str, object]]:
    """One row per study and binary outcome: 2x2 counts and the regimens compared."""
    return [
        {"study": s, "outcome": o, "events_treat": a, "n_treat": n1, "events_control": c,
         "n_control": n0, "regimen_treat": REGIMENS[s][0], "regimen_control": REGIMENS[s][1]}
        for s, o, a, n1, c, n0 in META_BINARY
    ]


def build_meta_ratios() -> list[dict[str, object]]:
    """One row per study and time-to-event outcome: the hazard ratio and 95% CI as printed."""
    return [
        {"study": s, "outcome": o, "hr": f"{hr:.2f}", "lower": f"{lo:.2f}", "upper": f"{up:.2f}"}
        for s, o, hr, lo, up in META_RATIOS
    ]


# --------------------------------------------------------------------------------------------
# Survival helpers (own numpy code; R conventions).
# --------------------------------------------------------------------------------------------
def _km(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival at each distinct event time (vectorised)."""
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    uniq, first = np.unique(t, return_index=True)
    at_risk = len(t) - first
    deaths = np.add.reduceat(e, first) if len(t) else np.array([], int)
    keep = deaths > 0
    return uniq[keep], np.cumprod(1.0 - deaths[keep] / at_risk[keep])


def km_median(time: Sequence[float], event: Sequence[int], strict: bool = True) -> float:
    """Kaplan-Meier median: first event time with survival <= 0.5 (``nan`` if never reached).

    With ``strict``, raises when the curve sits exactly at 0.5 (R would take a midpoint there);
    the generator rejects such data so that every common convention gives the same median.
    """
    t, s = _km(np.asarray(time, float), np.asarray(event, int))
    flat = np.abs(s - 0.5) < 1e-12
    if strict and np.any(flat):
        raise ValueError("survival curve is exactly 0.5 on an interval; median is convention-dependent")
    below = np.nonzero((s < 0.5) | flat)[0]
    return float(t[below[0]]) if len(below) else float("nan")


def logrank_p(t1: Sequence[float], e1: Sequence[int], t2: Sequence[float], e2: Sequence[int]) -> float:
    """Two-group log-rank test P value (chi-square, 1 df; hypergeometric variance as R)."""
    t = np.r_[np.asarray(t1, float), np.asarray(t2, float)]
    e = np.r_[np.asarray(e1, int), np.asarray(e2, int)]
    g1 = np.r_[np.ones(len(t1), int), np.zeros(len(t2), int)]
    order = np.argsort(t, kind="stable")
    t, e, g1 = t[order], e[order], g1[order]
    _, first = np.unique(t, return_index=True)
    n = (len(t) - first).astype(float)
    n1 = np.cumsum(g1[::-1])[::-1][first].astype(float)
    d = np.add.reduceat(e, first).astype(float)
    d1 = np.add.reduceat(e * g1, first).astype(float)
    ev = d > 0
    n, n1, d, d1 = n[ev], n1[ev], d[ev], d1[ev]
    o_minus_e = float(np.sum(d1 - d * n1 / n))
    multi = n > 1
    var = float(np.sum(d[multi] * (n1[multi] / n[multi]) * (1 - n1[multi] / n[multi])
                       * (n[multi] - d[multi]) / (n[multi] - 1)))
    return float(_chi2.sf(o_minus_e**2 / var, 1))


# --------------------------------------------------------------------------------------------
# Transplant cohort.
# --------------------------------------------------------------------------------------------
TX_N = {"light_chain": 61, "IgG": 153, "IgA": 39}
TX_CR = {"light_chain": 20, "IgG": 54, "IgA": 13}  # complete responders (not printed: our choice)
# Kaplan-Meier medians in years: printed for light chain and IgG; IgA is not printed (our choice).
OS_MEDIAN = {"light_chain": 2.8, "IgG": 4.5, "IgA": 3.6}
EFS_MEDIAN = {"light_chain": 1.2, "IgG": 2.1, "IgA": 1.7}
TARGET_P = 0.03  # printed log-rank P (2 decimals) for OS and for EFS, light chain vs IgG
P_TOL = 0.004  # stay safely inside the printed precision (0.025 <= P < 0.035)
CR_P_MIN = 0.3  # among complete responders, light chain vs IgG must not differ
FOLLOW_UP = (1.0, 10.0)  # years from transplant to data cut-off (administrative censoring)
CR_OS = (7.0, 1.3)  # Weibull scale (years), shape: complete responders, every chain type
CR_PROG = (3.5, 1.2)
NON_CR_SHAPE_G = {"os": 1.0, "prog": 2.0}  # Weibull shapes of non-CR IgG and IgA patients
LC_SHAPES = {"os": np.arange(0.8, 3.001, 0.02), "prog": np.arange(0.3, 1.601, 0.02)}  # scanned for P


@dataclass(frozen=True)
class _Draws:
    """Fixed uniform draws of one chain type (common random numbers for the tuning)."""

    u_os: np.ndarray
    u_prog: np.ndarray
    follow: np.ndarray
    cr: np.ndarray


def _weibull(u: np.ndarray, scale: float, shape: float) -> np.ndarray:
    return scale * (-np.log(u)) ** (1.0 / shape)


def _os(d: _Draws, scale: float, shape: float, stretch: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Observed OS (years, 3 decimals) and death indicator for non-CR Weibull(scale, shape).

    ``stretch`` multiplies latent and follow-up times alike, which stretches the Kaplan-Meier
    curve along the time axis: its median is multiplied by exactly ``stretch``.
    """
    latent = np.where(d.cr, _weibull(d.u_os, *CR_OS), _weibull(d.u_os, scale, shape))
    latent, follow = np.round(stretch * latent, 3), np.round(stretch * d.follow, 3)
    return np.minimum(latent, follow), (latent <= follow).astype(int)


def _efs(d: _Draws, os_t: np.ndarray, os_e: np.ndarray, scale: float, shape: float
         ) -> tuple[np.ndarray, np.ndarray]:
    """EFS = first of progression and death, censored with OS; EFS <= OS always."""
    prog = np.round(np.where(d.cr, _weibull(d.u_prog, *CR_PROG), _weibull(d.u_prog, scale, shape)), 3)
    first = prog < os_t
    return np.where(first, prog, os_t), np.where(first, 1, os_e)


def _bisect_scale(median_of: Callable[[float], float], target: float) -> float:
    """Smallest-error scale whose Kaplan-Meier median is ``target`` (monotone in the scale)."""
    lo, hi = 0.05, 40.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        m = median_of(mid)
        if np.isnan(m) or m > target:
            hi = mid
        else:
            lo = mid
    return hi


def _rounds_to(x: float, target: float) -> bool:
    return abs(x - target) < 0.04


@dataclass
class _TxResult:
    os: dict[str, tuple[np.ndarray, np.ndarray]]
    efs: dict[str, tuple[np.ndarray, np.ndarray]]


def _try_transplant(draws: dict[str, _Draws]) -> _TxResult | None:
    """Tune one set of draws to every target; ``None`` when a target cannot be met."""
    os_: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    efs: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def fit_os(g: str, shape: float) -> tuple[np.ndarray, np.ndarray]:
        d = draws[g]
        scale = _bisect_scale(lambda s: km_median(*_os(d, s, shape), strict=False), OS_MEDIAN[g])
        rough = km_median(*_os(d, scale, shape), strict=False)
        return _os(d, scale, shape, stretch=OS_MEDIAN[g] / rough)

    def fit_efs(g: str, shape: float) -> tuple[np.ndarray, np.ndarray]:
        d, (ot, oe) = draws[g], os_[g]
        scale = _bisect_scale(lambda s: km_median(*_efs(d, ot, oe, s, shape), strict=False), EFS_MEDIAN[g])
        return _efs(d, ot, oe, scale, shape)

    def closest_to_target(fit: Callable[[str, float], tuple[np.ndarray, np.ndarray]], shapes: np.ndarray,
                          igg: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray] | None:
        """The light-chain curve (over candidate shapes) whose log-rank P against IgG is nearest the
        printed P; None when none is within tolerance."""
        best = None
        for shape in np.round(shapes, 2):
            cand = fit("light_chain", float(shape))
            gap = abs(logrank_p(*cand, *igg) - TARGET_P)
            if best is None or gap < best[0]:
                best = (gap, cand)
        return None if best is None or best[0] > P_TOL else best[1]

    for g in ("IgG", "IgA"):
        os_[g] = fit_os(g, NON_CR_SHAPE_G["os"])
    lc = closest_to_target(fit_os, LC_SHAPES["os"], os_["IgG"])
    if lc is None:
        return None
    os_["light_chain"] = lc
    for g in ("IgG", "IgA"):
        efs[g] = fit_efs(g, NON_CR_SHAPE_G["prog"])
    lc = closest_to_target(fit_efs, LC_SHAPES["prog"], efs["IgG"])
    if lc is None:
        return None
    efs["light_chain"] = lc
    for g in TX_N:
        try:
            ok = _rounds_to(km_median(*os_[g]), OS_MEDIAN[g])
            ok = ok and _rounds_to(km_median(*efs[g]), EFS_MEDIAN[g])
        except ValueError:
            ok = False
        if not ok:
            return None
    lc, igg = draws["light_chain"].cr, draws["IgG"].cr
    for ends in (os_, efs):
        t1, e1 = ends["light_chain"]
        t2, e2 = ends["IgG"]
        if logrank_p(t1[lc], e1[lc], t2[igg], e2[igg]) < CR_P_MIN:
            return None
    return _TxResult(os_, efs)


def build_transplant(rng: np.random.Generator, max_tries: int = 50) -> list[dict[str, object]]:
    """The transplant cohort: draws are retried in sequence until every target is met."""
    for _ in range(max_tries):
        draws = {
            g: _Draws(u_os=rng.random(n), u_prog=rng.random(n), follow=rng.uniform(*FOLLOW_UP, n),
                      cr=rng.permutation(np.arange(n) < TX_CR[g]))
            for g, n in TX_N.items()
        }
        res = _try_transplant(draws)
        if res is not None:
            break
    else:
        raise RuntimeError(f"no transplant cohort met every target in {max_tries} tries")
    records = []
    for g in TX_N:
        for i in range(TX_N[g]):
            records.append((g, res.os[g][0][i], res.os[g][1][i], res.efs[g][0][i], res.efs[g][1][i],
                            int(draws[g].cr[i])))
    order = rng.permutation(len(records))
    rows = []
    for k, i in enumerate(order, start=1):
        g, ot, oe, et, ee, cr = records[i]
        rows.append({"patient_id": f"TX{k:03d}", "chain_type": g, "achieved_cr": cr,
                     "os_years": f"{ot:.3f}", "os_event": int(oe),
                     "efs_years": f"{et:.3f}", "efs_event": int(ee)})
    return rows


# --------------------------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------------------------
def _write_csv(path: Path, rows: list[dict[str, object]]) -> None:
    cols = list(rows[0])
    lines = [",".join(cols)] + [",".join(str(r[c]) for c in cols) for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))


def write_all(out: Path, seed: int = SEED) -> list[Path]:
    """Write the four CSV files into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    rng_cases = np.random.default_rng([seed, 1])
    rng_tx = np.random.default_rng([seed, 2])
    files = {
        "case_series.csv": build_case_series(rng_cases),
        "meta_binary.csv": build_meta_binary(),
        "meta_ratios.csv": build_meta_ratios(),
        "transplant.csv": build_transplant(rng_tx),
    }
    paths = []
    for name, rows in files.items():
        _write_csv(out / name, rows)
        paths.append(out / name)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m analysis.synthetic.ird_rrmm --out data/ird_rrmm``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/ird_rrmm"), help="output folder")
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (default: %(default)s)")
    args = parser.parse_args(argv)
    for p in write_all(args.out, args.seed):
        print(p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
