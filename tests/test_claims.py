"""Claims of a paper's text held against the recomputed tests (decision errors, as statcheck's)."""

from __future__ import annotations

import pytest

from analysis.claims import check_claims
from analysis.errors import ConfigError
from analysis.results import ResultsStore


def store() -> ResultsStore:
    s = ResultsStore("t")
    s.add("ae.neuropathy.ID", {"n": 12, "N": 40}, "n_pct")
    s.add("ae.neuropathy.RD", {"n": 8, "N": 40}, "n_pct")
    s.add("ae.neuropathy.p", 0.3017, "p", test="Pearson chi-square")
    s.add("cr.p", 0.0322, "p", test="Pearson chi-square")
    return s


def claim(**fields):
    return {"where": "Abstract", "claim": "x", **fields}


def test_a_claim_of_significance_the_test_does_not_show_is_contradicted():
    checks = check_claims(store(), {"claims": [
        claim(p="ae.neuropathy.p", says="significant", compare=["ae.neuropathy.ID", "ae.neuropathy.RD"],
              direction="higher"),
        claim(p="cr.p", says="significant"),
        claim(p="cr.p", says="not significant"),
        claim(p="ae.neuropathy.p", says="not significant", compare=["ae.neuropathy.ID", "ae.neuropathy.RD"],
              direction="lower"),
    ]})
    assert [c.contradicted for c in checks] == [True, False, True, True]
    assert checks[0].finding == "claims a significant difference, but the recomputed test gives P = 0.302"
    assert checks[1].finding == "supported: recomputed P = 0.032"
    assert checks[2].finding == "claims no significant difference, but the recomputed test gives P = 0.032"
    assert checks[3].finding == "says the first is lower, but the data give 12 (30.0) vs 8 (20.0)"


def test_alpha_is_the_study_s():
    assert check_claims(store(), {"claims": [claim(p="cr.p", says="significant")]}, alpha=0.01)[0].contradicted


@pytest.mark.parametrize("entry, message", [
    ({"where": "A", "claim": "x", "says": "significant"}, r"claims\[0\] \('x'\) lacks \['p'\]"),
    (claim(p="cr.p", says="maybe"), r"claims\[0\].says is 'maybe'; allowed: significant, not significant"),
    (claim(p="cr.p", says="significant", direction="up"), r"claims\[0\].direction is 'up'"),
    (claim(p="cr.p", says="significant", direction="higher"), r"has a `direction` but no `compare"),
    (claim(p="nope.p", says="significant"), r"names `nope.p`, which the analysis does not compute"),
])
def test_malformed_claims_name_the_entry(entry, message):
    with pytest.raises(ConfigError, match=message):
        check_claims(store(), {"claims": [entry]}, source="data/t/published.yaml")
