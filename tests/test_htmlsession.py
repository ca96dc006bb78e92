"""The preview's pandoc kept running (analysis.htmlsession): the command line's HTML, byte for
byte, reading again only the chunks an edit changed, and declining where it cannot promise that."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.errors import RenderError
from analysis.htmlsession import HtmlSession, chunks
from analysis.render import READER, SourceReading, _html_cmd, pandoc_path, render

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO / "templates" / "_shared"

FRONT = """---
title: "A trial"
bibliography: references.bib
csl: vancouver.csl
lang: en-GB
---

"""

#: Headings of the same name in two chunks (`patients`, `patients-1`), citations in several
#: chunks (their note numbers run on), an inline note, an escaped bracket, a table and a
#: cross-reference, a bound number and a fenced div.
MANUSCRIPT = FRONT + """# Abstract {.unnumbered}

Myeloma is treated with combinations [@rajkumar2014imwg]. We found [12]{.val title="n"} patients.

# Methods

## Patients

Adults were eligible^[Aged 18 years or more [@greipp2005iss].] and staged [@durie1975staging].
The score ranged over \\[0, 10\\].

::: {.callout}
# A heading inside a div is not a cut

Text.
:::

# Results

## Patients

See @tbl-base and the staging systems [@greipp2005iss; @palumbo2015riss].

| Arm | n |
|-----|---|
| A   | 6 |
| B   | 6 |

