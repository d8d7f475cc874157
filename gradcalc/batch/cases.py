"""Sample-file cases: read from TOML, run through `run_eval`, judged against `expect` and `check`.

A case is one `[[case]]` table (SPEC section 7). Besides the verdict in
`expect`, a case may assert numbers in `check`:

    check = { value = 99.9048, "W[0]" = [18.2980, 2.7573, 2.3914, -0.1974], x = "2*x", tolerance = 1e-4 }

- `value` is the expression's value f.
- `NAME` is the gradient with respect to NAME (NAME must be differentiated);
  `NAME[i]`, `NAME[i, j]`, `NAME[:, j]`, `NAME[a:b]` select part of it with
  NumPy's basic indexing.
- An expected entry is a number (a lone number stands for every entry), a
  nested list of the selected part's shape, or a string: a gradcalc
  expression in the case's variables (the hand derivation, e.g. `"W@y"`),
  evaluated on the same values.
- Both the engine's gradient and the closed form's value must lie within
  `tolerance` (absolute, default 1e-4: numbers copied as PyTorch prints
  them, with 4 decimals) of the expected numbers.

>>> case = case_from_table({"name": "x'x", "expr": "x.t().mm(x)", "shape": {"x": "3x1"},
...                         "check": {"x": "2*x"}, "expect": "equal"})
>>> outcome = run_case(case)
>>> outcome.passed, outcome.result.verdict, outcome.failures
(True, 'equal', [])
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from gradcalc.errors import GradcalcError, InputError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.jobs.formula import evaluate_formula
from gradcalc.jobs.results import HessianResult
from gradcalc.jobs.second import run_hessian
from gradcalc.options import EvalOptions, parse_shape_option
from gradcalc.values.sources import load

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # a dependency on Python 3.10, which has no tomllib

#: Every key a case may have; anything else is a typo worth reporting.
KEYS = ("name", "expr", "wrt", "shape", "value", "seed", "rng", "dtype", "rtol", "atol", "max_elements", "expect",
        "check", "order", "derivation", "hessian")
EXPECTS = ("equal", "kink", "mismatch", "undefined")
DEFAULT_TOLERANCE = 1e-4
_KINDS = {int: "an integer", float: "a number", str: "a string", list: "a list of names", dict: "a table"}
_TARGET = re.compile(r"^\s*([A-Za-z_]\w*)\s*(?:\[(.*)\])?\s*$")


@dataclass
class Case:
    """One sample case, its options checked and its values loaded.

    >>> case_from_table({"name": "n", "expr": "sum(X)", "expect": "equal", "max_elements": 100}).options.max_elements
    100
    """

    name: str
    expr: str
    expect: str
    options: EvalOptions = EvalOptions()
    check: dict[str, Any] = field(default_factory=dict)
    tolerance: float = DEFAULT_TOLERANCE
    file: str = ""


@dataclass
class Outcome:
    """A case's result (or its error) and whether it met its `expect` and `check`.

    >>> outcome = run_case(case_from_table({"name": "n", "expr": "sum(X)", "expect": "mismatch"}))
    >>> outcome.passed, outcome.failures
    (False, ["verdict 'equal', expected 'mismatch'"])
    """

    case: Case
    result: Any = None  # an EvalResult, or None after an error
    error: GradcalcError | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.error is None and not self.failures


def read_file(path: Path, defaults: EvalOptions = EvalOptions()) -> list[Case]:
    """Every case in a sample file; a malformed file or case is an InputError naming the file.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "bad.toml"
    >>> _ = path.write_text('[[case]]\\nname = "x"\\nexpr = sum(X)\\n')
    >>> try: read_file(path)
    ... except InputError as err: print(err.message.replace(str(path), "bad.toml"))
    bad.toml: not valid TOML: Invalid value (at line 3, column 8)
    """
    try:
        tables = parse_toml(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: cannot read the file ({getattr(err, 'strerror', None) or err})") from None
    except ValueError as err:  # tomllib.TOMLDecodeError
        raise InputError(f"{path}: not valid TOML: {err}") from None
    cases = tables.get("case")
    if not isinstance(cases, list) or not cases or set(tables) - {"case"}:
        raise InputError(f"{path}: expected one or more [[case]] tables and nothing else, "
                         "e.g. [[case]] name = \"...\" expr = \"sum(X)\" expect = \"equal\"")
    return [case_from_table(table, path, i, defaults) for i, table in enumerate(cases, 1)]


def case_from_table(table: dict[str, Any], path: Path | None = None, number: int = 1,
                    defaults: EvalOptions = EvalOptions()) -> Case:
    """Check one `[[case]]` table's keys and types, and load its values; `defaults` holds `batch`'s own options.

    >>> case_from_table({"name": "n", "expr": "sum(X)", "expect": "equal", "shapes": {}})
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: case 1 ('n'): unknown key 'shapes'; did you mean 'shape'? \
A case may have: name, expr, wrt, shape, value, seed, rng, dtype, rtol, atol, max_elements, expect, check, order, \
derivation, hessian
    """
    where = f"{path}: " if path else ""
    label = f"case {number} ({table.get('name', '?')!r})"
    try:
        return _build(table, path, defaults)
    except InputError as err:
        raise InputError(f"{where}{label}: {err.message}") from None


def _build(table: dict[str, Any], path: Path | None, defaults: EvalOptions) -> Case:
    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(f"unknown key {key!r}; {hint}A case may have: {', '.join(KEYS)}")
    for key in ("name", "expr", "expect"):
        if not isinstance(table.get(key), str):
            raise InputError(f"{key!r} is required and must be a string")
    if table["expect"] not in EXPECTS:
        raise InputError(f"expect = {table['expect']!r}: must be one of {', '.join(EXPECTS)}")
    check = dict(_typed(table, "check", dict, {}))
    tolerance = check.pop("tolerance", DEFAULT_TOLERANCE)
    if not isinstance(tolerance, (int, float)) or not tolerance >= 0:
        raise InputError(f"check.tolerance = {tolerance!r}: must be a non-negative number, e.g. 1e-4")
    wrt = _typed(table, "wrt", list, None)
    if isinstance(wrt, list) and not all(isinstance(name, str) for name in wrt):
        raise InputError(f"wrt = {wrt!r}: must be a list of names")
    derivation = _typed(table, "derivation", dict, {})
    if not all(isinstance(v, str) for v in derivation.values()):
        raise InputError(f"derivation = {derivation!r}: must map names to formulas, e.g. derivation = "
                         "{ W = \"2*X.T@(X@W - Y)\" }")
    order = _typed(table, "order", list, [])
    if not all(isinstance(name, str) for name in order):
        raise InputError(f"order = {order!r}: must be a list of names, e.g. order = [\"x\", \"W\", \"y\"]")
    for key in ("rtol", "atol"):
        if not 0 <= _typed(table, key, float, 0) < float("inf"):
            raise InputError(f"{key} = {table[key]!r}: must be a non-negative number, e.g. 1e-6")
    if not isinstance(table.get("hessian", False), bool):
        raise InputError(f"hessian = {table['hessian']!r}: must be true or false")
    if _typed(table, "rng", str, "numpy") not in ("numpy", "torch"):
        raise InputError(f"rng = {table['rng']!r}: must be numpy or torch")
    base = path.parent if path else None
    values = {name: load(name, v if isinstance(v, str) else json.dumps(v, default=str), base=base)
              for name, v in _typed(table, "value", dict, {}).items()}
    options = replace(
        defaults, wrt=tuple([wrt] if isinstance(wrt, str) else wrt or ()),
        shapes=dict(parse_shape_option(f"{k}={v}") for k, v in _typed(table, "shape", dict, {}).items()),
        values=values, seed=_typed(table, "seed", int, 0), rng=_typed(table, "rng", str, "numpy"),
        dtype=_typed(table, "dtype", str, "float64"),
        rtol=_typed(table, "rtol", float, None), atol=_typed(table, "atol", float, None),
        max_elements=_typed(table, "max_elements", int, defaults.max_elements), order=tuple(order),
        expect=tuple(derivation.items()), hessian=table.get("hessian", False))
    return Case(name=table["name"], expr=table["expr"], expect=table["expect"], options=options,
                check=check, tolerance=float(tolerance), file=str(path or ""))


def _typed(table: dict[str, Any], key: str, kind: type, default: Any) -> Any:
    value = table.get(key, default)
    accepted = (kind, str) if key == "wrt" else (int, float) if kind is float else kind
    if value is not default and (not isinstance(value, accepted) or isinstance(value, bool)):
        raise InputError(f"{key} = {value!r}: must be {_KINDS[kind]}")
    return value


def run_case(case: Case) -> Outcome:
    """Run a case through the same code path as `gradcalc eval`, then judge it.

    >>> case = case_from_table({"name": "n", "expr": "mean(3*(x+2)*(x+2))", "value": {"x": [[1, 1], [1, 1]]},
    ...                         "check": {"value": 27, "x": 4.6}, "expect": "equal"})
    >>> run_case(case).failures
    ['check x: autograd is 4.5 where 4.6 is expected (at [0, 0], off by 0.1; tolerance 0.0001)']
    """
    try:
        result = run_hessian(case.expr, case.options) if case.options.hessian else run_eval(case.expr, case.options)
        failures = [] if result.verdict == case.expect else [f"verdict {result.verdict!r}, expected {case.expect!r}"]
        failures += check_numbers(result, case.check, case.tolerance)
    except GradcalcError as err:
        return Outcome(case, error=err)
    return Outcome(case, result, failures=failures)


def check_numbers(result: Any, check: dict[str, Any], tolerance: float) -> list[str]:
    """What in `result` differs from the expected numbers: one message per failed target.

    >>> from gradcalc.jobs.evaluate import run_eval
    >>> from gradcalc.values.draw import Value
    >>> result = run_eval("sum(x*x)", EvalOptions(values={"x": Value(np.array([1.0, 2.0]), "inline")}))
    >>> check_numbers(result, {"value": 5, "x[1]": 4, "x": "2*x"}, 1e-9)
    []
    """
    gradients = {g.name: g for g in getattr(result, "gradients", [])}
    if isinstance(result, HessianResult):  # `hessian = true`: the whole Hessian is the one target besides value
        gradients = {"hessian": result}
    values = {v.name: v.value for v in result.variables}
    failures = []
    for target, expected in check.items():
        if target == "value":
            actual = {"f": np.asarray(result.value)}
        else:
            name, index = _target(target, gradients)
            g = gradients[name]
            actual = {"autograd": g.autograd[index], "symbolic": g.symbolic[index]}
        want = _expected(target, expected, values, next(iter(actual.values())).shape)
        for side, got in actual.items():
            message = _differs(got, want, tolerance)
            if message:
                failures.append(f"check {target}: {side} {message}")
                break
    return failures


def _target(target: str, gradients: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    match = _TARGET.match(target)
    if not match or match.group(1) not in gradients:
        known = ", ".join(["value", *gradients])
        raise InputError(f"check key {target!r}: not 'value' or a differentiated variable (known: {known}), "
                         "optionally indexed as W[0] or W[:, 1]")
    name, inside = match.groups()
    index = () if inside is None else tuple(_index_part(p, target) for p in inside.split(","))
    try:
        gradients[name].autograd[index]
    except (IndexError, ValueError) as err:  # ValueError: a slice step of 0
        raise InputError(f"check key {target!r}: {err} (the gradient is {gradients[name].autograd.shape})") from None
    return name, index


def _index_part(part: str, target: str) -> int | slice:
    bounds = [p.strip() for p in part.split(":")]
    if not all(re.fullmatch(r"-?\d*", p) for p in bounds) or len(bounds) > 3 or bounds == [""]:
        raise InputError(f"check key {target!r}: {part.strip()!r} is not an index; use integers and slices such "
                         "as W[0], W[0, 1], W[:, 1]")
    numbers = [int(p) if p else None for p in bounds]
    return numbers[0] if len(numbers) == 1 else slice(*numbers)  # type: ignore[return-value]


def _expected(target: str, expected: Any, values: dict[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
    if isinstance(expected, str):
        want = _evaluate(target, expected, values)
    else:
        try:
            want = np.asarray(expected, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError(f"check {target} = {expected!r}: must be a number, a nested list of numbers "
                             "or an expression string") from None
    if want.shape != shape and want.ndim != 0:
        raise InputError(f"check {target}: expected numbers are {'x'.join(map(str, want.shape))}, "
                         f"but {target} is {'x'.join(map(str, shape)) or 'a scalar'}")
    return np.broadcast_to(want, shape)


def _evaluate(target: str, text: str, values: dict[str, np.ndarray]) -> np.ndarray:
    return evaluate_formula(text, values, f"check {target} = {text!r}", owner="case")[1]


def _differs(got: np.ndarray, want: np.ndarray, tolerance: float) -> str:
    got = np.asarray(got, dtype=np.float64)
    off = np.abs(got - want)
    bad = ~(off <= tolerance)  # NaN counts as a difference
    if not bad.any():
        return ""
    at = np.unravel_index(int(np.argmax(np.where(np.isnan(off), np.inf, off))), got.shape) if got.ndim else ()
    where = f"at [{', '.join(map(str, at))}], " if got.ndim else ""
    return (f"is {float(got[at]):.6g} where {float(want[at]):.6g} is expected "
            f"({where}off by {float(off[at]):.3g}; tolerance {tolerance:g})")


def parse_toml(text: str) -> dict[str, Any]:
    r"""A sample file's text as tables (tomllib, or tomli on Python 3.10).

    >>> parse_toml('[[case]]\nname = "n"')
    {'case': [{'name': 'n'}]}
    """
    return tomllib.loads(text)


@dataclass
class Item:
    """One thing to report: a case to run, or a file that could not be read (`error`).

    >>> Item(Path("x.toml"), error="x.toml: not valid TOML").label
    'x.toml'
    """

    file: Path
    case: Case | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.file}::{self.case.name}" if self.case else str(self.file)


def collect(paths: list[str], defaults: EvalOptions = EvalOptions()) -> list[Item]:
    """Every case of the given files and folders (folders searched recursively for *.toml), in order.

    A path that does not exist is bad input; a file that cannot be read
    becomes an error item, so that the other files still run.

    >>> collect(["no/such/folder"])
    Traceback (most recent call last):
    ...
    gradcalc.errors.InputError: no/such/folder: no such file or folder
    """
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.toml") if p.is_file())
            if not found:
                raise InputError(f"{text}: no sample files (*.toml) in this folder")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"{text}: no such file or folder")
    items: list[Item] = []
    for file in dict.fromkeys(files):
        try:
            items += [Item(file, case) for case in read_file(file, defaults)]
        except InputError as err:
            items.append(Item(file, error=err.message))
    return items
