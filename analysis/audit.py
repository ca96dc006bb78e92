"""The audit: our computed values against what the original paper printed.

``data/<study>/published.yaml`` transcribes, once, every number the paper printed, with
where it stood and (when it cannot be reproduced) why. The audit looks each one up in the
results store by key and compares at the printed precision, so a reviewer sees at a glance
which printed numbers the data reproduce and which they cannot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import ConfigError
from analysis.formatting import fmt_number, fmt_p
from analysis.results import ResultsStore
from analysis.yamlio import YAMLError, safe_load

__all__ = ["AuditRow", "add_audit", "audit", "explain", "load_published"]

_NUMBER = re.compile(r"^[<>]?\s*-?\d+(\.\d+)?$")


@dataclass(frozen=True)
class AuditRow:
    """One printed number and what the data give for it.

    ``status`` is "match" (same at the printed precision), "differs", "not computed" (no
    value under that key) or "not a number" (a printed claim such as "P>0.05").
    ``expected_to_match`` is the transcriber's ``reproducible`` flag.
    """

    key: str
    where: str
    printed: str
    computed: str | None
    status: str
    expected_to_match: bool
    note: str | None = None

    @property
    def surprising(self) -> bool:
        """A mismatch nobody explained, or a match where a mismatch was expected."""
        if self.status in ("not a number",):
            return False
        return (self.status == "match") != self.expected_to_match


def load_published(path: Path) -> dict[str, Any]:
    """Read ``published.yaml``; check each entry has ``key``, ``printed`` and ``where``."""
    try:
        data = safe_load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("values"), list):
        raise ConfigError(f"{path}: expected a mapping with a `values:` list")
    for i, entry in enumerate(data["values"], start=1):
        missing = [k for k in ("key", "printed", "where") if k not in entry]
        if missing:
            raise ConfigError(f"{path}: entry {i} ({entry.get('key', '?')}) lacks {missing}")
    return data


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _scalar(raw: Any, kind: str, entry: dict[str, Any], printed: str) -> float | None:
    """The scalar to compare with a printed number: a field of a composite value (``field:
    pct`` is the percentage of an ``n_pct``), or, without ``field``, the count or percentage
    of an ``n_pct`` by what the printed number looks like (a whole number is the count)."""
    if not isinstance(raw, dict):
        return raw
    field = entry.get("field")
    if field == "pct" and kind == "n_pct":
        return 100.0 * raw["n"] / raw["N"] if raw["N"] else None
    if field:
        return raw.get(field)
    if kind == "n_pct":
        if "." in printed:
            return 100.0 * raw["n"] / raw["N"] if raw["N"] else None
        return raw["n"]
    return None


def explain(entry: dict[str, Any], where: str = "published.yaml") -> str | None:
    """The explanation an entry's ``check:`` computes from the numbers the paper printed.

    ``check`` names one consistency check (:mod:`analysis.consistency`) and its printed
    inputs, so the reason a printed number cannot be reproduced is computed, not typed:

    * ``{counts: [[12, 28], [8, 32]], stat: '4.588', p: '0.032'}``: the tests of a count table;
    * ``{chi2: '0.228', df: 1, p: '0.663'}`` or ``{t: '0.930', df: 78, p: '0.355'}``: P from a statistic;
    * ``{means: [['63.9', '11.4', 40], ['63.3', '10.9', 40]], t: '0.860', p: '0.393'}``: t from means and SDs;
    * ``{mean: '63.9', sd: '11.4', n: 40, range: [18, 65]}``: an SD against the values' range;
    * ``{n: 3, of: 6, pct: '50.05'}``: a percentage from its count.

    Returns the check's finding, followed by the entry's ``note`` (context a check cannot
    give), or just the note when there is no ``check``.
    """
    from analysis import consistency as c

    spec, note = entry.get("check"), entry.get("note")
    if spec is None:
        return note
    try:
        if "counts" in spec:
            findings = [c.check_counts_test(spec["counts"], spec.get("stat"), spec.get("p"))]
        elif "chi2" in spec:
            findings = [c.check_chi2_p(str(spec["chi2"]), int(spec["df"]), str(spec["p"]))]
        elif "t" in spec and "means" not in spec:
            findings = [c.check_t_p(str(spec["t"]), float(spec["df"]), str(spec["p"]))]
        elif "means" in spec:
            (m1, s1, n1), (m2, s2, n2) = spec["means"]
            findings = c.check_t_summary(str(m1), str(s1), int(n1), str(m2), str(s2), int(n2),
                                         spec.get("t"), spec.get("p"))
        elif "range" in spec:
            lo, hi = spec["range"]
            findings = [c.check_sd_range(str(spec["mean"]), str(spec["sd"]), float(lo), float(hi), spec.get("n"))]
        elif "pct" in spec:
            findings = [c.check_pct(int(spec["n"]), int(spec["of"]), str(spec["pct"]))]
        else:
            raise KeyError("one of counts, chi2, t, means, range, pct")
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: entry {entry.get('key', '?')!r}: bad `check` {spec!r} ({exc})") from None
    computed = "Recomputed from the printed numbers: " + "; ".join(f.message for f in findings) + "."
    return f"{computed} {note}" if note else computed


def audit(store: ResultsStore, published: dict[str, Any]) -> list[AuditRow]:
    """Compare every printed number of ``published`` with the store, at printed precision."""
    rows = []
    for entry in published["values"]:
        key, where = entry["key"], entry["where"]
        printed = str(entry["printed"]).strip()
        expected = bool(entry.get("reproducible", True))
        note = explain(entry)
        if not _NUMBER.match(printed):
            rows.append(AuditRow(key, where, printed, None, "not a number", expected, note))
            continue
        if key not in store:
            rows.append(AuditRow(key, where, printed, None, "not computed", expected, note))
            continue
        value = store[key]
        x = _scalar(value.raw, value.kind, entry, printed.lstrip("<> "))
        if x is None:
            rows.append(AuditRow(key, where, printed, value.text(store.style), "not computed", expected, note))
            continue
        if value.kind == "p" and printed.startswith("<"):
            digits = _decimals(printed)
            computed = fmt_p(x, digits)
            same = computed.replace(" ", "") == printed.replace(" ", "")
        else:
            digits = _decimals(printed)
            computed = fmt_number(float(x), digits).replace("\u2212", "-")
            same = computed == printed
        rows.append(AuditRow(key, where, printed, computed, "match" if same else "differs", expected, note))
    return rows


def _prose(note: str) -> str:
    """A note as table text: a range of numbers "0.200–0.282" as "0.200 to 0.282", which no
    renderer breaks inside a number."""
    return re.sub(r"(\d)\u2013(?=\d)", r"\1 to ", note)


def _item(row: AuditRow, entry: dict[str, Any]) -> str:
    """What a printed number is: its key, with the published entry's ``item`` when it has one."""
    return f"{row.key} ({entry['item']})" if entry.get("item") else row.key


