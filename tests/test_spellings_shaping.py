"""Indexing, reshape, the transposes that name axes and kron: what is refused and how, the sizes inference picks
for an index, and the closed forms they give."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gradcalc.errors import GradcalcError, ParseError, ShapeError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.infer import infer
from gradcalc.lang.parse import parse
from gradcalc.options import EvalOptions
from gradcalc.values.draw import Value


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120)


def evaluate(text: str, **shapes: tuple[int, ...]):
    return run_eval(text, EvalOptions(shapes=shapes))


@pytest.mark.parametrize(("text", "message"), [
    ("sum(X[[0, 1]])", "fancy indexing) is not supported"),
    ("sum(X[[True, False]])", "fancy indexing) is not supported"),
    ("sum(X[X > 0])", "indexing with a boolean mask is not supported; use where"),
    ("sum(X[True])", "boolean mask"),
    ("sum(X[None])", "None (np.newaxis) adds an axis"),
    ("sum(X[np.newaxis, :])", "None (np.newaxis) adds an axis"),
    ("sum(X[..., 0])", "Ellipsis (...) in an index is not supported"),
    ("sum(X[n])", "an index must be an integer constant, because sizes are not known"),
    ("sum(X[n - 1])", "(X[n - 1] cannot be); count from the end with a negative index"),
    ("sum(X[i:j])", "a slice bound must be an integer constant"),
    ("sum(X[1.5])", "an index must be an integer, not 1.5"),
    ("sum(X[4/2])", "an index must be an integer, not 2.0"),
    ("sum(X[::-1])", "a slice step must be a positive integer, not -1"),
    ("sum(X[::0])", "a slice step must be a positive integer, not 0"),
    ("sum(X[0, 0, 0])", "too many indices (3): gradcalc's arrays have at most 2 axes"),
    ("sum(X.permute())", "permute() needs the order of the axes"),
    ("sum(torch.permute(X))", "permute() needs the order of the axes"),
    ("sum(X.transpose(0, 1))", "X.transpose(0, 1) reads differently in NumPy"),
    ("sum(X.transpose(-2, -1))", "write X.T or torch.transpose(X, -2, -1) for the swap"),
    ("sum(torch.flatten(X, 1))", "flatten() takes flatten(A)"),
    ("sum(X, (0, 1))", "unsupported syntax: tuple"),
    ("sum(reshape(X, 2, 6))", "reshape into 2x6 needs the operand's shape, which nothing here settles"),
])
def test_refused_at_the_call(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=None) as err:
        evaluate(text)
    assert message in err.value.message, err.value.message


@pytest.mark.parametrize(("text", "shapes", "message"), [
    ("sum(X[4])", {"X": (4, 3)}, "index 4 is out of range for axis 0 with size 4"),
    ("sum(X[:, -4])", {"X": (4, 3)}, "index -4 is out of range for axis 1 with size 3"),
    ("x[5]", {"x": (4,)}, "index 5 is out of range for axis 0 with size 4"),
    ("x[0, 1]", {"x": (4,)}, "too many indices (2) for a 1-D vector"),
    ("a[0]", {"a": ()}, "a scalar cannot be indexed"),
    ("sum(X[5:])", {"X": (4, 3)}, "slice 5: on axis 0 is empty for size 4"),
    ("sum(X[3:3])", {}, "slice 3:3 on axis 0 is empty"),
    ("sum(X[2]) + sum(X.mT @ Z)", {"Z": (2, 3)}, "index 2 on axis 0 needs a size of at least 3, but the size is 2"),
    ("sum(reshape(X, 2, 5))", {"X": (3, 4)}, "3x4 (12 entries) cannot be reshaped into 2x5 (10 entries)"),
    ("sum(X.reshape(-1, 5))", {"X": (3, 4)}, "12 is not a multiple of 5"),
    ("sum(reshape(X, -1, -1))", {"X": (3, 4)}, "one of them may be -1"),
    ("sum(X.view(2, 0))", {"X": (3, 4)}, "must be positive integers"),
    ("sum(X.permute(0))", {"X": (3, 4)}, "permute takes one axis for each axis of its operand: 1 given for a "
                                         "matrix; for a matrix write (1, 0)"),
    ("sum(X.permute(0, 0))", {"X": (3, 4)}, "the axes 0, 0 name an axis twice"),
    ("sum(x.permute(1, 0))", {"x": (3,)}, "permute takes one axis for each axis of its operand: 2 given for a "
                                          "1-D vector"),
    ("sum(np.swapaxes(X, 0, 2))", {"X": (3, 4)}, "axis 2 is out of range for a matrix"),
    ("sum(torch.transpose(x, 0, 1))", {"x": (3,)}, "axis 1 is out of range for a 1-D vector"),
    ("sum(x.mT)", {"x": (3,)}, ".mT and matrix_transpose need a matrix, not a 1-D vector"),
    ("sum(kron(x, X))", {"x": (3,), "X": (2, 3)}, "kron takes two matrices or two 1-D vectors"),
])
def test_shape_errors_name_the_index_and_the_size(text: str, shapes: dict, message: str) -> None:
    with pytest.raises(ShapeError) as err:
        evaluate(text, **shapes)
    assert message in err.value.message, err.value.message


def test_an_unknown_size_is_taken_large_enough_for_its_index() -> None:
    info = infer(parse("sum(X[5]) + sum(X[:, 2:7])"))
    rows, cols = info.variables["X"]
    assert rows >= 6 and cols >= 7 and rows != cols
    assert infer(parse("sum(X[-3])")).variables["X"][0] >= 3


def test_a_size_that_follows_from_another_settles_the_variables_tied_to_it() -> None:
    """`X[1:] - Y`: Y gets one row fewer than X, not a default size of its own; so does a kron's partner."""
    info = infer(parse("sum((X[1:] - Y)**2)"))
    assert info.variables["Y"] == (info.variables["X"][0] - 1, info.variables["X"][1])
    info = infer(parse("sum(kron(A, B) * C)"))
    (n, m), (p, q) = info.variables["A"], info.variables["B"]
    assert info.variables["C"] == (n * p, m * q) and "C" not in info.defaulted


