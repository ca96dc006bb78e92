"""Atomic outputs: a build writes into a staging folder and swaps it in only on success.

A failure at any step (bad data, a template error, pandoc or typst failing, a full disk)
removes the staging folder and leaves the previous output folder exactly as it was.

Three more guarantees:

* one build of a study at a time: :func:`study_lock` holds an ``fcntl.flock`` on
  ``build/.locks/<study>.lock``; a second build waits and says who holds it (pid, command,
  since when). Different studies never wait for each other;
* recovery: :func:`recover` (run under the lock when a build starts) removes staging
  folders a killed build left behind, and puts back a folder lost between the two renames of
  a swap (old folder moved aside, new one not yet moved in);
* a file system that refuses to be written (read-only, full, a file where a folder should
  be) gives one :class:`~analysis.errors.OutputError` naming the path and what happened.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from analysis.errors import OutputError

__all__ = ["output_errors", "recover", "scratch_dir", "staged_dir", "study_lock", "write_text_atomic"]

_STAGING, _OLD, _SCRATCH = "staging-", "old-", "scratch-"
_held: dict[str, int] = {}  # lock path -> depth, so build() can hold the lock analyse() takes


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"not writable ({exc.strerror.lower() if exc.strerror else 'permission denied'})"
    return exc.strerror or str(exc)


@contextmanager
def output_errors(root: Path, what: str) -> Iterator[None]:
    """Turn an ``OSError`` from writing outputs into one :class:`OutputError`.

    ``what`` says which output was being written ("report/mini").
    """
    try:
        yield
    except OSError as exc:
        path = Path(exc.filename) if exc.filename else None
        shown = path
        if path is not None and path.is_absolute():
            with suppress(ValueError):
                shown = path.relative_to(root)
        where = f" at {shown}" if shown is not None and str(shown) != what else ""
        raise OutputError(f"cannot write {what}{where}: {_describe(exc)}; the previous output is unchanged "
                          f"(check the folder is writable and the disk has room)") from exc


def _siblings(final: Path, kind: str) -> list[Path]:
    if not final.parent.is_dir():
        return []
    prefix = f".{final.name}.{kind}"
    return sorted((p for p in final.parent.iterdir() if p.name.startswith(prefix)),
                  key=lambda p: p.stat().st_mtime)


def recover(final: Path, say: Callable[[str], None] | None = None) -> list[str]:
    """Clean up after a build that was killed; returns what was done, in words.

    Staging folders and working folders (:func:`scratch_dir`) are deleted. An ``old-``
    folder is the previous output moved aside by a swap: when ``final`` is missing the swap
    was cut between its renames, so the newest old folder is put back; otherwise it is a
    leftover and deleted. Call it under the study lock.
    """
    done = []
    for stale in _siblings(final, _STAGING):
        shutil.rmtree(stale, ignore_errors=True)
        done.append(f"removed the stale staging folder {stale.name}")
    for stale in _siblings(final, _SCRATCH):
        shutil.rmtree(stale, ignore_errors=True)
        done.append(f"removed the stale working folder {stale.name}")
    olds = _siblings(final, _OLD)
    if olds and not final.exists():
        os.replace(olds[-1], final)
        done.append(f"restored {final.name}/ from {olds[-1].name} (a build was stopped mid-swap)")
        olds = olds[:-1]
    for old in olds:
        shutil.rmtree(old, ignore_errors=True)
        done.append(f"removed the leftover folder {old.name}")
    for line in done:
        (say or (lambda _m: None))(line)
    return done


def scratch_dir(final: Path) -> Path:
    """A new empty folder beside ``final`` for a build's working files (never published);
    the caller removes it, and :func:`recover` does if the build was killed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{final.name}.{_SCRATCH}", dir=final.parent))


@contextmanager
def staged_dir(final: Path, keep: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """Yield an empty staging folder beside ``final``; on success it replaces ``final``.

    The swap is two renames on the same file system (old aside, new in), then the old
    folder is deleted, so ``final`` is never left half-written; :func:`recover` finishes a
    swap that was cut between the renames. ``keep(stage)``, if given, runs just before the
    swap (to carry files of the previous output over).
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.{_STAGING}", dir=final.parent))
    try:
        yield staging
        if keep is not None:
            keep(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    old = None
    try:
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.{_OLD}", dir=final.parent))
            os.rmdir(old)
            os.replace(final, old)
        os.replace(staging, final)
    except BaseException:
        if old is not None and old.exists() and not final.exists():
            os.replace(old, final)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    os.chmod(final, 0o755)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; outputs are for reading
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another build"
    return f"pid {info.get('pid')} ({info.get('command')}) since {info.get('since')}"


@contextmanager
def study_lock(
    root: Path, study_id: str, notify: Callable[[str], None] | None = None, timeout: float | None = None,
) -> Iterator[None]:
    """Hold the build lock of one study (``build/.locks/<study>.lock``) for the block.

    A second build of the same study waits (telling ``notify`` who holds the lock) until the
    first ends, or raises :class:`OutputError` after ``timeout`` seconds (the environment
    variable ``ANALYSIS_LOCK_TIMEOUT`` sets it; default: wait). Re-entrant within a process.
    """
    lock = root / "build" / ".locks" / f"{study_id}.lock"
    key = os.path.abspath(lock)
    if _held.get(key):
        _held[key] += 1
        try:
            yield
        finally:
            _held[key] -= 1
        return
    if timeout is None and os.environ.get("ANALYSIS_LOCK_TIMEOUT"):
        try:
            timeout = float(os.environ["ANALYSIS_LOCK_TIMEOUT"])
        except ValueError:
            raise OutputError(f"ANALYSIS_LOCK_TIMEOUT={os.environ['ANALYSIS_LOCK_TIMEOUT']!r}: "
                              "expected a number of seconds") from None
    with output_errors(root, f"the build lock of {study_id}"):
        lock.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            who = _holder(fd)
            (notify or _stderr)(f"waiting for the build of {study_id} held by {who} "
                                f"({lock.relative_to(root)})")
            start = time.monotonic()
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if timeout is not None and time.monotonic() - start >= timeout:
                        raise OutputError(f"study {study_id} is being built by {_holder(fd)}; gave up after "
                                          f"{timeout:g} s (lock {lock.relative_to(root)})") from None
                    time.sleep(0.1)
        info = {"pid": os.getpid(), "command": " ".join(sys.argv) or "python",
                "since": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime())}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
        _held[key] = 1
        try:
            yield
        finally:
            _held.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
