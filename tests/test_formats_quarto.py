"""The report folder is a Quarto manuscript project: every key of ``_quarto.yml`` and of the
manuscript's front matter is one that Quarto's schema documents (the key list, with its
source, is tests/fixtures/quarto_schema.json); abstract and keywords live in the front matter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from analysis.quarto import ASSETS, lift_front_matter, project_config
from analysis.study import discover_studies
from tests.conftest import REPO

SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "quarto_schema.json").read_text(encoding="utf-8"))
#: Keys Quarto's front matter takes that are structure, not document options.
STRUCTURAL = {"format", "project", "manuscript", "affiliations"}


def _formats_of(entry_formats: list[str]) -> set[str]:
    """Expand ``$group`` names of the schema's ``tags: formats`` through format-aliases.yml."""
    out: set[str] = set()
    todo = list(entry_formats)
    while todo:
        name = todo.pop()
        if name.startswith("$"):
            todo += SCHEMA["format_aliases"][name[1:]]
        else:
            out.add(name)
    return out


def _check_format_options(fmt: str, options: dict) -> list[str]:
    bad = []
    for key in options:
        entry = SCHEMA["document"].get(key)
        if entry is None:
            bad.append(f"format.{fmt}.{key}: not a Quarto document option")
        elif entry["formats"] and fmt not in _formats_of(entry["formats"]):
            bad.append(f"format.{fmt}.{key}: Quarto documents it for {entry['formats']}, not {fmt}")
    return bad


def test_schema_fixture_names_its_source():
    src = SCHEMA["source"]
    assert src["repository"] == "https://github.com/quarto-dev/quarto-cli" and len(src["commit"]) == 40
    assert (len(SCHEMA["document"]) > 300 and "manuscript" in SCHEMA["project"]) or "type" in SCHEMA["project"]
    assert "article" in SCHEMA["manuscript"]


def test_quarto_yml_uses_only_documented_keys():
    cfg = project_config()
    assert cfg["project"] == {"type": "manuscript"}
    assert set(cfg["project"]) <= set(SCHEMA["project"])
    assert set(cfg["manuscript"]) <= set(SCHEMA["manuscript"])
    all_formats = _formats_of(["$" + g for g in SCHEMA["format_aliases"]]) | {"typst"}
    bad = []
    for fmt, options in cfg["format"].items():
        assert fmt in all_formats, fmt
        bad += _check_format_options(fmt, options)
    assert not bad, bad
    # every file it names is an asset the build copies beside it
    named = {Path(p).name for opts in cfg["format"].values() for v in opts.values()
             for p in (v if isinstance(v, list) else [v]) if isinstance(p, str) and p.startswith("assets/")}
    assert named <= set(ASSETS)
    assert all((REPO / "templates" / "_shared" / name).is_file() for name in ASSETS)


def test_a_wrong_key_would_be_caught():
    assert _check_format_options("docx", {"css": "x.css"})  # css is HTML-only
    assert _check_format_options("html", {"reference-docx": "x"})  # misspelt


def test_lift_front_matter_copies_abstract_and_keywords():
    qmd = ("---\ntitle: \"T\"\n---\n\n# Abstract {.unnumbered}\n\n::: {.abstract}\n**Objective.** To test "
           "[80]{.val title=\"n.total\"} patients.\n\n**Results.** Fine.\n:::\n\n**Keywords:** multiple myeloma;"
           "\nixazomib; \"quoted\" term\n\n# Introduction\n")
    out = lift_front_matter(qmd)
    meta = yaml.safe_load(out.split("---\n")[1])
    assert meta["abstract"] == ("**Objective.** To test [80]{.val title=\"n.total\"} patients.\n\n"
                                "**Results.** Fine.\n")
    assert meta["keywords"] == ["multiple myeloma", "ixazomib", "\"quoted\" term"]
    assert out.endswith(qmd.split("---\n", 2)[2])  # the body is unchanged
    assert lift_front_matter(out) == out  # idempotent
    assert lift_front_matter("no front matter") == "no front matter"


@pytest.mark.e2e
@pytest.mark.parametrize("study", discover_studies(REPO))
def test_report_folder_is_a_quarto_manuscript_project(study_report, study):
    report = study_report(study)
    cfg = yaml.safe_load((report / "_quarto.yml").read_text(encoding="utf-8"))
    assert cfg == project_config()
    for opts in cfg["format"].values():
        for value in opts.values():
            for path in value if isinstance(value, list) else [value]:
                if isinstance(path, str) and path.startswith("assets/"):
                    assert (report / path).is_file(), path
    qmd = (report / "manuscript.qmd").read_text(encoding="utf-8")
    meta = yaml.safe_load(qmd.split("---\n")[1])
    assert meta["abstract"].startswith("**") and len(meta["keywords"]) >= 4
    unknown = [k for k in meta if k not in SCHEMA["document"] and k not in STRUCTURAL]
    assert not unknown, f"front-matter keys Quarto does not document: {unknown}"
    for fmt, options in (meta.get("format") or {}).items():
        assert not _check_format_options(fmt, options if isinstance(options, dict) else {})
    for author in meta.get("author", []):
        assert set(author) <= set(SCHEMA["author"]), author
        for aff in author.get("affiliations", []):
            assert set(aff) <= set(SCHEMA["affiliation"]), aff
    for aff in meta.get("affiliations", []):
        assert set(aff) <= set(SCHEMA["affiliation"]), aff
