"""Renderers: turn the generated ``manuscript.qmd`` into HTML, PDF, DOCX and JATS XML.

The default ``embedded`` engine needs nothing but pip: pandoc from the
``pypandoc-binary`` wheel (HTML, DOCX, JATS, and typst source) and the ``typst`` wheel
(PDF, compiled in-process), the engine pair Quarto itself bundles. The pandoc calls of one
build run as concurrent subprocesses; typst compiles as soon as its source is written, while
the other pandoc calls are still running. ``quarto`` calls ``quarto render`` on the same
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
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.errors import RenderError
from analysis.formats import (
    ENGINES,
    FORMAT_ALIASES,
    FORMATS,
    MANUSCRIPT_FORMATS,
    SUFFIXES,
    normalise_formats,
    output_name,
)

if TYPE_CHECKING:
    from analysis.htmlsession import HtmlSession

__all__ = [
    "ENGINES",
    "FORMATS",
    "FORMAT_ALIASES",
    "MANUSCRIPT_FORMATS",
    "READER",
    "SAFE_LINKS_FILTER",
    "SOURCE_AST_FILTER",
    "SUFFIXES",
    "RenderOptions",
    "SourceReading",
    "fill_placeholders",
    "normalise_formats",
    "output_name",
    "pandoc_path",
    "pandoc_version",
    "quarto_version",
    "render",
    "typst_version",
]

#: The pandoc reader of the generated source, for every pandoc call: markdown WITHOUT raw HTML,
#: raw attributes (`x`{=html}) and raw TeX, so a string that slipped through escaping still
#: cannot become live markup.
READER = ("markdown-raw_html-raw_attribute-raw_tex"
           "+fenced_divs+bracketed_spans+grid_tables+pipe_tables+yaml_metadata_block+implicit_figures")
#: Lua filter run last by every pandoc call (after citeproc): refuses unsafe link and image targets.
SAFE_LINKS_FILTER = "safe-links.lua"
#: Lua filter (the package's own) run first by one pandoc call of :func:`render`: it writes the
#: document as the reader gave it to the file named by ``ANALYSIS_SOURCE_AST`` (see ``on_read``).
SOURCE_AST_FILTER = Path(__file__).with_name("source-ast.lua")


@dataclass(frozen=True)
class RenderOptions:
    """Per-study rendering settings (``render:`` in study.yaml).

    ``line_numbers`` numbers the lines of the DOCX for review.
    """

    line_numbers: bool = False


def pandoc_path() -> str:
    """The pandoc executable inside the pypandoc-binary wheel, and never another one.

    pypandoc itself may prefer a pandoc found on PATH (or named by ``PYPANDOC_PANDOC``),
    whose version and output differ; the build always runs the wheel's own binary. The
    package is only located, not imported (its import costs more than a pandoc call).
    """
    import importlib.util
    import sys

    module = sys.modules.get("pypandoc")
    spec = None if module is not None else importlib.util.find_spec("pypandoc")
    origin = module.__file__ if module is not None else (spec.origin if spec is not None else None)
    if origin is None:  # pragma: no cover - a dependency
        raise RenderError("pypandoc-binary is not installed: run `make report` to install it")
    exe = Path(origin).resolve().parent / "files" / ("pandoc.exe" if os.name == "nt" else "pandoc")
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


def _quarto_output(*args: str) -> str:
    exe = shutil.which("quarto")
    if exe is None:
        raise RenderError("no `quarto` executable on PATH")
    try:
        proc = subprocess.run([exe, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"cannot run {exe} {' '.join(args)}: {exc}") from None
    if proc.returncode != 0 or not proc.stdout.strip():
        raise RenderError(f"{exe} {' '.join(args)} gave no version (exit {proc.returncode})")
    return proc.stdout.strip().splitlines()[0]


@functools.cache
def quarto_version(tool: str | None = None) -> str:
    """``quarto --version`` of the quarto executable on PATH (the ``quarto`` engine), or with
    ``tool`` (``"pandoc"``, ``"typst"``) the version of that renderer bundled with Quarto, as
    ``quarto pandoc --version`` / ``quarto typst --version`` report it."""
    if tool is None:
        return _quarto_output("--version")
    first = _quarto_output(tool, "--version").split()
    # "pandoc 3.2", "typst 0.11.0 (2bf9f95d)": the version is the word after the name
    return first[1] if len(first) > 1 and first[0].lower() == tool else " ".join(first)


def front_matter_authors(qmd: Path) -> list[str]:
    """The authors' names in the YAML front matter of a generated manuscript (Quarto's
    ``author:`` list of names or of maps with a ``name``)."""
    from analysis.yamlio import safe_load

    text = qmd.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return []
    end = text.find("\n---", 3)
    meta = safe_load(text[3:end]) if end > 0 else None
    authors = (meta or {}).get("author") if isinstance(meta, dict) else None
    if isinstance(authors, (str, dict)):
        authors = [authors]
    names = [a.get("name") if isinstance(a, dict) else a for a in authors or []]
    return [str(n) for n in names if n]


def _without_lua_trace(text: str) -> str:
    """A filter's error without the Lua stack traceback pandoc appends: the message says what
    was refused; the filter's line numbers are no use to an author."""
    lines = text.splitlines()
    if "stack traceback:" in lines:
        lines = lines[:lines.index("stack traceback:")]
    return "\n".join(lines).strip()


