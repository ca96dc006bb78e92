"""Checklists and word limits fail the build, naming each missing item."""

from __future__ import annotations

import pytest

from analysis.checklist import (
    CHECKLISTS,
    Manuscript,
    WordCounts,
    check_checklist,
    check_word_limits,
    count_words,
    missing_items,
)
from analysis.errors import ChecklistError, ConfigError
from analysis.frontmatter import load_front_matter
from analysis.results import ResultsStore

TEXT = """\
---
title: "T"
---

::: {.title-block}
Jane Doe, 2 authors here
:::

# Abstract {.unnumbered}

::: {.abstract}
**Objective.** One two three [4]{.val title="n.total"} five.
:::

**Keywords:** not counted

# Introduction

Six seven, eight – nine [@cite2020; @other] ten (@fig-consort).

| a | b |
|---|---|
| words | in tables |

: Table caption words

::: {.table-notes}
Table note words are not counted.
:::

![Figure caption words](x.svg){#fig-consort}

## A heading not counted

Eleven.

# References {.unnumbered}

Back matter words are not counted.
"""


def manuscript(config=None, figures=("fig-consort",), keys=("consort.analysed.A",), text=TEXT):
    store = ResultsStore("x")
    for k in keys:
        store.add(k, 1, "int")
    for f in figures:
        store.add_figure(f, None, "caption")
    config = config or {}
    return Manuscript(config, load_front_matter(config), store, text)


COMPLETE_CONSORT = {
    "title": "A randomised trial", "checklist": "consort",
    "protocol": {"design": "parallel", "eligibility": {"age_min": 18}, "primary_endpoint": "PFS",
                 "randomisation": "random number table"},
    "trial_registration": {"registry": "R", "id": "X"}, "funding": "None", "ethics": {"committee": "C", "reference": "R"},
}


def test_word_counts_from_the_pandoc_reading():
    counts = count_words(TEXT)
    # abstract: Objective One two three 4 five; main: Six seven eight nine ten Eleven ("–" and the
    # citation, the table, the figure caption and the headings do not count)
    assert counts == WordCounts(abstract=6, main=6)


@pytest.mark.parametrize("formats", [("html",), ("docx", "jats"), ("pdf", "html")])
def test_the_first_renderer_reads_the_words_for_the_count(tmp_path, formats):
    """The first pandoc call started writes its reading of the source (before any filter) on
    the side; the counts from it are count_words' own, and no other pandoc call reads the text."""
    import subprocess
    from pathlib import Path

    from analysis.checklist import word_counts
    from analysis.render import render

    qmd = tmp_path / "manuscript.qmd"
    qmd.write_text(TEXT.replace("x.svg", "figures/x.svg"), encoding="utf-8")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "x.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="72pt" height="36pt" viewBox="0 0 72 36"/>', encoding="utf-8")
    (tmp_path / "references.bib").write_text("@article{cite2020, title={A}, year={2020}}\n"
                                              "@article{other, title={B}, year={2021}}\n", encoding="utf-8")
    text = qmd.read_text(encoding="utf-8").replace("title: \"T\"", "title: \"T\"\nbibliography: references.bib")
    qmd.write_text(text, encoding="utf-8")
    read: list[dict] = []
    calls: list[list[str]] = []
    real = subprocess.Popen

    def spy(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return real(cmd, *args, **kwargs)

    shared = Path(__file__).resolve().parents[1] / "templates" / "_shared"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess, "Popen", spy)
        render(qmd, shared, formats, on_read=read.append)
    assert len(read) == 1 and word_counts(read[0]) == count_words(text) == WordCounts(abstract=6, main=6)
    readers = [c for c in calls if any(a.endswith("source-ast.lua") for a in c)]
    assert len(readers) == 1 and len(calls) == len(formats)  # one pandoc call per format, no other


def test_several_renderers_share_one_reading_and_give_the_same_files(tmp_path):
    """A SourceReading of the exact source is read by every renderer instead of the source
    (pandoc reads the text once, not once per format); the files are byte-identical to those
    rendered from the source, and the word counts are the reading's. A reading of another
    text is not used."""
    import shutil
    import subprocess
    from pathlib import Path

    from analysis.checklist import word_counts
    from analysis.render import SourceReading, render

    shared = Path(__file__).resolve().parents[1] / "templates" / "_shared"
    folders = []
    for name in ("direct", "shared", "stale"):
        folder = tmp_path / name
        (folder / "figures").mkdir(parents=True)
        (folder / "figures" / "x.svg").write_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="72pt" height="36pt" viewBox="0 0 72 36"/>', encoding="utf-8")
        (folder / "references.bib").write_text("@article{cite2020, title={A}, year={2020}}\n"
                                                "@article{other, title={B}, year={2021}}\n", encoding="utf-8")
        text = TEXT.replace("x.svg", "figures/x.svg").replace('title: "T"', 'title: "T"\nbibliography: references.bib')
        (folder / "manuscript.qmd").write_text(text, encoding="utf-8")
        folders.append(folder)
    read: dict[str, list[dict]] = {"direct": [], "shared": [], "stale": []}
    calls: list[list[str]] = []
    real = subprocess.Popen

    def spy(cmd, *args, **kwargs):
        calls.append(list(cmd))
        return real(cmd, *args, **kwargs)

    render(folders[0] / "manuscript.qmd", shared, ("html", "docx"), source_date_epoch=1700000000,
           on_read=read["direct"].append)
    reading = SourceReading((folders[1] / "manuscript.qmd").read_text(encoding="utf-8"))
    stale = SourceReading("# Another text\n")
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(subprocess, "Popen", spy)
            render(folders[1] / "manuscript.qmd", shared, ("html", "docx"), source_date_epoch=1700000000,
                   on_read=read["shared"].append, reading=reading)
        render(folders[2] / "manuscript.qmd", shared, ("html", "docx"), source_date_epoch=1700000000,
               on_read=read["stale"].append, reading=stale)
    finally:
        reading.close()
        stale.close()
    assert not reading.path.parent.exists()
    assert [c[1] for c in calls] == [str(reading.path)] * 2  # both renderers read the reading
    assert all(c[c.index("--from") + 1] == "json" for c in calls)
    for out in ("manuscript.html", "manuscript.docx"):
        assert (folders[1] / out).read_bytes() == (folders[0] / out).read_bytes() == (folders[2] / out).read_bytes()
    assert [word_counts(a) for a in read["shared"]] == [word_counts(a) for a in read["stale"]] == \
        [word_counts(a) for a in read["direct"]] == [WordCounts(abstract=6, main=6)]
    # one renderer reads the source itself, beside the reading, which gives the counts only
    single = SourceReading((folders[0] / "manuscript.qmd").read_text(encoding="utf-8"))
    calls.clear()
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(subprocess, "Popen", spy)
            render(folders[0] / "manuscript.qmd", shared, ("html",), on_read=read["direct"].append, reading=single)
    finally:
        single.close()
    assert [c[1] for c in calls] == ["manuscript.qmd"] and not any("source-ast.lua" in " ".join(c) for c in calls)
    assert word_counts(read["direct"][-1]) == WordCounts(abstract=6, main=6)
    shutil.rmtree(tmp_path)


