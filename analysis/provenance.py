"""Provenance stamped into every output: commit, build date, input hashes, versions."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["build_time", "git_state", "package_versions", "provenance"]

_PACKAGES = ("clinical-manuscripts", "numpy", "scipy", "pandas", "matplotlib", "jinja2", "pyyaml",
             "pypandoc-binary", "typst")


def build_time() -> tuple[int, str]:
    """(epoch seconds, ISO UTC timestamp) of the build: ``SOURCE_DATE_EPOCH`` when set, so
    that two builds of the same inputs are byte-identical; the current time otherwise."""
    raw = os.environ.get("SOURCE_DATE_EPOCH")
    epoch = int(raw) if raw and raw.strip().isdigit() else int(dt.datetime.now(dt.timezone.utc).timestamp())
    stamp = dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    return epoch, stamp


def git_state(root: Path) -> dict[str, Any]:
    """The commit of ``root``'s checkout and whether its tree has uncommitted changes."""

    def git(*args: str) -> str | None:
        try:
            proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": "unknown (not a git checkout)", "dirty": False}
    status = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)report",
                 ":(exclude)build")
    return {"commit": commit, "dirty": bool(status)}


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a build used, by name."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    try:
        from analysis.render import pandoc_version

        out["pandoc"] = pandoc_version()
    except Exception:  # pragma: no cover - reported, not fatal
        out["pandoc"] = "unknown"
    return dict(sorted(out.items()))


def provenance(root: Path, inputs: dict[str, str]) -> dict[str, Any]:
    """Everything a reproducibility editor asks for, as plain data for the templates."""
    epoch, stamp = build_time()
    state = git_state(root)
    return {
        "commit": state["commit"],
        "commit_short": state["commit"][:12],
        "dirty": state["dirty"],
        "build_date": stamp,
        "epoch": epoch,
        "inputs": [{"file": k, "sha256": v} for k, v in sorted(inputs.items())],
        "packages": [{"name": k, "version": v} for k, v in package_versions().items()],
    }
