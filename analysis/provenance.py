"""Provenance stamped into every output: commit, build date, input hashes, versions."""

from __future__ import annotations

import datetime as dt
import functools
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["UNTRACKED_WATCHED", "build_time", "git_state", "package_versions", "provenance"]

_PACKAGES = ("clinical-manuscripts", "numpy", "scipy", "pandas", "matplotlib", "jinja2", "pyyaml",
             "pypandoc-binary", "typst")
# wheels that bundle a renderer whose own version differs from the wheel's
_ENGINE_WHEELS = ("typst",)


def build_time() -> tuple[int, str]:
    """(epoch seconds, ISO UTC timestamp) of the build: ``SOURCE_DATE_EPOCH`` when set, so
    that two builds of the same inputs are byte-identical; the current time otherwise."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    epoch = int(raw) if raw and raw.strip().isdigit() else int(dt.datetime.now(dt.timezone.utc).timestamp())
    stamp = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return epoch, stamp


#: Folders whose untracked files change what a build computes or prints.
UNTRACKED_WATCHED = ("data", "analysis", "templates")


def git_state(root: Path, watched: tuple[str, ...] = ()) -> dict[str, Any]:
    """The commit of ``root``'s checkout and whether its tree has uncommitted changes.

    Uncommitted means: a tracked file modified (outside ``report/`` and ``build/``), or an
    untracked (and not ignored) file under ``data/``, ``analysis/``, ``templates/`` or one of
    ``watched`` (such as a study's ``script:``), since such a file feeds the build while the
    commit does not hold it.
    """

    def git(*args: str) -> subprocess.Popen[str] | None:
        try:
            return subprocess.Popen(["git", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True)
        except OSError:
            return None

    def output(proc: subprocess.Popen[str] | None) -> str | None:
        if proc is None:
            return None
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            return None
        return out.strip() if proc.returncode == 0 else None

    # the three calls run side by side (the preview stamps every build)
    paths = [p for p in (*UNTRACKED_WATCHED, *watched) if (root / p).exists()]
    calls = [git("rev-parse", "HEAD"),
             git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)report", ":(exclude)build"),
             git("ls-files", "--others", "--exclude-standard", "--", *paths) if paths else None]
    commit, changed, untracked = (output(call) for call in calls)
    if not paths:
        untracked = ""
    if commit is None:
        return {"commit": "unknown (not a git checkout)", "dirty": False}
    # a failed git call counts as dirty: the stamp must never claim a clean tree it did not see
    return {"commit": commit, "dirty": changed is None or untracked is None or bool(changed or untracked)}


@functools.cache
def _distribution_versions() -> dict[str, str]:
    """The installed version of each Python package of :data:`_PACKAGES`, looked up once per
    process (a dozen metadata lookups, which the preview would otherwise repeat on every edit)."""
    out = {}
    for name in _PACKAGES:
        label = f"{name} (Python wheel)" if name in _ENGINE_WHEELS else name
        try:
            out[label] = version(name)
        except PackageNotFoundError:
            out[label] = "not installed"
    return out


def package_versions(engine: str = "embedded") -> dict[str, str]:
    """The versions of the software a build runs, by name.

    Python packages by their installed distribution version (looked up once per process);
    the renderers by their own version string, which is what stamps the outputs: ``pandoc``
    from ``--version`` of the binary the build invokes, ``typst`` from the compiler (the
    ``typst`` Python wheel that bundles it has a version of its own, listed as ``typst
    (Python wheel)``); when the ``quarto`` engine renders, ``quarto --version`` and the
    versions of the pandoc and typst that Quarto bundles.
    """
    from analysis.errors import RenderError
    from analysis.render import pandoc_version, quarto_version, typst_version

    out = {"python": platform.python_version(), **_distribution_versions()}
    engines = {"pandoc": pandoc_version, "typst": typst_version}
    if engine == "quarto":  # Quarto renders with the pandoc and typst it bundles
        engines = {"quarto": quarto_version, "pandoc": lambda: quarto_version("pandoc"),
                   "typst": lambda: quarto_version("typst")}
    for name, probe in engines.items():
        try:
            out[name] = probe()
        except RenderError:  # reported in the section; the render itself says what is wrong
            out[name] = "unknown"
    return dict(sorted(out.items()))


def provenance(
    root: Path, inputs: dict[str, str], watched: tuple[str, ...] = (), engine: str = "embedded"
) -> dict[str, Any]:
    """Everything a reproducibility editor asks for, as plain data for the templates.

    ``watched``: further project paths (a study's ``script:``) whose untracked state counts
    as uncommitted, as for the folders of :data:`UNTRACKED_WATCHED`.
    """
    epoch, stamp = build_time()
    state = git_state(root, watched)
    return {
        "commit": state["commit"],
        "commit_short": state["commit"][:12],
        "dirty": state["dirty"],
        "build_date": stamp,
        "epoch": epoch,
        "inputs": [{"file": k, "sha256": v} for k, v in sorted(inputs.items())],
        "packages": [{"name": k, "version": v} for k, v in package_versions(engine).items()],
    }
