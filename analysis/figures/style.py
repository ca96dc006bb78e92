"""House style for figures: one place for fonts, sizes and per-arm colours.

Figures are laid out at a journal's column width, single (85 mm) or double (175 mm), so the
saved file is the size a journal accepts and needs no cropping pass when it is saved.

Arm colours are chosen to stay distinguishable in greyscale print (very different
lightness) and for colour-blind readers (Okabe-Ito hues); each arm also gets its own line
style and marker, so no figure relies on colour alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # headless and deterministic; never open a window

import matplotlib.pyplot as plt

__all__ = [
    "ARM_STYLES",
    "DOUBLE_COLUMN_IN",
    "SINGLE_COLUMN_IN",
    "ArmStyle",
    "arm_style",
    "column_width",
    "figure_context",
    "new_figure",
]

_MM_PER_IN = 25.4
#: Single-column figure width (85 mm), as most clinical journals ask.
SINGLE_COLUMN_IN = 85 / _MM_PER_IN
#: Double-column (full page) figure width (175 mm).
DOUBLE_COLUMN_IN = 175 / _MM_PER_IN


@dataclass(frozen=True)
class ArmStyle:
    """How one arm is drawn: line colour, line style and marker."""

    color: str
    linestyle: str
    marker: str


#: In arm order: near-black solid, Okabe-Ito vermillion dashed, blue dotted, green dash-dot.
ARM_STYLES: tuple[ArmStyle, ...] = (
    ArmStyle("#1a1a1a", "-", "o"),
    ArmStyle("#D55E00", "--", "s"),
    ArmStyle("#0072B2", ":", "^"),
    ArmStyle("#009E73", "-.", "D"),
)


def arm_style(index: int) -> ArmStyle:
    """The style of the ``index``-th arm (cycles beyond four arms)."""
    return ARM_STYLES[index % len(ARM_STYLES)]


_RC = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.8,
    "lines.linewidth": 1.6,
    "svg.fonttype": "path",  # text as paths: identical look in every viewer
    "svg.hashsalt": "clinical-manuscripts",  # deterministic SVG ids
    "savefig.dpi": 300,
    "figure.dpi": 100,
    "path.simplify": False,
    "text.parse_math": False,  # labels are plain text: a `$` in a data label is not mathtext
}


@contextmanager
def figure_context() -> Iterator[None]:
    """Apply the house style for the duration of a figure's construction."""
    with plt.rc_context(_RC):
        yield


def column_width(width_in: float) -> float:
    """The journal column width nearest a requested width: single (85 mm) up to 4.5 in,
    double (175 mm) above."""
    return SINGLE_COLUMN_IN if width_in <= 4.5 else DOUBLE_COLUMN_IN


def new_figure(width_in: float = 6.5, height_in: float = 4.0, **subplots_kw):
    """A new figure (and axes) in house style; call inside :func:`figure_context`.

    The width is snapped to a journal column width (:func:`column_width`); the height is
    kept, so the builders' vertical layout is unchanged.
    """
    return plt.subplots(figsize=(column_width(width_in), height_in), **subplots_kw)
