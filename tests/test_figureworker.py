"""The figure worker draws recipes in a child process, byte for byte as this process would, and
anything it could not draw is drawn here so the real error is raised."""

from __future__ import annotations

import os
import sys

import pytest

from analysis.figurefiles import can_fork, save_svgs
from analysis.figureworker import FigureRecipe, active, figure_worker
from analysis.results import Figure

pytestmark = pytest.mark.skipif(not can_fork() or len(os.sched_getaffinity(0)) < 2,
                                reason="the figure worker needs Linux, fork and two cores")

# A drawing function the worker imports by name (this test module is importable as tests.*).
BARS = FigureRecipe("tests.test_figureworker:bars", (("A", "B"), (3, 5)), {"title": "Responses"})


def bars(labels, heights, title=""):
    """A small bar chart in house style."""
    from analysis.figures.style import figure_context, new_figure

    with figure_context():
        fig, ax = new_figure(3.0, 2.0)
        ax.bar(list(labels), list(heights))
        ax.set_title(title)
    return fig


def titled(labels, heights, title_of):
    """A bar chart whose title comes from a function (which cannot be pickled when a lambda)."""
    return bars(labels, heights, title_of())


def broken(message):
    """A drawing function that fails."""
    raise ValueError(message)


def test_a_recipe_drawn_by_the_worker_equals_one_drawn_here(tmp_path):
    with figure_worker() as worker:
        assert worker is not None and active() is worker
        worker.submit("fig-bars", BARS)
        finish = save_svgs({"fig-bars": Figure("fig-bars", "Bars", BARS)}, tmp_path / "there", worker=worker)
        finish()
    assert active() is None
    save_svgs({"fig-bars": Figure("fig-bars", "Bars", BARS)}, tmp_path / "here")()
    there = (tmp_path / "there" / "fig-bars.svg").read_bytes()
    assert there == (tmp_path / "here" / "fig-bars.svg").read_bytes()
    assert there.startswith(b"<?xml") and b"<svg" in there


def test_a_figure_the_worker_cannot_draw_is_drawn_here_and_raises_the_real_error(tmp_path):
    bad = FigureRecipe("tests.test_figureworker:broken", ("no data for the figure: boom",))
    figures = {"fig-bars": Figure("fig-bars", "Bars", BARS), "fig-bad": Figure("fig-bad", "Bad", bad)}
    with figure_worker() as worker:
        for fig_id, record in figures.items():
            worker.submit(fig_id, record.recipe)
        finish = save_svgs(figures, tmp_path, worker=worker)
        with pytest.raises(ValueError, match="boom"):
            finish()
    assert (tmp_path / "fig-bars.svg").is_file()


def test_a_worker_that_died_costs_nothing_but_time(tmp_path):
    with figure_worker() as worker:
        os.kill(worker._pid, 9)
        worker.submit("fig-bars", BARS)  # the pipe is broken: nothing is raised here
        assert worker.collect(tmp_path) == ["fig-bars"]
    figures = {"fig-bars": Figure("fig-bars", "Bars", BARS)}
    with figure_worker() as worker:
        os.kill(worker._pid, 9)
        worker.submit("fig-bars", BARS)
        save_svgs(figures, tmp_path / "redrawn", worker=worker)()
    assert (tmp_path / "redrawn" / "fig-bars.svg").is_file()


def test_a_failed_block_stops_the_worker_and_removes_its_files():
    with pytest.raises(RuntimeError, match="the script failed"), figure_worker() as worker:
        folder, pid = worker._folder, worker._pid
        worker.submit("fig-bars", BARS)
        raise RuntimeError("the script failed")
    assert not folder.exists()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, 0)  # reaped already
    with pytest.raises(RuntimeError, match="stopped"):
        worker.submit("fig-bars", BARS)


def test_no_worker_where_it_cannot_run(monkeypatch, tmp_path):
    import analysis.figurefiles as ff

    with figure_worker(enabled=False) as worker:
        assert worker is None and active() is None
    monkeypatch.setattr(ff, "can_fork", lambda: False)
    with figure_worker() as worker:
        assert worker is None
    monkeypatch.setattr(ff, "can_fork", lambda: True)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
    with figure_worker() as worker:
        assert worker is None
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1})
    monkeypatch.setattr("analysis.figureworker.tempfile.mkdtemp", lambda **_kw: (_ for _ in ()).throw(
        OSError(30, "Read-only file system")))
    with figure_worker() as worker:
        assert worker is None  # an optimisation: no temporary folder, no worker, no error
    # without a worker the recipe is drawn in this process when saved
    record = Figure("fig-bars", "Bars", BARS)
    save_svgs({"fig-bars": record}, tmp_path)()
    assert (tmp_path / "fig-bars.svg").is_file() and record.recipe is None


def test_a_recipe_is_drawn_on_demand():
    record = Figure("fig-bars", "Bars", BARS)
    assert record.recipe is BARS
    fig = record.drawn()
    assert type(fig).__name__ == "Figure" and fig.axes[0].get_title() == "Responses"
    assert record.recipe is None and record.drawn() is fig


