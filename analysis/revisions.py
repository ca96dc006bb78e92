"""Revisions of a manuscript: a git commit, a kept snapshot, or a results.json built elsewhere.

``python -m analysis diff STUDY --from REF`` compares two revisions. Each revision named by a
git commit, tag or branch is built in a temporary git worktree with its own code and data (so
a revision from months ago builds with the engine of its day), and the build is cached by
commit under ``build/.revisions/<commit>/<study>/``. The working tree (``--to`` by default) is
built from a copy of its files, so the report readers have in ``report/`` is never touched.

``python -m analysis snapshot STUDY NAME`` keeps the built report of a submitted version (its
results.json and manuscript files, with the commit) under ``versions/STUDY/NAME/``, so
``--from NAME`` works without git.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError

__all__ = ["WORKING_TREE", "Revision", "build_tree", "load_revision", "snapshot"]

#: The ``--to`` default: the files as they are now, committed or not.
WORKING_TREE = "working tree"
#: What a revision keeps of a build: enough to compare values and redline the text.
_KEEP = ("results.json", "manuscript.qmd", "manuscript.html", "references.bib", "vancouver.csl")


@dataclass(frozen=True)
class Revision:
    """One built version of a study's manuscript.

    ``label`` says which (a commit, a snapshot, a file); ``folder`` holds its
    ``results.json`` and, unless it was given as a bare results.json, ``manuscript.qmd`` and
    its figures; ``commit`` is the git commit it was built from, when known.
    """

    label: str
    folder: Path
    commit: str | None = None
    date: str | None = None

    @property
    def results(self) -> Path:
        """The revision's ``results.json``."""
        return self.folder / "results.json"

    @property
    def manuscript(self) -> Path | None:
        """Its generated ``manuscript.qmd``, or None for a bare results.json."""
        path = self.folder / "manuscript.qmd"
        return path if path.is_file() else None


def _git(root: Path, *args: str, check: bool = True) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        if check:
            raise AnalysisError(f"git {' '.join(args)} failed: {exc}") from None
        return None
    if proc.returncode != 0:
        if check:
            raise AnalysisError(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
        return None
    return proc.stdout.strip()


def _build_env(epoch: int | None) -> dict[str, str]:
    env = dict(os.environ)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(epoch)
    return env


def build_tree(tree: Path, study: str, out: Path, epoch: int | None = None) -> Path:
    """Build ``study`` in the project folder ``tree`` with that folder's own code, and copy
    what a revision keeps into ``out``. Only HTML is rendered: the comparison needs the
    values and the manuscript source, and the HTML checks that the build is whole."""
    if not (tree / "data" / study / "study.yaml").is_file():
        raise AnalysisError(f"study `{study}` does not exist in {tree.name}: no data/{study}/study.yaml there")
    cmd = [sys.executable, "-m", "analysis", "--root", str(tree), "build", study, "--formats", "html", "-q"]
    proc = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, env=_build_env(epoch))
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-8:]
        raise AnalysisError(f"building {study} in {tree} failed:\n" + "\n".join(detail))
    return _copy_report(tree / "report" / study, out, _KEEP)


def _copy_report(report: Path, dest: Path, files: tuple[str, ...], extra: dict[str, str] | None = None) -> Path:
    """Copy ``files`` and the figures of ``report`` (and ``extra`` texts) into ``dest``, through a
    staging folder beside it, so that ``dest`` is whole or as it was."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    for name in files:
        if (report / name).is_file():
            shutil.copy2(report / name, stage / name)
    if (report / "figures").is_dir():
        shutil.copytree(report / "figures", stage / "figures")
    for name, text in (extra or {}).items():
        (stage / name).write_text(text, encoding="utf-8")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(stage, dest)
    return dest


def _commit_revision(root: Path, study: str, ref: str, say: Any) -> Revision:
    sha = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not sha:
        raise AnalysisError(
            f"--from/--to {ref!r} is not a git commit, tag or branch, a snapshot under versions/{study}/, "
            "nor a results.json file"
        )
    epoch = int(_git(root, "show", "-s", "--format=%ct", sha) or 0)
    date = _git(root, "show", "-s", "--format=%cI", sha)
    cache = root / "build" / ".revisions" / sha / study
    if (cache / "results.json").is_file():
        say(f"{ref} ({sha[:10]}): cached build")
        return Revision(f"{ref} ({sha[:10]})", cache, sha, date)
    say(f"{ref} ({sha[:10]}): building in a temporary worktree")
    with _checkout(root, sha) as tree:
        build_tree(tree, study, cache, epoch)
    return Revision(f"{ref} ({sha[:10]})", cache, sha, date)


@contextlib.contextmanager
def _checkout(root: Path, commit: str | None) -> Iterator[Path]:
    """A temporary folder holding ``root`` as of ``commit`` (a git worktree, removed after), or
    an empty temporary folder when ``commit`` is None; yields the project folder inside it."""
    with tempfile.TemporaryDirectory(prefix="revision-") as tmp:
        tree = Path(tmp) / "tree"
        if commit is None:
            tree.mkdir()
            yield tree
            return
        top = Path(_git(root, "rev-parse", "--show-toplevel") or root)
        _git(top, "worktree", "add", "--detach", "--force", str(tree), commit)
        try:
            yield tree / root.resolve().relative_to(top.resolve())
        finally:
            _git(top, "worktree", "remove", "--force", str(tree), check=False)
            _git(top, "worktree", "prune", check=False)


def _working_files(root: Path) -> list[Path]:
    """The working tree's files: tracked and untracked (not ignored), or all but build output."""
    listed = _git(root, "ls-files", "--cached", "--others", "--exclude-standard", "-z", check=False)
    if listed is not None:
        return [Path(p) for p in listed.split("\0") if p and (root / p).is_file()]
    skip = {".git", ".venv", "build", "report", "versions", "__pycache__"}
    return [p.relative_to(root) for p in root.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(root).parts)]


