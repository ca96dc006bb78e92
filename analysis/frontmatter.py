"""Front matter of a manuscript: authors, affiliations and declarations, from ``study.yaml``.

The settings (all optional, at the top level of ``study.yaml``)::

    front_matter_placeholder: true          # the names below are invented: say so in print
    authors:
      - name: Jane Doe
        orcid: 0000-0002-1825-0097          # checked with the ISO 7064 MOD 11-2 checksum
        email: jane.doe@example.org         # required when corresponding: true
        affiliations: [haem]                # ids of `affiliations:` entries
        corresponding: true
        equal_contributor: true
        contributions: [Conceptualization, Formal analysis]   # CRediT roles
    affiliations:
      - {id: haem, department: Department of Haematology, name: <hospital or university>, city: ..., country: ...}
    funding: ...
    conflicts_of_interest: ...
    trial_registration: {registry: ..., id: ...}
    ethics: {committee: ..., reference: ...}
    data_availability: ...

:func:`load_front_matter` validates them into a :class:`FrontMatter`; every error is a
:class:`~analysis.errors.ConfigError` naming the file and the setting path (``authors[2].orcid``,
counted from 1 as a reader counts authors) with what was expected.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from analysis.errors import ConfigError

__all__ = [
    "CREDIT_ROLES",
    "Affiliation",
    "Author",
    "FrontMatter",
    "front_matter_yaml",
    "load_front_matter",
    "orcid_check_digit",
    "quarto_metadata",
    "valid_orcid",
]

#: The 14 contributor roles of the CRediT taxonomy (https://credit.niso.org/), as spelt there.
CREDIT_ROLES: tuple[str, ...] = (
    "Conceptualization", "Data curation", "Formal analysis", "Funding acquisition", "Investigation",
    "Methodology", "Project administration", "Resources", "Software", "Supervision", "Validation",
    "Visualization", "Writing – original draft", "Writing – review & editing",
)

_ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")  # markup-free
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_TOP_KEYS = ("authors", "affiliations", "funding", "conflicts_of_interest", "trial_registration", "ethics",
             "data_availability", "front_matter_placeholder")
_AUTHOR_KEYS = ("name", "orcid", "email", "affiliations", "corresponding", "equal_contributor", "contributions")
_AFFILIATION_KEYS = ("id", "name", "department", "city", "country")


def orcid_check_digit(base: str) -> str:
    """The ISO 7064 MOD 11-2 check character of the first 15 digits of an ORCID iD."""
    total = 0
    for ch in base:
        total = (total + int(ch)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def valid_orcid(orcid: str) -> bool:
    """Whether ``orcid`` has the form ``0000-0002-1825-0097`` and a correct check character."""
    if not _ORCID.match(orcid):
        return False
    digits = orcid.replace("-", "")
    return orcid_check_digit(digits[:15]) == digits[15]


def _role_key(text: str) -> str:
    """A CRediT role compared loosely: case, dash style, "&"/"and" and British -isation."""
    text = text.lower().replace("—", "-").replace("–", "-").replace("&", "and")
    text = text.replace("isation", "ization")
    return re.sub(r"\s*-\s*", " - ", re.sub(r"\s+", " ", text)).strip()


_ROLES_BY_KEY = {_role_key(r): r for r in CREDIT_ROLES}


@dataclass(frozen=True)
class Affiliation:
    """An affiliation; ``number`` is its position in the title block (order of first citation)."""

    id: str
    name: str
    number: int
    department: str | None = None
    city: str | None = None
    country: str | None = None

    @property
    def text(self) -> str:
        """The affiliation as one line: department, name, city, country."""
        parts = [self.department, self.name, self.city, self.country]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Author:
    """An author with validated ORCID, email, affiliation ids and CRediT roles."""

    name: str
    affiliations: tuple[str, ...] = ()
    orcid: str | None = None
    email: str | None = None
    corresponding: bool = False
    equal_contributor: bool = False
    contributions: tuple[str, ...] = ()


@dataclass(frozen=True)
class FrontMatter:
    """Everything a journal's submission system asks for beside the science."""

    authors: tuple[Author, ...] = ()
    affiliations: tuple[Affiliation, ...] = ()
    funding: str | None = None
    conflicts_of_interest: str | None = None
    registration: dict[str, str] | None = None
    ethics: dict[str, str] | None = None
    data_availability: str | None = None
    placeholder: bool = False

    def affiliation(self, aff_id: str) -> Affiliation:
        """The affiliation with id ``aff_id``."""
        return next(a for a in self.affiliations if a.id == aff_id)

    def context(self) -> dict[str, Any]:
        """Plain data for the templates (title block and declarations partials)."""
        numbers = {a.id: a.number for a in self.affiliations}
        return {
            "placeholder": self.placeholder,
            "authors": [{
                "name": a.name, "orcid": a.orcid, "email": a.email, "corresponding": a.corresponding,
                "equal_contributor": a.equal_contributor, "contributions": list(a.contributions),
                "marks": sorted(numbers[i] for i in a.affiliations),
            } for a in self.authors],
            "affiliations": [{"id": a.id, "number": a.number, "text": a.text} for a in self.affiliations],
            "corresponding": [{"name": a.name, "email": a.email} for a in self.authors if a.corresponding],
            "any_equal": any(a.equal_contributor for a in self.authors),
            "contributions": [{"name": a.name, "roles": list(a.contributions)}
                              for a in self.authors if a.contributions],
            "funding": self.funding,
            "conflicts_of_interest": self.conflicts_of_interest,
            "registration": self.registration,
            "ethics": self.ethics,
            "data_availability": self.data_availability,
        }


