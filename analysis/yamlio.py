"""Reading YAML settings files (``study.yaml``, ``published.yaml``) quickly.

PyYAML's pure-Python safe loader takes about 0.3 s for the longer settings files; its
libyaml binding (``CSafeLoader``, part of the PyYAML wheel) reads the same documents into the
same Python objects some ten times faster. The pure-Python loader is the fallback where
PyYAML was built without libyaml.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["YAMLError", "safe_load"]

YAMLError = yaml.YAMLError
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Parse one YAML document with the safe loader (plain data only, no Python objects)."""
    return yaml.load(text, Loader=_LOADER)
