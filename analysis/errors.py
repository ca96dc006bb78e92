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

    ``row`` is the 1-based line number in the file as a spreadsheet shows it (the header
    is line 1), so an author can go straight to the cell.
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
    ) -> None:
        self.file, self.row, self.column = file, row, column
        self.value, self.expected, self.more = value, expected, more
        where = file
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column `{column}`"
        text = f"{where}: {message}"
        if value is not None:
            text += f": got {value!r}"
        if expected:
            text += f"; expected {expected}"
        if more:
            text += f" (and {more} more problem{'s' if more > 1 else ''} in this file)"
        super().__init__(text)


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
