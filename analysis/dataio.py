"""Reading raw data files: CSV first; XLSX, SPSS, SAS and Stata through well-kept readers.

Everything is read as text (``dtype=str``) so that validation, not the reader, decides what
a value means: a stray "n/a" in a numeric column becomes a clear error naming its row,
never a silent NaN.

A CSV is read by pandas' C tokenizer when its result provably equals the standard library's
(every record as wide as the header, one line per record); any other file, and every broken
one, is read by the standard library's reader, which checks each record and names the line
of the first bad one. A million well-formed rows are read in about a second (the checked reader
takes about five).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.errors import DataValidationError

__all__ = ["READERS", "read_raw", "sha256_file"]

#: File suffix -> human name of the format, for messages.
READERS = {
    ".csv": "CSV",
    ".tsv": "TSV",
    ".xlsx": "Excel workbook",
    ".sav": "SPSS",
    ".xpt": "SAS transport",
    ".sas7bdat": "SAS",
    ".dta": "Stata",
}


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, hex-encoded."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _is_empty(v: object) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:  # NaN from a reader
        return True
    return isinstance(v, str) and v.strip() == ""


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Cells as stripped strings with None for empty, so every format validates alike."""
    out = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        out[str(col).strip()] = _text_of(frame[col])
    return out


def _text_of(column: pd.Series) -> pd.Series:
    """One column's cells as text. A numeric column (SPSS, SAS, Stata) is converted one
    distinct value at a time: a million rows of a score hold far fewer values."""
    if column.dtype.kind in "iuf":
        codes, distinct = pd.factorize(column.to_numpy())  # NaN gets code -1
        return _each_distinct(codes, distinct.tolist(), _cell_text).set_axis(column.index)
    return pd.Series(list(map(_cell_text, column.tolist())), index=column.index, dtype=object)


def _cell_text(v: object) -> str | None:
    """A cell as stripped text, None when empty."""
    return None if _is_empty(v) else (v.strip() if isinstance(v, str) else _scalar_text(v))


def _scalar_text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    return str(v)


#: Largest cell the CSV reader accepts (the standard library's default is 128 KiB).
MAX_CELL_CHARS = 16 * 1024 * 1024
_OTHER_SEPARATORS = {";": "`;`", "\t": "tab", "|": "`|`", ",": "comma"}


