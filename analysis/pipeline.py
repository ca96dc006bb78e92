"""The build pipeline: raw data -> validated frames -> analysis -> results -> manuscript.

Two stages, so that ``make`` can redo only what changed:

* ``analyse``: validate the data, run ``analysis/studies/<study>.py``, save figures and
  ``results.json`` into ``build/<study>/`` (a cache, replaced atomically);
* ``render``: lint the templates, render them against ``results.json`` into
  ``manuscript.qmd``, and turn that into HTML, PDF and DOCX in ``report/<study>/``,
  replaced atomically, so a failed build leaves the previous report exactly as it was.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.errors import (
    AnalysisError,
    ConfigError,
    DataValidationError,
    RenderError,
    ResultsError,
    ScriptError,
)
from analysis.figurefiles import save_svgs
from analysis.figureworker import figure_worker
from analysis.outputs import output_errors, recover, scratch_dir, staged_dir, study_lock, write_text_atomic
from analysis.provenance import provenance
from analysis.quarto import lift_front_matter, write_project
from analysis.render import (
    FORMATS,
    MANUSCRIPT_FORMATS,
    RenderOptions,
    SourceReading,
    fill_placeholders,
    normalise_formats,
    output_name,
    render,
)
from analysis.results import ResultsStore
from analysis.settings import alpha as settings_alpha
from analysis.study import Study, load_config, load_study
from analysis.trail import bind_table_sources, check_spans, check_trail

if TYPE_CHECKING:
    from analysis.htmlsession import HtmlSession

__all__ = ["Progress", "analyse", "build", "lint", "render_study"]

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Progress:
    """Prints each step of a long build to stderr with its duration."""

    def __init__(self, study: str, stream: Any = None, quiet: bool = False) -> None:
        self.study, self.stream, self.quiet = study, stream or sys.stderr, quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"[{self.study} {elapsed:6.1f}s] {message}", file=self.stream, flush=True)


# -- analyse -------------------------------------------------------------------------------
def _protocol_values(store: ResultsStore, protocol: Any, prefix: str = "protocol") -> None:
    """Every scalar of study.yaml's ``protocol:`` becomes a citable value ``protocol.*``."""
    if isinstance(protocol, dict):
        for key, val in protocol.items():
            _protocol_values(store, val, f"{prefix}.{key}")
        return
    if isinstance(protocol, list):
        for i, val in enumerate(protocol):
            _protocol_values(store, val, f"{prefix}.{i}")
        return
    note = "study.yaml: protocol fact"
    if isinstance(protocol, bool):
        store.add(prefix, "yes" if protocol else "no", "text", note=note, inputs=("study.yaml",))
    elif isinstance(protocol, int):
        store.add(prefix, protocol, "int", note=note, inputs=("study.yaml",))
    elif isinstance(protocol, float):
        decimals = len(repr(protocol).split(".")[1]) if "." in repr(protocol) else 0
        store.add(prefix, protocol, "num", digits=decimals, note=note, inputs=("study.yaml",))
    elif hasattr(protocol, "isoformat"):
        store.add(prefix, protocol.isoformat(), "date", note=note, inputs=("study.yaml",))
    elif isinstance(protocol, str):
        kind = "date" if _ISO_DATE.match(protocol) else "text"
        store.add(prefix, protocol, kind, note=note, inputs=("study.yaml",))
    elif protocol is not None:
        raise ConfigError(f"study.yaml: protocol fact `{prefix}` has unsupported type {type(protocol).__name__}")


def study_script(study: Study) -> Path | None:
    """The file named by ``script:`` in study.yaml, resolved; None when the study has none.

    The path is relative to the project folder and must stay inside it (a script elsewhere
    would not be covered by the commit in the provenance stamp). Raises :class:`ConfigError`.
    """
    script = study.config.get("script")
    if not script:
        return None
    where = f"data/{study.id}/study.yaml: `script`"
    if not isinstance(script, str):
        raise ConfigError(f"{where} must be a path relative to the project folder, got {script!r}")
    project = study.root.parent.parent.resolve()
    path = (project / script).resolve()
    if not path.is_relative_to(project):
        raise ConfigError(
            f"{where} {script!r} resolves to {path}, outside the project folder {project}; "
            "expected a path inside the project (such as scripts/analysis.py)"
        )
    if not path.is_file():
        raise ConfigError(f"{where} {script!r} does not exist")
    return path


