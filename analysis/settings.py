"""The settings of ``study.yaml``: one declarative table, checked when a study is loaded.

Each :class:`Setting` names a path in study.yaml (``statistics.alpha``; ``[]`` stands for
every item of a list, ``<name>`` for every key of a mapping), its type, its default, the
values or range it allows and what it does. :data:`SETTINGS` is the whole table: the
loader checks against it, and the user guide's reference of settings is generated from it.

A bad value stops the load with one message naming the file, the setting, the value and
what is allowed, e.g. ``data/x/study.yaml: `statistics.alpha`: got 'high'; expected a
number greater than 0 and less than 1``. Unknown keys in a closed block (``style``,
``statistics.categorical_rule``, a column) are refused; in an open block (the top level,
``statistics``) a key that looks like a misspelt setting is refused with a suggestion, and
other keys are left to the study script or another module that owns them.

This module imports neither pandas nor numpy, so ``list`` and ``--help`` stay fast.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass
from typing import Any

from analysis.errors import ConfigError

__all__ = ["REQUIRED", "SETTINGS", "TYPES", "Setting", "alpha", "check_mapping", "check_value", "configured", "setting",
           "validate_config"]

#: Marker default of a setting that must be given.
REQUIRED = "(required)"

#: The value types a setting may have, with how a message describes each.
TYPES = {
    "text": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "choice": "one of",
    "date": "a date YYYY-MM-DD",
    "regex": "a regular expression",
    "mapping": "a mapping (key: value)",
    "list": "a list",
    "text list": "a list of text",
    "expression list": "a list of check expressions",
    "grade bands": "a list of [label, lowest grade, highest grade]",
    "any": "any value",
}


@dataclass(frozen=True)
class Setting:
    """One setting of study.yaml.

    ``minimum``/``maximum`` bound numbers (``exclusive`` makes both bounds strict);
    ``allowed`` lists the values of a ``choice``; ``closed`` on a mapping refuses keys that
    are not declared settings below it.
    """

    path: str
    type: str
    description: str
    default: Any = None
    allowed: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive: bool = False
    closed: bool = False

    def expected(self) -> str:
        """What a valid value looks like, in words, for messages and the docs."""
        if self.type == "choice":
            return "one of " + ", ".join(repr(a) for a in self.allowed or ())
        text = TYPES[self.type]
        if self.minimum is not None and self.maximum is not None:
            if self.exclusive:
                text += f" greater than {_num(self.minimum)} and less than {_num(self.maximum)}"
            else:
                text += f" from {_num(self.minimum)} to {_num(self.maximum)}"
        elif self.minimum is not None:
            text += f" {'greater than' if self.exclusive else 'of at least'} {_num(self.minimum)}"
        elif self.maximum is not None:
            text += f" {'less than' if self.exclusive else 'of at most'} {_num(self.maximum)}"
        return text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


_S = Setting
_STYLE = "style"
SETTINGS: tuple[Setting, ...] = (
    # -- the study ----------------------------------------------------------------------
    _S("id", "text", "The study's id; must equal its folder name under data/.", REQUIRED),
    _S("title", "text", "The manuscript's title.", REQUIRED),
    _S("script", "text", "The analysis script, relative to the project folder "
       "(default: analysis/studies/<id>.py).", None),
    _S("synthetic", "mapping", "The synthetic-data statement (`statement`, `generator`, `seed`).", None),
    _S("source", "mapping", "The published paper a study rebuilds (`citation`, `doi`, `file`).", None),
    _S("arms", "list", "Treatment arms: each `{code, label, short}`; `code` as in the data.", []),
    _S("arms[].code", "any", "The arm's code as it appears in the data.", REQUIRED),
    _S("arms[].label", "text", "The arm's name in tables.", REQUIRED),
    _S("arms[].short", "text", "The arm's short name in prose.", None),
    _S("groups", "mapping", "Comparison groups of a single-arm study, each a `column` and its `levels`.", None),
    _S("protocol", "mapping", "Protocol facts (doses, days, dates); each scalar is a citable "
       "value `protocol.<name>`.", {}),
    _S("value_labels", "mapping", "Reader labels of data codes: `column: {code: label}`.", {}),
    _S("keywords", "text list", "Keywords of the manuscript.", None),
    # -- front matter and declarations (their content is checked by analysis.frontmatter) -
    _S("authors", "list", "Authors: `name`, `orcid`, `email`, `affiliations` (ids), `corresponding`, "
       "`equal_contributor`, `contributions` (CRediT roles); see analysis.frontmatter.", None),
    _S("affiliations", "list", "Affiliations: `id`, `department`, `name`, `city`, `country`.", None),
    _S("funding", "text", "The funding statement.", None),
    _S("conflicts_of_interest", "text", "The conflicts-of-interest statement.", None),
    _S("trial_registration", "mapping", "Trial registration: `registry` and `id`.", None),
    _S("ethics", "mapping", "Ethics approval: `committee` and `reference`.", None),
    _S("data_availability", "text", "The data-availability statement.", None),
    _S("front_matter_placeholder", "boolean", "The names in the front matter are invented: say so in print.",
       False),
    _S("checklist", "choice", "A reporting checklist whose missing items fail the build.", None,
       allowed=("consort", "strobe")),
    _S("journal", "mapping", "The journal's limits.", None),
    _S("journal.abstract_words", "integer", "Most words in the abstract; more fails the build.", None,
       minimum=1),
    _S("journal.main_words", "integer", "Most words in the main text; more fails the build.", None, minimum=1),
    _S("render", "mapping", "Rendering options.", None, closed=True),
    _S("render.line_numbers", "boolean", "Number the lines of the DOCX, for review.", False),
    # -- number style ---------------------------------------------------------------------
    _S("style", "mapping", "The journal's number style.", {}, closed=True),
    _S("style.p_digits", "integer", "Decimals of a P value.", 3, minimum=1, maximum=6),
    _S("style.pct_digits", "integer", "Decimals of a percentage.", 1, minimum=0, maximum=6),
    _S("style.stat_digits", "integer", "Decimals of a test statistic.", 3, minimum=0, maximum=6),
    _S("style.ratio_digits", "integer", "Decimals of a ratio (HR, OR) and its CI.", 2, minimum=0, maximum=6),
    _S("style.ci_separator", "text", "Between the bounds of an interval.", "–"),
    _S("style.pm", "text", "Between a mean and its SD.", " ± "),
    _S("style.pct_sign_in_n_pct", "boolean", "Print `%` in `n (%)` cells.", False),
    _S("style.nr", "text", "Printed for a median or bound not reached.", "NR"),
    _S("style.minus", "text", "The minus sign.", "−"),
    # -- statistics -----------------------------------------------------------------------
    _S("statistics", "mapping", "Statistics settings; a study script may read keys of its own.", {}),
    _S("statistics.alpha", "number", "Significance level of the wording helpers and Methods.", 0.05,
       minimum=0, maximum=1, exclusive=True),
    _S("statistics.t_test", "choice", "Two-sample t-test: Student's (equal variances) or Welch's.",
       "student", allowed=("student", "welch")),
    _S("statistics.categorical_rule", "mapping", "How categorical comparisons choose their test.", {},
       closed=True),
    _S("statistics.categorical_rule.fisher_below", "number",
       "Fisher's exact test when any expected count is below this; else Pearson's chi-square.", 5,
       minimum=0),
    _S("statistics.categorical_rule.force", "choice", "Use one test for every table.", None,
       allowed=("pearson", "fisher")),
    _S("statistics.categorical_rule.mc_samples", "integer",
       "Tables simulated for a Monte Carlo Fisher P when a table is too large to enumerate (R's `B`).",
       100_000, minimum=100),
    _S("statistics.categorical_rule.mc_seed", "integer", "Seed of the Monte Carlo Fisher P (same seed, same P).",
       20240101, minimum=0),
    _S("statistics.categorical_rule.audit_fisher", "boolean",
       "Also store Fisher's P beside rows tested by Pearson's chi-square (`<row>.fisher_p`), for an audit.",
       False),
    _S("statistics.categorical_test", "text", "The categorical test in words (informative).", None),
    _S("statistics.survival_conf_type", "choice",
       "Confidence interval of Kaplan-Meier medians: R's `conf.type`.", "log",
       allowed=("log", "log-log", "plain")),
    _S("statistics.landmark_years", "integer", "Landmark of the survival tables, in years.", 3,
       minimum=1, maximum=100),
    _S("statistics.ae_grade_bands", "grade bands", "Adverse-event grade bands of the AE table.",
       [["1–2", 1, 2], ["3–4", 3, 4]]),
    _S("statistics.age_cut", "number", "Age cut point of the age subgroups (years).", None, minimum=0),
    _S("statistics.meta", "mapping", "Meta-analysis settings.", {}),
    _S("statistics.meta.model_rule", "mapping", "Which pooled model to report.", {}, closed=True),
    _S("statistics.meta.model_rule.q_p_above", "number",
       "Fixed effect when Cochran's Q P value is above this (and I² below `i2_below`).", 0.1,
       minimum=0, maximum=1),
    _S("statistics.meta.model_rule.i2_below", "number", "Fixed effect when I² (%) is below this.", 50,
       minimum=0, maximum=100),
    _S("statistics.meta.model_rule.force", "choice", "Report one model whatever the heterogeneity.",
       None, allowed=("fixed", "random")),
    _S("statistics.meta.binary_method", "choice", "Pooling of 2x2 counts.", "mantel_haenszel",
       allowed=("mantel_haenszel",)),
    _S("statistics.meta.ratio_method", "choice", "Pooling of published ratios with CIs.",
       "inverse_variance", allowed=("inverse_variance",)),
    _S("statistics.response", "mapping", "Response settings.", {}),
    _S("statistics.response.orr_categories", "text list", "Response categories counted in the ORR.",
       ["CR", "VGPR", "PR"]),
    _S("statistics.response.orr_note", "text", "Why the ORR departs from IMWG, if it does.", None),
    _S("statistics.survival", "mapping", "Survival conventions in words (informative).", None),
    # -- the data dictionary --------------------------------------------------------------
    _S("data", "mapping", "The data dictionary: one entry per dataset (file).", REQUIRED),
    _S("data.<name>", "mapping", "One dataset.", REQUIRED, closed=True),
    _S("data.<name>.file", "text", "The data file, relative to the study folder "
       "(.csv, .tsv, .xlsx, .sav, .xpt, .sas7bdat, .dta).", REQUIRED),
    _S("data.<name>.description", "text", "What one row is.", None),
    _S("data.<name>.columns", "list", "The columns, in file order.", REQUIRED),
    _S("data.<name>.primary_key", "text", "A column unique in every row.", None),
    _S("data.<name>.unique", "text list", "Columns unique together.", []),
    _S("data.<name>.references", "mapping", "Foreign keys: `column: dataset.column`.", {}),
    _S("data.<name>.checks", "expression list",
       "Cross-column checks every record must pass, e.g. `pfs_months <= os_months`, "
       "`lower <= hr <= upper`, `enrolment_date >= protocol.enrolment.start`. Names are columns "
       "or `protocol.<fact>`; + - * /, comparisons (chains too), and/or/not. A date plus or "
       "minus a number counts days. A record with a missing value in the check is skipped.", []),
    _S("data.<name>.columns[]", "mapping", "One column.", REQUIRED, closed=True),
    _S("data.<name>.columns[].name", "text", "The column's header in the file.", REQUIRED),
    _S("data.<name>.columns[].type", "choice", "The column's type.", REQUIRED,
       allowed=("string", "integer", "number", "category", "date", "boolean")),
    _S("data.<name>.columns[].label", "text", "The column's label for readers.", "the name"),
    _S("data.<name>.columns[].unit", "text", "The unit of a measurement.", None),
    _S("data.<name>.columns[].allowed", "list", "The allowed values (required for a category).", None),
    _S("data.<name>.columns[].min", "any", "Smallest allowed value (a number, or a date for a date).", None),
    _S("data.<name>.columns[].max", "any", "Largest allowed value (a number, or a date for a date).", None),
    _S("data.<name>.columns[].pattern", "regex", "A regular expression every cell must match in full.", None),
    _S("data.<name>.columns[].nullable", "boolean", "Whether cells may be empty.", False),
    _S("data.<name>.columns[].description", "text", "What the column holds.", None),
)


def setting(path: str) -> Setting:
    """The setting declared at ``path`` (e.g. ``"statistics.alpha"``)."""
    for s in SETTINGS:
        if s.path == path:
            return s
    raise KeyError(path)


def configured(config: dict[str, Any], path: str) -> Any:
    """The value of the setting at ``path`` (dotted, e.g. ``"statistics.alpha"``) in a study's
    ``config``, or the default the setting declares when the study leaves it out: the one place
    a default is written down."""
    node: Any = config
    for part in path.split("."):
        if not isinstance(node, dict) or node.get(part) is None:
            return setting(path).default
        node = node[part]
    return node


def alpha(config: dict[str, Any]) -> float:
    """The study's significance level, ``statistics.alpha`` (0.05 unless set)."""
    return float(configured(config, "statistics.alpha"))


