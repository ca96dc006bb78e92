"""The one formatting module: rounding half away from zero, P values, and bad input."""

import math

import pytest

from analysis.errors import FormatError
from analysis.formatting import (
    Style,
    fmt_int,
    fmt_mean_sd,
    fmt_median_ci,
    fmt_month_year,
    fmt_n_pct,
    fmt_number,
    fmt_p,
    fmt_pct,
    fmt_ratio_ci,
    format_value,
    round_half_away,
)


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (0.125, 2, "0.13"),  # Python's round() gives 0.12
        (2.675, 2, "2.68"),  # the binary value is 2.67499999..., round() gives 2.67
        (0.5, 0, "1"),
        (1.5, 0, "2"),
        (2.5, 0, "3"),  # half-to-even would give 2
        (-2.5, 0, "−3"),  # away from zero on the negative side too
        (-0.125, 2, "−0.13"),
        (30.025, 2, "30.03"),
        (1.005, 2, "1.01"),
        (0.0, 2, "0.00"),
        (-0.004, 2, "0.00"),  # no "-0.00"
        (12.0, 1, "12.0"),
    ],
)
def test_fmt_number_rounds_half_away_from_zero(x, digits, expected):
    assert fmt_number(x, digits) == expected


def test_round_half_away_returns_exact_decimal():
    assert str(round_half_away(2.675, 2)) == "2.68"
    assert str(round_half_away(63.945, 2)) == "63.95"


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (0.0005, "<0.001"),
        (0.0015, "0.002"),
        (0.00099, "<0.001"),
        (0.001, "0.001"),
        (0.0322000642003265, "0.032"),
        (0.3016995824783480, "0.302"),
        (0.6330702545034980, "0.633"),
        (0.0474716202270382, "0.047"),
        (0.0, "<0.001"),
        (1.0, "1.000"),
        (0.9996, "1.000"),
    ],
)
def test_fmt_p(p, expected):
    assert fmt_p(p) == expected


def test_fmt_p_other_digits():
    assert fmt_p(0.0125, digits=2) == "0.01"
    assert fmt_p(0.125, digits=2) == "0.13"
    assert fmt_p(0.004, digits=2) == "<0.01"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, -0.01, 1.0001, None, "0.5"])
def test_fmt_p_rejects_bad_input(bad):
    with pytest.raises(FormatError, match="P value"):
        fmt_p(bad)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None])
def test_fmt_number_rejects_non_finite(bad):
    with pytest.raises(FormatError, match="finite"):
        fmt_number(bad, 2)


def test_percentages_are_exact_before_rounding():
    assert fmt_n_pct(13, 40, 2) == "13 (32.50)"
    assert fmt_n_pct(36, 40, 2) == "36 (90.00)"
    assert fmt_n_pct(1, 8, 1) == "1 (12.5)"
    assert fmt_n_pct(1, 3, 1, sign=True) == "1 (33.3%)"
    assert fmt_n_pct(0, 0) == "0 (–)"
    assert fmt_pct(0.825, 2) == "82.50"
    assert fmt_pct(0.125, 0) == "13"


@pytest.mark.parametrize(("n", "total"), [(5, 4), (-1, 4), (1.5, 4), (math.nan, 4)])
def test_fmt_n_pct_rejects_impossible_counts(n, total):
    with pytest.raises(FormatError):
        fmt_n_pct(n, total)


@pytest.mark.parametrize("bad", [-0.1, 1.2, math.nan])
def test_fmt_pct_rejects_out_of_range(bad):
    with pytest.raises(FormatError):
        fmt_pct(bad)


