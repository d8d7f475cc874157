"""`--value NAME=SOURCE`: a variable's value from a file, standard input or inline JSON.

SOURCE is `-` (standard input: JSON if it starts with `[` or `{` or parses as
JSON, else a table), a `.npy`, `.npz` (`file.npz:key`), `.csv`, `.json` or
`.txt` file, or an inline JSON literal. JSON gives a scalar, vector or matrix
by nesting; CSV and TXT are tables, always matrices. Every failure is one
`InputError` line starting with `--value NAME=SOURCE: `.

Standard input is read at most once per stream: the module remembers, per
stream object (weakly, so no reset is needed), which variable read it.

>>> load("W", "[[1, 2], [3, 4]]")
Value(value=array([[1., 2.],
       [3., 4.]]), source='inline')
"""

from __future__ import annotations

import io
import json
import math
import pathlib
import re
import sys
import typing
import weakref

import numpy as np

from gradcalc.errors import InputError
from gradcalc.values.draw import Value

SUFFIXES = (".npy", ".npz", ".csv", ".json", ".txt")
_SPACE = re.compile(r"[ \t\n\r]*")
_stdin_readers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _Fail(Exception):
    """A problem found while reading; `load` adds the `--value NAME=SOURCE: ` prefix."""


def parse_value_option(text: str) -> tuple[str, str]:
    """Split `NAME=SOURCE` at the first `=`; NAME must be an identifier.

    >>> parse_value_option("W=[[1,2],[3,4]]")
    ('W', '[[1,2],[3,4]]')
    >>> parse_value_option("1W=3")
    Traceback (most recent call last):
    gradcalc.errors.InputError: --value 1W=3: '1W' is not a variable name; expected NAME=SOURCE, e.g. W=w.npy
    """
    name, eq, source = text.partition("=")
    name, source = name.strip(), source.strip()
    problem = ("expected NAME=SOURCE, e.g. W=w.npy or a=2.5" if not eq
               else "the variable name before '=' is missing" if not name
               else f"{name!r} is not a variable name; expected NAME=SOURCE, e.g. W=w.npy"
               if not name.isidentifier()
               else f"the source after '=' is missing; expected e.g. {name}=w.npy" if not source else "")
    if problem:
        raise InputError(f"--value {text}: {problem}")
    return name, source


def load_all(options: list[str], *, stdin: typing.TextIO | None = None) -> dict[str, Value]:
    """Every `--value NAME=SOURCE` option loaded; a name given twice is an error.

    >>> {name: v.value.shape for name, v in load_all(["a=2.5", "W=[[1, 2]]"]).items()}
    {'a': (), 'W': (1, 2)}
    """
    loaded: dict[str, Value] = {}
    for text in options:
        name, source = parse_value_option(text)
        if name in loaded:
            raise InputError(f"--value {text}: {name} already has a value; give each variable one --value")
        loaded[name] = load(name, source, stdin=stdin)
    return loaded


def load(name: str, source: str, *, base: pathlib.Path | None = None,
         stdin: typing.TextIO | None = None) -> Value:
    """Load one variable's value: a float64 scalar, vector or matrix and where it came from.

    Relative paths are resolved against `base` (a sample file's folder), else
    the current directory. `stdin` defaults to `sys.stdin`.

    >>> load("a", "2.5")
    Value(value=array(2.5), source='inline')
    >>> load("b", "-", stdin=io.StringIO("1 2\\n3 4\\n")).value.shape
    (2, 2)
    >>> load("v", "[1, true]")
    Traceback (most recent call last):
    gradcalc.errors.InputError: --value v=[1, true]: inline JSON: [1] is true (column 5); expected a number
    """
    try:
        if source == "-":
            return Value(_from_stdin(name, stdin if stdin is not None else sys.stdin), "stdin")
        path, key = _split_key(source)
        if path.lower().endswith(SUFFIXES):
            array, description = _from_file(path, key, base)
            return Value(array, description)
        return Value(_from_inline(source), "inline")
    except _Fail as fail:
        message = " ".join(str(fail).split())
        shown = source if source.isprintable() else repr(source)[1:-1]  # a line break in SOURCE stays visible
        raise InputError(f"--value {name}={shown}: {message}") from None


def _split_key(source: str) -> tuple[str, str | None]:
    """`data.npz:W` -> ('data.npz', 'W'); anything else keeps no key."""
    path, colon, key = source.rpartition(":")
    if colon and path.lower().endswith(".npz"):
        return path, key or None
    return source, None


