"""The table data model: JSON round-trip, tidy frame, validation, cells bound to the store."""

import json

import pytest

from analysis.errors import ResultsError
from analysis.results import ResultsStore
from analysis.tables.model import (
    Cell,
    CellBinder,
    Column,
    Row,
    Table,
    footnote_mark,
    key_segment,
    slugify,
)


def make_table() -> Table:
    t = Table("tbl-demo", "Demo table", "Characteristic",
              [Column("ID", "ID (n=40)", "Arms"), Column("DT", "DT (n=40)", "Arms"), Column("p", "P")])
    mark = t.mark("Fisher's exact test")
    t.rows += [
        Row("Sex", is_group_header=True),
        Row("Male", {"ID": Cell({"n": 13, "N": 40}, "n_pct", 1, "t.sex_male.ID"),
                     "DT": Cell({"n": 5, "N": 40}, "n_pct", None, None),
                     "p": Cell(0.0322000642003265, "p", None, "t.sex.p")}, indent=1, marks=[mark]),
        Row("Age", {"ID": Cell({"mean": 63.94, "sd": 11.43}, "mean_sd", 1, "t.age.ID")}),
    ]
    t.notes.append("Values are n (%).")
    return t


def test_round_trip_through_json_is_exact():
    t = make_table()
    data = json.loads(json.dumps(t.to_dict()))
    back = Table.from_dict(data)
    assert back == t
    assert back.to_dict() == data


def test_to_frame_is_one_row_per_cell_with_raw_values_and_keys():
    frame = make_table().to_frame()
    assert list(frame.columns) == ["row", "row_index", "column", "raw", "kind", "digits", "key", "text"]
    assert len(frame) == 4
    male_id = frame[(frame.row == "Male") & (frame.column == "ID")].iloc[0]
    assert json.loads(male_id.raw) == {"n": 13, "N": 40}
    assert male_id.key == "t.sex_male.ID" and male_id.text == "13 (32.5)"
    p = frame[frame.column == "p"].iloc[0]
    assert p.raw == 0.0322000642003265 and p.text == "0.032"


def test_marks_are_letters_by_position_and_added_once():
    t = Table("tbl-x", "x")
    assert t.mark("Fisher's exact test") == "a"
    assert t.mark("Welch's t-test") == "b"
    assert t.mark("Fisher's exact test") == "a"
    assert [footnote_mark(i) for i in (0, 25, 26, 27)] == ["a", "z", "aa", "ab"]


def test_validation_names_the_bad_thing():
    with pytest.raises(ResultsError, match="Invalid table id 'baseline'"):
        Table("baseline", "x")
    with pytest.raises(ResultsError, match="Invalid cell kind 'percent'"):
        Cell(0.5, "percent")
    with pytest.raises(ResultsError, match="Invalid `align` 'middle' of column 'p'"):
        Column("p", "P", align="middle")
    t = Table("tbl-x", "x", columns=[Column("a", "A")], rows=[Row("r", {"b": Cell(1, "int")})])
    with pytest.raises(ResultsError, match=r"cells for unknown column\(s\) \['b'\]"):
        t.validate()
    t = Table("tbl-x", "x", columns=[Column("a", "A")], rows=[Row("r", marks=["a"])])
    with pytest.raises(ResultsError, match="footnote mark"):
        t.validate()


def test_slugs_and_key_segments():
    assert slugify("Grade 3–4") == "grade_3_4"
    assert slugify("Age (years)") == "age_years"
    assert key_segment("ID") == "ID"
    assert key_segment("Arm A") == "arm_a"
    with pytest.raises(ResultsError, match="no letters or digits"):
        slugify("–")


def test_binder_stores_value_with_source_and_returns_bound_cell():
    store = ResultsStore("demo")
    bind = CellBinder(store, "table2", "tbl-response", ("patients.csv",))
    cell = bind.cell(["cr", "ID"], {"n": 13, "N": 40}, "n_pct", test="count of patients", where="CR/ID")
    assert cell == Cell({"n": 13, "N": 40}, "n_pct", None, "table2.cr.ID")
    value = store["table2.cr.ID"]
    assert value.text() == cell.text() == "13 (32.5)"
    assert value.source.table == "tbl-response" and value.source.cell == "CR/ID"
    assert value.source.inputs == ("patients.csv",)
