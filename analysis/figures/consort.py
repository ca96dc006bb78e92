"""The CONSORT flow diagram, drawn with matplotlib from the ``consort.*`` values of the store.

Every number in a box is the formatted text of a results-store value (see
:mod:`analysis.consort`, which passes them as ``counts``), so the diagram, the tables and the
prose cannot disagree. matplotlib is imported when the diagram is drawn, not before.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import Any

from analysis.consort import Flow

__all__ = ["consort_figure"]

_BOX = {"boxstyle": "square,pad=0.45", "facecolor": "white", "edgecolor": "#1a1a1a", "linewidth": 0.8}
_STAGE = {"boxstyle": "round,pad=0.3", "facecolor": "#e8eef4", "edgecolor": "#1f4e79", "linewidth": 0.8}
_ARROW = {"arrowstyle": "-|>", "color": "#1a1a1a", "linewidth": 0.8, "shrinkA": 0, "shrinkB": 0}


def _n(counts: Mapping[str, str], key: str) -> str:
    return f"(n = {counts[key]})"


def _label(labels: dict[str, str], code: str) -> str:
    return labels.get(code, code.replace("_", " ").capitalize())


def _extent(ax: Any, artist: Any, renderer: Any) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of a text's box in axes coordinates."""
    box = artist.get_bbox_patch().get_window_extent(renderer)
    (x0, y0), (x1, y1) = ax.transAxes.inverted().transform([(box.x0, box.y0), (box.x1, box.y1)])
    return x0, y0, x1, y1


def _arrow(ax: Any, start: tuple[float, float], end: tuple[float, float], bend: bool = False) -> None:
    props = dict(_ARROW)
    if bend:  # horizontal then down, as CONSORT draws the split into arms
        props["connectionstyle"] = "angle,angleA=0,angleB=90,rad=0"
    ax.annotate("", xy=end, xytext=start, arrowprops=props)


def consort_figure(counts: Mapping[str, str], flow: Flow, labels: dict[str, dict[str, str]] | None = None) -> Any:
    """The flow diagram: screening (when known), randomisation, then allocation, follow-up and
    analysis in one column per arm. ``counts`` are the printed ``consort.*`` values by key
    (:func:`analysis.consort.add_consort` passes them); ``labels`` maps ``group``, ``reason`` and
    ``discontinued`` codes to the words printed."""
    import matplotlib.pyplot as plt

    from analysis.figures.style import DOUBLE_COLUMN_IN, figure_context

    labels = labels or {}
    arms = flow.arms
    reasons = list(dict.fromkeys(r for arm in arms for r in arm.discontinued))
    with figure_context():
        fig, ax = plt.subplots(figsize=(DOUBLE_COLUMN_IN, 6.8 if flow.screened else 5.2))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        text = {"ha": "center", "va": "top", "fontsize": 7.5, "linespacing": 1.35}
        y = 0.97
        assessed = excluded = None
        if flow.screened:
            assessed = ax.text(0.5, y, f"Assessed for eligibility {_n(counts, 'consort.assessed')}", bbox=_BOX, **text)
            lines = [f"Excluded {_n(counts, 'consort.excluded')}"]
            for group in flow.excluded_groups:
                lines.append(f"• {_label(labels.get('group', {}), group)} "
                             f"{_n(counts, f'consort.excluded_group.{group}')}")
                members = [r for r, g in flow.reason_group.items() if g == group]
                if len(members) > 1:  # a group of one reason says it already
                    lines += [f"    – {_label(labels.get('reason', {}), r)} "
                              f"{_n(counts, f'consort.excluded_reason.{r}')}" for r in members]
            excluded = ax.text(0.56, y - 0.07, "\n".join(lines), bbox=_BOX, **{**text, "ha": "left"})
            y -= 0.27
        randomised = ax.text(0.5, y, f"Randomised {_n(counts, 'consort.randomised')}", bbox=_BOX, **text)
        xs = [(i + 0.5) / len(arms) for i in range(len(arms))]
        rows = [("Allocation", y - 0.12), ("Follow-up", y - 0.33), ("Analysis", y - 0.58)]
        boxes = []
        for x, arm in zip(xs, arms, strict=True):
            c = arm.code
            alloc = [f"Allocated to {arm.label} {_n(counts, f'consort.allocated.{c}')}",
                     f"• Received allocated treatment {_n(counts, f'consort.received.{c}')}",
                     f"• Did not receive allocated treatment {_n(counts, f'consort.not_received.{c}')}"]
            follow = [f"Lost to follow-up {_n(counts, f'consort.lost.{c}')}",
                      f"Discontinued treatment {_n(counts, f'consort.discontinued.{c}')}"]
            follow += [f"• {_label(labels.get('discontinued', {}), r)} "
                       f"{_n(counts, f'consort.discontinued_reason.{r}.{c}')}" for r in reasons]
            analysed = [f"Analysed {_n(counts, f'consort.analysed.{c}')}",
                        f"• Excluded from analysis {_n(counts, f'consort.excluded_analysis.{c}')}"]
            boxes.append([ax.text(x, ry, "\n".join(lines), bbox=_BOX, **text)
                          for (_, ry), lines in zip(rows, (alloc, follow, analysed), strict=True)])
        for name, ry in rows:
            ax.text(0.5, ry + 0.055, name, bbox=_STAGE, **{**text, "fontsize": 7, "fontweight": "bold"})
        # arrows join the boxes' edges, measured once the text is laid out
        fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.01)
        fig.draw_without_rendering()  # lays the boxes out (no pixels), so their edges can be measured
        renderer = fig.canvas.get_renderer()
        r = _extent(ax, randomised, renderer)
        if assessed is not None and excluded is not None:
            a, e = _extent(ax, assessed, renderer), _extent(ax, excluded, renderer)
            _arrow(ax, (0.5, a[1]), (0.5, r[3]))
            ax.annotate("", xy=(e[0], (e[1] + e[3]) / 2), xytext=(0.5, (e[1] + e[3]) / 2), arrowprops=_ARROW)
        for x, column in zip(xs, boxes, strict=True):
            first = _extent(ax, column[0], renderer)
            if abs(x - 0.5) < 1e-9:
                _arrow(ax, (0.5, r[1]), (x, first[3]))
            else:  # from the side of the randomised box across, then down into the arm
                _arrow(ax, (r[0] if x < 0.5 else r[2], (r[1] + r[3]) / 2), (x, first[3]), bend=True)
            for upper, lower in pairwise(column):
                u, lo = _extent(ax, upper, renderer), _extent(ax, lower, renderer)
                _arrow(ax, (x, u[1]), (x, lo[3]))
    return fig
