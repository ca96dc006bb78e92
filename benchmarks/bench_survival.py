"""Benchmark: survival statistics at scale (Kaplan-Meier, log-rank, Cox).

Not a test (timings depend on the machine); run it by hand:

    .venv/bin/python benchmarks/bench_survival.py            # the targets of issue 11
    .venv/bin/python benchmarks/bench_survival.py --quick    # a tenth of the rows

Data are simulated with a fixed seed: exponential event times (continuous, so nearly every
time is distinct, the hard case for a per-time algorithm), uniform censoring, two arms, and
for Cox two more covariates (age, a three-level factor) and optionally strata. Each timing
is the best of ``--repeat`` runs of ``time.perf_counter`` (wall clock, what the target is
about), printed beside the CPU time of the same run (``time.process_time``: on a shared, busy
machine wall time exceeds it) and the target.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.stats.cox import cox_model  # noqa: E402
from analysis.stats.survival import kaplan_meier, logrank  # noqa: E402


def simulate(n: int, seed: int = 20261201) -> pd.DataFrame:
    """``n`` patients: arm A/B (HR 0.8), age, ECOG 0/1/2, site (4 strata), continuous times."""
    rng = np.random.default_rng(seed)
    arm = rng.integers(0, 2, n)
    age = rng.normal(65, 10, n)
    ecog = rng.integers(0, 3, n)
    site = rng.integers(0, 4, n)
    rate = 0.05 * np.exp(np.log(0.8) * arm + 0.02 * (age - 65) + 0.3 * ecog)
    event_time = rng.exponential(1 / rate)
    censor_time = rng.uniform(0, 60, n)
    return pd.DataFrame({
        "time": np.minimum(event_time, censor_time),
        "event": (event_time <= censor_time).astype(int),
        "arm": np.where(arm == 1, "B", "A"),
        "age": age,
        "ecog": pd.Categorical(ecog.astype(str), ["0", "1", "2"]),
        "site": site,
    })


def best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """The best wall-clock (perf_counter) and CPU (process_time) seconds of ``repeat`` runs."""
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print measured time against each target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the rows (targets scaled too)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is reported")
    args = parser.parse_args(argv)
    scale = 10 if args.quick else 1
    big, mid = simulate(1_000_000 // scale), simulate(100_000 // scale)
    cases = [
        ("Kaplan-Meier", len(big), lambda: kaplan_meier(big["time"], big["event"]), 5.0),
        ("log-rank, 2 arms", len(big), lambda: logrank(big["time"], big["event"], big["arm"]), 5.0),
        ("log-rank, 2 arms, 4 strata", len(big),
         lambda: logrank(big["time"], big["event"], big["arm"], strata=big["site"]), 5.0),
        ("Cox, arm + age + ECOG (Efron)", len(mid),
         lambda: cox_model(mid, time="time", event="event", terms=["arm", "age", "ecog"]), 2.0),
        ("Cox, + strata(site)", len(mid),
         lambda: cox_model(mid, time="time", event="event", terms=["arm", "age", "ecog"], strata=["site"]), 2.0),
    ]
    print(f"{'statistic':<34} {'rows':>10} {'wall s':>8} {'CPU s':>8} {'target':>8}  ok")
    ok = True
    for name, rows, fn, target in cases:
        target = target / scale
        seconds, cpu = best(fn, args.repeat)
        ok &= seconds < target
        verdict = "yes" if seconds < target else "NO"
        print(f"{name:<34} {rows:>10,} {seconds:>8.3f} {cpu:>8.3f} {target:>8.2f}  {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