def test_the_study_figures_are_drawn_by_the_worker_during_the_analysis(tmp_path):
    """Each engine builder hands its figure over as the script calls it, and the analysing
    process itself never imports matplotlib (checked in a fresh interpreter)."""
    import subprocess

    from tests.conftest import REPO, copy_real_study

    root = copy_real_study(tmp_path / "project", "ixazomib_ndmm")
    probe = ("import sys; from analysis.pipeline import analyse; "
             "from analysis import figureworker as fw; seen = []; submit = fw.FigureWorker.submit; "
             "fw.FigureWorker.submit = lambda self, i, r: (seen.append(i), submit(self, i, r)); "
             "analyse(__import__('pathlib').Path(sys.argv[1]), 'ixazomib_ndmm'); "
             "print(seen, 'matplotlib' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", probe, str(root)], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[0] == "['fig-consort', 'fig-survival', 'fig-scores'] False"
    svgs = sorted(p.name for p in (root / "build" / "ixazomib_ndmm" / "figures").iterdir())
    assert svgs == ["fig-consort.svg", "fig-scores.svg", "fig-survival.svg"]


def test_a_recipe_that_cannot_travel_is_drawn_here(tmp_path):
    """Arguments that cannot be pickled (a lambda) stay in this process: the figure is drawn
    when it is saved, and nothing fails."""
    local = FigureRecipe("tests.test_figureworker:bars", (("A",), (1,)), {"title": "Local"})
    odd = FigureRecipe("tests.test_figureworker:titled", (("A",), (1,)), {"title_of": lambda: "Odd"})
    with figure_worker() as worker:
        assert worker.submit("fig-local", local) is True
        assert worker.submit("fig-odd", odd) is False
        assert worker.submitted == ("fig-local",)
        figures = {"fig-local": Figure("fig-local", "Local", local), "fig-odd": Figure("fig-odd", "Odd", odd)}
        save_svgs(figures, tmp_path, worker=worker)()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig-local.svg", "fig-odd.svg"]
    assert figures["fig-odd"].recipe is None  # drawn in this process


def test_a_recipe_names_an_importable_function():
    from analysis.errors import ResultsError

    with pytest.raises(ResultsError, match="'package.module:function'"):
        FigureRecipe("analysis.figures.km.km_panels")
    with pytest.raises(ResultsError, match="cannot import the drawing function"):
        FigureRecipe("analysis.figures.km:no_such_function").draw()
    with pytest.raises(ResultsError, match="cannot import the drawing function"):
        FigureRecipe("analysis.no_such_module:draw").draw()


def test_a_figure_drawn_before_from_the_same_data_is_reused(tmp_path, monkeypatch):
    """The preview's case: the engine's figure whose data did not change is not drawn again
    (no job reaches the worker), one whose data changed is; a study's own drawing function,
    which may be edited and imported afresh, is always drawn."""
    import analysis.figureworker as fw
    from analysis.figures.scores import ArmScores, ScorePanel

    monkeypatch.setattr(fw, "_DRAWN", {})

    def recipe(after):
        panel = ScorePanel("NRS", (ArmScores("ID", 6.1, 1.2, after, 1.1, 0.001), ArmScores("RD", 6.0, 1.3, 4.2, 1.2)))
        return FigureRecipe("analysis.figures.scores:before_after_figure", ([panel],))

    def build(folder, recipes):
        jobs = []
        with figure_worker() as worker:
            real = os.write
            monkeypatch.setattr(fw.os, "write", lambda fd, b: jobs.append(b) or real(fd, b))
            for fig_id, r in recipes.items():
                worker.submit(fig_id, r)
            monkeypatch.setattr(fw.os, "write", real)
            save_svgs({i: Figure(i, "A figure", r) for i, r in recipes.items()}, folder, worker=worker)()
        return len(jobs)

    assert build(tmp_path / "1", {"fig-nrs": recipe(3.4), "fig-bars": BARS}) == 2
    assert build(tmp_path / "2", {"fig-nrs": recipe(3.4), "fig-bars": BARS}) == 1  # fig-bars: a test's function
    assert (tmp_path / "2" / "fig-nrs.svg").read_bytes() == (tmp_path / "1" / "fig-nrs.svg").read_bytes()
    assert build(tmp_path / "3", {"fig-nrs": recipe(2.9), "fig-bars": BARS}) == 2  # new data: drawn
    assert (tmp_path / "3" / "fig-nrs.svg").read_bytes() != (tmp_path / "1" / "fig-nrs.svg").read_bytes()
    save_svgs({"fig-nrs": Figure("fig-nrs", "A figure", recipe(2.9))}, tmp_path / "here")()
    assert (tmp_path / "3" / "fig-nrs.svg").read_bytes() == (tmp_path / "here" / "fig-nrs.svg").read_bytes()
