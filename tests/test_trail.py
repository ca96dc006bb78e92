"""The paper trail: sources in results.json are true, and every bound span prints its own value."""

from __future__ import annotations

import html.parser

import pytest

from analysis.errors import ResultsError
from analysis.results import ResultsStore, Source
from analysis.tables.model import CellBinder, Column, Row, Table
from analysis.trail import bind_table_sources, cell_locations, check_spans, check_trail, span_texts


def _store() -> ResultsStore:
    """A store with one stored table (a group row and an indented level row) and one P value."""
    store = ResultsStore("t")
    store.inputs = {"patients.csv": "ab" * 32}
    bind = CellBinder(store, "table1", "tbl-baseline", inputs=["patients.csv"])
    table = Table("tbl-baseline", "Baseline", columns=[Column("A", "Arm A (n=10)"), Column("p", "P")])
    table.add_row(Row("Sex", cells={"p": bind.cell(["sex", "p"], 0.302, "p", test="Pearson chi-square",
                                                   where="wrong/guess")}))
    table.add_row(Row("Male", cells={"A": bind.cell(["sex", "male", "A"], {"n": 4, "N": 10}, "n_pct")}, indent=1))
    store.add_table(table)
    # a builder's claim on a table the study never stored
    store.add("pfs.events.A", 7, "int", test="count of events", table="tbl-pfs", cell="A/Events",
              inputs=["patients.csv"])
    bind_table_sources(store)
    return store


MANUSCRIPT = ": Baseline {#tbl-baseline}\n"


def test_sources_are_rebound_to_where_the_value_is_shown():
    store = _store()
    assert store["table1.sex.p"].source.cell == "Sex/P"
    assert store["table1.sex.male.A"].source.cell == "Sex › Male/Arm A (n=10)"
    # the value of a table that was never stored keeps its test and inputs, not the table
    src = store["pfs.events.A"].source
    assert (src.table, src.cell, src.test, src.inputs) == (None, None, "count of events", ("patients.csv",))
    check_trail(store, MANUSCRIPT)
    assert set(cell_locations(store)) == {"table1.sex.p", "table1.sex.male.A"}


def _replace_source(store: ResultsStore, key: str, **fields) -> None:
    import dataclasses

    value = store.values[key]
    store.values[key] = dataclasses.replace(value, source=dataclasses.replace(value.source, **fields))


@pytest.mark.parametrize("mutate, message", [
    (lambda s: _replace_source(s, "pfs.events.A", table="tbl-pfs", cell="A/Events"),
     "`pfs.events.A` names table 'tbl-pfs', which does not exist"),
    (lambda s: _replace_source(s, "table1.sex.p", cell="Sex/Statistic"),
     "`table1.sex.p` names cell 'Sex/Statistic' of 'tbl-baseline'; the value is in cell 'Sex/P'"),
    (lambda s: _replace_source(s, "table1.sex.p", inputs=("other.csv",)),
     "`table1.sex.p` names input file 'other.csv', which is not among the hashed inputs"),
    (lambda s: _replace_source(s, "table1.sex.p", test=None),
     "`table1.sex.p` is a 'p' value but names no test"),
    (lambda s: s.tables["tbl-baseline"]["rows"][1]["cells"]["A"].update(raw={"n": 5, "N": 10}),
     "cell 'Sex › Male/Arm A (n=10)' of 'tbl-baseline' shows '5 (50.0)' but the value prints as '4 (40.0)'"),
])
def test_a_dangling_source_fails_naming_key_and_target(mutate, message):
    store = _store()
    mutate(store)
    with pytest.raises(ResultsError) as err:
        check_trail(store, MANUSCRIPT)
    assert message in str(err.value)


def test_a_table_the_manuscript_does_not_show_is_dangling():
    with pytest.raises(ResultsError, match="names table 'tbl-baseline', which the manuscript does not show"):
        check_trail(_store(), "no tables here\n")


def test_the_test_named_must_be_the_one_the_row_is_footnoted_with():
    store = ResultsStore("t")
    bind = CellBinder(store, "table4", "tbl-ae")
    table = Table("tbl-ae", "AEs", columns=[Column("p", "P")])
    fisher = table.mark("Fisher's exact test")
    table.add_row(Row("Nausea", cells={"p": bind.cell(["nausea", "p"], 0.61, "p", test="Fisher's exact test")},
                      marks=[fisher]))
    table.add_row(Row("Neuropathy", cells={"p": bind.cell(["neuropathy", "p"], 0.032, "p", test="Pearson chi-square")},
                      marks=[fisher]))
    store.add_table(table)
    bind_table_sources(store)
    with pytest.raises(ResultsError) as err:
        check_trail(store, ": AEs {#tbl-ae}\n")
    assert "`table4.neuropathy.p` names test 'Pearson chi-square' but its row in 'tbl-ae' is footnoted " \
           "\"Fisher's exact test\"" in str(err.value)
    assert "nausea" not in str(err.value)


