"""One formatting module for tables and prose alike.

Every number a reader sees goes through these pure functions, so a table cell and the
sentence citing it cannot disagree (gtsummary's ``inline_text`` idea).

Rounding is half away from zero, the SPSS and journal convention. Python's ``round()``
and f-strings round half to even on the binary value (``round(2.675, 2) == 2.67``); we
round the shortest decimal representation of the float instead, so 2.675 -> 2.68 and
0.125 -> 0.13, as an author typing the value from SPSS output would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analysis.errors import FormatError

__all__ = [
    "FORMAT_KINDS",
    "Style",
    "fmt_estimate_ci",
    "fmt_int",
    "fmt_mean_sd",
    "fmt_median_ci",
    "fmt_median_iqr",
    "fmt_median_range",
    "fmt_month_year",
    "fmt_n_pct",
    "fmt_number",
    "fmt_p",
    "fmt_p_phrase",
    "fmt_pct",
    "fmt_ratio_ci",
    "format_part",
    "format_value",
    "round_half_away",
]


@dataclass(frozen=True)
class Style:
    """A journal's number style; a study chooses it once in ``study.yaml`` (``style:``).

    ``ci_separator`` goes between the bounds of an interval ("24.1–36.2"); ``pm`` between a
    mean and its SD. ``nr`` is printed for a median or bound that is not reached.
    """

    p_digits: int = 3
    pct_digits: int = 1
    stat_digits: int = 3
    ratio_digits: int = 2
    ci_separator: str = "–"
    pm: str = " ± "
    pct_sign_in_n_pct: bool = False
    nr: str = "NR"
    minus: str = "−"

    @classmethod
    def from_mapping(cls, mapping: dict[str, Any] | None) -> Style:
        """Build a style from the ``style:`` block of a study.yaml, rejecting unknown keys."""
        mapping = dict(mapping or {})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise FormatError(
                f"Invalid `style` key(s) {unknown}. Must be among: {sorted(known)}"
            )
        return replace(cls(), **mapping)


def _check_finite(x: float, what: str) -> float:
    if x is None or isinstance(x, (bool, str, bytes)):
        raise FormatError(f"Invalid {what}: {x!r}. Must be a finite number")
    try:
        xf = float(x)
    except (TypeError, ValueError):
        raise FormatError(f"Invalid {what}: {x!r}. Must be a finite number") from None
    if math.isnan(xf) or math.isinf(xf):
        raise FormatError(f"Invalid {what}: {x!r}. Must be a finite number, not NaN or inf")
    return xf


def round_half_away(x: float, digits: int = 0) -> Decimal:
    """Round ``x`` to ``digits`` decimals, half away from zero, on its shortest repr.

    >>> str(round_half_away(2.675, 2)), str(round_half_away(-0.125, 2))
    ('2.68', '-0.13')
    """
    xf = _check_finite(x, "number")
    if digits < 0:
        raise FormatError(f"Invalid `digits` value: {digits}. Must be 0 or more")
    quantum = Decimal(1).scaleb(-digits)
    return Decimal(repr(xf)).quantize(quantum, rounding=ROUND_HALF_UP)


def _minus(text: str, style: Style | None) -> str:
    sign = (style or Style()).minus
    return sign + text[1:] if text.startswith("-") else text


def fmt_number(x: float, digits: int = 2, style: Style | None = None) -> str:
    """A number with a fixed count of decimals: ``fmt_number(2.675, 2) == "2.68"``.

    A value that rounds to zero loses its sign ("0.00", never "-0.00").
    """
    d = round_half_away(x, digits)
    if d == 0:
        d = abs(d)
    return _minus(f"{d:f}", style)


def fmt_int(x: float, style: Style | None = None) -> str:
    """A count. Rejects non-integral input rather than rounding a count silently."""
    xf = _check_finite(x, "count")
    if xf != int(xf):
        raise FormatError(f"Invalid count: {x!r}. Must be a whole number")
    return _minus(str(int(xf)), style)


def fmt_p(p: float, digits: int = 3) -> str:
    """A P value: ``"<0.001"`` below the smallest printable value, else ``digits`` decimals.

    Values are rounded half away from zero (0.0015 -> "0.002"); a value that would round
    down to zero is printed as ``"<0.001"`` (0.0005 -> "<0.001"). Rejects NaN, infinities
    and values outside [0, 1].
    """
    pf = _check_finite(p, "P value")
    if pf < 0 or pf > 1:
        raise FormatError(f"Invalid P value: {p!r}. Must be between 0 and 1")
    if digits < 1:
        raise FormatError(f"Invalid `digits` value: {digits}. Must be 1 or more")
    threshold = Decimal(1).scaleb(-digits)
    rounded = round_half_away(pf, digits)
    if Decimal(repr(pf)) < threshold:
        return f"<{threshold:f}"
    return f"{rounded:f}"


def fmt_p_phrase(p: float, digits: int = 3, symbol: str = "P") -> str:
    """A P value as a phrase: "P = 0.032", or "P < 0.001" below the smallest printable value."""
    text = fmt_p(p, digits)
    return f"{symbol} < {text[1:]}" if text.startswith("<") else f"{symbol} = {text}"


def fmt_pct(proportion: float, digits: int = 1, sign: bool = False) -> str:
    """A proportion in [0, 1] as a percentage: ``fmt_pct(0.325, 2) == "32.50"``.

    ``sign=True`` appends "%". The percentage is computed exactly (13/40 -> 32.5, not
    32.49999...) before rounding.
    """
    pf = _check_finite(proportion, "proportion")
    if pf < 0 or pf > 1:
        raise FormatError(f"Invalid proportion: {proportion!r}. Must be between 0 and 1")
    pct = Decimal(repr(pf)) * 100
    text = f"{pct.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP):f}"
    return text + ("%" if sign else "")


def _pct_of(n: float, total: float) -> Decimal:
    # Exact rational percent: Decimal division keeps 13/40 = 32.5 exact.
    return Decimal(int(n)) * 100 / Decimal(int(total))


def fmt_n_pct(n: int, total: int, digits: int = 1, sign: bool = False) -> str:
    """A count with its percentage of ``total``: ``fmt_n_pct(13, 40, 2) == "13 (32.50)"``."""
    nf, tf = _check_finite(n, "count"), _check_finite(total, "total")
    if nf != int(nf) or tf != int(tf) or nf < 0 or tf < 0:
        raise FormatError(f"Invalid count {n!r} of {total!r}. Must be whole numbers >= 0")
    if nf > tf:
        raise FormatError(f"Invalid count {n!r}: larger than its total {total!r}")
    if tf == 0:
        return f"{int(nf)} (–)"
    pct = _pct_of(nf, tf).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{int(nf)} ({pct:f}{'%' if sign else ''})"


def fmt_mean_sd(mean: float, sd: float, digits: int = 1, style: Style | None = None) -> str:
    """Mean ± SD with the same decimals: ``fmt_mean_sd(63.94, 11.43, 1) == "63.9 ± 11.4"``."""
    sdf = _check_finite(sd, "SD")
    if sdf < 0:
        raise FormatError(f"Invalid SD: {sd!r}. Must be 0 or more")
    pm = (style or Style()).pm
    return f"{fmt_number(mean, digits, style)}{pm}{fmt_number(sdf, digits, style)}"


def _bound(x: float | None, digits: int, style: Style) -> str:
    return style.nr if x is None else fmt_number(x, digits, style)


def fmt_median_ci(
    median: float | None,
    lower: float | None,
    upper: float | None,
    digits: int = 1,
    style: Style | None = None,
) -> str:
    """Median with its 95% CI; a median or bound that is not reached (``None``) prints NR.

    ``fmt_median_ci(30.03, 24.1, None, 2) == "30.03 (24.10–NR)"``; a median not reached keeps
    its reached lower limit, as R's ``survfit`` prints it: ``fmt_median_ci(None, 63.0, None, 1)
    == "NR (63.0–NR)"``.
    """
    st = style or Style()
    if median is None:
        return st.nr if lower is None else f"{st.nr} ({_bound(lower, digits, st)}{st.ci_separator}{st.nr})"
    inner = f"{_bound(lower, digits, st)}{st.ci_separator}{_bound(upper, digits, st)}"
    return f"{fmt_number(median, digits, st)} ({inner})"


def fmt_median_iqr(median: float, q1: float, q3: float, digits: int = 1, style: Style | None = None) -> str:
    """Median (IQR) with the same decimals: ``fmt_median_iqr(52, 45.25, 60, 1) == "52.0 (45.3–60.0)"``."""
    st = style or Style()
    inner = f"{fmt_number(q1, digits, st)}{st.ci_separator}{fmt_number(q3, digits, st)}"
    return f"{fmt_number(median, digits, st)} ({inner})"


def fmt_median_range(median: float, low: float, high: float, digits: int = 1, style: Style | None = None) -> str:
    """Median (minimum–maximum): ``fmt_median_range(52, 31, 78, 0) == "52 (31–78)"``."""
    return fmt_median_iqr(median, low, high, digits, style)


def fmt_ratio_ci(
    estimate: float, lower: float, upper: float, digits: int = 2, style: Style | None = None
) -> str:
    """A ratio (HR, OR, RR) with its 95% CI: ``"0.71 (0.58–0.87)"``. Ratios must be > 0."""
    st = style or Style()
    for name, x in (("ratio", estimate), ("lower bound", lower), ("upper bound", upper)):
        if _check_finite(x, name) <= 0:
            raise FormatError(f"Invalid {name}: {x!r}. A ratio must be greater than 0")
    inner = f"{fmt_number(lower, digits, st)}{st.ci_separator}{fmt_number(upper, digits, st)}"
    return f"{fmt_number(estimate, digits, st)} ({inner})"


def fmt_estimate_ci(
    estimate: float, lower: float, upper: float, digits: int = 2, style: Style | None = None
) -> str:
    """A difference or regression coefficient with its CI: ``"1.25 (0.40–2.10)"``; when a bound
    is negative the bounds are joined by " to " so the minus sign cannot read as a dash:
    ``"−0.52 (−0.94 to −0.10)"``."""
    st = style or Style()
    for name, x in (("estimate", estimate), ("lower bound", lower), ("upper bound", upper)):
        _check_finite(x, name)
    if not lower <= estimate <= upper:
        raise FormatError(f"Invalid interval: estimate {estimate!r} is outside its CI ({lower!r}, {upper!r})")
    sep = " to " if min(lower, upper) < 0 else st.ci_separator
    inner = f"{fmt_number(lower, digits, st)}{sep}{fmt_number(upper, digits, st)}"
    return f"{fmt_number(estimate, digits, st)} ({inner})"


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def fmt_month_year(iso_date: str) -> str:
    """An ISO date as "January 2014" (the precision clinical papers give for enrolment)."""
    import datetime as dt

    try:
        d = dt.date.fromisoformat(str(iso_date))
    except ValueError:
        raise FormatError(f"Invalid date: {iso_date!r}. Must be YYYY-MM-DD") from None
    return f"{_MONTHS[d.month - 1]} {d.year}"


#: Format kinds understood by :func:`format_value`, with the raw value each expects.
FORMAT_KINDS = {
    "int": "a whole number",
    "num": "a number (digits = decimals)",
    "stat": "a test statistic (digits default to style.stat_digits)",
    "p": "a P value in [0, 1]",
    "pct": "a proportion in [0, 1], printed as a percentage",
    "n_pct": "{'n': int, 'N': int}",
    "mean_sd": "{'mean': float, 'sd': float}",
    "median_ci": "{'median': float|None, 'lower': float|None, 'upper': float|None}",
    "median_iqr": "{'median': float, 'q1': float, 'q3': float}",
    "median_range": "{'median': float, 'min': float, 'max': float}",
    "ratio_ci": "{'estimate': float, 'lower': float, 'upper': float}",
    "estimate_ci": "{'estimate': float, 'lower': float, 'upper': float} (may be negative)",
    "events_n": "{'events': int, 'n': int}, printed events/n",
    "text": "a string, printed as it is",
    "date": "an ISO date string YYYY-MM-DD, printed as it is",
}


def format_value(raw: Any, kind: str, digits: int | None = None, style: Style | None = None) -> str:
    """Format a raw value by its kind; the single dispatch used by tables and prose."""
    st = style or Style()
    if kind == "int":
        return fmt_int(raw, st)
    if kind == "num":
        return fmt_number(raw, 2 if digits is None else digits, st)
    if kind == "stat":
        return fmt_number(raw, st.stat_digits if digits is None else digits, st)
    if kind == "p":
        return fmt_p(raw, st.p_digits if digits is None else digits)
    if kind == "pct":
        return fmt_pct(raw, st.pct_digits if digits is None else digits)
    if kind == "n_pct":
        return fmt_n_pct(
            raw["n"], raw["N"], st.pct_digits if digits is None else digits, st.pct_sign_in_n_pct
        )
    if kind == "mean_sd":
        return fmt_mean_sd(raw["mean"], raw["sd"], 1 if digits is None else digits, st)
    if kind == "median_ci":
        return fmt_median_ci(
            raw["median"], raw["lower"], raw["upper"], 2 if digits is None else digits, st
        )
    if kind == "median_iqr":
        return fmt_median_iqr(raw["median"], raw["q1"], raw["q3"], 1 if digits is None else digits, st)
    if kind == "median_range":
        return fmt_median_range(raw["median"], raw["min"], raw["max"], 1 if digits is None else digits, st)
    if kind == "ratio_ci":
        return fmt_ratio_ci(
            raw["estimate"], raw["lower"], raw["upper"], st.ratio_digits if digits is None else digits, st
        )
    if kind == "events_n":
        return f"{fmt_int(raw['events'], st)}/{fmt_int(raw['n'], st)}"
    if kind == "estimate_ci":
        return fmt_estimate_ci(raw["estimate"], raw["lower"], raw["upper"], 2 if digits is None else digits, st)
    if kind in ("text", "date"):
        if not isinstance(raw, str):
            raise FormatError(f"Invalid {kind} value: {raw!r}. Must be a string")
        return raw
    raise FormatError(f"Invalid format kind: {kind!r}. Must be one of: {sorted(FORMAT_KINDS)}")


#: The parts of composite values a sentence may cite on their own.
PARTS = {
    "n_pct": ("n", "N", "pct"),
    "mean_sd": ("mean", "sd"),
    "median_ci": ("median", "lower", "upper"),
    "median_iqr": ("median", "q1", "q3"),
    "median_range": ("median", "min", "max"),
    "ratio_ci": ("estimate", "lower", "upper"),
    "estimate_ci": ("estimate", "lower", "upper"),
    "events_n": ("events", "n"),
}


def format_part(raw: Any, kind: str, part: str, digits: int | None = None, style: Style | None = None) -> str:
    """One part of a composite value, formatted as the whole value formats it.

    ``format_part({'n': 13, 'N': 40}, 'n_pct', 'pct')`` gives "32.5" (the style's percent
    decimals), the same digits the table cell "13 (32.5)" shows.
    """
    st = style or Style()
    if part not in PARTS.get(kind, ()):
        raise FormatError(
            f"Invalid part {part!r} of a {kind!r} value. Must be one of: {list(PARTS.get(kind, ()))}"
        )
    if kind == "n_pct":
        if part == "pct":
            if raw["N"] == 0:
                return "–"
            pct = _pct_of(raw["n"], raw["N"])
            d = st.pct_digits if digits is None else digits
            return f"{pct.quantize(Decimal(1).scaleb(-d), rounding=ROUND_HALF_UP):f}"
        return fmt_int(raw[part], st)
    if kind in ("mean_sd", "median_iqr", "median_range"):
        return fmt_number(raw[part], 1 if digits is None else digits, st)
    if kind == "median_ci":
        return _bound(raw[part], 2 if digits is None else digits, st)
    if kind == "estimate_ci":
        return fmt_number(raw[part], 2 if digits is None else digits, st)
    if kind == "events_n":
        return fmt_int(raw[part], st)
    return fmt_number(raw[part], st.ratio_digits if digits is None else digits, st)
