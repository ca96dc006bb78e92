"""The strict, sandboxed template environment over the results store."""

from pathlib import Path

import pytest

from analysis.errors import TemplateError
from analysis.results import ResultsStore
from analysis.templating import COMMENT_START, render_manuscript


def store() -> ResultsStore:
    s = ResultsStore("t")
    s.add("table2.cr.p", 0.0322000642003265, "p")
    s.add("table2.orr.p", 0.330071679808626, "p")
    s.add("pfs.median.ID", 30.03, "num", digits=2)
    s.add("pfs.median.RD", 25.04, "num", digits=2)
    s.add("protocol.days.0", 1, "int")
    s.add("protocol.days.1", 8, "int")
    s.add("protocol.days.2", 15, "int")
    s.add("protocol.start", "2014-01-01", "date")
    s.add("misc.tiny_p", 0.0000004, "p")
    return s


def render(tmp_path: Path, body: str, **context) -> str:
    (tmp_path / "t").mkdir(exist_ok=True)
    (tmp_path / "_shared").mkdir(exist_ok=True)
    (tmp_path / "t" / "manuscript.qmd.j2").write_text(body, encoding="utf-8")
    text = render_manuscript(tmp_path, "t", store(), context)
    return text


def test_values_print_as_spans_carrying_their_key(tmp_path):
    out = render(tmp_path, "Median {{ pfs.median.ID }} months.")
    assert out == 'Median [30.03]{.val title="pfs.median.ID"} months.'


def test_helpers_compute_wording_from_the_test(tmp_path):
    out = render(tmp_path, '{{ differs(table2.cr.p, "was higher", "did not differ") }}; '
                           '{{ differs(table2.orr.p, "was higher", "did not differ") }}; '
                           '{{ direction(pfs.median.ID, pfs.median.RD, "longer", "shorter", "equal") }}; '
                           '{{ protocol.days | and_list }}; {{ protocol.start | month_year }}; {{ pval(misc.tiny_p) }}; '
                           '{{ pfs.median.ID | digits(1) }}{% if table2.orr.p is significant %}!{% endif %}')
    assert 'was higher ([*P* = 0.032]{.val title="table2.cr.p"})' in out
    assert 'did not differ ([*P* = 0.330]{.val title="table2.orr.p"})' in out
    assert "; longer;" in out
    assert '[1]{.val title="protocol.days.0"}, [8]{.val title="protocol.days.1"} and [15]' in out
    assert '[January 2014]{.val .val-text title="protocol.start"}' in out
    assert r'[*P* \< 0.001]{.val title="misc.tiny_p"}' in out
    assert '[30.0]{.val title="pfs.median.ID"}' in out
    assert not out.endswith("!")


def test_undefined_key_fails_with_template_line_and_key(tmp_path):
    with pytest.raises(TemplateError) as err:
        render(tmp_path, "line one\nline two {{ pfs.medain.ID }}\n")
    assert str(err.value).split(": ", 1)[0].endswith("/t/manuscript.qmd.j2:2")
    assert 'undefined key "pfs.medain"' in str(err.value)
    assert 'did you mean "pfs.median"' in str(err.value)


def test_undefined_top_level_and_leaf_keys(tmp_path):
    with pytest.raises(TemplateError, match=r'manuscript.qmd.j2:3: undefined key "os"'):
        render(tmp_path, "\n\n{{ os.median.ID }}")
    with pytest.raises(TemplateError, match=r'undefined key "pfs.median.XX"'):
        render(tmp_path, "{{ pfs.median.XX }}")


def test_printing_a_group_is_an_error(tmp_path):
    with pytest.raises(TemplateError, match="`pfs.median` is a group of values"):
        render(tmp_path, "{{ pfs.median }}")


def test_comment_delimiters_leave_quarto_labels_alone(tmp_path):
    out = render(tmp_path, "# Results {#sec-results}\n\n: Caption {#tbl-x}\n" + COMMENT_START + " hidden ##}")
    assert out == "# Results {#sec-results}\n\n: Caption {#tbl-x}\n"


def test_sandbox_blocks_unsafe_attribute_access(tmp_path):
    with pytest.raises(TemplateError, match="unsafe|access"):
        render(tmp_path, "{{ pfs.__class__.__mro__ }}")


def test_syntax_errors_name_template_and_line(tmp_path):
    with pytest.raises(TemplateError, match=r"manuscript.qmd.j2:2: "):
        render(tmp_path, "ok\n{% if %}\n")


def test_unknown_table_and_figure(tmp_path):
    with pytest.raises(TemplateError, match='undefined table "tbl-nope"'):
        render(tmp_path, '{{ table("tbl-nope") }}')
    with pytest.raises(TemplateError, match='undefined figure "fig-nope"'):
        render(tmp_path, '{{ figure("fig-nope") }}')


def test_significant_refuses_non_p_values(tmp_path):
    with pytest.raises(TemplateError, match="not a P value"):
        render(tmp_path, "{% if pfs.median.ID is significant %}x{% endif %}")


