"""Revisions end to end, in a temporary git repository: commit, reclassify one patient from PR to
CR, commit, then `diff --from HEAD~1` lists what changed, where the manuscript cites it, and writes
a Word file whose tracked changes strike the old count and insert the new one."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e
STUDY = "ixazomib_ndmm"
GIT = ["git", "-c", "user.name=Test Author", "-c", "user.email=test@example.org"]


def run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=root, capture_output=True, text=True)


def reclassify_one_patient(csv_path: Path) -> str:
    """The first PR patient of the ID arm becomes a CR; returns the patient id."""
    with csv_path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    resp, arm = header.index("best_response"), header.index("arm")
    for row in rows[1:]:
        if row[resp] == "PR" and row[arm] == "ID":
            row[resp] = "CR"
            break
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    return row[0]


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("revisions") / "project"
    root.mkdir()
    shutil.copytree(REPO / "analysis", root / "analysis", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "data" / STUDY, root / "data" / STUDY)
    for name in (STUDY, "_shared"):
        shutil.copytree(REPO / "templates" / name, root / "templates" / name)
    (root / ".gitignore").write_text("build/\nreport/\n__pycache__/\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    subprocess.run([*GIT, "commit", "-qm", "as submitted"], cwd=root, check=True)
    reclassify_one_patient(root / "data" / STUDY / "patients.csv")
    subprocess.run([*GIT, "commit", "-qam", "one patient PR -> CR"], cwd=root, check=True)
    return root


@pytest.fixture(scope="module")
def redline(repo):
    proc = run(repo, "diff", STUDY, "--from", "HEAD~1", "--redline", "--author", "Reviewer Two",
               "--date", "2026-11-30T12:00:00Z", "--exit-code", "-q")
    return proc


def test_diff_lists_the_changed_values_and_the_sentences_citing_them(redline):
    assert redline.returncode == 1, redline.stderr  # --exit-code: something changed
    out = redline.stdout
    assert re.search(r"changed\s+table2\.cr\.ID\s+13 \(32\.50\)\s+->\s+14 \(35\.00\)", out), out
    assert re.search(r"changed\s+table2\.cr\.p\s+0\.032\s+->\s+0\.018", out), out
    assert re.search(r"changed\s+table2\.pr\.ID\s+11 \(27\.50\)\s+->\s+10 \(25\.00\)", out), out
    # every place it is cited: template lines, the table cell, the abstract sentence
    block = out[out.index("table2.cr.ID"):out.index("table2.cr.p")]
    assert "template templates/ixazomib_ndmm/00-abstract.md.j2:" in block
    assert "table    tbl-response, Complete response (CR)/Ixazomib + dexamethasone (n=40)" in block
    assert re.search(r"cited in Abstract: Complete response was reached by 14 patients .*\(P = 0\.018\)", block)
    assert "Traceback" not in redline.stderr


def test_tracked_docx_deletes_the_old_count_and_inserts_the_new_one(repo, redline):
    docx = repo / "report" / STUDY / "revision" / "manuscript-tracked.docx"
    xml = zipfile.ZipFile(docx).read("word/document.xml").decode("utf-8")
    # the abstract sentence: a w:del of 13 followed by a w:ins of 14, by the author given
    sentence = xml[xml.index("Complete response was reached by"):]
    sentence = sentence[:sentence.index("patients in the ID group")]
    deleted = re.search(r'<w:del [^>]*w:author="Reviewer Two"[^>]*w:date="2026-11-30T12:00:00Z".*?</w:del>',
                        sentence, re.S)
    inserted = re.search(r'<w:ins [^>]*w:author="Reviewer Two".*?</w:ins>', sentence, re.S)
    assert deleted and inserted, sentence[:2000]
    assert re.sub(r"<[^>]+>", "", deleted.group(0)) == "13"
    assert re.sub(r"<[^>]+>", "", inserted.group(0)) == "14"
    from docx import Document  # python-docx opens it without error

    assert any("Complete response was reached by" in p.text for p in Document(docx).paragraphs)


def test_tracked_docx_opens_in_libreoffice(repo, redline, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")
    docx = repo / "report" / STUDY / "revision" / "manuscript-tracked.docx"
    proc = subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp_path}/lo",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)],
                          capture_output=True, text=True, timeout=300)
    pdf = tmp_path / "manuscript-tracked.pdf"
    assert proc.returncode == 0 and pdf.is_file(), proc.stderr
    from pypdf import PdfReader

    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf).pages).split())
    # LibreOffice prints both sides of a tracked change: the struck 13 beside the inserted 14
    assert "Complete response was reached by 1314 patients" in text


def test_changes_html_and_letter_table(repo, redline):
    folder = repo / "report" / STUDY / "revision"
    html = (folder / "manuscript-changes.html").read_text(encoding="utf-8")
    assert re.search(r'<span id="chg-\d+" class="deletion"[^>]*>13</span>', html)
    links = re.findall(r'href="#(chg-\d+)"', html)
    assert links and all(f'id="{i}"' in html for i in links), "each listed change links to its place"
    with (folder / "changes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    abstract = [r for r in rows if r["key"] == "table2.cr.ID" and r["section"] == "Abstract"]
    assert abstract and "13 patients" in abstract[0]["said"] and "14 patients" in abstract[0]["says"]
    assert "| Section | What it said | What it says now | Key |" in (folder / "changes.md").read_text()


def test_nothing_changed_exits_zero_and_builds_are_cached_by_commit(repo, redline):
    proc = run(repo, "diff", STUDY, "--from", "HEAD", "--to", "HEAD", "--exit-code")
    assert proc.returncode == 0, proc.stderr
    assert "0 value(s) differ" in proc.stdout
    assert "cached build" in proc.stderr  # HEAD was built once, then read from build/.revisions/
    sha = subprocess.run(["git", "rev-parse", "HEAD~1"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert (repo / "build" / ".revisions" / sha / STUDY / "results.json").is_file()


def test_snapshot_keeps_a_version_that_diff_reads_without_git(repo, redline, tmp_path):
    assert run(repo, "build", STUDY, "--formats", "html", "-q").returncode == 0
    proc = run(repo, "snapshot", STUDY, "submitted")
    assert proc.returncode == 0, proc.stderr
    kept = repo / "versions" / STUDY / "submitted"
    meta = json.loads((kept / "version.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert meta["commit"] == head and (kept / "results.json").is_file() and (kept / "manuscript.qmd").is_file()
    again = run(repo, "snapshot", STUDY, "submitted")
    assert again.returncode == 1 and "already exists" in again.stderr and "Traceback" not in again.stderr
    # a copy of the project without .git: --from NAME and --from a results.json still work
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git", "build"))
    for ref in ("submitted", str(kept / "results.json")):
        proc = run(plain, "diff", STUDY, "--from", ref, "--to", str(kept), "--exit-code")
        assert proc.returncode == 0 and "0 value(s) differ" in proc.stdout, proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--from", "no-such-ref"], "is not a git commit, tag or branch"),
    (["--to", "HEAD"], "--to needs --from"),
    (["--redline"], "--redline needs --from"),
])
def test_bad_revisions_are_answered_in_one_line(repo, args, message):
    proc = run(repo, "diff", STUDY, *args)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr
