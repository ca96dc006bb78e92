"""The output formats and engines a build can be asked for, and the files they write.

Kept apart from :mod:`analysis.render` (which runs the renderers) so that the command line
can check ``--formats`` without importing what rendering needs.
"""

from __future__ import annotations

from analysis.errors import RenderError

__all__ = ["ENGINES", "FORMATS", "FORMAT_ALIASES", "MANUSCRIPT_FORMATS", "SUFFIXES", "normalise_formats",
           "output_name"]

#: The rendering engines: pandoc and typst from pip (``embedded``), or ``quarto render``.
ENGINES = ("embedded", "quarto")
FORMATS = ("html", "pdf", "docx", "jats", "figures")
#: The formats that are a rendering of the manuscript; ``figures`` is the submission files of
#: each figure (a vector PDF and a 600 dpi PNG, see :mod:`analysis.figurefiles`).
MANUSCRIPT_FORMATS = FORMATS[:4]
#: Other names a user may give on ``--formats``.
FORMAT_ALIASES = {"xml": "jats"}
#: The file suffix of each format's output (``manuscript.xml`` for JATS).
SUFFIXES = {"html": ".html", "pdf": ".pdf", "docx": ".docx", "jats": ".xml"}


def normalise_formats(formats: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Resolve aliases (``xml`` -> ``jats``) and reject unknown formats; keeps the order."""
    out: list[str] = []
    for f in formats:
        name = FORMAT_ALIASES.get(f, f)
        if name not in FORMATS:
            choices = ", ".join([*FORMATS, *FORMAT_ALIASES])
            raise RenderError(f"Invalid format {f!r}. Must be one of: {choices}")
        if name not in out:
            out.append(name)
    return tuple(out)


def output_name(fmt: str, stem: str = "manuscript") -> str:
    """The file a format is written to: ``manuscript.html``, ..., ``manuscript.xml``, and the
    folder ``figures`` for the submission figures."""
    fmt = FORMAT_ALIASES.get(fmt, fmt)
    return "figures" if fmt == "figures" else stem + SUFFIXES[fmt]