class SourceReading:
    """pandoc's reading of a generated source (its JSON AST), by a pandoc process started at
    once so that the caller goes on meanwhile (a build: checks, waiting for its figures).

    :func:`render` hands it to every renderer instead of the source, when there are several:
    the text is then read once, not once per format, and the word counts come from the same
    reading. The reader is :data:`READER`, as for every pandoc call. The AST is written in
    ``folder`` (a new empty folder; a temporary one by default); :meth:`close` (or the end of
    the process) stops pandoc and removes the folder.
    """

    def __init__(self, markdown: str, folder: Path | None = None) -> None:
        import weakref

        self.text = markdown
        folder = folder if folder is not None else Path(tempfile.mkdtemp(prefix="source-reading-"))
        self.path = folder / "source.json"
        with tempfile.TemporaryFile() as source:
            source.write(markdown.encode("utf-8"))
            source.seek(0)
            self._job = _ReadingJob([pandoc_path(), "--from", READER, "--to", "json", "--output", str(self.path)],
                                    folder, source)
        self._ast: dict[str, Any] | None = None
        self._done = weakref.finalize(self, _close_reading, self._job, folder)

    def json(self) -> Path:
        """The file of the AST (waits for pandoc; raises :class:`RenderError` if it failed)."""
        self._job.wait()
        if not self.path.is_file():
            raise RenderError(f"{self._job.what} ended without writing {self.path.name}")
        return self.path

    def ast(self) -> dict[str, Any]:
        """The AST as JSON data (waits for pandoc)."""
        if self._ast is None:
            self._ast = json.loads(self.json().read_bytes())
        return self._ast

    def close(self) -> None:
        """Stop pandoc if it still runs, and remove the file."""
        self._done()


def _close_reading(job: _Job, folder: Path) -> None:
    job.kill()
    shutil.rmtree(folder, ignore_errors=True)


def _from_json(cmd: list[str], qmd: Path, ast: Path) -> list[str]:
    """A renderer's pandoc command reading the AST file ``ast`` instead of the source ``qmd``
    (the same document: :class:`SourceReading` read it with :data:`READER`)."""
    out = [str(ast) if arg == qmd.name else arg for arg in cmd[:2]] + cmd[2:]
    at = out.index("--from") + 1
    out[at] = "json"
    return out


def _what(fmt: str) -> str:
    """How messages name the pandoc call of a format."""
    return "pandoc (typst)" if fmt == "pdf" else f"pandoc ({fmt.upper()})"


