"""``python -m analysis preview STUDY``: the manuscript in a browser, rebuilt as you edit.

The preview builds the study once, serves its HTML on ``127.0.0.1`` and watches what the
manuscript is made of. A change reruns only the stage it affects, in one build process that
stays up (:mod:`analysis.preview_worker`), so numpy, pandas, matplotlib and the study's own
modules stay imported; it has no threads, so a build there may fork the figure worker that
draws the figures while the script runs (:mod:`analysis.figureworker`), as ``build`` does:

* data files, ``study.yaml``, ``published.yaml`` or the study's analysis script: analyse,
  then render;
* templates of the study or ``templates/_shared``: render only.

The page reloads itself when a new version is ready (it long-polls ``/__version``; nothing
but the standard library is involved). A failed step shows its message over the last good
version of the page, which stays up until the next successful build.

For speed the preview renders HTML only, its figures and CSS linked (served from the preview
folder) rather than embedded; PDF, DOCX and the submission figure files come from ``build``. It keeps its own
analysis cache and HTML under ``build/.preview/``: neither ``build/<study>/`` (``make``'s
cache) nor ``report/`` is touched.
"""

from __future__ import annotations

import contextlib
import html
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from analysis.errors import AnalysisError

__all__ = ["BuildResult", "Preview", "serve"]

HOST = "127.0.0.1"
POLL_SECONDS = 0.025  # how often the watcher looks at file times (a look costs about 0.3 ms)
SETTLE_SECONDS = 0.02  # after a change, wait this long for the editor to finish writing
LONG_POLL_SECONDS = 20.0  # a browser's /__version request waits at most this long

_RELOAD_SCRIPT = """
<script>
/* analysis preview: reload when a new version is built, keeping the scroll position */
(function () {
  var version = %(version)d;
  var key = "analysis-preview-scroll:" + location.pathname;
  var saved = sessionStorage.getItem(key);
  if (saved !== null) { window.scrollTo(0, parseFloat(saved)); sessionStorage.removeItem(key); }
  function poll() {
    fetch("/__version?since=" + version, {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (d) {
        if (d.version !== version) {
          sessionStorage.setItem(key, String(window.scrollY));
          location.reload();
        } else { poll(); }
      })
      .catch(function () { setTimeout(poll, 1000); });
  }
  poll();
})();
</script>
"""

_OVERLAY = """
<div id="analysis-preview-error" role="alert" style="position:fixed;left:0;right:0;top:0;max-height:60vh;
overflow:auto;z-index:2147483647;margin:0;padding:1em 1.25em;background:#fff4f4;color:#5c0000;
border-bottom:3px solid #b00020;font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;
box-shadow:0 2px 12px rgba(0,0,0,.25)">
<button type="button" onclick="this.parentNode.remove()" aria-label="Hide this message"
style="float:right;font:inherit;border:1px solid #b00020;background:#fff;color:#b00020;border-radius:4px;
cursor:pointer">hide</button>
<strong style="font-family:system-ui,sans-serif">%(stage)s failed</strong>
<span style="font-family:system-ui,sans-serif">&mdash; %(note)s</span>
<pre style="white-space:pre-wrap;margin:.6em 0 0">%(message)s</pre>
</div>
"""

