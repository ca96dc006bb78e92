"""Validation of raw data against the data dictionary: one clear error naming file, row,
column, value and what was expected; never a traceback, never a silent NaN."""

from pathlib import Path

import pandas as pd
import pytest

from analysis.dataio import read_raw
from analysis.errors import ConfigError, DataValidationError
from analysis.schema import DatasetSpec, check_references, validate_frame

SPEC_COLUMNS = [
    {"name": "patient_id", "type": "string", "pattern": "^P[0-9]{2}$", "label": "Patient"},
    {"name": "arm", "type": "category", "allowed": ["ID", "RD"], "label": "Arm"},
    {"name": "age", "type": "integer", "min": 18, "max": 90, "unit": "years", "label": "Age"},
    {"name": "pfs_months", "type": "number", "min": 0, "label": "PFS"},
    {"name": "pfs_event", "type": "integer", "allowed": [0, 1], "label": "Event"},
    {"name": "enrolled", "type": "date", "min": "2014-01-01", "max": "2015-12-31", "label": "Enrolled"},
    {"name": "nrs_after", "type": "number", "nullable": True, "label": "NRS after"},
]
SPEC = DatasetSpec.from_mapping(
    "patients", {"file": "patients.csv", "primary_key": "patient_id", "columns": SPEC_COLUMNS}, "study.yaml")
HEADER = "patient_id,arm,age,pfs_months,pfs_event,enrolled,nrs_after\n"
GOOD = "P01,ID,54,30.03,1,2014-02-03,4.5\nP02,RD,61,12.50,0,2015-06-30,\n"


def load(tmp_path: Path, text: str) -> pd.DataFrame:
    path = tmp_path / "patients.csv"
    path.write_text(text, encoding="utf-8")
    return validate_frame(read_raw(path, "data/x/patients.csv"), SPEC, "data/x/patients.csv")


def test_valid_file_is_typed(tmp_path):
    frame = load(tmp_path, HEADER + GOOD)
    assert frame["age"].tolist() == [54, 61]
    assert str(frame["age"].dtype) == "Int64"
    assert frame["pfs_months"].tolist() == [30.03, 12.5]
    assert frame["nrs_after"].isna().tolist() == [False, True]  # nullable: missing kept as missing
    assert frame["enrolled"].dt.year.tolist() == [2014, 2015]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("P03,ID,abc,1.0,0,2014-03-01,", "data/x/patients.csv, line 4 (data row 3), column `age`: invalid value: got 'abc'; "
         "expected a whole number from 18 to 90 (years)"),
        ("P03,XX,50,1.0,0,2014-03-01,", "line 4 (data row 3), column `arm`: invalid value: got 'XX'; expected one of ID, RD"),
        ("P03,ID,50,-1,0,2014-03-01,", "line 4 (data row 3), column `pfs_months`: invalid value: got '-1'; expected a number of at least 0"),
        ("P03,ID,50,n/a,0,2014-03-01,", "column `pfs_months`: invalid value: got 'n/a'"),
        ("P03,ID,50,1.0,2,2014-03-01,", "column `pfs_event`: invalid value: got '2'; expected one of 0, 1"),
        ("P03,ID,50,1.0,0,2013-12-31,", "column `enrolled`: invalid value: got '2013-12-31'; expected a date YYYY-MM-DD "
         "from 2014-01-01 to 2015-12-31"),
        ("P03,ID,50,1.0,0,03/01/2014,", "column `enrolled`: invalid value: got '03/01/2014'"),
        ("P03,ID,,1.0,0,2014-03-01,", "line 4 (data row 3), column `age`: missing value; expected a whole number from 18 to 90 (years) "
         "(this column may not be empty)"),
        ("p3,ID,50,1.0,0,2014-03-01,", "column `patient_id`: invalid value: got 'p3'; expected text matching ^P[0-9]{2}$"),
        ("P01,ID,50,1.0,0,2014-03-01,", "line 4 (data row 3), column `patient_id`: duplicate identifier: got 'P01'; "
         "expected unique values (first seen on line 2 (data row 1))"),
    ],
)
def test_bad_cells_name_file_row_column_value_and_expectation(tmp_path, row, message):
    with pytest.raises(DataValidationError) as err:
        load(tmp_path, HEADER + GOOD + row + "\n")
    assert message in str(err.value)


def test_more_problems_are_counted(tmp_path):
    with pytest.raises(DataValidationError, match=r"line 2 \(data row 1\), column `age`.*\(and 2 more problems in this file\)"):
        load(tmp_path, HEADER + "P01,ID,x,1,0,2014-03-01,\nP02,ID,y,1,0,2014-03-01,\nP03,ZZ,50,1,0,2014-03-01,\n")