def _next_done(jobs: Mapping[str, _Job]) -> str:
    """The format of a pandoc call that has ended (the PDF's first: typst's compile follows
    it), waiting until one has."""
    while True:
        done = [fmt for fmt, job in jobs.items() if job.proc.poll() is not None]
        if done:
            return "pdf" if "pdf" in done else done[0]
        time.sleep(0.005)


def _wait_for_file(path: Path, job: _Job) -> None:
    """Wait until ``job`` has written ``path`` (written whole, then renamed into place), or
    raise :class:`RenderError` if it ended without it."""
    while not path.exists():
        if job.proc.poll() is not None:
            job.wait()  # raises if it failed
            if not path.exists():
                raise RenderError(f"{job.what} ended without writing its reading of the source ({path.name})")
            return
        time.sleep(0.005)


def _writing_ast(cmd: list[str], env: dict[str, str], ast: Path) -> tuple[list[str], dict[str, str]]:
    """A pandoc call's command and environment such that it also writes the source as its
    reader gave it to ``ast`` (``SOURCE_AST_FILTER``, run before every other filter)."""
    at = cmd.index("--from") + 2  # right after the reader: before crossref.lua changes anything
    return [*cmd[:at], "--lua-filter", str(SOURCE_AST_FILTER), *cmd[at:]], {**env, "ANALYSIS_SOURCE_AST": str(ast)}


