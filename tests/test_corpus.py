"""The corpus of bad inputs: every case is a mistake a user makes (or an attack), and each
must end in one clear message, never a traceback, and never cost the previous report.

Each case copies a project whose `mini` study has already been built (all formats), breaks
one thing, runs the command line in-process and asserts:

* the exit status: 1 for an error, 2 for a usage error;
* no traceback on stderr;
* the message names what applies: file, line (data row), column, value, setting, expected;
* ``report/mini/`` is byte-identical afterwards (every file hashed before and after), and
  no staging folder is left behind.

Most cases stop before rendering, so the corpus runs in seconds; a few real subprocess
runs cover a build killed mid-render and two builds of one study at once.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from analysis.cli import main
from tests.conftest import FIXTURES, REPO

CSV = "data/mini/patients.csv"
YAML = "data/mini/study.yaml"
TEMPLATE = "templates/mini/manuscript.qmd.j2"
SCRIPT = "scripts/mini_analysis.py"
EPOCH = "1700000000"


def tree_hashes(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A project with the `mini` study built once into report/mini (every format)."""
    root = tmp_path_factory.mktemp("corpus") / "project"
    shutil.copytree(FIXTURES / "mini", root)
    shutil.copytree(REPO / "templates" / "_shared", root / "templates" / "_shared")
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        assert main(["--root", str(root), "build", "mini", "-q"]) == 0
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old
    assert (root / "report/mini/manuscript.html").is_file()
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path, monkeypatch) -> Path:
    """A fresh copy of the built project for one case."""
    root = tmp_path / "project"
    shutil.copytree(built, root, symlinks=True)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    monkeypatch.delenv("ANALYSIS_LOCK_TIMEOUT", raising=False)
    return root


# -- how a case breaks the project -------------------------------------------------------
Mutate = Callable[[Path, pytest.MonkeyPatch], None]


def replace(rel: str, old: str, new: str, count: int = 1) -> Mutate:
    def mutate(root: Path, _mp: pytest.MonkeyPatch) -> None:
        path = root / rel
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {rel}"
        path.write_text(text.replace(old, new, count), encoding="utf-8")
    return mutate


def write(rel: str, content: str | bytes) -> Mutate:
    def mutate(root: Path, _mp: pytest.MonkeyPatch) -> None:
        path = root / rel
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return mutate


def settings(change: Callable[[dict], None]) -> Mutate:
    """Edit study.yaml as data (the YAML is rewritten)."""
    def mutate(root: Path, _mp: pytest.MonkeyPatch) -> None:
        path = root / YAML
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(config)
        path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return mutate


def column(name: str, **changes) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        col = next(c for c in config["data"]["patients"]["columns"] if c["name"] == name)
        col.update(changes)
    return change


def stat(path: str, value) -> Callable[[dict], None]:
    def change(config: dict) -> None:
        node = config
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return change


def dataset(name: str, header: str, rows: list[str], columns: list[dict], checks: list[str]) -> Mutate:
    """Add a study-level dataset (a meta-analysis input) with its own checks."""
    def mutate(root: Path, mp: pytest.MonkeyPatch) -> None:
        (root / f"data/mini/{name}.csv").write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")

        def change(config: dict) -> None:
            config["data"][name] = {"file": f"{name}.csv", "columns": columns, "checks": checks}
        settings(change)(root, mp)
    return mutate


def env(name: str, value: str) -> Mutate:
    def mutate(_root: Path, mp: pytest.MonkeyPatch) -> None:
        mp.setenv(name, value)
    return mutate


def both(*steps: Mutate) -> Mutate:
    def mutate(root: Path, mp: pytest.MonkeyPatch) -> None:
        for step in steps:
            step(root, mp)
    return mutate


def _oserror(code: int, text: str) -> Callable[..., None]:
    def fail(*args, **_kw):
        target = next((a for a in args if isinstance(a, (str, Path))), None)
        raise OSError(code, text, str(target) if target is not None else None)
    return fail


