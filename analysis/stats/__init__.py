"""Statistics that match R: contingency tests, t-tests, survival, regression, meta-analysis.

The regression entry points are re-exported here: :func:`cox_model` (R's ``coxph``),
:func:`cox_zph` (``cox.zph``) and :func:`logistic_model` (R's ``glm(family = binomial)``); each
fit is a :class:`~analysis.stats.regression.RegressionModel`, as are models fitted with
statsmodels or lifelines after :func:`from_statsmodels` / :func:`from_lifelines`. They load on
first use, so importing one statistics module does not import the others.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RegressionModel", "cox_model", "cox_zph", "from_lifelines", "from_statsmodels", "logistic_model"]

_HOME = {
    "cox_model": "analysis.stats.cox",
    "cox_zph": "analysis.stats.cox",
    "logistic_model": "analysis.stats.logistic",
    "RegressionModel": "analysis.stats.regression",
    "from_lifelines": "analysis.stats.regression",
    "from_statsmodels": "analysis.stats.regression",
}


def __getattr__(name: str) -> Any:
    """Import a re-exported name from its module on first use."""
    if name not in _HOME:
        raise AttributeError(f"module 'analysis.stats' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
