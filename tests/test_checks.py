"""Cross-column checks: a safe expression language evaluated on whole columns."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.checks import parse_check, run_checks
from analysis.errors import ConfigError, DataValidationError

COLUMNS = ["pfs", "os", "lower", "hr", "upper", "enrolled", "name"]


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "pfs": [10.0, 20.0, None, 5.0],
        "os": [12.0, 20.0, 3.0, 4.0],
        "lower": [0.5, 0.6, 0.7, 0.8],
        "hr": [0.7, 0.8, 0.9, 1.0],
        "upper": [0.9, 1.0, 1.1, 1.2],
        "enrolled": pd.to_datetime(["2014-01-05", "2014-06-30", "2015-01-01", "2016-03-01"]),
        "name": ["a", "b", "c", "d"],
    })


def run(*texts: str, data: pd.DataFrame | None = None, protocol: dict | None = None) -> None:
    checks = tuple(parse_check(t, COLUMNS, "study.yaml") for t in texts)
    run_checks(frame() if data is None else data, checks, "data/x/f.csv", protocol or {}, "study.yaml")


def test_a_violation_names_file_line_columns_and_values():
    with pytest.raises(DataValidationError) as err:
        run("pfs <= os")
    assert str(err.value) == (
        "data/x/f.csv, line 5 (data row 4), columns `pfs`, `os`: record fails the check `pfs <= os`: "
        "got pfs = 5, os = 4; expected every record to satisfy it (study.yaml `checks:`)")
    assert err.value.columns == ("pfs", "os") and err.value.row == 5 and err.value.data_row == 4


def test_missing_values_skip_the_check():
    data = frame().iloc[:3]  # row 3 has pfs missing and os 3: skipped, not a failure
    run("pfs <= os", data=data)


def test_chains_and_or_not_arithmetic():
    run("lower <= hr <= upper", "not (hr > upper)", "hr < 2 and (lower > 0 or upper > 0)", "os - pfs >= -1",
        "hr * 2 / 2 == hr")
    data = frame()
    data.loc[1, "hr"] = 1.5
    with pytest.raises(DataValidationError, match=r"line 3 \(data row 2\), columns `lower`, `hr`, `upper`: "
                       r"record fails the check `lower <= hr <= upper`: got lower = 0.6, hr = 1.5, upper = 1"):
        run("lower <= hr <= upper", data=data)


def test_the_first_failure_in_file_order_is_reported_and_others_counted():
    data = frame()
    data.loc[0, "hr"] = 5.0
    with pytest.raises(DataValidationError, match=r"line 2 \(data row 1\).*`hr <= upper`.*\(and 1 more problem in"):
        run("pfs <= os", "hr <= upper", data=data)


def test_protocol_dates_and_day_arithmetic():
    protocol = {"enrolment": {"start": "2014-01-01", "end": "2015-12-31"}, "follow_up_end": "2016-12-31"}
    run("enrolled >= protocol.enrolment.start", "enrolled + os * 30 <= protocol.follow_up_end + 400",
        protocol=protocol)
    with pytest.raises(DataValidationError) as err:
        run("enrolled <= protocol.enrolment.end", protocol=protocol)
    assert "line 5 (data row 4), columns `enrolled`" in str(err.value)
    assert "got enrolled = '2016-03-01', protocol.enrolment.end = '2015-12-31'" in str(err.value)
    run('enrolled >= "2014-01-01"', "enrolled - protocol.enrolment.start >= 0", protocol=protocol)


@pytest.mark.parametrize(("text", "message"), [
    ("__import__('os').system('x')", "is not allowed"),
    ("pfs.__class__ <= os", "`pfs.__class__` is not allowed"),
    ("[pfs] <= os", "`\\[pfs\\]` is not allowed"),
    ("pfs ** 2 <= os", "is not allowed"),
    ("pfs <= os if pfs else 1", "is not allowed"),
    ("lambda: 1", "is not allowed"),
    ("pfs <= colum", "names `colum`, which is not a column"),
    ("pfs <= ", "is not a valid expression"),
    ("pfs + os", "is not a condition"),
    ("name <= 'abc'", "only dates may be quoted"),
    ("pfs in os", "is not allowed"),
    ("x" * 600, "expected at most 500"),
])
def test_only_the_safe_subset_is_accepted(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_check(text, COLUMNS, "study.yaml")


@pytest.mark.parametrize(("text", "protocol", "message"), [
    ("enrolled >= protocol.nosuch", {}, "`protocol.nosuch`, which study.yaml's `protocol:` block does not have"),
    ("enrolled >= protocol.site", {"site": "Jinhua"}, "protocol.site is 'Jinhua'; expected a number or a date"),
    ("enrolled >= 3", {}, "compares a date with a number"),
    ("enrolled * 2 >= pfs", {}, "`\\*` on a date"),
    ("name <= pfs", {}, "column `name` is not numeric or a date"),
])
def test_type_errors_in_checks_are_config_errors(text, protocol, message):
    with pytest.raises(ConfigError, match=message):
        run(text, protocol=protocol)
