"""The preview's build process: rebuilds a study on request, imports kept warm between builds.

:class:`analysis.preview.Preview` serves pages and watches files with threads; the builds run
here, in a process of their own with a single thread, so that a build may fork the figure
worker that draws the figures while the script runs (:mod:`analysis.figureworker`), which is
not safe in a process with other threads. Its HTML is rendered by a pandoc kept running as
long as it runs (:class:`analysis.htmlsession.HtmlSession`), which reads again only the parts
of the manuscript an edit changed. One JSON request per line on stdin::

    {"analyse": true}      analyse (the study script imported afresh), then render
    {"analyse": false}     render only

and one JSON reply per line on the original stdout: ``{"error": ..., "failed": "analyse" |
"render" | null, "analysed": bool}``. Anything the study prints goes to stderr instead, so it
cannot garble a reply. The process ends when stdin closes.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

from analysis.htmlsession import HtmlSession

__all__ = ["serve_builds"]


def _forget_script(study_id: str) -> None:
    """Make the next analysis import the study script afresh (it may have changed)."""
    module = sys.modules.pop(f"analysis.studies.{study_id}", None)
    origin = getattr(module, "__file__", None)
    if origin:
        # the bytecode cache is keyed on whole-second mtimes and size: a quick edit of the same
        # length would otherwise run the old code
        Path(importlib.util.cache_from_source(origin)).unlink(missing_ok=True)
    importlib.invalidate_caches()


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def _one(root: Path, study_id: str, cache: Path, out: Path, analyse: bool, session: HtmlSession) -> dict[str, Any]:
    from analysis.errors import AnalysisError
    from analysis.pipeline import build, render_study

    before = _stamp(cache / "results.json")
    failed = "render"
    try:
        if analyse:
            _forget_script(study_id)
            failed = "analyse"
            build(root, study_id, formats=("html",), out=out, cache=cache, quick=True, html_session=session)
        else:
            render_study(root, study_id, formats=("html",), out=out, cache=cache, quick=True, html_session=session)
        return {"error": None, "failed": None, "analysed": analyse}
    except AnalysisError as exc:
        error = str(exc)
    except Exception:  # a bug in a study script must not stop the preview
        error = traceback.format_exc(limit=-8)
    # the analysis stage succeeded if it published its folder (the render then failed)
    analysed = analyse and _stamp(cache / "results.json") != before
    return {"error": error, "failed": "render" if analysed else failed, "analysed": analysed}


def serve_builds(root: Path, study_id: str, cache: Path, out: Path) -> int:
    """Answer build requests until stdin closes (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the preview, which closes stdin
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # the study's own prints go to stderr
    with HtmlSession() as session:
        for line in sys.stdin:
            request = json.loads(line)
            replies.write(json.dumps(_one(root, study_id, cache, out, bool(request.get("analyse")), session)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(serve_builds(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])))