: Baseline {#tbl-base}

```
# not a heading either
```

# Discussion

As before [@kumar2016imwg].
"""


def _project(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("references.bib", "vancouver.csl"):
        shutil.copy2(SHARED / name, folder / name)
    (folder / "manuscript.qmd").write_text(text, encoding="utf-8")
    return folder


def _cmd(folder: Path, output: str) -> list[str]:
    cmd = _html_cmd(folder / "manuscript.qmd", folder / output, SHARED, ("pdf",), embed=False)
    cmd[cmd.index("--output") + 1] = output
    return cmd


def _cli(folder: Path) -> bytes:
    subprocess.run(_cmd(folder, "cli.html"), cwd=folder, check=True, capture_output=True)
    return (folder / "cli.html").read_bytes()


def _reading(text: str) -> dict:
    reading = SourceReading(text)
    try:
        return reading.ast()
    finally:
        reading.close()


def _note_numbers(node: object) -> list[int]:
    """The note numbers of the citations of a JSON AST, in document order."""
    if isinstance(node, dict):
        if node.get("t") == "Cite":
            return [c["citationNoteNum"] for c in node["c"][0]]
        return [n for v in node.values() for n in _note_numbers(v)]
    if isinstance(node, list):
        return [n for v in node for n in _note_numbers(v)]
    return []


@pytest.fixture
def session():
    with HtmlSession() as s:
        yield s


# -- where the source is cut -------------------------------------------------------------------
def test_chunks_cut_before_top_level_headings_only():
    pieces = chunks(MANUSCRIPT)
    assert "".join(pieces) == MANUSCRIPT
    firsts = [p.split("\n", 1)[0] for p in pieces[1:]]
    assert firsts == ["# Abstract {.unnumbered}", "# Methods", "## Patients", "# Results", "## Patients",
                      "# Discussion"]
    assert pieces[0] == FRONT


@pytest.mark.parametrize("extra", [
    "See [the trial][t].\n\n[t]: https://example.org\n",  # a reference link's definition
    "A claim[^1].\n\n[^1]: A note.\n",  # a note's definition
    "(@) An example.\n",  # example lists number across the document
    "$\\newcommand{\\x}{y}$\n",  # a LaTeX macro
    "<!-- a comment -->\n",
    "```\nunclosed code\n",
    "::: {.note}\nunclosed div\n",
    "---\nkey: value\n---\n",  # a metadata block in the middle
])
def test_a_source_that_cannot_be_cut_safely_is_one_chunk(extra):
    text = MANUSCRIPT + "\n" + extra
    assert chunks(text) == [text]


def test_an_unindented_heading_after_text_without_a_blank_line_is_not_a_cut():
    assert len(chunks("Para\n# Heading\n")) == 1
    assert len(chunks("Para\n\n# Heading\n")) == 2
    # only a newline ends a line for pandoc: a form feed or a line separator does not
    assert len(chunks("Para\n\nText\f# Heading\u2028# Another\n")) == 1


# -- the same output as the command line ------------------------------------------------------
def test_the_html_and_the_reading_are_the_command_lines(tmp_path, session):
    folder = _project(tmp_path, MANUSCRIPT)
    source = session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ))
    assert source is not None and session.why is None and session.whole == 0, session.declined
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)
    # the reading (the word counts' source) is pandoc's own, note numbers of citations included
    assert source == _reading(MANUSCRIPT)
    notes = _note_numbers(source)
    assert notes == sorted(notes) and notes[-1] > 4  # numbered on across the chunks, not from 1 in each
    html = (folder / "manuscript.html").read_text(encoding="utf-8")
    assert 'id="patients"' in html and 'id="patients-1"' in html


def test_after_an_edit_only_the_changed_chunks_are_sent_and_the_output_is_still_the_command_lines(tmp_path,
                                                                                                   session):
    folder = _project(tmp_path, MANUSCRIPT)
    cmd = _cmd(folder, "manuscript.html")
    session.html(cmd, folder, dict(os.environ))
    assert session.received == len(chunks(MANUSCRIPT))
    text = MANUSCRIPT
    for old, new, received in (
        ("As before", "As reported before", 1),  # the last chunk only
        # a citation fewer in `## Patients` of the methods: the note numbers after it move back
        ("and staged [@durie1975staging]", "and staged", 4),
        # a new chunk, and the identifiers of the headings after it move on (a third `patients`)
        ("# Results\n", "# Results\n\n## Patients\n\nMore.\n", 3),
    ):
        text = text.replace(old, new)
        (folder / "manuscript.qmd").write_text(text, encoding="utf-8")
        source = session.html(cmd, folder, dict(os.environ))
        assert session.received == received, new
        assert (folder / "manuscript.html").read_bytes() == _cli(folder), new
        assert source == _reading(text), new
    # unchanged: nothing is read, and the filters did not change the readings kept
    session.html(cmd, folder, dict(os.environ))
    assert session.received == 0 and (folder / "manuscript.html").read_bytes() == _cli(folder)
    assert 'id="patients-2"' in (folder / "manuscript.html").read_text(encoding="utf-8")


def test_a_link_to_a_heading_whose_name_differs_from_another_only_in_case_reads_the_whole(tmp_path, session):
    text = MANUSCRIPT.replace("## Patients\n\nSee", "## ÉTÉ\n\nSee [Été] and").replace(
        "## Patients\n\nAdults", "## Été\n\nAdults")  # one reference key for both, the first heading wins
    folder = _project(tmp_path, text)
    assert session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ)) == _reading(text)
    assert session.why is not None and "whose name another heading has" in session.why
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)


def test_headings_named_beyond_ascii_are_cut_and_numbered_as_pandoc_does(tmp_path, session):
    text = MANUSCRIPT.replace("## Patients", "## Patients inclus").replace("# Results", "# Résultats")
    text += "\n# Résultats\n\nEncore.\n"  # `résultats-1`, held by a stand-in heading for the chunks after it
    text += "\n## Été\n\nFin.\n"
    folder = _project(tmp_path, text)
    assert session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ)) == _reading(text)
    assert session.why is None and session.whole == 0
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)
    assert 'id="résultats-1"' in (folder / "manuscript.html").read_text(encoding="utf-8")


def test_a_heading_link_to_another_chunk_makes_it_read_the_whole(tmp_path, session):
    text = MANUSCRIPT + "\nAs in [Methods].\n"
    folder = _project(tmp_path, text)
    assert session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ)) == _reading(text)
    assert session.why == "chunk 7: an unresolved [" and session.whole == 1
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)
    assert '<a href="#methods"' in (folder / "manuscript.html").read_text(encoding="utf-8")


def test_a_link_to_a_heading_whose_name_another_has_makes_it_read_the_whole(tmp_path, session):
    text = MANUSCRIPT.replace("See @tbl-base", "As in [Patients], see @tbl-base")  # the first `patients`
    folder = _project(tmp_path, text)
    assert session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ)) == _reading(text)
    assert session.why == 'chunk 6: a link to heading "patients-1", whose name another heading has'
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)
    assert '<a href="#patients">Patients</a>' in (folder / "manuscript.html").read_text(encoding="utf-8")


def assert_rendered_as_the_command_line_does(report: Path, folder: Path, least_chunks: int = 5) -> None:
    """The manuscript of a built ``report`` folder, rendered by a session in ``folder``: cut
    into chunks, none making it read the whole, and the same HTML and reading as pandoc's."""
    folder = _project(folder, (report / "manuscript.qmd").read_text(encoding="utf-8"))
    shutil.copy2(report / "results.json", folder / "results.json")  # html.lua reads it
    text = (folder / "manuscript.qmd").read_text(encoding="utf-8")
    with HtmlSession() as session:
        source = session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ))
        assert source == _reading(text)
        assert session.why is None and len(chunks(text)) >= least_chunks
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)


