"""A study: its settings (``data/<study>/study.yaml``) and its validated data frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.formatting import Style

__all__ = ["Arm", "Study"]


@dataclass(frozen=True)
class Arm:
    """A treatment arm or comparison group: ``code`` as in the data, labels for readers."""

    code: str
    label: str
    short: str | None = None

    @property
    def name(self) -> str:
        return self.short or self.label


@dataclass
class Study:
    """Everything an analysis script receives: settings, arms, style and validated frames.

    ``frames`` maps each dataset name of ``study.yaml``'s ``data:`` block to its validated
    DataFrame; ``files`` maps it to its file name (relative to the data folder);
    ``inputs`` maps file names to SHA-256.
    """

    id: str
    root: Path
    config: dict[str, Any]
    arms: list[Arm]
    style: Style
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)

    @property
    def protocol(self) -> dict[str, Any]:
        return self.config.get("protocol", {})

    @property
    def statistics(self) -> dict[str, Any]:
        return self.config.get("statistics", {})
