"""Every speed figure of the project, with one command, in one table.

    .venv/bin/python benchmarks/run_all.py            # everything (several minutes)
    .venv/bin/python benchmarks/run_all.py --quick    # fewer runs, scale up to 100x only
    .venv/bin/python benchmarks/run_all.py --only startup preview

The project's modules are compiled to bytecode first, as an installed package's are. Each
figure is the median of several runs, with the min-max range, measured with public tools
only: ``time.perf_counter`` around each command for wall time and GNU ``/usr/bin/time`` for
CPU time and peak memory (maximum resident set size) of the command. Ratios compare medians
measured in the same run, so a busy machine slows both sides alike; CPU seconds are shown
too because they suffer less from other processes than wall time does.

Targets (not tests: timings depend on the machine) are printed beside each figure:

* start-up: ``--help``, ``list`` and ``lint`` under 0.25 s;
* cold analyse of ixazomib_ndmm within 1.3x of importing numpy, pandas, matplotlib.pyplot
  and scipy.special;
* build to HTML and DOCX at most 0.7x the R Markdown peer (``benchmarks/peer/``) computing
  and rendering the same tables and figures, when ``Rscript`` with rmarkdown is installed
  (run in turn with it; a first build with nothing cached is shown beside it);
* preview: a template edit in the page in under 0.5 s, a data edit in under 1.5 s (one that
  leaves the figures as they were, and one that changes the Kaplan-Meier figure);
* scale: a synthetic study of 100, 1,000, 10,000 and 100,000 patients (ten adverse-event
  rows each: 1,000,000 at 1,000x), wall time and peak memory of analyse and of the HTML
  render; growth from 10,000 to 100,000 patients at most 12x, 100,000 patients analysed in
  under 20 s with a peak under 1.5 GB;
* ``make -j2 report`` building the two studies side by side against ``make -j1``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
GNU_TIME = "/usr/bin/time"
STUDY = "ixazomib_ndmm"
SCALES = (1, 10, 100, 1000)
PATIENTS_AT_1X = 100
PEER = ROOT / "benchmarks" / "peer" / f"{STUDY}.Rmd"


@dataclass
class Runs:
    """Measurements of one command over several runs."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    peak_mb: list[float] = field(default_factory=list)

    @staticmethod
    def _median(xs: list[float]) -> float:
        return statistics.median(xs) if xs else float("nan")

    @property
    def median(self) -> float:
        return self._median(self.wall)

    @property
    def cpu_median(self) -> float:
        return self._median(self.cpu)

    @property
    def peak_median(self) -> float:
        return self._median(self.peak_mb)


@dataclass
class Row:
    """One line of the final table."""

    name: str
    value: str
    spread: str
    target: str
    ok: bool | None
    note: str = ""


def timed(cmd: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Run ``cmd`` once; return (wall seconds, CPU seconds, peak resident MB). Fails loudly."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        full = [GNU_TIME, "-f", "%U %S %M", "-o", out.name, *cmd] if Path(GNU_TIME).exists() else list(cmd)
        start = time.perf_counter()
        proc = subprocess.run(full, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"benchmark command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
        fields = out.read().split()
    if len(fields) >= 3:
        user, system, peak_kb = float(fields[-3]), float(fields[-2]), float(fields[-1])
        return wall, user + system, peak_kb / 1024
    return wall, float("nan"), float("nan")


def _record(runs: Runs, measured: tuple[float, float, float]) -> None:
    wall, cpu, peak = measured
    runs.wall.append(wall)
    runs.cpu.append(cpu)
    runs.peak_mb.append(peak)


def repeat(cmd: Sequence[str], runs: int, cwd: Path = ROOT, env: dict[str, str] | None = None,
           before: Callable[[], None] | None = None) -> Runs:
    out = Runs()
    for _ in range(runs):
        if before:
            before()
        _record(out, timed(cmd, cwd, env))
    return out


def spread(xs: list[float], unit: str = "s") -> str:
    return f"{min(xs):.3f}–{max(xs):.3f} {unit}" if xs else ""


def seconds_row(name: str, runs: Runs, limit: float | None, note: str = "") -> Row:
    ok = None if limit is None else runs.median < limit
    target = f"< {limit:g} s" if limit is not None else ""
    return Row(name, f"{runs.median:.3f} s", spread(runs.wall), target, ok,
               note or f"CPU {runs.cpu_median:.2f} s")


def project_copy(dest: Path, studies: Sequence[str] = (STUDY,)) -> Path:
    """A throw-away project folder (data and templates of ``studies``) so no benchmark
    writes into the repository's build/ or report/."""
    if dest.exists():
        shutil.rmtree(dest)
    for sid in studies:
        shutil.copytree(ROOT / "data" / sid, dest / "data" / sid)
        if (ROOT / "templates" / sid).is_dir():
            shutil.copytree(ROOT / "templates" / sid, dest / "templates" / sid)
    shutil.copytree(ROOT / "templates" / "_shared", dest / "templates" / "_shared")
    return dest


def analysis_cmd(*args: str) -> list[str]:
    return [PYTHON, "-m", "analysis", *args]


def env_here() -> dict[str, str]:
    """The environment for commands: this checkout's ``analysis`` first on the path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    return env


# -- the figures ------------------------------------------------------------------------------
def bench_startup(runs: int, work: Path) -> list[Row]:
    rows = []
    for args in (("--help",), ("list",), ("lint",)):
        r = repeat(analysis_cmd(*args), runs, env=env_here())
        rows.append(seconds_row(f"start-up: analysis {' '.join(args)}", r, 0.25))
    return rows


def bench_cold(runs: int, work: Path) -> list[Row]:
    env = env_here()
    base = repeat([PYTHON, "-c", "import numpy, pandas, matplotlib.pyplot, scipy.special"], runs, env=env)
    root = project_copy(work / "cold")
    analyse = repeat(analysis_cmd("--root", str(root), "analyse", "-q", STUDY), runs, env=env)
    ratio = analyse.median / base.median
    cpu_ratio = analyse.cpu_median / base.cpu_median
    return [
        seconds_row("import numpy, pandas, matplotlib.pyplot, scipy.special", base, None),
        seconds_row(f"cold analyse {STUDY}", analyse, None),
        Row("cold analyse / imports", f"{ratio:.2f}x", "", "<= 1.3x", ratio <= 1.3, f"CPU {cpu_ratio:.2f}x"),
    ]


def _rmarkdown_available() -> bool:
    if shutil.which("Rscript") is None:
        return False
    proc = subprocess.run(["Rscript", "-e", "cat(requireNamespace('rmarkdown', quietly=TRUE))"],
                          capture_output=True, text=True)
    return proc.stdout.strip().endswith("TRUE")


def _empty_caches(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` with fresh, empty cache folders: the user's cache (the figures' pictures) and the
    temporary folder (Jinja's compiled templates), as on a machine that never built before."""
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "cache").mkdir(parents=True)
    (folder / "tmp").mkdir()
    return {**env, "XDG_CACHE_HOME": str(folder / "cache"), "TMPDIR": str(folder / "tmp")}


def bench_build(runs: int, work: Path) -> list[Row]:
    """The build against the R Markdown peer, run in turn (build, peer, build, peer ...) so a
    machine whose speed drifts slows both alike. A first build is run before (it fills the
    caches every later build on the machine reuses: compiled templates, figure pictures);
    a build with empty caches is measured too."""
    env = env_here()
    root = project_copy(work / "build")
    cmd = analysis_cmd("--root", str(root), "build", "-q", STUDY, "--formats", "html,docx")
    peer_cmd = None
    if _rmarkdown_available():
        peer_dir = work / "peer"
        peer_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PEER, peer_dir / PEER.name)
        script = (f"rmarkdown::render({str(peer_dir / PEER.name)!r}, output_format=c('html_document','word_document'),"
                  f" params=list(data={str(ROOT / 'data' / STUDY)!r}), quiet=TRUE)")
        peer_cmd = ["Rscript", "-e", script]
    timed(cmd, env=env)
    build, peer, first = Runs(), Runs(), Runs()
    for _ in range(runs):
        _record(build, timed(cmd, env=env))
        if peer_cmd:
            _record(peer, timed(peer_cmd))
        _record(first, timed(cmd, env=_empty_caches(env, work / "empty-caches")))
    rows = [seconds_row(f"build {STUDY} to HTML + DOCX", build, None),
            seconds_row(f"build {STUDY}, nothing cached (a first build)", first, None)]
    if peer_cmd:
        rows.append(seconds_row("R Markdown peer to HTML + DOCX (benchmarks/peer)", peer, None))
        reference, label = peer.median, "R Markdown peer"
    else:
        reference, label = 2.6, "R Markdown peer (stated 2.6 s: rmarkdown not installed)"
    ratio = build.median / reference
    note = f"CPU {build.cpu_median / peer.cpu_median:.2f}x" if peer_cmd else ""
    rows.append(Row(f"build / {label}", f"{ratio:.2f}x", "", "<= 0.7x", ratio <= 0.7, note))
    rows.append(Row(f"first build / {label}", f"{first.median / reference:.2f}x", "", "", None,
                    "nothing cached: compiles every template, rasterises every figure"))
    return rows