@pytest.mark.parametrize("study", ["ixazomib_ndmm", "ird_rrmm"])
def test_each_studys_manuscript_is_rendered_as_the_command_line_does(study, study_report, tmp_path):
    assert_rendered_as_the_command_line_does(study_report(study), tmp_path, least_chunks=10)


# -- where it declines -------------------------------------------------------------------------
def test_a_warning_is_left_to_the_command_line(tmp_path, session):
    folder = _project(tmp_path, MANUSCRIPT + "\nA missing source [@nobody2020].\n")
    assert session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ)) is None
    assert "citation nobody2020 not found" in session.declined
    assert not (folder / "manuscript.html").exists()  # nothing written


def test_a_failing_filter_gives_the_command_lines_error_through_render(tmp_path, session):
    bad = MANUSCRIPT + "\n[click](javascript:alert(1))\n"
    messages = []
    for use in (None, session):
        folder = _project(tmp_path / ("with" if use else "without"), bad)
        with pytest.raises(RenderError) as caught:
            render(folder / "manuscript.qmd", SHARED, ("html",), embed=False, html_session=use)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "unsafe link target" in messages[0]


def test_a_command_with_an_option_it_does_not_know_is_declined(tmp_path, session):
    folder = _project(tmp_path, MANUSCRIPT)
    cmd = [*_cmd(folder, "manuscript.html"), "--toc"]
    assert session.html(cmd, folder, dict(os.environ)) is None
    assert session.served == 0 and session._proc is None  # not even started
    assert session.html([pandoc_path(), "manuscript.qmd", "--from", READER, "--to", "docx", "--standalone",
                         "--output", "x.docx"], folder, dict(os.environ)) is None


def test_a_pandoc_that_died_is_started_again(tmp_path, session):
    folder = _project(tmp_path, MANUSCRIPT)
    cmd = _cmd(folder, "manuscript.html")
    assert session.html(cmd, folder, dict(os.environ)) is not None
    session._proc.kill()
    session._proc.wait()
    assert session.html(cmd, folder, dict(os.environ)) is not None  # a new process, which reads all again
    assert session.received == len(chunks(MANUSCRIPT)) and session.served == 2
    assert (folder / "manuscript.html").read_bytes() == _cli(folder)


def test_a_pandoc_that_cannot_run_the_session_disables_it(tmp_path, session):
    folder = _project(tmp_path / "p", MANUSCRIPT)
    fake = tmp_path / "pandoc"
    fake.write_text("#!/bin/sh\necho 'Unknown command lua' >&2\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)
    cmd = _cmd(folder, "manuscript.html")
    cmd[0] = str(fake)
    assert session.html(cmd, folder, dict(os.environ)) is None
    assert session.disabled == "the pandoc process ended: Unknown command lua"
    assert session.html(_cmd(folder, "manuscript.html"), folder, dict(os.environ)) is None  # no more tries
    assert session._proc is None


def test_render_falls_back_to_the_command_line_when_the_session_declines(tmp_path, session):
    """A disabled session (here: a pandoc that cannot run it) costs nothing but time: render()
    runs pandoc itself, and the word counts' reading still comes from its first call."""
    session.disabled = "a pandoc without `pandoc lua`"
    outputs = {}
    for name, use in (("with", session), ("without", None)):
        folder = _project(tmp_path / name, MANUSCRIPT)
        read: list[dict] = []
        render(folder / "manuscript.qmd", SHARED, ("html",), embed=False, html_session=use, on_read=read.append)
        # the blocks, which the word counts read (that call's metadata has the command line's --metadata)
        assert [r["blocks"] for r in read] == [_reading(MANUSCRIPT)["blocks"]]
        outputs[name] = (folder / "manuscript.html").read_bytes()
    assert outputs["with"] == outputs["without"] and session.served == 0


def test_render_uses_the_session_only_for_an_html_that_links_its_figures(tmp_path, session):
    folder = _project(tmp_path, MANUSCRIPT)
    read = []
    render(folder / "manuscript.qmd", SHARED, ("html",), embed=False, html_session=session, on_read=read.append)
    assert session.served == 1 and read == [_reading(MANUSCRIPT)]
    render(folder / "manuscript.qmd", SHARED, ("html",), embed=True, html_session=session)
    render(folder / "manuscript.qmd", SHARED, ("html", "jats"), embed=False, html_session=session)
    assert session.served == 1
