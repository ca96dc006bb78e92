"""`python -m analysis new`: a study from one data file, or a clear refusal that writes nothing."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main
from analysis.new import MAX_GROUPS, NewStudyError, infer_column, new_study, plan_study
from tests.conftest import REPO


def write_trial(path: Path, n: int = 60, groups: tuple[str, ...] = ("control", "high dose", "low dose"),
                seed: int = 3) -> Path:
    """A patient-level CSV: three groups, missing values in two columns, months and a dead/alive status."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        group = groups[i % len(groups)]
        rate = 12 + 6 * groups.index(group)
        rows.append({
            "id": f"S{i:03d}", "group": group,
            "age": "" if i % 17 == 0 else int(rng.normal(62, 9)),
            "sex": str(rng.choice(["female", "male"])),
            "stage": "" if i % 23 == 5 else str(rng.choice(["I", "II", "III"])),
            "weight": round(float(rng.normal(72, 11)), 1),
            "months": round(float(rng.exponential(rate)), 1),
            "status": "dead" if rng.random() < 0.7 else "alive",
            "died": 0,
        })
    for row in rows:
        row["died"] = int(row["status"] == "dead")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(REPO / "templates" / "_shared", root / "templates" / "_shared")
    return root


def tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_infer_column():
    assert infer_column("age", ["61", None, "70", "58"]) == {
        "name": "age", "label": "Age", "type": "integer", "min": 58, "max": 70, "nullable": True}
    assert infer_column("weight_kg", ["70.5", "81", "-2.25"]) == {
        "name": "weight_kg", "label": "Weight kg", "type": "number", "min": -2.25, "max": 81.0}
    assert infer_column("stage", ["III", "I", "II", "I"])["allowed"] == ["I", "II", "III"]
    assert infer_column("dose", ["10 mg", "2 mg", "10 mg"])["allowed"] == ["10 mg", "2 mg"]
    assert infer_column("visit", ["2014-03-01", "2013-12-31"]) == {
        "name": "visit", "label": "Visit", "type": "date", "min": "2013-12-31", "max": "2014-03-01"}
    assert infer_column("id", ["a", "b", "c"])["type"] == "string"  # no repeats: an identifier, not a category
    assert infer_column("empty", [None, None]) == {"name": "empty", "label": "Empty", "type": "string",
                                                   "nullable": True}


def test_plan_infers_the_dictionary_and_arms(project, tmp_path):
    import yaml

    data = write_trial(tmp_path / "in" / "trial.csv")
    plan = plan_study(project, "demo", data, by="group", time="months", event="status", event_value="dead")
    config = yaml.safe_load(plan.files["data/demo/study.yaml"])
    assert [a["code"] for a in config["arms"]] == ["control", "high dose", "low dose"]
    columns = {c["name"]: c for c in config["data"]["trial"]["columns"]}
    assert columns["group"]["type"] == "category" and columns["status"]["allowed"] == ["alive", "dead"]
    assert columns["age"]["nullable"] is True and "nullable" not in columns["sex"]
    assert columns["months"]["min"] == 0.0
    script = plan.files["analysis/studies/demo.py"]
    assert "== 'dead'" in script and "LEFT_OUT" in script  # three groups: no t-test for age and weight
    assert not (project / "data").exists()  # planning writes nothing


def test_refusals_write_nothing(project, tmp_path, capsys):
    data = write_trial(tmp_path / "in" / "trial.csv")
    many = tmp_path / "in" / "many.csv"
    many.write_text("g,x\n" + "".join(f"g{i},{i}\n" for i in range(MAX_GROUPS + 1)), encoding="utf-8")
    one = tmp_path / "in" / "one.csv"
    one.write_text("g,x\na,1\na,2\n", encoding="utf-8")
    negative = tmp_path / "in" / "neg.csv"
    negative.write_text("g,t,e\na,1,0\nb,-2,1\n", encoding="utf-8")
    counts = tmp_path / "in" / "counts.csv"
    counts.write_text("g,t,e,x\na,1,0,1\nb,2,2,1\na,3,1,2\n", encoding="utf-8")
    broken = tmp_path / "in" / "broken.csv"
    broken.write_text("g,x\na,1,9\n", encoding="utf-8")
    (project / "data" / "taken").mkdir(parents=True)
    before = tree(project)
    cases = [
        (["taken", "--data", str(data), "--by", "group"], "Study `taken` already exists: data/taken"),
        (["Bad-Id", "--data", str(data), "--by", "group"], "Invalid study id 'Bad-Id'"),
        (["x", "--data", str(tmp_path / "nope.csv"), "--by", "g"], "no such file"),
        (["x", "--data", str(broken), "--by", "g"], "cannot be read"),
        (["x", "--data", str(one), "--by", "g"], "--by 'g' has one level ('a')"),
        (["x", "--data", str(many), "--by", "g"], f"--by 'g' has {MAX_GROUPS + 1} levels; at most {MAX_GROUPS}"),
        (["x", "--data", str(data), "--by", "arm"], "--by 'arm': no such column"),
        (["x", "--data", str(negative), "--by", "g", "--time", "t", "--event", "e"],
         "--time 't': negative time at line 3"),
        (["x", "--data", str(counts), "--by", "g", "--time", "t", "--event", "e"],
         "--event 'e' has 3 levels ['0', '1', '2']; expected 0 (censored) and 1 (event)"),
        (["x", "--data", str(data), "--by", "group", "--time", "months", "--event", "status"],
         "--event 'status' has the levels ['alive', 'dead'], not 0/1; say which means the event with --event-value"),
        (["x", "--data", str(data), "--by", "group", "--time", "months", "--event", "status", "--event-value",
          "gone"], "--event-value 'gone'"),
        (["x", "--data", str(data), "--by", "group", "--time", "months"], "--time and --event go together"),
    ]
    for args, message in cases:
        assert main(["--root", str(project), "new", *args]) == 1, args
        err = capsys.readouterr().err
        assert message in err, (args, err)
        assert "Traceback" not in err
        assert tree(project) == before, args


