"""Front matter: ORCID checksums, affiliation ids, corresponding authors, CRediT roles, Quarto schema."""

from __future__ import annotations

import pytest
import yaml

from analysis.errors import ConfigError
from analysis.frontmatter import (
    CREDIT_ROLES,
    front_matter_yaml,
    load_front_matter,
    orcid_check_digit,
    quarto_metadata,
    valid_orcid,
)
from analysis.study import load_config
from tests.conftest import REPO

WHERE = "data/x/study.yaml"


def config(**overrides):
    base = {
        "authors": [
            {"name": "Jane Doe", "orcid": "0000-0002-1825-0097", "email": "jane@example.org",
             "affiliations": ["b", "a"], "corresponding": True, "equal_contributor": True,
             "contributions": ["Conceptualisation", "writing - review and editing"]},
            {"name": "John Roe", "affiliations": ["a"], "equal_contributor": True},
        ],
        "affiliations": [{"id": "a", "name": "Alpha Hospital", "department": "Haematology"},
                         {"id": "b", "name": "Beta University", "country": "China"}],
        "funding": "None.",
        "trial_registration": {"registry": "ChiCTR", "id": "ChiCTR2000000001"},
        "ethics": {"committee": "Alpha Ethics Committee", "reference": "2014-01"},
    }
    base.update(overrides)
    return base


def test_orcid_checksum_iso_7064():
    # ORCID's documented examples: 0000-0002-1825-0097 (check 7) and 0000-0001-5109-3700 (check 0);
    # 0000-0002-1694-233X has the check character X (remainder 10).
    assert orcid_check_digit("000000021825009") == "7"
    assert valid_orcid("0000-0002-1825-0097")
    assert valid_orcid("0000-0001-5109-3700")
    assert valid_orcid("0000-0002-1694-233X")
    assert not valid_orcid("0000-0002-1825-0098")
    assert not valid_orcid("0000-0002-1825-009")


def test_valid_front_matter_numbers_affiliations_by_first_citation():
    front = load_front_matter(config(), WHERE)
    assert [(a.id, a.number) for a in front.affiliations] == [("b", 1), ("a", 2)]
    assert front.authors[0].contributions == ("Conceptualization", "Writing – review & editing")
    ctx = front.context()
    assert ctx["authors"][0]["marks"] == [1, 2] and ctx["authors"][1]["marks"] == [2]
    assert ctx["corresponding"] == [{"name": "Jane Doe", "email": "jane@example.org"}]
    assert ctx["affiliations"][1]["text"] == "Haematology, Alpha Hospital"


def test_bad_orcid_checksum_names_the_setting_path():
    authors = config()["authors"]
    authors.append({"name": "Ann Poe", "orcid": "0000-0002-1825-0098"})
    with pytest.raises(ConfigError) as err:
        load_front_matter(config(authors=authors), WHERE)
    assert str(err.value).startswith('data/x/study.yaml: authors[3].orcid: checksum fails for "0000-0002-1825-0098"')
    assert "check character 7" in str(err.value)


def test_malformed_orcid():
    with pytest.raises(ConfigError, match=r"authors\[1\]\.orcid: \"1234\" is not an ORCID iD"):
        load_front_matter({"authors": [{"name": "A", "orcid": "1234"}]}, WHERE)


def test_unknown_affiliation_id():
    authors = [{"name": "A", "affiliations": ["a", "zz"]}]
    with pytest.raises(ConfigError, match=r"authors\[1\]\.affiliations\[2\]: no affiliation has id 'zz'; "
                                          r"defined ids: a, b"):
        load_front_matter(config(authors=authors), WHERE)


def test_corresponding_author_needs_email():
    authors = [{"name": "A", "corresponding": True}]
    with pytest.raises(ConfigError, match=r"authors\[1\]: A is the corresponding author but has no `email`"):
        load_front_matter(config(authors=authors), WHERE)


def test_credit_roles_are_the_fourteen():
    assert len(CREDIT_ROLES) == 14
    with pytest.raises(ConfigError, match=r'authors\[1\]\.contributions\[1\]: "Formal analyses" is not a CRediT '
                                          r'role \(did you mean "Formal analysis"\?\)'):
        load_front_matter({"authors": [{"name": "A", "contributions": ["Formal analyses"]}]}, WHERE)


@pytest.mark.parametrize(("override", "message"), [
    ({"trial_registration": {"registry": "ChiCTR"}}, r"trial_registration\.id: missing"),
    ({"ethics": "yes"}, r"ethics: expected a mapping with committee, reference"),
    ({"affiliations": [{"id": "a"}]}, r"affiliations\[1\]\.name: missing"),
    ({"affiliations": [{"id": "a", "name": "X", "town": "Y"}]}, r"affiliations\[1\]: unknown setting\(s\) \['town'\]"),
    ({"authors": [{"name": "A", "email": "not an email"}]}, r'authors\[1\]\.email: "not an email" is not an email'),
    ({"front_matter_placeholder": "yes"}, r"front_matter_placeholder: expected true or false"),
])
def test_other_errors_name_the_setting(override, message):
    with pytest.raises(ConfigError, match=message):
        load_front_matter(config(**override), WHERE)


def test_quarto_author_schema():
    meta = quarto_metadata(load_front_matter(config(), WHERE))
    first = meta["author"][0]
    assert first == {"name": "Jane Doe", "orcid": "0000-0002-1825-0097", "email": "jane@example.org",
                     "corresponding": True, "equal-contributor": True,
                     "roles": ["Conceptualization", "Writing – review & editing"],
                     "affiliations": [{"ref": "b"}, {"ref": "a"}]}
    assert meta["affiliations"][0] == {"id": "b", "name": "Beta University", "country": "China"}


def test_front_matter_yaml_escapes_markdown():
    front = load_front_matter({"authors": [{"name": "A *bold* [x](y)"}]}, WHERE)
    text = front_matter_yaml(front)
    assert yaml.safe_load(text)["author"][0]["name"] == r"A \*bold\* \[x\](y)"
    assert front_matter_yaml(load_front_matter({}, WHERE)) == ""


@pytest.mark.parametrize("study", ["ixazomib_ndmm", "ird_rrmm"])
def test_seed_studies_have_placeholder_front_matter(study):
    front = load_front_matter(load_config(REPO, study), f"data/{study}/study.yaml")
    assert front.placeholder
    assert front.authors and front.ethics and front.funding and front.data_availability
    assert sum(a.corresponding for a in front.authors) == 1
