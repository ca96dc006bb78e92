"""The live preview, tested with a real HTTP client against 127.0.0.1 only.

Each test starts a preview of the `mini` fixture study on a free port, edits a file the way
an author would, and polls ``/__version`` (bounded) until the new version is up.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from analysis.preview import Preview

TIMEOUT = 60.0  # seconds a rebuild may take on a loaded CI machine before the test fails


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        assert response.status == 200
        return response.read().decode("utf-8")


def version(preview: Preview) -> dict:
    return json.loads(get(preview.url + "__version"))


def wait_past(preview: Preview, seen: int) -> dict:
    """Poll until the version moves past ``seen``; fail after TIMEOUT."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        state = version(preview)
        if state["version"] > seen:
            return state
        time.sleep(0.05)
    pytest.fail(f"no new preview version after {TIMEOUT}s (still {seen})")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    # the file system's clock may be coarse: make sure the watcher sees a new time
    later = time.time() + 1
    os.utime(path, (later, later))


@pytest.fixture
def preview(mini_project: Path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # the page's build date stays put
    logs: list[str] = []
    with Preview(mini_project, "mini", port=0, log=logs.append) as running:
        running.logs = logs
        yield running


def test_serves_the_manuscript_on_localhost_and_reloads_after_a_template_edit(preview, mini_project):
    assert preview.url.startswith("http://127.0.0.1:")
    first = version(preview)
    assert first["error"] is None and first["stages"] == ["analyse", "render"]
    page = get(preview.url)
    assert "Complete response occurred in" in page
    assert "/__version?since=" in page  # the reload script
    # the page links its figure and style sheet (not embedded, to save time), and they are served
    assert '<img src="figures/fig-cr.svg"' in page and '<link rel="stylesheet" href="manuscript.css"' in page
    assert get(preview.url + "figures/fig-cr.svg").lstrip().startswith("<?xml")
    assert "font-family" in get(preview.url + "manuscript.css")
    assert "This manuscript as:" not in page  # an HTML-only build has no other formats to link
    # the preview keeps its own folders: neither make's cache build/mini/ nor report/ is written
    assert not (mini_project / "report").exists() and not (mini_project / "build" / "mini").exists()

    edit(mini_project / "templates/mini/manuscript.qmd.j2", "Complete response occurred in",
         "Complete remission was seen in")
    state = wait_past(preview, first["version"])
    assert state["error"] is None
    assert state["stages"] == ["render"]  # a template edit does not rerun the analysis
    page = get(preview.url)
    assert "Complete remission was seen in" in page and "Complete response occurred in" not in page

    # an error is shown in the page, over the last good version
    template = mini_project / "templates/mini/manuscript.qmd.j2"
    edit(template, "Mean age was {{ age.A }}", "Mean age was {{ age.Z }}")
    state = wait_past(preview, state["version"])
    assert state["failed_stage"] == "render" and "age.Z" in state["error"]
    page = get(preview.url)
    assert 'id="analysis-preview-error"' in page and "age.Z" in page
    assert "Complete remission was seen in" in page

    edit(template, "{{ age.Z }}", "{{ age.A }}")
    state = wait_past(preview, state["version"])
    assert state["error"] is None
    assert 'id="analysis-preview-error"' not in get(preview.url)

    # a browser's long poll returns as soon as the next version is built
    edit(template, "did not differ between arms", "was similar")
    polled = json.loads(get(preview.url + f"__version?since={state['version']}"))
    assert polled["version"] == state["version"] + 1 and polled["error"] is None

    # only files of the preview folder are served
    for path in ("..%2F..%2Fdata%2Fmini%2Fpatients.csv", "%2Fetc%2Fpasswd"):
        with pytest.raises(urllib.error.HTTPError) as exc:
            get(preview.url + path)
        assert exc.value.code == 404


def test_a_data_edit_reruns_the_analysis_and_bad_data_are_reported(preview, mini_project):
    data = mini_project / "data/mini/patients.csv"
    before = get(preview.url)
    seen = version(preview)["version"]
    rows = data.read_text(encoding="utf-8").splitlines()
    header, first = rows[0].split(","), rows[1].split(",")
    age = header.index("age")
    first[age] = "abc"
    data.write_text("\n".join([rows[0], ",".join(first), *rows[2:]]) + "\n", encoding="utf-8")
    os.utime(data, (time.time() + 1, time.time() + 1))
    state = wait_past(preview, seen)
    assert state["failed_stage"] == "analyse"
    assert "patients.csv" in state["error"] and "age" in state["error"]
    page = get(preview.url)
    assert "patients.csv" in page and "Complete response occurred in" in page

    data.write_text("\n".join(rows) + "\n", encoding="utf-8")
    os.utime(data, (time.time() + 2, time.time() + 2))
    state = wait_past(preview, state["version"])
    assert state["error"] is None and state["stages"] == ["analyse", "render"]
    assert get(preview.url) == before.replace(f"var version = {seen};", f"var version = {state['version']};")

    # a changed analysis script is imported afresh
    script = mini_project / "scripts/mini_analysis.py"
    seen = state["version"]
    edit(script, "def analyse(", "def _unused():\n    raise RuntimeError('boom')\n\n\ndef analyse(")
    with script.open("a", encoding="utf-8") as fh:
        fh.write("\nraise RuntimeError('script edited')\n")
    os.utime(script, (time.time() + 3, time.time() + 3))
    state = wait_past(preview, seen)
    assert state["failed_stage"] == "analyse" and "script edited" in state["error"]


def test_builds_run_in_a_build_process_that_is_started_again_if_it_dies(preview, mini_project):
    """The builds run in a process of their own (single-threaded, so a build may fork the child
    that saves the figures); one that dies is started again, and a build it died in says so."""
    worker = preview._worker
    assert worker is not None and worker.poll() is None and worker.pid != os.getpid()
    seen = version(preview)["version"]
    worker.kill()
    worker.wait()
    template = mini_project / "templates/mini/manuscript.qmd.j2"
    edit(template, "Complete response occurred in", "Complete remission was seen in")
    state = wait_past(preview, seen)
    assert state["error"] is None and "Complete remission was seen in" in get(preview.url)
    assert preview._worker is not worker and preview._worker.poll() is None

    script = mini_project / "scripts/mini_analysis.py"
    edit(script, "def analyse(", "import os\nos._exit(3)\n\n\ndef analyse(")
    state = wait_past(preview, state["version"])
    assert state["failed_stage"] == "analyse"
    assert "the build process ended unexpectedly (exit code 3)" in state["error"]
    assert "Complete remission was seen in" in get(preview.url)  # the last good version stays up
    edit(script, "import os\nos._exit(3)\n\n\ndef analyse(", "def analyse(")
    state = wait_past(preview, state["version"])
    assert state["error"] is None and state["stages"] == ["analyse", "render"]


def test_the_watcher_sees_edits_new_and_deleted_files_and_the_stage_each_starts(mini_project):
    """The watcher's look (no server, no build): which stage a change starts, and which files
    it leaves alone (editors' backup and lock files)."""
    watcher = Preview(mini_project, "mini")
    assert watcher.changes()[0] == {"analyse", "render"}  # the first look: everything is new
    assert watcher.changes() == (set(), set())
    templates = mini_project / "templates" / "mini"
    (templates / "manuscript.qmd.j2~").write_text("backup", encoding="utf-8")
    (templates / ".#manuscript.qmd.j2").write_text("lock", encoding="utf-8")
    (templates / "~$draft.docx").write_text("lock", encoding="utf-8")
    assert watcher.changes() == (set(), set())
    (templates / "linked").symlink_to(mini_project / "data")  # a link to a folder is not a file
    assert watcher.changes() == (set(), set())
    (templates / "parts").mkdir()
    (templates / "parts" / "extra.md.j2").write_text("More.", encoding="utf-8")
    assert watcher.changes() == ({"render"}, {templates / "parts" / "extra.md.j2"})
    edit(mini_project / "data" / "mini" / "patients.csv", "\n", "\n")  # the same text, a new time
    assert watcher.changes() == ({"analyse"}, {mini_project / "data" / "mini" / "patients.csv"})
    (templates / "parts" / "extra.md.j2").unlink()
    assert watcher.changes() == ({"render"}, {templates / "parts" / "extra.md.j2"})
    (mini_project / "data" / "mini" / "patients.csv").unlink()
    assert watcher.changes()[0] == {"analyse"}
    script = mini_project / "scripts" / "mini_analysis.py"
    edit(script, "def ", "def ")
    assert watcher.changes() == ({"analyse"}, {script})
