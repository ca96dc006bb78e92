"""No injected markup: plain strings reach the reader as text, links and files stay inside.

Every hostile string is run through the real pandoc (the wheel's binary, the manuscript's
reader) and the parsed document is checked node by node: only text may come out.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from analysis.errors import ConfigError, RenderError
from analysis.markup import Markdown, code_span, md_attr, md_escape, spreadsheet_safe, yaml_quote, yaml_value
from analysis.render import READER, SAFE_LINKS_FILTER, pandoc_path
from analysis.render import render as render_formats
from analysis.results import ResultsStore
from analysis.templating import render_manuscript

SHARED = Path(__file__).resolve().parents[1] / "templates" / "_shared"

HOSTILE = [
    "<script>alert(1)</script>",
    "`x`{=html}",
    "`<b>x</b>`{=html}",
    "[x](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    '<img src="/etc/passwd">',
    "![x](/etc/passwd)",
    "![x](../../../etc/passwd)",
    "[y]{onclick=alert(1)}",
    "\\begin{document}\\input{/etc/passwd}",
    "$\\frac{a}{b}$ and $x$",
    "@kumar2016imwg and [@fig-cr]",
    "*emph* __strong__ ~sub~ ^sup^ ~~del~~",
    "a | b | c",
    "- a list item",
    "+ another",
    "1. ordered",
    "12) ordered",
    ": caption-like",
    "# heading",
    "> quote",
    "===",
    "&lt;script&gt; &amp; &#60;",
    "<!-- comment -->",
    "<http://example.com>",
    "a\\*b\\\\c",
    "two\n\nparagraphs\n- and a list",
    "    indented code",
    "```\nfence\n```",
    "::: {.div}\nx\n:::",
    "Drug_A (n=40), 5 mg/m², P < 0.05 & P > 0.01",
    "{#sec-x .class key=value}",
    "x\\\n",
]

# inline nodes a plain string may turn into: anything else is markup
_TEXT_NODES = {"Str", "Space", "SoftBreak", "Para", "Plain", "Quoted", "DoubleQuote", "SingleQuote"}


def pandoc_json(text: str, filters: tuple[str, ...] = ()) -> dict:
    cmd = [pandoc_path(), "--from", READER, "--to", "json"]
    for name in filters:
        cmd += ["--lua-filter", str(SHARED / name)]
    proc = subprocess.run(cmd, input=text, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def walk(node, types: set[str], texts: list[str]) -> None:
    if isinstance(node, dict):
        if "t" in node:
            types.add(node["t"])
            if node["t"] == "Str":
                texts.append(node["c"])
            elif node["t"] in ("Space", "SoftBreak"):
                texts.append(" ")
            elif node["t"] == "Quoted":  # smart quotes: typography, not markup
                mark = '"' if node["c"][0]["t"] == "DoubleQuote" else "'"
                texts.append(mark)
                walk(node["c"][1], types, texts)
                texts.append(mark)
                return
        for value in node.values():
            walk(value, types, texts)
    elif isinstance(node, list):
        for item in node:
            walk(item, types, texts)


def literal_text(markdown: str) -> tuple[set[str], str]:
    """The node types and the text pandoc reads from ``markdown``."""
    doc = pandoc_json(markdown)
    types: set[str] = set()
    texts: list[str] = []
    walk(doc["blocks"], types, texts)
    return types, "".join(texts)


def collapse(text: str) -> str:
    """Whitespace runs as one space, and pandoc's smart dashes and ellipses (typography, not
    markup) as the characters they become."""
    text = text.replace("---", "\u2014").replace("--", "\u2013").replace("...", "\u2026")
    return " ".join(text.split())


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_string_is_read_back_as_exactly_that_text(text):
    types, read = literal_text("Before " + md_escape(text) + " after.\n")
    assert types <= _TEXT_NODES, f"{text!r} became markup: {types - _TEXT_NODES}"
    assert collapse(read) == collapse(f"Before {text} after.")


@pytest.mark.parametrize("text", HOSTILE)
def test_escaped_string_at_the_start_of_a_line_starts_no_block(text):
    types, read = literal_text(md_escape(text) + "\n")
    assert types <= _TEXT_NODES, f"{text!r} became markup: {types - _TEXT_NODES}"
    assert collapse(read) == collapse(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_front_matter_value_is_plain_text_in_metadata(text):
    doc = pandoc_json(f"---\ntitle: {yaml_value(text)}\nkeywords: {yaml_value([text, 'b'])}\n---\n\nBody.\n")
    title = doc["meta"]["title"]
    types: set[str] = set()
    texts: list[str] = []
    walk(title, types, texts)
    assert types <= _TEXT_NODES | {"MetaInlines"}, types
    assert collapse("".join(texts)) == collapse(text)
    assert len(doc["meta"]["keywords"]["c"]) == 2


def test_yaml_quote_round_trips_through_a_yaml_reader():
    for text in [*HOSTILE, 'quote " and \\ backslash', "tab\tand\u2028line sep\x00nul", "emoji \U0001f600"]:
        assert yaml.safe_load(f"k: {yaml_quote(text)}") == {"k": text}
    assert yaml.safe_load(f"k: {yaml_value({'a': ['x_y', 2, None, True]})}") == {
        "k": {"a": ["x\\_y", 2, None, True]}}


def test_markdown_is_not_escaped_twice():
    assert md_escape(Markdown("*P*")) == "*P*"
    assert yaml_value(Markdown("*T*")) == '"*T*"'


@pytest.mark.parametrize("text", ["a`b", "`x", "x``y`", "plain_file.py", "<script>"])
def test_code_span_shows_its_text_verbatim(text):
    doc = pandoc_json(f"See {code_span(text)}.\n")
    codes = [n["c"][1] for n in doc["blocks"][0]["c"] if n["t"] == "Code"]
    assert codes == [text]


@pytest.mark.parametrize(("cell", "expected"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("-", "'-"),
    ("-6.324", "-6.324"),
    ("+1.5e3", "+1.5e3"),
    ("\u22120.519", "\u22120.519"),
    ("Age, years", "Age, years"),
    (-0.52, -0.52),
    (3, 3),
    (None, None),
])
def test_spreadsheet_safe_cells(cell, expected):
    assert spreadsheet_safe(cell) == expected


# -- templates ---------------------------------------------------------------------------------
def small_store() -> ResultsStore:
    s = ResultsStore("t")
    s.add("cr.p", 0.0322000642003265, "p")
    s.add("protocol.note", "![x](/etc/passwd) <script>alert(1)</script>", "text")
    return s


def render(tmp_path: Path, body: str, **context) -> str:
    (tmp_path / "t").mkdir(exist_ok=True)
    (tmp_path / "_shared").mkdir(exist_ok=True)
    (tmp_path / "t" / "manuscript.qmd.j2").write_text(body, encoding="utf-8")
    return render_manuscript(tmp_path, "t", small_store(), context)


def test_settings_strings_are_escaped_and_template_markup_is_not(tmp_path):
    arms = [{"short": "<script>alert(1)</script>", "label": "[x](javascript:alert(1))"}]
    out = render(tmp_path, "**Arms**: {{ study.arms[0].short }}, {{ study.arms[0].label }}; "
                           "{{ protocol.note }}; {{ 'a_b' }}; {{ lit('10^9^') }}",
                 study={"arms": arms})
    assert out.startswith("**Arms**: \\<script\\>alert(1)\\</script\\>, \\[x\\](javascript:alert(1)); ")
    assert '[!\\[x\\](/etc/passwd) \\<script\\>alert(1)\\</script\\>]{.val .val-text title="protocol.note"}' in out
    assert out.endswith("; a\\_b; 10^9^")


def test_helper_wordings_are_plain_text_unless_made_by_lit(tmp_path):
    out = render(tmp_path, '{{ differs(cr.p, study.yes, "no") }} / {{ differs(cr.p, lit("*higher*"), "no") }} / '
                           '{{ [study.yes, "b"] | and_list }}', study={"yes": "<b>yes</b>"})
    assert out == ('\\<b\\>yes\\</b\\> ([*P* = 0.032]{.val title="cr.p"}) / *higher* ([*P* = 0.032]'
                   '{.val title="cr.p"}) / \\<b\\>yes\\</b\\> and b')


def test_attribute_values_are_escaped():
    doc = pandoc_json(f'[x]{{.val title="{md_attr(chr(34) + "a} b" + chr(92))}"}}\n')
    span = doc["blocks"][0]["c"][0]
    assert span["t"] == "Span" and dict(span["c"][0][2])["title"] == '"a} b\\'


def test_front_matter_filter_quotes_and_escapes(tmp_path):
    out = render(tmp_path, "---\ntitle: {{ study.title | tojson }}\nkw: {{ study.kw | yaml }}\n---\n",
                 study={"title": 'T: "x" <script>\nheader-includes: y', "kw": ["a_b", "c"]})
    meta = yaml.safe_load(out.split("---")[1])
    assert meta == {"title": 'T: "x" \\<script\\> header-includes: y', "kw": ["a\\_b", "c"]}


def test_symlink_out_of_the_templates_folder_is_refused(tmp_path):
    (tmp_path / "secret.txt").write_text("root:x:0:0", encoding="utf-8")
    templates = tmp_path / "templates"
    (templates / "t").mkdir(parents=True)
    os.symlink(tmp_path, templates / "t" / "etc")
    with pytest.raises(ConfigError, match=r"templates/t/etc: a symlink to .*, outside templates/; "
                                          r"template folders may link only"):
        render(templates, "{% include 'etc/secret.txt' %}")
    (templates / "t" / "etc").unlink()
    os.symlink(tmp_path / "secret.txt", templates / "_shared" / "part.md.j2")
    with pytest.raises(ConfigError, match=r"templates/_shared/part.md.j2: a symlink to .*secret.txt"):
        render(templates, "{% include 'part.md.j2' %}")


def test_symlink_inside_the_templates_folder_is_allowed(tmp_path):
    (tmp_path / "_shared").mkdir()
    (tmp_path / "_shared" / "part.md.j2").write_text("shared part", encoding="utf-8")
    (tmp_path / "t").mkdir()
    os.symlink(tmp_path / "_shared" / "part.md.j2", tmp_path / "t" / "linked.md.j2")
    assert render(tmp_path, "{% include 'linked.md.j2' %}") == "shared part"


# -- the reader and the link filter ------------------------------------------------------------
def html_of(tmp_path: Path, body: str) -> str:
    qmd = tmp_path / "manuscript.qmd"
    qmd.write_text(body, encoding="utf-8")
    (out,) = render_formats(qmd, SHARED, formats=("html",))
    return out.read_text(encoding="utf-8")


def test_raw_html_tex_and_attributes_are_read_as_text(tmp_path):
    html = html_of(tmp_path, "A <script>alert(1)</script> and `<b>x</b>`{=html} and <img src=\"/etc/passwd\">\n\n"
                             "\\input{/etc/passwd} and <div>d</div>\n\n```{=html}\n<script>bad()</script>\n```\n")
    body = html.split("<body>")[1]
    assert "<script>" not in body and "<img" not in body and "<b>" not in body and "<div>d" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "root:" not in html


@pytest.mark.parametrize(("markdown", "target", "why"), [
    ("[x](javascript:alert(1))", "javascript:alert(1)", "scheme `javascript:` is not allowed"),
    ("[x](JavaScript:alert(1))", "JavaScript:alert(1)", "scheme `JavaScript:` is not allowed"),
    ("[x](java&#9;script:alert(1))", "java%20script:alert(1)", "scheme `javascript:` is not allowed"),
    ("[x](data:text/html;base64,PHNjcmlwdD4=)", "data:text/html;base64,PHNjcmlwdD4=", "scheme `data:`"),
    ("[x](file:///etc/passwd)", "file:///etc/passwd", "scheme `file:`"),
    ("![x](/etc/passwd)", "/etc/passwd", "an absolute path is not allowed"),
    ("![x](//evil.example/x.png)", "//evil.example/x.png", "an absolute path is not allowed"),
    ("![x](../../etc/passwd)", "../../etc/passwd", "a `..` segment is not allowed"),
    ("![x](figures/%2e%2e/%2e%2e/secret)", "figures/%2e%2e/%2e%2e/secret", "a `..` segment is not allowed"),
    ("![x](C:/Windows/win.ini)", "C:/Windows/win.ini", "scheme `C:` is not allowed"),
])
def test_unsafe_link_targets_fail_the_build_naming_the_target(tmp_path, markdown, target, why):
    with pytest.raises(RenderError, match="unsafe (link|image) target") as exc:
        html_of(tmp_path, f"Text {markdown}.\n")
    assert f'"{target}"' in str(exc.value) and why in str(exc.value)


def test_unsafe_link_in_front_matter_fails_too(tmp_path):
    with pytest.raises(RenderError, match='unsafe link target "javascript:x"'):
        html_of(tmp_path, "---\ntitle: \"[t](javascript:x)\"\n---\n\nBody.\n")


def test_event_handler_attributes_are_refused(tmp_path):
    with pytest.raises(RenderError, match="unsafe attribute `onclick` on a Span element"):
        html_of(tmp_path, "[y]{onclick=\"alert(1)\"}\n")


def test_safe_links_pass(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "f.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"/>')
    html = html_of(tmp_path, "# Sec {#sec-a}\n\n[w](https://example.org/a?b=c) [m](mailto:a@b.org) "
                             "[d](doi:10.1000/1) [s](#sec-a) [r](results.json)\n\n![f](figures/f.svg)\n")
    for href in ('href="https://example.org/a?b=c"', 'href="mailto:a@b.org"', 'href="doi:10.1000/1"',
                 'href="#sec-a"', 'href="results.json"'):
        assert href in html
    assert "data:image/svg+xml;base64," in html


def test_link_filter_runs_after_citeproc_in_every_format():
    from analysis.render import _pandoc_common

    args = _pandoc_common(SHARED, "docx-png.lua")
    assert args.index("--citeproc") < len(args) - 4
    assert args[-4:] == ["--lua-filter", str(SHARED / SAFE_LINKS_FILTER), "--resource-path", "."]


def test_setting_printed_unquoted_into_the_front_matter_fails_with_a_hint(tmp_path):
    from analysis.errors import TemplateError

    with pytest.raises(TemplateError, match=r"templates/t/manuscript.qmd.j2: the YAML front matter it generates is "
                                            r"not valid YAML \(line 2 of the generated front matter\): .*"
                                            r"print settings there as `\{\{ value \| yaml \}\}`"):
        render(tmp_path, "---\ntitle: {{ study.title }}\n---\n", study={"title": "Drug: a trial"})
    assert render(tmp_path, "---\ntitle: {{ study.title | yaml }}\n---\n", study={"title": "Drug: a trial"}) == (
        '---\ntitle: "Drug: a trial"\n---\n')


def test_a_value_inside_backticks_is_refused_with_the_line(tmp_path):
    from analysis.errors import TemplateError

    with pytest.raises(TemplateError, match=r"t/manuscript.qmd.j2:2: `\{\{ study.path \}\}` prints a value inside "
                                            r"a code span.*write `\{\{ value \| code \}\}`"):
        render(tmp_path, "Line one.\nThe file `{{ study.path }}`.\n", study={"path": "a_b.py"})
    out = render(tmp_path, "{## `{{ x }}` in a comment is fine ##}The file {{ study.path | code }}; ``{{ '{{' }}``.\n",
                 study={"path": "a_b.py"})
    assert out.startswith("The file `a_b.py`;")


# -- tables --------------------------------------------------------------------------------------
def hostile_table():
    from analysis.tables.model import Cell, Column, Row, Table

    t = Table("tbl-x", "Caption <script>alert(1)</script> [c](javascript:x)", stub_header="=cmd|' /C calc'!A0",
              columns=[Column("a", "![h](/etc/passwd)"), Column("b", "Note", align="left")],
              notes=["A note with `x`{=html} and P < 0.05"])
    t.mark("Footnote @kumar2016imwg *x*")
    t.add_row(Row("=HYPERLINK(\"http://evil\")", {"a": Cell(3, "int"), "b": Cell("+cmd|x", "text")}, marks=["a"]))
    t.add_row(Row("- bullet [l](/etc/passwd)", {"a": Cell(-1.5, "num", 1), "b": Cell("-1.5", "text")}))
    return t


def test_table_labels_captions_and_notes_are_text_in_the_manuscript():
    from analysis.tables.render import to_markdown

    doc = pandoc_json(to_markdown(hostile_table()))
    types: set[str] = set()
    texts: list[str] = []
    walk(doc["blocks"], types, texts)
    markup = types - _TEXT_NODES - {"Table", "Div", "Superscript", "Strong", "AlignDefault", "AlignLeft",
                                    "AlignRight", "ColWidth", "RowHeadColumns"}
    assert not markup, markup
    text = "".join(texts)
    for piece in ("Caption <script>alert(1)</script> [c](javascript:x)", "![h](/etc/passwd)",
                  "=HYPERLINK(", "- bullet [l](/etc/passwd)", "`x`{=html} and P < 0.05",
                  "Footnote @kumar2016imwg *x*"):
        assert collapse(piece) in collapse(text), piece


def test_tidy_csv_cells_cannot_run_as_formulas(tmp_path):
    import pandas as pd

    from analysis.pipeline import _write_tables

    store = ResultsStore("t")
    store.add_table(hostile_table())
    _write_tables(store, tmp_path)
    frame = pd.read_csv(tmp_path / "tbl-x.csv", dtype=str, keep_default_na=False)
    assert list(frame["row"]) == ["'=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")",
                                  "'- bullet [l](/etc/passwd)", "'- bullet [l](/etc/passwd)"]
    assert list(frame["raw"]) == ["3", "'+cmd|x", "-1.5", "-1.5"]
    assert list(frame["text"]) == ["3", "'+cmd|x", "\u22121.5", "-1.5"]
    for line in (tmp_path / "tbl-x.csv").read_text(encoding="utf-8").splitlines():
        for cell in line.split(","):
            assert not cell.lstrip('"').startswith(("=", "@", "+cmd")), line


# -- end to end ----------------------------------------------------------------------------------
@pytest.mark.e2e
def test_hostile_settings_reach_every_format_as_text_and_embed_no_file(mini_project):
    from docx import Document
    from pypdf import PdfReader

    from analysis.pipeline import build

    study = mini_project / "data/mini/study.yaml"
    text = study.read_text(encoding="utf-8")
    text = text.replace("title: A minimal two-arm study for pipeline tests",
                        'title: "Title <script>alert(1)</script> `t`{=html}"')
    text = text.replace("{code: A, label: Drug A, short: A group}",
                        '{code: A, label: "![x](/etc/passwd)", short: "<script>alert(1)</script>"}')
    text = text.replace("  dose_mg: 4\n", '  dose_mg: 4\n  note: "<img src=\\"/etc/passwd\\"> [j](javascript:alert(1))"\n')
    study.write_text(text, encoding="utf-8")
    template = mini_project / "templates/mini/manuscript.qmd.j2"
    body = template.read_text(encoding="utf-8")
    template.write_text(body.replace("# Results {#sec-results}",
                                     "Arm label {{ study.arms[0].label }}; note {{ protocol.note }}.\n\n"
                                     "# Results {#sec-results}"), encoding="utf-8")
    report = build(mini_project, "mini")
    html = (report / "manuscript.html").read_text(encoding="utf-8")
    body = html.split("<body>")[1]
    # the only scripts are the HTML template's own (in the head); none came from the settings
    import re

    assert "<script" not in body.lower()
    assert not [s for s in re.findall(r"<script.*?</script>", html, re.S | re.I) if "alert" in s]
    assert "javascript:" not in body.replace("[j](javascript:alert(1))", "")
    assert body.count("<img") == 1 and 'src="data:image/svg+xml;base64,' in body  # the figure only
    assert "root:x:0" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "Arm label ![x](/etc/passwd); note" in body
    assert "&lt;img src=\u201c/etc/passwd\u201d&gt; [j](javascript:alert(1))</span>" in body
    assert "<title>Title &lt;script&gt;alert(1)&lt;/script&gt; `t`{=html}</title>" in html
    pdf = " ".join(page.extract_text() for page in PdfReader(report / "manuscript.pdf").pages)
    assert "<script>alert(1)</script>" in pdf and "![x](/etc/passwd)" in pdf
    docx = "\n".join(p.text for p in Document(str(report / "manuscript.docx")).paragraphs)
    assert "<script>alert(1)</script>" in docx and "<img src=\u201c/etc/passwd\u201d> [j](javascript:alert(1))" in docx