class _Job:
    """One pandoc subprocess started now; :meth:`wait` checks how it ended."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], what: str) -> None:
        self._start(cmd, cwd, env, what, None)

    def _start(self, cmd: list[str], cwd: Path, env: dict[str, str], what: str, stdin: Any) -> None:
        self.what, self.waited = what, False
        # files, not pipes: the calls are polled, and a pipe that fills up would stop pandoc
        self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=stdin, stdout=self._out, stderr=self._err)

    def _output(self) -> tuple[str, str]:
        self.proc.wait()
        texts = []
        for f in (self._out, self._err):
            f.seek(0)
            texts.append(f.read().decode("utf-8", "replace"))
            f.close()
        return texts[0], texts[1]

    def wait(self) -> None:
        if self.waited:
            return  # the reading call may be waited for before its turn
        self.waited = True
        out, err = self._output()
        if self.proc.returncode != 0:
            detail = _without_lua_trace((err or out).strip())
            raise RenderError(f"{self.what} failed (exit {self.proc.returncode}):\n{detail}")
        warnings = [ln for ln in err.splitlines() if "WARNING" in ln.upper()]
        if warnings:
            raise RenderError(f"{self.what} reported problems:\n" + "\n".join(warnings))

    def kill(self) -> None:
        if self.waited:
            return
        self.waited = True
        if self.proc.poll() is None:
            self.proc.kill()
        self._output()


class _ReadingJob(_Job):
    """The pandoc call of a :class:`SourceReading`: the source comes on its standard input."""

    def __init__(self, cmd: list[str], cwd: Path, stdin: Any) -> None:
        self._start(cmd, cwd, dict(os.environ), "pandoc (reading the manuscript)", stdin)


def _pandoc_common(shared: Path, *filters: str, jats: bool = False) -> list[str]:
    """Reader, filters (cross-references, authors, front matter, then ``filters``), citations,
    and last the link check, so that it sees every link and image, those citeproc builds from
    the bibliography included. Resources (figures) are read only from the staging folder, the
    working directory. JATS keeps the structured authors (its writer has author fields), so
    ``authors.lua``, which reduces them to names, is left out there."""
    args = ["--from", READER]
    authors = () if jats else ("authors.lua",)
    for name in ("crossref.lua", *authors, "frontmatter.lua", *filters):
        args += ["--lua-filter", str(shared / name)]
    return [*args, "--citeproc", "--lua-filter", str(shared / SAFE_LINKS_FILTER), "--resource-path", "."]


def _html_cmd(qmd: Path, out: Path, shared: Path, others: tuple[str, ...] = (), embed: bool = True) -> list[str]:
    """Self-contained HTML: figures, CSS and script embedded in one file; numbers explain
    themselves on hover and focus (``html.lua``); links to the ``others`` formats of the build.
    ``embed=False`` links the figures and the copy of the CSS beside the page instead (the
    preview, which serves the folder, saves the time of encoding them into the page)."""
    page = ["--embed-resources", "--css", str(shared / "manuscript.css")] if embed else ["--css", "manuscript.css"]
    return [pandoc_path(), qmd.name, *_pandoc_common(shared), "--lua-filter", str(shared / "html.lua"),
            "--to", "html5", "--standalone", *page,
            "--include-in-header", str(shared / "html-head.html"),
            "--metadata", "link-citations=true", "--metadata", "other-formats=" + ",".join(others),
            "--section-divs", "--wrap=none", "--shift-heading-level-by=1", "--output", out.name]


def _docx_cmd(qmd: Path, out: Path, shared: Path) -> list[str]:
    """DOCX with real Word tables, the generated reference document's styles; figures as PNG.
    :func:`analysis.docx.finish_docx` then sizes the tables to their content."""
    cmd = [pandoc_path(), qmd.name, *_pandoc_common(shared, "docx-png.lua"), "--to", "docx", "--output", out.name]
    ref = shared / "reference.docx"
    if ref.is_file():
        cmd[-2:-2] = ["--reference-doc", str(ref)]
    return cmd


def _typst_cmd(qmd: Path, typ: Path, shared: Path) -> list[str]:
    return [pandoc_path(), qmd.name, *_pandoc_common(shared, "typst-divs.lua"), "--to", "typst", "--standalone",
            "--template", str(shared / "manuscript.typ"), "--output", typ.name]


def _jats_cmd(qmd: Path, out: Path, shared: Path) -> list[str]:
    """JATS (Archiving and Interchange tag set): front matter, abstract, keywords, body, refs."""
    return [pandoc_path(), qmd.name, *_pandoc_common(shared, jats=True), "--to", "jats_archiving", "--standalone",
            "--wrap=none", "--output", out.name]


def fill_placeholders(data: bytes, values: Mapping[str, str], what: str) -> bytes:
    """``data`` (an output's bytes) with each placeholder of ``values`` replaced by its value.

    A placeholder is a run of ASCII letters that no writer changes; one that a writer split
    would leave part of itself behind, and fails the build rather than print a wrong number.
    """
    for token, value in values.items():
        data = data.replace(token.encode("ascii"), value.encode("utf-8"))
    left = [token for token in values if token[: len(token) // 2].encode("ascii") in data]
    if left:
        raise RenderError(f"{what}: the renderer changed the placeholder(s) {left}, so they could not be filled in")
    return data


def _fill_file(path: Path, late: Callable[[], Mapping[str, str]] | None) -> None:
    if late is not None and path.is_file():
        path.write_bytes(fill_placeholders(path.read_bytes(), late(), path.name))


def _table_ids(qmd: Path) -> list[str]:
    """The ids of the numbered tables in document order, as the crossref filter numbers them."""
    import re

    ids = re.findall(r"^: .*\{#(tbl-[A-Za-z0-9_-]+)\}\s*$", qmd.read_text(encoding="utf-8"), flags=re.M)
    return list(dict.fromkeys(ids))


def _compile_typst(typ: Path, out: Path, root: Path, epoch: int | None = None) -> None:
    """Compile the typst source to PDF, its creation date the build date (``epoch``), so two
    builds give the same bytes."""
    try:
        import typst
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("the typst wheel is not installed: run `make report` to install it") from None
    try:
        typst.compile(str(typ), output=str(out), root=str(root), timestamp=epoch)
    except Exception as exc:  # typst raises its own error type with the source location
        raise RenderError(f"typst failed on {typ.name}: {exc}") from None


def render_quarto(qmd: Path, formats: tuple[str, ...], env: dict[str, str]) -> None:
    """Render with ``quarto render``, one call per format (Quarto reads ``_quarto.yml`` beside the qmd)."""
    exe = shutil.which("quarto")
    if exe is None:
        raise RenderError(
            "--engine quarto needs a `quarto` executable on PATH, and none was found. "
            "Install Quarto (https://quarto.org) or use the default `--engine embedded`."
        )
    for fmt in formats:
        _Job([exe, "render", qmd.name, "--to", "typst" if fmt == "pdf" else fmt], qmd.parent, env,
             f"quarto render ({fmt})").wait()


def render(
    qmd: Path,
    shared: Path,
    formats: tuple[str, ...] = FORMATS,
    engine: str = "embedded",
    source_date_epoch: int | None = None,
    progress: Callable[[str], None] | None = None,
    options: RenderOptions | None = None,
    *,
    embed: bool = True,
    late: Callable[[], Mapping[str, str]] | None = None,
    on_read: Callable[[dict[str, Any]], None] | None = None,
    reading: SourceReading | None = None,
    html_session: HtmlSession | None = None,
) -> list[Path]:
    """Render ``qmd`` (inside a staging folder) to each format; return the files written.

    ``embed=False`` links the HTML's figures and CSS instead of embedding them. ``late`` gives
    values the source holds as placeholders because they were not known when the renderers
    started (the word counts): each output has them filled in (:func:`fill_placeholders`) as
    soon as its renderer is done, before it is finished or compiled. ``on_read`` is given the
    source as pandoc's reader gives it (its JSON AST, before any filter) before ``late`` is
    first asked: the first pandoc call started writes it on the side, so nothing reads the
    source only for that (the word counts). It is not called when no pandoc call runs (the
    ``quarto`` engine, or no manuscript format). ``reading`` (a :class:`SourceReading` of
    exactly the text of ``qmd``) is what ``on_read`` is given, and with several formats it is
    read by the pandoc calls instead of ``qmd`` (with one, that call reads ``qmd`` while the
    reading runs beside it); a reading of another text is not used. ``html_session`` renders an
    HTML-only build that links its figures (not ``embed``) with the pandoc it keeps running
    (:class:`analysis.htmlsession.HtmlSession`): the same output as the command line's, which
    runs instead whenever the session declines.

    The pandoc calls run concurrently; the PDF is compiled by typst in this process as soon
    as pandoc has written its typst source. The figures' PNG (for the DOCX) and submission
    files are made from their SVG in ``figures/`` while pandoc runs
    (:mod:`analysis.figurefiles`). Any failure raises :class:`RenderError` naming the
    renderer and its message, after the other calls have been stopped.
    """
    from analysis import figurefiles

    if engine not in ENGINES:
        raise RenderError(f"Invalid `--engine` value: {engine!r}. Must be one of: {', '.join(ENGINES)}")
    formats = normalise_formats(formats)
    manuscript = tuple(f for f in formats if f in MANUSCRIPT_FORMATS)
    opts = options or RenderOptions()
    env = dict(os.environ)
    if source_date_epoch is not None:
        # pandoc stamps DOCX metadata and zip entries with this: identical inputs, identical bytes.
        env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    figures = qmd.parent / "figures"
    outputs = [qmd.parent / output_name(f, qmd.stem) for f in manuscript]
    if engine == "quarto":
        if "docx" in manuscript:
            figurefiles.docx_pngs(figures)
        render_quarto(qmd, manuscript, env)
        if "figures" in formats:
            outputs += figurefiles.submission_files(figures, source_date_epoch)
        return outputs
    say = progress or (lambda _msg: None)
    if "html" in manuscript and not embed:
        shutil.copy2(shared / "manuscript.css", qmd.parent / "manuscript.css")  # the page links it
    makers = {"html": lambda q, o, s: _html_cmd(q, o, s, tuple(f for f in manuscript if f != "html"), embed),
              "docx": _docx_cmd, "jats": _jats_cmd}
    if html_session is not None and formats == ("html",) and not embed:
        html = qmd.with_suffix(SUFFIXES["html"])
        say(f"rendering {html.name} (pandoc kept running)")
        source = html_session.html(makers["html"](qmd, html, shared), qmd.parent, env)
        if source is not None:
            if on_read is not None:
                on_read(source)
            _fill_file(html, late)
            return outputs
    say("rendering " + ", ".join(p.name for p in outputs) + " (pandoc in parallel)")
    typ = qmd.with_suffix(".typ")
    jobs: dict[str, _Job] = {}
    ast: Path | None = None
    reader: list[_Job] = []  # the pandoc call that writes the source's AST (the first started)
    try:
        # typst's source first: it has the most work left after pandoc (the typst compile);
        # the DOCX's pictures are made while pandoc writes it: pandoc reads stand-ins of the
        # right size, and the DOCX gets the real pictures when it is finished
        pictures = figurefiles.DocxPictures(figures) if "docx" in manuscript else None
        early = pictures is not None and pictures.stand_ins()
        if reading is not None and (not manuscript or reading.text.encode("utf-8") != qmd.read_bytes()):
            reading = None  # a reading of another text is no use
        # several renderers read the reading instead of the text; one reads the text itself,
        # the reading running beside it (it gives the word counts only)
        shared_ast = reading.json() if reading is not None and len(manuscript) > 1 else None
        if on_read is not None and manuscript and reading is None:
            ast = Path(tempfile.mkdtemp(prefix="source-ast-")) / "source.json"

        def start(fmt: str) -> None:
            cmd = _typst_cmd(qmd, typ, shared) if fmt == "pdf" else makers[fmt](qmd, qmd.with_suffix(SUFFIXES[fmt]),
                                                                                shared)
            if shared_ast is not None:
                cmd = _from_json(cmd, qmd, shared_ast)
            own = env
            first = ast is not None and (not reader or reader[0].what == _what(fmt))
            if first:
                cmd, own = _writing_ast(cmd, env, ast)
            jobs[fmt] = _Job(cmd, qmd.parent, own, _what(fmt))
            if first:
                reader[:] = [jobs[fmt]]

        if "pdf" in manuscript:
            start("pdf")
        for fmt in sorted(set(manuscript) & set(makers), key=("html", "jats", "docx").index):
            if fmt != "docx" or early:
                start(fmt)
        if pictures is not None:
            outputs += pictures.make()
            if not early:
                start("docx")
            elif not pictures.exact:  # a stand-in of another size: pandoc reads the real ones
                jobs.pop("docx").kill()
                start("docx")
                early = False
        if "figures" in formats:
            outputs += figurefiles.submission_files(figures, source_date_epoch)

        read: list[bool] = []

        def values() -> Mapping[str, str]:
            """``late()``, once the reading call has written what it read (early in its run,
            so an output finished before it need not wait for the whole of it)."""
            if on_read is not None and not read:
                if reading is not None:
                    on_read(reading.ast())
                elif reader and ast is not None:
                    _wait_for_file(ast, reader[0])
                    on_read(json.loads(ast.read_bytes()))
                read.append(True)
            return late() if late is not None else {}

        fill = values if late is not None or on_read is not None else None
        # each output is finished as soon as its pandoc call ends, while the others still run
        while jobs:
            fmt = _next_done(jobs)
            jobs.pop(fmt).wait()
            if fmt == "pdf":
                _fill_file(typ, fill)
                _compile_typst(typ, qmd.with_suffix(".pdf"), qmd.parent, source_date_epoch)
            elif fmt == "docx":
                from analysis.docx import finish_docx

                finish_docx(qmd.with_suffix(".docx"), line_numbers=opts.line_numbers, authors=front_matter_authors(qmd),
                            fill=(lambda data: fill_placeholders(data, fill(), "manuscript.docx")) if fill else None,
                            media=pictures.replace if early and pictures else None)
            else:
                _fill_file(qmd.with_suffix(SUFFIXES[fmt]), fill)
                if fmt == "jats":
                    from analysis.jats import finish_jats

                    finish_jats(qmd.with_suffix(".xml"), _table_ids(qmd))
        if fill is not None:
            fill()  # every output is done; the values are asked for at least once
    finally:
        for job in jobs.values():
            job.kill()
        if ast is not None:
            shutil.rmtree(ast.parent, ignore_errors=True)
    return outputs
