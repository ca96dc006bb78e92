"""`audit --text`: a paper's printed statistics checked against each other, from its text alone."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from analysis.cli import main
from analysis.extract import extract
from analysis.textaudit import audit_text, format_report
from tests.conftest import FIXTURES, REPO

PAPERS = FIXTURES / "papers"
SEEDS = Path(os.environ.get("SEEDS_DIR", REPO.parent / "shared" / "seeds"))  # shared/ sits beside the clone


def messages(path: Path, **kwargs) -> dict[str, list[str]]:
    """Inconsistent findings by where they stand."""
    out: dict[str, list[str]] = {}
    for f in audit_text(path, **kwargs).inconsistent:
        out.setdefault(f.where, []).append(f.message)
    return out


def test_every_planted_error_is_found_and_nothing_else():
    found = messages(PAPERS / "errors.txt", patients=98)
    assert set(found) == {
        "line 8",  # a one-sided P printed for a two-sided t
        "line 9, HR 0.82 (0.61–1.10)",  # needs ~170 events, 98 patients
        "line 9, OR 2.50 (1.10–3.20)",  # not centred on its interval; needs ~214 patients
        "line 13, Table 1, Age (years), group 1",  # SD 21.5 impossible for ages 20-60
        "line 14, Table 1, Score",  # t and P do not follow from the means and SDs
        "line 16, Table 1, Relapse",  # statistics copied from the Response row
        "line 19, Table 1, Fever",  # 10/48 printed as 21.8%
    }, found
    assert any("copied from there" in m and "line 15, Table 1, Response" in m for m in found["line 16, Table 1, Relapse"])
    assert any("SD at most 20.1" in m for m in found["line 13, Table 1, Age (years), group 1"])
    assert found["line 19, Table 1, Fever"] == ["10/48 is 20.8%, not the printed 21.8%"]


def test_a_consistent_paper_passes_strict():
    assert audit_text(PAPERS / "clean.txt").inconsistent == []
    assert main(["audit", "--text", str(PAPERS / "clean.txt"), "--strict"]) == 0
    assert main(["audit", "--text", str(PAPERS / "errors.txt"), "--strict"]) == 1
    assert main(["audit", "--text", str(PAPERS / "errors.txt")]) == 0  # a report, not a verdict, without --strict


def test_extraction_reads_table_rows_and_spellings_of_p():
    text = ("p < .05 and P value of 0.03; P=0.032, χ2(2) = 5.99, t(38)=-2.1, F(2, 57) = 3.15\n"
            "Table 1. Things\nItem A (n=10) B (n=12)\nMale 7 (70.0) 4 (33.3) 2.934 0.087\n")
    tables, inline, ratios = extract(text)
    assert ratios == []
    assert [(i.stat, i.value, i.df, i.p) for i in inline] == [
        ("chi2", "5.99", (2.0,), None), ("t", "-2.1", (38.0,), None), ("F", "3.15", (2.0, 57.0), None),
        ("P", None, (), "<.05"), ("P", None, (), "0.03"), ("P", None, (), "0.032")]
    assert tables[0].group_sizes == [10, 12]
    row = tables[0].rows[0]
    assert (row.label, row.counts, row.trailing) == ("Male", [(7, "70.0"), (4, "33.3")], ["2.934", "0.087"])


def test_ratios_with_their_interval_across_line_breaks():
    text = ("the OR values\nwere 3.27 (95% CI: 2.34-4.56), 3.82 (95% CI: 2.93-4.99); HR 0.36 (95% CI 0.27–0.47)\n"
            "neutropenia (39%, 95% CI: 16-61%)\n")
    _, _, ratios = extract(text)
    assert [(r.line, r.measure, r.estimate, r.lower, r.upper) for r in ratios] == [
        (2, "OR", "3.27", "2.34", "4.56"), (2, "OR", "3.82", "2.93", "4.99"), (2, "HR", "0.36", "0.27", "0.47"),
        (3, "estimate", "39", "16", "61")]


@pytest.mark.parametrize("fmt, marker", [("markdown", "| Verdict | Where |"), ("html", "<table>"), ("table", "! inconsistent")])
def test_report_formats(fmt, marker, tmp_path):
    report = audit_text(PAPERS / "errors.txt")
    text = format_report(report, fmt)
    assert marker in text and "Relapse" in text
    out = tmp_path / f"audit.{fmt}"
    assert main(["audit", "--text", str(PAPERS / "errors.txt"), "--format", fmt, "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("args, message", [
    (["--text", "no/such/paper.txt"], "no/such/paper.txt: no such file"),
    (["--text", str(PAPERS / "clean.txt"), "--range", "Age"], "Invalid `--range` 'Age'"),
    (["ixazomib_ndmm", "--text", str(PAPERS / "clean.txt")], "give FILE or STUDY, not both"),
    (["--strict"], "--format, --output and --strict go with --text FILE"),
])
def test_mistakes_are_one_line(args, message, capsys):
    assert main(["--root", str(REPO), "audit", *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_seed_papers_known_errors_are_found_from_their_text():
    """What published.yaml's notes explain by hand, found from the printed text alone."""
    if not SEEDS.is_dir():
        pytest.skip(f"the seed papers are not beside the repository ({SEEDS})")
    found = messages(SEEDS / "000_66774d00091eef05.txt")
    text = "\n".join(m for ms in found.values() for m in ms)
    assert re.search(r"Peripheral Neuropathy prints the same statistics \(4\.588 / 0\.032\) as line \d+, Table 2", text)
    assert "the counts give Pearson χ² 1.067, P 0.302" in text  # the neuropathy row's own counts
    assert "the counts give Pearson χ² 0.228, P 0.633" in text  # fatigue: 0.663 printed for 0.633
    assert "t = 0.860 cannot follow from 63.9±11.4 (n=40) vs 63.3±10.9 (n=40)" in text
    assert "the printed SD 11.4 is impossible" in text  # ages 18-65 (from the Methods' "aged between 18 and 65")
    assert "Pearson χ² 0.251, P 0.882" in text  # immunofixation: 0.172 / 0.583 printed
    assert "t = 0.930 cannot follow" in text  # KPS after treatment
    rrmm = messages(SEEDS / "003_535dffffc5b82a22.txt")
    assert any("3/6 is 50.00%, not the printed 50.05%" in m for ms in rrmm.values() for m in ms)
