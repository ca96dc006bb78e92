"""Plain estimate records that figures carry as well as the statistics: no numeric imports.

A figure's data travels to the figure worker (:mod:`analysis.figureworker`) as a pickle, and
unpickling imports the module each record is defined in; defined here, a median does not
bring pandas and scipy into the worker. :mod:`analysis.stats.survival` computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MedianCI"]


@dataclass(frozen=True)
class MedianCI:
    """A median survival time with its confidence limits; ``None`` means not reached."""

    median: float | None
    lower: float | None
    upper: float | None
