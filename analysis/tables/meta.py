"""Meta-analysis summary table: per-study estimates with weights, the pooled estimate of the
model the study's rule chose, and the heterogeneity statistics, one block per outcome.

Keys (``<o>`` is the outcome key, ``<s>`` the study label as a key segment):

* ``<prefix>.<o>.<s>.estimate`` (ratio with CI) and ``<prefix>.<o>.<s>.weight`` (percent);
* ``<prefix>.<o>.pooled`` (ratio with CI), ``.p``, ``.model`` (text), ``.reason`` (text);
* ``<prefix>.<o>.fixed`` and ``.random`` (both pooled estimates, whichever was chosen);
* ``<prefix>.<o>.q``, ``.q_df``, ``.q_p``, ``.i2`` (percent as a number), ``.tau2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.results import ResultsStore
from analysis.stats.meta import MetaResult, ModelChoice, ModelDecision
from analysis.tables.model import Cell, CellBinder, Column, Row, Table, key_segment

__all__ = ["MetaOutcome", "tbl_meta"]


@dataclass(frozen=True)
class MetaOutcome:
    """One pooled outcome: its key, row label, effect measure name and the fitted result."""

    key: str
    label: str
    measure: str  # "OR", "HR", ...
    result: MetaResult


def _ratio(x) -> dict[str, float]:
    return {"estimate": x.estimate, "lower": x.lower, "upper": x.upper}


def tbl_meta(
    outcomes: Sequence[MetaOutcome],
    store: ResultsStore,
    prefix: str,
    table_id: str,
    caption: str,
    rule: ModelChoice,
    inputs: Sequence[str] = (),
) -> tuple[Table, dict[str, ModelDecision]]:
    """Build the summary table and store every number; return it with each outcome's decision."""
    bind = CellBinder(store, prefix, table_id, inputs)
    table = Table(
        table_id, caption, stub_header="Outcome and study",
        columns=[Column("measure", "Measure", align="left"), Column("estimate", "Estimate (95% CI)"),
                 Column("weight", "Weight, %"), Column("p", "P"), Column("i2", "I², %")],
    )
    decisions: dict[str, ModelDecision] = {}
    for out in outcomes:
        res = out.result
        decision = rule.decide(res)
        decisions[out.key] = decision
        weight_of = "weight_fixed_pct" if decision.model == "fixed" else "weight_random_pct"
        table.add_row(Row(out.label, is_group_header=True))
        for study in res.studies:
            seg = key_segment(study.label)
            table.add_row(Row(study.label, {
                "measure": Cell(out.measure, "text"),
                "estimate": bind.cell([out.key, seg, "estimate"], _ratio(study), "ratio_ci",
                                      test=f"{out.measure} of the study", where=f"{study.label}/Estimate"),
                "weight": bind.cell([out.key, seg, "weight"], getattr(study, weight_of), "num", digits=1,
                                    test=f"{decision.pooled.method_label} weight", where=f"{study.label}/Weight"),
            }, indent=1))
        het = res.heterogeneity
        model_name = "Fixed effect" if decision.model == "fixed" else "Random effects"
        table.add_row(Row(f"Pooled ({model_name.lower()})", {
            "measure": Cell(out.measure, "text"),
            "estimate": bind.cell([out.key, "pooled"], _ratio(decision.pooled), "ratio_ci",
                                  test=decision.pooled.method_label, where=f"{out.label}/Pooled"),
            "weight": Cell(100.0, "num", 1),
            "p": bind.cell([out.key, "p"], decision.pooled.p, "p", test=f"{decision.pooled.method_label}, z test"),
            "i2": bind.cell([out.key, "i2"], het.i2_pct, "num", digits=1, test="I-squared",
                            where=f"{out.label}/I2"),
        }, indent=1))
        bind.cell([out.key, "model"], model_name.lower(), "text", test="model-choice rule")
        bind.cell([out.key, "reason"], decision.reason, "text", test="model-choice rule")
        for model in ("fixed", "random"):
            bind.cell([out.key, model], _ratio(res.pooled(model)), "ratio_ci", test=res.pooled(model).method_label)
        bind.cell([out.key, "q"], het.q, "stat", digits=2, test="Cochran's Q")
        bind.cell([out.key, "q_df"], het.df, "int", test="Cochran's Q degrees of freedom")
        bind.cell([out.key, "q_p"], het.p, "p", test="Cochran's Q test")
        bind.cell([out.key, "tau2"], het.tau2, "num", digits=4, test="DerSimonian-Laird tau-squared")
    for out in outcomes:
        if out.result.note:  # e.g. a study without events in either arm, kept with weight 0%
            table.notes.append(f"{out.label}: {out.result.note}.")
    table.notes.append(
        "Odds ratios pooled by the Mantel-Haenszel method with the Robins-Breslow-Greenland confidence "
        "interval; hazard ratios by inverse variance on the log scale. Model: " + rule.describe() + "."
    )
    return table.validate(), decisions
