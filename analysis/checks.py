"""Cross-column checks of the data dictionary: a small, safe expression language.

A dataset in study.yaml may declare ``checks:``, expressions every record must satisfy::

    checks:
      - "pfs_months <= os_months"
      - "lower <= hr <= upper"
      - "events_treat <= n_treat"
      - "enrolment_date >= protocol.enrolment.start"
      - "enrolment_date + os_months * protocol.days_per_month <= protocol.follow_up_end + 1"

The grammar is a subset of Python's expression syntax, parsed with :mod:`ast` and
interpreted node by node (nothing is ever passed to ``eval``): names (a column of the
dataset, or ``protocol.<fact>`` from study.yaml), numbers, ISO-date strings
(``"2019-12-31"``), ``+ - * /``, comparisons (``< <= > >= == !=``, chained as in
``a <= b <= c``), ``and``/``or``/``not`` and parentheses. A date plus or minus a number
counts days; a date minus a date is a number of days.

Checks run on whole columns at once with pandas. A record with a missing value in any
column a check names is skipped by that check (missingness is the dictionary's
``nullable`` business). The first failing record is reported with its file, line, the
columns the check names and their values.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Check", "parse_check", "run_checks"]

_COMPARE = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge", ast.Eq: "eq", ast.NotEq: "ne"}
_ARITH = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_MAX_CHARS = 500  # a check is one line of a data dictionary, not a program


@dataclass(frozen=True)
class Check:
    """One parsed check: its text, syntax tree, and the names it uses."""

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]
    protocol: tuple[str, ...]


def _dotted(node: ast.AST) -> str | None:
    """``protocol.enrolment.start`` as text; None for anything but a chain of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def parse_check(text: Any, columns: list[str], where: str) -> Check:
    """Parse and vet one check; :class:`ConfigError` names the check and what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{where}: got {text!r}; expected a check expression such as \"pfs_months <= os_months\"")
    if len(text) > _MAX_CHARS:
        raise ConfigError(f"{where}: check of {len(text)} characters; expected at most {_MAX_CHARS}")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConfigError(f"{where}: check {text!r} is not a valid expression ({exc.msg})") from None
    used_cols: list[str] = []
    used_protocol: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Expression):
            return visit(node.body)
        if isinstance(node, ast.BoolOp) and isinstance(node.op, (ast.And, ast.Or)):
            return [visit(v) for v in node.values] and None
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub, ast.UAdd)):
            return visit(node.operand)
        if isinstance(node, ast.BinOp) and type(node.op) in _ARITH:
            visit(node.left)
            return visit(node.right)
        if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
            visit(node.left)
            return [visit(c) for c in node.comparators] and None
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", node.value):
                raise ConfigError(f"{where}: check {text!r}: text {node.value!r} is not a date YYYY-MM-DD; "
                                  "only dates may be quoted")
            return None
        name = _dotted(node)
        if name is not None and name.startswith("protocol."):
            used_protocol.append(name[len("protocol."):])
            return None
        if isinstance(node, ast.Name):
            if node.id not in columns:
                raise ConfigError(f"{where}: check {text!r} names `{node.id}`, which is not a column of the "
                                  f"dataset; expected one of {', '.join(columns)} or protocol.<fact>")
            used_cols.append(node.id)
            return None
        snippet = ast.get_source_segment(text.strip(), node) or type(node).__name__
        raise ConfigError(f"{where}: check {text!r}: `{snippet}` is not allowed; checks may use column names, "
                          "protocol.<fact>, numbers, quoted dates, + - * /, comparisons, and/or/not, parentheses")

    visit(tree)
    if not isinstance(tree.body, (ast.Compare, ast.BoolOp)) and not (
            isinstance(tree.body, ast.UnaryOp) and isinstance(tree.body.op, ast.Not)):
        raise ConfigError(f"{where}: check {text!r} is not a condition; expected a comparison such as a <= b")
    return Check(text.strip(), tree, tuple(dict.fromkeys(used_cols)), tuple(dict.fromkeys(used_protocol)))


def _protocol_value(protocol: dict[str, Any], dotted: str, check: Check, where: str) -> Any:
    node: Any = protocol
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"{where}: check {check.text!r} names `protocol.{dotted}`, which study.yaml's "
                              "`protocol:` block does not have")
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, (int, float, str, dt.date)):
        raise ConfigError(f"{where}: check {check.text!r}: `protocol.{dotted}` is {node!r}; expected a number or "
                          "a date")
    if isinstance(node, str):
        return _date(node, f"protocol.{dotted}", check, where)
    if isinstance(node, dt.date):
        return _date(node.isoformat(), f"protocol.{dotted}", check, where)
    return node


def _date(text: str, what: str, check: Check, where: str) -> Any:
    import pandas as pd

    try:
        return pd.Timestamp(dt.date.fromisoformat(text))
    except ValueError:
        raise ConfigError(f"{where}: check {check.text!r}: {what} is {text!r}; expected a number or a date "
                          "YYYY-MM-DD") from None


class _Evaluator:
    """Interprets a vetted tree on whole columns."""

    def __init__(self, frame: pd.DataFrame, protocol: dict[str, Any], check: Check, where: str) -> None:
        self.frame, self.protocol, self.check, self.where = frame, protocol, check, where

    def fail(self, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: check {self.check.text!r}: {message}")

    def __call__(self, node: ast.AST) -> Any:
        import pandas as pd

        if isinstance(node, ast.Expression):
            return self(node.body)
        if isinstance(node, ast.BoolOp):
            values = [self._bool(self(v)) for v in node.values]
            out = values[0]
            for v in values[1:]:
                out = (out & v) if isinstance(node.op, ast.And) else (out | v)
            return out
        if isinstance(node, ast.UnaryOp):
            value = self(node.operand)
            if isinstance(node.op, ast.Not):
                return ~self._bool(value)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp):
            return self._arith(self(node.left), _ARITH[type(node.op)], self(node.right))
        if isinstance(node, ast.Compare):
            left, out = self(node.left), None
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self(comp)
                try:
                    part = getattr(pd.Series(left, index=self.frame.index) if not isinstance(left, pd.Series)
                                   else left, _COMPARE[type(op)])(right)
                except TypeError:
                    raise self.fail("compares a date with a number") from None
                out = part if out is None else (out & part)
                left = right
            return out
        if isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                return _date(node.value, "the date", self.check, self.where)
            return node.value
        name = _dotted(node)
        if name is not None and name.startswith("protocol."):
            return _protocol_value(self.protocol, name[len("protocol."):], self.check, self.where)
        column = self.frame[name]
        kind = column.dtype
        numeric = pd.api.types.is_numeric_dtype(kind) and not pd.api.types.is_bool_dtype(kind)
        if not (numeric or pd.api.types.is_datetime64_any_dtype(kind)):
            raise self.fail(f"column `{name}` is not numeric or a date; checks compare numbers and dates")
        return column.astype("float64") if str(column.dtype) == "Int64" else column

    def _bool(self, value: Any) -> Any:
        import pandas as pd

        if not isinstance(value, pd.Series) or str(value.dtype) not in ("bool", "boolean"):
            raise self.fail("and/or/not need conditions on both sides")
        return value.fillna(False).astype(bool)

    def _arith(self, left: Any, op: str, right: Any) -> Any:
        import pandas as pd

        is_date = [_is_date(v) for v in (left, right)]
        try:
            if any(is_date):
                if op == "-" and all(is_date):
                    return (left - right) / pd.Timedelta(days=1)
                if op in "+-" and is_date[0] and not is_date[1]:
                    days = pd.to_timedelta(right, unit="D")
                    return left + days if op == "+" else left - days
                if op == "+" and is_date[1] and not is_date[0]:
                    return right + pd.to_timedelta(left, unit="D")
                raise self.fail(f"`{op}` on a date; a date takes + or - a number of days, or - another date")
            if op == "+":
                return left + right
            if op == "-":
                return left - right
            if op == "*":
                return left * right
            return left / right
        except (TypeError, OverflowError, ValueError) as exc:
            raise self.fail(f"cannot compute `{op}` ({exc})") from None


def _is_date(value: Any) -> bool:
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return True
    return isinstance(value, pd.Series) and str(value.dtype).startswith("datetime64")


def run_checks(
    frame: pd.DataFrame, checks: tuple[Check, ...], file_label: str, protocol: dict[str, Any], where: str,
) -> None:
    """Evaluate every check on a validated frame; raise :class:`DataValidationError` at the
    first record (in file order) that fails one, counting the failures of all checks.

    ``where`` names the setting for configuration errors (``study.yaml, dataset `x```).
    """
    import numpy as np

    from analysis.schema import row_lines

    if not checks:
        return
    lines = row_lines(frame)
    first: tuple[int, int] | None = None  # (row, check index)
    total = 0
    for k, check in enumerate(checks):
        result = _Evaluator(frame, protocol, check, where)(check.tree)
        skip = frame[list(check.columns)].isna().any(axis=1).to_numpy() if check.columns else False
        failed = ~result.fillna(False).astype(bool).to_numpy() & ~skip
        count = int(failed.sum())
        if count:
            total += count
            row = int(np.argmax(failed))
            if first is None or row < first[0]:
                first = (row, k)
    if first is None:
        return
    row, k = first
    check = checks[k]
    values = {c: _plain(frame[c].iloc[row]) for c in check.columns}
    for name in check.protocol:
        values[f"protocol.{name}"] = _plain(_protocol_value(protocol, name, check, where))
    raise DataValidationError(
        file_label, f"record fails the check `{check.text}`", row=int(lines[row]), data_row=row + 1,
        columns=check.columns, value=values or None, expected="every record to satisfy it "
        "(study.yaml `checks:`)", more=total - 1,
    )


def _plain(value: Any) -> Any:
    """A cell as an author would write it: 12.5, 2019-12-31."""
    if hasattr(value, "date") and hasattr(value, "isoformat"):
        return value.date().isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