def test_a_failing_check_after_writing_removes_everything(project, tmp_path, monkeypatch):
    import analysis.study

    data = write_trial(tmp_path / "in" / "trial.csv")

    def broken(*_args, **_kwargs):
        raise NewStudyError("simulated failure")

    monkeypatch.setattr(analysis.study, "load_study", broken)
    before = tree(project)
    with pytest.raises(NewStudyError, match="simulated"):
        new_study(project, "demo", data, by="group")
    assert tree(project) == before and not (project / "data").exists()
    assert not (project / "templates" / "demo").exists() and not (project / "analysis").exists()


def test_zero_one_event_needs_no_event_value(project, tmp_path):
    from analysis.pipeline import run_analysis
    from analysis.study import load_study

    data = write_trial(tmp_path / "in" / "two.csv", groups=("A", "B"))
    new_study(project, "two", data, by="group", time="months", event="died")
    script = (project / "analysis/studies/two.py").read_text(encoding="utf-8")
    assert "_event" not in script and "'continuous'" in script  # two groups: age and weight are t-tested
    store = run_analysis(load_study(project, "two"))
    assert store["survival.hr.B"].kind == "ratio_ci" and "survival.hr.A" not in store  # A is the reference
    assert store["baseline.age.test"].raw.startswith("Student")
    assert store["baseline.age_missing.A"].raw + store["baseline.age_missing.B"].raw == 4


@pytest.mark.e2e
def test_new_study_builds_three_formats_on_the_first_try(project, tmp_path, capsys):
    """CSV with missing values and a three-level --by -> HTML, PDF, DOCX; lint clean; abstract = tables."""
    from analysis.results import ResultsStore
    from tests.test_studies import abstract_citations, docx_parts, html_parts, norm, pdf_parts

    data = write_trial(tmp_path / "in" / "trial.csv", n=90)
    assert main(["--root", str(project), "new", "demo", "--data", str(data), "--by", "group", "--time", "months",
                 "--event", "status", "--event-value", "dead", "--title", "Dose groups compared"]) == 0
    out = capsys.readouterr().out
    assert "edit next:" in out and "make report STUDY=demo" in out and "data/demo/study.yaml" in out
    assert (project / "data" / "demo" / "trial.csv").read_bytes() == data.read_bytes()
    assert main(["--root", str(project), "lint", "demo"]) == 0
    assert main(["--root", str(project), "build", "demo", "-q"]) == 0
    report = project / "report" / "demo"
    store = ResultsStore.from_json((report / "results.json").read_text(encoding="utf-8"))
    assert sorted(store.tables) == ["tbl-baseline", "tbl-survival"] and sorted(store.figures) == ["fig-km"]
    assert store["survival.logrank.df"].raw == 2
    cited = abstract_citations(report)
    assert len(cited) >= 10
    keys = {k for k, _ in cited}
    assert {"n.total", "survival.logrank.p", "survival.hr.high_dose", "survival.hr.low_dose"} <= keys
    formats = {"html": html_parts(report / "manuscript.html"), "docx": docx_parts(report / "manuscript.docx"),
               "pdf": pdf_parts(report / "manuscript.pdf")}
    for key, shown in cited:
        for fmt, (abstract, _) in formats.items():
            assert norm(shown) in abstract, f"{fmt}: abstract lacks {shown!r} ({key})"
    for fmt, (_, tables) in formats.items():
        assert norm(store.text("baseline.stage_missing.control")) in tables, fmt
    html = (report / "manuscript.html").read_text(encoding="utf-8")
    assert "Dose groups compared" in html and "No. at risk" in (report / "figures" / "fig-km.svg").read_text()
    # the preview's pandoc renders the new study's manuscript as the command line does
    from tests.test_htmlsession import assert_rendered_as_the_command_line_does

    assert_rendered_as_the_command_line_does(report, tmp_path / "session")


def test_a_wrong_column_in_the_script_names_the_script_line_and_the_column(project, tmp_path, capsys):
    data = write_trial(tmp_path / "in" / "two.csv", groups=("A", "B"))
    new_study(project, "two", data, by="group")
    script = project / "analysis" / "studies" / "two.py"
    lines = script.read_text(encoding="utf-8").splitlines()
    at = next(i for i, line in enumerate(lines) if "ctx.counts()" in line)
    cases = [
        ('    ctx.value("x.mean", float(ctx.frame["wieght"].mean()), "num")', "'wieght'"),
        ('    ctx.baseline([{"column": "wieght", "label": "Weight", "type": "continuous"}], key="extra")',
         "`wieght`"),
    ]
    for line, column in cases:
        script.write_text("\n".join([*lines[: at + 1], line, *lines[at + 1:]]) + "\n", encoding="utf-8")
        assert main(["--root", str(project), "analyse", "two", "-q"]) == 1
        err = capsys.readouterr().err
        assert f"analysis/studies/two.py:{at + 2}" in err, err
        assert column in err and "Traceback" not in err, err
