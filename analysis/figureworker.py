"""The figure worker: a child process that draws the analysis' figures while the analysis goes on.

matplotlib is about a third of a cold analysis (importing it, laying each figure out, writing its
SVG), and all of it is Python, holding the interpreter. So the engine's figure builders
(:meth:`~analysis.context.StudyContext.km_figure`, ``score_figure``, ``forest_figure``,
:func:`~analysis.consort.add_consort`) do not draw: each gives the study context a
:class:`FigureRecipe`, the name of the drawing function and its plain-data arguments. While an
analysis runs (:func:`figure_worker`), a child process forked at its start imports matplotlib as
the parent reads the data, draws each recipe as it is handed over and writes its SVG; the
pipeline collects the files when the script has finished (:func:`analysis.figurefiles.save_svgs`).
A second core does the drawing; the figures are byte for byte those the parent would draw.

Where forking is not safe (see :func:`analysis.figurefiles.can_fork`), on a single core, or with
no worker running (a notebook, a test calling the script directly), a recipe is drawn in this
process when its figure is saved or asked for (:meth:`analysis.results.Figure.drawn`). A figure
the worker could not draw is drawn again here, so the error raised is the real one.

Jobs travel as pickle files in the worker's folder and one line per job on a pipe, so handing
over a large figure never waits for the worker to finish the previous one. A figure handed over
with the same data as the last time this process drew it (the preview, rebuilding after a data
edit that left the figure as it was) is not drawn again: its SVG is reused.
"""

from __future__ import annotations

import gc
import hashlib
import importlib
import os
import pickle
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import ResultsError

__all__ = ["FigureRecipe", "FigureWorker", "active", "figure_worker"]


@dataclass(frozen=True)
class FigureRecipe:
    """How to draw a figure: ``function`` (``"package.module:name"``, a function returning a
    matplotlib Figure) called with ``args`` and ``kwargs``, which must be picklable (plain data:
    numbers, strings, the figure modules' dataclasses). Naming the function instead of holding
    it keeps matplotlib out of the process that only describes the figure."""

    function: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        module, _, name = self.function.partition(":")
        if not module or not name.isidentifier() or not all(p.isidentifier() for p in module.split(".")):
            raise ResultsError(f"figure recipe {self.function!r}: name the drawing function as "
                               f"'package.module:function', e.g. 'analysis.figures.km:km_panels'")

    def draw(self) -> Any:
        """Import the function and call it: the matplotlib Figure."""
        module, _, name = self.function.partition(":")
        try:
            function = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ResultsError(f"figure recipe {self.function!r}: cannot import the drawing function ({exc})") from None
        return function(*self.args, **dict(self.kwargs))


