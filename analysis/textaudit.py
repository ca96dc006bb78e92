"""Audit any paper's printed statistics from its text alone.

``python -m analysis audit --text paper.txt`` reads the statistics a paper prints
(:mod:`analysis.extract`), runs the consistency checks of :mod:`analysis.consistency` on them,
and reports each finding with the line and table row it stands in. No patient data and no
transcription are needed: what is checked is whether the printed numbers can follow from each
other.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from analysis.consistency import (
    CONSISTENT,
    INCONSISTENT,
    UNCHECKABLE,
    Finding,
    Printed,
    check_chi2_p,
    check_counts_test,
    check_f_p,
    check_grim,
    check_pct,
    check_point_probability,
    check_ratio_events,
    check_sd_range,
    check_t_p,
    check_t_summary,
    duplicated_statistics,
)
from analysis.errors import AnalysisError
from analysis.extract import Row, Table, extract, read_text

__all__ = ["TextAudit", "audit_text", "format_report"]

_AGE_RANGE = re.compile(r"aged\s+(?:between\s+)?(\d+)\s*(?:and|to|-|–)\s*(\d+)\s*years", re.I)
_STAT_LABELS = {"χ2", "χ²", "chi2", "x2", "t", "f", "z"}


@dataclass
class TextAudit:
    """Findings of one paper, in reading order, and what was read."""

    source: str
    findings: list[Finding] = field(default_factory=list)
    tables: int = 0
    statistics: int = 0

    @property
    def inconsistent(self) -> list[Finding]:
        """The findings whose printed numbers cannot follow from each other."""
        return [f for f in self.findings if f.verdict == INCONSISTENT]


def _is_int(text: str) -> bool:
    return re.fullmatch(r"\d+", text) is not None


def _p_like(text: str) -> bool:
    try:
        p = Printed.parse(text)
    except AnalysisError:
        return False
    return 0 <= p.value <= 1


def _where(table: Table, row: Row, label: str | None = None) -> str:
    name = label if label is not None else (row.label or "unlabelled row")
    return f"line {row.line}, Table {table.number}, {name}"


def _group_sizes(table: Table) -> list[int]:
    if len(table.group_sizes) >= 2:
        return table.group_sizes
    for row in table.rows:
        if row.label.lower().startswith(("number of case", "cases", "n ")) and all(map(_is_int, row.numbers)):
            return [int(x) for x in row.numbers]
    return []


def _denominators(row: Row, sizes: list[int]) -> list[int | None]:
    """Each count's N: the header's group size, else what its printed percentage implies."""
    out: list[int | None] = []
    for i, (n, pct) in enumerate(row.counts):
        if len(sizes) == len(row.counts):
            out.append(sizes[i])
        elif pct and float(pct) > 0:
            out.append(round(n * 100 / float(pct)))
        else:
            out.append(None)
    return out


def _stat_and_p(trailing: list[str]) -> tuple[str | None, str | None]:
    if len(trailing) >= 2 and _p_like(trailing[-1]):
        return trailing[-2], trailing[-1]
    if len(trailing) == 1 and _p_like(trailing[0]):
        return None, trailing[0]
    return None, None


class _Auditor:
    def __init__(self, text: str, patients: int | None, ranges: dict[str, tuple[float, float]],
                 grim: bool) -> None:
        self.text = text
        self.patients = patients
        self.ranges = dict(ranges)
        self.grim = grim
        self.findings: list[Finding] = []
        self.printed_pairs: list[tuple[str, tuple[str, ...], bool | None]] = []
        age = _AGE_RANGE.search(text)
        if age and "age" not in {k.lower() for k in self.ranges}:
            self.ranges["age"] = (float(age.group(1)), float(age.group(2)))

    def add(self, finding: Finding | None) -> Finding | None:
        if finding is not None:
            self.findings.append(finding)
        return finding

    # -- tables -------------------------------------------------------------------------------
    def table(self, table: Table) -> None:
        sizes = _group_sizes(table)
        rows = table.rows
        stat_rows = {r.label.lower(): r for r in rows if r.label.lower() in _STAT_LABELS | {"p"}}
        pending: list[Row] = []
        pending_stats: list[str] = []
        header: Row | None = None
        members: list[Row] = []

        def close_header() -> None:
            nonlocal header, members
            if header is not None and len(members) >= 2:
                stat, p = _stat_and_p(header.trailing)
                counts = [[int(x) for x in m.numbers] for m in members]
                if p is not None and len({len(c) for c in counts}) == 1 and len(counts[0]) >= 2:
                    self.counts_test(table, header, counts, stat, p)
            header, members = None, []

        def close_pending() -> None:
            nonlocal pending, pending_stats
            if len(pending) >= 2 and pending_stats:
                stat, p = _stat_and_p(pending_stats)
                width = {len(r.counts) for r in pending}
                if p is not None and width == {2}:
                    counts = [[n for n, _ in r.counts] for r in pending]
                    self.counts_test(table, pending[0], counts, stat, p,
                                     label=" / ".join(r.label for r in pending))
            pending, pending_stats = [], []

        for index, row in enumerate(rows):
            if row.label.lower() in stat_rows:
                continue
            is_member = (header is not None and not row.counts and not row.fractions and not row.means
                         and row.numbers and all(map(_is_int, row.numbers)))
            if is_member:
                members.append(row)
                continue
            close_header()
            if row.counts:
                self.percentages(table, row, sizes)
            stat, p = _stat_and_p(row.trailing)
            if not row.counts and not row.fractions and not row.means and p is not None and stat is not None:
                if not row.label:  # a line of statistics for the rows around it
                    pending_stats = row.trailing
                    continue
                close_pending()
                header = row
                continue
            if row.counts and p is None:
                pending.append(row)
            elif len(row.counts) >= 2 and p is not None:
                close_pending()
                denominators = _denominators(row, sizes)
                if None not in denominators:
                    counts = [[n, int(d) - n] for (n, _), d in zip(row.counts, denominators, strict=True)]
                    self.counts_test(table, row, counts, stat, p)
            elif len(row.fractions) == 2 and p is not None:
                close_pending()
                self.counts_test(table, row, [list(f) for f in row.fractions], stat, p)
            elif len(row.means) == 2:
                close_pending()
                self.means(table, row, sizes, stat, p)
            if index in table.blank_after and len(pending) >= 2 and pending_stats:
                close_pending()
        close_header()
        close_pending()
        chi, prow = stat_rows.get("χ2") or stat_rows.get("χ²") or stat_rows.get("chi2"), stat_rows.get("p")
        if chi is not None and prow is not None and len(chi.numbers) == len(prow.numbers):
            for i, (x, p) in enumerate(zip(chi.numbers, prow.numbers, strict=True)):
                where = f"line {chi.line}, Table {table.number}, χ² column {i + 1}"
                f = check_chi2_p(x, 1, p, where)
                self.add(_assumed_df(f))
                self.printed_pairs.append((where, (x, p), f.verdict == CONSISTENT))

    def counts_test(self, table: Table, row: Row, counts: list[list[int]], stat: str | None, p: str,
                    label: str | None = None) -> None:
        where = _where(table, row, label)
        if any(c < 0 for line in counts for c in line):
            self.add(Finding("test of printed counts", INCONSISTENT, p, "", "negative counts implied", where))
            return
        try:
            finding = check_counts_test(counts, stat, p, where)
        except AnalysisError as exc:
            self.add(Finding("test of printed counts", UNCHECKABLE, p, "", str(exc), where))
            return
        self.add(finding)
        if stat is not None:
            self.printed_pairs.append((where, (stat, p), finding.verdict == CONSISTENT))
        if finding.inconsistent and len(counts) == 2 and len(counts[0]) == 2:
            self.add(check_point_probability(counts, p, where))

    def percentages(self, table: Table, row: Row, sizes: list[int]) -> None:
        if len(sizes) != len(row.counts):
            return
        for (n, pct), size in zip(row.counts, sizes, strict=True):
            if pct is not None:
                f = check_pct(n, size, pct, _where(table, row))
                if f.inconsistent:
                    self.add(f)

    def means(self, table: Table, row: Row, sizes: list[int], stat: str | None, p: str | None) -> None:
        where = _where(table, row)
        key = next((k for k in self.ranges if row.label.lower().startswith(k.lower())), None)
        if key is not None:
            lo, hi = self.ranges[key]
            for i, (m, s) in enumerate(row.means):
                n = sizes[i] if len(sizes) == len(row.means) else None
                self.add(check_sd_range(m, s, lo, hi, n, f"{where}, group {i + 1}"))
        if len(sizes) != 2:
            if stat or p:
                self.add(Finding("t from means and SDs", UNCHECKABLE, stat or p or "", "",
                                 "the group sizes are not printed in the table header", where))
            return
        if self.grim:
            for (m, _), n in zip(row.means, sizes, strict=True):
                self.add(check_grim(m, n, where=where))
        (m1, s1), (m2, s2) = row.means
        for f in check_t_summary(m1, s1, sizes[0], m2, s2, sizes[1], stat, p, where):
            self.add(f)
        if stat is not None and p is not None:
            self.printed_pairs.append((where, (stat, p), None))

    # -- running text -------------------------------------------------------------------------
    def inline(self, items) -> None:
        for item in items:
            where = f"line {item.line}"
            if item.stat == "chi2" and item.p:
                df = int(item.df[0]) if item.df else 1
                f = check_chi2_p(item.value, df, item.p, where)
                self.add(f if item.df else _assumed_df(f))
                self.printed_pairs.append((where, (item.value, item.p), f.verdict == CONSISTENT))
            elif item.stat == "t" and item.p:
                if item.df:
                    self.add(check_t_p(item.value, item.df[0], item.p, where))
                else:
                    self.add(Finding("P from t", UNCHECKABLE, item.p, "", f"t = {item.value} printed without its df",
                                     where))
            elif item.stat == "F" and item.p:
                self.add(check_f_p(item.value, int(item.df[0]), int(item.df[1]), item.p, where))

    def ratios(self, items) -> None:
        for r in items:
            where = f"line {r.line}, {r.measure} {r.estimate} ({r.lower}–{r.upper})"
            est, lo, hi = (Printed.parse(x) for x in (r.estimate, r.lower, r.upper))
            if not (lo.lo <= est.hi and est.lo <= hi.hi):
                self.add(Finding(f"{r.measure} inside its CI", INCONSISTENT, r.estimate, f"{r.lower}–{r.upper}",
                                 f"the estimate {r.estimate} lies outside its own interval {r.lower}–{r.upper}",
                                 where))
                continue
            if r.measure == "estimate":  # a proportion or a mean: its interval need not be symmetric
                self.add(Finding("estimate inside its CI", CONSISTENT, r.estimate, f"{r.lower}–{r.upper}",
                                 f"{r.estimate} lies inside its interval {r.lower}–{r.upper}", where))
                continue
            # on the log scale the estimate sits midway between the bounds (within rounding)
            mid_lo = math.sqrt(max(lo.lo, 1e-300) * max(hi.lo, 1e-300))
            mid_hi = math.sqrt(lo.hi * hi.hi)
            ok = est.overlaps(mid_lo, mid_hi)
            self.add(Finding(f"{r.measure} and its CI", CONSISTENT if ok else INCONSISTENT, r.estimate,
                             f"{mid_lo:.3f}–{mid_hi:.3f}",
                             f"a Wald interval {r.lower}–{r.upper} is centred (log scale) on {mid_lo:.2f}–{mid_hi:.2f}"
                             + ("" if ok else f", not on the printed {r.estimate}"), where))
            if self.patients:
                self.add(check_ratio_events(r.estimate, r.lower, r.upper, self.patients, r.measure, where=where))

    def duplicates(self) -> None:
        rows = [(where, tuple(stats)) for where, stats, _ in self.printed_pairs]
        consistent = {where: ok for where, _, ok in self.printed_pairs}
        for finding in duplicated_statistics(rows, consistent):
            self.add(finding)


def _assumed_df(f: Finding) -> Finding:
    """The same finding, saying that the df was not printed and 1 was assumed."""
    return Finding(f.check, f.verdict, f.printed, f.recomputed, f.message + " (df not printed; 1 assumed)", f.where,
                   f.details)


def _line_of(finding: Finding) -> int:
    m = re.match(r"line (\d+)", finding.where)
    return int(m.group(1)) if m else 0


def audit_text(
    path: Path,
    patients: int | None = None,
    ranges: dict[str, tuple[float, float]] | None = None,
    grim: bool = False,
) -> TextAudit:
    """Read a paper (plain text, or PDF through pdftotext) and check its printed statistics.

    ``patients`` enables the check of the events a ratio's CI implies; ``ranges`` maps a row
    label prefix to the range its values must lie in (``{"Age": (18, 65)}``; an "aged 18–65
    years" in the text is found by itself); ``grim`` runs GRIM on table means, for papers whose
    scores are whole numbers.
    """
    text = read_text(path)
    tables, inline, ratios = extract(text)
    auditor = _Auditor(text, patients, ranges or {}, grim)
    for table in tables:
        auditor.table(table)
    auditor.inline(inline)
    auditor.ratios(ratios)
    auditor.duplicates()
    findings = sorted(auditor.findings, key=_line_of)
    return TextAudit(str(path), findings, len(tables), len(inline) + len(ratios) + sum(len(t.rows) for t in tables))


def format_report(report: TextAudit, fmt: str = "table", all_findings: bool = False) -> str:
    """The findings as a terminal table, Markdown or a standalone HTML page.

    Only inconsistent and uncheckable findings are listed unless ``all_findings``.
    """
    rows = [f for f in report.findings if all_findings or f.verdict != CONSISTENT]
    counts = {v: sum(f.verdict == v for f in report.findings) for v in (CONSISTENT, INCONSISTENT, UNCHECKABLE)}
    summary = (f"{report.source}: {len(report.findings)} check(s) on {report.tables} table(s): "
               f"{counts[INCONSISTENT]} inconsistent, {counts[CONSISTENT]} consistent, "
               f"{counts[UNCHECKABLE]} not checkable")
    if fmt == "markdown":
        out = [f"# Audit of {Path(report.source).name}", "", summary, "",
               "| Verdict | Where | Check | Printed | Recomputed | Finding |", "|---|---|---|---|---|---|"]
        out += [f"| {f.verdict} | {f.where} | {f.check} | {f.printed} | {f.recomputed} | "
                f"{f.message.replace('|', '/')} |" for f in rows]
        return "\n".join(out) + "\n"
    if fmt == "html":
        esc = html.escape
        body = "".join(
            f'<tr class="{esc(f.verdict.replace(" ", "-"))}"><td>{esc(f.verdict)}</td><td>{esc(f.where)}</td>'
            f"<td>{esc(f.check)}</td><td>{esc(f.printed)}</td><td>{esc(f.recomputed)}</td><td>{esc(f.message)}</td></tr>"
            for f in rows)
        return ("<!doctype html><html lang=en><meta charset=utf-8>"
                f"<title>Audit of {esc(Path(report.source).name)}</title>"
                "<style>body{font-family:sans-serif;max-width:75rem;margin:2rem auto;padding:0 1rem}"
                "table{border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:.3rem .5rem;"
                "vertical-align:top;text-align:left}.inconsistent td:first-child{color:#a00;font-weight:bold}</style>"
                f"<h1>Audit of {esc(Path(report.source).name)}</h1><p>{esc(summary)}</p>"
                "<table><thead><tr><th>Verdict</th><th>Where</th><th>Check</th><th>Printed</th>"
                f"<th>Recomputed</th><th>Finding</th></tr></thead><tbody>{body}</tbody></table></html>\n")
    if fmt != "table":
        raise AnalysisError(f"Invalid `--format` {fmt!r}. Must be one of: table, markdown, html")
    lines = []
    for f in rows:
        flag = "!" if f.inconsistent else " "
        lines.append(f"{flag} {f.verdict:<13} {f.where:<48} {f.message}")
    return "\n".join([*lines, summary]) + "\n"