def _decode(path: Path, name: str) -> str:
    """The file as text; a byte that is not UTF-8 is named by its line, not its offset."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        snippet = data[line_start: exc.start + 8].split(b"\n")[0].decode("utf-8", "backslashreplace")
        raise DataValidationError(
            name, f"not UTF-8 text: byte 0x{data[exc.start]:02x} at character {exc.start - line_start + 1} "
            f"of the line", row=line, value=snippet,
            expected="UTF-8 text (re-save the file as \"CSV UTF-8\")",
        ) from None


def _read_delimited(path: Path, name: str, sep: str) -> pd.DataFrame:
    """CSV/TSV: pandas' C tokenizer when the file is well formed, else the standard library,
    so a row with too many or too few fields is an error naming its line (pandas would pad a
    short row with empty cells and turn an extra field into an index).

    When a quoted cell spans lines, the returned frame's ``attrs["lines"]`` holds the file
    line each record starts on (an array: pandas copies ``attrs`` with every operation), so
    messages stay exact.
    """
    text = _decode(path, name)
    frame = _read_fast(text, sep)
    if frame is None:
        frame = _read_checked(text, name, sep)
    return frame


def _read_fast(text: str, sep: str) -> pd.DataFrame | None:
    """The file through pandas' C tokenizer, or None when the standard library must read it.

    The result is only trusted when it provably equals :func:`_read_checked`'s: every record
    has as many fields as the header (pandas raises on more; the separators outside cells
    count the short and blank lines, which pandas pads), each record is one line (so no
    quoted cell spans lines and line numbers are record numbers), no cell is over
    :data:`MAX_CELL_CHARS`, and the text has nothing the two readers treat differently (lone
    carriage returns, NUL characters, a single column, where a blank line is an empty cell to
    pandas). Anything else, every error included, goes to the checked reader, which names
    the line.
    """
    if "\x00" in text or text.count("\r") != text.count("\r\n"):
        return None
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, header=None, dtype=object, na_filter=False,
                            skip_blank_lines=False, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError):
        return None
    records, width = frame.shape
    if width < 2 or records < 2 or text.count("\n") + (not text.endswith("\n")) != records:
        return None
    columns, seps_in_cells = [], 0
    quoted = '"' in text
    for i in range(width):
        codes, uniques = pd.factorize(frame[i].to_numpy(dtype=object), use_na_sentinel=False)
        if max(map(len, uniques)) > MAX_CELL_CHARS:
            return None
        if quoted:  # only a quoted cell can hold a separator
            counts = np.bincount(codes, minlength=len(uniques))
            seps_in_cells += int(np.dot(counts, [u.count(sep) for u in uniques]))
        columns.append((codes, uniques))
    if text.count(sep) - seps_in_cells != records * (width - 1):
        return None
    header = [uniques[codes[0]] for codes, uniques in columns]
    out = pd.DataFrame({i: _stripped(codes[1:], uniques) for i, (codes, uniques) in enumerate(columns)})
    out.columns = [h.strip() for h in header]
    return out


def _each_distinct(codes: np.ndarray, distinct: list, convert: Callable[[Any], Any]) -> pd.Series:
    """A factorised column (``codes`` into ``distinct``, -1 for a missing cell) with each
    distinct value converted once and a missing cell None."""
    values = np.empty(len(distinct) + 1, dtype=object)
    values[:] = [*map(convert, distinct), None]  # code -1 takes the last: None
    return pd.Series(values[codes], dtype=object)


def _stripped(codes: np.ndarray, uniques: np.ndarray) -> pd.Series:
    """A column from its factorised cells, each distinct value stripped once (None if empty)."""
    return _each_distinct(codes, list(uniques), lambda u: u.strip() or None)


def _check_header(header: list[str], records: int, sep: str, name: str) -> None:
    """A one-column header over data rows usually means the wrong separator: say which."""
    if len(header) == 1 and records > 1:
        for char, label in _OTHER_SEPARATORS.items():
            if char != sep and header[0].count(char) >= 1:
                raise DataValidationError(
                    name, f"the header has a single column; the file looks like {label}-separated",
                    row=1, value=header[0][:80],
                    expected=f"{'tab' if sep == chr(9) else 'comma'}-separated values",
                )


def _read_checked(text: str, name: str, sep: str) -> pd.DataFrame:
    """The file through the standard library's reader, every record's field count checked."""
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        rows = list(reader)  # in C; line numbers are worked out below only when needed
    except csv.Error as exc:
        _csv_error(text, sep, name, exc)
    if not rows:
        raise pd.errors.EmptyDataError
    # Each record's first line: one line per record unless a quoted cell spans lines.
    lines = list(range(1, len(rows) + 1)) if reader.line_num == len(rows) else _record_lines(text, sep)
    header, body = rows[0], rows[1:]
    _check_header(header, len(rows), sep, name)
    if any(n != len(header) for n in set(map(len, body))):
        i = next(i for i, row in enumerate(body) if len(row) != len(header))
        if body[i] == []:
            raise DataValidationError(name, "blank line", row=lines[i + 1], data_row=i + 1,
                                      expected="one record per line")
        raise DataValidationError(
            name, f"row has {len(body[i])} fields", row=lines[i + 1], data_row=i + 1,
            expected=f"{len(header)} fields as in the header",
        )
    columns = list(zip(*body, strict=True)) if body else [() for _ in header]
    frame = pd.DataFrame({i: _text_column(col) for i, col in enumerate(columns)})
    frame.columns = [h.strip() for h in header]
    if lines[-1] != len(lines):  # a quoted cell spans lines: keep where each record starts
        frame.attrs["lines"] = np.asarray(lines[1:], dtype=np.int64)
    return frame


def _record_lines(text: str, sep: str) -> list[int]:
    """The line each record starts on (the slow path, for files with multi-line cells)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    lines, start = [], 1
    for _row in reader:
        lines.append(start)
        start = reader.line_num + 1
    return lines


def _csv_error(text: str, sep: str, name: str, exc: csv.Error) -> None:
    """Name the line of a record the CSV reader cannot parse."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    start, records = 1, 0
    try:
        for _row in reader:
            records += 1
            start = reader.line_num + 1
    except csv.Error:
        pass
    detail = str(exc)
    if "field larger than field limit" in detail:
        detail = f"a cell longer than {MAX_CELL_CHARS:,} characters"
    raise DataValidationError(
        name, f"cannot be read as CSV: {detail}", row=start, data_row=records,
        expected="well-formed CSV (quotes closed, cells of reasonable size)",
    ) from None


def _text_column(cells: tuple[str, ...]) -> pd.Series:
    """Stripped text cells, None for empty ones (``map`` of C-level string methods; no
    Python-level loop per cell)."""
    series = pd.Series(list(map(str.strip, cells)), dtype=object)
    return series.where(series.astype(bool), None)


def read_raw(path: Path, display_name: str | None = None) -> pd.DataFrame:
    """Read one raw data file into a frame of strings (None for empty cells).

    Raises :class:`DataValidationError` naming the file when it is missing, empty, of an
    unknown type, or cannot be parsed.
    """
    name = display_name or str(path)
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise DataValidationError(
            name, "unsupported file type", value=suffix, expected=f"one of {sorted(READERS)}"
        )
    if not path.exists():
        raise DataValidationError(name, "file not found")
    try:
        if suffix in (".csv", ".tsv"):
            return _read_delimited(path, name, "\t" if suffix == ".tsv" else ",")
        if suffix == ".xlsx":
            frame = pd.read_excel(path, dtype=object)
        elif suffix == ".sav":
            frame = pd.read_spss(path, convert_categoricals=False)
        elif suffix in (".xpt", ".sas7bdat"):
            frame = pd.read_sas(path, format="xport" if suffix == ".xpt" else "sas7bdat")
        else:
            frame = pd.read_stata(path, convert_categoricals=False)
    except pd.errors.EmptyDataError:
        raise DataValidationError(name, "file is empty", expected="a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataValidationError(name, f"cannot be read as {READERS[suffix]}: {exc}") from None
    return _as_text(frame)
