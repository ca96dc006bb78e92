"""Clinical manuscripts, computed: every number from patient-level data, bound into templates.

``import analysis`` is light (no pandas): the notebook entry point is loaded on first use::

    from analysis import open_study
    s = open_study("ixazomib_ndmm")
"""

from __future__ import annotations

from typing import Any

__all__ = ["StudyContext", "open_study"]


def __getattr__(name: str) -> Any:
    """Lazy access to :func:`analysis.notebook.open_study` and :class:`analysis.context.StudyContext`."""
    if name == "open_study":
        from analysis.notebook import open_study

        return open_study
    if name == "StudyContext":
        from analysis.context import StudyContext

        return StudyContext
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
