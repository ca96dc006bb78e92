"""The regression engine imports neither statsmodels nor lifelines (the adapters read fitted
objects' attributes), and survival and Cox statistics do not import scipy.stats (~1.4 s of
start-up, issue #14): they use scipy.special. Checked in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

_PROBE = """
import json, sys
import pandas as pd
from analysis.stats import cox_model, cox_zph, logistic_model
from analysis.stats.survival import kaplan_meier, logrank
from analysis.tables.regression import tbl_regression
from analysis.results import ResultsStore
lung = pd.read_csv("tests/reference/lung.csv")
m = cox_model(lung, time="time", event="status", terms=["age", "sex"], factors=["sex"])
cox_zph(m)
logistic_model(lung, outcome="status", terms=["age"])
logrank(lung["time"], lung["status"], lung["sex"])
kaplan_meier(lung["time"], lung["status"])
tbl_regression(m, store=ResultsStore("x"), prefix="c", table_id="tbl-c", caption="C")
json.dump(sorted(sys.modules), sys.stderr)
"""


def test_regression_and_survival_import_no_optional_libraries_nor_scipy_stats() -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=REPO, capture_output=True, text=True, check=True)
    modules = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert "analysis.stats.cox" in modules
    assert not {m for m in modules if m.split(".")[0] in ("statsmodels", "lifelines")}
    assert "scipy.stats" not in modules