def test_parts_of_composite_values_stay_bound(tmp_path):
    """Each part carries a key of its own: in "13 of 40" the 40 is not labelled as the count."""
    s = store()
    s.add("table2.cr.ID", {"n": 13, "N": 40}, "n_pct", digits=2)
    s.add("pfs.ci.ID", {"median": 30.03, "lower": 24.1, "upper": None}, "median_ci")
    (tmp_path / "t").mkdir()
    (tmp_path / "_shared").mkdir()
    (tmp_path / "t" / "manuscript.qmd.j2").write_text(
        "{{ table2.cr.ID.n }} ({{ table2.cr.ID.pct }}%) of {{ table2.cr.ID.N }}; {{ pfs.ci.ID.upper }}")
    text = render_manuscript(tmp_path, "t", s, {})
    assert text == ('[13]{.val title="table2.cr.ID.n"} ([32.50]{.val title="table2.cr.ID.pct"}%) of '
                    '[40]{.val title="table2.cr.ID.N"}; [NR]{.val title="pfs.ci.ID.upper"}')
    (tmp_path / "t" / "manuscript.qmd.j2").write_text("{{ table2.cr.ID.mean }}")
    with pytest.raises(TemplateError, match=r'undefined key "table2.cr.ID.mean".*table2.cr.ID.n'):
        render_manuscript(tmp_path, "t", s, {})


def test_direction_compares_what_composite_values_mean(tmp_path):
    s = store()
    s.add("ae.ID", {"n": 12, "N": 40}, "n_pct")
    s.add("ae.RD", {"n": 8, "N": 40}, "n_pct")
    s.add("hr.a", {"estimate": 0.7, "lower": 0.5, "upper": 0.9}, "ratio_ci")
    s.add("hr.b", {"estimate": 1.2, "lower": 0.9, "upper": 1.6}, "ratio_ci")
    (tmp_path / "t").mkdir()
    (tmp_path / "_shared").mkdir()
    (tmp_path / "t" / "manuscript.qmd.j2").write_text(
        '{{ direction(ae.ID, ae.RD, "more", "less", "as") }} {{ direction(hr.a, hr.b, "higher", "lower", "equal") }} '
        '{{ direction(ae.ID, ae.ID, "more", "less", "as") }}')
    text = render_manuscript(tmp_path, "t", s, {})
    assert text == "more lower as"


def test_compiled_templates_are_kept_on_disk_between_processes(tmp_path, monkeypatch):
    """A cold process loads the bytecode an earlier one compiled (Jinja checks the source's
    checksum, so an edited template is compiled again); no usable cache folder, no error."""
    import jinja2

    from analysis import templating

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "a.md.j2").write_text("Hello {{ name }}.\n", encoding="utf-8")
    disk = jinja2.FileSystemBytecodeCache(str(tmp_path / "cache"), "%s.cache")
    (tmp_path / "cache").mkdir()
    monkeypatch.setattr(jinja2, "FileSystemBytecodeCache", lambda pattern: disk)

    def render(cache):
        monkeypatch.setattr(templating, "_BYTECODE_CACHE", cache)
        return templating.make_environment([folder]).get_template("a.md.j2").render(name="Ada")

    compiled = []
    monkeypatch.setattr(jinja2.Environment, "_compile",
                        lambda self, source, filename, _orig=jinja2.Environment._compile:
                        compiled.append(filename) or _orig(self, source, filename))
    assert render(templating._BytecodeCache()) == "Hello Ada.\n"
    assert len(compiled) == 1 and len(list((tmp_path / "cache").iterdir())) == 1
    assert render(templating._BytecodeCache()) == "Hello Ada.\n"  # a new process: from disk
    assert len(compiled) == 1
    (folder / "a.md.j2").write_text("Goodbye {{ name }}.\n", encoding="utf-8")
    assert render(templating._BytecodeCache()) == "Goodbye Ada.\n"
    assert len(compiled) == 2

    def unsafe(pattern):
        raise RuntimeError("Cannot determine safe temp directory.")

    monkeypatch.setattr(jinja2, "FileSystemBytecodeCache", unsafe)
    assert render(templating._BytecodeCache()) == "Goodbye Ada.\n"


def test_a_table_rendered_again_is_the_same_and_a_changed_table_is_rendered_anew(tmp_path):
    """The markdown of tables is remembered between renderings (the preview's), keyed on the
    table's content: a changed cell shows, and the remembered text equals a fresh rendering."""
    from analysis.tables.model import Cell, Column, Row, Table
    from analysis.tables.render import to_markdown

    def with_table(count: int) -> ResultsStore:
        s = store()
        t = Table("tbl-x", "Counts", columns=[Column("n", "n")])
        t.add_row(Row("Patients", cells={"n": Cell(count, "int")}))
        s.add_table(t)
        return ResultsStore.from_json(s.to_json())

    (tmp_path / "t").mkdir()
    (tmp_path / "_shared").mkdir()
    (tmp_path / "t" / "manuscript.qmd.j2").write_text('{{ table("tbl-x") }}', encoding="utf-8")
    first, again = (render_manuscript(tmp_path, "t", with_table(12), {}) for _ in range(2))
    changed = render_manuscript(tmp_path, "t", with_table(13), {})
    assert first == again and "12" in first and "13" in changed and "12" not in changed
    fresh = with_table(13)
    assert changed.strip("\n") == to_markdown(fresh.tables["tbl-x"], fresh.style).strip("\n")
