"""Reporting checklists and word counts that fail the build, as the lint does for typed numbers.

``checklist: consort`` (randomised trials) or ``checklist: strobe`` (observational studies) in
``study.yaml`` names the reporting guideline the manuscript follows. Each item of the guideline
that the project can check mechanically is checked against the study's settings, front matter,
results and generated manuscript; a build with an item missing fails with
:class:`~analysis.errors.ChecklistError` naming every missing item and how to supply it.

Word counts are computed from the generated manuscript (pandoc's reading of it, so markup,
citations, tables, figures and headings do not count): the abstract and the main text (the
numbered sections, Introduction to Conclusion). ``journal: {abstract_words: 250, main_words:
3500}`` in ``study.yaml`` fails the build when a count exceeds its limit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analysis.errors import ChecklistError, ConfigError
from analysis.frontmatter import FrontMatter
from analysis.results import ResultsStore

__all__ = ["CHECKLISTS", "ChecklistItem", "Manuscript", "WordCounts", "check_checklist",
           "check_word_limits", "count_words", "missing_items", "word_counts"]


@dataclass(frozen=True)
class WordCounts:
    """Words in the abstract and in the main text of a generated manuscript."""

    abstract: int
    main: int


@dataclass(frozen=True)
class Manuscript:
    """What a checklist item may look at: settings, front matter, results and generated text."""

    config: dict[str, Any]
    front: FrontMatter
    store: ResultsStore
    text: str

    def protocol_has(self, *path: str) -> bool:
        """Whether ``protocol.<path>`` is set (to anything but an empty value)."""
        node: Any = self.config.get("protocol") or {}
        for part in path:
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return node not in (None, "", [], {})

    def protocol_mentions(self, key: str) -> bool:
        """Whether a setting named ``key`` appears anywhere under ``protocol:``."""
        def walk(node: Any) -> bool:
            if isinstance(node, dict):
                return any((k == key and v not in (None, "", [], {})) or walk(v) for k, v in node.items())
            if isinstance(node, list):
                return any(walk(v) for v in node)
            return False
        return walk(self.config.get("protocol") or {})

    def cites_figure(self, fig_id: str) -> bool:
        """Whether the figure exists and the text cross-references it."""
        return fig_id in self.store.figures and f"@{fig_id}" in self.text


@dataclass(frozen=True)
class ChecklistItem:
    """One checkable item: its number in the guideline, what it asks, how to supply it."""

    number: str
    name: str
    fix: str
    present: Callable[[Manuscript], bool]


def _title_says_randomised(m: Manuscript) -> bool:
    return "randomised" in m.config.get("title", "").lower() or "randomized" in m.config.get("title", "").lower()


CONSORT: tuple[ChecklistItem, ...] = (
    ChecklistItem("1a", "identification as a randomised trial in the title",
                  "put \"randomised\" in `title`", _title_says_randomised),
    ChecklistItem("1b", "structured abstract", "the templates need an `::: {.abstract}` block",
                  lambda m: "::: {.abstract}" in m.text),
    ChecklistItem("3a", "trial design", "set `protocol.design`", lambda m: m.protocol_has("design")),
    ChecklistItem("4a", "eligibility criteria", "set `protocol.eligibility`", lambda m: m.protocol_has("eligibility")),
    ChecklistItem("6a", "primary outcome", "set `protocol.primary_endpoint`",
                  lambda m: m.protocol_has("primary_endpoint")),
    ChecklistItem("8a", "randomisation method", "set `protocol.randomisation`",
                  lambda m: m.protocol_has("randomisation")),
    ChecklistItem("13a", "participant flow diagram", "add figure `fig-consort` (analysis.figures.consort) and "
                  "cite it as @fig-consort", lambda m: m.cites_figure("fig-consort")),
    ChecklistItem("16", "number of participants analysed in each group",
                  "add the flow counts (analysis.consort.add_consort)",
                  lambda m: any(k.startswith("consort.analysed.") for k in m.store)),
    ChecklistItem("23", "trial registration (registry and number)", "set `trial_registration: {registry, id}`",
                  lambda m: m.front.registration is not None),
    ChecklistItem("25", "sources of funding", "set `funding`", lambda m: m.front.funding is not None),
    ChecklistItem("ethics", "ethics approval (committee and reference)", "set `ethics: {committee, reference}`",
                  lambda m: m.front.ethics is not None),
)

STROBE: tuple[ChecklistItem, ...] = (
    ChecklistItem("1a", "study design", "set `protocol.design`", lambda m: m.protocol_has("design")),
    ChecklistItem("5", "setting and dates of recruitment", "set `protocol.setting` and `protocol.enrolment`",
                  lambda m: m.protocol_has("setting") and m.protocol_has("enrolment")),
    ChecklistItem("6a", "eligibility criteria", "set `protocol.eligibility`", lambda m: m.protocol_has("eligibility")),
    ChecklistItem("8", "data sources", "set a `data_source` under `protocol:` for each data set",
                  lambda m: m.protocol_mentions("data_source")),
    ChecklistItem("12a", "statistical methods", "add the methods values (analysis.methods.add_methods_values)",
                  lambda m: "methods.alpha" in m.store),
    ChecklistItem("22", "sources of funding", "set `funding`", lambda m: m.front.funding is not None),
    ChecklistItem("ethics", "ethics approval (committee and reference)", "set `ethics: {committee, reference}`",
                  lambda m: m.front.ethics is not None),
)

#: The checklists ``study.yaml``'s ``checklist:`` may name, with their mechanically checked items.
CHECKLISTS: dict[str, tuple[ChecklistItem, ...]] = {"consort": CONSORT, "strobe": STROBE}


def missing_items(name: str, manuscript: Manuscript, where: str = "study.yaml") -> list[ChecklistItem]:
    """The items of checklist ``name`` the manuscript lacks."""
    if name not in CHECKLISTS:
        raise ConfigError(f"{where}: checklist: unknown checklist {name!r}; choose one of: {', '.join(CHECKLISTS)}")
    return [item for item in CHECKLISTS[name] if not item.present(manuscript)]


def check_checklist(manuscript: Manuscript, where: str = "study.yaml") -> list[ChecklistItem]:
    """Raise :class:`ChecklistError` naming every missing item of the declared checklist.

    Returns the checked items (none when no ``checklist:`` is declared).
    """
    name = manuscript.config.get("checklist")
    if name is None:
        return []
    missing = missing_items(str(name), manuscript, where)
    if missing:
        label = str(name).upper()
        lines = [f"  {label} {i.number}: {i.name} is missing; {i.fix}" for i in missing]
        raise ChecklistError(f"{where}: checklist {name}: {len(missing)} required item(s) missing\n" + "\n".join(lines))
    return list(CHECKLISTS[str(name)])


def check_word_limits(counts: WordCounts, config: dict[str, Any], where: str = "study.yaml") -> None:
    """Raise :class:`ChecklistError` when a count exceeds ``journal.abstract_words`` or ``journal.main_words``."""
    journal = config.get("journal") or {}
    if not isinstance(journal, dict):
        raise ConfigError(f"{where}: journal: expected a mapping such as {{abstract_words: 250, main_words: 3500}}")
    problems = []
    for key, label, count in (("abstract_words", "the abstract", counts.abstract),
                              ("main_words", "the main text", counts.main)):
        limit = journal.get(key)
        if limit is None:
            continue
        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ConfigError(f"{where}: journal.{key}: expected a positive whole number of words, got {limit!r}")
        if count > limit:
            problems.append(f"  {label} has {count} words; the limit (journal.{key}) is {limit}")
    if problems:
        raise ChecklistError(f"{where}: word limit exceeded\n" + "\n".join(problems))


# -- word counts ---------------------------------------------------------------------------
_SKIP_BLOCKS = {"Table", "Figure", "CodeBlock", "RawBlock", "Header", "HorizontalRule"}
_SKIP_INLINES = {"Cite", "Image", "Note", "RawInline", "Code", "Math"}


def _words(node: Any) -> int:
    """Words in a pandoc JSON AST node: Str tokens with a letter or digit, outside skipped elements."""
    if isinstance(node, list):
        return sum(_words(n) for n in node)
    if not isinstance(node, dict):
        return 0
    kind = node.get("t")
    if kind in _SKIP_BLOCKS or kind in _SKIP_INLINES:
        return 0
    if kind == "Str":
        return 1 if any(ch.isalnum() for ch in node["c"]) else 0
    content = node.get("c")
    if kind == "Div" and "table-notes" in content[0][1]:
        return 0  # a table's notes belong to the table
    if kind in ("Span", "Div"):
        content = content[1]  # skip the attributes
    return _words(content)


def _classes(block: dict[str, Any]) -> list[str]:
    return block["c"][0][1] if block.get("t") in ("Div", "Header") else []


def _section_blocks(blocks: list[Any]) -> tuple[list[Any], list[Any]]:
    """The abstract's blocks and the main text's blocks (under numbered level-1 headings)."""
    abstract: list[Any] = []
    main: list[Any] = []
    in_main = False
    for block in blocks:
        if block.get("t") == "Header" and block["c"][0] == 1:
            in_main = "unnumbered" not in block["c"][1][1]
            continue
        if block.get("t") == "Div" and "abstract" in _classes(block):
            abstract.extend(block["c"][1])
            continue
        if block.get("t") == "Div" and "section" in _classes(block):
            # --section-divs style input: recurse into the section
            sub_abstract, sub_main = _section_blocks(block["c"][1])
            abstract.extend(sub_abstract)
            main.extend(sub_main)
            continue
        if in_main:
            main.append(block)
    return abstract, main


def word_counts(ast: dict[str, Any]) -> WordCounts:
    """Words of the abstract and of the main text of a manuscript as pandoc's reader gives it
    (its JSON AST, before any filter). A build takes the AST from its first pandoc call
    (:func:`analysis.render.render`'s ``on_read``) instead of reading the manuscript again."""
    abstract, main = _section_blocks(ast["blocks"])
    return WordCounts(abstract=_words(abstract), main=_words(main))


def count_words(markdown: str) -> WordCounts:
    """Words of the abstract and of the main text, as pandoc reads the generated manuscript
    (a :class:`analysis.render.SourceReading` of it)."""
    from analysis.render import SourceReading

    reading = SourceReading(markdown)
    try:
        return word_counts(reading.ast())
    finally:
        reading.close()
