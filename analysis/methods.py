"""What the Methods section must state, read from what the engine actually did.

The statistics paragraph of a manuscript is generated from these values: which test rule
was applied, which rows fell back to Fisher's exact test (exact or Monte Carlo), which t-test
was set, and the list of tests the tables actually used (``methods.tests``, read from each
row's ``<row>.test`` value). Changing the data (and so the expected counts) changes the
paragraph with the tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.results import ResultsStore
from analysis.settings import alpha as settings_alpha
from analysis.stats.contingency import CategoricalRule
from analysis.study import Study

__all__ = ["add_methods_values", "add_significance_summary", "fisher_rows", "used_tests"]

_T_LABELS = {"student": "Student's t-test (equal variances)", "welch": "Welch's t-test (unequal variances)"}
#: How a row's test label reads in the Methods (labels not listed read as they are).
_PROSE = {
    "Pearson chi-square": "Pearson's chi-square test without continuity correction",
    "Student's t-test": "Student's t-test (equal variances)",
    "Welch's t-test": "Welch's t-test (unequal variances)",
    "one-way ANOVA": "one-way analysis of variance",
}


def _row_label(store: ResultsStore, key: str) -> str | None:
    """The stub label of the table row holding the cell ``key``."""
    for table in store.tables.values():
        for row in table["rows"]:
            if any(cell.get("key") == key for cell in row["cells"].values()):
                return row["label"]
    return None


def fisher_rows(store: ResultsStore, prefixes: Sequence[str]) -> list[str]:
    """Row labels (for prose) of tests under ``prefixes`` that used Fisher's exact test, in
    order; a label tested in several tables appears once, with the number of tables."""
    labels: list[str] = []
    for key in store:
        if key.endswith(".test") and key.split(".")[0] in prefixes and "Fisher" in str(store[key].raw):
            label = _row_label(store, key[: -len(".test")] + ".p")
            if label:
                labels.append(label if label[:2].isupper() else label[0].lower() + label[1:])
    out = []
    for label in dict.fromkeys(labels):
        times = labels.count(label)
        out.append(label if times == 1 else f"{label} (in {times} comparisons)")
    return out


def used_tests(store: ResultsStore, prefixes: Sequence[str]) -> list[str]:
    """The tests the rows under ``prefixes`` used, in words for the Methods, each once, in
    the store's key order ("Pearson's chi-square test without continuity correction", "Fisher's
    exact test, Monte Carlo P (100,000 simulated tables, seed 20240101)", "Wilcoxon rank-sum
    test (exact)", ...). Rows not tested are left out."""
    out: list[str] = []
    for key in store:
        if key.endswith(".test") and key.split(".")[0] in prefixes and store[key].kind == "text":
            label = str(store[key].raw)
            if label.startswith("not tested"):
                continue
            label = _PROSE.get(label, label)
            if label not in out:
                out.append(label)
    return out


def add_significance_summary(
    store: ResultsStore, prefix: str, study: Study, names: Mapping[str, str] | None = None
) -> None:
    """Store ``<prefix>.significant_count`` and the row labels of the significant tests as
    ``<prefix>.significant_rows.<i>``, so prose can say which comparisons differed.

    ``names`` maps a row's key segment (``age`` of ``table1.age.p``) to the short name prose
    uses ("age", not the row label "Age, years"); rows not in it keep their label."""
    alpha = settings_alpha(study.config)
    labels = []
    for key in store:
        if key.startswith(prefix + ".") and key.endswith(".p") and store[key].kind == "p" and store[key].raw < alpha:
            segment = key[len(prefix) + 1: -len(".p")]
            label = (names or {}).get(segment) or _row_label(store, key)
            if label:
                labels.append(label if label[:2].isupper() else label[0].lower() + label[1:])
    src = {"test": f"tests under `{prefix}` with P below {alpha:g}"}
    store.add(f"{prefix}.significant_count", len(labels), "int", **src)
    for i, label in enumerate(labels):
        store.add(f"{prefix}.significant_rows.{i}", label, "text", **src)


def add_methods_values(
    store: ResultsStore,
    study: Study,
    rule: CategoricalRule,
    t_method: str,
    conf_type: str,
    tables: Sequence[str],
) -> None:
    """Store ``methods.*``: the rule, the Fisher rows, the t-test, the CI scale, alpha,
    ``methods.tests.<i>`` / ``methods.tests_count``: every test the ``tables`` used
    (:func:`used_tests`), and ``methods.fisher_mc_count``: how many Fisher tests had a Monte
    Carlo P (tables too large to enumerate); when any did, ``methods.fisher_mc_samples`` and
    ``methods.fisher_mc_seed`` say how it was simulated, for a sentence such as
    "P values of larger tables were estimated from {{ methods.fisher_mc_samples }} simulated
    tables (seed {{ methods.fisher_mc_seed }})"."""
    note = {"note": "the engine's choices during this analysis"}
    store.add("methods.categorical_rule", rule.describe(), "text", **note)
    used = used_tests(store, tables)
    store.add("methods.tests_count", len(used), "int", **note)
    for i, label in enumerate(used):
        store.add(f"methods.tests.{i}", label, "text", **note)
    rows = fisher_rows(store, tables)
    store.add("methods.fisher_count", len(rows), "int", **note)
    for i, label in enumerate(rows):
        store.add(f"methods.fisher_rows.{i}", label, "text", **note)
    mc = [key for key in store if key.endswith(".test") and key.split(".")[0] in tables
          and store[key].kind == "text" and "Monte Carlo" in str(store[key].raw)]
    store.add("methods.fisher_mc_count", len(mc), "int", **note)
    if mc:
        store.add("methods.fisher_mc_samples", rule.mc_samples, "int", **note)
        store.add("methods.fisher_mc_seed", rule.mc_seed, "int", **note)
    store.add("methods.t_test", _T_LABELS.get(t_method, t_method), "text", **note)
    store.add("methods.km_conf_type", {"log": "log", "log-log": "log-log", "plain": "linear"}[conf_type],
              "text", **note)
    alpha = settings_alpha(study.config)
    store.add("methods.alpha", alpha, "num", digits=len(repr(alpha).split(".")[1]), **note)
    store.add("methods.ci_level", 95, "int", **note)
