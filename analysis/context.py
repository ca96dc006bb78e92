"""The study context: what every builder needs, given once.

An analysis script opens one :class:`StudyContext` and calls builders on it with keyword
arguments; the context supplies the data frame, the arm column and arms, the results store,
the input files (for the paper trail) and the statistics settings of ``study.yaml`` (the
categorical test rule, the t-test, the survival CI scale, alpha, the number style)::

    def analyse(study):
        ctx = StudyContext(study, data="patients", by="arm")
        ctx.counts()
        ctx.baseline([{"column": "age", "label": "Age, years", "type": "continuous"}])
        pfs = ctx.survival("pfs", time="pfs_months", event="pfs_event", label="Progression-free survival")
        ctx.km_figure("fig-km", [pfs], caption="Kaplan-Meier estimates by arm.")
        return ctx.store

Every builder here is a thin delegation to a builder of :mod:`analysis.tables` or
:mod:`analysis.figures`; nothing is computed twice.

Key scheme (one rule for every builder): a builder writes its values under its ``key``
(``<key>.<row>.<arm>`` for a cell, ``<key>.<row>.p`` / ``.stat`` / ``.df`` / ``.test`` for a
row's test, ``<key>.n.<arm>`` for the arm sizes) and adds its table as ``tbl-<key>`` (with
``_`` written ``-``) unless ``id`` says otherwise. The defaults are ``baseline``, ``response``,
``ae`` and ``scores``; a survival endpoint's key is its name (``pfs.median.<arm>``).
:meth:`StudyContext.counts` writes ``n.total`` and ``n.<arm>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from analysis.errors import ConfigError, StatisticsError
from analysis.figureworker import FigureRecipe
from analysis.figureworker import active as figure_worker_active
from analysis.results import ResultsStore, Value
from analysis.settings import alpha as settings_alpha
from analysis.stats.contingency import CategoricalRule
from analysis.study import Arm, Study

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    import pandas as pd

    from analysis.tables.model import Table
    from analysis.tables.survival import SurvivalSummary

__all__ = ["StudyContext", "table_id"]

_T_METHODS = ("student", "welch")
_CONF_TYPES = ("log", "log-log", "plain")


def table_id(key: str) -> str:
    """The default table id of a builder key: ``"table1"`` -> ``"tbl-table1"``,
    ``"tx_os"`` -> ``"tbl-tx-os"``."""
    return "tbl-" + key.replace("_", "-").replace(".", "-").lower()


class StudyContext:
    """A study's data, arms, results store, input files and statistics settings, given once.

    ``data`` names the dataset (a key of ``study.yaml``'s ``data:`` block) the builders read
    (default: the first one); ``frame`` replaces its frame by a derived one (e.g. with an
    added column), still citing the dataset's file. ``by`` is the column holding the arm or
    group code; ``arms`` are the groups in column order (default: ``study.yaml``'s ``arms``).
    ``store`` is shared when given (see :meth:`using`).
    """

    def __init__(
        self,
        study: Study,
        *,
        data: str | None = None,
        by: str = "arm",
        arms: Sequence[Arm] | None = None,
        frame: pd.DataFrame | None = None,
        store: ResultsStore | None = None,
    ) -> None:
        self.study = study
        self.store = store if store is not None else ResultsStore(study.id, study.style)
        if data is None:
            data = next(iter(study.frames), None)
        if data is not None and data not in study.frames:
            raise ConfigError(
                f"Invalid `data` {data!r}: not a dataset of data/{study.id}/study.yaml. "
                f"Must be one of: {sorted(study.frames)}"
            )
        self.data = data
        self.by = by
        self.arms: tuple[Arm, ...] = tuple(study.arms if arms is None else arms)
        self._frame = frame
        stats = study.statistics
        self.rule = CategoricalRule(**stats.get("categorical_rule", {}))
        self.t_method: str = stats.get("t_test", "student")
        if self.t_method not in _T_METHODS:
            raise ConfigError(f"Invalid `statistics.t_test` {self.t_method!r}. Must be one of: {_T_METHODS}")
        self.conf_type: str = stats.get("survival_conf_type", "log")
        if self.conf_type not in _CONF_TYPES:
            raise ConfigError(
                f"Invalid `statistics.survival_conf_type` {self.conf_type!r}. Must be one of: {_CONF_TYPES}"
            )
        self.alpha = settings_alpha(study.config)
        # table key -> {row segment: short name}; shared with the contexts made by using()
        self._short_names: dict[str, dict[str, str]] = {}

    # -- what the builders read -------------------------------------------------------
    @property
    def style(self) -> Any:
        """The study's number style (``study.yaml``'s ``style:``)."""
        return self.study.style

    @property
    def frame(self) -> pd.DataFrame:
        """The validated (or derived) frame the builders read."""
        if self._frame is not None:
            return self._frame
        if self.data is None:
            raise ConfigError(f"study `{self.study.id}` has no dataset; declare one under `data:` in study.yaml")
        return self.study.frames[self.data]

    @property
    def inputs(self) -> tuple[str, ...]:
        """The file the frame came from, for each value's paper trail."""
        return (self.study.files[self.data],) if self.data is not None else ()

    def frame_of(self, name: str) -> pd.DataFrame:
        """Another dataset's validated frame, by its name in ``study.yaml``."""
        if name not in self.study.frames:
            raise ConfigError(
                f"Invalid dataset {name!r}: not in data/{self.study.id}/study.yaml. Must be one of: "
                f"{sorted(self.study.frames)}"
            )
        return self.study.frames[name]

    def file_of(self, name: str) -> str:
        """The file name of a dataset (as the paper trail cites it)."""
        self.frame_of(name)
        return self.study.files[name]

    def using(
        self,
        data: str | None = None,
        *,
        frame: pd.DataFrame | None = None,
        by: str | None = None,
        arms: Sequence[Arm] | None = None,
    ) -> StudyContext:
        """The same study and results store, reading another dataset, frame, group column or arms.

        >>> responders = ctx.using(frame=series, by="responder", arms=[Arm("yes", "Responders"),
        ...                        Arm("no", "Non-responders")])  # doctest: +SKIP
        """
        other = StudyContext(
            self.study,
            data=data or self.data,
            by=by or self.by,
            arms=self.arms if arms is None else arms,
            frame=frame if frame is not None else (self._frame if data is None else None),
            store=self.store,
        )
        other._short_names = self._short_names
        return other

    # -- single values ------------------------------------------------------------------
    def value(
        self,
        key: str,
        raw: Any,
        kind: str,
        digits: int | None = None,
        *,
        test: str | None = None,
        note: str | None = None,
        inputs: Sequence[str] | None = None,
    ) -> Value:
        """Store one value; its inputs default to the context's file (``inputs=()`` for none,
        e.g. a setting of study.yaml, which then says so in ``note``)."""
        fields: dict[str, Any] = {}
        if test is not None:
            fields["test"] = test
        if note is not None:
            fields["note"] = note
        files = self.inputs if inputs is None else tuple(inputs)
        if files:
            fields["inputs"] = files
        return self.store.add(key, raw, kind, digits, **fields)

    def counts(self, key: str = "n") -> None:
        """Patients in all (``<key>.total``) and per arm (``<key>.<arm>``)."""
        frame = self.frame
        self.value(f"{key}.total", len(frame), "int", test="count")
        from analysis.tables.model import key_segment

        for arm in self.arms:
            count = int((frame[self.by].astype("string") == arm.code).sum())
            self.value(f"{key}.{key_segment(arm.code)}", count, "int", test="count")

    # -- tables -------------------------------------------------------------------------
    def add_table(self, table: Table) -> Table:
        """Add a table built elsewhere to the results store; returns it."""
        self.store.add_table(table)
        return table

    def baseline(
        self,
        variables: Sequence[Any],
        *,
        key: str = "baseline",
        id: str | None = None,
        caption: str = "Baseline characteristics of the patients",
        **options: Any,
    ) -> Table:
        """Baseline characteristics by arm (:func:`analysis.tables.baseline.tbl_baseline`).

        ``variables`` are specs such as ``{"column": "age", "label": "Age, years",
        "type": "continuous", "short": "age"}``: ``short`` is the variable's name in prose
        (:meth:`significance_summary`); ``options`` pass on (``stub_header``, ``pct_digits``).
        The study's categorical rule and t-test apply.
        """
        from analysis.tables.baseline import Variable, tbl_baseline

        shorts = {Variable.coerce(v).slug: v["short"] for v in variables if isinstance(v, Mapping) and v.get("short")}
        self._short_names.setdefault(key, {}).update(shorts)
        table = tbl_baseline(
            self.frame, self.by, self.arms, self.store, key, id or table_id(key), caption, variables,
            rule=self.rule, t_method=self.t_method, inputs=self.inputs, **options,
        )
        return self.add_table(table)

    def response(
        self,
        *,
        column: str = "response",
        key: str = "response",
        id: str | None = None,
        caption: str = "Best response",
        **options: Any,
    ) -> Table:
        """Response categories by arm with the ORR (:func:`analysis.tables.response.tbl_response`).

        ``column`` holds the response codes; ``options`` pass on (``categories``, ``orr_codes``,
        ``orr_label``, ``tested``, ``pct_digits``).
        """
        from analysis.tables.response import tbl_response

        table = tbl_response(
            self.frame, self.by, self.arms, self.store, key, id or table_id(key), caption,
            response_column=column, rule=self.rule, inputs=self.inputs, **options,
        )
        return self.add_table(table)

    def comparison(
        self,
        outcomes: Sequence[Any],
        *,
        column: str,
        key: str,
        caption: str,
        id: str | None = None,
        **options: Any,
    ) -> Table:
        """Outcome rows (n (%)) by group with tests (:func:`analysis.tables.comparison.tbl_comparison`).

        ``column`` holds the outcome codes; ``options`` pass on (``test``: the outcome keys to
        test, ``stub_header``, ``pct_digits``).
        """
        from analysis.tables.comparison import tbl_comparison

        table = tbl_comparison(
            self.frame, self.by, self.arms, self.store, key, id or table_id(key), caption,
            outcome_column=column, outcomes=outcomes, rule=self.rule, inputs=self.inputs, **options,
        )
        return self.add_table(table)

    def survival(
        self,
        key: str,
        *,
        time: str,
        event: str,
        label: str | None = None,
        id: str | None = None,
        caption: str | None = None,
        table: bool = True,
        time_unit: str = "months",
        digits: int = 2,
        **options: Any,
    ) -> SurvivalSummary:
        """One time-to-event endpoint by arm (:func:`analysis.tables.survival.tbl_survival`):
        Kaplan-Meier medians, events, log-rank test and Cox hazard ratios.

        ``label`` names the endpoint (the figure panel's title and the caption); ``table=False``
        computes and stores the values without adding the table to the manuscript; ``options``
        pass on (``reference``, ``landmarks``). The CI scale is ``statistics.survival_conf_type``.
        Returns the summary for :meth:`km_figure`.
        """
        from analysis.tables.survival import tbl_survival

        label = label or key.upper()
        summary = tbl_survival(
            self.frame, time=time, event=event, arm_column=self.by, arms=self.arms, store=self.store,
            prefix=key, table_id=id or table_id(key), caption=caption or f"{label} by arm",
            conf_type=self.conf_type, time_unit=time_unit, inputs=self.inputs, digits=digits, **options,
        )
        summary = summary.labelled(label)
        if table:
            self.add_table(summary.table)
        return summary

    def adverse_events(
        self,
        *,
        events: str = "adverse_events",
        key: str = "ae",
        id: str | None = None,
        caption: str = "Adverse events by arm and worst grade",
        **options: Any,
    ) -> Table:
        """Adverse events by term and arm (:func:`analysis.tables.adverse.tbl_adverse`).

        ``events`` names the long events dataset (one row per patient and term); the context's
        frame gives the arms and denominators. ``bands`` default to ``statistics.ae_grade_bands``
        and the term and category labels to ``value_labels.term`` / ``value_labels.category`` of
        study.yaml; other ``options`` pass on (``id_column``, ``term_column``, ``grade_column``).
        """
        from analysis.tables.adverse import GRADE_BANDS, tbl_adverse

        stats = self.study.statistics
        labels = self.study.config.get("value_labels", {})
        options.setdefault("bands", [tuple(b) for b in stats.get("ae_grade_bands", GRADE_BANDS)])
        options.setdefault("terms", list(labels.get("term", {}).items()) or None)
        options.setdefault("category_labels", labels.get("category"))
        table = tbl_adverse(
            self.frame_of(events), self.frame, self.by, self.arms, self.store, key, id or table_id(key), caption,
            rule=self.rule, inputs=[self.file_of(events), *self.inputs], **options,
        )
        return self.add_table(table)

    def scores(
        self,
        scores: Sequence[Any],
        *,
        key: str = "scores",
        id: str | None = None,
        caption: str = "Scores before and after treatment",
        **options: Any,
    ) -> Table:
        """Scores before and after treatment by arm (:func:`analysis.tables.scores.tbl_scores`),
        with the study's t-test between arms and paired t-tests within."""
        from analysis.tables.scores import tbl_scores

        table = tbl_scores(
            self.frame, self.by, self.arms, self.store, key, id or table_id(key), caption, scores,
            t_method=self.t_method, inputs=self.inputs, **options,
        )
        return self.add_table(table)

    def regression(
        self,
        model: Any,
        *,
        key: str = "regression",
        id: str | None = None,
        caption: str = "Regression model",
        **options: Any,
    ) -> Any:
        """A regression table (HR or OR with 95% CI and P per term) of a fitted model
        (:func:`analysis.tables.regression.tbl_regression`): the engine's Cox or logistic model,
        or one of statsmodels or lifelines. ``options`` pass on (``univariable``, ``labels``,
        ``level_labels``, ``include``, ``reference``, ``digits``, ``p_digits``). Returns the
        built table; ``.forest()`` draws its forest plot."""
        from analysis.tables.regression import tbl_regression

        built = tbl_regression(model, store=self.store, prefix=key, table_id=id or table_id(key), caption=caption,
                               inputs=self.inputs, **options)
        self.add_table(built.table)
        return built

    def subgroups(
        self,
        subgroups: Sequence[Any],
        *,
        time: str,
        event: str,
        key: str = "subgroups",
        id: str | None = None,
        caption: str = "Hazard ratios by subgroup",
        **options: Any,
    ) -> Any:
        """Hazard ratios of the arms within each level of each subgroup variable, with the
        interaction test (:func:`analysis.tables.subgroup.tbl_subgroup`). ``subgroups`` are
        :class:`~analysis.tables.subgroup.Subgroup` objects or ``{"column": ..., "label": ...}``
        mappings; ``options`` pass on (``reference``, ``strata``, ``ties``, ``overall_label``,
        ``digits``). Returns the analysis; ``.forest()`` draws the subgroup forest plot."""
        from analysis.tables.subgroup import Subgroup, tbl_subgroup

        specs = [s if isinstance(s, Subgroup) else Subgroup(**s) for s in subgroups]
        built = tbl_subgroup(self.frame, time=time, event=event, arm_column=self.by, arms=self.arms, subgroups=specs,
                             store=self.store, prefix=key, table_id=id or table_id(key), caption=caption,
                             inputs=self.inputs, **options)
        self.add_table(built.table)
        return built

    # -- figures ------------------------------------------------------------------------
    def figure(self, id: str, figure: Any, *, caption: str, alt: str | None = None,
               width: str = "100%") -> Any:
        """Add a figure: a matplotlib Figure built elsewhere, or a
        :class:`~analysis.figureworker.FigureRecipe` saying how to draw it. The pipeline saves it
        as SVG and PNG; a recipe is handed to the figure worker at once, so it is drawn on
        another core while the script goes on (:mod:`analysis.figureworker`)."""
        record = self.store.add_figure(id, figure, caption, alt=alt, width=width)
        worker = figure_worker_active()
        if worker is not None and record.recipe is not None:
            worker.submit(id, record.recipe)
        return record

    def km_figure(
        self,
        id: str,
        panels: Sequence[Any],
        *,
        caption: str,
        alt: str | None = None,
        width: str = "100%",
        **panel_options: Any,
    ) -> Any:
        """Kaplan-Meier curves with numbers at risk, medians, HR and log-rank P, one panel per
        endpoint (lettered A, B, ... when there are several).

        ``panels`` are summaries from :meth:`survival` (or ready
        :class:`~analysis.figures.kmdata.KMPanel` objects); ``panel_options`` apply to every summary's
        panel (:meth:`~analysis.tables.survival.SurvivalSummary.km_panel`: ``xlabel``, ``ylabel``,
        ``xticks``, ``median_digits``, ``risk_labels``, ``risk_title``, ``hr_arm``). Drawn by
        :func:`analysis.figures.km.km_panels`.
        """
        from analysis.figures.kmdata import KMPanel, check_panels

        drawn = [p if isinstance(p, KMPanel) else p.km_panel(style=self.style, **panel_options) for p in panels]
        check_panels(drawn)
        letters = "ABCDEFGH" if len(drawn) > 1 else ""
        recipe = FigureRecipe("analysis.figures.km:km_panels", (drawn,), {"letters": letters})
        return self.figure(id, recipe, caption=caption, alt=alt, width=width)

    def score_figure(
        self,
        id: str,
        scores: Sequence[Mapping[str, Any]],
        *,
        key: str = "scores",
        caption: str,
        alt: str | None = None,
    ) -> Any:
        """Bars of mean ± SD before and after per arm, from the values :meth:`scores` stored
        under ``key`` (nothing recomputed). Drawn by :func:`analysis.figures.scores.before_after_figure`."""
        from analysis.figures.scores import check_panels, score_panels

        panels = score_panels(self.store, key, scores, self.arms)
        check_panels(panels)
        return self.figure(id, FigureRecipe("analysis.figures.scores:before_after_figure", (panels,)),
                           caption=caption, alt=alt)

    def forest_figure(
        self,
        id: str,
        result: Any,
        *,
        caption: str,
        alt: str | None = None,
        width: str = "100%",
        **options: Any,
    ) -> Any:
        """A meta-analysis forest plot of ``result`` (a :class:`~analysis.stats.meta.MetaResult`):
        ``options`` are those of :func:`analysis.figures.forest.forest_plot` (``title``,
        ``xlabel``, ``favours``, ``model`` ...; ``style`` defaults to the study's), which draws it."""
        if not result.studies:
            raise StatisticsError(f"figure {id!r}: a forest plot needs at least one study")
        options = {"style": self.style, **options}
        return self.figure(id, FigureRecipe("analysis.figures.forest:forest_plot", (result,), options),
                           caption=caption, alt=alt, width=width)

    # -- summaries of what was computed -------------------------------------------------------
    def significance_summary(self, key: str) -> None:
        """``<key>.significant_count`` and ``<key>.significant_rows.<i>``: the rows of a table
        whose test is below alpha (:func:`analysis.methods.add_significance_summary`), named by
        the ``short`` name their variable was given (else by the row label)."""
        from analysis.methods import add_significance_summary

        add_significance_summary(self.store, key, self.study, names=self._short_names.get(key))

    def methods(self, tables: Sequence[str]) -> None:
        """``methods.*``: the test rule, the rows that fell back to Fisher's test (in the tables
        under the keys ``tables``), the t-test, the CI scale and alpha, for the Methods text."""
        from analysis.methods import add_methods_values

        add_methods_values(self.store, self.study, self.rule, self.t_method, self.conf_type, tables=tables)