def check_value(spec: Setting, value: Any, where: str, path: str | None = None) -> None:
    """Raise :class:`ConfigError` unless ``value`` is valid for ``spec``.

    ``path`` is the concrete path for the message (``data.patients.columns[3].min``).
    """
    path = path or spec.path
    ok = _type_ok(spec, value)
    if ok and spec.type in ("integer", "number") and not _in_range(spec, value):
        ok = False
    if not ok:
        raise ConfigError(f"{where}: `{path}`: got {_show(value)}; expected {spec.expected()}")
    if spec.type == "regex":
        try:
            re.compile(value)
        except re.error as exc:
            raise ConfigError(f"{where}: `{path}`: got {_show(value)}, not a valid regular expression "
                              f"({exc}); expected {spec.expected()}") from None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _type_ok(spec: Setting, value: Any) -> bool:
    kind = spec.type
    if kind == "any":
        return True
    if kind in ("text", "regex"):
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "choice":
        return any(value == a and type(value) is type(a) for a in spec.allowed or ())
    if kind == "date":
        return isinstance(value, dt.date) or (isinstance(value, str) and _is_iso_date(value))
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind in ("text list", "expression list"):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "grade bands":
        return isinstance(value, list) and all(
            isinstance(b, list) and len(b) == 3 and isinstance(b[0], str)
            and all(isinstance(g, int) and not isinstance(g, bool) for g in b[1:]) and b[1] <= b[2]
            for b in value)
    raise ValueError(f"setting {spec.path}: unknown type {kind!r}")


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text))