def _load_script(study: Study) -> Any:
    """The study's analysis module: ``analysis/studies/<id>.py``, or the file named by
    ``script:`` in study.yaml (relative to the project folder)."""
    path = study_script(study)
    if path is not None:
        spec = importlib.util.spec_from_file_location(f"_study_script_{study.id}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(f"analysis.studies.{study.id}")
    except ModuleNotFoundError as exc:
        if exc.name == f"analysis.studies.{study.id}":
            raise ConfigError(
                f"study `{study.id}` has no analysis script: expected analysis/studies/{study.id}.py"
            ) from None
        raise


def _script_path(study: Study) -> Path:
    script = study.config.get("script")
    if isinstance(script, str) and script:
        return study.root.parent.parent / script
    return Path(__file__).resolve().parent / "studies" / f"{study.id}.py"


def _project_path(path: Path, study: Study) -> str:
    resolved = path.resolve()
    for base in (study.root.parent.parent.resolve(), Path(__file__).resolve().parents[1]):
        if resolved.is_relative_to(base):
            return str(resolved.relative_to(base))
    return str(path)


def _located(study: Study, exc: AnalysisError) -> AnalysisError:
    """An engine error raised by a call in the study script, prefixed with the script's
    file:line, so the author sees which call of the script it came from."""
    script = _script_path(study).resolve()
    ours = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == script]
    if not ours or str(exc).startswith(_project_path(script, study)):
        return exc
    try:
        return type(exc)(f"{_project_path(script, study)}:{ours[-1].lineno}: {exc}")
    except TypeError:  # an error class with a richer constructor: keep it as it is
        return exc


def _script_error(study: Study, exc: Exception) -> ScriptError:
    """One line for an exception a study script raised: ``script.py:42: what went wrong``."""
    script = _script_path(study).resolve()
    project = study.root.parent.parent.resolve()
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if Path(f.filename).resolve() == script]
    inner = [f for f in frames if Path(f.filename).resolve().is_relative_to(project)
             or Path(f.filename).resolve().is_relative_to(Path(__file__).resolve().parent)]
    at = ours[-1] if ours else (inner[-1] if inner else (frames[-1] if frames else None))

    def show(path: str) -> str:
        resolved = Path(path).resolve()
        for base in (project, Path(__file__).resolve().parents[1]):
            if resolved.is_relative_to(base):
                return str(resolved.relative_to(base))
        return path

    where = f"{show(at.filename)}:{at.lineno}" if at else show(str(script))
    if isinstance(exc, SyntaxError) and exc.filename:
        where = f"{show(exc.filename)}:{exc.lineno}"
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        key = exc.args[0]
        holders = [f"data/{study.id}/{study.files[n]}" for n, f in study.frames.items() if key in f.columns]
        if not holders:
            listing = "; ".join(f"data/{study.id}/{study.files[n]} has {', '.join(map(str, f.columns))}"
                                for n, f in study.frames.items())
            what = f"column or key {key!r} not found ({listing})" if listing else f"key {key!r} not found"
        else:
            what = f"KeyError {key!r}"
    else:
        what = f"{type(exc).__name__}: {exc}"
    if inner and at is not None and inner[-1] is not at:
        what += f" (raised in {show(inner[-1].filename)}:{inner[-1].lineno})"
    return ScriptError(f"{where}: {what}")