def _from_stdin(name: str, stream: typing.TextIO | None) -> np.ndarray:
    if stream is None:
        raise _Fail("standard input is closed")
    if stream in _stdin_readers:
        raise _Fail(f"only one --value may read stdin, and {_stdin_readers[stream]}=- already did")
    _stdin_readers[stream] = name
    if getattr(stream, "isatty", lambda: False)():
        raise _Fail("standard input is a terminal; pipe the value in, e.g. echo '[1, 2]' | gradcalc ...")
    buffer = getattr(stream, "buffer", None)  # bytes, so that bad UTF-8 is reported as such
    try:
        text = _decode(buffer.read(), "standard input") if buffer else stream.read()
    except (OSError, UnicodeDecodeError) as error:
        raise _Fail(f"cannot read standard input ({error})") from None
    if not text.strip():
        raise _Fail("standard input is empty")
    if text.lstrip()[:1] in "[{" or _parses_as_json(text):
        return _json_array(text, "standard input", inline=False)
    return _table(text, "standard input", sep="," if "," in text else None)


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def _from_inline(source: str) -> np.ndarray:
    looks_like_file = source[:1] not in "[{" and (
        "/" in source or "\\" in source or re.search(r"\.[A-Za-z]\w*$", source))
    if looks_like_file and not _parses_as_json(source):
        suffix = pathlib.PurePath(source).suffix
        what = f"file suffix {suffix} is not supported" if suffix else "a file name needs a suffix"
        raise _Fail(f"{what}; use one of {', '.join(SUFFIXES)} (file.npz:KEY) or an inline JSON "
                    "literal such as 2.5 or [[1, 2], [3, 4]]")
    return _json_array(source, "inline JSON", inline=True)


def _from_file(given: str, key: str | None, base: pathlib.Path | None) -> tuple[np.ndarray, str]:
    path = pathlib.Path(given).expanduser()
    if not path.is_absolute():
        path = (base if base is not None else pathlib.Path.cwd()) / path
    label = f"file {given!r}"
    data = _read_bytes(path, given, label)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _npy(data, label), f"file {given}"
    if suffix == ".npz":
        key, array = _npz(data, key, label)
        return array, f"file {given}:{key}"
    text = _decode(data, label)
    if suffix == ".json":
        return _json_array(text, label, inline=False), f"file {given}"
    return _table(text, label, sep="," if suffix == ".csv" else None), f"file {given}"


def _read_bytes(path: pathlib.Path, given: str, label: str) -> bytes:
    where = f" (looked for {path})" if str(path) != given else ""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _Fail(f"{label} not found{where}") from None
    except IsADirectoryError:
        raise _Fail(f"{label} is a directory, not a file") from None
    except PermissionError:
        raise _Fail(f"{label} cannot be read: permission denied") from None
    except OSError as error:
        raise _Fail(f"{label} cannot be read: {error.strerror or error}") from None
    if not data:
        raise _Fail(f"{label} is empty")
    return data


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise _Fail(f"{label} is not UTF-8 text (byte 0x{data[error.start]:02x} on line {line})") from None


def _npy(data: bytes, label: str) -> np.ndarray:
    if data.startswith(b"PK"):
        raise _Fail(f"{label} is an .npz archive, not .npy; rename it to .npz")
    if not data.startswith(b"\x93NUMPY"):
        raise _Fail(f"{label} is not a .npy file (it does not start with the .npy header)")
    try:
        array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - corrupt bytes raise ValueError, TokenError, ...
        raise _Fail(f"{label} is not a valid .npy file ({error})") from None
    return _checked(array, label)


def _npz(data: bytes, key: str | None, label: str) -> tuple[str, np.ndarray]:
    if data.startswith(b"\x93NUMPY"):
        raise _Fail(f"{label} is a .npy array, not an .npz archive; rename it to .npy")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            keys = list(archive.files)
            listed = ", ".join(keys)
            if not keys:
                raise _Fail(f"{label} holds no arrays")
            if key is None and len(keys) != 1:
                raise _Fail(f"{label} holds {len(keys)} arrays; choose one with :KEY after the "
                            f"file name (available: {listed})")
            key = key if key is not None else keys[0]
            if key not in keys:
                raise _Fail(f"{label} has no array {key!r}; available: {listed}")
            array = archive[key]
    except _Fail:
        raise
    except Exception as error:  # noqa: BLE001 - BadZipFile, zlib.error, NotImplementedError, ...
        raise _Fail(f"{label} is not a valid .npz file ({error})") from None
    return key, _checked(array, f"{label} array {key!r}")


def _checked(array: np.ndarray, label: str) -> np.ndarray:
    """Numbers only, finite, rank 0-2, not empty; returned as float64."""
    kinds = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes", "O": "objects"}
    if array.dtype.kind not in "iuf":
        what = kinds.get(array.dtype.kind, f"dtype {array.dtype}")
        raise _Fail(f"{label} holds {what}; expected real numbers")
    _check_shape(array.shape, label)
    values = array.astype(np.float64)
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        index = "".join(f"[{i}]" for i in bad[0]) or "the value"
        raise _Fail(f"{label}: {index} is {_nonfinite(values[tuple(bad[0])])}; values must be finite")
    return values


def _check_shape(shape: tuple[int, ...], label: str) -> None:
    size = "x".join(map(str, shape))
    if len(shape) > 2:
        raise _Fail(f"{label} has {len(shape)} dimensions ({size}); "
                    "gradcalc variables are scalars, vectors or matrices")
    if 0 in shape:
        raise _Fail(f"{label} is empty ({size}); a value needs at least one entry")


def _nonfinite(x: float) -> str:
    return "NaN" if math.isnan(x) else "infinite" if math.isinf(x) else "too large"