def add_audit(store: ResultsStore, published: dict[str, Any], source_file: str = "published.yaml",
              alpha: float = 0.05) -> None:
    """Put the audit into the store: counts as values (``audit.*``) and three tables.

    ``tbl-audit-differs``: printed numbers the data do not reproduce; ``tbl-audit-unchecked``:
    printed numbers the rebuild does not compute, so cannot check; ``tbl-audit-findings``:
    statements of the report that are not numbers (``contradictions:`` and printed statements
    such as "P>0.05"). Every row names the item it is about. The claims of the report's text
    about its own tests (``claims:``) go to ``audit.claims.*`` and ``tbl-claims``.
    """
    from analysis.tables.model import Cell, Column, Row, Table

    rows = audit(store, published)
    entries = published["values"]
    numeric = [(r, e) for r, e in zip(rows, entries, strict=True) if r.status != "not a number"]
    differs = [(r, e) for r, e in numeric if r.status == "differs"]
    unchecked = [(r, e) for r, e in numeric if r.status == "not computed"]
    findings = [(str(c.get("where", "")), str(c.get("claim", "")), str(c.get("note", "")))
                for c in published.get("contradictions") or []]
    findings += [(f"{r.where} ({r.key})", r.printed, r.note or "a printed statement, not a number")
                 for r in rows if r.status == "not a number"]
    src = {"test": "audit against the printed paper", "inputs": (source_file,)}
    store.add("audit.printed", len(numeric), "int", **src)
    store.add("audit.checked", len(numeric) - len(unchecked), "int", **src)
    store.add("audit.matched", sum(r.status == "match" for r, _ in numeric), "int", **src)
    store.add("audit.differs", len(differs), "int", **src)
    store.add("audit.not_checked", len(unchecked), "int", **src)
    store.add("audit.unmatched", len(differs) + len(unchecked), "int", **src)
    store.add("audit.findings", len(findings), "int", **src)
    store.add("audit.unexplained", sum(r.surprising for r in rows), "int", **src)

    # the item and where it was printed share the first column, so the explanation keeps its width
    if differs:
        table = Table("tbl-audit-differs", "Numbers printed in the original report that the data do not reproduce",
                      stub_header="Item; where printed", columns=[
                          Column("printed", "Printed"), Column("computed", "From the data"),
                          Column("note", "Explanation", align="left")])
        for r, e in differs:
            table.add_row(Row(f"{_item(r, e)}; {r.where}", {
                "printed": Cell(r.printed, "text"), "computed": Cell(r.computed or "–", "text"),
                "note": Cell(_prose(r.note or "no explanation recorded"), "text")}))
        store.add_table(table.validate())
    if unchecked:
        table = Table("tbl-audit-unchecked", "Numbers printed in the original report that this rebuild does not check",
                      stub_header="Item; where printed", columns=[
                          Column("printed", "Printed"), Column("note", "Why it is not checked", align="left")])
        for r, e in unchecked:
            table.add_row(Row(f"{_item(r, e)}; {r.where}", {
                "printed": Cell(r.printed, "text"),
                "note": Cell(_prose(r.note or "not computed in this rebuild"), "text")}))
        store.add_table(table.validate())
    if findings:
        table = Table("tbl-audit-findings", "Statements of the original report that its own numbers do not support",
                      stub_header="Where", columns=[Column("claim", "Statement", align="left"),
                                                    Column("note", "Finding", align="left")])
        for where, claim, note in findings:
            table.add_row(Row(where, {"claim": Cell(claim, "text"), "note": Cell(note, "text")}))
        store.add_table(table.validate())
    _add_claims(store, published, source_file, alpha)


def _add_claims(store: ResultsStore, published: dict[str, Any], source_file: str, alpha: float) -> None:
    from analysis.claims import check_claims
    from analysis.tables.model import Cell, Column, Row, Table

    claims = check_claims(store, published, alpha, source_file)
    if not claims:
        return
    src = {"test": "claims of the printed paper against the recomputed tests", "inputs": (source_file,)}
    store.add("audit.claims.total", len(claims), "int", **src)
    store.add("audit.claims.contradicted", sum(c.contradicted for c in claims), "int", **src)
    table = Table("tbl-claims", "Claims of the original report that the recomputed tests contradict",
                  stub_header="Claim", columns=[Column("where", "Where", align="left"),
                                                Column("finding", "What the data give", align="left")])
    for c in claims:
        if c.contradicted:
            table.add_row(Row(c.claim, {"where": Cell(c.where, "text"), "finding": Cell(c.finding, "text")}))
    if table.rows:
        store.add_table(table.validate())
