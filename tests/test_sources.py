"""`--value NAME=SOURCE`: every good form loads the right array; every bad one is one clear line."""

from __future__ import annotations

import io
import pathlib

import numpy as np
import pytest

from gradcalc.errors import InputError
from gradcalc.values.sources import load, parse_value_option


@pytest.fixture
def here(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """Run in an empty temporary folder so relative file names resolve there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text, encoding="utf-8")
    return path


def error(source: str, name: str = "W", **kwargs: object) -> str:
    with pytest.raises(InputError) as caught:
        load(name, source, **kwargs)  # type: ignore[arg-type]
    message = caught.value.message
    assert "\n" not in message and message.startswith(f"--value {name}={source}: ")
    return message[len(f"--value {name}={source}: "):]


# --- parse_value_option ---------------------------------------------------------------

def test_option_splits_at_first_equals() -> None:
    assert parse_value_option("W=[[1,2],[3,4]]") == ("W", "[[1,2],[3,4]]")
    assert parse_value_option("x_1=a=b.npz:k") == ("x_1", "a=b.npz:k")


@pytest.mark.parametrize("text, problem", [
    ("=3", "the variable name before '=' is missing"),
    ("W", "expected NAME=SOURCE, e.g. W=w.npy or a=2.5"),
    ("1W=3", "'1W' is not a variable name; expected NAME=SOURCE, e.g. W=w.npy"),
    ("W=", "the source after '=' is missing; expected e.g. W=w.npy"),
])
def test_option_errors(text: str, problem: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_value_option(text)
    assert caught.value.message == f"--value {text}: {problem}"


# --- good forms -----------------------------------------------------------------------

@pytest.mark.parametrize("array", [np.array(2.5), np.arange(3), np.arange(6.0).reshape(2, 3)])
def test_npy_ranks(here: pathlib.Path, array: np.ndarray) -> None:
    np.save(here / "w.npy", array)
    value = load("W", "w.npy")
    assert value.value.dtype == np.float64 and value.value.shape == array.shape
    assert np.array_equal(value.value, array) and value.source == "file w.npy"


def test_npz_with_key_and_single_array(here: pathlib.Path) -> None:
    np.savez(here / "data.npz", W=np.eye(2), b=np.ones(3))
    np.savez(here / "one.npz", X=np.arange(4.0))
    value = load("W", "data.npz:b")
    assert np.array_equal(value.value, np.ones(3)) and value.source == "file data.npz:b"
    value = load("X", "one.npz")
    assert np.array_equal(value.value, np.arange(4.0)) and value.source == "file one.npz:X"


def test_csv_is_always_a_matrix(here: pathlib.Path) -> None:
    write(here / "x.csv", "1, 2,3\n\n4,5.5,-6e-1\n")
    write(here / "row.csv", "1,2,3\n")
    write(here / "cell.csv", "7")
    value = load("X", "x.csv")
    assert np.array_equal(value.value, [[1, 2, 3], [4, 5.5, -0.6]]) and value.source == "file x.csv"
    assert load("R", "row.csv").value.shape == (1, 3)
    assert load("C", "cell.csv").value.shape == (1, 1)


def test_json_file(here: pathlib.Path) -> None:
    write(here / "w.json", "[[1, 2],\n [3, 4]]\n")
    value = load("W", "w.json")
    assert np.array_equal(value.value, [[1, 2], [3, 4]]) and value.source == "file w.json"


def test_txt_with_comments(here: pathlib.Path) -> None:
    write(here / "t.txt", "# a comment\n1 2\t3  # trailing\n\n4 5 6\n")
    value = load("T", "t.txt")
    assert np.array_equal(value.value, [[1, 2, 3], [4, 5, 6]]) and value.source == "file t.txt"


@pytest.mark.parametrize("text, expected", [
    ("[[1, 2], [3, 4]]", [[1, 2], [3, 4]]),
    ("2.5\n", 2.5),
    ("1 2\n3 4\n", [[1, 2], [3, 4]]),
    ("1,2,3\n", [[1, 2, 3]]),
])
def test_stdin(text: str, expected: object) -> None:
    value = load("S", "-", stdin=io.StringIO(text))
    assert value.source == "stdin" and value.value.shape == np.shape(expected)
    assert np.array_equal(value.value, expected)


def test_stdin_is_read_once() -> None:
    stream = io.StringIO("[1, 2]")
    load("A", "-", stdin=stream)
    assert error("-", "B", stdin=stream) == "only one --value may read stdin, and A=- already did"
    assert load("C", "-", stdin=io.StringIO("3")).value.shape == ()


@pytest.mark.parametrize("source, shape", [("2.5", ()), ("-3", ()), ("[1, 2, 3]", (3,)),
                                           ("[[1,2],[3,4]]", (2, 2)), ("[[1, 2, 3]]", (1, 3))])
def test_inline(source: str, shape: tuple[int, ...]) -> None:
    value = load("W", source)
    assert value.source == "inline" and value.value.shape == shape
    assert np.array_equal(value.value.ravel(), np.ravel(eval(source)))


def test_relative_path_uses_base(tmp_path: pathlib.Path) -> None:
    (tmp_path / "samples").mkdir()
    np.save(tmp_path / "samples" / "w.npy", np.ones((2, 2)))
    value = load("W", "w.npy", base=tmp_path / "samples")
    assert value.value.shape == (2, 2) and value.source == "file w.npy"


# --- files that cannot be read --------------------------------------------------------

def test_missing_file_says_where_it_looked(here: pathlib.Path) -> None:
    assert error("nope.npy") == f"file 'nope.npy' not found (looked for {here / 'nope.npy'})"
    assert error("w.csv", base=here / "s") == f"file 'w.csv' not found (looked for {here / 's' / 'w.csv'})"
    assert error(str(here / "x.json")) == f"file '{here / 'x.json'}' not found"


def test_directory_unreadable_empty(here: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (here / "d.npy").mkdir()
    write(here / "e.csv", "")
    assert error("d.npy") == "file 'd.npy' is a directory, not a file"
    assert error("e.csv") == "file 'e.csv' is empty"

    def denied(self: pathlib.Path) -> bytes:
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(pathlib.Path, "read_bytes", denied)
    assert error("e.csv") == "file 'e.csv' cannot be read: permission denied"


def test_corrupt_npy_and_npz(here: pathlib.Path) -> None:
    (here / "bad.npy").write_bytes(b"not numpy at all")
    np.save(here / "w.npy", np.arange(10.0))
    (here / "cut.npy").write_bytes((here / "w.npy").read_bytes()[:-8])
    (here / "bad.npz").write_bytes(b"not a zip archive")
    assert error("bad.npy") == "file 'bad.npy' is not a .npy file (it does not start with the .npy header)"
    assert error("cut.npy").startswith("file 'cut.npy' is not a valid .npy file (")
    assert error("bad.npz").startswith("file 'bad.npz' is not a valid .npz file (")


def test_npy_npz_mixed_up(here: pathlib.Path) -> None:
    np.save(here / "w.npy", np.ones(2))
    np.savez(here / "d.npz", W=np.ones(2))
    (here / "d.npy").write_bytes((here / "d.npz").read_bytes())
    (here / "w.npz").write_bytes((here / "w.npy").read_bytes())
    assert error("d.npy") == "file 'd.npy' is an .npz archive, not .npy; rename it to .npz"
    assert error("w.npz") == "file 'w.npz' is a .npy array, not an .npz archive; rename it to .npy"


def test_npz_keys(here: pathlib.Path) -> None:
    np.savez(here / "data.npz", W=np.eye(2), b=np.ones(3))
    assert error("data.npz:Q") == "file 'data.npz' has no array 'Q'; available: W, b"
    assert error("data.npz") == ("file 'data.npz' holds 2 arrays; choose one with :KEY after the "
                                 "file name (available: W, b)")
    np.savez(here / "none.npz")
    assert error("none.npz") == "file 'none.npz' holds no arrays"


def test_non_utf8_text(here: pathlib.Path) -> None:
    (here / "u.txt").write_bytes(b"1 2\n3 \xff\n")
    assert error("u.txt") == "file 'u.txt' is not UTF-8 text (byte 0xff on line 2)"


# --- bad contents ---------------------------------------------------------------------

def test_csv_bad_cells(here: pathlib.Path) -> None:
    write(here / "c.csv", "1,2\n\n3,abc\n")
    write(here / "h.csv", "a,b\n1,2\n")
    write(here / "gap.csv", "1,,3\n")
    assert error("c.csv") == "file 'c.csv': line 3, column 2 is 'abc', not a number"
    assert error("h.csv") == ("file 'h.csv': line 1, column 1 is 'a', not a number "
                              "(header lines are not supported; remove it)")
    assert error("gap.csv") == "file 'gap.csv': line 1, column 2 is an empty cell"
    write(here / "u.csv", "1_000,2\n")
    assert error("u.csv") == "file 'u.csv': line 1, column 1 is '1_000', not a number"


def test_ragged_tables(here: pathlib.Path) -> None:
    write(here / "r.csv", "\n1,2,3\n4,5\n")
    write(here / "r.txt", "# x\n1 2\n3 4 5\n")
    assert error("r.csv") == "file 'r.csv' is ragged: line 3 has 2 columns but line 2 (the first row) has 3"
    assert error("r.txt") == "file 'r.txt' is ragged: line 3 has 3 columns but line 2 (the first row) has 2"


def test_table_without_numbers(here: pathlib.Path) -> None:
    write(here / "c.txt", "# only a comment\n\n")
    assert error("c.txt") == "file 'c.txt' has no numbers (only blank lines or comments)"


def test_non_finite_everywhere(here: pathlib.Path) -> None:
    np.save(here / "n.npy", np.array([[1.0, 2.0], [np.nan, 3.0]]))
    np.save(here / "i.npy", np.array(np.inf))
    np.savez(here / "d.npz", W=np.array([1.0, -np.inf]))
    write(here / "n.csv", "1,2\n3,nan\n")
    write(here / "i.txt", "1 -inf\n")
    write(here / "n.json", "[1,\n NaN]")
    assert error("n.npy") == "file 'n.npy': [1][0] is NaN; values must be finite"
    assert error("i.npy") == "file 'i.npy': the value is infinite; values must be finite"
    assert error("d.npz:W") == "file 'd.npz' array 'W': [1] is infinite; values must be finite"
    assert error("n.csv") == "file 'n.csv': line 2, column 2 is 'nan', NaN; values must be finite"
    assert error("i.txt") == "file 'i.txt': line 1, column 2 is '-inf', infinite; values must be finite"
    assert error("n.json") == "file 'n.json': [1] is NaN (line 2, column 2); values must be finite"
    assert error("[1, Infinity]") == "inline JSON: [1] is infinite (column 5); values must be finite"
    assert error("1e400") == "inline JSON: the value is infinite (column 1); values must be finite"


def test_rank_and_empty(here: pathlib.Path) -> None:
    np.save(here / "r3.npy", np.zeros((2, 3, 4)))
    np.save(here / "e.npy", np.zeros((0, 3)))
    rank = "has 3 dimensions (2x3x4); gradcalc variables are scalars, vectors or matrices"
    assert error("r3.npy") == f"file 'r3.npy' {rank}"
    assert error("[[[1,2,3,4],[1,2,3,4],[1,2,3,4]],[[1,2,3,4],[1,2,3,4],[1,2,3,4]]]") == f"inline JSON {rank}"
    assert error("e.npy") == "file 'e.npy' is empty (0x3); a value needs at least one entry"
    assert error("[]") == "inline JSON is empty (0); a value needs at least one entry"
    assert error("[[]]") == "inline JSON is empty (1x0); a value needs at least one entry"


def test_npy_wrong_dtype(here: pathlib.Path) -> None:
    np.save(here / "b.npy", np.array([True, False]))
    np.save(here / "c.npy", np.array([1j]))
    np.save(here / "s.npy", np.array(["a"]))
    assert error("b.npy") == "file 'b.npy' holds booleans; expected real numbers"
    assert error("c.npy") == "file 'c.npy' holds complex numbers; expected real numbers"
    assert error("s.npy") == "file 's.npy' holds strings; expected real numbers"


def test_ragged_json_names_row_and_position(here: pathlib.Path) -> None:
    write(here / "r.json", "[[1, 2],\n [3]]\n")
    assert error("r.json") == ("file 'r.json' is ragged: row [1] has 1 entry but row [0] has 2 "
                               "(line 2, column 2); every row must have the same length")
    assert error("[[1,2],[3]]") == ("inline JSON is ragged: row [1] has 1 entry but row [0] has 2 "
                                    "(column 8); every row must have the same length")
    assert error("[1, [2]]") == ("inline JSON is ragged: [1] is a list of 1 but [0] is a number "
                                 "(column 5); every row must have the same length")


def test_json_syntax_errors(here: pathlib.Path) -> None:
    write(here / "s.json", "[[1, 2],\n [3 4]]\n")
    write(here / "blank.json", "  \n")
    assert error("s.json") == "file 's.json' is not valid JSON: Expecting ',' delimiter (line 2, column 5)"
    assert error("blank.json") == "file 'blank.json' is empty"
    assert error("[[1,2],[3,4]") == ("inline JSON is not valid JSON: Expecting ',' delimiter (column 13); "
                                     "expected e.g. 2.5, [1, 2] or [[1, 2], [3, 4]]")
    assert error("-", stdin=io.StringIO("[1,\n2")) == (
        "standard input is not valid JSON: Expecting ',' delimiter (line 2, column 2)")


@pytest.mark.parametrize("source, problem", [
    ("[true, 1]", "[0] is true (column 2); expected a number"),
    ('[[1, 2], [3, "x"]]', '[1][1] is a string "x" (column 14); expected a number'),
    ("[1, null]", "[1] is null (column 5); expected a number"),
    ('{"a": 1}', "the value is an object (column 1); expected a number"),
])
def test_json_non_numbers(source: str, problem: str) -> None:
    assert error(source) == f"inline JSON: {problem}"


def test_unsupported_suffix(here: pathlib.Path) -> None:
    write(here / "data.xlsx", "")
    supported = ("use one of .npy, .npz, .csv, .json, .txt (file.npz:KEY) or an inline JSON "
                 "literal such as 2.5 or [[1, 2], [3, 4]]")
    assert error("data.xlsx") == f"file suffix .xlsx is not supported; {supported}"
    assert error("dir/data") == f"a file name needs a suffix; {supported}"


def test_stdin_problems() -> None:
    assert error("-", stdin=io.StringIO(" \n")) == "standard input is empty"
    assert error("-", stdin=io.StringIO("1 2\n3 x\n")) == "standard input: line 2, column 2 is 'x', not a number"
    assert error("-", stdin=io.StringIO("1,2\n3\n")) == (
        "standard input is ragged: line 2 has 1 column but line 1 (the first row) has 2")


def test_stdin_terminal_or_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True
    assert error("-", stdin=Terminal("1")) == (
        "standard input is a terminal; pipe the value in, e.g. echo '[1, 2]' | gradcalc ...")
    monkeypatch.setattr("sys.stdin", None)
    assert error("-") == "standard input is closed"


def test_default_stdin_is_sys_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("[[1, 2]]"))
    assert load("W", "-").value.shape == (1, 2)


def test_stdin_bytes_must_be_utf8() -> None:
    stream = io.TextIOWrapper(io.BytesIO(b"1 2\n3 \xff\n"), encoding="utf-8", errors="surrogateescape")
    assert error("-", stdin=stream) == "standard input is not UTF-8 text (byte 0xff on line 2)"
    stream = io.TextIOWrapper(io.BytesIO(b"[[1, 2]]"), encoding="utf-8")
    assert load("W", "-", stdin=stream).value.shape == (1, 2)
