"""The unbound-number lint."""

from pathlib import Path

from analysis.lint import lint_paths, lint_source


def issues(src: str) -> list[str]:
    return [str(i) for i in lint_source(src, "m.qmd.j2")[0]]


def test_typed_number_in_prose_is_reported_with_file_and_line():
    assert issues("Intro\nThe median PFS was 30.03 months.\n") == ['m.qmd.j2:2: unbound number "30.03"']


def test_bound_numbers_labels_and_citations_pass():
    src = (
        "---\ntitle: \"{{ study.title }}\"\nbibliography: references.bib\n---\n"
        "# Results {#sec-results}\n"
        "Median {{ pfs.median.ID }} (@tbl-response, @fig-km2) [@kumar2016imwg; @moreau2016].\n"
        "![{{ cap }}](f.svg){#fig-a width=80%}\n{{ x | digits(1) }} {{ arms[0] }}\n"
        "{% include \"provenance2.md.j2\" %}{## a comment with 12 ##}\n::: {.table-notes}\n:::\n"
    )
    assert issues(src) == []


def test_numbers_smuggled_through_expressions_are_reported():
    found = issues('{{ 30 }} {{ "12.5" }}\n{% set n = 40 %}{{ x ~ "3" }}')
    assert found == [
        'm.qmd.j2:1: unbound number "30" printed',
        'm.qmd.j2:1: unbound number in string literal "12.5"',
        'm.qmd.j2:2: unbound number "40" assigned with set',
        'm.qmd.j2:2: unbound number in string literal "3"',
    ]


def test_escape_hatch_is_explicit_listed_and_refuses_measurements():
    found, literals = lint_source('High risk: {{ lit("del(17p)") }}, {{ lit("t(4;14)") }}; {{ lit("0.032") }}', "m")
    assert literals == [(1, "del(17p)"), (1, "t(4;14)"), (1, "0.032")]
    assert [str(i) for i in found] == ['m:1: lit() used for a measured number "0.032"']


def test_unescaped_gene_names_and_ranges_are_caught():
    assert issues("del(17p) and t(4;14), ages 18-65, 20 mg") == [
        'm.qmd.j2:1: unbound number "17"',
        'm.qmd.j2:1: unbound number "4;14"',
        'm.qmd.j2:1: unbound number "18-65"',
        'm.qmd.j2:1: unbound number "20"',
    ]


def test_repository_templates_are_clean():
    root = Path(__file__).resolve().parents[1]
    files = sorted((root / "templates").rglob("*.j2"))
    assert files, "no templates found"
    found, _ = lint_paths(files, root)
    assert [str(i) for i in found] == []
