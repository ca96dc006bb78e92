"""MkDocs hooks of the user guide.

* Every public function, class, method and property of the documented modules must have a
  docstring: a missing one is a warning, so ``mkdocs build --strict`` fails on it.
* ``<!-- settings -->`` in a page is replaced by the table of every study.yaml setting,
  generated from :mod:`analysis.settings` (type, default, allowed values, what it does).
* ``<!-- value-kinds -->`` is replaced by the results store's value kinds
  (:data:`analysis.formatting.FORMAT_KINDS`) with an example of each, printed by the formatter.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("mkdocs.plugins.analysis_docs")

#: Modules of the Python API reference: each public object in them needs a docstring.
DOCUMENTED = (
    "analysis.context", "analysis.new", "analysis.notebook", "analysis.study", "analysis.results",
    "analysis.formatting", "analysis.templating", "analysis.schema", "analysis.errors",
    "analysis.tables.baseline", "analysis.tables.response", "analysis.tables.comparison",
    "analysis.tables.survival", "analysis.tables.adverse", "analysis.tables.scores", "analysis.tables.meta",
    "analysis.tables.model", "analysis.figures.km", "analysis.figures.kmdata", "analysis.figures.forest",
    "analysis.figures.scores",
    "analysis.stats.contingency", "analysis.stats.ttest", "analysis.stats.survival", "analysis.stats.meta",
    "analysis.stats.descriptive", "analysis.stats.nonparametric", "analysis.stats.cox", "analysis.stats.logistic",
    "analysis.stats.regression", "analysis.tables.regression", "analysis.tables.subgroup", "analysis.methods",
    "analysis.trail", "analysis.diff", "analysis.revisions", "analysis.redline", "analysis.consistency",
    "analysis.extract", "analysis.textaudit", "analysis.claims", "analysis.audit", "analysis.figureworker",
    "analysis.stats.estimates",
)


def undocumented(modules: tuple[str, ...] = DOCUMENTED) -> list[str]:
    """Dotted paths of public objects of ``modules`` that have no docstring.

    Public: named in the module's ``__all__`` (or not starting with ``_`` when there is none);
    their public methods and properties too.
    """
    import griffe

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    package = griffe.load(ROOT / "analysis", search_paths=[str(ROOT)], docstring_parser=None)
    missing: list[str] = []
    for dotted in modules:
        try:
            module = package.get_member(dotted.split(".", 1)[1]) if "." in dotted else package
        except KeyError:
            continue  # a module not (yet) in this tree
        exports = module.exports
        for name, member in module.members.items():
            if member.is_alias or member.is_module:
                continue
            public = name in exports if exports is not None else not name.startswith("_")
            if not public or not (member.is_function or member.is_class):
                continue
            if not member.docstring:
                missing.append(member.path)
            if member.is_class:
                for sub_name, sub in member.members.items():
                    if sub_name.startswith("_") or sub.is_alias:
                        continue
                    is_property = sub.is_attribute and "property" in sub.labels
                    if (sub.is_function or is_property) and not sub.docstring:
                        missing.append(sub.path)
    return missing


def on_pre_build(config: Any, **_: Any) -> None:
    """Warn (an error under ``--strict``) for every public object without a docstring."""
    for path in undocumented():
        log.warning(f"public API without a docstring: {path}")


def settings_table() -> str:
    """The Markdown table of every study.yaml setting, from :mod:`analysis.settings`."""
    try:
        from analysis.settings import REQUIRED, SETTINGS
    except ImportError:  # before the settings module: the documented settings of the code
        return _fallback_settings()
    rows = ["| setting | type | default | allowed | what it does |", "|---|---|---|---|---|"]
    for s in SETTINGS:
        default = "required" if s.default == REQUIRED else ("–" if s.default is None else f"`{s.default!r}`")
        rows.append(f"| `{s.path}` | {s.type} | {default} | {_cell(s.expected())} | {_cell(s.description)} |")
    return "\n".join(rows)


def _fallback_settings() -> str:
    from dataclasses import fields

    from analysis.formatting import Style

    rows = ["| setting | type | default | allowed | what it does |", "|---|---|---|---|---|"]
    for f in fields(Style):
        rows.append(f"| `style.{f.name}` | {type(f.default).__name__} | `{f.default!r}` | – | number style |")
    known = [
        ("statistics.alpha", "number", "0.05", "0 < alpha < 1", "significance level of every test and wording"),
        ("statistics.t_test", "choice", "'student'", "'student', 'welch'", "two-sample t-test"),
        ("statistics.survival_conf_type", "choice", "'log'", "'log', 'log-log', 'plain'",
         "scale of the Kaplan-Meier median CI"),
        ("statistics.categorical_rule.fisher_below", "number", "5", "0 or more",
         "Fisher's exact test when an expected count is below this"),
        ("statistics.ae_grade_bands", "grade bands", "[['1–2', 1, 2], ['3–4', 3, 4]]", "[label, low, high]",
         "grade columns of the adverse-event table"),
    ]
    rows += [f"| `{p}` | {t} | `{d}` | {a} | {w} |" for p, t, d, a, w in known]
    return "\n".join(rows)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def value_kinds_table() -> str:
    """The value kinds of the results store, each with an example printed by the formatter."""
    from analysis.formatting import FORMAT_KINDS, format_value

    examples = {
        "int": (42, None), "num": (30.031, 2), "stat": (4.5877, None), "p": (0.0322, None), "pct": (0.325, None),
        "n_pct": ({"n": 13, "N": 40}, None), "mean_sd": ({"mean": 61.24, "sd": 8.05}, 1),
        "median_ci": ({"median": None, "lower": 63.0, "upper": None}, 1),
        "ratio_ci": ({"estimate": 0.712, "lower": 0.581, "upper": 0.873}, None),
        "text": ("Welch's t-test", None), "date": ("2014-01-01", None),
    }
    rows = ["| kind | raw value | example raw | printed |", "|---|---|---|---|"]
    for kind, what in FORMAT_KINDS.items():
        raw, digits = examples.get(kind, (None, None))
        shown = format_value(raw, kind, digits) if raw is not None else "–"
        rows.append(f"| `{kind}` | {_cell(what)} | `{raw!r}` | {_cell(shown)} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Fill the generated tables into the pages that ask for them."""
    if "<!-- settings -->" in markdown:
        markdown = markdown.replace("<!-- settings -->", settings_table())
    if "<!-- value-kinds -->" in markdown:
        markdown = markdown.replace("<!-- value-kinds -->", value_kinds_table())
    return markdown
