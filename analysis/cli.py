"""Command line: ``python -m analysis {list,lint,analyse,render,build,synthesize}``.

Exit status is 0 only on success: 1 for an error in the data, settings, templates,
rendering or environment (printed as one clear message, no traceback), 2 for a usage
error. Anything unexpected is printed as one line too, with a hint to rerun with
``--debug``, which shows the full traceback of any error.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from pathlib import Path

from analysis.errors import AnalysisError
from analysis.formats import ENGINES, FORMAT_ALIASES, FORMATS, normalise_formats

__all__ = ["MAX_EPOCH", "check_environment", "main"]


def _root(args: argparse.Namespace) -> Path:
    return Path(args.root).resolve()


def _studies(args: argparse.Namespace) -> list[str]:
    from analysis.study import discover_studies

    known = discover_studies(_root(args))
    chosen = args.study or known
    unknown = [s for s in chosen if s not in known]
    if unknown:
        raise AnalysisError(f"Unknown study {unknown[0]!r}. Known studies: {', '.join(known) or 'none'}")
    return chosen


def _formats(text: str) -> tuple[str, ...]:
    out = tuple(f.strip() for f in text.split(",") if f.strip())
    bad = [f for f in out if f not in FORMATS and f not in FORMAT_ALIASES]
    if bad or not out:
        choices = ", ".join([*FORMATS, *FORMAT_ALIASES])
        raise argparse.ArgumentTypeError(f"invalid format(s) {bad or text!r}; choose from {choices}")
    return normalise_formats(out)


def cmd_list(args: argparse.Namespace) -> int:
    from analysis.study import discover_studies, load_config

    root = _root(args)
    for sid in discover_studies(root):
        config = load_config(root, sid)
        print(f"{sid}\t{config['title']}")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from analysis.lint import lint_templates

    root = _root(args)
    literals = lint_templates(root, args.study or None)
    for file, line, text in literals:
        print(f"{file}:{line}: lit({text!r})")
    print(f"lint: no unbound numbers ({len(literals)} explicit lit() escape(s))")
    return 0


def cmd_analyse(args: argparse.Namespace) -> int:
    from analysis.pipeline import Progress, analyse

    for sid in _studies(args):
        analyse(_root(args), sid, Progress(sid, quiet=args.quiet))
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    from analysis.pipeline import Progress, render_study

    for sid in _studies(args):
        render_study(_root(args), sid, args.engine, args.formats, Progress(sid, quiet=args.quiet))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from analysis.pipeline import Progress, build

    for sid in _studies(args):
        build(_root(args), sid, args.engine, args.formats, Progress(sid, quiet=args.quiet))
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from analysis.preview import serve

    (sid,) = _studies(args)
    return serve(_root(args), sid, port=args.port, open_browser=args.open)


def _ranges(items: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for item in items:
        label, _, span = item.partition("=")
        lo, sep, hi = span.replace("–", "-").partition("-")
        try:
            out[label.strip()] = (float(lo), float(hi))
        except ValueError:
            raise AnalysisError(f"Invalid `--range` {item!r}: expected LABEL=LOW-HIGH, e.g. Age=18-65") from None
        if not label.strip() or not sep:
            raise AnalysisError(f"Invalid `--range` {item!r}: expected LABEL=LOW-HIGH, e.g. Age=18-65")
    return out


def cmd_audit_text(args: argparse.Namespace) -> int:
    from analysis.textaudit import audit_text, format_report

    report = audit_text(Path(args.text), patients=args.patients, ranges=_ranges(args.range or []), grim=args.grim)
    text = format_report(report, args.format, all_findings=args.all)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}: {len(report.inconsistent)} inconsistent finding(s)")
    else:
        sys.stdout.write(text)
    return 1 if args.strict and report.inconsistent else 0


def cmd_audit(args: argparse.Namespace) -> int:
    from analysis.audit import audit, load_published
    from analysis.results import ResultsStore

    if args.text:
        if args.study:
            raise AnalysisError("--text audits a paper's text, not a study: give FILE or STUDY, not both")
        return cmd_audit_text(args)
    if args.format != "table" or args.output or args.strict:
        raise AnalysisError("--format, --output and --strict go with --text FILE")
    root = _root(args)
    surprising = 0
    for sid in _studies(args):
        published = root / "data" / sid / "published.yaml"
        results = root / "build" / sid / "results.json"
        if not published.is_file():
            print(f"{sid}: no published.yaml, nothing to audit")
            continue
        if not results.is_file():
            raise AnalysisError(f"{results.relative_to(root)} is missing: run `python -m analysis analyse {sid}` first")
        store = ResultsStore.from_json(results.read_text(encoding="utf-8"))
        data = load_published(published)
        rows = audit(store, data)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
            if args.all or row.status != "match":
                flag = "!" if row.surprising else " "
                print(f"{flag} {row.status:<13} {row.key:<34} printed {row.printed:<9} "
                      f"computed {row.computed or '-':<9} {row.where}" + (f" — {row.note}" if row.note else ""))
        surprising += sum(r.surprising for r in rows)
        from analysis.claims import check_claims
        from analysis.settings import alpha as settings_alpha
        from analysis.study import load_config

        alpha = settings_alpha(load_config(root, sid))
        claims = check_claims(store, data, alpha, f"data/{sid}/published.yaml")
        for c in claims:
            if args.all or c.contradicted:
                print(f"{'!' if c.contradicted else ' '} {'contradicted' if c.contradicted else 'supported':<13} "
                      f"claim ({c.where}): {c.claim} — {c.finding}")
        if claims:
            print(f"{sid}: {len(claims)} claim(s), {sum(c.contradicted for c in claims)} contradicted by the data")
        print(f"{sid}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
              + f"; {sum(r.surprising for r in rows)} unexplained")
    return 1 if surprising else 0


def _print_changes(changes, sid: str, what: str) -> None:
    for c in changes:
        print(f"{c.kind:<8} {c.key:<36} {c.old or '-'}  ->  {c.new or '-'}")
        for place in c.templates:
            print(f"           template {place}")
        if c.table:
            print(f"           table    {c.table}")
        for cite in c.cited_new or c.cited_old:
            print(f"           cited in {cite.section or 'front matter'}: {cite.sentence}")
    print(f"{sid}: {len(changes)} value(s) differ {what}")


def _git_author(root: Path) -> str:
    import subprocess

    try:
        proc = subprocess.run(["git", "config", "user.name"], cwd=root, capture_output=True, text=True, timeout=10)
    except OSError:
        return "analysis diff"
    return proc.stdout.strip() or "analysis diff"


def cmd_diff(args: argparse.Namespace) -> int:
    from analysis.diff import cite_changes, diff_results
    from analysis.results import ResultsStore

    root = _root(args)
    if args.to and not args.from_:
        raise AnalysisError("--to needs --from: say which version to compare it with")
    if args.redline and not args.from_:
        raise AnalysisError("--redline needs --from: the version the tracked changes are made against")
    changed = 0
    for sid in _studies(args):
        if not args.from_:
            paths = [root / "report" / sid / "results.json", root / "build" / sid / "results.json"]
            missing = [p for p in paths if not p.is_file()]
            if missing:
                raise AnalysisError(f"{missing[0].relative_to(root)} is missing: build the study first")
            old, new = (ResultsStore.from_json(p.read_text(encoding="utf-8")) for p in paths)
            changes = diff_results(old, new)
            _print_changes(changes, sid, "between report/ and the latest analysis")
            changed += len(changes)
            continue
        from analysis.lint import template_files
        from analysis.revisions import load_revision

        def say(message: str, sid: str = sid) -> None:
            if not args.quiet:
                print(f"[{sid}] {message}", file=sys.stderr, flush=True)

        before = load_revision(root, sid, args.from_, say)
        after = load_revision(root, sid, args.to, say)
        old, new = (ResultsStore.from_json(r.results.read_text(encoding="utf-8")) for r in (before, after))
        texts = [r.manuscript.read_text(encoding="utf-8") if r.manuscript else None for r in (before, after)]
        troot = root / "templates"
        files = [f for f in template_files(troot)
                 if f.is_relative_to(troot / sid) or f.is_relative_to(troot / "_shared")]
        changes = cite_changes(diff_results(old, new), old, new, texts[0], texts[1], files, root)
        _print_changes(changes, sid, f"from {before.label} to {after.label}")
        changed += len(changes)
        if args.redline:
            import datetime as dt

            from analysis.provenance import build_time
            from analysis.redline import write_redline

            epoch, _ = build_time()
            date = args.date or dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            out = root / "report" / sid / "revision"
            out.mkdir(parents=True, exist_ok=True)
            files_written = write_redline(before.folder, after.folder, out, changes, troot / "_shared",
                                          author=args.author or _git_author(root), date=date, epoch=epoch,
                                          labels=(before.label, after.label))
            for path in files_written.values():
                print(f"wrote {path.relative_to(root)}")
    return 1 if args.exit_code and changed else 0


def cmd_snapshot(args: argparse.Namespace) -> int:
    from analysis.revisions import snapshot

    root = _root(args)
    _studies(argparse.Namespace(root=args.root, study=[args.study]))
    dest = snapshot(root, args.study, args.name, force=args.force)
    print(f"kept report/{args.study} as {dest.relative_to(root)}; compare with `diff {args.study} --from {args.name}`")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from analysis.new import new_study

    root = _root(args)
    plan = new_study(root, args.id, Path(args.data), by=args.by, time=args.time, event=args.event,
                     event_value=args.event_value, title=args.title)
    print(f"created study `{plan.study_id}`:")
    print(f"  data/{plan.study_id}/{plan.data_file.name}  (a copy of {args.data})")
    for rel in plan.files:
        print(f"  {rel}")
    print("edit next:")
    for i, step in enumerate(plan.next_steps, 1):
        print(f"  {i}. {step}")
    return 0


def cmd_synthesize(args: argparse.Namespace) -> int:
    root = _root(args)
    for sid in _studies(args):
        module = importlib.import_module(f"analysis.synthetic.{sid}")
        module.main(["--out", str(root / "data" / sid)])
    return 0


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port {text!r}: expected a number from 0 to 65535 (0: any free port)")
    return int(text)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Reproducible clinical manuscripts: every number computed from the data.",
    )
    parser.add_argument("--root", default=".", help="project folder (default: current folder)")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (for bug reports)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_: str, studies: str = "*") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=func)
        if studies:
            p.add_argument("study", nargs=studies, metavar="STUDY",
                           help="study id (a folder of data/); all studies when omitted")
        return p

    add("list", cmd_list, "list the studies and their titles", studies="")
    add("lint", cmd_lint, "fail on any number in template prose that is not bound to a value")
    for name, func, help_ in (
        ("analyse", cmd_analyse, "validate data and compute results into build/STUDY/"),
        ("render", cmd_render, "render build/STUDY/results.json into report/STUDY/ (HTML, PDF, DOCX, JATS)"),
        ("build", cmd_build, "analyse and render: data in, manuscript out"),
    ):
        p = add(name, func, help_)
        p.add_argument("-q", "--quiet", action="store_true", help="do not print progress")
        if name != "analyse":
            p.add_argument("--engine", choices=ENGINES, default="embedded",
                           help="embedded: pandoc + typst from pip (default); quarto: `quarto render`")
            p.add_argument("--formats", type=_formats, default=FORMATS,
                           help="comma-separated subset of html,pdf,docx,jats,figures (xml = jats; figures = "
                                "the submission PDF and 600 dpi PNG of each figure; default: all)")
    p = add("preview", cmd_preview, "serve STUDY's HTML on 127.0.0.1 and rebuild it on every change (live reload)",
            studies="")
    p.add_argument("study", nargs=1, metavar="STUDY", help="study id (a folder of data/)")
    p.add_argument("--port", type=_port, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p = add("audit", cmd_audit, "compare computed values with the numbers the original paper printed, or "
            "(--text FILE) check any paper's printed statistics against each other")
    p.add_argument("--all", action="store_true", help="list matches (consistent findings) too, not only differences")
    p.add_argument("--text", metavar="FILE",
                   help="a paper as plain text (or PDF, through pdftotext): check its printed statistics")
    p.add_argument("--format", choices=("table", "markdown", "html"), default="table",
                   help="report format for --text (default: a table in the terminal)")
    p.add_argument("--output", metavar="FILE", help="write the --text report to FILE instead of the terminal")
    p.add_argument("--strict", action="store_true", help="with --text: exit 1 when anything is inconsistent")
    p.add_argument("--patients", type=int, metavar="N",
                   help="with --text: patients available, to check the events a ratio's CI implies")
    p.add_argument("--range", action="append", metavar="LABEL=LOW-HIGH",
                   help="with --text: values of rows starting LABEL lie in LOW-HIGH (SD bound); repeatable")
    p.add_argument("--grim", action="store_true", help="with --text: GRIM test of table means (whole-number scores)")
    p = add("diff", cmd_diff, "list the values that changed between two versions (default: report/ vs build/)")
    p.add_argument("--from", dest="from_", metavar="REF",
                   help="earlier version: a git commit, tag or branch, a snapshot name, or a results.json")
    p.add_argument("--to", metavar="REF", help="later version (default: the working tree); same forms as --from")
    p.add_argument("--exit-code", action="store_true", help="exit 1 when any value changed, like `git diff`")
    p.add_argument("--redline", action="store_true",
                   help="write report/STUDY/revision/: tracked-changes DOCX, highlighted HTML, changes.md/.csv")
    p.add_argument("--author", help="author of the tracked changes (default: git config user.name)")
    p.add_argument("--date", help="date of the tracked changes, ISO 8601 (default: the build date)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress")
    p = add("snapshot", cmd_snapshot, "keep report/STUDY as a named version under versions/STUDY/NAME/",
            studies="")
    p.add_argument("study", metavar="STUDY", help="study id")
    p.add_argument("name", metavar="NAME", help="version name, e.g. submitted-2026-03")
    p.add_argument("--force", action="store_true", help="replace a version kept under the same name")
    p = add("new", cmd_new, "start a study from a data file: data dictionary, script and templates", studies="")
    p.add_argument("id", metavar="ID", help="the new study's id (lower-case letters, digits, underscores)")
    p.add_argument("--data", required=True, metavar="FILE", help="the data file (CSV, XLSX, SPSS, SAS, Stata)")
    p.add_argument("--by", metavar="COLUMN", help="the column whose groups are compared (2 to 10 levels)")
    p.add_argument("--time", metavar="COLUMN", help="follow-up time (0 or more) for a Kaplan-Meier analysis")
    p.add_argument("--event", metavar="COLUMN", help="event indicator: 1 = event, 0 = censored")
    p.add_argument("--event-value", metavar="VALUE", help="the value of --event that means the event, when "
                   "it is not 0/1 (e.g. dead)")
    p.add_argument("--title", metavar="TEXT", help="the manuscript's title (default: made from the id)")
    add("synthesize", cmd_synthesize, "regenerate a study's synthetic data files (deterministic)")
    return parser


#: The largest SOURCE_DATE_EPOCH accepted: 9999-12-31 23:59:59 UTC.
MAX_EPOCH = 253402300799


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Validate environment settings before anything imports numpy or matplotlib.

    ``SOURCE_DATE_EPOCH`` must be whole seconds since 1970 (0 to :data:`MAX_EPOCH`):
    matplotlib and pandoc read it too, and crash or misbehave on anything else.
    """
    env = os.environ if environ is None else environ
    raw = env.get("SOURCE_DATE_EPOCH")
    if raw is None:
        return
    text = raw.strip()
    if not text.isdigit() or not text.isascii() or int(text) > MAX_EPOCH:
        why = "is negative" if text.startswith("-") and text[1:].isdigit() else (
            "is too large" if text.isdigit() and text.isascii() else "is not a whole number")
        shown = raw if len(raw) <= 40 else raw[:37] + "..."
        raise AnalysisError(
            f"environment variable SOURCE_DATE_EPOCH={shown!r} {why}; expected whole seconds since "
            f"1970-01-01 UTC, from 0 to {MAX_EPOCH} (e.g. `git log -1 --format=%ct`), or unset it"
        )


