"""Non-scalar expressions: `eval --vjp` (vᵀJ, PyTorch's y.backward(v)) and `eval --jacobian`.

Numbers are checked against HIPS autograd (`make_vjp`, `jacobian`), analytic
Jacobians (the Kronecker structure of X@W) and our own central differences.
Most tests run in-process; the acceptance commands run as a user runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import jacobian, make_vjp
from typer.testing import CliRunner

from gradcalc.cli.main import app
from gradcalc.errors import InputError, ShapeError
from gradcalc.jobs.jacobian import run_jacobian
from gradcalc.jobs.vjp import labels, run_vjp
from gradcalc.options import JACOBIAN_LIMIT
from gradcalc.options import parse_vjp_option as load_weights
from gradcalc.jobs.evaluate import run_eval
from gradcalc.values.draw import Value
from gradcalc.options import EvalOptions

V = [[1.0, 0.1], [0.01, 0.001]]


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    """Run the CLI in a fresh interpreter, as a user would."""
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True,
                          env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}, timeout=120, check=False)


def invoke(*args: str) -> tuple[int, dict]:
    """Run `gradcalc eval ... --json` in-process; the exit code and the JSON document."""
    run = CliRunner().invoke(app, ["eval", *args, "--json"])
    return run.exit_code, json.loads(run.stdout)


def given(**arrays: object) -> dict[str, Value]:
    return {name: Value(np.asarray(a, dtype=float), "inline") for name, a in arrays.items()}


def values_of(result: object) -> dict[str, np.ndarray]:
    return {v.name: v.value for v in result.variables}


def softmax(x: np.ndarray) -> np.ndarray:
    e = anp.exp(x - anp.max(x))
    return e / anp.sum(e)


#: expression, shapes, the same function for HIPS autograd (arguments in order of first appearance)
FUNCTIONS = [
    ("exp(A@x)", {"A": (4, 3), "x": (3,)}, lambda A, x: anp.exp(anp.dot(A, x))),
    ("relu(X@W)", {"X": (4, 3), "W": (3, 5)}, lambda X, W: anp.maximum(anp.dot(X, W), 0.0)),
    ("softmax(x)", {"x": (5,)}, softmax),
    ("X@W", {"X": (2, 3), "W": (3, 4)}, lambda X, W: anp.dot(X, W)),
    ("x*x", {"x": (3, 2)}, lambda x: x * x),
    ("tanh(X)@W.T - X", {"X": (3, 2), "W": (2, 2)}, lambda X, W: anp.dot(anp.tanh(X), W.T) - X),
]


# --- the acceptance commands, as a user runs them -------------------------------------------------------------

def test_acceptance_vjp_of_2x() -> None:
    run = gradcalc("eval", "2*x", "--shape", "x=2x2", "--vjp", json.dumps(V), "--wrt", "x")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert any(line.split()[:2] == ["2.0000", "0.2000"] for line in lines), run.stdout
    assert any(line.split()[:2] == ["0.0200", "0.0020"] for line in lines), run.stdout
    assert "vᵀJ" in run.stdout and "formula  2*v" in run.stdout
    assert lines[-1] == "verdict: equal"


def test_acceptance_jacobian_matches_finite_differences() -> None:
    run = gradcalc("eval", "exp(A@x)", "--jacobian", "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    shapes = {name: tuple(v["shape"]) for name, v in doc["variables"].items()}
    rng = np.random.default_rng(0)  # the documented default values
    values = {name: rng.standard_normal(shapes[name]) for name in ("A", "x")}
    y = lambda A, x: np.exp(A @ x)
    for name, j in doc["jacobians"].items():
        assert j["verdict"] == "equal"
        reference = central_differences(y, values, name)
        np.testing.assert_allclose(j["autograd"], reference, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(j["symbolic"]["value"], j["autograd"], rtol=1e-12, atol=1e-12)
    assert doc["verdict"] == "equal"


def test_acceptance_non_scalar_exits_2_with_the_suggestion() -> None:
    run = gradcalc("eval", "X@W")
    assert run.returncode == 2 and run.stdout == ""
    caret, message = run.stderr.splitlines()[-2:]
    assert caret.strip() == "^"
    assert message == ("gradcalc: error: the expression is 4x5, not a scalar, so it has no gradient; give weights "
                       "with --vjp SOURCE for the vector-Jacobian product (PyTorch's y.backward(v)), ask for "
                       "--jacobian (small outputs), or reduce it, e.g. sum(X@W)")


def central_differences(f: object, values: dict[str, np.ndarray], name: str, h: float = 1e-6) -> np.ndarray:
    """An independent referee: the Jacobian of f by central differences, rows per output entry."""
    x = values[name]
    columns = []
    for index in np.ndindex(*x.shape):
        sides = []
        for sign in (1, -1):
            moved = x.copy()
            moved[index] += sign * h
            sides.append(np.ravel(f(**{**values, name: moved})))
        columns.append((sides[0] - sides[1]) / (2 * h))
    return np.array(columns).T


# --- the vector-Jacobian product ------------------------------------------------------------------------------

def test_vjp_of_2x_is_exact() -> None:
    result = run_vjp("2*x", EvalOptions(vjp=Value(np.array(V), "inline"), wrt=["x"], shapes={"x": (2, 2)})).result
    g = result.gradients[0]
    assert g.autograd.tolist() == [[2.0, 0.2], [0.02, 0.002]]
    assert g.symbolic.tolist() == [[2.0, 0.2], [0.02, 0.002]]
    np.testing.assert_allclose(g.finite_difference, [[2.0, 0.2], [0.02, 0.002]], rtol=1e-8)
    assert (g.formula, result.verdict) == ("2*v", "equal")


@pytest.mark.parametrize("expression, shapes, f", FUNCTIONS, ids=[e for e, _, _ in FUNCTIONS])
def test_vjp_matches_hips_autograd(expression: str, shapes: dict, f: object) -> None:
    probe = run_jacobian(expression, EvalOptions(shapes=shapes, jacobian_limit=10**6))  # just for the output's shape
    v = np.random.default_rng(7).standard_normal(probe.output.shape)
    vjp = run_vjp(expression, EvalOptions(vjp=Value(v, "inline"), shapes=shapes))
    values = values_of(vjp.result)
    arguments = [values[name] for name in shapes]
    for i, name in enumerate(shapes):
        reference = make_vjp(f, argnum=i)(*arguments)[0](v)
        g = next(g for g in vjp.result.gradients if g.name == name)
        np.testing.assert_allclose(g.autograd, reference, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(g.symbolic, reference, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(vjp.output, f(*arguments), rtol=1e-12)
    assert vjp.verdict == "equal"


def test_vjp_weights_fix_the_shapes_when_they_can() -> None:
    vjp = run_vjp("2*x", EvalOptions(vjp=Value(np.array([1.0, 0.1]), "inline")))
    assert vjp.result.variables[0].shape == (2,) and vjp.result.gradients[0].autograd.tolist() == [2.0, 0.2]
    vjp = run_vjp("X@W", EvalOptions(vjp=Value(np.ones((2, 2)), "inline"), shapes={"X": (2, 3)}))
    assert {v.name: v.shape for v in vjp.result.variables} == {"X": (2, 3), "W": (3, 2), "v": (2, 2)}


def test_vjp_shape_mismatch_names_both_shapes() -> None:
    with pytest.raises(InputError) as err:
        run_vjp("X@W", EvalOptions(vjp=Value(np.ones((2, 3)), "inline"), shapes={"X": (2, 3), "W": (3, 2)}))
    assert err.value.message == ("--vjp inline: the weights v are 2x3 but the expression is 2x2; v must have the "
                                 "shape of the output (as y.backward(v) needs)")


def test_vjp_of_a_scalar_expression_scales_the_gradient() -> None:
    plain = run_eval("sum(x*x)", EvalOptions(shapes={"x": (2, 3)})).gradients[0].autograd
    vjp = run_vjp("sum(x*x)", EvalOptions(vjp=Value(np.array(2.5), "inline"), shapes={"x": (2, 3)}))
    np.testing.assert_allclose(vjp.result.gradients[0].autograd, 2.5 * plain)


def test_vjp_weight_never_clashes_and_can_be_named() -> None:
    vjp = run_vjp("v*u", EvalOptions(vjp=Value(np.ones((2, 2)), "inline"), wrt=["u"]))
    assert vjp.weight == "v_1" and vjp.result.gradients[0].formula == "v_1*v"
    assert load_weights("g=[1, 2]")[0] == "g"
    vjp = run_vjp("2*x", EvalOptions(vjp=Value(np.ones(2), "inline"), vjp_name="g"))
    assert vjp.result.gradients[0].formula == "2*g"
    with pytest.raises(InputError, match="x is a variable of the expression"):
        run_vjp("2*x", EvalOptions(vjp=Value(np.ones(2), "inline"), vjp_name="x"))


def test_vjp_json() -> None:
    code, doc = invoke("2*x", "--shape", "x=2x2", "--vjp", json.dumps(V))
    assert code == 0 and doc["verdict"] == "equal"
    assert doc["expression"] == "2*x" and np.shape(doc["value"]) == (2, 2)
    assert doc["vjp"]["shape"] == [2, 2] and doc["vjp"]["value"] == V
    assert doc["vjp"]["weight"] == "v" and doc["vjp"]["expression"] == "sum(v*(2*x))"
    assert doc["variables"]["v"]["source"] == "--vjp inline"
    assert doc["gradients"]["x"]["autograd"] == [[2.0, 0.2], [0.02, 0.002]]
    assert doc["gradients"]["x"]["symbolic"]["formula"] == "2*v"


# --- the Jacobian ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, shapes, f", FUNCTIONS, ids=[e for e, _, _ in FUNCTIONS])
def test_jacobian_matches_hips_autograd_and_finite_differences(expression: str, shapes: dict, f: object) -> None:
    result = run_jacobian(expression, EvalOptions(shapes=shapes))
    values = values_of(result)
    arguments = [values[name] for name in shapes]
    for i, j in enumerate(result.jacobians):
        reference = jacobian(f, argnum=i)(*arguments).reshape(j.autograd.shape)
        np.testing.assert_allclose(j.autograd, reference, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(j.symbolic, reference, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(j.finite_difference, reference, rtol=1e-6, atol=1e-6)
        assert j.verdict == "equal" and len(j.rows) == result.output.size and len(j.columns) == values[j.name].size
    assert result.verdict == "equal"


def test_jacobian_of_matmul_is_kronecker() -> None:
    result = run_jacobian("X@W", EvalOptions(shapes={"X": (2, 3), "W": (3, 4)}))
    X, W = (v.value for v in result.variables)
    by_name = {j.name: j for j in result.jacobians}
    np.testing.assert_array_equal(by_name["X"].autograd, np.kron(np.eye(2), W.T))
    np.testing.assert_array_equal(by_name["W"].autograd, np.kron(X, np.eye(4)))
    np.testing.assert_allclose(by_name["W"].symbolic, np.kron(X, np.eye(4)), rtol=1e-14)
    assert (by_name["X"].formula, by_name["W"].formula) == ("v@W.T", "X.T@v")


def test_jacobian_of_x_times_x_is_diagonal() -> None:
    x = np.array([1.0, -2.0, 0.5])
    j = run_jacobian("x*x", EvalOptions(values=given(x=x))).jacobians[0]
    np.testing.assert_array_equal(j.autograd, np.diag(2 * x))
    assert (j.rows, j.columns) == (["y[0]", "y[1]", "y[2]"], ["x[0]", "x[1]", "x[2]"])


def test_jacobian_at_a_kink_says_kink() -> None:
    result = run_jacobian("relu(x)", EvalOptions(values=given(x=[0.0, 1.0, -1.0])))
    j = result.jacobians[0]
    assert j.autograd.tolist() == [[0, 0, 0], [0, 1, 0], [0, 0, 0]]  # relu'(0) = 0, as torch.relu
    assert result.verdict == "kink" and j.untrusted == 3


def test_jacobian_of_detach_holds_it_constant() -> None:
    x = np.array([0.5, 2.0])
    j = run_jacobian("x - detach(x)*x", EvalOptions(values=given(x=x))).jacobians[0]
    np.testing.assert_allclose(j.finite_difference, np.eye(2) - np.diag(x), atol=1e-8)
    assert j.verdict == "equal"


def test_jacobian_size_limit() -> None:
    with pytest.raises(InputError) as err:
        run_jacobian("X@W", EvalOptions(shapes={"X": (40, 30), "W": (30, 50)}, wrt=["W"]))
    assert "3000000 entries" in err.value.message and f"limit of {JACOBIAN_LIMIT}" in err.value.message
    assert "--vjp SOURCE" in err.value.message
    run = CliRunner().invoke(app, ["eval", "exp(x)", "--shape", "x=65", "--jacobian"])
    assert run.exit_code == 2 and "4225 entries" in run.stderr


def test_labels() -> None:
    assert labels("y", (2, 3))[4] == "y[1,1]" and labels("x", (3,))[2] == "x[2]" and labels("a", ()) == ["a"]


def test_jacobian_json_and_exit_codes() -> None:
    code, doc = invoke("softmax(x)", "--shape", "x=3", "--jacobian")
    assert code == 0 and doc["verdict"] == "equal" and np.shape(doc["value"]) == (3,)
    j = doc["jacobians"]["x"]
    assert j["rows"] == ["y[0]", "y[1]", "y[2]"] and j["columns"] == ["x[0]", "x[1]", "x[2]"]
    assert np.shape(j["autograd"]) == (3, 3) and np.shape(j["finite_difference"]["value"]) == (3, 3)
    assert j["symbolic"]["formula"] == "softmax(x)*(v - sum(v*softmax(x)))" and j["symbolic"]["weight"] == "v"
    assert j["verdict"] == "equal" and j["max_abs_diff"] < 1e-12
    s = np.array(doc["value"])
    np.testing.assert_allclose(j["autograd"], np.diag(s) - np.outer(s, s), rtol=1e-12)


# --- errors at the command line -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["X@W", "--vjp", "1", "--jacobian"], "--vjp and --jacobian: give one"),
    (["X@W", "--jacobian", "--steps"], "--steps works with eval and eval --vjp, not with --jacobian"),
    (["X@W", "--vjp", "[1, true]"], "--vjp [1, true]: inline JSON: [1] is true (column 5); expected a number"),
    (["X@W", "--vjp", "[[1, 2]]", "--shape", "X=2x2", "--shape", "W=2x2"],
     "--vjp inline: the weights v are 1x2 but the expression is 2x2"),
])
def test_cli_errors_are_one_line(args: list[str], message: str) -> None:
    run = CliRunner().invoke(app, ["eval", *args])
    assert run.exit_code == 2
    assert run.stderr.splitlines()[-1].startswith(f"gradcalc: error: {message}"), run.stderr


def test_non_scalar_error_keeps_the_caret() -> None:
    with pytest.raises(ShapeError) as err:
        run_eval("  X@W ")
    assert err.value.position == 0 and err.value.source == "  X@W "
    assert err.value.message.endswith("or reduce it, e.g. sum(X@W)")
