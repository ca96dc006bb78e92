"""What changed between two builds: values added, removed, or printed differently.

``python -m analysis diff STUDY`` compares the latest analysis (``build/STUDY``) with the
report readers have (``report/STUDY``), so an author sees every number the next render
will change before it changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.results import ResultsStore

__all__ = ["ValueChange", "diff_results"]


@dataclass(frozen=True)
class ValueChange:
    """A value that differs between two builds: its key and old and new formatted text."""
    key: str
    old: str | None  # formatted text, None when the key is new
    new: str | None  # formatted text, None when the key was removed

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        return "added" if self.old is None else "removed" if self.new is None else "changed"


def diff_results(old: ResultsStore, new: ResultsStore) -> list[ValueChange]:
    """Every key whose printed text differs between two stores, sorted by key."""
    changes = []
    for key in sorted(set(old.values) | set(new.values)):
        before = old.text(key) if key in old else None
        after = new.text(key) if key in new else None
        if before != after:
            changes.append(ValueChange(key, before, after))
    return changes
