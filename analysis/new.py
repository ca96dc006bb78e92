"""``python -m analysis new``: start a study from one data file.

``new ID --data FILE [--by COLUMN] [--time COLUMN --event COLUMN [--event-value V]] [--title T]``
copies the file into ``data/ID/``, infers its data dictionary (column types, category levels in
order, numeric and date ranges, which columns have missing values), and writes ``study.yaml``,
an analysis script (``analysis/studies/ID.py``) and manuscript templates (``templates/ID/``)
from the files of :mod:`analysis.scaffold`, such that ``make report STUDY=ID`` builds HTML, PDF
and DOCX at once: a baseline table by ``--by``, and with ``--time``/``--event`` a Kaplan-Meier
figure with numbers at risk, the log-rank test and the Cox hazard ratio, with an abstract and a
results paragraph whose numbers are all bound and whose wording is computed.

Everything is checked before anything is written; a refused study writes nothing.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

from analysis.errors import AnalysisError, ConfigError

__all__ = ["MAX_GROUPS", "NewStudyError", "StudyPlan", "infer_column", "new_study", "plan_study"]

#: The most groups ``--by`` may have (a baseline table wider than this is not readable).
MAX_GROUPS = 10
#: A text column with at most this many distinct values (and repeats) is a category.
MAX_LEVELS = 10
#: An integer column with at most this many distinct values is summarised as categories.
MAX_INT_LEVELS = 5
_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_INT = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EVENT_WORDS = {("0", "1"): "1", ("false", "true"): "true", ("no", "yes"): "yes", ("n", "y"): "y"}


class NewStudyError(ConfigError):
    """``new`` refused: the id, the file or an option cannot make a study (nothing was written)."""


@dataclass
class StudyPlan:
    """Everything ``new`` will write, computed and checked before any file is touched.

    ``files`` maps paths relative to the project folder to their text; ``data_file`` is copied
    to ``data/<id>/``; ``next_steps`` is what ``new`` prints.
    """

    study_id: str
    data_file: Path
    files: dict[str, str] = field(default_factory=dict)
    next_steps: list[str] = field(default_factory=list)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


def _sort_levels(levels: Sequence[str]) -> list[str]:
    """Levels in a reader's order: numerically when they are all numbers, else alphabetically."""
    if all(_number(v) is not None for v in levels):
        return sorted(levels, key=lambda v: float(v))
    return sorted(levels, key=lambda v: (v.lower(), v))


def _label(name: str) -> str:
    text = re.sub(r"[_.]+", " ", name).strip()
    return text[:1].upper() + text[1:] if text else name


def infer_column(name: str, values: Sequence[str | None]) -> dict[str, Any]:
    """The data-dictionary entry of one column from its text cells (None for empty).

    Integers, numbers and ISO dates get their type and observed ``min``/``max``; text with at
    most :data:`MAX_LEVELS` distinct, repeated values is a ``category`` with its levels in order;
    other text is a ``string``. ``nullable`` is true when a cell is empty: the cells
    ``"F", "M", None, "F"`` of ``sex`` give a nullable category with the levels F and M.
    """
    present = [v for v in values if v is not None]
    spec: dict[str, Any] = {"name": name, "label": _label(name)}
    distinct = sorted(set(present))
    if not present:
        spec["type"] = "string"
    elif all(_INT.match(v) for v in present):
        ints = [int(v) for v in present]
        spec.update(type="integer", min=min(ints), max=max(ints))
    elif all(_number(v) is not None for v in present):
        nums = [float(v) for v in present]
        spec.update(type="number", min=min(nums), max=max(nums))
    elif all(_DATE.match(v) for v in present):
        spec.update(type="date", min=min(present), max=max(present))
    elif len(distinct) <= MAX_LEVELS and len(distinct) < len(present):
        spec.update(type="category", allowed=_sort_levels(distinct))
    else:
        spec["type"] = "string"
    if len(present) < len(values):
        spec["nullable"] = True
    return spec


def _segment(code: str) -> str:
    from analysis.tables.model import key_segment

    return key_segment(code)


