"""Finish pandoc's JATS XML: tables get their ids, cross-references their types.

pandoc's JATS writer keeps figure ids but drops table ids, so ``<xref rid="tbl-x">`` would
point nowhere. :func:`finish_jats` gives each ``<table-wrap>`` the id of its table (found
from the "Table N." label the crossref filter put in its caption) and a ``<label>``, and marks
each ``<xref>`` with the ``ref-type`` JATS expects (``table``, ``fig``, ``bibr``).
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

__all__ = ["finish_jats"]

_LABEL = re.compile(r"^\s*Table\s+(\d+)\.\s*")
_REF_TYPES = {"tbl": "table", "fig": "fig", "ref": "bibr"}


def finish_jats(path: Path, table_ids: list[str]) -> None:
    """Rewrite the JATS file at ``path`` in place; ``table_ids`` are the numbered tables' ids
    in document order (Table 1 first)."""
    parser = etree.XMLParser(load_dtd=False, resolve_entities=False, no_network=True)
    tree = etree.parse(str(path), parser)
    root = tree.getroot()
    for wrap in root.iter("table-wrap"):
        caption = wrap.find("caption")
        first = caption.find("p") if caption is not None else None
        bold = first.find("bold") if first is not None else None
        match = _LABEL.match(bold.text or "") if bold is not None else None
        if not match or int(match.group(1)) > len(table_ids):
            continue
        wrap.set("id", table_ids[int(match.group(1)) - 1])
        label = etree.Element("label")
        label.text = f"Table {match.group(1)}"
        wrap.insert(0, label)
    for xref in root.iter("xref"):
        kind = (xref.get("rid") or "").split("-", 1)[0]
        if kind in _REF_TYPES and "ref-type" not in xref.attrib:
            xref.set("ref-type", _REF_TYPES[kind])
    tree.write(str(path), xml_declaration=True, encoding="utf-8", doctype=tree.docinfo.doctype)
