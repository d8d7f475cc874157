"""Spellings shared by every op: library prefixes mean their library, constants are constants, a leading minus
works on the command line, and a spelling gradcalc cannot vouch for is a clear exit-2 error."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from gradcalc.errors import ParseError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.lang.parse import parse
from gradcalc.options import EvalOptions
from gradcalc.values.draw import Value


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120)


def test_pi_in_the_tanh_gelu_is_the_constant_not_a_random_matrix() -> None:
    x = np.linspace(-2, 2, 12).reshape(4, 3)
    text = "sum(0.5*X*(1 + tanh(sqrt(2/pi)*(X + 0.044715*X**3))))"
    result = run_eval(text, EvalOptions(values={"X": Value(x, "test")}))
    expected = np.sum(0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))))
    assert [v.name for v in result.variables] == ["X"]
    assert result.value == pytest.approx(expected, rel=1e-12) and result.verdict == "equal"


@pytest.mark.parametrize(("spelling", "value"), [
    ("pi", math.pi), ("np.pi", math.pi), ("math.pi", math.pi), ("torch.pi", math.pi), ("numpy.pi", math.pi),
    ("e", math.e), ("np.e", math.e), ("math.e", math.e), ("torch.e", math.e),
])
def test_named_constants(spelling: str, value: float) -> None:
    node = parse(spelling)
    assert node.op == "const" and node.value == value


def test_inf_is_a_constant() -> None:
    assert parse("np.inf").value == math.inf and parse("inf").value == math.inf


def test_a_constant_base_with_a_variable_exponent() -> None:
    x = np.array([[0.5, -1.0, 2.0]])
    for text, f in (("sum(e**X)", np.exp), ("sum(2**X)", lambda a: 2.0**a)):
        result = run_eval(text, EvalOptions(values={"X": Value(x, "test")}))
        assert result.value == pytest.approx(np.sum(f(x)), rel=1e-13) and result.verdict == "equal"


@pytest.mark.parametrize(("text", "message"), [
    ("np.relu(X)", "np.relu is not a NumPy function gradcalc knows; gradcalc's own relu(...) means rectified"),
    ("torch.foo(X)", "torch.foo is not a PyTorch function gradcalc knows"),
    ("math.cos(X)", "math.cos works on plain numbers only; for arrays write np.cos(...) or cos(...)"),
    ("np.linalg.relu(X)", "np.linalg.relu is not a NumPy function gradcalc knows"),
    ("np.cos", "np.cos must be called, e.g. np.cos(X)"),
])
def test_a_spelling_the_library_does_not_have_is_refused(text: str, message: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(text)
    assert message in str(err.value)


def test_linalg_and_torch_spellings() -> None:
    a = np.array([[2.0, 0.5], [0.5, 1.0]])
    for text in ("np.linalg.det(A)", "numpy.linalg.det(A)", "torch.det(A)", "torch.linalg.det(A)", "det(A)"):
        result = run_eval(text, EvalOptions(values={"A": Value(a, "test")}))
        assert result.value == pytest.approx(np.linalg.det(a), rel=1e-13), text
    for text in ("torch.inverse(A).sum()", "torch.linalg.inv(A).sum()", "np.linalg.inv(A).sum()"):
        assert run_eval(text, EvalOptions(values={"A": Value(a, "test")})).value == pytest.approx(
            np.linalg.inv(a).sum(), rel=1e-13), text


def test_torch_t_transposes() -> None:
    x, w, y = np.ones((4, 1)), np.arange(12.0).reshape(4, 3), np.ones((3, 1))
    values = {"x": Value(x, "t"), "W": Value(w, "t"), "y": Value(y, "t")}
    result = run_eval("torch.t(x).mm(W).mm(y)", EvalOptions(values=values))
    assert result.value == pytest.approx((x.T @ w @ y).item())


def test_an_expression_may_start_with_a_minus_on_the_command_line() -> None:
    done = gradcalc("eval", "-sum(X**2)", "--value", "X=[[1, 2, 3]]", "--seed", "1", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["expression"] == "-sum(X**2)" and doc["verdict"] == "equal" and doc["value"] == -14.0
    assert doc["gradients"]["X"]["autograd"] == [[-2.0, -4.0, -6.0]]
    assert gradcalc("eval", "-x@x", "--wrt", "x", "--json").returncode == 0
    assert gradcalc("derive", "-trace(A)", "--json").returncode == 0


def test_a_leading_minus_expression_after_the_options_and_one_like_a_short_option() -> None:
    done = gradcalc("eval", "--value", "X=[1, 2]", "-X.sum()", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["value"] == -3.0
    assert gradcalc("eval", "--seed", "-1", "sum(X)").returncode == 2  # an option's value is not moved
