"""Logistic regression against R's glm(family = binomial) + confint.default.

Reference values: tests/reference/models.json (``Rscript tests/reference/models.R tests/reference
tests/reference/models.json``, R 4.2.2). The fit takes glm.fit's own IRLS steps, so values agree
to rounding: rtol 1e-10.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import StatisticsError
from analysis.stats import logistic_model

REF = Path(__file__).resolve().parents[1] / "reference"
R = json.loads((REF / "models.json").read_text())["logistic"]
RTOL = 1e-10


def infert() -> pd.DataFrame:
    frame = pd.read_csv(REF / "infert.csv")
    frame["education"] = pd.Categorical(frame["education"], ["0-5yrs", "6-11yrs", "12+ yrs"])
    return frame


def colon() -> pd.DataFrame:
    frame = pd.read_csv(REF / "colon_death.csv")
    frame["rx"] = pd.Categorical(frame["rx"], ["Obs", "Lev", "Lev+5FU"])
    return frame


def check(m, r) -> None:
    assert m.n == r["n"] and m.n_dropped == r["nobs_dropped"] and m.iterations == r["iter"]
    assert m.extra["intercept"] == pytest.approx(r["coef"][0], rel=RTOL)
    for attr in ("coef", "se", "z", "p", "lower", "upper"):
        assert [getattr(t, attr) for t in m.terms] == pytest.approx(r[attr][1:], rel=RTOL), attr
    assert [t.odds_ratio for t in m.terms] == pytest.approx(r["or"][1:], rel=RTOL)
    assert m.extra["deviance"] == pytest.approx(r["deviance"], rel=RTOL)
    assert m.extra["null_deviance"] == pytest.approx(r["null_deviance"], rel=RTOL)
    assert m.extra["aic"] == pytest.approx(r["aic"], rel=RTOL)
    assert (m.lr.statistic, m.lr.df) == (pytest.approx(r["lr"]["statistic"], rel=RTOL), r["lr"]["df"])
    assert m.lr.p == pytest.approx(r["lr"]["p"], rel=1e-8)


def test_numeric_and_factor_terms() -> None:
    """fit <- glm(case ~ age + parity + education + spontaneous + induced, family = binomial, data = infert)
    summary(fit)$coefficients; exp(confint.default(fit)); fit$deviance, fit$null.deviance, fit$aic"""
    m = logistic_model(infert(), outcome="case", terms=["age", "parity", "education", "spontaneous", "induced"])
    check(m, R["infert"])
    assert [t.label for t in m.terms][2:4] == ["education=6-11yrs", "education=12+ yrs"]
    assert m.kind == "logistic" and m.measure == "OR" and m.events == 83


def test_reference_level_choosable() -> None:
    """glm(case ~ relevel(education, "12+ yrs") + spontaneous, family = binomial, data = infert)"""
    m = logistic_model(infert(), outcome="case", terms=["education", "spontaneous"],
                       reference={"education": "12+ yrs"})
    check(m, R["infert_relevel"])
    assert m.variable("education").levels == ("12+ yrs", "0-5yrs", "6-11yrs")


def test_missing_rows_dropped_and_numeric_code_as_factor() -> None:
    """glm(status ~ rx + sex + age + nodes + factor(differ), family = binomial, data = colon[etype == 2])
    # 41 rows with NA dropped"""
    m = logistic_model(colon(), outcome="status", terms=["rx", "sex", "age", "nodes", "differ"], factors=["differ"])
    check(m, R["colon"])


def test_univariable() -> None:
    """glm(case ~ spontaneous, family = binomial, data = infert)"""
    check(logistic_model(infert(), outcome="case", terms=["spontaneous"]), R["infert_uni_spontaneous"])


def test_boolean_and_nullable_outcome() -> None:
    frame = infert()
    frame["case"] = frame["case"].astype("boolean")
    frame.loc[0, "age"] = pd.NA
    frame["age"] = frame["age"].astype("Float64")
    m = logistic_model(frame, outcome="case", terms=["age", "spontaneous"])
    assert m.n == 247 and m.n_dropped == 1


def test_bad_outcomes_refused() -> None:
    frame = infert()
    frame["case"] = frame["case"].map({0: "control", 1: "case"})
    with pytest.raises(StatisticsError, match=r"`outcome` \(column `case`\): values are text"):
        logistic_model(frame, outcome="case", terms=["age"])
    frame = infert()
    frame.loc[5, "case"] = 2
    with pytest.raises(StatisticsError, match=r"not 0 or 1 \(first at row 5: 2.0\)"):
        logistic_model(frame, outcome="case", terms=["age"])
    frame = infert()
    frame["case"] = 1
    with pytest.raises(StatisticsError, match="needs both 0 and 1"):
        logistic_model(frame, outcome="case", terms=["age"])


def test_complete_separation_refused() -> None:
    """glm(y ~ x) with y = (x > 3) warns 'fitted probabilities numerically 0 or 1 occurred'."""
    x = np.arange(1, 9, dtype=float)
    frame = pd.DataFrame({"x": x, "y": (x > 4).astype(int)})
    with pytest.raises(StatisticsError, match="separates the outcome"):
        logistic_model(frame, outcome="y", terms=["x"])