class FigureWorker:
    """A forked child process drawing :class:`FigureRecipe` objects into SVG files.

    :meth:`submit` hands a recipe over and returns at once; :meth:`collect` waits until every
    figure handed over is drawn and moves the SVGs into a folder; :meth:`stop` ends the child
    early (an analysis that failed). Create one with :func:`figure_worker`.
    """

    def __init__(self, folder: Path | None = None) -> None:
        import numpy  # noqa: F401 - both processes need it: imported once, before the fork

        # where the drawings are made: ``folder`` (new and empty; removed by stop()), or a
        # temporary folder
        self._folder = folder if folder is not None else Path(tempfile.mkdtemp(prefix="figure-worker-"))
        self._submitted: list[str] = []
        self._digests: dict[str, str | None] = {}  # by figure id; None: not to be kept (see _DRAWN)
        try:
            read, self._write = os.pipe()
        except OSError:
            self._remove()
            raise
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            self._pid = os.fork()
        except OSError:
            os.close(read)
            os.close(self._write)
            self._remove()
            raise
        if self._pid == 0:  # the child: draw until the pipe closes, then leave without exit handlers
            code = 0
            try:
                _forked()
                os.close(self._write)
                _serve(read, self._folder)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(read)

    @property
    def submitted(self) -> tuple[str, ...]:
        """The ids of the figures handed over, in order."""
        return tuple(self._submitted)

    def submit(self, fig_id: str, recipe: FigureRecipe) -> bool:
        """Hand ``recipe`` over to be drawn as ``<fig_id>.svg`` (or reuse the SVG this process
        last drew from the same data); False (not handed over: it is drawn in this process when
        saved) when its arguments cannot be pickled."""
        if self._write < 0:
            raise RuntimeError("the figure worker has stopped")
        try:
            data = pickle.dumps((fig_id, recipe), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # a lambda, an open file ...: fine in this process, not across
            return False
        digest = hashlib.sha256(data).hexdigest()
        self._digests[fig_id] = digest if _reusable(recipe) else None
        kept = _DRAWN.get(fig_id)
        if kept is not None and kept[0] == digest:  # drawn from the same data before: no job
            (self._folder / f"{fig_id}.svg").write_bytes(kept[1])
            self._submitted.append(fig_id)
            return True
        job = f"{len(self._submitted)}.job"
        part = self._folder / f"{job}.part"
        part.write_bytes(data)
        part.rename(self._folder / job)
        self._submitted.append(fig_id)
        with suppress(BrokenPipeError):  # the child died: collect() finds no SVG and it is drawn here
            os.write(self._write, f"{job}\n".encode())
        return True

    def collect(self, folder: Path) -> list[str]:
        """Wait for the child to draw everything handed over; move each SVG into ``folder``.
        Return the ids it did not draw (it failed or died), for the caller to draw itself."""
        self._close_pipe()
        os.waitpid(self._pid, 0)
        self._pid = 0
        folder.mkdir(parents=True, exist_ok=True)
        missing = []
        for fig_id in dict.fromkeys(self._submitted):
            svg = self._folder / f"{fig_id}.svg"
            if svg.is_file():
                digest = self._digests.get(fig_id)
                if digest is not None:
                    _DRAWN[fig_id] = (digest, svg.read_bytes())
                shutil.move(svg, folder / svg.name)
            else:
                missing.append(fig_id)
        self._remove()
        return missing

    def stop(self) -> None:
        """End the child without waiting for its drawings, and remove its files."""
        self._close_pipe()
        if self._pid:
            with suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        self._remove()

    def _close_pipe(self) -> None:
        if self._write >= 0:
            os.close(self._write)
            self._write = -1

    def _remove(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)


def _forked() -> None:
    """In a forked child: leave the objects inherited from the parent out of garbage collection.
    A collection would touch every one of them (a large heap in a warm process such as the
    preview's), copying the parent's memory page by page for nothing."""
    gc.freeze()


def _serve(jobs_fd: int, folder: Path) -> None:
    """The child's loop: import matplotlib while the parent computes, then draw each job in a
    process of its own forked from here (matplotlib already imported), as many at a time as
    there are cores, so a large figure does not hold up the others."""
    # Only the pipe is kept: an inherited lock or output file must not outlive the parent's use
    os.closerange(3, jobs_fd)
    os.closerange(jobs_fd + 1, _max_fd())
    for module in ("matplotlib.pyplot", "matplotlib.backends.backend_svg", "analysis.figures.style"):
        importlib.import_module(module)  # before the first job, while the parent computes

    running: set[int] = set()
    with os.fdopen(jobs_fd, "rb") as jobs:
        for line in jobs:
            if len(running) >= _cores():
                running.discard(os.wait()[0])
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    _forked()
                    code = _draw(folder / line.decode().strip(), folder)
                finally:
                    os._exit(code)
            running.add(pid)
    for pid in running:
        os.waitpid(pid, 0)


def _draw(job: Path, folder: Path) -> int:
    """Draw one job file into ``<id>.svg``; 0 if it was drawn. A figure that fails leaves no
    SVG: the parent draws it again and raises the real error."""
    import matplotlib.pyplot as plt

    from analysis.figurefiles import svg_bytes
    from analysis.figures.style import figure_context

    fig_id, recipe = pickle.loads(job.read_bytes())
    job.unlink()
    try:
        with figure_context():
            figure = recipe.draw()
            data = svg_bytes(figure)
        plt.close(figure)
    except Exception:
        return 1
    part = folder / f"{fig_id}.svg.part"
    part.write_bytes(data)
    part.rename(folder / f"{fig_id}.svg")
    return 0


def _max_fd() -> int:
    try:
        return os.sysconf("SC_OPEN_MAX")
    except (ValueError, OSError):  # pragma: no cover - not POSIX
        return 1024


#: The SVG last drawn in this process for each figure id, with the digest of the recipe it was
#: drawn from: a process that builds again and again (the preview) hands over only the figures
#: whose data changed. Only the engine's own drawing functions (``analysis.figures``, which a
#: running process never reloads) qualify; a study script's, imported afresh, does not.
_DRAWN: dict[str, tuple[str, bytes]] = {}


def _reusable(recipe: FigureRecipe) -> bool:
    return recipe.function.startswith("analysis.figures.")


_ACTIVE: list[FigureWorker] = []


def active() -> FigureWorker | None:
    """The worker of the analysis running in this process, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


@contextmanager
def figure_worker(enabled: bool = True, beside: Path | None = None) -> Iterator[FigureWorker | None]:
    """Run a :class:`FigureWorker` (the :func:`active` one) for the duration of the block, when
    ``enabled``, forking is safe, there is a second core and the system gives a folder and a
    process; yield it, or None (the figures are then drawn in this process). A block that
    ends before :meth:`FigureWorker.collect` stops the worker and discards its drawings.

    The worker draws in a working folder beside ``beside`` (the output folder of the
    analysis; :func:`analysis.outputs.scratch_dir`), which the next build removes if this one
    is killed, or else in a temporary folder."""
    from analysis.figurefiles import can_fork

    worker = None
    if enabled and can_fork() and _cores() > 1:
        folder = None
        try:
            if beside is not None:
                from analysis.outputs import scratch_dir

                folder = scratch_dir(beside)
            worker = FigureWorker(folder)
        except OSError:  # no folder, pipe or process to spare: draw here instead
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
            worker = None
    if worker is None:
        yield None
        return
    _ACTIVE.append(worker)
    try:
        yield worker
    finally:
        _ACTIVE.remove(worker)
        worker.stop()  # nothing left to stop once collected