def _working_revision(root: Path, study: str, say: Any) -> Revision:
    """Build the files as they are now. In a git checkout the copy is a worktree of HEAD with
    the working tree's files laid over it, so its provenance names HEAD and marks it changed."""
    say("working tree: building a copy")
    out = root / "build" / ".revisions" / "working-tree" / study
    in_git = _git(root, "rev-parse", "--show-toplevel", check=False) is not None
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD", check=False) if in_git else None
    with _checkout(root, head) as base:
        wanted = {rel for rel in _working_files(root)
                  if not (rel.parts and rel.parts[0] in ("build", "report", "versions"))}
        if head:  # files deleted in the working tree are gone from the copy too
            for rel in _working_files(base):
                if rel not in wanted and (base / rel).is_file():
                    (base / rel).unlink()
        for rel in wanted:
            dest = base / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, dest)
        build_tree(base, study, out)
    return Revision(WORKING_TREE, out, head)


def load_revision(root: Path, study: str, ref: str | None, say: Any = None) -> Revision:
    """The revision ``ref`` names, built if needed.

    ``ref`` is, in this order: None (the working tree), a ``results.json`` file or a folder
    holding one (a version built elsewhere), a snapshot name under ``versions/<study>/``, or a
    git commit, tag or branch.
    """
    say = say or (lambda _m: None)
    if ref is None or ref == WORKING_TREE:
        return _working_revision(root, study, say)
    path = Path(ref)
    if not path.is_absolute():
        path = Path.cwd() / path
    if path.is_file() and path.name.endswith(".json"):
        return Revision(str(ref), path.parent)
    if path.is_dir() and (path / "results.json").is_file():
        return Revision(str(ref), path)
    snap = root / "versions" / study / ref
    if (snap / "results.json").is_file():
        meta = _read_meta(snap)
        return Revision(f"snapshot {ref}", snap, meta.get("commit"), meta.get("date"))
    return _commit_revision(root, study, ref, say)


def _read_meta(folder: Path) -> dict[str, Any]:
    meta = folder / "version.json"
    if not meta.is_file():
        return {}
    try:
        return json.loads(meta.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise AnalysisError(f"{meta}: not valid JSON: {exc}") from None


#: What a snapshot keeps of report/<study>/.
_SNAPSHOT_FILES = ("results.json", "manuscript.qmd", "manuscript.html", "manuscript.pdf", "manuscript.docx",
                   "manuscript.xml")


def snapshot(root: Path, study: str, name: str, force: bool = False) -> Path:
    """Keep ``report/<study>/`` as the version ``name`` under ``versions/<study>/<name>/``.

    Refuses a name already kept (unless ``force``), a name that is not a plain folder name,
    and a study that has not been built.
    """
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        raise AnalysisError(f"snapshot name {name!r} must be a plain folder name such as `submitted-2026-03`")
    report = root / "report" / study
    if not (report / "results.json").is_file():
        raise AnalysisError(
            f"report/{study}/results.json is missing: build the study first (`make report STUDY={study}`)"
        )
    dest = root / "versions" / study / name
    if dest.exists() and not force:
        raise AnalysisError(f"versions/{study}/{name} already exists; choose another name or pass --force")
    from analysis.provenance import build_time, git_state

    state = git_state(root)
    meta = {"study": study, "name": name, "commit": state["commit"], "dirty": state["dirty"],
            "date": build_time()[1]}
    return _copy_report(report, dest, _SNAPSHOT_FILES,
                        {"version.json": json.dumps(meta, indent=2, sort_keys=True) + "\n"})
