"""Escaping of plain text for its target: the manuscript source (pandoc markdown and its YAML
front matter) and the tidy CSV tables (spreadsheets).

Every string that comes from settings or data (study.yaml titles, arm labels, statements,
data labels, table cells, figure captions) is plain text: printed into the manuscript, it
must reach the reader exactly as written and never become markup (a link, an image, raw
HTML, a citation, a list). Template-authored markup, and markup that the engine's helpers
build themselves, is marked as :class:`Markdown` and printed as is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

__all__ = ["Markdown", "code_span", "md_attr", "md_escape", "spreadsheet_safe", "yaml_quote", "yaml_value"]


class Markdown(str):
    """Text that already is pandoc markdown (written by a template author or built by an
    engine helper), so it is printed without escaping. Anything else is plain text."""

    __slots__ = ()


# Every ASCII punctuation character may be backslash-escaped in pandoc markdown; these are
# the ones that can start markup inline (emphasis, links, spans, raw HTML, code, citations,
# math, entities, attributes, super/subscripts, table pipes).
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\*_[]<>`#|^~$@&{}"})
# Block markers that only matter at the start of a line: list bullets, ordered-list numbers,
# setext underlines, definition lists and table captions.
_LEADING_MARKER = re.compile(r"^([ \u00a0]*)([-+:]|\d+[.)]|=(?==*[ \u00a0]*$))(?=[ \t\u00a0=]|$)")
_NEWLINES = re.compile(r"\s*[\r\n\u2028\u2029\x0b\x0c\x85]\s*")


def md_escape(text: str) -> str:
    """``text`` as pandoc markdown that reads back as exactly that text, inline.

    Markup characters are backslash-escaped, a leading list or caption marker is escaped,
    and line breaks become spaces (a plain string is one run of inline text: it cannot
    start a new block, a list or a raw block).
    """
    if isinstance(text, Markdown):
        return text
    # leading blanks could start an indented code block: inline text does not need them
    out = _NEWLINES.sub(" ", str(text)).lstrip(" \t").translate(_MD_SPECIAL)
    return _LEADING_MARKER.sub(_escape_marker, out)


def _escape_marker(match: re.Match[str]) -> str:
    lead, marker = match.group(1), match.group(2)
    # "1." -> "1\." (a backslash before a digit is no escape in markdown)
    return lead + (marker[:-1] + "\\" + marker[-1] if marker[0].isdigit() else "\\" + marker)


def md_attr(text: str) -> str:
    """``text`` for the inside of a double-quoted pandoc attribute value (``title="..."``)."""
    return _NEWLINES.sub(" ", str(text)).replace("\\", "\\\\").replace('"', '\\"')


def code_span(text: str) -> Markdown:
    """``text`` as an inline code span that shows it verbatim, whatever backticks it holds."""
    text = _NEWLINES.sub(" ", str(text))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return Markdown(f"{fence}{pad}{text}{pad}{fence}")


def _yaml_char(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch == '"':
        return '\\"'
    cat = unicodedata.category(ch)
    # control, format, separator (line/paragraph) and unassigned characters are written as
    # escapes: a YAML reader would otherwise take some of them for line breaks
    if cat[0] == "C" or cat in ("Zl", "Zp"):
        code = ord(ch)
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def yaml_quote(text: str) -> str:
    """A double-quoted YAML scalar holding ``text`` exactly (no markdown escaping)."""
    return '"' + "".join(_yaml_char(c) for c in str(text)) + '"'


def yaml_value(value: Any) -> Markdown:
    """``value`` for the YAML front matter: strings are escaped for markdown (pandoc reads
    metadata strings as markdown) and then quoted for YAML; lists and mappings become YAML
    flow collections of escaped items; numbers, booleans and null stay as they are.

    A :class:`Markdown` string is quoted for YAML but not escaped for markdown.
    """
    if value is None:
        return Markdown("null")
    if isinstance(value, bool):
        return Markdown("true" if value else "false")
    if isinstance(value, (int, float)):
        return Markdown(repr(value))
    if isinstance(value, Mapping):
        items = ", ".join(f"{yaml_quote(str(k))}: {yaml_value(v)}" for k, v in value.items())
        return Markdown("{" + items + "}")
    if isinstance(value, (list, tuple)):
        return Markdown("[" + ", ".join(yaml_value(v) for v in value) + "]")
    if isinstance(value, str):
        return Markdown(yaml_quote(md_escape(value)))
    # a bound value and the like: its markdown (a span carrying the key), quoted for YAML
    return Markdown(yaml_quote(str(value)))


# A spreadsheet runs a cell starting with one of these as a formula ("=HYPERLINK(...)",
# "+cmd|...", "@SUM(...)"); a leading tab or carriage return can hide such a start.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: a string starting like a formula gets a leading
    ``'`` (shown by no spreadsheet). Numbers, and strings that are numbers (``-1.5``), are
    returned unchanged."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value