def _in_range(spec: Setting, value: float) -> bool:
    lo, hi = spec.minimum, spec.maximum
    if spec.exclusive:
        return (lo is None or value > lo) and (hi is None or value < hi)
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _children(parent: str) -> list[Setting]:
    """Settings one level below ``parent`` ('' for the top level)."""
    out = []
    for s in SETTINGS:
        head, _, last = s.path.rpartition(".")
        if s.path.endswith("[]"):
            continue
        if head == parent and not last.startswith("<"):
            out.append(s)
    return out


def _walk(config: dict[str, Any], parent: str, concrete: str, where: str) -> None:
    """Check every key of the mapping ``config`` found at ``parent``, recursively."""
    children = {s.path.rpartition(".")[2]: s for s in _children(parent)}
    parent_spec = next((s for s in SETTINGS if s.path == parent), None)
    for key, value in config.items():
        key_text = str(key)
        here = f"{concrete}.{key_text}" if concrete else key_text
        spec = children.get(key_text)
        if spec is None:
            _unknown(key_text, here, list(children), bool(parent_spec and parent_spec.closed), where)
            continue
        if value is None and spec.default is not REQUIRED:
            continue  # an empty entry means "the default"
        check_value(spec, value, where, here)
        if spec.type == "mapping" and _children(spec.path):
            _walk(value, spec.path, here, where)


