"""The shared bibliography and the numbered CSL style it is rendered with.

The bibliography is data the manuscripts cite through pandoc citeproc, so it is
held to the same standard as the raw data: every entry complete enough to be
looked up, every key documented with the source it was checked against, and the
style proven to give a numbered (Vancouver) reference list.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest

pypandoc = pytest.importorskip("pypandoc")

SHARED = Path(__file__).resolve().parents[1] / "templates" / "_shared"
BIB = SHARED / "references.bib"
CSL = SHARED / "vancouver.csl"
NOTES = SHARED / "REFERENCES.md"

# Keys other parts of the project may rely on. Removing one is a deliberate act.
EXPECTED_KEYS = {
    "kumar2016imwg",
    "rajkumar2014imwg",
    "greipp2005iss",
    "palumbo2015riss",
    "durie1975staging",
    "nci2017ctcae",
    "moreau2016tourmaline",
    "kumar2014ixazomib",
    "kumar2016ixazomibdex",
    "rajkumar2010lenalidomide",
    "palumbo2016castor",
    "dimopoulos2016pollux",
    "kaplan1958",
    "brookmeyer1982",
    "cox1972",
    "mantel1966",
    "mantel1959",
    "robins1986",
    "dersimonian1986",
    "higgins2002",
    "qiao2020ixazomib",
}

# A DOI: "10." + registrant code + "/" + a suffix without whitespace. SICI-style
# suffixes (Wiley's 1975 Cancer DOI) legitimately contain <, >, ; and :.
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
KEY_RE = re.compile(r"^[a-z]+\d{4}[a-z]*$")
ENTRY_RE = re.compile(r"^@(\w+)\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)


def raw_entries() -> list[tuple[str, str]]:
    """(entry type, key) pairs straight from the BibTeX text, duplicates kept."""
    return [(t.lower(), k) for t, k in ENTRY_RE.findall(BIB.read_text(encoding="utf-8"))]


@lru_cache(maxsize=1)
def csl_items() -> dict[str, dict]:
    """The bibliography as pandoc reads it (CSL JSON), keyed by citation key."""
    items = json.loads(pypandoc.convert_file(str(BIB), "csljson", format="bibtex"))
    return {item["id"]: item for item in items}


def render(markdown: str) -> str:
    return pypandoc.convert_text(
        markdown,
        "plain",
        format="markdown",
        extra_args=["--citeproc", "--bibliography", str(BIB), "--csl", str(CSL), "--wrap=none"],
    )


# --------------------------------------------------------------------------- keys


def test_keys_are_unique_and_author_year_lowercase():
    keys = [k for _, k in raw_entries()]
    assert keys, "no entries parsed from references.bib"
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    assert not duplicates, f"duplicate keys: {duplicates}"
    bad = [k for k in keys if not KEY_RE.match(k)]
    assert not bad, f"keys not in lower-case author+year form: {bad}"


def test_pandoc_reads_every_entry():
    assert set(csl_items()) == {k for _, k in raw_entries()}


def test_expected_keys_present():
    missing = EXPECTED_KEYS - set(csl_items())
    assert not missing, f"missing keys: {sorted(missing)}"


def test_every_key_is_documented_with_its_source():
    notes = NOTES.read_text(encoding="utf-8")
    documented = set(re.findall(r"^###\s+`([^`]+)`", notes, re.MULTILINE))
    keys = set(csl_items())
    assert keys - documented == set(), f"undocumented keys: {sorted(keys - documented)}"
    assert documented - keys == set(), f"documented but absent: {sorted(documented - keys)}"


# ------------------------------------------------------------------------- fields


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_entry_has_required_fields(key):
    item = csl_items()[key]
    assert item.get("title"), f"{key}: no title"
    authors = item.get("author") or []
    assert authors, f"{key}: no author"
    for a in authors:
        assert a.get("family") or a.get("literal"), f"{key}: author without a name {a}"
    year = item.get("issued", {}).get("date-parts", [[None]])[0][0]
    assert isinstance(year, int) and 1900 < year < 2100, f"{key}: bad year {year!r}"
    if item["type"] == "article-journal":
        assert item.get("container-title"), f"{key}: no journal"
        assert item.get("container-title-short"), f"{key}: no journal abbreviation"
        assert str(item.get("volume", "")).strip(), f"{key}: no volume"
        assert re.fullmatch(r"e?\d+(-e?\d+)?", str(item.get("page", ""))), (
            f"{key}: pages {item.get('page')!r} are not a page range"
        )
    else:
        assert item.get("URL"), f"{key}: a non-article needs a URL"


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_doi_looks_like_a_doi(key):
    doi = csl_items()[key].get("DOI")
    if doi is None:
        return  # some sources have no DOI, or it could not be verified (see REFERENCES.md)
    assert DOI_RE.match(doi), f"{key}: {doi!r} is not a DOI"
    assert not doi.lower().startswith(("http", "doi:")), f"{key}: store the bare DOI"


def test_page_ranges_run_forwards():
    for key, item in csl_items().items():
        page = str(item.get("page", ""))
        if "-" in page:
            first, last = (int(p.lstrip("e")) for p in page.split("-"))
            assert first <= last, f"{key}: page range {page} runs backwards"


# -------------------------------------------------------------------------- style


def test_csl_is_an_independent_numeric_style_with_its_licence():
    text = CSL.read_text(encoding="utf-8")
    assert 'rel="independent-parent"' not in text, "dependent style: it needs a parent file"
    assert "<bibliography" in text and "<citation" in text
    assert 'citation-format="numeric"' in text
    assert "<rights" in text and "creativecommons.org" in text, "licence header missing"
    assert "<title>Vancouver</title>" in text


def test_two_citations_render_as_numbered_bibliography():
    out = render("See [@kumar2016imwg; @moreau2016tourmaline].")
    body, _, bibliography = out.partition("\n\n")
    # In-text: numbers in brackets or parentheses, not author-date.
    assert re.search(r"[\[(]1\s*[,–-]\s*2[\])]", body), body
    assert "Kumar" not in body and "2016" not in body
    lines = [line for line in bibliography.splitlines() if line.strip()]
    assert lines[0].startswith("1. Kumar S, Paiva B"), lines
    assert lines[1].startswith("2. Moreau P, Masszi T"), lines
    assert "Lancet Oncol. 2016;17(8):e328" in lines[0]
    assert "N Engl J Med. 2016;374:1621" in lines[1]
    assert len(lines) == 2


def test_numbering_follows_order_of_first_citation():
    out = render("First [@cox1972], then [@kaplan1958], then again [@cox1972].")
    body, _, bibliography = out.partition("\n\n")
    assert "(1)" in body and "(2)" in body
    assert body.count("(1)") == 2, body
    lines = [line for line in bibliography.splitlines() if line.strip()]
    assert lines[0].startswith("1. Cox DR.")
    assert lines[1].startswith("2. Kaplan EL, Meier P.")


def test_long_author_lists_truncate_to_six_and_et_al():
    out = render("[@palumbo2016castor]")
    assert "Palumbo A, Chanan-Khan A, Weisel K, Nooka AK, Masszi T, Beksac M, et al." in out


def test_whole_bibliography_renders_without_warnings():
    keys = sorted(csl_items())
    out = render(" ".join(f"[@{k}]" for k in keys))
    numbered = re.findall(r"^(\d+)\. ", out, re.MULTILINE)
    assert numbered == [str(i) for i in range(1, len(keys) + 1)]
    assert "???" not in out  # citeproc's marker for an unknown key