def fake_renderer(content: bytes | None) -> Mutate:
    """The renderers exit 0 but write nothing (None) or an empty file (b"")."""
    def mutate(_root: Path, mp: pytest.MonkeyPatch) -> None:
        def render(qmd: Path, _shared, formats, *_a, **_k):
            outs = [qmd.with_suffix("." + f) for f in formats]
            for out in outs:
                if content is not None:
                    out.write_bytes(content)
            return outs
        mp.setattr("analysis.pipeline.render", render)
    return mutate


@dataclass
class Case:
    id: str
    mutate: Mutate
    expect: list[str] = field(default_factory=list)
    argv: list[str] = field(default_factory=lambda: ["build", "mini", "-q"])
    code: int = 1


META_COLS = [
    {"name": "study", "type": "string"},
    {"name": "hr", "type": "number", "min": 0},
    {"name": "lower", "type": "number", "min": 0},
    {"name": "upper", "type": "number", "min": 0},
]
BIN_COLS = [
    {"name": "study", "type": "string"},
    {"name": "events_treat", "type": "integer", "min": 0},
    {"name": "n_treat", "type": "integer", "min": 1},
]
WHERE = "data/mini/patients.csv, line 6 (data row 5)"
P05 = "P05,A,SD,66,5.0"

CASES = [
    # -- data: cells ---------------------------------------------------------------------
    Case("age-not-a-number", replace(CSV, P05, "P05,A,SD,sixty,5.0"),
         [f"{WHERE}, column `age`: invalid value: got 'sixty'; expected a whole number from 18 to 90 (years)"]),
    Case("age-out-of-range", replace(CSV, P05, "P05,A,SD,200,5.0"),
         [f"{WHERE}, column `age`: invalid value: got '200'; expected a whole number from 18 to 90"]),
    Case("age-decimal", replace(CSV, P05, "P05,A,SD,66.5,5.0"), [f"{WHERE}, column `age`: invalid value: got '66.5'"]),
    Case("age-exponent", replace(CSV, P05, "P05,A,SD,1e3,5.0"), [f"{WHERE}, column `age`: invalid value: got '1e3'"]),
    Case("age-missing", replace(CSV, P05, "P05,A,SD,,5.0"),
         [f"{WHERE}, column `age`: missing value; expected a whole number", "(this column may not be empty)"]),
    Case("arm-unknown", replace(CSV, P05, "P05,C,SD,66,5.0"),
         [f"{WHERE}, column `arm`: invalid value: got 'C'; expected one of A, B"]),
    Case("response-lowercase", replace(CSV, P05, "P05,A,sd,66,5.0"),
         [f"{WHERE}, column `response`: invalid value: got 'sd'; expected one of CR, PR, SD"]),
    Case("score-na-text", replace(CSV, P05, "P05,A,SD,66,n/a"),
         [f"{WHERE}, column `score`: invalid value: got 'n/a'; expected a number from 0 to 10"]),
    Case("score-negative", replace(CSV, P05, "P05,A,SD,66,-1"), [f"{WHERE}, column `score`: invalid value: got '-1'"]),
    Case("score-infinite", replace(CSV, P05, "P05,A,SD,66,inf"), [f"{WHERE}, column `score`: invalid value: got 'inf'"]),
    Case("score-nan", replace(CSV, P05, "P05,A,SD,66,NaN"), [f"{WHERE}, column `score`: invalid value: got 'NaN'"]),
    Case("id-pattern", replace(CSV, P05, "X05,A,SD,66,5.0"),
         [f"{WHERE}, column `patient_id`: invalid value: got 'X05'; expected text matching ^P[0-9]{{2}}$"]),
    Case("id-duplicate", replace(CSV, P05, "P04,A,SD,66,5.0"),
         [f"{WHERE}, column `patient_id`: duplicate identifier: got 'P04'; "
          "expected unique values (first seen on line 5 (data row 4))"]),
    Case("many-problems-counted", replace(CSV, "P05,A,SD,66,5.0\nP06,B,PR,58,6.5", "P05,A,SD,x,5.0\nP06,Z,PR,y,6.5"),
         [f"{WHERE}, column `age`: invalid value: got 'x'", "(and 2 more problems in this file)"]),
    Case("quoted-newline-keeps-lines", replace(CSV, "P03,A,PR,47,", 'P03,A,PR,"4\n7",'),
         ["data/mini/patients.csv, line 4 (data row 3), column `age`: invalid value: got '4\\n7'"]),
    Case("huge-cell", replace(CSV, P05, "P05,A,SD," + "9" * 1_000_000 + ",5.0"),
         [f"{WHERE}, column `age`: invalid value: got '9999", "(1,000,002 characters)"]),
    # -- data: files ---------------------------------------------------------------------
    Case("column-missing", write(CSV, "patient_id,arm,response,age\nP01,A,CR,54\n"),
         ["data/mini/patients.csv: missing column(s) `score`; expected the columns declared in study.yaml"]),
    Case("column-undeclared", write(CSV, "patient_id,arm,response,age,score,bmi\nP01,A,CR,54,3.5,22\n"),
         ["data/mini/patients.csv: undeclared column(s) `bmi`"]),
    Case("row-too-long", replace(CSV, P05, P05 + ",9"),
         [f"{WHERE}: row has 6 fields; expected 5 fields as in the header"]),
    Case("row-too-short", replace(CSV, P05, "P05,A,SD,66"), [f"{WHERE}: row has 4 fields"]),
    Case("blank-line", replace(CSV, P05 + "\n", P05 + "\n\n"),
         ["data/mini/patients.csv, line 7 (data row 6): blank line; expected one record per line"]),
    Case("file-empty", write(CSV, ""), ["data/mini/patients.csv: file is empty"]),
    Case("header-only", write(CSV, "patient_id,arm,response,age,score\n"),
         ["data/mini/patients.csv: file has a header but no data rows"]),
    Case("latin1-byte", lambda root, mp: (root / CSV).write_bytes(
        (root / CSV).read_bytes().replace(b"P05,A,SD", b"P05,\xc4,SD")),
         [f"{WHERE}: not UTF-8 text: byte 0xc4 at character 5 of the line", "expected UTF-8 text"]),
    Case("utf16-file", lambda root, mp: (root / CSV).write_bytes((root / CSV).read_text().encode("utf-16")),
         ["data/mini/patients.csv, line 1 (data row 0): not UTF-8 text: byte 0xff"]),
    Case("binary-garbage", write(CSV, bytes(range(256)) * 4), ["data/mini/patients.csv", "not UTF-8 text"]),
    Case("semicolon-separated", lambda root, mp: (root / CSV).write_text((root / CSV).read_text().replace(",", ";")),
         ["data/mini/patients.csv, line 1 (data row 0): the header has a single column; "
          "the file looks like `;`-separated"]),
    Case("tab-separated", lambda root, mp: (root / CSV).write_text((root / CSV).read_text().replace(",", "\t")),
         ["the file looks like tab-separated"]),
    Case("file-deleted", lambda root, mp: (root / CSV).unlink(), ["data/mini/patients.csv: file not found"]),
    Case("file-type-unknown", settings(stat("data.patients.file", "patients.json")),
         ["data/mini/patients.json: unsupported file type: got '.json'; expected one of"]),
    # -- data: impossible records (cross-column and study-level checks) ------------------
    Case("check-violated", settings(stat("data.patients.checks", ["score <= age / 10"])),
         ["data/mini/patients.csv, line 7 (data row 6), columns `score`, `age`: record fails the check "
          "`score <= age / 10`: got score = 6.5, age = 58; expected every record to satisfy it", "(and 2 more "]),
    Case("check-protocol-value", settings(stat("data.patients.checks", ["age <= protocol.dose_mg * 17"])),
         ["data/mini/patients.csv, line 5 (data row 4), columns `age`: record fails the check",
          "got age = 70, protocol.dose_mg = 4"]),
    Case("meta-inverted-ci", dataset("meta_ratios", "study,hr,lower,upper", ["CASTOR,0.31,0.25,0.40",
                                                                               "POLLUX,0.41,0.50,0.31"],
                                     META_COLS, ["lower <= hr <= upper"]),
         ["data/mini/meta_ratios.csv, line 3 (data row 2), columns `lower`, `hr`, `upper`: record fails the "
          "check `lower <= hr <= upper`: got lower = 0.5, hr = 0.41, upper = 0.31"]),
    Case("meta-events-over-n", dataset("meta_binary", "study,events_treat,n_treat", ["CASTOR,199,251",
                                                                                    "POLLUX,300,286"],
                                       BIN_COLS, ["events_treat <= n_treat"]),
         ["data/mini/meta_binary.csv, line 3 (data row 2), columns `events_treat`, `n_treat`: record fails",
          "got events_treat = 300, n_treat = 286"]),
    Case("check-unknown-column", settings(stat("data.patients.checks", ["age <= agee"])),
         ["data/mini/study.yaml: `data.patients.checks[0]`: check 'age <= agee' names `agee`, which is not a column"]),
    Case("check-code-injection", settings(stat("data.patients.checks", ["__import__('os').system('id') == 0"])),
         ["`data.patients.checks[0]`", "is not allowed"]),
    Case("check-unknown-protocol-fact", settings(stat("data.patients.checks", ["age >= protocol.min_age"])),
         ["names `protocol.min_age`, which study.yaml's `protocol:` block does not have"]),
    # -- settings -------------------------------------------------------------------------
    Case("alpha-high", settings(stat("statistics.alpha", "high")),
         ["data/mini/study.yaml: `statistics.alpha`: got 'high'; expected a number greater than 0 and less than 1"]),
    Case("alpha-above-one", settings(stat("statistics.alpha", 5)), ["`statistics.alpha`: got 5"]),
    Case("landmark-three", settings(stat("statistics.landmark_years", "three")),
         ["`statistics.landmark_years`: got 'three'; expected a whole number from 1 to 100"]),
    Case("p-digits-three", settings(stat("style.p_digits", "three")),
         ["`style.p_digits`: got 'three'; expected a whole number from 1 to 6"]),
    Case("t-test-misspelt", settings(stat("statistics.t_test", "welsh")),
         ["`statistics.t_test`: got 'welsh'; expected one of 'student', 'welch'"]),
    Case("conf-type-unknown", settings(stat("statistics.survival_conf_type", "arcsine")),
         ["expected one of 'log', 'log-log', 'plain'"]),
    Case("alpha-misspelt-key", settings(stat("statistics.alpah", 0.05)),
         ["unknown setting `statistics.alpah` (did you mean `alpha`?)"]),
    Case("style-unknown-key", settings(stat("style.font", "Arial")), ["unknown setting `style.font`; expected one of:"]),
    Case("bad-pattern-regex", settings(column("patient_id", pattern="^P[0-9")),
         ["`data.patients.columns[0].pattern`: got '^P[0-9', not a valid regular expression"]),
    Case("min-not-a-number", settings(column("age", min="abc")),
         ["`data.patients.columns[3].min` of column `age`: got 'abc'; expected a number (the column is of type "
          "integer)"]),
    Case("type-unknown", settings(column("score", type="float")),
         ["`data.patients.columns[4].type`: got 'float'; expected one of 'string', 'integer'"]),
    Case("column-setting-unknown", settings(column("score", maximum=10)),
         ["unknown setting `data.patients.columns[4].maximum` (did you mean `max`?)"]),
    Case("category-without-allowed", settings(column("arm", allowed=None)), ["a category needs `allowed` values"]),
    Case("nullable-not-boolean", settings(column("score", nullable="sometimes")),
         ["`data.patients.columns[4].nullable`: got 'sometimes'; expected true or false"]),
    Case("primary-key-undeclared", settings(stat("data.patients.primary_key", "pid")),
         ["dataset `patients`: `pid` is not a declared column"]),
    Case("dataset-without-file", settings(lambda c: c["data"]["patients"].pop("file")),
         ["`data.patients` needs `file` and `columns`"]),
    Case("id-mismatch", settings(stat("id", "other")), ["`id` is 'other' but the folder is 'mini'"]),
    Case("title-missing", settings(lambda c: c.pop("title")), ["missing required setting `title`"]),
    Case("title-not-text", settings(stat("title", ["a", "b"])), ["`title`: got ['a', 'b']; expected text"]),
    Case("arm-without-label", settings(lambda c: c["arms"][1].pop("label")), ["`arms[1]` needs `label`"]),
    Case("arms-not-a-list", settings(stat("arms", "A and B")), ["`arms`: got 'A and B'; expected a list"]),
    Case("yaml-syntax", replace(YAML, "arms:\n", "arms: [\n"), ["data/mini/study.yaml: not valid YAML"]),
    Case("yaml-not-mapping", write(YAML, "- just\n- a list\n"), ["expected a mapping at the top level"]),
    Case("yaml-not-utf8", lambda root, mp: (root / YAML).write_bytes(
        (root / YAML).read_bytes().replace(b"Drug A", b"Drug \xe9")), ["not UTF-8 text at line"]),
    Case("script-missing", settings(stat("script", "scripts/nosuch.py")),
         ["`script` 'scripts/nosuch.py' does not exist"]),
    # -- the study script ----------------------------------------------------------------
    Case("script-keyerror-column", replace(SCRIPT, 'sub["response"] == "CR"', 'sub["respnse"] == "CR"'),
         ["scripts/mini_analysis.py:", "column or key 'respnse' not found (data/mini/patients.csv has patient_id, "
          "arm, response, age, score)"]),
    Case("script-zero-division", replace(SCRIPT, "    store.add(\"cr.p\"", "    1 / 0\n    store.add(\"cr.p\""),
         ["scripts/mini_analysis.py:17: ZeroDivisionError: division by zero"]),
    Case("script-syntax-error", replace(SCRIPT, "def analyse(study):", "def analyse(study)"),
         ["scripts/mini_analysis.py:7: SyntaxError: expected ':'"]),
    Case("script-returns-nothing", replace(SCRIPT, "    return store", "    return None"),
         ["error: scripts/mini_analysis.py: analyse() must return a ResultsStore, got NoneType"]),
    Case("script-engine-error", replace(SCRIPT, '"n_pct", test="count"', '"no_such_kind", test="count"'),
         ["error: scripts/mini_analysis.py:13: Invalid kind 'no_such_kind' for 'cr.A'"]),
    # -- templates -----------------------------------------------------------------------
    Case("template-undefined-key", replace(TEMPLATE, "{{ cr.A }}", "{{ cr.C }}"),
         ['templates/mini/manuscript.qmd.j2:15: undefined key "cr.C"']),
    Case("template-typed-number", replace(TEMPLATE, "Mean age was", "Median follow-up was 30.03 months. Mean age was"),
         ['templates/mini/manuscript.qmd.j2:18: unbound number "30.03"']),
    Case("template-syntax", replace(TEMPLATE, "{{ figure(\"fig-cr\") }}", "{% if %}"),
         ["templates/mini/manuscript.qmd.j2:20: Expected an expression"]),
    Case("template-huge-string", replace(TEMPLATE, "{{ cr.A }}", "{{ cr.A }}{{ 'x' * ((protocol.dose_mg.raw ** "
                                                                  "protocol.dose_mg.raw) ** protocol.dose_mg.raw) }}"),
         ["templates/mini/manuscript.qmd.j2:15: `*` would build 4,294,967,296 items; the limit is 1,000,000"]),
    Case("template-huge-power", replace(TEMPLATE, "{{ cr.A }}", "{{ cr.A }}{{ protocol.dose_mg.raw ** "
                                                                 "(cr.A.raw.N ** protocol.dose_mg.raw ** "
                                                                 "protocol.dose_mg.raw) }}"),
         ["templates/mini/manuscript.qmd.j2:15: `**` would build a number of about"]),
    Case("template-dunder", replace(TEMPLATE, "{{ cr.A }}", "{{ cr.A.__class__.__mro__ }}"),
         ['templates/mini/manuscript.qmd.j2:15: undefined key "cr.A.__class__"']),
    Case("template-unknown-figure", replace(TEMPLATE, 'figure("fig-cr")', 'figure("fig-none")'),
         ['undefined figure "fig-none"']),
    Case("template-missing-include", replace(TEMPLATE, '{% include "provenance.md.j2" %}',
                                             '{% include "nosuch.md.j2" %}'), ["nosuch.md.j2"]),
    # -- hostile text and files that must not leave the machine --------------------------
    Case("template-image-etc-passwd", replace(TEMPLATE, "{{ figure(\"fig-cr\") }}",
                                              "{{ figure(\"fig-cr\") }}\n\n![x](/etc/passwd)"),
         ["/etc/passwd"]),
    Case("template-link-javascript", replace(TEMPLATE, "# Results {#sec-results}",
                                             "# Results {#sec-results}\n\n[click](javascript:alert(document.cookie))"),
         ["javascript:alert(document.cookie)"]),
    Case("template-image-climbs-out", replace(TEMPLATE, "{{ figure(\"fig-cr\") }}",
                                              "{{ figure(\"fig-cr\") }}\n\n![x](../../../etc/hosts)"),
         ["../../../etc/hosts"]),
    Case("template-symlink-out", lambda root, mp: (
        (root / "templates/mini/etc").symlink_to("/etc"),
        replace(TEMPLATE, "{% include \"provenance.md.j2\" %}", "{% include \"etc/passwd\" %}")(root, mp)),
         ["templates/mini/etc", "a symlink to /etc, outside"]),
    Case("script-outside-project", lambda root, mp: (
        shutil.copy(root / SCRIPT, root.parent / "outside.py"), settings(stat("script", "../outside.py"))(root, mp)),
         ["`script` '../outside.py' resolves to", "outside the project folder"]),
    # -- environment and the file system -------------------------------------------------
    Case("epoch-garbage", env("SOURCE_DATE_EPOCH", "garbage"),
         ["SOURCE_DATE_EPOCH='garbage' is not a whole number; expected whole seconds since 1970-01-01 UTC"]),
    Case("epoch-negative", env("SOURCE_DATE_EPOCH", "-5"), ["SOURCE_DATE_EPOCH='-5' is negative"]),
    Case("epoch-too-large", env("SOURCE_DATE_EPOCH", "99999999999999999999"), ["is too large; expected"]),
    Case("epoch-float", env("SOURCE_DATE_EPOCH", "1.7e9"), ["SOURCE_DATE_EPOCH='1.7e9' is not a whole number"]),
    Case("lock-timeout-not-a-number", env("ANALYSIS_LOCK_TIMEOUT", "soon"),
         ["ANALYSIS_LOCK_TIMEOUT='soon': expected a number of seconds"]),
    Case("study-unknown", lambda r, m: None, ["Unknown study 'nosuch'. Known studies: mini"],
         argv=["build", "nosuch"]),
    Case("format-unknown", lambda r, m: None, [], argv=["build", "mini", "--formats", "epub"], code=2),
    Case("command-unknown", lambda r, m: None, [], argv=["compile", "mini"], code=2),
    Case("build-is-a-file", lambda root, mp: (shutil.rmtree(root / "build"), (root / "build").write_text("x")),
         ["cannot write the build lock of mini at build"]),
    Case("disk-full-on-swap", lambda root, mp: mp.setattr("analysis.outputs.os.replace",
                                                         _oserror(errno.ENOSPC, "No space left on device")),
         ["error: cannot write build/mini: no space left on the device; the previous output is unchanged"]),
    Case("read-only-report", lambda root, mp: mp.setattr("analysis.outputs.tempfile.mkdtemp",
                                                        _oserror(errno.EROFS, "Read-only file system")),
         ["cannot write build/mini", "not writable (read-only file system)"]),
    Case("renderer-writes-nothing", fake_renderer(None),
         ["the HTML renderer finished but left no file manuscript.html; the previous report is unchanged"]),
    Case("renderer-writes-empty", fake_renderer(b""),
         ["the HTML renderer finished but left an empty file manuscript.html"]),
    Case("unexpected-bug", lambda root, mp: mp.setattr("analysis.pipeline.load_study", _boom),
         ["error: unexpected RuntimeError at tests/test_corpus.py:", ": boom", "rerun with "
          "`python -m analysis --debug ...`"]),
]