def test_missing_and_undeclared_columns(tmp_path):
    with pytest.raises(DataValidationError, match=r"missing column\(s\) `nrs_after`"):
        load(tmp_path, "patient_id,arm,age,pfs_months,pfs_event,enrolled\nP01,ID,54,30.03,1,2014-02-03\n")
    with pytest.raises(DataValidationError, match=r"undeclared column\(s\) `extra`"):
        load(tmp_path, HEADER.strip() + ",extra\n" + "P01,ID,54,30.03,1,2014-02-03,4.5,1\n")


def test_ragged_and_empty_files(tmp_path):
    with pytest.raises(DataValidationError, match=r"line 2 \(data row 1\): row has 9 fields; expected 7 fields as in the header"):
        load(tmp_path, HEADER + "P01,ID,54,30.03,1,2014-02-03,4.5,9,9\n")
    with pytest.raises(DataValidationError, match="file is empty"):
        load(tmp_path, "")
    with pytest.raises(DataValidationError, match="no data rows"):
        load(tmp_path, HEADER)


def test_unsupported_and_missing_files(tmp_path):
    with pytest.raises(DataValidationError, match="unsupported file type"):
        read_raw(tmp_path / "x.json")
    with pytest.raises(DataValidationError, match="file not found"):
        read_raw(tmp_path / "nope.csv")


def test_excel_reads_like_csv(tmp_path):
    path = tmp_path / "patients.xlsx"
    pd.DataFrame({"patient_id": ["P01"], "arm": ["ID"], "age": [54], "pfs_months": [30.03], "pfs_event": [1],
                  "enrolled": ["2014-02-03"], "nrs_after": [None]}).to_excel(path, index=False)
    frame = validate_frame(read_raw(path), SPEC, "patients.xlsx")
    assert frame["age"].tolist() == [54]
    assert frame["pfs_months"].tolist() == [30.03]


def test_foreign_keys():
    ae = DatasetSpec.from_mapping(
        "ae", {"file": "ae.csv", "references": {"patient_id": "patients.patient_id"},
               "columns": [{"name": "patient_id", "type": "string"}]}, "study.yaml")
    frames = {"patients": pd.DataFrame({"patient_id": ["P01"]}), "ae": pd.DataFrame({"patient_id": ["P01", "P09"]})}
    with pytest.raises(DataValidationError, match=r"ae.csv, line 3 \(data row 2\), column `patient_id`: unknown reference: got 'P09'"):
        check_references(frames, {"patients": SPEC, "ae": ae}, {"patients": "patients.csv", "ae": "ae.csv"})


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "a", "type": "float"}, "`data.d.columns\\[0\\].type`: got 'float'; expected one of 'string'"),
        ({"name": "a", "type": "category"}, "a category needs `allowed` values"),
        ({"name": "a", "type": "integer", "maximum": 3}, "unknown setting `data.d.columns\\[0\\].maximum` \\(did you mean `max`\\?\\); expected one of: allowed"),
        ({"type": "integer"}, "a column has no `name`"),
    ],
)
def test_bad_data_dictionary(column, message):
    with pytest.raises(ConfigError, match=message):
        DatasetSpec.from_mapping("d", {"file": "d.csv", "columns": [column]}, "study.yaml")


def test_rows_are_named_by_line_and_data_row_even_across_quoted_line_breaks(tmp_path):
    # the quoted cell of P01 spans two lines, so P02's record starts on line 4, data row 2
    text = HEADER.replace("nrs_after", "nrs_after") + 'P01,ID,54,30.03,1,2014-02-03,"4.5\n"\nP02,RD,x,1,0,2015-06-30,\n'
    spec = DatasetSpec.from_mapping("p", {"file": "p.csv", "columns": [
        *[c for c in SPEC_COLUMNS if c["name"] != "nrs_after"], {"name": "nrs_after", "type": "string"}]}, "s")
    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"line 4 \(data row 2\), column `age`: invalid value: got 'x'"):
        validate_frame(read_raw(path, "p.csv"), spec, "p.csv")


