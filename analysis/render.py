"""Renderers: turn the generated ``manuscript.qmd`` into HTML, DOCX and PDF.

The default ``embedded`` engine needs nothing but pip: pandoc from the
``pypandoc-binary`` wheel (HTML, DOCX, and typst source) and the ``typst`` wheel (PDF),
the engine pair Quarto itself bundles. ``quarto`` calls ``quarto render`` on the same
``.qmd`` when a ``quarto`` executable is on PATH.

Every renderer works inside the staging folder of a build, so a failure never touches
the published report.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from analysis.errors import RenderError

__all__ = ["ENGINES", "FORMATS", "SAFE_LINKS_FILTER", "pandoc_path", "pandoc_version", "quarto_version", "render",
           "typst_version"]

ENGINES = ("embedded", "quarto")
FORMATS = ("html", "pdf", "docx")
# The generated source is read as markdown WITHOUT raw HTML, raw attributes (`x`{=html}) and
# raw TeX: a string that slipped through escaping still cannot become live markup.
_READER = ("markdown-raw_html-raw_attribute-raw_tex"
           "+fenced_divs+bracketed_spans+grid_tables+pipe_tables+yaml_metadata_block+implicit_figures")
#: Lua filter run first by every pandoc call: refuses unsafe link and image targets.
SAFE_LINKS_FILTER = "safe-links.lua"


def pandoc_path() -> str:
    """The pandoc executable inside the pypandoc-binary wheel, and never another one.

    pypandoc itself may prefer a pandoc found on PATH (or named by ``PYPANDOC_PANDOC``),
    whose version and output differ; the build always runs the wheel's own binary.
    """
    try:
        import pypandoc
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("pypandoc-binary is not installed: run `make report` to install it") from None
    exe = Path(pypandoc.__file__).resolve().parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc")
    if not exe.is_file():
        raise RenderError(
            f"the pandoc binary of the pypandoc-binary wheel is missing ({exe}); pypandoc without its "
            "binary is installed: run `pip install --force-reinstall pypandoc-binary`"
        )
    return str(exe)


@functools.cache
def _pandoc_version(exe: str) -> str:
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run {exe} --version: {exc}") from None
    first = proc.stdout.splitlines()[0] if proc.stdout else ""
    if proc.returncode != 0 or not first.startswith("pandoc"):
        raise RenderError(f"{exe} --version gave no version (exit {proc.returncode}): {proc.stderr.strip()}")
    return first.split()[-1]


def pandoc_version() -> str:
    """The version printed by ``--version`` of the pandoc binary the build runs (e.g. ``3.9``)."""
    return _pandoc_version(pandoc_path())


@functools.cache
def typst_version() -> str:
    """The typst compiler's own version (its ``sys.version``), which is not the version of the
    ``typst`` Python wheel that bundles it (wheel 0.15.2 ships compiler 0.15.1)."""
    try:
        import typst
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("the typst wheel is not installed: run `make report` to install it") from None
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "version.typ"
        probe.write_text("#metadata(str(sys.version)) <version>\n", encoding="utf-8")
        try:
            found = json.loads(typst.query(str(probe), "<version>", field="value", one=True, root=tmp))
        except Exception as exc:  # typst raises its own error type
            raise RenderError(f"cannot ask typst for its version: {exc}") from None
    return str(found)


@functools.cache
def quarto_version() -> str:
    """``quarto --version`` of the quarto executable on PATH (the ``quarto`` engine)."""
    exe = shutil.which("quarto")
    if exe is None:
        raise RenderError("no `quarto` executable on PATH")
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run {exe} --version: {exc}") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RenderError(f"{exe} --version gave no version (exit {proc.returncode})")
    return proc.stdout.strip().splitlines()[0]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise RenderError(f"{what} failed (exit {proc.returncode}):\n{detail}")
    warnings = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln.upper()]
    if warnings:
        raise RenderError(f"{what} reported problems:\n" + "\n".join(warnings))


def _pandoc_common(shared: Path, *filters: str) -> list[str]:
    """Reader, filters (the link check first, then cross-references, then ``filters``),
    citations; resources (figures) are read only from the staging folder, the working directory."""
    args = ["--from", _READER]
    for name in (SAFE_LINKS_FILTER, "crossref.lua", *filters):
        args += ["--lua-filter", str(shared / name)]
    return [*args, "--citeproc", "--resource-path", "."]


def render_html(qmd: Path, out: Path, shared: Path, env: dict[str, str]) -> None:
    """Self-contained HTML: figures, CSS and fonts embedded in one file."""
    cmd = [pandoc_path(), qmd.name, *_pandoc_common(shared), "--to", "html5", "--standalone",
           "--embed-resources", "--css", str(shared / "manuscript.css"),
           "--metadata", "link-citations=true", "--section-divs", "--wrap=none",
           "--shift-heading-level-by=1", "--output", str(out)]
    _run(cmd, qmd.parent, env, "pandoc (HTML)")


def render_docx(qmd: Path, out: Path, shared: Path, env: dict[str, str]) -> None:
    """DOCX with real Word tables; figures as PNG."""
    cmd = [pandoc_path(), qmd.name, *_pandoc_common(shared, "docx-png.lua"), "--to", "docx",
           "--output", str(out)]
    _run(cmd, qmd.parent, env, "pandoc (DOCX)")


def render_pdf(qmd: Path, out: Path, shared: Path, env: dict[str, str]) -> None:
    """PDF through pandoc's typst writer and the typst wheel."""
    typ = qmd.with_suffix(".typ")
    cmd = [pandoc_path(), qmd.name, *_pandoc_common(shared, "typst-divs.lua"), "--to", "typst", "--standalone",
           "--template", str(shared / "manuscript.typ"), "--output", typ.name]
    _run(cmd, qmd.parent, env, "pandoc (typst)")
    try:
        import typst
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("the typst wheel is not installed: run `make report` to install it") from None
    # the PDF's creation date is the build date, so two builds give the same bytes
    epoch = env.get("SOURCE_DATE_EPOCH")
    try:
        typst.compile(str(typ), output=str(out), root=str(qmd.parent),
                      timestamp=int(epoch) if epoch else None)
    except Exception as exc:  # typst raises its own error type with the source location
        raise RenderError(f"typst failed on {typ.name}: {exc}") from None


