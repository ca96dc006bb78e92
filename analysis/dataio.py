"""Reading raw data files: CSV first; XLSX, SPSS, SAS and Stata through well-kept readers.

Everything is read as text (``dtype=str``) so that validation, not the reader, decides what
a value means: a stray "n/a" in a numeric column becomes a clear error naming its row,
never a silent NaN.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

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
        out[str(col).strip()] = pd.Series(
            [None if _is_empty(v) else (v.strip() if isinstance(v, str) else _scalar_text(v))
             for v in frame[col].tolist()],
            index=frame.index, dtype=object,
        )
    return out


def _scalar_text(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()[:10]
    return str(v)


def _read_delimited(path: Path, name: str, sep: str) -> pd.DataFrame:
    """CSV/TSV with the standard library, so a row with too many or too few fields is an
    error naming its line (pandas would silently turn an extra field into an index)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=sep))
    if not rows:
        raise pd.errors.EmptyDataError
    header, body = rows[0], rows[1:]
    for i, row in enumerate(body):
        if row == []:  # a blank line
            raise DataValidationError(name, "blank line", row=i + 2, expected="one record per line")
        if len(row) != len(header):
            raise DataValidationError(
                name, f"row has {len(row)} fields", row=i + 2, expected=f"{len(header)} fields as in the header"
            )
    return pd.DataFrame(body, columns=header, dtype=object)


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
            frame = _read_delimited(path, name, "\t" if suffix == ".tsv" else ",")
        elif suffix == ".xlsx":
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
