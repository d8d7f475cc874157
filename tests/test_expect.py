"""`eval --expect`: the user's own derivation beside autograd, its verdict, and a diagnosis of the mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gradcalc.errors import InputError
from gradcalc.jobs.evaluate import run_eval
from gradcalc.options import EvalOptions

LINEAR = "sum((X@W-Y)**2)"
RELU = "sum((relu(X@W)-Y)**2)"


def gradcalc(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def expect(expr: str, formula: str, name: str = "W", **options: object):
    return run_eval(expr, EvalOptions(wrt=[name], expect=((name, formula),), **options)).expectations[0]


@pytest.mark.parametrize("expr", [LINEAR, RELU])
def test_the_right_formula_holds(expr: str) -> None:
    inner = "(X@W - Y)" if expr == LINEAR else "((relu(X@W) - Y)*heaviside(X@W))"
    e = expect(expr, f"2*X.T@{inner}")
    assert e.verdict == "equal" and e.diagnosis == "" and e.max_abs_diff < 1e-12


@pytest.mark.parametrize(("expr", "formula", "words", "corrected"), [
    (LINEAR, "X.T@(X@W - Y)", "off by a constant factor: the gradient is 2 times your formula", "2*(X.T@(X@W - Y))"),
    (LINEAR, "-2*X.T@(X@W - Y)", "the sign: your formula is the negative of the gradient", "2*X.T@(X@W - Y)"),
    (LINEAR, "2*(X@W - Y).T@X", "a transposed result", "(2*(X@W - Y).T@X).T"),
    (LINEAR, "2*X@(X@W - Y)", "a transposed operand: X should be transposed", "2*X.T@(X@W - Y)"),
    (RELU, "X.T@((relu(X@W) - Y)*heaviside(X@W))", "off by a constant factor: the gradient is 2 times",
     "2*(X.T@((relu(X@W) - Y)*heaviside(X@W)))"),
    (RELU, "-2*X.T@((relu(X@W) - Y)*heaviside(X@W))", "the sign", "2*X.T@((relu(X@W) - Y)*heaviside(X@W))"),
    (RELU, "2*((relu(X@W) - Y)*heaviside(X@W)).T@X", "a transposed result",
     "(2*((relu(X@W) - Y)*heaviside(X@W)).T@X).T"),
    (RELU, "2*X.T@(relu(X@W) - Y)", "a missing mask: the derivative of relu(X@W) with respect to X@W, "
     "heaviside(X@W), is missing", "2*X.T@((relu(X@W) - Y)*heaviside(X@W))"),
])
def test_each_mistake_is_diagnosed_and_corrected(expr: str, formula: str, words: str, corrected: str) -> None:
    e = expect(expr, formula)
    assert e.verdict == "mismatch"
    assert words in e.diagnosis, e.diagnosis
    assert e.corrected == corrected
    assert expect(expr, e.corrected).verdict == "equal"  # the correction really is the gradient


def test_a_missing_broadcast_sum_and_a_mask_at_the_variable() -> None:
    e = expect("sum((X@w + b - y)**2)", "2*(X@w + b - y)", name="b", shapes={"w": (3,), "b": (), "y": (4,)})
    assert e.verdict == "mismatch" and "a missing sum over the broadcast axis" in e.diagnosis
    assert e.corrected == "sum(2*(X@w + b - y))"
    e = expect("sum(relu(W)*A)", "A")
    assert "a missing mask: the derivative of relu(W) with respect to W, heaviside(W)" in e.diagnosis
    assert e.corrected == "(A)*heaviside(W)"


def test_a_formula_of_the_wrong_shape_is_a_finding_not_an_input_error() -> None:
    e = expect(LINEAR, "sum(X)")
    assert e.verdict == "mismatch" and "the wrong shape: your formula is a scalar, the gradient is 3x5" in e.diagnosis
    e = expect(LINEAR, "2*X.T@(X@W - Y)*X")  # cannot be evaluated at these shapes
    assert e.verdict == "mismatch" and "cannot be evaluated at these shapes" in e.diagnosis


def test_no_simple_form_is_said_honestly() -> None:
    e = expect(LINEAR, "3*X.T@X@W")
    assert e.verdict == "mismatch" and e.diagnosis == "the difference has no simple form" and e.corrected == ""


def test_a_difference_only_at_a_kink_is_the_kink_verdict() -> None:
    from gradcalc.values.draw import Value
    x = np.array([[1.0, 0.0, -2.0]])
    e = run_eval("sum(relu(x))", EvalOptions(values={"x": Value(x, "t")}, expect=(("x", "heaviside(x, 1)"),)))
    assert e.expectations[0].verdict == "kink" and "only at kinks" in e.expectations[0].diagnosis


def test_bad_expectations_are_input_errors() -> None:
    with pytest.raises(InputError, match="Q is not a variable of the expression"):
        expect(LINEAR, "2*Q")
    with pytest.raises(InputError, match="the expression has no variable V"):
        run_eval(LINEAR, EvalOptions(expect=(("V", "X"),)))
    with pytest.raises(InputError, match="add --wrt X"):
        run_eval(LINEAR, EvalOptions(wrt=["W"], expect=(("X", "W"),)))
    with pytest.raises(InputError, match="given twice"):
        run_eval(LINEAR, EvalOptions(wrt=["W"], expect=(("W", "X"), ("W", "X"))))


def test_cli_exit_codes_human_table_and_json() -> None:
    ok = gradcalc("eval", RELU, "--wrt", "W", "--expect", "W=2*X.T@((relu(X@W) - Y)*heaviside(X@W))")
    assert ok.returncode == 0 and "your ∂f/∂W" in ok.stdout and "verdict: equal" in ok.stdout
    bad = gradcalc("eval", RELU, "--wrt", "W", "--expect", "W=2*X.T@(relu(X@W) - Y)")
    assert bad.returncode == 1
    assert "mismatch" in bad.stdout and "diagnosis" in bad.stdout and "a missing mask" in bad.stdout
    assert "corrected  2*X.T@((relu(X@W) - Y)*heaviside(X@W))" in bad.stdout
    doc = json.loads(gradcalc("eval", LINEAR, "--wrt", "W", "--expect", "W=X.T@(X@W - Y)", "--json").stdout)
    mine = doc["gradients"]["W"]["expect"]
    assert mine["formula"] == "X.T@(X@W - Y)" and mine["verdict"] == "mismatch" and doc["verdict"] == "mismatch"
    assert np.allclose(2 * np.asarray(mine["value"]), doc["gradients"]["W"]["autograd"])
    assert mine["diagnosis"].startswith("off by a constant factor") and mine["corrected"] == "2*(X.T@(X@W - Y))"
    assert gradcalc("eval", LINEAR, "--expect", "W=2*Q").returncode == 2


def test_expect_from_a_file(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("# my derivation\nW = 2*X.T@(X@W - Y)\n\nX = 2*(X@W - Y)@W.T\n")
    done = gradcalc("eval", LINEAR, "--expect", "@mine.txt", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["gradients"]["W"]["expect"]["verdict"] == "equal" and doc["gradients"]["X"]["expect"]["verdict"] == "equal"
    (tmp_path / "empty.txt").write_text("# nothing\n")
    assert gradcalc("eval", LINEAR, "--expect", "@empty.txt", cwd=tmp_path).returncode == 2
    assert gradcalc("eval", LINEAR, "--expect", "@missing.txt", cwd=tmp_path).returncode == 2


def test_expect_does_not_combine_with_vjp_or_jacobian() -> None:
    assert gradcalc("eval", "X@W", "--jacobian", "--expect", "W=X").returncode == 2


@pytest.mark.parametrize(("expr", "formula", "word"), [
    (LINEAR, "2*X.T@(X@W - Y)", None), (RELU, "2*X.T@((relu(X@W) - Y)*heaviside(X@W))", None),
    (LINEAR, "X.T@(X@W - Y)", "factor"), (LINEAR, "-2*X.T@(X@W - Y)", "sign"),
    (LINEAR, "2*(X@W - Y).T@X", "transpose"), (RELU, "X.T@((relu(X@W) - Y)*heaviside(X@W))", "factor"),
    (RELU, "-2*X.T@((relu(X@W) - Y)*heaviside(X@W))", "sign"),
    (RELU, "2*((relu(X@W) - Y)*heaviside(X@W)).T@X", "transpose"), (RELU, "2*X.T@(relu(X@W) - Y)", "mask"),
])
def test_the_acceptance_table_on_the_command_line(expr: str, formula: str, word: str | None) -> None:
    done = gradcalc("eval", expr, "--wrt", "W", "--expect", f"W={formula}")
    mine = done.stdout[done.stdout.index("your ∂f/∂W"):]
    if word is None:
        assert done.returncode == 0 and "\nequal" in mine
        return
    assert done.returncode == 1 and "\nmismatch" in mine and "verdict: mismatch" in done.stdout
    diagnosis = mine[mine.index("diagnosis"):]
    assert word in diagnosis, diagnosis
