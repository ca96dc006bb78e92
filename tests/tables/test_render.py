"""Rendering: pandoc grid tables (spans, alignment, caption, notes) and plain text."""

import json
import re

import pypandoc
import pytest

from analysis.formatting import Style
from analysis.tables.model import Cell, Column, Row, Table
from analysis.tables.render import INDENT, to_markdown, to_text


def ae_table() -> Table:
    t = Table("tbl-ae", "Adverse events by arm", "Adverse event")
    for arm in ("ID", "DT"):
        for key, head in (("g12", "Grade 1–2"), ("g34", "Grade 3–4"), ("tot", "Total")):
            t.columns.append(Column(f"{arm}_{key}", head, f"{arm} group (n=40)"))
    t.columns += [Column("stat", "χ²"), Column("p", "P")]
    t.rows.append(Row("Hematologic toxicities", is_group_header=True))
    mark = t.mark("Fisher's exact test")
    t.rows.append(Row("Thrombocytopenia", {"ID_g12": Cell(2, "int"), "ID_g34": Cell(1, "int"),
                                           "ID_tot": Cell({"n": 3, "N": 40}, "n_pct"),
                                           "DT_tot": Cell({"n": 0, "N": 40}, "n_pct"),
                                           "p": Cell(0.2405, "p")}, indent=1, marks=[mark]))
    t.rows.append(Row("Neutropenia", {"ID_tot": Cell({"n": 13, "N": 40}, "n_pct"),
                                      "DT_tot": Cell({"n": 5, "N": 40}, "n_pct"),
                                      "stat": Cell(4.58781362007168, "stat"), "p": Cell(0.0004, "p")}, indent=1))
    t.notes.append("Values are n (%).")
    return t


def native(md: str) -> dict:
    return json.loads(pypandoc.convert_text(md, "json", format="markdown"))


def table_block(md: str) -> dict:
    return next(b for b in native(md)["blocks"] if b["t"] == "Table")


def test_markdown_is_a_grid_table_with_caption_label_and_notes_div():
    md = to_markdown(ae_table(), Style())
    lines = md.splitlines()
    assert lines[0].startswith("+---")
    assert "+:====" in md and "=:+" in md  # left stub, right-aligned numbers
    assert ": Adverse events by arm {#tbl-ae}" in lines
    assert md.endswith("::: {.table-notes}\nValues are n (%).\n\n^a^ Fisher's exact test\n:::\n")
    assert f"| {INDENT}Thrombocytopenia^a^" in md
    assert "\\<0.001" in md  # escaped, read literally
    # no cell text is indented by 4+ spaces (that would be a code block inside the cell)
    assert not re.search(r"\| {5,}[^ |+]", md)


def test_pandoc_reads_spans_alignment_caption_and_id():
    md = to_markdown(ae_table())
    tbl = table_block(md)
    attr, caption, colspecs, head = tbl["c"][0], tbl["c"][1], tbl["c"][2], tbl["c"][3]
    assert attr[0] == "tbl-ae"
    words = [i["c"] for i in caption[1][0]["c"] if i["t"] == "Str"]
    assert words == ["Adverse", "events", "by", "arm"]
    assert len(colspecs) == 9
    assert [c[0]["t"] for c in colspecs] == ["AlignLeft"] + ["AlignRight"] * 8
    widths = [c[1]["c"] for c in colspecs]
    assert sum(widths) <= 1.0 and widths[0] == max(widths)
    first, second = head[1][0][1], head[1][1][1]
    # stub header, two arm spanners (3 columns each), chi2 and P spanning both header rows
    assert [(c[2], c[3]) for c in first] == [(2, 1), (1, 3), (1, 3), (2, 1), (2, 1)]
    assert len(second) == 6
    body_rows = tbl["c"][4][0][3]
    assert body_rows[0][1][0][3] == 9  # group header spans the whole table


@pytest.mark.parametrize("fmt", ["html", "docx", "typst"])
def test_other_writers_accept_the_table(fmt, tmp_path):
    md = to_markdown(ae_table())
    if fmt == "docx":
        out = tmp_path / "t.docx"
        pypandoc.convert_text(md, "docx", format="markdown", outputfile=str(out))
        assert out.stat().st_size > 0
        return
    text = pypandoc.convert_text(md, fmt, format="markdown")
    if fmt == "html":
        assert 'colspan="3"' in text and 'rowspan="2"' in text and 'colspan="9"' in text
        assert "text-align: right" in text and "<sup>a</sup>" in text
    else:
        assert "table.cell(colspan: 3)" in text and "table.cell(rowspan: 2)" in text
        assert "table.cell(colspan: 9)" in text


def test_renders_from_the_dict_alone():
    t = ae_table()
    assert to_markdown(t.to_dict()) == to_markdown(t)
    assert to_text(t.to_dict()) == to_text(t)


def test_table_without_spanners_has_one_header_row():
    t = Table("tbl-b", "Baseline", "Characteristic", [Column("ID", "ID (n=40)"), Column("p", "P")],
              [Row("Age", {"ID": Cell({"mean": 63.94, "sd": 11.43}, "mean_sd"), "p": Cell(0.5, "p")})])
    tbl = table_block(to_markdown(t))
    assert len(tbl["c"][3][1]) == 1


def test_style_reaches_every_cell():
    md = to_markdown(ae_table(), Style(pct_digits=2, p_digits=2))
    assert "13 (32.50)" in md and "0.24" in md


def test_markdown_snapshot(snapshot):
    assert to_markdown(ae_table()) == snapshot


def test_text_snapshot(snapshot):
    assert to_text(ae_table()) == snapshot