def _unknown(key: str, path: str, known: list[str], closed: bool, where: str) -> None:
    # A closed block refuses any unknown key, so a loose suggestion costs nothing; an open one
    # refuses only near-certain misspellings (other modules and scripts own other keys).
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6 if closed else 0.8)
    if closed or close:
        hint = f" (did you mean `{close[0]}`?)" if close else ""
        raise ConfigError(f"{where}: unknown setting `{path}`{hint}; expected one of: {', '.join(sorted(known))}")


def validate_config(config: dict[str, Any], where: str) -> None:
    """Check the whole of a study.yaml against :data:`SETTINGS` (the dictionary of each
    dataset is checked by :mod:`analysis.schema` with the same table)."""
    _walk({k: v for k, v in config.items() if k != "data"}, "", "", where)
    for name in ("id", "title", "data"):
        if name not in config:
            raise ConfigError(f"{where}: missing required setting `{name}` ({setting(name).description})")
    check_value(setting("data"), config["data"], where)
    for i, arm in enumerate(config.get("arms") or []):
        if not isinstance(arm, dict):
            raise ConfigError(f"{where}: `arms[{i}]`: got {_show(arm)}; expected a mapping with `code` and `label`")
        for field_name in ("code", "label"):
            if field_name not in arm:
                what = setting(f"arms[].{field_name}").description
                raise ConfigError(f"{where}: `arms[{i}]` needs `{field_name}` ({what})")
        for field_name, value in arm.items():
            try:
                spec = setting(f"arms[].{field_name}")
            except KeyError:
                _unknown(str(field_name), f"arms[{i}].{field_name}", ["code", "label", "short"], True, where)
                continue
            check_value(spec, value, where, f"arms[{i}].{field_name}")


def check_mapping(data: Any, path: str, concrete: str, where: str) -> None:
    """Check one dataset or column mapping of the data dictionary against its settings."""
    spec = setting(path)
    check_value(spec, data, where, concrete)
    known = {s.path[len(path) + 1:]: s for s in SETTINGS
             if s.path.startswith(path + ".") and "." not in s.path[len(path) + 1:].replace("[]", "")
             and not s.path.endswith("[]")}
    for key, value in data.items():
        sub = known.get(str(key))
        if sub is None:
            _unknown(str(key), f"{concrete}.{key}", list(known), spec.closed, where)
            continue
        if value is None and sub.default is not REQUIRED:
            continue
        check_value(sub, value, where, f"{concrete}.{key}")
    for key, sub in known.items():
        if sub.default is REQUIRED and key not in data:
            raise ConfigError(f"{where}: `{concrete}` needs `{key}` ({sub.description})")
