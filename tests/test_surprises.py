"""The surprises a new user met (issue #10, item 5), each pinned by a test."""

from __future__ import annotations

import pytest

from analysis.context import StudyContext
from analysis.errors import TemplateError
from analysis.formatting import Style, fmt_median_ci
from analysis.results import ResultsStore
from analysis.templating import render_text
from tests.test_context import ARMS, make_study


@pytest.fixture
def store() -> ResultsStore:
    s = ResultsStore("demo")
    s.add("pfs.logrank.p", 0.032, "p", test="log-rank test")
    s.add("os.logrank.p", 0.41, "p", test="log-rank test")
    s.add("pfs.hr.B", {"estimate": 0.71, "lower": 0.52, "upper": 0.97}, "ratio_ci")
    s.add("os.hr.B", {"estimate": 0.996, "lower": 0.7, "upper": 1.4}, "ratio_ci")
    s.add("orr.A", {"n": 13, "N": 40}, "n_pct")
    s.add("orr.B", {"n": 20, "N": 40}, "n_pct")
    s.add("age.A", {"mean": 61.04, "sd": 8.1}, "mean_sd", digits=1)
    s.add("age.B", {"mean": 60.96, "sd": 7.9}, "mean_sd", digits=1)
    s.add("pfs.median.B", "NR", "text")
    s.add("pfs.median.A", 30.031, "num", digits=2)
    s.add("pfs.median_ci.B", {"median": None, "lower": 63.0, "upper": None}, "median_ci", digits=1)
    return s


def show(source: str, store: ResultsStore) -> str:
    return render_text(source, store, plain=True)


def test_differs_without_the_p_value(store):
    assert show('{{ differs(pfs.logrank.p, "differed", "did not") }}', store) == "differed (*P* = 0.032)"
    assert show('{{ differs(pfs.logrank.p, "differed", "did not", cite=False) }}', store) == "differed"
    assert show('{{ wording(os.logrank.p, "differed", "did not differ") }}', store) == "did not differ"
    assert render_text('{{ wording(os.logrank.p, "a", "b") }}', store) == "b"  # no span, no key: only words


def test_line_final_endif_does_not_glue_words(store):
    text = "Of all events,{% if pfs.logrank.p is significant %} some{% endif %}\ndiffered.\n"
    assert show(text, store) == "Of all events, some\ndiffered.\n"
    # a tag alone on its line still leaves nothing behind
    assert show("A\n{% if pfs.logrank.p is significant %}\nB\n{% endif %}\nC\n", store) == "A\nB\nC\n"
    # explicit whitespace control is respected
    assert show("A{% if pfs.logrank.p is significant -%}\n B{% endif %}", store) == "AB"


def test_direction_accepts_plain_numbers_and_thresholds(store):
    assert show('{{ direction(pfs.hr.B, 1, "raised", "lowered", "did not change") }}', store) == "lowered"
    assert show('{{ direction(os.hr.B, 1, "raised", "lowered", "did not change") }}', store) == "did not change"
    assert show('{{ direction(orr.B, 40, "above", "below", "at") }}', store) == "above"  # 50.0% vs 40
    assert show('{{ direction(2, 1, "more", "less", "same") }}', store) == "more"
    assert show('{{ direction(orr.B, orr.A, "higher", "lower", "similar") }}', store) == "higher"
    assert show('{{ direction(age.A, age.B, "older", "younger", "of the same age") }}', store) == "of the same age"
    with pytest.raises(TemplateError, match="cannot compare 'x'"):
        show('{{ direction(orr.B, "x", "a", "b", "c") }}', store)


def test_median_not_reached_prints_its_lower_limit_and_prose_says_not_reached(store):
    assert fmt_median_ci(None, 63.0, None, 1) == "NR (63.0–NR)"
    assert fmt_median_ci(None, 63.0, None, 1, Style(nr="not reached", ci_separator=", ")) == (
        "not reached (63.0, not reached)")
    assert fmt_median_ci(None, None, None, 1) == "NR"
    assert show("{{ pfs.median_ci.B }}", store) == "NR (63.0–NR)"
    assert show('{{ pfs.median.B | duration("months") }}', store) == "not reached"
    assert show('{{ pfs.median_ci.B | duration("months") }}', store) == "not reached"
    assert show('{{ pfs.median.A | duration("months") }}', store) == "30.03 months"
    assert render_text('{{ pfs.median.B | duration("months") }}', store) == (
        '[not reached]{.val .val-text title="pfs.median.B"}')  # still bound to its key


def test_significance_summary_names_variables_by_short_name():
    study = make_study()
    study.frames["patients"]["weight"] = [50.0 + 30 * (a == "T") + i % 7 for i, a in
                                          enumerate(study.frames["patients"]["arm"])]
    ctx = StudyContext(study)
    ctx.baseline([{"column": "weight", "label": "Body weight, kg", "type": "continuous", "short": "weight"},
                  {"column": "age", "label": "Age, years", "type": "continuous"}])
    ctx.significance_summary("baseline")
    assert ctx.store["baseline.weight.p"].raw < 0.05
    assert ctx.store["baseline.significant_rows.0"].raw == "weight"  # not "body weight, kg"


def test_table_headers_use_the_arm_label_and_prose_its_short_name():
    ctx = StudyContext(make_study())
    table = ctx.baseline([{"column": "sex", "label": "Sex", "levels": [["m", "Male"], ["f", "Female"]]}])
    assert [c.header for c in table.columns][:2] == ["Treatment arm (n=30)", "Control arm (n=30)"]
    pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event")
    panel = pfs.km_panel()
    assert [c.label for c in panel.curves] == [a.short for a in ARMS]  # the figure's key reads as prose
    assert panel.hr_label == "HR, treatment vs control"


def test_diff_prints_each_value_in_its_own_format():
    from analysis.diff import diff_results

    old, new = ResultsStore("x"), ResultsStore("x")
    old.add("t.df", 78, "int")
    new.add("t.df", 77, "int")
    old.add("t.p", 0.0322, "p")
    new.add("t.p", 0.00049, "p")
    old.add("t.m", {"mean": 61.04, "sd": 8.1}, "mean_sd", digits=1)
    new.add("t.m", {"mean": 61.04, "sd": 8.1}, "mean_sd", digits=1)
    changes = {c.key: (c.old, c.new) for c in diff_results(old, new)}
    assert changes == {"t.df": ("78", "77"), "t.p": ("0.032", "<0.001")}


def test_explicit_newline_markers_are_left_to_jinja(store):
    # `+%}` keeps the newline on purpose; it must not become a blank line (a paragraph break)
    assert show("a{% if pfs.logrank.p is significant %}\\{% endif +%}\nb\n", store) == "a\\\nb\n"