def test_non_utf8_names_the_line_not_a_byte_offset(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes((HEADER + GOOD).encode() + "P03,ID,50,1.0,0,2014-03-01,caf\u00e9\n".encode("latin-1"))
    with pytest.raises(DataValidationError, match=r"line 4 \(data row 3\): not UTF-8 text: byte 0xe9 at "
                       r"character 31 of the line: got 'P03,ID,50,1.0,0,2014-03-01,caf\\\\xe9'; expected UTF-8"):
        read_raw(path, "data/x/patients.csv")


@pytest.mark.parametrize(("sep", "label"), [(";", "`;`"), ("\t", "tab"), ("|", "`|`")])
def test_a_wrong_delimiter_is_named(tmp_path, sep, label):
    path = tmp_path / "patients.csv"
    path.write_text((HEADER + GOOD).replace(",", sep), encoding="utf-8")
    with pytest.raises(DataValidationError, match=rf"line 1 \(data row 0\): the header has a single column; "
                       rf"the file looks like {label}-separated"):
        read_raw(path, "data/x/patients.csv")


def test_a_huge_cell_is_read_and_reported_not_a_csv_error(tmp_path):
    with pytest.raises(DataValidationError) as err:
        load(tmp_path, HEADER + GOOD + "P03,ID," + "9" * 1_000_000 + ",1.0,0,2014-03-01,\n")
    text = str(err.value)
    assert text.startswith("data/x/patients.csv, line 4 (data row 3), column `age`: invalid value: got '9999")
    assert len(text) < 400, "the value is shortened in the message"


def test_vectorised_types_and_edge_values(tmp_path):
    frame = load(tmp_path, HEADER + "P01,ID,54.0,1e1,1,2014-02-03, 4.5 \n")
    assert frame["age"].tolist() == [54] and frame["pfs_months"].tolist() == [10.0]
    assert frame["nrs_after"].tolist() == [4.5]
    for bad in ("1234567890123456789012", "5.5", "inf"):
        with pytest.raises(DataValidationError, match="column `age`: invalid value"):
            load(tmp_path, HEADER + f"P01,ID,{bad},1,1,2014-02-03,\n")
    for bad in ("nan", "inf", "-inf", "1,5"):
        with pytest.raises(DataValidationError, match="column `pfs_months`|fields"):
            load(tmp_path, HEADER + f"P01,ID,50,{bad},1,2014-02-03,\n")
    for bad in ("2014-2-3", "2014-02-30", "20140203", "0001-01-01"):
        with pytest.raises(DataValidationError, match="column `enrolled`: invalid value"):
            load(tmp_path, HEADER + f"P01,ID,50,1,1,{bad},\n")


def test_the_readme_states_the_row_convention():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "`line 5 (data row 4)` is the file's fifth line (the header is line 1" in readme


def test_large_whole_numbers_stay_exact(tmp_path):
    spec = DatasetSpec.from_mapping("d", {"file": "d.csv", "columns": [{"name": "n", "type": "integer"}]}, "s")
    path = tmp_path / "d.csv"
    path.write_text("n\n123456789012345678\n123456789012345679.0\n7\n", encoding="utf-8")
    assert validate_frame(read_raw(path, "d.csv"), spec, "d.csv")["n"].tolist() == [
        123456789012345678, 123456789012345679, 7]


@pytest.mark.parametrize("column", [
    {"name": "c", "type": "string", "pattern": "^P[0-9]+$", "nullable": True},
    {"name": "c", "type": "integer", "min": 0, "max": 4, "nullable": True},
    {"name": "c", "type": "integer", "allowed": [1, 2]},
    {"name": "c", "type": "number", "min": 0, "nullable": True},
    {"name": "c", "type": "category", "allowed": ["ID", "RD", 1], "nullable": True},
    {"name": "c", "type": "date", "min": "2014-01-01", "nullable": True},
    {"name": "c", "type": "boolean", "nullable": True},
])
def test_converting_each_distinct_value_once_equals_converting_every_cell(column):
    """Validation converts each distinct cell once and spreads the result over the rows; on
    repeated, empty, invalid and edge values it gives what converting every cell gives."""
    from analysis.schema import ColumnSpec, _convert_column, _convert_values

    spec = ColumnSpec.from_mapping(column, "study.yaml")
    cells = ["P1", "P01", "1", "2", "01", "+2", "2.0", "-0", "1.5", "1e3", "9" * 19, "nan", "inf", "ID", "RD",
             "id", "2014-01-01", "2013-12-31", "2014-02-30", "2014-1-1", "true", "No", "y", "x", None, ""]
    raw = pd.Series([*(cells * 3)[::-1], None, "1", "1"], dtype=object)  # repeated, in another order
    raw = raw.where(raw != "", None)
    typed, bad, empty = _convert_column(raw, spec)
    whole, whole_bad = _convert_values(raw, spec)
    assert typed.dtype == whole.dtype
    pd.testing.assert_series_equal(typed, whole.reset_index(drop=True), check_names=False)
    assert list(map(type, typed)) == list(map(type, whole))  # None stays None, not NaN
    assert (bad == whole_bad).all()
    assert (empty == raw.isna().to_numpy()).all()
