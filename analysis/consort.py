"""The CONSORT participant flow, counted from the patient records.

Assessed for eligibility and excluded with reasons (when a screening log is given), randomised,
allocated to each arm, received the allocated treatment, discontinued it with reasons, lost to
follow-up, and analysed. Every count is a results-store value under ``consort.*``, so the flow
diagram (:mod:`analysis.figures.consort`) and the text cite the same numbers::

    consort.assessed                     consort.allocated.<arm>
    consort.excluded                     consort.received.<arm> / consort.not_received.<arm>
    consort.excluded_group.<group>       consort.discontinued.<arm>
    consort.excluded_reason.<reason>     consort.discontinued_reason.<reason>.<arm>
    consort.randomised                   consort.lost.<arm>
                                         consort.analysed.<arm> / consort.excluded_analysis.<arm>
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analysis.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    import pandas as pd

    from analysis.context import StudyContext

__all__ = ["ArmFlow", "Flow", "add_consort", "count_flow"]


@dataclass(frozen=True)
class ArmFlow:
    """The flow of one arm; ``discontinued`` maps each reason code to its count (in data order)."""

    code: str
    label: str
    allocated: int
    received: int
    discontinued: dict[str, int]
    lost: int
    analysed: int

    @property
    def not_received(self) -> int:
        """Allocated but did not receive the allocated treatment."""
        return self.allocated - self.received

    @property
    def excluded_from_analysis(self) -> int:
        """Allocated but not in the analysis."""
        return self.allocated - self.analysed


@dataclass(frozen=True)
class Flow:
    """The whole flow: screening (optional), randomisation and each arm."""

    randomised: int
    arms: tuple[ArmFlow, ...]
    excluded_groups: dict[str, int] = field(default_factory=dict)
    excluded_reasons: dict[str, int] = field(default_factory=dict)
    reason_group: dict[str, str] = field(default_factory=dict)
    screened: bool = False

    @property
    def excluded(self) -> int:
        """Assessed but not randomised."""
        return sum(self.excluded_groups.values())

    @property
    def assessed(self) -> int:
        """Assessed for eligibility: the randomised plus the excluded."""
        return self.randomised + self.excluded


def _flag_count(frame: pd.DataFrame, column: str | None, default: int) -> int:
    if column is None:
        return default
    return int((frame[column].astype(int) == 1).sum())


def count_flow(
    patients: pd.DataFrame,
    by: str,
    arms: Any,
    *,
    received: str | None = None,
    discontinued: str | None = None,
    lost: str | None = None,
    analysed: str | None = None,
    screening: pd.DataFrame | None = None,
    reason: str = "reason",
    reason_group: str = "reason_group",
) -> Flow:
    """Count the flow from one row per randomised patient (and an optional screening log).

    ``received``, ``lost`` and ``analysed`` name 0/1 columns (absent: everyone received the
    treatment, nobody was lost, everyone was analysed); ``discontinued`` names a column holding
    the reason the allocated treatment stopped (empty while still on treatment). ``screening``
    has one row per patient assessed but not randomised, with ``reason`` and ``reason_group``.
    """
    flows = []
    known = {a.code for a in arms}
    group = patients[by].astype(str)
    unknown = sorted(set(group.unique()) - known)  # distinct values first: iterating a str column is slow
    if unknown:
        raise ConfigError(f"column `{by}` holds group(s) {unknown} that are not arms of the study")
    for arm in arms:
        rows = patients[group == arm.code]
        stopped: dict[str, int] = {}
        if discontinued is not None:
            for value in rows[discontinued].tolist():
                if isinstance(value, str) and value:
                    stopped[value] = stopped.get(value, 0) + 1
        flows.append(ArmFlow(
            code=arm.code, label=arm.label, allocated=len(rows),
            received=_flag_count(rows, received, len(rows)), discontinued=stopped,
            lost=_flag_count(rows, lost, 0), analysed=_flag_count(rows, analysed, len(rows)),
        ))
    groups: dict[str, int] = {}
    reasons: dict[str, int] = {}
    group_of: dict[str, str] = {}
    if screening is not None:
        for why, group in zip(screening[reason].astype(str), screening[reason_group].astype(str), strict=True):
            groups[group] = groups.get(group, 0) + 1
            reasons[why] = reasons.get(why, 0) + 1
            if group_of.setdefault(why, group) != group:
                raise ConfigError(f"screening reason {why!r} appears under two groups: {group_of[why]!r} and {group!r}")
    return Flow(randomised=len(patients), arms=tuple(flows), excluded_groups=groups, excluded_reasons=reasons,
                reason_group=group_of, screened=screening is not None)


def add_consort(
    ctx: StudyContext,
    *,
    received: str | None = None,
    discontinued: str | None = None,
    lost: str | None = None,
    analysed: str | None = None,
    screening: str | None = None,
    figure_id: str = "fig-consort",
    caption: str = "Flow of participants through the trial (CONSORT diagram).",
) -> Flow:
    """Count the flow of ``ctx``'s frame, store every count under ``consort.*`` and add the
    flow diagram as ``figure_id`` (drawn by :func:`analysis.figures.consort.consort_figure`).
    ``screening`` names the dataset of the screening log."""
    from analysis.figureworker import FigureRecipe

    screen = ctx.frame_of(screening) if screening else None
    flow = count_flow(ctx.frame, ctx.by, ctx.arms, received=received, discontinued=discontinued, lost=lost,
                      analysed=analysed, screening=screen)
    patients = ctx.inputs
    both = (*patients, ctx.file_of(screening)) if screening else patients
    if flow.screened:
        shown = ctx.file_of(screening)
        ctx.value("consort.assessed", flow.assessed, "int", test="count: randomised + excluded", inputs=both)
        ctx.value("consort.excluded", flow.excluded, "int", test="count", inputs=(shown,))
        for group, n in flow.excluded_groups.items():
            ctx.value(f"consort.excluded_group.{group}", n, "int", test="count", inputs=(shown,))
        for why, n in flow.excluded_reasons.items():
            ctx.value(f"consort.excluded_reason.{why}", n, "int", test="count", inputs=(shown,))
    ctx.value("consort.randomised", flow.randomised, "int", test="count")
    reasons = list(dict.fromkeys(r for arm in flow.arms for r in arm.discontinued))
    for arm in flow.arms:
        ctx.value(f"consort.allocated.{arm.code}", arm.allocated, "int", test="count")
        ctx.value(f"consort.received.{arm.code}", arm.received, "int", test="count")
        ctx.value(f"consort.not_received.{arm.code}", arm.not_received, "int", test="count")
        ctx.value(f"consort.discontinued.{arm.code}", sum(arm.discontinued.values()), "int", test="count")
        for why in reasons:
            ctx.value(f"consort.discontinued_reason.{why}.{arm.code}", arm.discontinued.get(why, 0), "int",
                      test="count")
        ctx.value(f"consort.lost.{arm.code}", arm.lost, "int", test="count")
        ctx.value(f"consort.analysed.{arm.code}", arm.analysed, "int", test="count")
        ctx.value(f"consort.excluded_analysis.{arm.code}", arm.excluded_from_analysis, "int", test="count")
    value_labels = ctx.study.config.get("value_labels", {})
    labels = {"group": value_labels.get("reason_group", {}), "reason": value_labels.get("reason", {}),
              "discontinued": value_labels.get(discontinued, {}) if discontinued else {}}
    counts = {key: ctx.store[key].text(ctx.store.style) for key in ctx.store if key.startswith("consort.")}
    ctx.figure(figure_id, FigureRecipe("analysis.figures.consort:consort_figure", (counts, flow, labels)),
               caption=caption,
               alt="CONSORT flow diagram: numbers assessed, excluded, randomised, allocated, followed up and "
                   "analysed in each arm", width="100%")
    return flow
