"""The report folder as a Quarto manuscript project.

Two pieces, so that ``quarto render`` in ``report/<study>/`` gives what the embedded engine
gives:

- :func:`lift_front_matter` copies the abstract and the keywords of the generated
  manuscript into its YAML front matter (``abstract:``, ``keywords:``), where Quarto, pandoc's
  JATS writer and the document properties of DOCX and PDF expect them. The body keeps its
  abstract (the embedded HTML, DOCX and PDF show it there, styled); ``frontmatter.lua``
  drops whichever copy a format must not show twice.
- :func:`write_project` writes ``_quarto.yml`` (``project: type: manuscript``) and copies the
  CSS, Lua filters, typst template and reference document it names into ``assets/``, so
  the folder renders on its own.

The keys written are checked against Quarto's schema in the tests
(``tests/fixtures/quarto_schema.json`` records where they come from).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

__all__ = ["ASSETS", "lift_front_matter", "project_config", "write_project"]

#: Files of templates/_shared/ the Quarto project uses, copied into ``assets/``.
ASSETS = ("manuscript.css", "html-head.html", "html.lua", "frontmatter.lua", "docx-png.lua",
          "typst-divs.lua", "manuscript.typ", "reference.docx")
_ABSTRACT = re.compile(r"^::: \{\.abstract\}\n(.*?)\n:::\s*$", re.M | re.S)
_KEYWORDS = re.compile(r"^\*\*Keywords:\*\*\s*(.+?)\s*(?:\n\n|\Z)", re.M | re.S)


def _yaml_string_block(text: str) -> str:
    """A YAML literal block scalar (``|``) holding ``text`` verbatim, indented two spaces."""
    lines = text.strip("\n").split("\n")
    return "|\n" + "\n".join(("  " + ln) if ln.strip() else "" for ln in lines)


def lift_front_matter(qmd: str) -> str:
    """The manuscript with ``abstract:`` and ``keywords:`` added to its front matter, from the
    body's ``::: {.abstract}`` block and its ``**Keywords:**`` line (unchanged when absent)."""
    if not qmd.startswith("---\n"):
        return qmd
    end = qmd.index("\n---\n", 4)
    header, body = qmd[4:end], qmd[end + 5:]
    add = []
    abstract = _ABSTRACT.search(body)
    if abstract and not re.search(r"^abstract:", header, re.M):
        add.append("abstract: " + _yaml_string_block(abstract.group(1)))
    keywords = _KEYWORDS.search(body)
    if keywords and not re.search(r"^keywords:", header, re.M):
        words = [w.strip().rstrip(".") for w in " ".join(keywords.group(1).split()).split(";")]
        import json

        # JSON strings are valid YAML scalars, quoted and escaped
        add.append("keywords: [" + ", ".join(json.dumps(w, ensure_ascii=False) for w in words if w) + "]")
    if not add:
        return qmd
    return "---\n" + header.rstrip("\n") + "\n" + "\n".join(add) + "\n---\n" + body


def project_config(article: str = "manuscript.qmd") -> dict[str, Any]:
    """The ``_quarto.yml`` of a report folder: a manuscript project whose formats use the
    same CSS, Lua filters, typst template and reference document as the embedded engine.

    Quarto does its own cross-references, so ``crossref.lua`` is not among the filters.
    """
    return {
        "project": {"type": "manuscript"},
        "manuscript": {"article": article, "resources": ["results.json", "figures"]},
        "format": {
            "html": {"css": "assets/manuscript.css", "include-in-header": "assets/html-head.html",
                     "embed-resources": True, "filters": ["assets/frontmatter.lua", "assets/html.lua"]},
            "docx": {"reference-doc": "assets/reference.docx",
                     "filters": ["assets/frontmatter.lua", "assets/docx-png.lua"]},
            "typst": {"template": "assets/manuscript.typ",
                      "filters": ["assets/frontmatter.lua", "assets/typst-divs.lua"]},
            "jats": {"filters": ["assets/frontmatter.lua"]},
        },
    }


def write_project(folder: Path, shared: Path) -> None:
    """Write ``_quarto.yml`` and ``assets/`` into the report (staging) ``folder``."""
    import yaml

    assets = folder / "assets"
    assets.mkdir(exist_ok=True)
    for name in ASSETS:
        if (shared / name).is_file():
            shutil.copy2(shared / name, assets / name)
    text = ("# A Quarto manuscript project: `quarto render` here gives the look of the embedded engine.\n"
            "# Written by the build (analysis/quarto.py); edit the templates, not this file.\n")
    text += yaml.safe_dump(project_config(), sort_keys=False, allow_unicode=True)
    (folder / "_quarto.yml").write_text(text, encoding="utf-8")
