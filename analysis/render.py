"""Renderers: turn the generated ``manuscript.qmd`` into HTML, DOCX and PDF.

The default ``embedded`` engine needs nothing but pip: pandoc from the
``pypandoc-binary`` wheel (HTML, DOCX, and typst source) and the ``typst`` wheel (PDF),
the engine pair Quarto itself bundles. ``quarto`` calls ``quarto render`` on the same
``.qmd`` when a ``quarto`` executable is on PATH.

Every renderer works inside the staging folder of a build, so a failure never touches
the published report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from analysis.errors import RenderError

__all__ = ["ENGINES", "FORMATS", "pandoc_path", "pandoc_version", "render", "typst_version"]

ENGINES = ("embedded", "quarto")
FORMATS = ("html", "pdf", "docx")
_READER = "markdown+fenced_divs+bracketed_spans+grid_tables+pipe_tables+yaml_metadata_block+implicit_figures"


def pandoc_path() -> str:
    """The pandoc executable of the pypandoc-binary wheel."""
    try:
        import pypandoc
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("pypandoc-binary is not installed: run `make report` to install it") from None
    try:
        return pypandoc.get_pandoc_path()
    except OSError as exc:  # pragma: no cover
        raise RenderError(f"pandoc not found: {exc}") from None


def pandoc_version() -> str:
    import pypandoc

    return pypandoc.get_pandoc_version()


def typst_version() -> str:
    from importlib.metadata import version

    return version("typst")


def _run(cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise RenderError(f"{what} failed (exit {proc.returncode}):\n{detail}")
    warnings = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln.upper()]
    if warnings:
        raise RenderError(f"{what} reported problems:\n" + "\n".join(warnings))


def _pandoc_common(shared: Path) -> list[str]:
    return [
        "--from", _READER,
        "--lua-filter", str(shared / "crossref.lua"),
        "--lua-filter", str(shared / "authors.lua"),
        "--citeproc",
        "--resource-path", ".",
    ]


def render_html(qmd: Path, out: Path, shared: Path, env: dict[str, str]) -> None:
    """Self-contained HTML: figures, CSS and fonts embedded in one file."""
    cmd = [pandoc_path(), qmd.name, *_pandoc_common(shared), "--to", "html5", "--standalone",
           "--embed-resources", "--css", str(shared / "manuscript.css"),
           "--metadata", "link-citations=true", "--section-divs", "--wrap=none",
           "--shift-heading-level-by=1", "--output", str(out)]
    _run(cmd, qmd.parent, env, "pandoc (HTML)")


def render_docx(qmd: Path, out: Path, shared: Path, env: dict[str, str]) -> None:
    """DOCX with real Word tables; figures as PNG."""
    cmd = [pandoc_path(), qmd.name, "--lua-filter", str(shared / "docx-png.lua"),
           *_pandoc_common(shared), "--to", "docx", "--output", str(out)]
    _run(cmd, qmd.parent, env, "pandoc (DOCX)")


def render_pdf(qmd: Path, out: Path, shared: Path, env: dict[str, str]) -> None:
    """PDF through pandoc's typst writer and the typst wheel."""
    typ = qmd.with_suffix(".typ")
    cmd = [pandoc_path(), qmd.name, "--lua-filter", str(shared / "typst-divs.lua"),
           *_pandoc_common(shared), "--to", "typst", "--standalone",
           "--template", str(shared / "manuscript.typ"), "--output", typ.name]
    _run(cmd, qmd.parent, env, "pandoc (typst)")
    try:
        import typst
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("the typst wheel is not installed: run `make report` to install it") from None
    try:
        typst.compile(str(typ), output=str(out), root=str(qmd.parent))
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