def _ref(prefix: str, segment: str) -> str:
    """A template reference to ``prefix.segment``, bracketed when the segment is not a name."""
    return f"{prefix}.{segment}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", segment) else f'{prefix}["{segment}"]'


def _check_id(root: Path, study_id: str) -> None:
    if not _ID.match(study_id):
        raise NewStudyError(
            f"Invalid study id {study_id!r}: use lower-case letters, digits and underscores, starting with a "
            "letter (e.g. `my_trial`)"
        )
    taken = [p for p in (f"data/{study_id}", f"templates/{study_id}", f"analysis/studies/{study_id}.py")
             if (root / p).exists()]
    if taken:
        raise NewStudyError(f"Study `{study_id}` already exists: {', '.join(taken)}; choose another id")


def _read(path: Path) -> Any:
    from analysis.dataio import READERS, read_raw

    if not path.is_file():
        raise NewStudyError(f"--data {path}: no such file")
    if path.suffix.lower() not in READERS:
        raise NewStudyError(f"--data {path}: unsupported file type {path.suffix!r}; expected one of {sorted(READERS)}")
    try:
        frame = read_raw(path, str(path))
    except AnalysisError as exc:
        raise NewStudyError(f"--data {path} cannot be read: {exc}") from None
    if frame.empty or not len(frame.columns):
        raise NewStudyError(f"--data {path}: no data rows; expected a header row and one row per patient")
    return frame


def _column(frame: Any, option: str, name: str) -> list[str | None]:
    if name not in frame.columns:
        raise NewStudyError(f"{option} {name!r}: no such column; the columns are {list(frame.columns)}")
    return list(frame[name])


def _rows(values: Sequence[Any], bad: Any) -> str:
    lines = [i + 2 for i, v in enumerate(values) if bad(v)]  # line 1 is the header
    shown = ", ".join(map(str, lines[:5])) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
    return f"line{'s' if len(lines) > 1 else ''} {shown}"


def _groups(frame: Any, by: str) -> list[str]:
    values = _column(frame, "--by", by)
    if any(v is None for v in values):
        raise NewStudyError(f"--by {by!r}: empty cells at {_rows(values, lambda v: v is None)}; every patient "
                            "needs a group")
    levels = _sort_levels(sorted(set(values)))
    if len(levels) < 2:
        raise NewStudyError(f"--by {by!r} has one level ({levels[0]!r}); a comparison needs at least 2 groups")
    if len(levels) > MAX_GROUPS:
        raise NewStudyError(
            f"--by {by!r} has {len(levels)} levels; at most {MAX_GROUPS} groups can be compared side by side "
            "(is it a grouping column?)"
        )
    return levels


def _time(frame: Any, time: str) -> None:
    values = _column(frame, "--time", time)
    if any(v is None for v in values):
        raise NewStudyError(f"--time {time!r}: empty cells at {_rows(values, lambda v: v is None)}; every "
                            "patient needs a follow-up time")
    if any(_number(v) is None for v in values):
        raise NewStudyError(f"--time {time!r}: not a number at {_rows(values, lambda v: _number(v) is None)} "
                            f"(e.g. {next(v for v in values if _number(v) is None)!r}); expected times as numbers")
    if any(_number(v) < 0 for v in values):
        raise NewStudyError(f"--time {time!r}: negative time at {_rows(values, lambda v: _number(v) < 0)}; "
                            "expected times of 0 or more")


def _event(frame: Any, event: str, event_value: str | None) -> str:
    """The value of the event column that means the event happened."""
    values = _column(frame, "--event", event)
    if any(v is None for v in values):
        raise NewStudyError(f"--event {event!r}: empty cells at {_rows(values, lambda v: v is None)}; every "
                            "patient needs an event status")
    levels = sorted(set(values))
    if event_value is not None:
        if event_value not in levels or len(levels) > 2:
            raise NewStudyError(f"--event-value {event_value!r}: the column {event!r} has the levels {levels}; "
                                "expected two levels, one of them the event value")
        return event_value
    if len(levels) > 2:
        raise NewStudyError(f"--event {event!r} has {len(levels)} levels {levels[:6]}; expected 0 (censored) "
                            "and 1 (event)")
    lowered = {v.lower(): v for v in levels}
    for pair, yes in _EVENT_WORDS.items():
        if set(lowered) <= set(pair):
            if yes not in lowered:
                raise NewStudyError(f"--event {event!r}: no patient had the event (all {levels[0]!r}); the survival "
                                    "analysis needs events")
            return lowered[yes]
    raise NewStudyError(f"--event {event!r} has the levels {levels}, not 0/1; say which means the event with "
                        f"--event-value (e.g. --event-value {levels[-1]})")


