"""Validation of raw data against the data dictionary: one clear error naming file, row,
column, value and what was expected; never a traceback, never a silent NaN."""

from pathlib import Path

import pandas as pd
import pytest

from analysis.dataio import read_raw
from analysis.errors import ConfigError, DataValidationError
from analysis.schema import DatasetSpec, check_references, validate_frame

SPEC = DatasetSpec.from_mapping(
    "patients",
    {
        "file": "patients.csv",
        "primary_key": "patient_id",
        "columns": [
            {"name": "patient_id", "type": "string", "pattern": "^P[0-9]{2}$", "label": "Patient"},
            {"name": "arm", "type": "category", "allowed": ["ID", "RD"], "label": "Arm"},
            {"name": "age", "type": "integer", "min": 18, "max": 90, "unit": "years", "label": "Age"},
            {"name": "pfs_months", "type": "number", "min": 0, "label": "PFS"},
            {"name": "pfs_event", "type": "integer", "allowed": [0, 1], "label": "Event"},
            {"name": "enrolled", "type": "date", "min": "2014-01-01", "max": "2015-12-31", "label": "Enrolled"},
            {"name": "nrs_after", "type": "number", "nullable": True, "label": "NRS after"},
        ],
    },
    "study.yaml",
)
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
        ("P03,ID,abc,1.0,0,2014-03-01,", "data/x/patients.csv, row 4, column `age`: invalid value: got 'abc'; "
         "expected a whole number from 18 to 90 (years)"),
        ("P03,XX,50,1.0,0,2014-03-01,", "row 4, column `arm`: invalid value: got 'XX'; expected one of ID, RD"),
        ("P03,ID,50,-1,0,2014-03-01,", "row 4, column `pfs_months`: invalid value: got '-1'; expected a number of at least 0"),
        ("P03,ID,50,n/a,0,2014-03-01,", "column `pfs_months`: invalid value: got 'n/a'"),
        ("P03,ID,50,1.0,2,2014-03-01,", "column `pfs_event`: invalid value: got '2'; expected one of 0, 1"),
        ("P03,ID,50,1.0,0,2013-12-31,", "column `enrolled`: invalid value: got '2013-12-31'; expected a date YYYY-MM-DD "
         "from 2014-01-01 to 2015-12-31"),
        ("P03,ID,50,1.0,0,03/01/2014,", "column `enrolled`: invalid value: got '03/01/2014'"),
        ("P03,ID,,1.0,0,2014-03-01,", "row 4, column `age`: missing value; expected a whole number from 18 to 90 (years) "
         "(this column may not be empty)"),
        ("p3,ID,50,1.0,0,2014-03-01,", "column `patient_id`: invalid value: got 'p3'; expected text matching ^P[0-9]{2}$"),
        ("P01,ID,50,1.0,0,2014-03-01,", "row 4, column `patient_id`: duplicate identifier: got 'P01'; "
         "expected unique values (first seen on row 2)"),
    ],
)
def test_bad_cells_name_file_row_column_value_and_expectation(tmp_path, row, message):
    with pytest.raises(DataValidationError) as err:
        load(tmp_path, HEADER + GOOD + row + "\n")
    assert message in str(err.value)


def test_more_problems_are_counted(tmp_path):
    with pytest.raises(DataValidationError, match=r"row 2, column `age`.*\(and 2 more problems in this file\)"):
        load(tmp_path, HEADER + "P01,ID,x,1,0,2014-03-01,\nP02,ID,y,1,0,2014-03-01,\nP03,ZZ,50,1,0,2014-03-01,\n")


def test_missing_and_undeclared_columns(tmp_path):
    with pytest.raises(DataValidationError, match=r"missing column\(s\) `nrs_after`"):
        load(tmp_path, "patient_id,arm,age,pfs_months,pfs_event,enrolled\nP01,ID,54,30.03,1,2014-02-03\n")
    with pytest.raises(DataValidationError, match=r"undeclared column\(s\) `extra`"):
        load(tmp_path, HEADER.strip() + ",extra\n" + "P01,ID,54,30.03,1,2014-02-03,4.5,1\n")


def test_ragged_and_empty_files(tmp_path):
    with pytest.raises(DataValidationError, match=r"row 2: row has 9 fields; expected 7 fields as in the header"):
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
    with pytest.raises(DataValidationError, match=r"ae.csv, row 3, column `patient_id`: unknown reference: got 'P09'"):
        check_references(frames, {"patients": SPEC, "ae": ae}, {"patients": "patients.csv", "ae": "ae.csv"})


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ({"name": "a", "type": "float"}, "invalid `type` 'float'"),
        ({"name": "a", "type": "category"}, "a category needs `allowed` values"),
        ({"name": "a", "type": "integer", "maximum": 3}, "unknown column setting"),
        ({"type": "integer"}, "a column has no `name`"),
    ],
)
def test_bad_data_dictionary(column, message):
    with pytest.raises(ConfigError, match=message):
        DatasetSpec.from_mapping("d", {"file": "d.csv", "columns": [column]}, "study.yaml")