def run_analysis(study: Study) -> ResultsStore:
    """Run the study's analysis script and add its protocol facts and input hashes.

    An exception the script raises that is not one of ours becomes a :class:`ScriptError`
    naming the script's file and line (the traceback is kept for ``--debug``).
    """
    try:
        module = _load_script(study)
        store = module.analyse(study)
    except DataValidationError as exc:
        if exc.row is not None:
            raise  # a bad record: it names the data file, row and column already
        # a column the script asked a builder for: also say which call of the script it was
        raise _located(study, ScriptError(str(exc)).with_traceback(exc.__traceback__)) from exc
    except AnalysisError as exc:
        raise _located(study, exc) from exc
    except Exception as exc:
        raise _script_error(study, exc) from exc
    if not isinstance(store, ResultsStore):
        raise ResultsError(f"{_project_path(_script_path(study), study)}: analyse() must return a ResultsStore, "
                           f"got {type(store).__name__}")
    _protocol_values(store, study.protocol)
    store.inputs = dict(study.inputs)
    script = study_script(study)
    if script is not None:
        # the numbers depend on the script as much as on the data: list it with the inputs
        from analysis.dataio import sha256_file

        store.inputs[str(script.relative_to(study.root.parent.parent.resolve()))] = sha256_file(script)
    published = study.root / "published.yaml"
    if published.is_file():
        from analysis.audit import add_audit, load_published
        from analysis.dataio import sha256_file

        alpha = settings_alpha(study.config)
        add_audit(store, load_published(published), alpha=alpha)
        store.inputs["published.yaml"] = sha256_file(published)
    bind_table_sources(store)
    return store


def _analysis_folder(root: Path, study_id: str, given: Path | None = None) -> Path:
    """``given``, or where a study's analysis goes by default: ``build/<study>``."""
    return given if given is not None else root / "build" / study_id


def _report_folder(root: Path, study_id: str, given: Path | None = None) -> Path:
    """``given``, or where a study's report goes by default: ``report/<study>``."""
    return given if given is not None else root / "report" / study_id


@contextmanager
def _exclusive(root: Path, study_id: str, say: Callable[[str], None], *given: Path | None) -> Iterator[None]:
    """Hold the study's build lock and clean up after a build that was killed, in the default
    folders and in the ``given`` ones (another ``out`` or ``cache``, such as the preview's)."""
    with study_lock(root, study_id):
        with output_errors(root, f"the outputs of {study_id}"):
            folders = {_analysis_folder(root, study_id), _report_folder(root, study_id), *filter(None, given)}
            for folder in sorted(folders):
                recover(folder, say)
        yield


def analyse(
    root: Path,
    study_id: str,
    progress: Callable[[str], None] | None = None,
    *,
    out: Path | None = None,
) -> Path:
    """Stage 1: data -> ``build/<study>/results.json`` and the figures' SVG. Returns the folder.

    ``out`` writes into another folder (the preview keeps its own). The study's build lock
    is held throughout (see :func:`analysis.outputs.study_lock`).
    """
    say = progress or (lambda _msg: None)
    with _exclusive(root, study_id, say, out):
        return _analyse(root, study_id, say, out)


def _analyse(root: Path, study_id: str, say: Callable[[str], None], out: Path | None) -> Path:
    with _analysing(root, study_id, say, out):
        pass
    return _analysis_folder(root, study_id, out)


@dataclass
class _Analysis:
    """An analysis staged but not yet published: results.json's text, and the folder of its
    figures with ``finish()``, which waits until every figure is saved there."""

    results: str
    figures: Path
    finish: Callable[[], None]