def test_complete_consort_passes():
    assert len(check_checklist(manuscript(COMPLETE_CONSORT))) == len(CHECKLISTS["consort"])


def test_missing_consort_items_are_each_named():
    config = {k: v for k, v in COMPLETE_CONSORT.items() if k != "trial_registration"}
    config["protocol"] = {k: v for k, v in config["protocol"].items() if k != "randomisation"}
    config["title"] = "A trial"
    with pytest.raises(ChecklistError) as err:
        check_checklist(manuscript(config, figures=()), "data/x/study.yaml")
    text = str(err.value)
    assert text.startswith("data/x/study.yaml: checklist consort: 4 required item(s) missing")
    for item in ("CONSORT 1a: identification as a randomised trial in the title",
                 "CONSORT 8a: randomisation method", "CONSORT 13a: participant flow diagram",
                 "CONSORT 23: trial registration (registry and number)"):
        assert item in text


def test_flow_diagram_must_be_cited():
    missing = missing_items("consort", manuscript(COMPLETE_CONSORT, text=TEXT.replace("(@fig-consort)", "")))
    assert [i.number for i in missing] == ["13a"]


def test_strobe_items():
    missing = missing_items("strobe", manuscript({"protocol": {"design": "cohort"}}))
    assert [i.number for i in missing] == ["5", "6a", "8", "12a", "22", "ethics"]
    ok = manuscript({"protocol": {"design": "cohort", "setting": "X", "enrolment": {"start": "2014"},
                                  "eligibility": {"a": 1}, "cohort": {"data_source": "registry"}},
                     "funding": "F", "ethics": {"committee": "C", "reference": "R"}}, keys=("methods.alpha",))
    assert missing_items("strobe", ok) == []


def test_unknown_checklist():
    with pytest.raises(ConfigError, match="checklist: unknown checklist 'prisma'; choose one of: consort, strobe"):
        check_checklist(manuscript({"checklist": "prisma"}))


def test_word_limits():
    check_word_limits(WordCounts(250, 3500), {"journal": {"abstract_words": 250, "main_words": 3500}})
    with pytest.raises(ChecklistError) as err:
        check_word_limits(WordCounts(251, 3600), {"journal": {"abstract_words": 250, "main_words": 3500}},
                          "data/x/study.yaml")
    assert str(err.value) == ("data/x/study.yaml: word limit exceeded\n"
                              "  the abstract has 251 words; the limit (journal.abstract_words) is 250\n"
                              "  the main text has 3600 words; the limit (journal.main_words) is 3500")
    with pytest.raises(ConfigError, match=r"journal\.main_words: expected a positive whole number"):
        check_word_limits(WordCounts(1, 1), {"journal": {"main_words": "many"}})


def test_declared_checklist_and_word_limit_fail_the_build(mini_project):
    """The pipeline refuses to render a manuscript that misses checklist items or word limits,
    and leaves no report behind."""
    from analysis.pipeline import analyse, render_study

    study_yaml = mini_project / "data/mini/study.yaml"
    original = study_yaml.read_text(encoding="utf-8")
    analyse(mini_project, "mini")
    study_yaml.write_text(original + "checklist: consort\n", encoding="utf-8")
    with pytest.raises(ChecklistError) as err:
        render_study(mini_project, "mini", formats=("html",))
    assert "data/mini/study.yaml: checklist consort: 11 required item(s) missing" in str(err.value)
    assert "CONSORT 23: trial registration (registry and number) is missing" in str(err.value)
    study_yaml.write_text(original + "journal: {main_words: 10}\n", encoding="utf-8")
    with pytest.raises(ChecklistError, match=r"the main text has \d+ words; the limit \(journal.main_words\) is 10"):
        render_study(mini_project, "mini", formats=("html",))
    assert not (mini_project / "report/mini/manuscript.html").exists()
