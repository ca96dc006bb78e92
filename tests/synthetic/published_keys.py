"""Shared by the data tests: which recomputed value a published.yaml entry is compared with."""

from __future__ import annotations

from typing import Any


def lookup(entry: dict[str, Any], computed: dict[str, float]) -> str:
    """The recomputed value the audit compares with ``entry``: its ``field``, or for a count with a
    percentage the percentage when the printed number has decimals and the count otherwise."""
    key = entry["key"]
    if entry.get("field"):
        return f"{key}#{entry['field']}"
    if f"{key}#n" in computed:
        return f"{key}#pct" if "." in str(entry["printed"]) else f"{key}#n"
    return key