def _html(*spans: str) -> str:
    return "<html><body><p>" + " ".join(spans) + "</p></body></html>"


def test_spans_are_checked_against_their_own_values(tmp_path):
    store = ResultsStore("t")
    store.add("series.orr", {"n": 13, "N": 21}, "n_pct")
    store.add("series.p", 0.0466, "p", test="Fisher's exact test")
    store.add("series.median", 30.031, "num", digits=2)
    page = tmp_path / "m.html"
    page.write_text(_html(
        '<span class="val" title="series.orr.n">13</span> of <span class="val" title="series.orr.N">21</span>',
        '(<span class="val" title="series.orr.pct">61.9</span>%, <span class="val" title="series.orr">13 (61.9)</span>)',
        '<span class="val" title="series.p"><em>P</em> = 0.047</span>',
        '<span class="val" title="series.median">30.0</span>',  # re-printed with digits(1)
    ), encoding="utf-8")
    assert check_spans(page, store) == 6
    assert span_texts(page.read_text())[4] == ("series.p", "P = 0.047")


@pytest.mark.parametrize("span, message", [
    # "13 of 21" with both numbers carrying the count's key
    ('<span class="val" title="series.orr">21</span>',
     "the span of `series.orr` prints '21', which is not a formatting of its value ('13 (61.9)')"),
    ('<span class="val" title="series.orr.N">13</span>', "the span of `series.orr.N` prints '13'"),
    ('<span class="val" title="series.orr.q">13</span>', "a span carries key `series.orr.q`, which results.json"),
    ('<span class="val" title="series.missing">1</span>', "a span carries key `series.missing`"),
])
def test_a_span_that_prints_another_value_fails(tmp_path, span, message):
    store = ResultsStore("t")
    store.add("series.orr", {"n": 13, "N": 21}, "n_pct")
    page = tmp_path / "m.html"
    page.write_text(_html(span), encoding="utf-8")
    with pytest.raises(ResultsError) as err:
        check_spans(page, store)
    assert message in str(err.value)


def test_sources_round_trip_through_json():
    store = _store()
    again = ResultsStore.from_json(store.to_json())
    assert again["table1.sex.male.A"].source == Source(
        test=None, table="tbl-baseline", cell="Sex › Male/Arm A (n=10)", inputs=("patients.csv",))
    check_trail(again, MANUSCRIPT)


class _ReferenceSpans(html.parser.HTMLParser):
    """The bound spans of a page as the standard library's HTML parser sees them: the oracle
    for :func:`span_texts`, which scans for span tags only."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.spans: list[tuple[str, str]] = []
        self._open: list[tuple[str | None, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "span":
            attr = dict(attrs)
            bound = "val" in (attr.get("class") or "").split()
            self._open.append(((attr.get("data-key") or attr.get("title")) if bound else None, []))

    def handle_endtag(self, tag):
        if tag == "span" and self._open:
            key, parts = self._open.pop()
            text = "".join(parts)
            if key is not None:
                self.spans.append((key, text))
            if self._open:
                self._open[-1][1].append(text)

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)


def test_span_texts_finds_what_an_html_parser_finds_in_tricky_markup():
    page = ('<script>var s = "<span class=\\"val\\" title=\\"no\\">1</span>";</script><!-- <span class="val"> -->'
            '<p><span class="val" data-key="a.b" data-tip="x &gt; 1 &amp; &quot;y&quot;" tabindex="0">'
            '<em>P</em> &lt; 0.001</span> and <span class="other"><span class=\'val\' title="c">2&#8201;%</span></span>'
            '<SPAN CLASS="val x" TITLE="d">3</SPAN ></p>')
    reference = _ReferenceSpans()
    reference.feed(page)
    assert span_texts(page) == reference.spans == [("a.b", "P < 0.001"), ("c", "2\u2009%"), ("d", "3")]


@pytest.mark.parametrize("study", ["ixazomib_ndmm", "ird_rrmm"])
def test_span_texts_finds_what_an_html_parser_finds_in_each_study(study, study_report):
    page = (study_report(study) / "manuscript.html").read_text(encoding="utf-8")
    reference = _ReferenceSpans()
    reference.feed(page)
    assert span_texts(page) == reference.spans and len(reference.spans) > 100