def _dictionary(frame: Any, by: str | None, time: str | None, event: str | None) -> list[dict[str, Any]]:
    columns = []
    for name in frame.columns:
        spec = infer_column(name, list(frame[name]))
        if name == by:
            spec = {"name": name, "label": _label(name), "type": "category",
                    "allowed": _sort_levels(sorted(set(frame[name])))}
        elif name == event and spec["type"] not in ("integer", "category"):
            spec = {"name": name, "label": _label(name), "type": "category", "allowed": sorted(set(frame[name]))}
        elif name == time:
            spec["min"] = 0 if spec["type"] == "integer" else 0.0
        columns.append(spec)
    return columns


def _baseline_specs(columns: list[dict[str, Any]], frame: Any, skip: set[str], groups: int) -> tuple[list, list]:
    """Baseline variables (categorical and, for two groups, continuous) and those left out."""
    specs, left_out = [], []
    for col in columns:
        name = col["name"]
        if name in skip or col["type"] in ("string", "date"):
            continue
        short = _label(name).lower()
        distinct = sorted({v for v in frame[name] if v is not None})
        if col["type"] == "category" or (col["type"] == "integer" and len(distinct) <= MAX_INT_LEVELS):
            levels = col.get("allowed") or _sort_levels(distinct)
            specs.append({"column": name, "label": col["label"], "short": short,
                          "levels": [[str(v), str(v)] for v in levels]})
        elif groups == 2:
            specs.append({"column": name, "label": col["label"], "short": short, "type": "continuous", "digits": 1})
        else:
            left_out.append({"column": name, "label": col["label"], "short": short, "type": "continuous",
                             "digits": 1})
    return specs, left_out


def _render(name: str, **values: Any) -> str:
    text = resources.files("analysis.scaffold").joinpath(name).read_text(encoding="utf-8")
    return Template(text).substitute(values)


def _py(obj: Any, indent: int = 4) -> str:
    """A list of spec dicts as readable Python source, one spec a line."""
    if not obj:
        return "[]"
    pad = " " * indent
    return "[\n" + "".join(f"{pad}{item!r},\n" for item in obj) + "]"