_EMPTY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>%(study)s: preview</title></head>
<body style="font-family:system-ui,sans-serif;margin:8em 2em 2em">
<p>No version of <code>%(study)s</code> has been built yet: fix the problem above and save.</p>
</body></html>
"""


@dataclass(frozen=True)
class BuildResult:
    """What one rebuild did: the stages it ran, how long it took, and its error if any."""

    version: int
    stages: tuple[str, ...]
    seconds: float
    error: str | None = None
    failed_stage: str | None = None


def _stamp(path: Path) -> tuple[int, int] | None:
    """A file's modification time and size, which change when it is saved; None if it is gone."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a browser that reloads or closes mid-response is not an error worth a traceback
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class Preview:
    """Build a study, serve its HTML and rebuild the stage a change affects.

    ``start()`` runs the first build (a failure is shown in the page, not raised) and starts
    the server and the watcher in background threads; ``stop()`` ends both. ``port=0`` picks a
    free port; ``url`` is where the page is.
    """

    def __init__(self, root: Path, study_id: str, port: int = 0,
                 log: Callable[[str], None] | None = None) -> None:
        self.root = Path(root).resolve()
        self.study_id = study_id
        self.out = self.root / "build" / ".preview" / study_id  # the HTML and its figures
        self.cache = self.root / "build" / ".preview" / f"{study_id}.analysis"  # results.json, SVGs
        self._log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
        self._port = port
        self._changed = threading.Condition()
        self._version = 0
        self._html: bytes | None = None
        self._last: BuildResult | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._snapshot: dict[str, tuple[int, int]] = {}
        self._analysis_stale = True  # until an analysis succeeds, every rebuild starts with one
        self._script_cache: tuple[tuple[int, int] | None, Path | None] | None = None
        self._worker: subprocess.Popen[str] | None = None  # the build process (analysis.preview_worker)

    # -- what is watched ---------------------------------------------------------------------
    def _script_path(self) -> Path | None:
        """The study's analysis script, as the pipeline finds it (``script:`` or the package).

        Read again only when study.yaml changes: the watcher asks many times a second.
        """
        from analysis.study import STUDY_FILE, load_config

        stamp = _stamp(self.root / "data" / self.study_id / STUDY_FILE)
        if self._script_cache is not None and self._script_cache[0] == stamp:
            return self._script_cache[1]
        try:
            script = load_config(self.root, self.study_id).get("script")
        except AnalysisError:
            return None  # shown by the next build; looked for again once study.yaml changes
        if script:
            path: Path | None = self.root / script
        else:
            spec = importlib.util.find_spec(f"analysis.studies.{self.study_id}")
            path = Path(spec.origin) if spec and spec.origin else None
        self._script_cache = (stamp, path)
        return path

    def _watched(self) -> dict[str, tuple[tuple[int, int], str]]:
        """Every file the manuscript depends on (by path), with its time and size and the stage
        a change to it starts. Editors' backup and lock files (``~``, ``.`` names) are left out.

        ``os.scandir`` rather than ``Path.rglob``: the watcher looks many times a second."""
        files: dict[str, tuple[tuple[int, int], str]] = {}
        for folder, stage in ((self.root / "data" / self.study_id, "analyse"),
                              (self.root / "templates" / self.study_id, "render"),
                              (self.root / "templates" / "_shared", "render")):
            folders = [str(folder)]
            while folders:
                try:
                    entries = os.scandir(folders.pop())
                except OSError:
                    continue
                with entries:
                    for entry in entries:
                        try:
                            if entry.is_dir(follow_symlinks=False):  # as rglob: no loops
                                folders.append(entry.path)
                            elif (entry.is_file() and not entry.name.startswith((".", "~"))
                                  and not entry.name.endswith("~")):
                                st = entry.stat()
                                files[entry.path] = ((st.st_mtime_ns, st.st_size), stage)
                        except OSError:
                            continue  # gone while looked at: the next look sees it gone
        script = self._script_path()
        stamp = _stamp(script) if script is not None else None
        if stamp is not None:
            files[str(script)] = (stamp, "analyse")
        return files

    def changes(self) -> tuple[set[str], set[Path]]:
        """Stages to rerun and files changed since the last look (and remember this look)."""
        watched = self._watched()
        snap = {path: stamp for path, (stamp, _stage) in watched.items()}
        changed = {p for p in snap.keys() | self._snapshot.keys() if snap.get(p) != self._snapshot.get(p)}
        self._snapshot = snap
        # a deleted file no longer appears in `watched`: data and script deletions re-analyse
        stages = {watched[p][1] if p in watched else "render" if "templates" in Path(p).parts else "analyse"
                  for p in changed}
        return stages, {Path(p) for p in changed}

    # -- building ----------------------------------------------------------------------------
    def _request(self, analyse: bool) -> dict[str, Any]:
        """One build by the build process (started on first use, and again if it died)."""
        if self._worker is None or self._worker.poll() is not None:
            package_root = Path(__file__).resolve().parents[1]  # the same code as this process
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(package_root), env.get("PYTHONPATH")) if p)
            self._worker = subprocess.Popen(
                [sys.executable, "-m", "analysis.preview_worker", str(self.root), self.study_id, str(self.cache),
                 str(self.out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8",
                env=env, cwd=self.root)
        worker = self._worker
        try:
            worker.stdin.write(json.dumps({"analyse": analyse}) + "\n")
            worker.stdin.flush()
            line = worker.stdout.readline()
        except OSError:
            line = ""
        if not line:
            code = worker.wait()
            return {"error": f"the build process ended unexpectedly (exit code {code}); it is started again "
                             "on the next change", "failed": "analyse" if analyse else "render", "analysed": False}
        return json.loads(line)

    def rebuild(self, stages: set[str]) -> BuildResult:
        """Run the stages asked for (analyse implies render) and publish the outcome."""
        run = ("analyse", "render") if "analyse" in stages or self._analysis_stale else ("render",)
        start = time.perf_counter()
        reply = self._request("analyse" in run)
        if "analyse" in run:
            self._analysis_stale = not reply["analysed"]
        error, failed = reply["error"], reply["failed"]
        seconds = time.perf_counter() - start
        page = None if error else (self.out / "manuscript.html").read_bytes()
        with self._changed:
            self._version += 1
            if page is not None:
                self._html = page
            self._last = BuildResult(self._version, run, seconds, error, failed)
            self._changed.notify_all()
        if error:
            self._log(f"[{self.study_id}] {failed} failed after {seconds:.2f}s:\n{error}")
        else:
            self._log(f"[{self.study_id}] {' + '.join(run)} in {seconds:.2f}s")
        return self._last

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            stages, changed = self.changes()
            if not changed:
                continue
            # editors often write a file in several steps: let them finish, then take them all
            time.sleep(SETTLE_SECONDS)
            more, _ = self.changes()
            self.rebuild(stages | more)

    # -- serving -----------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """The current version, what its build did and its error (None when it succeeded)."""
        with self._changed:
            last = self._last
            return {
                "version": self._version,
                "stages": list(last.stages) if last else [],
                "seconds": round(last.seconds, 4) if last else None,
                "error": last.error if last else None,
                "failed_stage": last.failed_stage if last else None,
            }

    def wait_for_version(self, since: int, timeout: float) -> dict[str, Any]:
        """Block until the version differs from ``since`` (or ``timeout`` passes)."""
        with self._changed:
            self._changed.wait_for(lambda: self._version != since or self._stop.is_set(), timeout)
        return self.state()

    def page(self) -> bytes:
        """The last good HTML with the reload script, and the error overlay if the last build failed."""
        with self._changed:
            body, last, version = self._html, self._last, self._version
        text = (body.decode("utf-8") if body is not None
                else _EMPTY_PAGE % {"study": html.escape(self.study_id)})
        inject = _RELOAD_SCRIPT % {"version": version}
        if last is not None and last.error:
            note = ("showing the last version that built" if body is not None
                    else "nothing has been built yet")
            inject = _OVERLAY % {"stage": html.escape(last.failed_stage or "build").capitalize(),
                                 "note": note, "message": html.escape(last.error)} + inject
        cut = text.rfind("</body>")
        text = text[:cut] + inject + text[cut:] if cut >= 0 else text + inject
        return text.encode("utf-8")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        preview = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "analysis-preview"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the builds are logged
                return

            def _send(self, status: int, body: bytes, ctype: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path in ("/", "/index.html", "/manuscript.html"):
                    self._send(HTTPStatus.OK, preview.page(), "text/html; charset=utf-8")
                elif url.path == "/__version":
                    since = parse_qs(url.query).get("since", [None])[0]
                    state = (preview.wait_for_version(int(since), LONG_POLL_SECONDS)
                             if since is not None and since.lstrip("-").isdigit() else preview.state())
                    self._send(HTTPStatus.OK, json.dumps(state).encode(), "application/json")
                else:
                    self._static(unquote(url.path))

            def _static(self, path: str) -> None:
                """Files of the preview folder only (figures); nothing outside it."""
                base = preview.out.resolve()
                target = (base / path.lstrip("/")).resolve()
                if not target.is_relative_to(base) or not target.is_file():
                    self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")
                    return
                ctype = {".svg": "image/svg+xml", ".png": "image/png", ".css": "text/css"}.get(
                    target.suffix, "application/octet-stream")
                self._send(HTTPStatus.OK, target.read_bytes(), ctype)

        return Handler

    @property
    def url(self) -> str:
        """Where the preview is served (after ``start()``)."""
        if self._server is None:
            raise RuntimeError("the preview has not been started")
        return f"http://{HOST}:{self._server.server_address[1]}/"

    def start(self) -> Preview:
        """First build, then serve and watch in background threads."""
        try:
            self._server = _Server((HOST, self._port), self._handler())
        except OSError as exc:
            raise AnalysisError(f"preview: cannot listen on {HOST}:{self._port}: {exc.strerror or exc}") from None
        self.changes()  # the first build covers everything as it is now
        self.rebuild({"analyse"})
        for target in (self._server.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True, name=f"preview-{target.__name__}")
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop watching and serving (waits for both threads)."""
        self._stop.set()
        with self._changed:
            self._changed.notify_all()  # release browsers waiting on /__version
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()
        if self._worker is not None:
            with contextlib.suppress(OSError):
                self._worker.stdin.close()  # the build process ends when its input does
            try:
                self._worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._worker.kill()
                self._worker.wait()
            self._worker = None

    def __enter__(self) -> Preview:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(root: Path, study_id: str, port: int = 0, open_browser: bool = False) -> int:
    """Run the preview until interrupted (Ctrl-C); the command line's ``preview``."""
    preview = Preview(root, study_id, port).start()
    print(f"preview of {study_id} at {preview.url} (HTML only; Ctrl-C stops)", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(preview.url)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        preview.stop()
    return 0
