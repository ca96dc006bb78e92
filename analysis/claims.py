"""Claims a paper makes, checked against the recomputed tests (statcheck's decision errors).

``published.yaml`` may list the claims a paper's text makes about its results::

    claims:
      - where: Abstract, Results
        claim: peripheral neuropathy more frequent with ixazomib (P = 0.032)
        p: table4.peripheral_neuropathy.p          # the recomputed test, by result key
        says: significant                          # or: not significant
        compare: [table4.peripheral_neuropathy.ID, table4.peripheral_neuropathy.RD]
        direction: higher                          # the first is higher (or lower) than the second

Each claim is held against the value the data give under ``p`` (and the two compared values):
a claim of significance where the recomputed P is not below alpha, a claim of no difference
where it is, or a direction the recomputed values reverse, is a contradiction. The verdict's
numbers are computed, never typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from analysis.errors import ConfigError
from analysis.formatting import fmt_p_phrase
from analysis.results import ResultsStore, comparable

__all__ = ["ClaimCheck", "check_claims"]

_SAYS = ("significant", "not significant")
_DIRECTIONS = ("higher", "lower")


@dataclass(frozen=True)
class ClaimCheck:
    """One claim and what the recomputed test says of it."""

    where: str
    claim: str
    contradicted: bool
    finding: str


def _validate(entry: Any, i: int, source: str) -> None:
    if not isinstance(entry, dict):
        raise ConfigError(f"{source}: claims[{i}] must be a mapping with `where`, `claim`, `p` and `says`")
    missing = [k for k in ("where", "claim", "p", "says") if k not in entry]
    if missing:
        raise ConfigError(f"{source}: claims[{i}] ({entry.get('claim', '?')!r}) lacks {missing}")
    if entry["says"] not in _SAYS:
        raise ConfigError(f"{source}: claims[{i}].says is {entry['says']!r}; allowed: {', '.join(_SAYS)}")
    if "direction" in entry:
        if entry["direction"] not in _DIRECTIONS:
            raise ConfigError(f"{source}: claims[{i}].direction is {entry['direction']!r}; "
                              f"allowed: {', '.join(_DIRECTIONS)}")
        if not (isinstance(entry.get("compare"), list) and len(entry["compare"]) == 2):
            raise ConfigError(f"{source}: claims[{i}] has a `direction` but no `compare: [first, second]` keys")


def check_claims(store: ResultsStore, published: dict[str, Any], alpha: float = 0.05,
                 source: str = "published.yaml") -> list[ClaimCheck]:
    """Every claim of ``published['claims']`` against the recomputed values of ``store``.

    Raises :class:`ConfigError` for a malformed claim or a key the store does not hold.
    """
    out = []
    for i, entry in enumerate(published.get("claims") or []):
        _validate(entry, i, source)
        for key in [entry["p"], *entry.get("compare", [])]:
            if key not in store:
                raise ConfigError(f"{source}: claims[{i}] names `{key}`, which the analysis does not compute")
        p = store[entry["p"]]
        significant = p.raw < alpha
        phrase = fmt_p_phrase(p.raw, store.style.p_digits)
        problems = []
        if entry["says"] == "significant" and not significant:
            problems.append(f"claims a significant difference, but the recomputed test gives {phrase}")
        if entry["says"] == "not significant" and significant:
            problems.append(f"claims no significant difference, but the recomputed test gives {phrase}")
        detail = f"recomputed {phrase}"
        if "direction" in entry:
            a, b = (store[k] for k in entry["compare"])
            x, y = comparable(a.raw), comparable(b.raw)
            shown = f"{a.text(store.style)} vs {b.text(store.style)}"
            detail += f"; {shown}"
            if x is not None and y is not None:
                actual = "higher" if x > y else "lower" if x < y else "equal"
                if actual != entry["direction"]:
                    problems.append(f"says the first is {entry['direction']}, but the data give {shown}")
        finding = "; ".join(problems) if problems else f"supported: {detail}"
        out.append(ClaimCheck(str(entry["where"]), str(entry["claim"]), bool(problems), finding))
    return out