def _text(value: Any, where: str, path: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            raise ConfigError(f"{where}: {path}: missing; expected a text")
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {path}: expected a non-empty text, got {value!r}")
    return " ".join(value.split())


def _flag(value: Any, where: str, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {path}: expected true or false, got {value!r}")
    return value


def _mapping(value: Any, where: str, path: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {path}: expected a mapping with {', '.join(keys)}, got {value!r}")
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise ConfigError(f"{where}: {path}: unknown setting(s) {unknown}; allowed: {', '.join(keys)}")
    return value


def _role(value: Any, where: str, path: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {path}: expected a CRediT role, got {value!r}")
    role = _ROLES_BY_KEY.get(_role_key(value))
    if role is None:
        near = difflib.get_close_matches(value, CREDIT_ROLES, n=1, cutoff=0.6)
        hint = f' (did you mean "{near[0]}"?)' if near else ""
        raise ConfigError(f'{where}: {path}: "{value}" is not a CRediT role{hint}; the 14 roles are: '
                          + "; ".join(CREDIT_ROLES))
    return role


def _affiliations(raw: Any, where: str) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: affiliations: expected a list of affiliations with `id` and `name`")
    out: dict[str, dict[str, Any]] = {}
    for i, item in enumerate(raw, start=1):
        path = f"affiliations[{i}]"
        item = _mapping(item, where, path, _AFFILIATION_KEYS)
        aff_id = item.get("id")
        if not isinstance(aff_id, str) or not _ID.match(aff_id):
            raise ConfigError(f"{where}: {path}.id: expected an identifier such as `haem` (a letter, then letters, "
                              f"digits, - or _), got {aff_id!r}")
        if aff_id in out:
            raise ConfigError(f"{where}: {path}.id: `{aff_id}` is used by another affiliation already")
        fields = {k: _text(item.get(k), where, f"{path}.{k}", required=(k == "name"))
                  for k in _AFFILIATION_KEYS if k != "id"}
        out[aff_id] = fields
    return out


def _author(item: Any, i: int, where: str, known: dict[str, dict[str, Any]]) -> Author:
    path = f"authors[{i}]"
    item = _mapping(item, where, path, _AUTHOR_KEYS)
    name = _text(item.get("name"), where, f"{path}.name", required=True)
    orcid = item.get("orcid")
    if orcid is not None:
        orcid = str(orcid).strip()
        if not _ORCID.match(orcid):
            raise ConfigError(f'{where}: {path}.orcid: "{orcid}" is not an ORCID iD; expected four groups of four '
                              "digits such as 0000-0002-1825-0097 (the last may be X)")
        if not valid_orcid(orcid):
            raise ConfigError(f'{where}: {path}.orcid: checksum fails for "{orcid}" (ISO 7064 MOD 11-2 gives check '
                              f'character {orcid_check_digit(orcid.replace("-", "")[:15])})')
    email = _text(item.get("email"), where, f"{path}.email")
    if email is not None and not _EMAIL.match(email):
        raise ConfigError(f'{where}: {path}.email: "{email}" is not an email address')
    corresponding = _flag(item.get("corresponding"), where, f"{path}.corresponding")
    if corresponding and email is None:
        raise ConfigError(f"{where}: {path}: {name} is the corresponding author but has no `email`; "
                          "a corresponding author needs one")
    affs = item.get("affiliations") or []
    if isinstance(affs, str):
        affs = [affs]
    if not isinstance(affs, list):
        raise ConfigError(f"{where}: {path}.affiliations: expected a list of affiliation ids, got {affs!r}")
    for j, aff in enumerate(affs, start=1):
        if aff not in known:
            raise ConfigError(f"{where}: {path}.affiliations[{j}]: no affiliation has id {aff!r}; "
                              f"defined ids: {', '.join(known) or 'none (add an `affiliations:` list)'}")
    roles = item.get("contributions") or []
    if not isinstance(roles, list):
        raise ConfigError(f"{where}: {path}.contributions: expected a list of CRediT roles, got {roles!r}")
    credit = tuple(_role(r, where, f"{path}.contributions[{j}]") for j, r in enumerate(roles, start=1))
    return Author(name=name, affiliations=tuple(affs), orcid=orcid, email=email, corresponding=corresponding,
                  equal_contributor=_flag(item.get("equal_contributor"), where, f"{path}.equal_contributor"),
                  contributions=credit)


def _pair(raw: Any, where: str, path: str, keys: tuple[str, str]) -> dict[str, str] | None:
    if raw is None:
        return None
    raw = _mapping(raw, where, path, keys)
    return {k: _text(raw.get(k), where, f"{path}.{k}", required=True) for k in keys}


def load_front_matter(config: dict[str, Any], where: str = "study.yaml") -> FrontMatter:
    """Validate the front-matter settings of a study's config; ``where`` names the file in errors."""
    known = _affiliations(config.get("affiliations"), where)
    raw_authors = config.get("authors")
    if raw_authors is None:
        raw_authors = []
    if not isinstance(raw_authors, list):
        raise ConfigError(f"{where}: authors: expected a list of authors, each with at least a `name`")
    authors = tuple(_author(a, i, where, known) for i, a in enumerate(raw_authors, start=1))
    # Affiliations are numbered in the order the authors first cite them, as journals do;
    # any never cited follow in the order written.
    order = [a for author in authors for a in author.affiliations]
    order = list(dict.fromkeys(order + list(known)))
    affiliations = tuple(Affiliation(id=a, number=n, **known[a]) for n, a in enumerate(order, start=1))
    return FrontMatter(
        authors=authors,
        affiliations=affiliations,
        funding=_text(config.get("funding"), where, "funding"),
        conflicts_of_interest=_text(config.get("conflicts_of_interest"), where, "conflicts_of_interest"),
        registration=_pair(config.get("trial_registration"), where, "trial_registration", ("registry", "id")),
        ethics=_pair(config.get("ethics"), where, "ethics", ("committee", "reference")),
        data_availability=_text(config.get("data_availability"), where, "data_availability"),
        placeholder=_flag(config.get("front_matter_placeholder"), where, "front_matter_placeholder"),
    )


def quarto_metadata(front: FrontMatter) -> dict[str, Any]:
    """The ``author:`` and ``affiliations:`` blocks of Quarto's author/affiliation schema.

    Keys as Quarto documents them (https://quarto.org/docs/journals/authors.html): each author
    has ``name``, ``orcid``, ``email``, ``corresponding``, ``equal-contributor``, ``roles`` and
    ``affiliations: [{ref: id}]``; the top-level ``affiliations`` carry ``id`` and ``name``.
    Strings are returned as they are; the caller escapes them for YAML and markdown.
    """
    authors = []
    for a in front.authors:
        entry: dict[str, Any] = {"name": a.name}
        if a.orcid:
            entry["orcid"] = a.orcid
        if a.email:
            entry["email"] = a.email
        if a.corresponding:
            entry["corresponding"] = True
        if a.equal_contributor:
            entry["equal-contributor"] = True
        if a.contributions:
            entry["roles"] = list(a.contributions)
        if a.affiliations:
            entry["affiliations"] = [{"ref": i} for i in a.affiliations]
        authors.append(entry)
    affiliations = []
    for f in front.affiliations:
        entry = {"id": f.id, "name": f.name}
        for key in ("department", "city", "country"):
            if getattr(f, key):
                entry[key] = getattr(f, key)
        affiliations.append(entry)
    out: dict[str, Any] = {}
    if authors:
        out["author"] = authors
    if affiliations:
        out["affiliations"] = affiliations
    return out


def front_matter_yaml(front: FrontMatter) -> str:
    """:func:`quarto_metadata` as YAML lines for the ``.qmd`` front matter ("" when empty).

    pandoc and Quarto read metadata strings as markdown, so names and affiliations are
    markdown-escaped; identifiers (ids, ORCID iDs, emails) are validated to be markup-free.
    """
    import yaml

    from analysis.markup import Markdown, md_escape

    def escape(node: Any, key: str | None = None) -> Any:
        if isinstance(node, dict):
            return {k: escape(v, k) for k, v in node.items()}
        if isinstance(node, list):
            return [escape(v, key) for v in node]
        if isinstance(node, str) and key not in ("id", "ref", "orcid", "email"):
            return md_escape(node)
        return node

    meta = quarto_metadata(front)
    if not meta:
        return ""
    # Markdown: already escaped, so the template prints it as it is
    return Markdown(yaml.safe_dump(escape(meta), allow_unicode=True, sort_keys=False, width=1000).rstrip("\n"))