def _json_array(text: str, label: str, *, inline: bool) -> np.ndarray:
    """Parse JSON text into a checked array; error positions are line/column in `text`."""
    if not text.strip():
        raise _Fail(f"{label} is empty")
    try:
        plain = json.loads(text)
        item = _walk(text, 0, json.JSONDecoder())[0]
    except json.JSONDecodeError as error:
        where = f"column {error.colno}" if inline else f"line {error.lineno}, column {error.colno}"
        hint = "; expected e.g. 2.5, [1, 2] or [[1, 2], [3, 4]]" if inline else ""
        raise _Fail(f"{label} is not valid JSON: {error.msg} ({where}){hint}") from None
    except RecursionError:
        raise _Fail(f"{label} is nested too deeply") from None

    def at(pos: int) -> str:
        line, col = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        return f"column {col}" if inline else f"line {line}, column {col}"

    _check_shape(_json_shape(item, "", label, at), label)
    for path, pos, value in _leaves(item, ""):
        what = _json_problem(value)
        if what:
            raise _Fail(f"{label}: {path or 'the value'} is {what} ({at(pos)}); "
                        + ("values must be finite" if what in ("NaN", "infinite", "too large")
                           else "expected a number"))
    return np.asarray(plain, dtype=np.float64)


def _walk(text: str, pos: int, decoder: json.JSONDecoder) -> tuple[tuple[int, object], int]:
    """A JSON value as (position, value), arrays as (position, [items]); returns it and its end."""
    pos = _SPACE.match(text, pos).end()
    if text[pos] != "[":
        value, end = decoder.raw_decode(text, pos)
        return (pos, value), end
    items: list = []
    end = pos + 1
    while True:
        end = _SPACE.match(text, end).end()
        if text[end] == "]":
            return (pos, items), end + 1
        if items:
            end += 1  # the ',' (json.loads already checked the syntax)
        child, end = _walk(text, end, decoder)
        items.append(child)


def _json_shape(item: tuple[int, object], path: str, label: str, at: typing.Callable) -> tuple:
    value = item[1]
    if not isinstance(value, list):
        return ()
    shapes = [_json_shape(child, f"{path}[{i}]", label, at) for i, child in enumerate(value)]
    for i, shape in enumerate(shapes):
        if shape != shapes[0]:
            row = "row " if not path and shape and shapes[0] else ""
            if shape and shapes[0] and shape[1:] == shapes[0][1:]:
                what = f"has {_count(shape[0], 'entry')} but {row}{path}[0] has {shapes[0][0]}"
            else:
                what = f"is {_describe(shape)} but {row}{path}[0] is {_describe(shapes[0])}"
            raise _Fail(f"{label} is ragged: {row}{path}[{i}] {what} ({at(value[i][0])}); "
                        "every row must have the same length")
    return (len(value),) + (shapes[0] if shapes else ())


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def _describe(shape: tuple) -> str:
    return "a number" if not shape else f"a list of {shape[0]}" if len(shape) == 1 else \
        f"a {'x'.join(map(str, shape))} nested list"


def _leaves(item: tuple[int, object], path: str) -> typing.Iterator[tuple[str, int, object]]:
    pos, value = item
    if isinstance(value, list):
        for i, child in enumerate(value):
            yield from _leaves(child, f"{path}[{i}]")
    else:
        yield path, pos, value


def _json_problem(value: object) -> str:
    """'' for a finite number, else what the value is."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, str):
        return f"a string {json.dumps(value)[:40]}"
    if isinstance(value, dict):
        return "an object"
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        return "too large"
    return "" if math.isfinite(number) else _nonfinite(number)


def _table(text: str, label: str, *, sep: str | None) -> np.ndarray:
    """Rows of numbers separated by `sep` (None: whitespace, `#` comments allowed)."""
    rows: list[list[float]] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        if sep is None:
            line = line.split("#", 1)[0]
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(sep)]
        if rows and len(cells) != len(rows[0]):
            raise _Fail(f"{label} is ragged: line {number} has {_count(len(cells), 'column')} "
                        f"but line {first} (the first row) has {len(rows[0])}")
        first = first or number
        rows.append([_cell(cell, label, number, column, header=len(rows) == 0)
                     for column, cell in enumerate(cells, 1)])
    if not rows:
        raise _Fail(f"{label} has no numbers (only blank lines or comments)")
    return np.array(rows, dtype=np.float64)


def _cell(cell: str, label: str, line: int, column: int, *, header: bool) -> float:
    at = f"line {line}, column {column}"
    try:
        value = float(cell if "_" not in cell else "not a number")  # float() accepts 1_000
    except ValueError:
        problem = "an empty cell" if not cell else f"{cell[:40]!r}, not a number"
        hint = " (header lines are not supported; remove it)" if header and cell[:1].isalpha() else ""
        raise _Fail(f"{label}: {at} is {problem}{hint}") from None
    if not math.isfinite(value):
        raise _Fail(f"{label}: {at} is {cell!r}, {_nonfinite(value)}; values must be finite")
    return value