def test_derive_keeps_free_sizes_as_numbers_when_a_size_follows_from_others() -> None:
    info = infer(parse("sum(flatten(X)**2)"), symbolic=True)
    assert all(isinstance(n, int) for n in info.variables["X"])
    assert any("free sizes are numbers here" in n for n in info.notes)
    with pytest.raises(ShapeError, match="give that size as a number with --shape"):
        infer(parse("sum(X[1:])"), {"X": ("n", "k")}, symbolic=True)


def test_slices_are_cut_to_the_axis_as_in_numpy() -> None:
    x = np.arange(12.0).reshape(4, 3)
    result = run_eval("sum(X[2:10] * X[2:10])", EvalOptions(values={"X": Value(x, "test")}))
    assert result.value == pytest.approx(np.sum(x[2:10] ** 2)) and result.verdict == "equal"


@pytest.mark.parametrize(("text", "shapes", "formulas"), [
    ("sum(X[1:3, :2] * C)", {"X": (4, 3), "C": (2, 2)}, {"X": "eye(4)[1:3].T@C@eye(3)[:2]", "C": "X[1:3, :2]"}),
    ("X[1, 2]", {"X": (4, 3)}, {"X": "outer(eye(4)[1], eye(3)[2])"}),
    ("x[2] * x[0]", {"x": (4,)}, {"x": "x[2]*eye(4)[0] + x[0]*eye(4)[2]"}),
    ("sum(X[:, -1] * w)", {"X": (4, 3), "w": (4,)}, {"X": "outer(w, eye(3)[-1])", "w": "X[:, -1]"}),
    ("sum(reshape(X, 2, 6) * C)", {"X": (4, 3), "C": (2, 6)}, {"X": "reshape(C, 4, 3)", "C": "reshape(X, 2, 6)"}),
    ("flatten(X) @ w", {"X": (4, 3), "w": (12,)}, {"X": "reshape(w, 4, 3)", "w": "flatten(X)"}),
    ("sum(X.mT @ W) + sum(X.permute(1, 0) @ W)", {"X": (4, 3), "W": (4, 2)}, {"X": "2*W@ones(2, 3)"}),
    ("kron(a, b) @ c", {"a": (2,), "b": (3,), "c": (6,)}, {"a": "reshape(c, 2, 3)@b", "b": "reshape(c, 2, 3).T@a"}),
    ("sum(kron(A, B) * C)", {"A": (2, 3), "B": (4, 5), "C": (8, 15)},
     {"A": "kron(eye(2), ones(1, 4))@(C*kron(ones(2, 3), B))@kron(eye(3), ones(5, 1))", "C": "kron(A, B)"}),
])
def test_closed_forms_are_matrix_notation(text: str, shapes: dict, formulas: dict[str, str]) -> None:
    result = evaluate(text, **shapes)
    assert result.verdict == "equal"
    got = {g.name: g.formula for g in result.gradients}
    for name, formula in formulas.items():
        assert got[name] == formula


def test_pretty_and_latex_forms() -> None:
    result = evaluate("sum(X[1:3, :2] * C) + sum(kron(X, C) ** 2)", X=(4, 3), C=(2, 2))
    c = next(g for g in result.gradients if g.name == "C")
    x = next(g for g in result.gradients if g.name == "X")
    assert "X[1:3, :2]" in c.pretty and "⊗" in c.pretty and r"X\left[1:3, :2\right]" in c.latex
    assert "I₄[1:3]ᵀ" in x.pretty and r"\otimes" in x.latex


def test_method_transpose_is_numpys_and_the_refusals_exit_2() -> None:
    assert parse("X.transpose()").op == "permute" and parse("X.transpose(1, 0)").kwargs == {"d0": 1, "d1": 0}
    run = gradcalc("eval", "sum(X.transpose(0, 1))")
    assert run.returncode == 2 and "reads differently in NumPy" in run.stderr
    run = gradcalc("eval", "sum(X[i])")
    assert run.returncode == 2 and "integer constant" in run.stderr


def test_generated_code_runs_for_every_shaping_form() -> None:
    text = "sum(X[1:3, :2] * C) + sum(reshape(X, 2, 6) ** 2) + sum(kron(C, X[0:1]) ** 2) + X[-1, 0] * x[1]"
    run = gradcalc("derive", text, "--shape", "X=4x3", "--shape", "C=2x2", "--shape", "x=3", "--code")
    assert run.returncode == 0, run.stderr
    code = run.stdout[run.stdout.index("import numpy"):]
    namespace: dict = {}
    exec(compile(code, "<derive --code>", "exec"), namespace)  # our own generated code
    rng = np.random.default_rng(0)
    values = {"X": rng.standard_normal((4, 3)), "C": rng.standard_normal((2, 2)), "x": rng.standard_normal(3)}
    result = run_eval(text, EvalOptions(values={k: Value(v, "test") for k, v in values.items()}))
    for g in result.gradients:
        np.testing.assert_allclose(namespace[f"grad_{g.name}"](**values), g.autograd, rtol=1e-10, atol=1e-12)


def test_every_refusal_is_a_gradcalc_error() -> None:
    for text in ("X[[0]]", "X[::-1]", "X.permute()", "X[n]"):
        with pytest.raises(GradcalcError):
            parse(text)
