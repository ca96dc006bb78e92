"""A study: its settings (``data/<study>/study.yaml``) and its validated data frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.formatting import Style

if TYPE_CHECKING:  # pandas costs ~0.5 s to import: `list` and `lint` must not pay it
    import pandas as pd

__all__ = ["Arm", "Study", "discover_studies", "load_config", "load_study"]


@dataclass(frozen=True)
class Arm:
    """A treatment arm or comparison group: ``code`` as in the data, labels for readers."""

    code: str
    label: str
    short: str | None = None

    @property
    def name(self) -> str:
        """The short name when there is one, else the label (prose uses it)."""
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
    specs: dict[str, Any] = field(default_factory=dict)

    @property
    def protocol(self) -> dict[str, Any]:
        """The ``protocol:`` block of study.yaml (facts the manuscript cites)."""
        return self.config.get("protocol", {})

    @property
    def statistics(self) -> dict[str, Any]:
        """The ``statistics:`` block of study.yaml (test rules and settings)."""
        return self.config.get("statistics", {})


STUDY_FILE = "study.yaml"


def discover_studies(root: Path) -> list[str]:
    """Study ids: folders under ``data/`` that hold a ``study.yaml``, sorted."""
    data = root / "data"
    if not data.is_dir():
        return []
    return sorted(p.name for p in data.iterdir() if (p / STUDY_FILE).is_file())


def load_config(root: Path, study_id: str) -> dict[str, Any]:
    """Read and check the top level of ``data/<study>/study.yaml``."""
    from analysis.errors import ConfigError
    from analysis.yamlio import YAMLError, safe_load

    path = root / "data" / study_id / STUDY_FILE
    if not path.is_file():
        known = discover_studies(root)
        raise ConfigError(f"Unknown study `{study_id}`: {path} does not exist. Known studies: {known}")
    shown = f"data/{study_id}/{STUDY_FILE}"
    try:
        config = safe_load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise ConfigError(f"{shown}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{shown}: not UTF-8 text at line {line}; expected a UTF-8 file") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{shown}: expected a mapping at the top level")
    from analysis.settings import validate_config

    validate_config(config, f"data/{study_id}/{STUDY_FILE}")
    if config["id"] != study_id:
        raise ConfigError(f"{shown}: `id` is {config['id']!r} but the folder is {study_id!r}; they must match")
    return config


def load_study(root: Path, study_id: str) -> Study:
    """Load a study's settings and validate every dataset against its data dictionary."""
    from analysis.checks import run_checks
    from analysis.dataio import read_raw, sha256_file
    from analysis.errors import ConfigError
    from analysis.schema import DatasetSpec, check_references, validate_frame

    config = load_config(root, study_id)
    where = f"data/{study_id}/{STUDY_FILE}"
    arms = []
    for i, arm in enumerate(config.get("arms") or []):
        if not isinstance(arm, dict) or "code" not in arm or "label" not in arm:
            raise ConfigError(f"{where}: arm {i + 1} needs `code` and `label`")
        arms.append(Arm(str(arm["code"]), arm["label"], arm.get("short")))
    try:
        style = Style.from_mapping(config.get("style") or {})
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    specs = {name: DatasetSpec.from_mapping(name, spec, where) for name, spec in config["data"].items()}
    study = Study(id=study_id, root=root / "data" / study_id, config=config, arms=arms, style=style)
    labels = {}
    for name, spec in specs.items():
        path = study.root / spec.file
        label = f"data/{study_id}/{spec.file}"
        labels[name] = label
        raw = read_raw(path, label)
        study.frames[name] = validate_frame(raw, spec, label)
        study.files[name] = spec.file
        study.inputs[spec.file] = sha256_file(path)
    check_references(study.frames, specs, labels)
    for name, spec in specs.items():
        run_checks(study.frames[name], spec.checks, labels[name], study.protocol, f"{where}, dataset `{name}`")
    study.inputs[STUDY_FILE] = sha256_file(study.root / STUDY_FILE)
    study.specs = specs
    return study
