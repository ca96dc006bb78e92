"""Baseline table: categorical and continuous variables, tests, missing values, one level."""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import DataValidationError
from analysis.results import ResultsStore
from analysis.stats.contingency import compare_counts
from analysis.stats.ttest import two_sample_t
from analysis.study import Arm
from analysis.tables.baseline import tbl_baseline
from analysis.tables.render import to_markdown, to_text

ARMS = [Arm("ID", "ID group"), Arm("DT", "DT group")]
AGES_ID = [55, 61, 70, 48, 66, 59, 72, 63, 58, 67]
AGES_DT = [60, 65, 71, 69, 62, 74, 57, 68, 70, 66]
VARIABLES = [
    {"column": "age", "label": "Age (years)", "type": "continuous", "digits": 1},
    {"column": "sex", "label": "Sex", "type": "categorical", "levels": [["male", "Male"], ["female", "Female"]]},
    {"column": "iss", "label": "ISS stage", "type": "categorical", "levels": ["I", "II", "III"]},
    {"column": "site", "label": "Centre", "type": "categorical"},
]


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "arm": ["ID"] * 10 + ["DT"] * 10,
        "age": AGES_ID + AGES_DT,
        "sex": ["male"] * 6 + ["female"] * 4 + ["male"] * 3 + ["female"] * 7,
        "iss": ["I", "II", "III", "I", "II", "III", "I", "II", None, "I"] + ["II"] * 5 + ["III"] * 5,
        "site": ["A"] * 20,
    })


def build(df=None, **kw):
    store = ResultsStore("demo")
    t = tbl_baseline(frame() if df is None else df, "arm", ARMS, store, "table1", "tbl-baseline",
                     "Baseline characteristics", VARIABLES, inputs=("patients.csv",), **kw)
    return t, store


def test_continuous_mean_sd_and_student_t():
    _, store = build()
    assert store["table1.age.ID"].raw == {"mean": pytest.approx(np.mean(AGES_ID)),
                                          "sd": pytest.approx(np.std(AGES_ID, ddof=1))}
    ref = two_sample_t(AGES_ID, AGES_DT, method="student")
    assert store["table1.age.stat"].raw == ref.statistic and store["table1.age.p"].raw == ref.p
    assert store["table1.age.test"].raw == "Student's t-test"
    _, welch = build(t_method="welch")
    assert welch["table1.age.p"].raw == two_sample_t(AGES_ID, AGES_DT, method="welch").p


def test_categorical_counts_and_rule_chosen_test():
    t, store = build()
    assert store["table1.sex_male.ID"].raw == {"n": 6, "N": 10}
    assert store["table1.sex_female.DT"].raw == {"n": 7, "N": 10}
    sex = compare_counts([[6, 3], [4, 7]])
    assert sex.method == "fisher"  # expected counts below 5
    assert store["table1.sex.p"].raw == sex.p and "table1.sex.stat" not in store
    sex_row = next(r for r in t.rows if r.label == "Sex")
    assert "stat" not in sex_row.cells and sex_row.marks == [t.mark("Fisher's exact test")]


def test_missing_values_are_shown_and_left_out_of_the_test():
    t, store = build()
    assert store["table1.iss_missing.ID"].raw == 1 and store["table1.iss_missing.DT"].raw == 0
    assert store["table1.iss_i.ID"].raw == {"n": 4, "N": 10}
    assert store["table1.iss.p"].raw == compare_counts([[4, 0], [3, 5], [2, 5]]).p
    labels = [r.label for r in t.rows]
    assert labels[labels.index("ISS stage") + 4] == "Missing"


def test_single_level_variable_has_no_test_dashes_and_a_note():
    t, store = build()
    site = next(r for r in t.rows if r.label == "Centre")
    assert site.cells["stat"].text() == "–" and site.cells["p"].text() == "–"
    assert "table1.site.p" not in store
    assert t.footnotes[int(ord(site.marks[0]) - ord("a"))].startswith("Not tested")


def test_value_outside_declared_levels_is_an_error():
    df = frame()
    df.loc[3, "sex"] = "M"
    with pytest.raises(DataValidationError, match=r"patients.csv, column `sex`.*got 'M'; expected one of"):
        build(df)


def test_keys_have_the_right_kinds():
    _, store = build()
    assert store["table1.n.ID"].kind == "int" and store["table1.n.ID"].raw == 10
    assert store["table1.age.ID"].kind == "mean_sd" and store["table1.age.ID"].digits == 1
    assert store["table1.sex_male.ID"].kind == "n_pct"
    assert store["table1.age.p"].kind == "p" and store["table1.age.stat"].kind == "stat"
    assert store["table1.iss_missing.ID"].kind == "int"


def test_round_trip_of_a_built_table():
    from analysis.tables.model import Table

    t, _ = build()
    assert Table.from_dict(t.to_dict()) == t


def test_snapshots(snapshot):
    t, _ = build()
    assert to_markdown(t) == snapshot(name="markdown")
    assert to_text(t) == snapshot(name="text")
