"""Statistics that match R: contingency tests, t-tests, survival, regression, meta-analysis.

The regression entry points are re-exported here: :func:`cox_model` (R's ``coxph``) and
:func:`logistic_model` (R's ``glm(family = binomial)``); both return a
:class:`~analysis.stats.regression.RegressionModel`.
"""

from analysis.stats.cox import cox_model, cox_zph
from analysis.stats.logistic import logistic_model
from analysis.stats.regression import RegressionModel, from_lifelines, from_statsmodels

__all__ = ["RegressionModel", "cox_model", "cox_zph", "from_lifelines", "from_statsmodels", "logistic_model"]