def _process_cpu(pid: int) -> float:
    """CPU seconds of a running process, of its children it has waited for, and of those
    still running with their own (the preview's pandoc, kept running; Linux /proc), 0 where
    /proc is not there."""
    stats = {}
    for folder in Path("/proc").glob("[0-9]*"):
        try:
            stats[int(folder.name)] = (folder / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # ended meanwhile
    children: dict[int, list[int]] = {}
    for child, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(child)  # by parent
    tree, total = [pid], 0
    while tree:
        this = tree.pop()
        if this in stats:
            total += sum(int(x) for x in stats[this][11:15])  # utime stime cutime cstime
            tree += children.get(this, [])
    return total / os.sysconf("SC_CLK_TCK")


def _edited(lines: list[str], column: str, row: int, value: str) -> str:
    """The CSV ``lines`` with ``column`` of data row ``row`` set to ``value``."""
    header = lines[0].split(",")
    cells = lines[row].split(",")
    cells[header.index(column)] = value
    return "\n".join([*lines[:row], ",".join(cells), *lines[row + 1:]]) + "\n"


def _preview_edits(runs: int, root: Path) -> tuple[Runs, Runs, Runs]:
    """Time from saving a file to the page holding the change, through the HTTP server: a
    template edit, a data edit that leaves the figures as they were (one patient's age: the
    baseline table and the prose change), and one that changes the Kaplan-Meier figure (one
    patient's progression-free survival time)."""
    sys.path.insert(0, str(ROOT))
    from analysis.preview import Preview

    template = root / "templates" / STUDY / "04-discussion.md.j2"
    data = root / "data" / STUDY / "patients.csv"
    original_template, original_data = template.read_text(encoding="utf-8"), data.read_text(encoding="utf-8")
    template_runs, data_runs, figure_runs = Runs(), Runs(), Runs()
    with Preview(root, STUDY, port=0, log=lambda _m: None) as preview:

        def fetch(path: str = "") -> str:
            with urllib.request.urlopen(preview.url + path, timeout=120) as response:
                return response.read().decode("utf-8")

        def until_changed(since: int) -> dict:
            while True:
                state = json.loads(fetch(f"__version?since={since}"))
                if state["version"] != since:
                    return state

        def cpu() -> float:  # this process's threads and the build process with its pandoc calls
            worker = preview._worker
            return sum(os.times()[:4]) + (_process_cpu(worker.pid) if worker is not None else 0.0)

        def one_edit(write: Callable[[], None], marker: str | None, into: Runs) -> None:
            since = json.loads(fetch("__version"))["version"]
            time.sleep(0.1)  # a distinct file time
            cpu0, start = cpu(), time.perf_counter()
            write()
            state = until_changed(since)
            page = fetch()
            into.wall.append(time.perf_counter() - start)
            into.cpu.append(cpu() - cpu0)
            if state["error"] or (marker and marker not in page):
                raise SystemExit(f"preview benchmark: the edit did not show: {state['error']}")

        for i in range(runs):
            marker = f"Preview benchmark marker {'x' * (i + 1)}."
            one_edit(lambda m=marker: template.write_text(original_template + f"\n{m}\n", encoding="utf-8"),
                     marker, template_runs)
        lines = original_data.splitlines()
        age = lines[0].split(",").index("age")
        pfs = lines[0].split(",").index("pfs_months")
        first_age, first_pfs = int(lines[1].split(",")[age]), float(lines[1].split(",")[pfs])
        for i in range(runs):  # the first patient a year older, then as before
            text = _edited(lines, "age", 1, str(first_age + 1 if i % 2 == 0 else first_age))
            one_edit(lambda t=text: data.write_text(t, encoding="utf-8"), None, data_runs)
        for i in range(runs):  # the first patient's progression a month later, then as before
            text = _edited(lines, "pfs_months", 1, f"{first_pfs + 1 if i % 2 == 0 else first_pfs:.2f}")
            one_edit(lambda t=text: data.write_text(t, encoding="utf-8"), None, figure_runs)
    template.write_text(original_template, encoding="utf-8")
    data.write_text(original_data, encoding="utf-8")
    return template_runs, data_runs, figure_runs


def bench_preview(runs: int, work: Path) -> list[Row]:
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")
    root = project_copy(work / "preview")
    template_runs, data_runs, figure_runs = _preview_edits(runs, root)
    return [seconds_row(f"preview: template edit shown ({STUDY})", template_runs, 0.5,
                        f"render only; CPU {template_runs.cpu_median:.2f} s"),
            seconds_row(f"preview: data edit shown ({STUDY})", data_runs, 1.5,
                        f"an age: analyse + render, warm, figures unchanged; CPU {data_runs.cpu_median:.2f} s"),
            seconds_row(f"preview: data edit redrawing a figure ({STUDY})", figure_runs, 1.5,
                        f"a PFS time: the KM figure drawn again; CPU {figure_runs.cpu_median:.2f} s")]


def bench_scale(runs: int, work: Path, scales: Sequence[int]) -> list[Row]:
    env = env_here()
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale_study import AE_PER_PATIENT, write_study

    rows, analyse_median = [], {}
    for factor in scales:
        n = PATIENTS_AT_1X * factor
        root = write_study(work / f"scale-{factor}", n)
        label = f"{factor}x: {n:,} patients, {n * AE_PER_PATIENT:,} AE rows"
        heavy = factor >= 100
        k = max(1, runs // 2) if heavy else runs
        analyse = repeat(analysis_cmd("--root", str(root), "analyse", "-q", STUDY), k, env=env)
        render = repeat(analysis_cmd("--root", str(root), "render", "-q", STUDY, "--formats", "html"), k, env=env)
        analyse_median[factor] = analyse.median
        big = factor == 1000
        rows.append(Row(f"scale {label}: analyse", f"{analyse.median:.2f} s", spread(analyse.wall),
                        "< 20 s" if big else "", (analyse.median < 20) if big else None,
                        f"peak {analyse.peak_median:.0f} MB, CPU {analyse.cpu_median:.1f} s"))
        if big:
            rows.append(Row(f"scale {label}: analyse peak memory", f"{analyse.peak_median:.0f} MB",
                            spread(analyse.peak_mb, "MB"), "< 1536 MB", analyse.peak_median < 1536))
        rows.append(Row(f"scale {label}: render HTML", f"{render.median:.2f} s", spread(render.wall), "", None,
                        f"peak {render.peak_median:.0f} MB; whole manuscript, tables and figures"))
    if 10 in analyse_median and 100 in analyse_median:
        g = analyse_median[100] / analyse_median[10]
        rows.append(Row("scale growth 1,000 -> 10,000 patients", f"{g:.1f}x", "", "", None))
    if 100 in analyse_median and 1000 in analyse_median:
        g = analyse_median[1000] / analyse_median[100]
        rows.append(Row("scale growth 10,000 -> 100,000 patients", f"{g:.1f}x", "", "<= 12x", g <= 12))
    return rows


def bench_make(runs: int, work: Path) -> list[Row]:
    """``make report`` of both studies, serial and with -j2, on a copy of the project."""
    if shutil.which("make") is None:
        return [Row("make -j2 report", "skipped", "", "", None, "make is not installed")]
    studies = sorted(p.parent.name for p in (ROOT / "data").glob("*/study.yaml"))
    root = project_copy(work / "make", studies)
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, root / name)
    shutil.copytree(ROOT / "analysis", root / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(f'#!/bin/sh\nexec "{PYTHON}" "$@"\n')
    (venv_bin / "python").chmod(0o755)
    time.sleep(0.01)
    (root / ".venv" / ".installed").touch()

    def clean() -> None:
        for folder in ("build", "report"):
            shutil.rmtree(root / folder, ignore_errors=True)

    env = env_here()
    env["PYTHONPATH"] = str(root)
    serial = repeat(["make", "--no-print-directory", "-j1", "report"], runs, cwd=root, env=env, before=clean)
    parallel = repeat(["make", "--no-print-directory", "-j2", "report"], runs, cwd=root, env=env, before=clean)
    speedup = serial.median / parallel.median
    return [seconds_row(f"make -j1 report ({len(studies)} studies, all formats)", serial, None),
            seconds_row(f"make -j2 report ({len(studies)} studies, all formats)", parallel, None),
            Row("make -j2 speed-up", f"{speedup:.2f}x", "", "> 1x (2 cores)", speedup > 1.0,
                f"{os.cpu_count()} CPUs on this machine")]


def print_table(rows: list[Row]) -> None:
    width = max(len(r.name) for r in rows)
    print(f"\n{'figure':<{width}}  {'median':>10}  {'min–max':<19}  {'target':<14}  ok   note")
    for r in rows:
        flag = {True: "yes", False: "NO", None: ""}[r.ok]
        print(f"{r.name:<{width}}  {r.value:>10}  {r.spread:<19}  {r.target:<14}  {flag:<4} {r.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = ["startup", "cold", "build", "preview", "scale", "make"]
    parser.add_argument("--only", nargs="+", choices=names, default=names, help="run only these figures")
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (heavy ones use fewer)")
    parser.add_argument("--quick", action="store_true", help="3 runs, scale up to 100x, one make run")
    parser.add_argument("--scales", type=int, nargs="+", default=None, help=f"scale factors (default {SCALES})")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (printed)")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    scales = args.scales or (SCALES[:3] if args.quick else SCALES)
    # the project's bytecode, as an installed package has it (and `make install` compiles it):
    # with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile every module anew
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(ROOT / "analysis")], check=True)
    work = Path(tempfile.mkdtemp(prefix="analysis-bench-"))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"benchmarks: {runs} runs per figure, {os.cpu_count()} CPUs, load average {load:.1f}; work folder {work}")
    rows: list[Row] = []
    try:
        sections: dict[str, Callable[[], list[Row]]] = {
            "startup": lambda: bench_startup(runs, work),
            "cold": lambda: bench_cold(runs, work),
            "build": lambda: bench_build(max(1, runs // 2 + 1), work),
            "preview": lambda: bench_preview(runs, work),
            "scale": lambda: bench_scale(runs, work, scales),
            "make": lambda: bench_make(1 if args.quick else max(1, runs // 2), work),
        }
        for name in args.only:
            print(f"... {name}", flush=True)
            try:
                found = sections[name]()
            except SystemExit as exc:  # one failing figure must not lose the others
                found = [Row(f"{name}: FAILED", "", "", "", False, str(exc).splitlines()[0][:100])]
                print(exc, file=sys.stderr)
            for row in found:
                print(f"    {row.name}: {row.value} ({row.spread}) {row.target} {row.note}", flush=True)
            rows += found
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows)
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "benchmarks"
    sys.exit(main())