def plan_study(
    root: Path,
    study_id: str,
    data: Path,
    *,
    by: str | None = None,
    time: str | None = None,
    event: str | None = None,
    event_value: str | None = None,
    title: str | None = None,
) -> StudyPlan:
    """Check everything and compute every file ``new`` would write (nothing is written here)."""
    import yaml

    _check_id(root, study_id)
    if (time is None) != (event is None):
        raise NewStudyError("--time and --event go together: give both (or neither)")
    if event_value is not None and event is None:
        raise NewStudyError("--event-value needs --event")
    if time is not None and by is None:
        raise NewStudyError("--time/--event need --by: the Kaplan-Meier curves and the log-rank test compare groups")
    if by is None:
        raise NewStudyError("--by is needed: the column whose groups the baseline table compares (e.g. --by arm)")
    frame = _read(data)
    levels = _groups(frame, by)
    if time is not None and event is not None:
        if by in (time, event) or time == event:
            raise NewStudyError(f"--by, --time and --event must be three different columns; got {by!r}, {time!r}, "
                                f"{event!r}")
        _time(frame, time)
        event_value = _event(frame, event, event_value)
    dataset = re.sub(r"[^a-z0-9]+", "_", data.stem.lower()).strip("_") or "patients"
    if not dataset[0].isalpha():
        dataset = "d_" + dataset
    columns = _dictionary(frame, by, time, event)
    skip = {c for c in (by, time, event) if c}
    baseline, left_out = _baseline_specs(columns, frame, skip, len(levels))
    if not baseline:
        raise NewStudyError(f"--data {data}: no column to summarise besides {sorted(skip)}; expected baseline "
                            "characteristics (numbers or categories)")
    title = title or f"{_label(study_id)}: a comparison by {_label(by).lower()}"
    arms = [{"code": lv, "label": lv, "short": lv} for lv in levels]
    config: dict[str, Any] = {
        "id": study_id,
        "title": title,
        "script": f"analysis/studies/{study_id}.py",
        "keywords": ["edit these keywords in study.yaml"],
        "arms": arms,
        "style": {"p_digits": 3, "pct_digits": 1},
        "statistics": {"alpha": 0.05, "t_test": "student", "categorical_rule": {"fisher_below": 5},
                       "survival_conf_type": "log"},
        "data": {dataset: {"file": data.name, "description": f"One row per patient, from {data.name}.",
                           "columns": columns}},
    }
    header = (f"# Study settings of `{study_id}`, written by `python -m analysis new`. Edit freely:\n"
              "# labels and short names of the arms, the title and keywords, the data dictionary.\n")
    files = {f"data/{study_id}/study.yaml": header + yaml.safe_dump(config, sort_keys=False, allow_unicode=True,
                                                                     width=100)}
    segs = [_segment(lv) for lv in levels]
    survival = time is not None
    mapped = event_value not in (None, "1")
    files[f"analysis/studies/{study_id}.py"] = _render(
        "study.py.tmpl", title=title.replace('"""', "'''"), dataset=dataset, by=by,
        baseline=_py(baseline), left_out=(
            "# Continuous variables need a two-group test; with more groups they are left out:\n"
            f"LEFT_OUT = {_py(left_out)}\n" if left_out else ""),
        survival=_render(
            "survival.py.tmpl", time=repr(time), reference=repr(levels[0]),
            event=repr("_event" if mapped else event), ctx="ctx.using(frame=frame)" if mapped else "ctx",
            frame=(f"    # the event is {event} == {event_value!r}\n    frame = ctx.frame.assign("
                   f"_event=(ctx.frame[{event!r}].astype(str) == {event_value!r}).astype(int))\n") if mapped else "",
        ) if survival else "",
        methods_tables='("baseline",)',
    )
    files.update(_templates(study_id, levels, segs, survival, by))
    steps = [
        f"data/{study_id}/study.yaml: the title, keywords, arm labels and short names, and the data dictionary "
        "(labels, units)",
        f"analysis/studies/{study_id}.py: which variables the baseline table shows, and what else to compute",
        f"templates/{study_id}/: the manuscript text (every number bound to a key of build/{study_id}/results.json)",
        f"then: make report STUDY={study_id}   (or: python -m analysis build {study_id})",
    ]
    return StudyPlan(study_id, data, files, steps)


