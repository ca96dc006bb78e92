"""Adverse events: worst grade per patient, arm denominators, category groups, Fisher marks."""

import pandas as pd
import pytest

from analysis.errors import DataValidationError
from analysis.results import ResultsStore
from analysis.stats.contingency import compare_counts
from analysis.study import Arm
from analysis.tables.adverse import tbl_adverse
from analysis.tables.render import to_markdown, to_text

ARMS = [Arm("ID", "ID group"), Arm("DT", "DT group")]


def patients() -> pd.DataFrame:
    return pd.DataFrame({"patient_id": [f"P{i:02d}" for i in range(40)], "arm": ["ID"] * 20 + ["DT"] * 20})


def events() -> pd.DataFrame:
    rows = []
    # neuropathy: 12 ID patients (8 grade 1-2, 4 grade 3-4), 4 DT patients (all grade 1-2)
    rows += [(f"P{i:02d}", "Peripheral neuropathy", "Non-hematologic", 2) for i in range(8)]
    rows += [(f"P{i:02d}", "Peripheral neuropathy", "Non-hematologic", 3) for i in range(8, 12)]
    rows += [(f"P{i:02d}", "Peripheral neuropathy", "Non-hematologic", 1) for i in range(20, 24)]
    # P00 reports neuropathy twice: the worst grade (3) counts, the patient once
    rows += [("P00", "Peripheral neuropathy", "Non-hematologic", 3)]
    # neutropenia: 10 vs 9 (Pearson)
    rows += [(f"P{i:02d}", "Neutropenia", "Hematologic", 3 if i % 2 else 2) for i in range(10)]
    rows += [(f"P{i:02d}", "Neutropenia", "Hematologic", 2) for i in range(20, 29)]
    return pd.DataFrame(rows, columns=["patient_id", "term", "category", "grade"])


def build(ev=None, pts=None, **kw):
    store = ResultsStore("demo")
    t = tbl_adverse(events() if ev is None else ev, patients() if pts is None else pts, "arm", ARMS, store, "table4", "tbl-ae",
                    "Adverse events", inputs=("adverse_events.csv", "patients.csv"), **kw)
    return t, store


def test_worst_grade_and_arm_denominators():
    _, store = build()
    assert store["table4.peripheral_neuropathy_g1_2.ID"].raw == 7
    assert store["table4.peripheral_neuropathy_g3_4.ID"].raw == 5
    assert store["table4.peripheral_neuropathy.ID"].raw == {"n": 12, "N": 20}
    assert store["table4.peripheral_neuropathy.DT"].raw == {"n": 4, "N": 20}
    assert store["table4.n.DT"].raw == 20


def test_tests_on_total_incidence_and_fisher_marks():
    t, store = build()
    neuro = compare_counts([[12, 4], [8, 16]])
    neutro = compare_counts([[10, 9], [10, 11]])
    assert neuro.method == "pearson" and neutro.method == "pearson"
    assert store["table4.peripheral_neuropathy.p"].raw == pytest.approx(neuro.p, rel=1e-12)
    assert store["table4.neutropenia.stat"].raw == pytest.approx(neutro.statistic, rel=1e-12)
    assert t.footnotes == []
    ev = events()
    drop = [f"P{i:02d}" for i in (*range(6, 10), *range(21, 29))]
    ev = ev[~((ev.term == "Neutropenia") & ev.patient_id.isin(drop))]  # 6 vs 1: expected 3.5, Fisher
    t, store = build(ev)
    row = next(r for r in t.rows if r.label == "Neutropenia")
    assert row.marks == ["a"] and t.footnotes == ["Fisher's exact test"]
    assert "stat" not in row.cells and "table4.neutropenia.stat" not in store
    assert store["table4.neutropenia.p"].raw == compare_counts([[6, 1], [14, 19]]).fisher_p


def test_category_group_headers_in_data_order():
    t, _ = build()
    assert [(r.label, r.is_group_header) for r in t.rows] == [
        ("Non-hematologic", True), ("Peripheral neuropathy", False), ("Hematologic", True), ("Neutropenia", False)
    ]
    assert [c.spanner for c in t.columns[:3]] == ["ID group (n=20)"] * 3


def test_bands_are_configurable_and_grades_outside_are_errors():
    _, store = build(bands=(("1–2", 1, 2), ("3–5", 3, 5)))
    assert store["table4.peripheral_neuropathy_g3_5.ID"].raw == 5
    ev = events()
    ev.loc[0, "grade"] = 5
    with pytest.raises(DataValidationError, match="adverse_events.csv, column `grade`: worst grade"):
        build(ev)


def test_unknown_patient_is_an_error():
    ev = events()
    ev.loc[0, "patient_id"] = "P99"
    with pytest.raises(DataValidationError, match="not in the patients file.*got 'P99'"):
        build(ev)


def test_snapshots(snapshot):
    t, _ = build()
    assert to_markdown(t) == snapshot(name="markdown")
    assert to_text(t) == snapshot(name="text")


def test_counts_equal_a_straightforward_count_on_awkward_data():
    """The table counts on integer codes; a plain loop over patients gives the same cells on
    repeated rows with different grades (the worst counts), rows out of order, patients
    without events, a term seen in one arm only, a listed term without events, three bands."""
    import random

    rng = random.Random(3)
    pts = pd.DataFrame({"patient_id": [f"Q{i}" for i in range(300)],
                        "arm": [rng.choice(["ID", "DT"]) for _ in range(300)]})
    terms = {"rash": "skin", "itch": "skin", "nausea": "gut", "anemia": "blood"}
    rows = []
    for _ in range(2000):
        pid = f"Q{rng.randrange(250)}"  # patients Q250-Q299 have no events
        term = rng.choice(list(terms))
        if term == "itch" and pts.set_index("patient_id").loc[pid, "arm"] == "DT":
            continue  # itch only in ID
        rows.append((pid, term, terms[term], rng.randint(1, 5)))
    ev = pd.DataFrame(rows, columns=["patient_id", "term", "category", "grade"])
    bands = (("1–2", 1, 2), ("3", 3, 3), ("4–5", 4, 5))
    listed = [(t, t.title()) for t in terms] + [("fever", "Fever", "general")]
    _, store = build(ev=ev, pts=pts, bands=bands, terms=listed)
    arm_of = dict(zip(pts.patient_id, pts.arm, strict=True))
    sizes = pts.arm.value_counts().to_dict()
    for term in [*terms, "fever"]:
        worst = {}
        for pid, t, _, grade in rows:
            if t == term:
                worst[pid] = max(worst.get(pid, 0), grade)
        for arm in ("ID", "DT"):
            mine = [g for pid, g in worst.items() if arm_of[pid] == arm]
            assert store[f"table4.{term}.{arm}"].raw == {"n": len(mine), "N": sizes[arm]}
            for label, lo, hi in bands:
                slug = label.replace("–", "_")
                assert store[f"table4.{term}_g{slug}.{arm}"].raw == sum(lo <= g <= hi for g in mine)

