"""The lint: no number in a manuscript template's prose may be typed by hand.

Every digit a reader sees must come from ``{{ ... }}`` (a value of the results store or a
protocol fact of ``study.yaml``). The lint reads each template with Jinja's own lexer, so
it sees exactly what is literal text and what is an expression, and reports
``file:line: unbound number "30.03"``.

Allowed in literal text because they are not prose: cross-reference labels and citation
keys (``{#tbl-x}``, ``@tbl-x``, ``[@kumar2016]``), pandoc attribute blocks (``{width=80%}``)
and YAML keys of the front matter. Digits that are not numbers (``del(17p)``) must go
through the visible escape hatch ``{{ lit("del(17p)") }}``; the lint lists every use, and
refuses a ``lit`` whose text looks like a measured number (decimals or percentages).
Inside expressions, string literals holding digits (outside ``lit``) and numbers assigned
with ``{% set %}`` are refused, since either would smuggle a typed number into the text.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import LintError
from analysis.templatesyntax import lexer

__all__ = ["LintIssue", "lint_paths", "lint_source", "lint_templates", "template_files"]

TEMPLATE_SUFFIXES = (".qmd.j2", ".md.j2")

# Literal-text constructs that may hold digits without being prose.
_NON_PROSE = [
    re.compile(r"\{[#.][^}\n]*\}"),  # pandoc/Quarto attribute blocks and labels: {#tbl-x}, {.class k=v}
    re.compile(r"\{width=[^}\n]*\}"),
    re.compile(r"@[A-Za-z0-9_][\w:.#$%&+?<>~/-]*"),  # citation keys and cross-references
    re.compile(r"^\s*[A-Za-z_][\w-]*:(?=\s|$)", re.M),  # YAML keys in the front matter
    re.compile(r"^(?:#{1,6}|:::+)", re.M),
]
_DIGIT_RUN = re.compile(r"[0-9][0-9.,:;/%\u2013\u2212-]*[0-9%]|[0-9]")
_MEASURED = re.compile(r"\d+\.\d+|\d+\s*%")


@dataclass(frozen=True)
class LintIssue:
    """One problem: where it is and what it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


def template_files(templates_root: Path) -> list[Path]:
    """Every manuscript template under ``templates/`` (studies and shared partials)."""
    return sorted(p for p in templates_root.rglob("*") if p.name.endswith(TEMPLATE_SUFFIXES))


def _prose_digits(text: str) -> list[tuple[int, str]]:
    """(offset, digits) of each run of digits in literal text that is prose."""
    masked = text
    for pattern in _NON_PROSE:
        masked = pattern.sub(lambda m: " " * len(m.group(0)), masked)
    return [(m.start(), m.group(0)) for m in _DIGIT_RUN.finditer(masked)]


def lint_source(source: str, name: str) -> tuple[list[LintIssue], list[tuple[int, str]]]:
    """Lint one template's source. Returns (issues, literal escapes as (line, text)).

    The answer for a source and name already linted by this process is remembered (the
    preview lints on every edit, and only the edited template has changed)."""
    issues, literals = _lint_source(source, name)
    return list(issues), list(literals)


@functools.lru_cache(maxsize=256)
def _lint_source(source: str, name: str) -> tuple[tuple[LintIssue, ...], tuple[tuple[int, str], ...]]:
    env = lexer()
    issues: list[LintIssue] = []
    literals: list[tuple[int, str]] = []
    tokens = list(env.lex(source, name))
    block: list[tuple[int, str, str]] = []  # tokens of the current {{ }} or {% %}
    kind = None
    for lineno, token, value in tokens:
        if token == "data":
            for offset, digits in _prose_digits(value):
                line = lineno + value.count("\n", 0, offset)
                issues.append(LintIssue(name, line, f'unbound number "{digits}"'))
            continue
        if token in ("variable_begin", "block_begin"):
            block, kind = [], token
            continue
        if token in ("variable_end", "block_end"):
            issues.extend(_check_expression(block, kind, name, literals))
            block, kind = [], None
            continue
        if token not in ("whitespace",):
            block.append((lineno, token, value))
    return tuple(issues), tuple(literals)


def _check_expression(
    block: list[tuple[int, str, str]], kind: str | None, name: str, literals: list[tuple[int, str]]
) -> list[LintIssue]:
    issues = []
    is_set = kind == "block_begin" and block and block[0][2] == "set"
    # file names of include/import statements are not prose
    is_include = kind == "block_begin" and block and block[0][2] in ("include", "import", "from", "extends")
    for i, (lineno, token, value) in enumerate(block):
        if token == "string":
            text = value[1:-1] if value[:1] in "'\"" else value
            in_lit = i >= 2 and block[i - 1][2] == "(" and block[i - 2][2] == "lit"
            if in_lit:
                literals.append((lineno, text))
                if _MEASURED.search(text):
                    issues.append(LintIssue(name, lineno, f'lit() used for a measured number "{text}"'))
            elif re.search(r"\d", text) and not is_include:
                issues.append(LintIssue(name, lineno, f'unbound number in string literal "{text}"'))
        elif token in ("integer", "float") and is_set:
            issues.append(LintIssue(name, lineno, f'unbound number "{value}" assigned with set'))
        elif token in ("integer", "float") and kind == "variable_begin" and not _inside_call(block, i):
            issues.append(LintIssue(name, lineno, f'unbound number "{value}" printed'))
    return issues


def _inside_call(block: list[tuple[int, str, str]], index: int) -> bool:
    """Whether token ``index`` is an argument or subscript (``digits(1)``, ``arms[0]``)."""
    depth = 0
    for _, _token, value in block[:index]:
        if value in ("(", "["):
            depth += 1
        elif value in (")", "]"):
            depth -= 1
    return depth > 0


def lint_paths(paths: list[Path], root: Path) -> tuple[list[LintIssue], list[tuple[str, int, str]]]:
    """Lint template files; names in messages are relative to ``root``."""
    issues: list[LintIssue] = []
    literals: list[tuple[str, int, str]] = []
    for path in paths:
        try:
            rel = str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            rel = str(path)
        found, lits = lint_source(path.read_text(encoding="utf-8"), rel)
        issues.extend(found)
        literals.extend((rel, line, text) for line, text in lits)
    return issues, literals


def lint_templates(root: Path, study_ids: list[str] | None = None) -> list[tuple[str, int, str]]:
    """Lint the shared partials and the given studies' templates (all when None).

    Raises :class:`~analysis.errors.LintError` listing every unbound number; returns the
    ``lit()`` escapes as (file, line, text).
    """
    troot = root / "templates"
    files = template_files(troot)
    if study_ids is not None:
        keep = [troot / "_shared", *[troot / s for s in study_ids]]
        files = [f for f in files if any(f.is_relative_to(k) for k in keep)]
    issues, literals = lint_paths(files, root)
    if issues:
        raise LintError("\n".join(str(i) for i in issues) + f"\n{len(issues)} unbound number(s)")
    return literals