def test_composites():
    assert fmt_mean_sd(63.94, 11.43, 1) == "63.9 ± 11.4"
    assert fmt_mean_sd(7.555, 2.125, 2) == "7.56 ± 2.13"
    assert fmt_median_ci(30.03, 24.105, None, 2) == "30.03 (24.11–NR)"
    assert fmt_median_ci(None, 12.0, None) == "NR (12.0–NR)"  # R prints the reached lower limit
    assert fmt_median_ci(None, None, None) == "NR"
    assert fmt_ratio_ci(0.7108, 0.5805, 0.8703) == "0.71 (0.58–0.87)"
    assert fmt_int(40) == "40"
    assert fmt_month_year("2014-01-01") == "January 2014"
    with pytest.raises(FormatError):
        fmt_mean_sd(1.0, -2.0)
    with pytest.raises(FormatError, match="greater than 0"):
        fmt_ratio_ci(0.0, 0.1, 1.0)
    with pytest.raises(FormatError, match="whole number"):
        fmt_int(2.5)
    with pytest.raises(FormatError, match="date"):
        fmt_month_year("Jan 2014")


def test_style_changes_separator_and_digits():
    style = Style(ci_separator=" to ", pct_digits=2, pct_sign_in_n_pct=True)
    assert format_value({"estimate": 0.71, "lower": 0.58, "upper": 0.87}, "ratio_ci", style=style) == (
        "0.71 (0.58 to 0.87)"
    )
    assert format_value({"n": 13, "N": 40}, "n_pct", style=style) == "13 (32.50%)"


def test_style_rejects_unknown_keys():
    with pytest.raises(FormatError, match="Invalid `style` key"):
        Style.from_mapping({"p_digit": 3})


def test_format_value_rejects_unknown_kind():
    with pytest.raises(FormatError, match="Invalid format kind: 'percent'"):
        format_value(0.5, "percent")


def test_format_part_matches_the_whole_value():
    from analysis.formatting import format_part

    raw = {"n": 13, "N": 40}
    assert format_value(raw, "n_pct", 2) == "13 (32.50)"
    assert (format_part(raw, "n_pct", "n"), format_part(raw, "n_pct", "pct", 2)) == ("13", "32.50")
    assert format_part({"median": 30.03, "lower": None, "upper": 40.0}, "median_ci", "lower") == "NR"
    assert format_part({"estimate": 0.7108, "lower": 0.58, "upper": 0.87}, "ratio_ci", "estimate") == "0.71"
    with pytest.raises(FormatError, match="Invalid part 'sd'"):
        format_part(raw, "n_pct", "sd")


def test_estimate_ci_allows_negatives_and_joins_them_with_to():
    from analysis.formatting import fmt_estimate_ci, format_part, format_value

    assert fmt_estimate_ci(1.254, 0.395, 2.105) == "1.25 (0.40–2.11)"
    assert fmt_estimate_ci(-0.525, -0.945, -0.105) == "−0.53 (−0.95 to −0.11)"
    assert format_value({"estimate": -0.5, "lower": -1.0, "upper": 0.25}, "estimate_ci", 1) == "−0.5 (−1.0 to 0.3)"
    assert format_part({"estimate": -0.5, "lower": -1.0, "upper": 0.25}, "estimate_ci", "lower") == "−1.00"
    with pytest.raises(FormatError, match="outside its CI"):
        fmt_estimate_ci(3.0, 0.4, 2.1)


def test_events_n_kind():
    from analysis.formatting import format_part, format_value

    assert format_value({"events": 123, "n": 1304}, "events_n") == "123/1304"
    assert format_part({"events": 123, "n": 304}, "events_n", "events") == "123"


def test_median_iqr_and_range_round_half_away_and_share_parts():
    from analysis.formatting import fmt_median_iqr, fmt_median_range, format_part, format_value

    assert fmt_median_iqr(52, 45.25, 60, 1) == "52.0 (45.3–60.0)"
    assert fmt_median_range(52.5, 31, 78.25, 0) == "53 (31–78)"
    raw = {"median": 2.675, "q1": 1.125, "q3": 3.5}
    assert format_value(raw, "median_iqr", 2) == "2.68 (1.13–3.50)"
    assert format_part(raw, "median_iqr", "q1", 2) == "1.13"
    assert format_value({"median": 1, "min": 0, "max": 9}, "median_range", 0) == "1 (0–9)"
    with pytest.raises(FormatError):
        format_value({"median": float("nan"), "q1": 0, "q3": 1}, "median_iqr")
