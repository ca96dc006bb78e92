"""Benchmark: time to compute every table and figure of a study, and how it grows.

Not a test (timings depend on the machine); run it by hand:

    .venv/bin/python benchmarks/bench_analysis.py ixazomib_ndmm --scales 1 10 100

Each scale replicates every patient-level dataset's rows that many times (patients get new
identifiers, linked rows follow their patient; study-level data such as trial results stay as
they are), then runs the study's analysis script and saves its figures, as ``make report``
does, reporting the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import copy
import io
import sys
import time
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.pipeline import run_analysis  # noqa: E402
from analysis.study import Study, load_study  # noqa: E402


def scaled(study: Study, factor: int) -> Study:
    """A copy of ``study`` with every dataset replicated ``factor`` times."""
    out = copy.copy(study)
    out.frames = {}
    for name, frame in study.frames.items():
        spec = study.specs[name]
        if not spec.primary_key and not spec.references:  # study-level data (e.g. trial results) do not scale
            out.frames[name] = frame
            continue
        id_columns = [spec.primary_key] if spec.primary_key else []
        id_columns += [col for col, target in spec.references.items()]
        copies = []
        for k in range(factor):
            part = frame.copy()
            for col in id_columns:
                if col in part.columns and k:
                    part[col] = part[col].astype(str) + f"_r{k}"
            copies.append(part)
        out.frames[name] = pd.concat(copies, ignore_index=True)
    return out


def run_once(study: Study) -> float:
    start = time.perf_counter()
    store = run_analysis(study)
    for fig in store.figures.values():  # saving is part of making a figure
        for fmt in ("svg", "png"):
            fig.figure.savefig(io.BytesIO(), format=fmt)
        plt.close(fig.figure)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", help="study id (a folder of data/)")
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--repeat", type=int, default=3, help="runs per scale; the best is reported")
    args = parser.parse_args(argv)
    base = load_study(ROOT, args.study)
    rows = {k: len(v) for k, v in base.frames.items()}
    print(f"{args.study}: " + ", ".join(f"{k} {n} rows" for k, n in rows.items()))
    run_once(base)  # warm-up: imports, font cache and first-figure costs are not the analysis
    print(f"{'scale':>6} {'rows':>9} {'seconds':>9} {'vs 1x':>7}")
    first = None
    for factor in args.scales:
        study = scaled(base, factor)
        best = min(run_once(study) for _ in range(args.repeat))
        first = first or best
        total = sum(len(f) for f in study.frames.values())
        print(f"{factor:>5}x {total:>9} {best:>9.2f} {best / first:>6.1f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