@contextmanager
def _analysing(
    root: Path, study_id: str, say: Callable[[str], None], out: Path | None, background: bool = False,
) -> Iterator[_Analysis]:
    """Compute the analysis and stage its folder; yield it (:class:`_Analysis`), and publish
    the folder when the block ends. The figure worker (:mod:`analysis.figureworker`) draws
    the script's figures while it runs; with ``background`` the figures may still be being
    drawn or saved while the block runs (:func:`analysis.figurefiles.save_svgs`), so a build
    renders its templates meanwhile. The analysis is published even when the block fails, as
    the stage it is (the block's error is raised after)."""
    final = _analysis_folder(root, study_id, out)
    with figure_worker(beside=final) as worker:  # draws the script's figures on another core as they come
        say("loading and validating data")
        study = load_study(root, study_id)
        say(f"validated {sum(len(f) for f in study.frames.values())} rows in {len(study.frames)} file(s)")
        say("running analysis script")
        store = run_analysis(study)
        say(f"computed {len(store.values)} values, {len(store.tables)} tables, {len(store.figures)} figures")
        failed: BaseException | None = None
        with output_errors(root, _shown(final, root)), staged_dir(final) as stage:
            finish = save_svgs(store.figures, stage / "figures", background=background, worker=worker)
            try:
                results = store.to_json()
                (stage / "results.json").write_text(results, encoding="utf-8")
            except BaseException:
                finish()
                raise
            try:
                yield _Analysis(results, stage / "figures", finish)
            except BaseException as exc:  # the next stage failed; this one stands
                failed = exc
            finish()
    say(f"wrote {_shown(final, root)}/results.json")
    if failed is not None:
        raise failed


# -- lint ------------------------------------------------------------------------------------
def lint(root: Path, study_ids: list[str] | None = None) -> list[tuple[str, int, str]]:
    """Lint the shared partials and the given studies' templates: see
    :func:`analysis.lint.lint_templates` (kept here for callers of the pipeline)."""
    from analysis.lint import lint_templates  # Jinja2 is for rendering: analyse does not load it

    return lint_templates(root, study_ids)


# -- render ----------------------------------------------------------------------------------
def _study_context(config: dict[str, Any]) -> dict[str, Any]:
    """Text settings of study.yaml that templates may print (titles, labels, statements)."""
    keep = ("id", "title", "arms", "groups", "synthetic", "source", "keywords", "authors")
    return {k: config[k] for k in keep if k in config}


