"""The fast CSV reader (pandas' C tokenizer) gives exactly what the checked reader (the
standard library, field counts checked) gives, or declines so that the checked reader runs
and names the bad line."""

import random

import pandas as pd
import pytest

from analysis import dataio
from analysis.dataio import read_raw
from analysis.errors import DataValidationError


def same_frame(fast: pd.DataFrame, checked: pd.DataFrame) -> bool:
    """Equal cells, equal cell types (str or None), equal header and attrs."""
    if list(fast.columns) != list(checked.columns) or fast.shape != checked.shape:
        return False
    if fast.attrs.keys() != checked.attrs.keys():
        return False
    return all(fast.iloc[:, i].tolist() == checked.iloc[:, i].tolist() for i in range(fast.shape[1]))


def checked_or_error(text: str, sep: str = ",") -> pd.DataFrame | str:
    try:
        return dataio._read_checked(text, "x.csv", sep)
    except DataValidationError as exc:
        return str(exc)
    except pd.errors.EmptyDataError:
        return "empty"


AWKWARD = [
    "a,b\n1,2\n",
    "a,b\n1,2",  # no newline at the end
    "a,b\r\n1,2\r\n",  # Windows line ends
    "a , b \n x , \n,y\n",  # spaces stripped, empty cells None
    'a,b\n"1,5","x ""q"" y"\n',  # separators and quotes inside quoted cells
    'a,b\n1,b"c\n',  # a quote inside an unquoted cell
    'a,b\n1,"b"c\n',  # text after a closing quote
    "a,b\n1,2,3\n",  # too many fields
    "a,b\n1\n",  # too few
    "a,b\n1,2\n\n3,4\n",  # a blank line
    "a,b\n1,2\n\n",  # a blank line at the end
    "a,b\n   \n",  # a line of spaces
    'a,b\n"x\ny",2\n3,4\n',  # a quoted cell spanning lines
    "a,b\r1,2\r",  # old Mac line ends
    "a,b\n1,\x002\n",  # a NUL character
    "a\n1\n\n2\n",  # one column with a blank line
    "a;b\n1;2\n",  # the wrong separator
    "a,b\n",  # a header only
    "",
    'a,b\n"1,2\n',  # an unclosed quote
    "a,b\n0,nan\nNA,None\n",  # text that pandas would read as missing stays text
    "a,a\n1,2\n",  # a repeated header
]


@pytest.mark.parametrize("text", AWKWARD)
def test_fast_reader_equals_checked_reader_or_declines(text):
    fast = dataio._read_fast(text, ",")
    checked = checked_or_error(text)
    if fast is not None:
        assert isinstance(checked, pd.DataFrame), checked
        assert same_frame(fast, checked)


def test_fast_reader_takes_the_plain_files():
    """The common shapes must not fall back (that would hide a slow path at scale)."""
    for text in ["a,b\n1,2\n", "a,b\r\n1,2\r\n", 'a,b\n"x, y",2\n', "a,b\n,\n", "a,b\n1,2"]:
        assert dataio._read_fast(text, ",") is not None, text
    assert dataio._read_fast("a\tb\n1\t2\n", "\t") is not None


def _random_cell(rng: random.Random) -> str:
    plain = "".join(rng.choice(["a", " ", "1", "x y", '"', ""]) for _ in range(rng.randint(0, 3)))
    if rng.random() < 0.6:
        return plain if not plain.startswith('"') else " " + plain
    inner = "".join(rng.choice(["a", ",", '""', " ", "1", "\n"]) for _ in range(rng.randint(0, 4)))
    return f'"{inner}"'


def test_random_texts_agree():
    """Random records of plain and quoted cells (separators, doubled quotes and line breaks
    inside), now and then a short or long record or a blank line, with either line end:
    wherever the fast reader answers, the checked reader gives the same frame."""
    rng = random.Random(20261201)
    answered = 0
    for _ in range(1500):
        width = rng.randint(1, 4)
        records = []
        for _ in range(rng.randint(1, 6)):
            n = width + (rng.choice([-1, 1, -width]) if rng.random() < 0.1 else 0)
            records.append(",".join(_random_cell(rng) for _ in range(max(n, 0))))
        end = rng.choice(["\n", "\r\n"])
        text = ",".join(f"h{i}" for i in range(width)) + end + end.join(records) + rng.choice([end, ""])
        fast = dataio._read_fast(text, ",")
        if fast is None:
            continue
        answered += 1
        checked = checked_or_error(text)
        assert isinstance(checked, pd.DataFrame), (text, checked)
        assert same_frame(fast, checked), text
    assert answered > 200  # the comparison ran on many texts (single columns and multi-line cells decline)


@pytest.mark.parametrize(("text", "message"), [
    ("a,b\n1,2\n3\n", "line 3 (data row 2): row has 1 fields"),
    ("a,b\n1,2\n3,4,5\n", "line 3 (data row 2): row has 3 fields"),
    ("a,b\n1,2\n\n3,4\n", "line 3 (data row 2): blank line"),
    ('a,b\n"x\ny",2\n3\n', "line 4 (data row 2): row has 1 fields"),
])
def test_errors_still_name_the_line(tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        read_raw(path, "x.csv")
    assert message in str(err.value)


def test_lines_of_records_spanning_lines_are_kept(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('a,b\n"x\ny",2\n3,4\n', encoding="utf-8")
    frame = read_raw(path, "x.csv")
    assert frame["a"].tolist() == ["x\ny", "3"]
    assert frame.attrs["lines"].tolist() == [2, 4]


def test_a_large_file_reads_alike(tmp_path):
    """Many rows with repeated and distinct values, empty cells and padded ones."""
    rng = random.Random(7)
    rows = [f"P{i}, {rng.choice(['ID', 'RD', ''])} ,{rng.random():.6f},{rng.choice(['1', '2', ' ', ''])}"
            for i in range(5000)]
    text = "id,arm,x,grade\n" + "\n".join(rows) + "\n"
    fast = dataio._read_fast(text, ",")
    assert fast is not None
    assert same_frame(fast, dataio._read_checked(text, "x.csv", ","))


@pytest.mark.parametrize("char", ["\x1a", "\x0c", "\x0b", "\x85", "\u2028", "\x1c", "\ufeff", "\t", "\x7f", "é"])
def test_unusual_characters_read_alike(char):
    """Control and Unicode line-like characters inside cells: the same cells from both readers."""
    text = f"a,b\n1{char},2\nx,{char}y\n"
    fast = dataio._read_fast(text, ",")
    assert fast is not None
    assert same_frame(fast, dataio._read_checked(text, "x.csv", ","))


def test_numeric_columns_of_other_formats_convert_each_distinct_value_once():
    """SPSS/SAS/Stata numbers become text one distinct value at a time; the same text as
    converting every cell: NaN empty, whole floats without ".0", negative zero, large and
    infinite values, repeated values, integer columns."""
    floats = [1.0, float("nan"), 2.5, -0.0, 0.0, 1e20, 123456789012.0, float("inf"), 2.5, 1.0, 0.1 + 0.2]
    frame = pd.DataFrame({" x ": floats * 3, "n": list(range(len(floats))) * 3,
                          "s": [" a ", None, "", "b"] * 8 + ["c"]})
    text = dataio._as_text(frame)
    assert list(text.columns) == ["x", "n", "s"]
    for name, source in (("x", " x "), ("n", "n"), ("s", "s")):
        assert text[name].tolist() == [dataio._cell_text(v) for v in frame[source].tolist()]
    assert text["x"].tolist()[:5] == ["1", None, "2.5", "0", "0"]