def _templates(study_id: str, levels: list[str], segs: list[str], survival: bool, by: str) -> dict[str, str]:
    def arm(i: int) -> str:
        return f"{{{{ study.arms[{i}].short }}}}"

    groups = ", ".join(f"{arm(i)} (n = {{{{ {_ref('baseline.n', s)} }}}})" for i, s in enumerate(segs))
    summary = ("{% if baseline.significant_count.raw %}The groups differed in "
               "{{ baseline.significant_rows | and_list }}.{% else %}The groups did not differ significantly in "
               "any baseline characteristic.{% endif %}")
    surv_abstract = surv_results = surv_methods = conclusion = ""
    if survival:
        medians = "; ".join(f"{{{{ {_ref('survival.median', s)} | duration(\"months\") }}}} in the {arm(i)}"
                            for i, s in enumerate(segs))
        hrs = "; ".join(f"{{{{ {_ref('survival.hr', s)} }}}} for the {arm(i)}" for i, s in enumerate(segs) if i)
        surv_abstract = (f"Median time to event was {medians}; the difference "
                         "{{ differs(survival.logrank.p, \"was statistically significant\", "
                         "\"was not statistically significant\") }} by the log-rank test. "
                         f"Hazard ratios against the {arm(0)} ({{{{ methods.ci_level }}}}% CI) were {hrs}.")
        events = "; ".join(f"{{{{ {_ref('survival.events', s)} }}}} of {{{{ {_ref('survival.n', s)} }}}} in the "
                           f"{arm(i)}" for i, s in enumerate(segs))
        cis = "; ".join(f"{{{{ {_ref('survival.median_ci', s)} }}}} in the {arm(i)}" for i, s in enumerate(segs))
        surv_results = (
            "## Time to event {#sec-survival}\n\n"
            f"Events occurred in {events}. Median time to event ({{{{ methods.ci_level }}}}% CI) was {cis} "
            "(@fig-km, @tbl-survival); "
            "the groups {{ differs(survival.logrank.p, \"differed\", \"did not differ significantly\") }} "
            "by the log-rank test. "
            + " ".join(f"The hazard of the event was {{{{ direction({_ref('survival.hr', s)}, 1, \"higher\", "
                       f"\"lower\", \"the same\") }}}} in the {arm(i)} than in the {arm(0)} "
                       f"(HR {{{{ {_ref('survival.hr', s)} }}}}, {{{{ pval({_ref('survival.hr_p', s)}) }}}})."
                       for i, s in enumerate(segs) if i)
            + "\n\n{{ table(\"tbl-survival\") }}\n\n{{ figure(\"fig-km\") }}\n"
        )
        surv_methods = (
            "Time to event was estimated by the Kaplan-Meier method, with medians and "
            "{{ methods.ci_level }}% confidence intervals on the {{ methods.km_conf_type }} scale; groups were "
            "compared by the log-rank test, and hazard ratios were estimated by Cox proportional-hazards "
            "regression (Efron ties) with Wald confidence intervals."
        )
        conclusion = ("{{ wording(survival.logrank.p, \"Time to event differed between the groups.\", "
                      "\"Time to event did not differ significantly between the groups.\") }}")
    return {
        f"templates/{study_id}/manuscript.qmd.j2": _render("manuscript.qmd.j2.tmpl"),
        f"templates/{study_id}/00-abstract.md.j2": _render(
            "00-abstract.md.j2.tmpl", groups=groups, by=_label(by).lower(), summary=summary,
            survival=surv_abstract, conclusion=conclusion or summary),
        f"templates/{study_id}/01-methods.md.j2": _render("01-methods.md.j2.tmpl", survival=surv_methods),
        f"templates/{study_id}/02-results.md.j2": _render(
            "02-results.md.j2.tmpl", groups=groups, summary=summary, survival=surv_results),
        f"templates/{study_id}/03-back-matter.md.j2": _render("03-back-matter.md.j2.tmpl"),
    }


def _mkdir(folder: Path, written: list[Path]) -> None:
    """Make ``folder`` and record the topmost folder made, so a failure can remove it all."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    if missing:
        folder.mkdir(parents=True)
        written.append(missing[-1])


def new_study(
    root: Path,
    study_id: str,
    data: Path,
    *,
    by: str | None = None,
    time: str | None = None,
    event: str | None = None,
    event_value: str | None = None,
    title: str | None = None,
) -> StudyPlan:
    """Write a new study (data copy, study.yaml, script, templates) and check it loads.

    Raises :class:`NewStudyError` (nothing written) when the id exists, the file cannot be
    read, ``by`` has one level or more than :data:`MAX_GROUPS`, a time is negative or the event
    column is not 0/1 (or two levels without ``event_value``).
    """
    from analysis.study import load_study

    plan = plan_study(root, study_id, data, by=by, time=time, event=event, event_value=event_value, title=title)
    written: list[Path] = []
    try:
        target = root / "data" / study_id / data.name
        _mkdir(target.parent, written)
        shutil.copy2(data, target)
        for rel, text in plan.files.items():
            path = root / rel
            _mkdir(path.parent, written)
            path.write_text(text, encoding="utf-8")
            written.append(path)
        load_study(root, study_id)  # the inferred dictionary must accept its own file
    except BaseException:
        for path in reversed(written):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        raise
    return plan