def _render_options(config: dict[str, Any]) -> RenderOptions:
    """The ``render:`` settings of study.yaml (``line_numbers: true`` numbers DOCX lines for review)."""
    raw = config.get("render") or {}
    where = f"data/{config.get('id')}/study.yaml"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: `render` must be a mapping, got {type(raw).__name__}")
    known = {"line_numbers"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown `render` setting(s) {unknown}. Must be among: {sorted(known)}")
    line_numbers = raw.get("line_numbers", False)
    if not isinstance(line_numbers, bool):
        raise ConfigError(f"{where}: `render.line_numbers` must be true or false, got {line_numbers!r}")
    return RenderOptions(line_numbers=line_numbers)


def _write_tables(store: ResultsStore, folder: Path) -> None:
    """Each table as Markdown (as in the manuscript) and as a tidy CSV of raw numbers, its text
    cells made spreadsheet-safe (:func:`analysis.markup.spreadsheet_safe`)."""
    if not store.tables:
        return
    from analysis.markup import spreadsheet_safe
    from analysis.tables.model import Table
    from analysis.tables.render import to_markdown

    folder.mkdir(parents=True, exist_ok=True)
    for tid, data in sorted(store.tables.items()):
        (folder / f"{tid}.md").write_text(to_markdown(data, store.style), encoding="utf-8")
        # labels and notes come from settings and data: no cell may run as a spreadsheet formula
        frame = Table.from_dict(data).to_frame().map(spreadsheet_safe)
        (folder / f"{tid}.csv").write_text(frame.to_csv(index=False, lineterminator="\n"), encoding="utf-8")


def render_study(
    root: Path,
    study_id: str,
    engine: str = "embedded",
    formats: tuple[str, ...] = FORMATS,
    progress: Callable[[str], None] | None = None,
    out: Path | None = None,
    cache: Path | None = None,
    *,
    quick: bool = False,
    html_session: HtmlSession | None = None,
) -> Path:
    """Stage 2: ``build/<study>/results.json`` + templates -> ``report/<study>/``.

    ``out`` writes the report into another folder instead, ``cache`` reads the analysis from
    another folder than ``build/<study>/`` (the preview keeps its own of both). ``quick`` is
    the preview's rendering: the HTML links its figures and CSS instead of embedding them,
    and neither ``tables/`` nor the Quarto project is written; every check still runs.
    ``html_session`` (the preview's) renders a ``quick`` HTML with a pandoc kept running
    between builds (:class:`analysis.htmlsession.HtmlSession`); the output is the same.

    Each renderer's output must exist and not be empty, or nothing is swapped in. Formats
    not asked for (``--formats html``) are carried over from the previous report.
    """
    say = progress or (lambda _msg: None)
    with _exclusive(root, study_id, say, out, cache):
        return _render_study(root, study_id, engine, formats, say, out, cache, quick, html_session)


#: Placeholders for the word counts in the one rendering of the templates (see _draft).
_WORDS_ABSTRACT, _WORDS_MAIN = "XqzAbstractWordsXqz", "XqzMainTextWordsXqz"


def _render_study(
    root: Path, study_id: str, engine: str, formats: tuple[str, ...], say: Callable[[str], None],
    out: Path | None, cache: Path | None, quick: bool = False, html_session: HtmlSession | None = None,
) -> Path:
    cache = _analysis_folder(root, study_id, cache)
    results_file = cache / "results.json"
    if not results_file.is_file():
        raise AnalysisError(
            f"{_shown(results_file, root)} is missing: run `python -m analysis analyse {study_id}` first"
        )
    draft = _draft(root, study_id, engine, say, results_file.read_text(encoding="utf-8"), formats, out,
                   html_session if quick else None)
    return _write_report(root, study_id, engine, formats, say, draft, out, cache, quick)


@dataclass
class _Draft:
    """The manuscript as the templates gave it, checked, before its report is written."""

    config: dict[str, Any]
    store: ResultsStore
    prov: dict[str, Any]
    text: str
    words: Callable[[], dict[str, str]]  # the word counts by placeholder (from `read`, or pandoc's own reading)
    read: Callable[[dict[str, Any]], None]  # given pandoc's reading of the source by the first renderer
    reading: SourceReading | None = None  # pandoc reading the source for every renderer, started early
    html_session: HtmlSession | None = None  # the preview's pandoc kept running, which reads the source itself

    def filled(self, source: str) -> str:
        """``source`` with the word counts in place of their placeholders."""
        return fill_placeholders(source.encode("utf-8"), self.words(), "manuscript.qmd").decode("utf-8")


def _draft(root: Path, study_id: str, engine: str, say: Callable[[str], None], results: str,
           formats: tuple[str, ...] = (), report: Path | None = None,
           html_session: HtmlSession | None = None) -> _Draft:
    """Lint, render the templates with the results (``results.json``'s text) and run every
    check of the text; the word counts are made when the renderers have read the text.

    When ``formats`` has pandoc renderers, pandoc starts reading the text at once
    (:class:`analysis.render.SourceReading`, kept in the draft), while the checks run and
    the figures are saved: several renderers then share that reading, one reads the text
    itself beside it, and the word counts come from it. It is kept beside the
    ``report`` folder (by default ``report/<study>``), where a killed build's is removed by
    the next build. With an ``html_session`` (a quick HTML), the session reads the text
    instead."""
    from analysis.checklist import Manuscript, WordCounts, check_checklist, check_word_limits, count_words, word_counts
    from analysis.frontmatter import front_matter_yaml, load_front_matter
    from analysis.templating import render_manuscript

    config = load_config(root, study_id)
    say("linting templates")
    literals = lint(root, [study_id])
    if literals:
        say(f"{len(literals)} explicit lit() escape(s): " + "; ".join(f"{f}:{n} {t!r}" for f, n, t in literals))
    store = ResultsStore.from_json(results)
    script = config.get("script")
    prov = provenance(root, store.inputs, watched=(script,) if isinstance(script, str) else (), engine=engine)
    alpha = settings_alpha(config)
    where = f"data/{study_id}/study.yaml"
    front = load_front_matter(config, where)
    context = {"study": _study_context(config), "prov": prov, "front": front.context(),
               "front_yaml": front_matter_yaml(front)}
    say("rendering templates")
    # The word counts stand outside the abstract and the main text, so printing them does not
    # change them: the templates are rendered once with a placeholder for each count, the
    # counts are taken from the first renderer's reading of the text (pandoc's, before any
    # filter) and replace the placeholders (letters only, so no escaping touches them).
    journal = config.get("journal") or {}
    context["words"] = {"abstract": _WORDS_ABSTRACT, "main": _WORDS_MAIN,
                        "abstract_limit": journal.get("abstract_words"), "main_limit": journal.get("main_words")}
    text = render_manuscript(root / "templates", study_id, store, context, alpha=alpha)
    renderers = set(normalise_formats(formats)) & set(MANUSCRIPT_FORMATS)
    reading = None
    if engine == "embedded" and renderers and html_session is None:
        reading = SourceReading(lift_front_matter(text), scratch_dir(_report_folder(root, study_id, report)))
    try:
        items = check_checklist(Manuscript(config, front, store, text), where)
        if items:
            say(f"checklist {config['checklist']}: all {len(items)} checked items present")
        say("checking the paper trail")
        check_trail(store, text)
    except BaseException:
        if reading is not None:
            reading.close()
        raise
    counted: list[WordCounts] = []

    def read(ast: dict[str, Any]) -> None:
        counted[:] = [word_counts(ast)]

    @functools.cache
    def words() -> dict[str, str]:
        # no renderer read the text (another engine, or no manuscript format): pandoc reads it now
        counts = counted[0] if counted else count_words(text)
        check_word_limits(counts, config, where)
        say(f"words: abstract {counts.abstract}, main text {counts.main}")
        return {_WORDS_ABSTRACT: str(counts.abstract), _WORDS_MAIN: str(counts.main)}

    draft = _Draft(config, store, prov, text, words, read, reading, html_session)
    if engine != "embedded":  # another engine renders the .qmd itself: it must hold the counts
        draft.text = draft.filled(text)
    return draft


def _write_report(
    root: Path, study_id: str, engine: str, formats: tuple[str, ...], say: Callable[[str], None], draft: _Draft,
    out: Path | None, cache: Path, quick: bool, analysis: _Analysis | None = None,
) -> Path:
    """Stage the report of ``draft``: figures and results from ``cache`` (or from the
    ``analysis`` still being staged), tables, the .qmd and every format, each checked;
    swapped in only when all succeeded. A ``quick`` HTML links its figures instead of
    embedding them, so it is rendered before they are copied: an analysis still saving them
    is waited for only then. The draft's reading of the source is let go of at the end."""
    try:
        return _stage_report(root, study_id, engine, formats, say, draft, out, cache, quick, analysis)
    finally:
        if draft.reading is not None:
            draft.reading.close()


def _stage_report(
    root: Path, study_id: str, engine: str, formats: tuple[str, ...], say: Callable[[str], None], draft: _Draft,
    out: Path | None, cache: Path, quick: bool, analysis: _Analysis | None,
) -> Path:
    formats = normalise_formats(formats)
    store, text = draft.store, draft.text
    shared = root / "templates" / "_shared"
    final = _report_folder(root, study_id, out)
    with output_errors(root, _shown(final, root)), \
            staged_dir(final, keep=lambda stage: _keep_previous(final, stage, say)) as stage:
        figures = analysis.figures if analysis is not None else cache / "figures"

        def copy_figures() -> None:
            if analysis is not None:
                analysis.finish()
            if figures.is_dir():
                shutil.copytree(figures, stage / "figures")

        if not quick:
            copy_figures()  # the renderers embed them
        if analysis is not None:
            write_text_atomic(stage / "results.json", analysis.results)
        else:
            shutil.copy2(cache / "results.json", stage / "results.json")
        if not quick:
            _write_tables(store, stage / "tables")
        for name in ("references.bib", "vancouver.csl"):
            own = root / "templates" / study_id / name
            shutil.copy2(own if own.exists() else shared / name, stage / name)
        write_text_atomic(stage / "manuscript.qmd", lift_front_matter(text))
        if not quick:
            write_project(stage, shared)
        # the embedded renderers start at once, the word counts still placeholders in the source
        written = render(stage / "manuscript.qmd", shared, formats, engine, draft.prov["epoch"], say,
                         _render_options(draft.config), embed=not quick, late=draft.words, on_read=draft.read,
                         reading=draft.reading, html_session=draft.html_session)
        write_text_atomic(stage / "manuscript.qmd", lift_front_matter(draft.filled(text)))
        if quick:
            copy_figures()
        _check_outputs(written)
        if "html" in formats:
            check_spans(stage / "manuscript.html", store)
        typ = stage / "manuscript.typ"
        if typ.exists():
            typ.unlink()
    say(f"wrote {', '.join(f'{_shown(final, root)}/{output_name(f)}' for f in formats)}")
    return final


def _check_outputs(written: list[Path]) -> None:
    """A renderer that exits 0 but writes nothing must not cost the previous report."""
    for out in written:
        if not out.is_file() or out.stat().st_size == 0:
            state = "an empty file" if out.is_file() else "no file"
            raise RenderError(f"the {out.suffix.lstrip('.').upper()} renderer finished but left {state} "
                              f"{out.name}; the previous report is unchanged")


def _keep_previous(final: Path, stage: Path, say: Callable[[str], None]) -> None:
    """Carry over the previous report's formats this build did not render (the manuscript's
    files, and the figure files only other formats make, such as the submission figures)."""
    if not final.is_dir():
        return
    previous = [*sorted(final.glob("manuscript.*")), *sorted(final.glob("figures/*"))]
    kept = [old for old in previous if old.is_file() and not (stage / old.relative_to(final)).exists()]
    if not kept:
        return
    for old in kept:
        (stage / old.relative_to(final)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(old, stage / old.relative_to(final))
    old_results, new_results = final / "results.json", stage / "results.json"
    same = old_results.is_file() and new_results.is_file() and old_results.read_bytes() == new_results.read_bytes()
    files = [k.name for k in kept if k.parent == final]
    figures = len(kept) - len(files)
    names = ", ".join([*files, *([f"{figures} figure file(s)"] if figures else [])])
    say(f"kept {names} from the previous build (not re-rendered; " + (
        "same results)" if same else "rendered from EARLIER results: render every format to update them)"))


def _shown(path: Path, root: Path) -> str:
    """A path as messages print it: relative to the project when inside it."""
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def build(
    root: Path,
    study_id: str,
    engine: str = "embedded",
    formats: tuple[str, ...] = FORMATS,
    progress: Callable[[str], None] | None = None,
    *,
    out: Path | None = None,
    cache: Path | None = None,
    quick: bool = False,
    html_session: HtmlSession | None = None,
) -> Path:
    """Both stages, under one hold of the study's lock. The report changes only if every
    step succeeds; the analysis is published even if the render fails, as ``analyse`` would.
    ``out``, ``cache``, ``quick`` and ``html_session`` are those of :func:`render_study` (the
    analysis is written to ``cache``).

    The stages overlap where they can: the templates are rendered and checked while the
    figure worker finishes drawing the figures (:mod:`analysis.figureworker`,
    :func:`analysis.figurefiles.save_svgs`), and a ``quick`` HTML, which links its figures, is
    rendered meanwhile too."""
    say = progress or (lambda _msg: None)
    folder = _analysis_folder(root, study_id, cache)
    draft: _Draft | None = None
    with study_lock(root, study_id), _exclusive(root, study_id, say, out, cache):
        try:
            with _analysing(root, study_id, say, folder, background=True) as analysis:
                draft = _draft(root, study_id, engine, say, analysis.results, formats, out,
                               html_session if quick else None)
                if quick:  # rendered while the figures are still being saved (it links them)
                    return _write_report(root, study_id, engine, formats, say, draft, out, folder, quick, analysis)
        except BaseException:
            if draft is not None and draft.reading is not None:  # the figures failed: no report to read it for
                draft.reading.close()
            raise
        return _write_report(root, study_id, engine, formats, say, draft, out, folder, quick)