def render_quarto(qmd: Path, formats: tuple[str, ...], env: dict[str, str]) -> None:
    exe = shutil.which("quarto")
    if exe is None:
        raise RenderError(
            "--engine quarto needs a `quarto` executable on PATH, and none was found. "
            "Install Quarto (https://quarto.org) or use the default `--engine embedded`."
        )
    for fmt in formats:
        _run([exe, "render", qmd.name, "--to", "typst" if fmt == "pdf" else fmt], qmd.parent, env,
             f"quarto render ({fmt})")


def render(
    qmd: Path,
    shared: Path,
    formats: tuple[str, ...] = FORMATS,
    engine: str = "embedded",
    source_date_epoch: int | None = None,
    progress=None,
) -> list[Path]:
    """Render ``qmd`` (inside a staging folder) to each format; return the files written."""
    if engine not in ENGINES:
        raise RenderError(f"Invalid `--engine` value: {engine!r}. Must be one of: {', '.join(ENGINES)}")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise RenderError(f"Invalid format(s) {unknown}. Must be among: {', '.join(FORMATS)}")
    env = dict(os.environ)
    if source_date_epoch is not None:
        # pandoc stamps DOCX metadata and zip entries with this: identical inputs, identical bytes.
        env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    written = []
    if engine == "quarto":
        render_quarto(qmd, formats, env)
        return [qmd.with_suffix("." + f) for f in formats]
    for fmt in formats:
        out = qmd.with_suffix("." + fmt)
        if progress:
            progress(f"rendering {out.name}")
        {"html": render_html, "docx": render_docx, "pdf": render_pdf}[fmt](qmd, out, shared, env)
        written.append(out)
    return written
