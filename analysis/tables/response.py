"""Response table: IMWG categories per arm as n (%), the overall response rate, and tests.

The categories (CR, VGPR, PR, MR, SD, PD) and the composite ORR = CR + VGPR + PR are the
project's defaults (DESIGN.md); a study may pass its own. The CR rate and the ORR are compared
between arms (two or more) as 2 x k tables by the study's rule, through
:func:`analysis.tables.comparison.tbl_comparison`, so the counting, keys and test cells are
the same as in every other comparison table.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.errors import StatisticsError
from analysis.results import ResultsStore
from analysis.stats.contingency import CategoricalRule
from analysis.study import Arm
from analysis.tables.comparison import Outcome, tbl_comparison
from analysis.tables.model import Table

__all__ = ["IMWG_CATEGORIES", "ORR_CODES", "tbl_response"]

#: IMWG response categories in table order: (code in the data, label in the table).
IMWG_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("CR", "Complete response (CR)"),
    ("VGPR", "Very good partial response (VGPR)"),
    ("PR", "Partial response (PR)"),
    ("MR", "Minimal response (MR)"),
    ("SD", "Stable disease (SD)"),
    ("PD", "Progressive disease (PD)"),
)
#: Categories that make up the overall response rate.
ORR_CODES: tuple[str, ...] = ("CR", "VGPR", "PR")


def tbl_response(
    frame: pd.DataFrame,
    arm_column: str,
    arms: Sequence[Arm],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    *,
    response_column: str = "response",
    categories: Sequence[tuple[str, str]] = IMWG_CATEGORIES,
    orr_codes: Sequence[str] = ORR_CODES,
    orr_label: str = "Overall response rate (ORR)",
    tested: Sequence[str] = ("CR", "ORR"),
    rule: CategoricalRule | None = None,
    inputs: Sequence[str] = (),
    pct_digits: int | None = None,
) -> Table:
    """Response by arm: one row per category, then the ORR row; tests on ``tested``.

    Keys: ``<prefix>.<code>.<arm>`` with the code lower-cased (``table2.cr.ID``),
    ``<prefix>.orr.<arm>``, ``<prefix>.cr.p`` / ``.stat`` / ``.df`` / ``.test``,
    ``<prefix>.orr.p`` ..., ``<prefix>.n.<arm>``.

    >>> tbl_response(patients, "arm", study.arms, store, "table2", "tbl-response",
    ...              "Best response by arm")  # doctest: +SKIP
    """
    codes = {c for c, _ in categories}
    missing = [c for c in orr_codes if c not in codes]
    if missing:
        raise StatisticsError(f"Invalid `orr_codes` {missing}: expected among the categories {sorted(codes)}")
    outcomes = [Outcome(label, (code,), key=code.lower()) for code, label in categories]
    outcomes.append(Outcome(orr_label, tuple(orr_codes), key="orr"))
    keys = {c.lower() for c in tested}
    return tbl_comparison(
        frame, arm_column, arms, store, prefix, table_id, caption,
        outcome_column=response_column, outcomes=outcomes, test=sorted(keys), rule=rule,
        stub_header="Response", inputs=inputs, pct_digits=pct_digits,
    )
