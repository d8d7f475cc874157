"""Shape inference makes no silent surprising choice (issue 13, point 3).

`.mm` follows torch.mm (two matrices), and a matrix made square only so that a 1-D operand broadcasts is refused
with exit 2, naming the variable and the `--shape` that settles it; with that `--shape` the value matches NumPy.
"""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from gradcalc.errors import ShapeError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.infer import infer
from gradcalc.lang.ops import OPS
from gradcalc.lang.parse import parse
from gradcalc.options import EvalOptions, parse_shape_option

SOFTMAX_ROWS = "sum(exp(X@W)/sum(exp(X@W), axis=1))"
HINGE = "mean(relu(1 - y*(X@w)))"
HINGE_SHAPES = ["y=6", "X=6x3"]


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter."""
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120)


def shapes(options: list[str]) -> dict[str, tuple[int, ...]]:
    """`--shape` texts (X=6x3) as EvalOptions shapes."""
    return dict(parse_shape_option(text) for text in options)


def suggested(message: str) -> list[list[str]]:
    """Each reading an error offers, as its `--shape` texts: `(--shape w=3, ...)`, `(--shape X=4x3 --shape W=3x4)`."""
    groups = re.findall(r"((?:--shape \w+=[\dx]+\s?)+)", message)
    return [re.findall(r"--shape (\w+=[\dx]+)", group) for group in groups]


#: Each expression written in NumPy itself: what a user of NumPy means by it.
NUMPY = {
    SOFTMAX_ROWS: lambda X, W: np.sum(np.exp(X @ W) / np.sum(np.exp(X @ W), axis=1)),
    HINGE: lambda y, X, w: np.mean(np.maximum(1 - y * (X @ w), 0)),
    "x.t().mm(W).mm(y)": lambda x, W, y: (x.T @ W @ y).item(),
    "sum((relu(X@W)-Y)**2)": lambda X, W, Y: np.sum((np.maximum(X @ W, 0) - Y) ** 2),
    "sum(X@W + b)": lambda X, W, b: np.sum(X @ W + b),
    "sum(X - mean(X, axis=0))": lambda X: np.sum(X - np.mean(X, axis=0)),
    "sum(S - mean(S, axis=1))": lambda S: np.sum(S - np.mean(S, axis=1)),
    "sum(exp(X@W)/sum(exp(X@W), axis=1, keepdims=True))":
        lambda X, W: np.sum(np.exp(X @ W) / np.sum(np.exp(X @ W), axis=1, keepdims=True)),
}


def check_value(expression: str, options: list[str]) -> None:
    """Evaluate with these --shape options and compare the value with NumPy on the same numbers."""
    result = run_eval(expression, EvalOptions(shapes=shapes(options)))
    values = {v.name: v.value for v in result.variables}
    np.testing.assert_allclose(result.value, NUMPY[expression](**values), rtol=1e-12)
    assert result.verdict == "equal"


# --------------------------------------------------------------------------- mm is torch.mm: two matrices


def test_mm_makes_both_operands_matrices() -> None:
    result = run_eval("x.t().mm(W).mm(y)", EvalOptions(shapes={"x": (4, 1)}))
    got = {v.name: v.shape for v in result.variables}
    assert got == {"x": (4, 1), "W": (4, 3), "y": (3, 1)}
    v = {var.name: var.value for var in result.variables}
    np.testing.assert_allclose(result.value, (v["x"].T @ v["W"] @ v["y"]).item(), rtol=1e-12)
    assert "y is taken as 3x1 so that the expression is a 1x1 scalar" in result.notes
    assert result.verdict == "equal"


@pytest.mark.parametrize("spelling", ["x.mm(W)", "mm(x, W)", "torch.mm(x, W)"])
def test_every_mm_spelling_is_the_mm_row(spelling: str) -> None:
    tree = parse(spelling)
    assert tree.op == "mm" and OPS["mm"].ranks == (2, 2)
    assert parse("matmul(x, W)").op == "matmul" and parse("x @ W").op == "matmul"


@pytest.mark.parametrize("expression,given,variable", [
    ("x.t().mm(W).mm(y)", {"x": (4, 1), "y": (3,)}, "y=3x1"),
    ("sum(torch.mm(a, W))", {"a": (3,)}, "a=1x3"),
    ("sum(mm(X, v))", {"v": (5,)}, "v=5x1"),
])
def test_a_1d_operand_of_mm_is_a_shape_error(expression: str, given: dict, variable: str) -> None:
    with pytest.raises(ShapeError, match="torch.mm multiplies two matrices") as err:
        run_eval(expression, EvalOptions(shapes=given))
    assert f"--shape {variable}" in err.value.message
    options = [a for name, shape in given.items() for a in ("--shape", f"{name}={'x'.join(map(str, shape))}")]
    run = gradcalc("eval", expression, *options)
    assert run.returncode == 2 and "torch.mm multiplies two matrices" in run.stderr


def test_matmul_keeps_numpys_1d_rule() -> None:
    info = infer(parse("sum(matmul(X, v))"), {"v": (5,)})
    assert info.variables == {"X": (4, 5), "v": (5,)}
    check_value("x.t().mm(W).mm(y)", ["x=4x1", "y=3x1"])


def test_mm_matches_torch() -> None:
    torch = pytest.importorskip("torch")
    result = run_eval("sum(torch.mm(A, B) * C)", EvalOptions(wrt=["A"], shapes={"A": (2, 3), "B": (3, 4)}))
    v = {var.name: torch.tensor(var.value, requires_grad=True) for var in result.variables}
    f = (torch.mm(v["A"], v["B"]) * v["C"]).sum()
    f.backward()
    np.testing.assert_allclose(result.value, f.item(), rtol=1e-12)
    np.testing.assert_allclose(result.gradients[0].autograd, v["A"].grad.numpy(), rtol=1e-12)


# --------------------------------------------------------------------------- a square matrix only for a broadcast


def test_row_sum_softmax_is_refused_with_the_shapes_that_settle_it() -> None:
    with pytest.raises(ShapeError) as err:
        run_eval(SOFTMAX_ROWS)
    message = err.value.message
    assert message.startswith("X, W: ") and "works only if exp(X@W) is square (4x4)" in message
    assert "--shape X=4x3 --shape W=3x4" in message
    run = gradcalc("eval", SOFTMAX_ROWS)
    assert run.returncode == 2 and "--shape X=4x3 --shape W=3x4" in run.stderr
    (settle,) = suggested(message)
    check_value(SOFTMAX_ROWS, settle)
    run = gradcalc("eval", SOFTMAX_ROWS, *[a for s in settle for a in ("--shape", s)])
    assert run.returncode == 0, run.stderr
    assert "X           4x3" in run.stdout and "W           3x4" in run.stdout  # inferred shapes, printed as today


def test_hinge_loss_asks_vector_or_matrix() -> None:
    with pytest.raises(ShapeError) as err:
        run_eval(HINGE, EvalOptions(shapes=shapes(HINGE_SHAPES)))
    message = err.value.message
    assert message.startswith("w: a 1-D vector (--shape w=3, X@w is 6) or a 3x6 matrix (--shape w=3x6)?")
    run = gradcalc("eval", HINGE, *[a for s in HINGE_SHAPES for a in ("--shape", s)])
    assert run.returncode == 2 and "w: a 1-D vector (--shape w=3, X@w is 6)" in run.stderr
    assert suggested(message) == [["w=3"], ["w=3x6"]]
    for settle in suggested(message):
        check_value(HINGE, HINGE_SHAPES + settle)


def test_the_vector_reading_is_numpys_natural_hinge_loss() -> None:
    result = run_eval(HINGE, EvalOptions(shapes=shapes(HINGE_SHAPES + ["w=3"])))
    v = {var.name: var.value for var in result.variables}
    assert (v["X"] @ v["w"]).shape == (6,)
    np.testing.assert_allclose(result.value, np.mean(np.maximum(1 - v["y"] * (v["X"] @ v["w"]), 0)), rtol=1e-12)


@pytest.mark.parametrize("expression,options", [
    ("X - mean(X, axis=1)", []),
    ("sum(X@W + b)", ["b=5", "X=5x3"]),
])
def test_other_hidden_squares_are_refused(expression: str, options: list[str]) -> None:
    with pytest.raises(ShapeError, match="works only if .* is square"):
        infer(parse(expression), shapes(options), expression)


@pytest.mark.parametrize("expression,options", [
    ("sum((relu(X@W)-Y)**2)", []),
    ("sum(X@W + b)", ["b=5"]),  # a bias row: nothing is made square
    ("sum(X - mean(X, axis=0))", []),  # the 1-D mean lines up with the columns it came from
    ("sum(S - mean(S, axis=1))", ["S=4x4"]),  # square because --shape says so
    ("sum(exp(X@W)/sum(exp(X@W), axis=1))", ["X=4x3", "W=3x4"]),
])
def test_broadcasts_that_choose_nothing_are_accepted(expression: str, options: list[str]) -> None:
    check_value(expression, options)


def test_keepdims_row_softmax_needs_no_square() -> None:
    if not any(p.name == "keepdims" for p in OPS["sum"].params):
        pytest.skip("sum has no keepdims yet")
    text = "sum(exp(X@W)/sum(exp(X@W), axis=1, keepdims=True))"
    check_value(text, [])