def _boom(*_a, **_k):
    raise RuntimeError("boom")


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, project: Path, capsys, monkeypatch):
    report = project / "report" / "mini"
    before = tree_hashes(report)
    case.mutate(project, monkeypatch)
    try:
        code = main(["--root", str(project), *case.argv])
    except SystemExit as exc:  # argparse: usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == case.code, err
    assert "Traceback" not in err
    if case.code == 1:
        assert err.startswith("error: ") and err.count("\nerror: ") == 0, err
    for text in case.expect:
        assert text in err, f"{text!r} not in {err!r}"
    monkeypatch.undo()  # the file system is real again before we look at it
    assert tree_hashes(report) == before, "the previous report changed"
    leftovers = [p.name for p in report.parent.iterdir() if p.name.startswith(".mini.")]
    assert not leftovers, leftovers


def test_debug_shows_the_traceback_of_a_script_error(project: Path, capsys):
    replace(SCRIPT, "    store.add(\"cr.p\"", "    1 / 0\n    store.add(\"cr.p\"")(project, None)
    assert main(["--root", str(project), "--debug", "analyse", "mini", "-q"]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "ZeroDivisionError" in err
    assert err.rstrip().splitlines()[-1].startswith("error: scripts/mini_analysis.py:17: ZeroDivisionError")


def test_a_dollar_in_a_figure_label_is_plain_text(project: Path, capsys):
    """matplotlib would parse `$\\frac$` as mathtext and fail; labels are plain text."""
    replace(SCRIPT, 'ax.bar(["A", "B"], [3, 1])', 'ax.bar([a.name for a in study.arms], [3, 1])')(project, None)
    settings(lambda c: c["arms"][0].update(short="$\\frac$ group"))(project, None)
    assert main(["--root", str(project), "analyse", "mini", "-q"]) == 0, capsys.readouterr().err
    assert (project / "build/mini/figures/fig-cr.svg").stat().st_size > 0


def test_a_report_lost_between_the_two_renames_is_restored_by_the_next_build(project: Path, capsys):
    report = project / "report" / "mini"
    before = tree_hashes(report)
    os.replace(report, report.parent / ".mini.old-abc123")  # killed after "old aside", before "new in"
    (report.parent / ".mini.staging-def456").mkdir()  # and its staging folder left behind
    replace(CSV, P05, "P05,A,SD,sixty,5.0")(project, None)  # even a build that fails recovers first
    assert main(["--root", str(project), "build", "mini", "-q"]) == 1
    assert "line 6 (data row 5)" in capsys.readouterr().err
    assert tree_hashes(report) == before
    assert sorted(p.name for p in report.parent.iterdir()) == ["mini"]


@pytest.mark.e2e
def test_formats_html_keeps_the_other_formats(project: Path, capsys):
    report = project / "report" / "mini"
    before = tree_hashes(report)
    assert main(["--root", str(project), "render", "mini", "--formats", "html"]) == 0
    err = capsys.readouterr().err
    after = tree_hashes(report)
    for name in ("manuscript.pdf", "manuscript.docx"):
        assert after[name] == before[name], name
    assert "kept manuscript.docx" in err and "same results" in err


# -- real processes: a killed build, two builds at once -----------------------------------------
def _spawn(project: Path, *argv: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "analysis", "--root", str(project), *argv], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


@pytest.mark.e2e
def test_a_build_killed_mid_render_leaves_the_report_and_the_next_build_recovers(project: Path, capsys):
    report = project / "report" / "mini"
    before = tree_hashes(report)
    proc = _spawn(project, "build", "mini")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        staging = list(report.parent.glob(".mini.staging-*"))
        if staging and list(staging[0].glob("manuscript.qmd")):
            break  # rendering has started
        time.sleep(0.02)
    assert proc.poll() is None, "the build ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the build and its pandoc children
    proc.wait(timeout=30)
    assert tree_hashes(report) == before
    assert list(report.parent.glob(".mini.staging-*")), "the killed build left its staging folder"
    # the next build removes the leftovers (here it fails on purpose, before rendering)
    replace(CSV, P05, "P05,A,SD,sixty,5.0")(project, None)
    assert main(["--root", str(project), "build", "mini", "-q"]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert tree_hashes(report) == before
    assert sorted(p.name for p in report.parent.iterdir()) == ["mini"]


_HOLD = """
import sys, time
from pathlib import Path
from analysis.outputs import study_lock
release = Path(sys.argv[2])
with study_lock(Path(sys.argv[1]), "mini"):
    print("held", flush=True)
    deadline = time.monotonic() + 60
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
"""


def _holder(project: Path) -> tuple[subprocess.Popen, Path]:
    """Another process holding the `mini` lock until the returned file is created."""
    release = project.parent / "release"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(project), str(release)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc, release


def test_a_second_build_says_who_holds_the_lock_and_gives_up_after_its_timeout(project: Path, capsys, monkeypatch):
    holder, release = _holder(project)
    try:
        monkeypatch.setenv("ANALYSIS_LOCK_TIMEOUT", "0.5")
        before = tree_hashes(project / "report" / "mini")
        assert main(["--root", str(project), "build", "mini", "-q"]) == 1
        err = capsys.readouterr().err
        assert f"waiting for the build of mini held by pid {holder.pid} (" in err
        assert f"error: study mini is being built by pid {holder.pid}" in err and "gave up after 0.5 s" in err
        assert "Traceback" not in err
        assert tree_hashes(project / "report" / "mini") == before
    finally:
        release.touch()
        holder.wait(timeout=30)


def test_a_second_build_waits_for_the_first_and_other_studies_do_not(project: Path, capsys):
    import threading

    other = project / "data" / "mini2"
    shutil.copytree(project / "data" / "mini", other)
    replace("data/mini2/study.yaml", "id: mini", "id: mini2")(project, None)
    holder, release = _holder(project)
    try:
        assert main(["--root", str(project), "analyse", "mini2", "-q"]) == 0  # another study: no wait
        assert "waiting" not in capsys.readouterr().err
        assert holder.poll() is None, "the holder still holds the lock"
        timer = threading.Timer(1.0, release.touch)
        timer.start()
        assert main(["--root", str(project), "analyse", "mini", "-q"]) == 0  # waits, then runs
        assert "waiting for the build of mini held by pid" in capsys.readouterr().err
        assert release.exists(), "the second build ran while the first held the lock"
        timer.join()
    finally:
        release.touch()
        holder.wait(timeout=30)


@pytest.mark.e2e
@pytest.mark.parametrize("argv", [["analyse", "mini"], ["build", "mini", "--formats", "html"]])
def test_real_processes_exit_1_without_a_traceback(project: Path, argv):
    replace(YAML, "p_digits: 3", "p_digits: three")(project, None)
    proc = _spawn(project, *argv)
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in err
    assert "`style.p_digits`: got 'three'; expected a whole number from 1 to 6" in err


@pytest.mark.e2e
def test_a_usage_error_exits_2(project: Path):
    proc = _spawn(project, "build", "--formats", "epub")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "Traceback" not in err and "invalid format" in err


@pytest.mark.e2e
def test_hostile_text_in_settings_reaches_the_reader_as_text(project: Path, capsys):
    """A `<script>` arm label, a javascript: link in the title and an /etc/passwd image in a
    protocol text build, and come out as plain text: no live markup, no file embedded."""
    def hostile(config: dict) -> None:
        config["arms"][0]["short"] = "<script>alert(1)</script>"
        config["title"] = "A study [click](javascript:alert(1)) <img src=x onerror=alert(1)>"
        config["protocol"]["note"] = '<img src="/etc/passwd"> ![x](/etc/passwd) $\\frac{a}{b}$'
    settings(hostile)(project, None)
    replace(TEMPLATE, "{{ figure(\"fig-cr\") }}", "{{ figure(\"fig-cr\") }}\n\n{{ protocol.note }}")(project, None)
    assert main(["--root", str(project), "build", "mini", "-q", "--formats", "html"]) == 0, capsys.readouterr().err
    html = (project / "report/mini/manuscript.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="javascript:' not in html and "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines()[0]
    assert passwd not in html
    assert "base64" not in html.split("fig-cr")[0][-2000:] or "image/svg" in html
