"""Typed errors. Each says what was wrong, where, and what was expected.

The CLI catches :class:`AnalysisError` and prints its message without a traceback;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AnalysisError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(AnalysisError):
    """A study's ``study.yaml`` (or another settings file) is missing or malformed."""


class DataValidationError(AnalysisError):
    """A raw data file does not match its declared schema.

    Rows are named one way everywhere: ``line N (data row M)``. ``row`` (alias ``line``) is
    the 1-based line of the file as a text editor or spreadsheet shows it, the header being
    line 1; ``data_row`` is the 1-based position among the data records (line - 1 unless a
    quoted cell spans several lines). ``columns`` names several columns at once (a
    cross-column check); ``value`` may then be a mapping of column to value.
    """

    def __init__(
        self,
        file: str,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        value: object = None,
        expected: str | None = None,
        more: int = 0,
        data_row: int | None = None,
        columns: tuple[str, ...] | list[str] | None = None,
    ) -> None:
        self.file, self.row, self.column = file, row, column
        self.line = row
        self.data_row = data_row if data_row is not None or row is None else row - 1
        self.columns = tuple(columns) if columns else ((column,) if column else ())
        self.value, self.expected, self.more = value, expected, more
        self.message = message
        where = file
        if row is not None:
            where += f", {line_label(row, self.data_row)}"
        if columns:
            where += ", columns " + ", ".join(f"`{c}`" for c in columns)
        elif column is not None:
            where += f", column `{column}`"
        text = f"{where}: {message}"
        if isinstance(value, dict):
            text += ": got " + ", ".join(f"{k} = {_short(v)}" for k, v in value.items())
        elif value is not None:
            text += f": got {_short(value)}"
        if expected:
            text += f"; expected {expected}"
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
        super().__init__(text)


def _short(value: object, limit: int = 80) -> str:
    """``repr`` of a bad value, cut to ``limit`` characters (a 1 MB cell stays readable)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 20]}...{text[-8:]} ({len(text):,} characters)"


def line_label(line: int, data_row: int | None = None) -> str:
    """The one way rows are named in messages: ``line 5 (data row 4)``.

    ``line`` counts the header as line 1, as an editor or spreadsheet shows the file.
    """
    return f"line {line} (data row {line - 1 if data_row is None else data_row})"


class StatisticsError(AnalysisError, ValueError):
    """A statistic cannot be computed from the input given (e.g. an empty group)."""


class FormatError(AnalysisError, ValueError):
    """A value cannot be formatted: NaN, infinite, or outside its allowed range."""


class ResultsError(AnalysisError):
    """The results store was used wrongly: duplicate key, bad key, unknown table."""


class TemplateError(AnalysisError):
    """A manuscript template failed: undefined key, syntax error, forbidden operation."""


class LintError(AnalysisError):
    """The template lint found numbers in prose that are not bound to a value."""


class ChecklistError(AnalysisError):
    """A declared reporting checklist (CONSORT, STROBE) has items missing, or a word limit is exceeded."""


class RenderError(AnalysisError):
    """pandoc, typst or quarto failed to turn the manuscript source into an output."""


class OutputError(AnalysisError):
    """An output folder cannot be written (read-only, full, a file in the way) or locked."""


class ScriptError(AnalysisError):
    """A study's analysis script raised an unexpected exception.

    The message names the script's file and line and the error; ``--debug`` shows the
    traceback (kept as ``__cause__``).
    """
