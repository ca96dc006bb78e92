"""The results store: keys, provenance, deterministic JSON."""

import json
import math

import numpy as np
import pytest

from analysis.errors import ResultsError
from analysis.results import ResultsStore, Source


def make_store() -> ResultsStore:
    store = ResultsStore("demo")
    store.add("table2.cr.p", 0.0322000642003265, "p", test="Pearson chi-square", table="tbl-response",
              cell="CR/P", inputs=["patients.csv"])
    store.add("table2.cr.ID", {"n": 13, "N": 40}, "n_pct", digits=2, table="tbl-response", cell="CR/ID")
    store.add("pfs.median.ID", np.float64(30.03), "num", digits=2, test="Kaplan-Meier median")
    store.inputs = {"patients.csv": "ab" * 32}
    return store


def test_values_keep_raw_format_and_source():
    store = make_store()
    assert store.text("table2.cr.p") == "0.032"
    assert store.text("table2.cr.ID") == "13 (32.50)"
    assert store["table2.cr.p"].source == Source(
        test="Pearson chi-square", table="tbl-response", cell="CR/P", inputs=("patients.csv",)
    )
    assert isinstance(store["pfs.median.ID"].raw, float)  # numpy scalars become plain floats


def test_json_is_sorted_and_round_trips():
    store = make_store()
    text = store.to_json()
    assert text == make_store().to_json()
    data = json.loads(text)
    assert list(data["values"]) == sorted(data["values"])
    assert data["values"]["table2.cr.p"]["source"]["cell"] == "CR/P"
    again = ResultsStore.from_json(text)
    assert again.to_json() == text


@pytest.mark.parametrize("key", ["Table2.cr", "table2..cr", "table2.cr-p", "2table", "table 2"])
def test_malformed_keys_are_refused(key):
    with pytest.raises(ResultsError, match="Invalid key"):
        ResultsStore("x").add(key, 1, "int")


def test_duplicate_and_clashing_keys_are_refused():
    store = make_store()
    with pytest.raises(ResultsError, match="Duplicate key 'table2.cr.p'"):
        store.add("table2.cr.p", 0.5, "p")
    with pytest.raises(ResultsError, match="clashes with"):
        store.add("table2.cr", 1, "int")


def test_unprintable_values_fail_at_the_analysis():
    store = ResultsStore("x")
    with pytest.raises(ResultsError, match="NaN"):
        store.add("a.b", math.nan, "num")
    with pytest.raises(ValueError, match="P value"):
        store.add("a.p", 1.5, "p")
    with pytest.raises(ResultsError, match="Invalid kind"):
        store.add("a.c", 1, "percent")


def test_unknown_key_names_neighbours():
    with pytest.raises(ResultsError, match=r"Unknown key 'table2.orr.p'; keys under `table2` include"):
        make_store()["table2.orr.p"]


def test_clashes_are_found_both_ways_also_after_loading_from_json():
    """A key may be neither a group of stored keys nor inside a stored key; the groups are
    kept as keys are added, and made afresh for a store loaded from JSON."""
    store = ResultsStore("x")
    store.add("pfs.median.id", 30.0, "num", digits=1)
    with pytest.raises(ResultsError, match=r"Key 'pfs.median' clashes with 'pfs.median.id'"):
        store.add("pfs.median", 1, "int")
    with pytest.raises(ResultsError, match=r"Key 'pfs.median.id.lower' clashes with 'pfs.median.id'"):
        store.add("pfs.median.id.lower", 1, "int")
    store.add("pfs.median.rd", 25.0, "num", digits=1)  # a sibling is fine
    loaded = ResultsStore.from_json(store.to_json())
    with pytest.raises(ResultsError, match=r"Key 'pfs' clashes with 'pfs.median.id'"):
        loaded.add("pfs", 1, "int")
    loaded.add("os.median.id", 50.0, "num", digits=1)
    with pytest.raises(ResultsError, match=r"Key 'os.median' clashes with 'os.median.id'"):
        loaded.add("os.median", 1, "int")
