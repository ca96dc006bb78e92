"""How the templates are written: the Jinja2 settings that decide how their source is read.

Shared by :mod:`analysis.templating`, which renders the templates, and :mod:`analysis.lint`,
which only reads them (and so needs Jinja2's lexer, not what rendering needs).
"""

from __future__ import annotations

from typing import Any

__all__ = ["COMMENT_END", "COMMENT_START", "LEXER_SETTINGS", "lexer"]

#: Template comments are ``{## ... ##}``: ``{#`` alone is left to pandoc attributes such as ``{#tbl-x}``.
COMMENT_START, COMMENT_END = "{##", "##}"
#: The settings of every template environment that change how source text is split into tokens.
LEXER_SETTINGS: dict[str, Any] = {
    "keep_trailing_newline": True,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "comment_start_string": COMMENT_START,
    "comment_end_string": COMMENT_END,
}


def lexer() -> Any:
    """A plain Jinja2 environment with the templates' lexer settings (it only reads source)."""
    import jinja2

    return jinja2.Environment(**LEXER_SETTINGS)
