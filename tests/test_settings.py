"""study.yaml settings: one declarative table, every setting type-checked at load."""

from __future__ import annotations

import copy

import pytest
import yaml

from analysis.errors import ConfigError
from analysis.schema import DatasetSpec
from analysis.settings import REQUIRED, SETTINGS, TYPES, setting, validate_config

BASE = {
    "id": "x", "title": "T",
    "arms": [{"code": "A", "label": "Drug A"}],
    "style": {"p_digits": 3},
    "statistics": {"alpha": 0.05, "t_test": "student", "landmark_years": 3,
                   "categorical_rule": {"fisher_below": 5}},
    "data": {"p": {"file": "p.csv", "columns": [{"name": "a", "type": "integer"}]}},
}


def check(path: str, value) -> None:
    config = copy.deepcopy(BASE)
    node = config
    *parents, last = path.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    validate_config(config, "data/x/study.yaml")
    for name, spec in config["data"].items():
        DatasetSpec.from_mapping(name, spec, "data/x/study.yaml")


def test_the_base_config_is_valid():
    check("title", "T")


def test_every_setting_is_documented_and_typed():
    paths = [s.path for s in SETTINGS]
    assert len(paths) == len(set(paths))
    for s in SETTINGS:
        assert s.type in TYPES, s.path
        assert s.description.endswith((".", ")")), s.path
        if s.type == "choice":
            assert s.allowed, s.path
            assert s.default in (*s.allowed, None, REQUIRED), s.path
    assert setting("statistics.alpha").default == 0.05
    assert setting("statistics.alpha").expected() == "a number greater than 0 and less than 1"


@pytest.mark.parametrize(("path", "value", "message"), [
    ("statistics.alpha", "high", "`statistics.alpha`: got 'high'; expected a number greater than 0 and less than 1"),
    ("statistics.alpha", 1.5, "`statistics.alpha`: got 1.5; expected a number greater than 0"),
    ("statistics.alpha", True, "`statistics.alpha`: got True"),
    ("statistics.landmark_years", "three", "`statistics.landmark_years`: got 'three'; expected a whole number"),
    ("statistics.t_test", "welsh", "`statistics.t_test`: got 'welsh'; expected one of 'student', 'welch'"),
    ("statistics.survival_conf_type", "loglog", "expected one of 'log', 'log-log', 'plain'"),
    ("statistics.categorical_rule.fisher_below", -1, "got -1; expected a number of at least 0"),
    ("statistics.categorical_rule.fisher", 5, "unknown setting `statistics.categorical_rule.fisher` "
     "\\(did you mean `fisher_below`\\?\\)"),
    ("statistics.alhpa", 0.05, "unknown setting `statistics.alhpa` \\(did you mean `alpha`\\?\\)"),
    ("statistics.ae_grade_bands", [["1-2", 2, 1]], "expected a list of \\[label, lowest grade, highest grade\\]"),
    ("statistics.meta.model_rule.i2_below", 150, "got 150; expected a number from 0 to 100"),
    ("style.p_digits", "three", "`style.p_digits`: got 'three'; expected a whole number from 1 to 6"),
    ("style.p_digit", 3, "unknown setting `style.p_digit` \\(did you mean `p_digits`\\?\\)"),
    ("style.colour", "red", "unknown setting `style.colour`; expected one of: ci_separator"),
    ("statistcs", {}, "unknown setting `statistcs` \\(did you mean `statistics`\\?\\)"),
    ("title", 42, "`title`: got 42; expected text"),
    ("protocol", [1, 2], "`protocol`: got \\[1, 2\\]; expected a mapping"),
    ("arms", "A", "`arms`: got 'A'; expected a list"),
    ("data.p.columns", [{"name": "a", "type": "integer", "min": "abc"}],
     "`data.p.columns\\[0\\].min` of column `a`: got 'abc'; expected a number \\(the column is of type integer\\)"),
    ("data.p.columns", [{"name": "a", "type": "date", "max": "2019-02-30"}], "not a calendar date"),
    ("data.p.columns", [{"name": "a", "type": "string", "pattern": "^P[0-9"}],
     "`data.p.columns\\[0\\].pattern`: got '\\^P\\[0-9', not a valid regular expression"),
    ("data.p.columns", [{"name": "a", "type": "string", "nullable": "yes"}], "got 'yes'; expected true or false"),
    ("data.p.columns", [{"name": "a", "type": "string", "min": 1}], "`min`/`max` apply to integer"),
    ("data.p.checks", ["a <= b"], "`data.p.checks\\[0\\]`: check 'a <= b' names `b`"),
    ("data.p.checks", "a <= 3", "`data.p.checks`: got 'a <= 3'; expected a list of check expressions"),
    ("data.p.unique", "a", "`data.p.unique`: got 'a'; expected a list of text"),
    ("data.p.fiel", "p.csv", "unknown setting `data.p.fiel` \\(did you mean `file`\\?\\)"),
])
def test_a_bad_setting_names_itself_the_value_and_what_is_allowed(path, value, message):
    with pytest.raises(ConfigError, match=message) as err:
        check(path, value)
    assert str(err.value).startswith("data/x/study.yaml")


def test_study_specific_statistics_keys_are_left_to_the_script():
    check("statistics.my_own_cut", 12)
    check("front_matter_of_another_module", {"x": 1})


def test_arms_need_code_and_label():
    with pytest.raises(ConfigError, match="`arms\\[0\\]` needs `label`"):
        check("arms", [{"code": "A"}])
    with pytest.raises(ConfigError, match="`arms\\[0\\].short`: got 3; expected text"):
        check("arms", [{"code": "A", "label": "L", "short": 3}])


def test_the_seed_studies_pass(request):
    from pathlib import Path
    root = Path(request.config.rootpath)
    for sid in ("ixazomib_ndmm", "ird_rrmm"):
        config = yaml.safe_load((root / "data" / sid / "study.yaml").read_text(encoding="utf-8"))
        validate_config(config, sid)


def test_configured_gives_the_setting_or_its_declared_default():
    from analysis.settings import alpha, configured, setting

    assert alpha({}) == 0.05 == setting("statistics.alpha").default
    assert alpha({"statistics": {"alpha": 0.01}}) == 0.01
    assert alpha({"statistics": None}) == 0.05  # an empty block in study.yaml
    assert configured({"statistics": {"t_test": "welch"}}, "statistics.t_test") == "welch"