def _unexpected(exc: BaseException) -> str:
    """One line for an exception that is not ours: what, and the innermost project frame."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    package = Path(__file__).resolve().parent
    ours = [f for f in frames if Path(f.filename).resolve().is_relative_to(package.parent)]
    at = ours[-1] if ours else (frames[-1] if frames else None)
    where = ""
    if at is not None:
        path = Path(at.filename).resolve()
        shown = path.relative_to(package.parent) if path.is_relative_to(package.parent) else path
        where = f" at {shown}:{at.lineno}"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"unexpected {type(exc).__name__}{where}" + (f": {text[:200]}" if text else "")


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status (0 ok, 1 error, 2 usage)."""
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        check_environment()
        return args.func(args)
    except AnalysisError as exc:
        if args.debug:
            import traceback

            traceback.print_exception(exc, file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the last resort: a bug, said in one line
        if args.debug:
            raise
        print(f"error: {_unexpected(exc)}. This is a bug or an unhandled case; rerun with "
              "`python -m analysis --debug ...` to see the traceback.", file=sys.stderr)
        return 1


def run(argv: list[str] | None = None) -> None:
    """``python -m analysis`` and the ``clinical-manuscripts`` command: :func:`main`, then exit
    the process with its status.

    Before the interpreter is torn down the garbage collector is frozen: at exit it would
    otherwise scan every object the run made (data frames, figures, the results) only to free
    memory the process is returning anyway, 0.3-0.5 s of a build. Exit handlers still run.
    """
    status = main(argv)
    sys.stdout.flush()
    gc.disable()
    gc.freeze()
    sys.exit(status)
