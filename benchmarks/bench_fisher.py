"""Benchmark: Fisher's exact test on tables of clinical sizes, and the laziness of issue #14.

Not a test (timings depend on the machine); run it by hand:

    .venv/bin/python benchmarks/bench_fisher.py

Prints, for each table, how the P was computed (exact or Monte Carlo), the P beside R's exact
value where known (tests/reference/*.json), the wall time (best of ``--repeat`` runs, in a
fresh process state except for scipy's import, timed once separately) and the target.
Targets: the 4x4 table with n = 200 answers in under 5 s (issue #11 item 7); a 3x2 table with
n = 8,000 where Pearson is chosen costs no Fisher at all (issue #14 item 4).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.stats.contingency import compare_counts, fisher_test  # noqa: E402

REF = ROOT / "tests" / "reference"


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    """Run the benchmark and print one table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    summary = json.loads((REF / "summary_tests.json").read_text())
    extra = json.loads((REF / "stats_extra.json").read_text())

    start = time.perf_counter()
    import scipy.stats  # noqa: F401  (the Monte Carlo path imports it; time it once, apart)
    import_s = time.perf_counter() - start

    cases = [
        ("4x4, n = 200", summary["fisher_4x4"]["counts"], summary["fisher_4x4"]["p_exact"], 5.0),
        ("4x3, n = 100", extra["contingency"]["stage_4x3_n100"]["counts"],
         extra["contingency"]["stage_4x3_n100"]["fisher_p"], 5.0),
        ("3x2, n = 80", extra["contingency"]["ecog_3x2_n80"]["counts"],
         extra["contingency"]["ecog_3x2_n80"]["fisher_p"], 1.0),
        ("2x2, n = 560", extra["contingency"]["response_2x2_n560"]["counts"],
         extra["contingency"]["response_2x2_n560"]["fisher_p"], 1.0),
        ("3x2, n = 7,604", summary["fisher_3x2_n7604"]["counts"], summary["fisher_3x2_n7604"]["p"], 2.0),
    ]
    print(f"scipy.stats import (once, not in the times below): {import_s:.2f} s\n")
    print(f"{'table':<16} {'method':<12} {'P':>10} {'R exact P':>10} {'seconds':>8} {'target':>7}")
    for name, counts, r_p, target in cases:
        secs, res = _best(lambda c=counts: fisher_test(c), args.repeat)
        print(f"{name:<16} {res.method:<12} {res.p:>10.6f} {r_p:>10.6f} {secs:>8.3f} {'< ' + str(target):>7}")

    big = [[3000, 2000], [1500, 1100], [250, 150]]  # n = 8,000; every expected count far above 5
    tracemalloc.start()
    secs, res = _best(lambda: compare_counts(big), args.repeat)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"\n3x2, n = 8,000, Pearson chosen: {secs * 1000:.2f} ms, peak {peak:.2f} MB traced, "
          f"Fisher computed: {'fisher_result' in res.__dict__} (target: not computed)")


if __name__ == "__main__":
    main()
