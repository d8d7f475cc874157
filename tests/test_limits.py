"""Limits with clear messages: size, expression length and depth, simplification time, singular matrices,
and finite differences on a sample of a big variable's entries."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gradcalc.lang import ops
from gradcalc import options
from gradcalc.symbolic import closed_form
from gradcalc.errors import InputError, ParseError
from gradcalc.lang.parse import MAX_DEPTH, MAX_LENGTH, parse
from gradcalc.jobs.evaluate import run_eval
from gradcalc.values.draw import Value
from gradcalc.options import EvalOptions


def gradcalc(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcalc", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "NO_COLOR": "1"})


def test_size_guard_refuses_with_the_memory_and_the_option_raises_it() -> None:
    run = gradcalc("eval", "sum(X@W)", "--shape", "X=30x20", "--shape", "W=20x10", "--max-elements", "1000")
    assert (run.returncode, run.stderr.strip()) == (2, (
        "gradcalc: error: the values of this expression hold 1,101 numbers (about 18 kB with their gradients), "
        "above the limit of 1,000; raise it with --max-elements 2000 if the machine has the memory"))
    assert gradcalc("eval", "sum(X@W)", "--shape", "X=30x20", "--shape", "W=20x10",
                    "--max-elements", "2000").returncode == 0


def test_default_size_limit() -> None:
    assert options.MAX_ELEMENTS == 20_000_000
    with pytest.raises(InputError, match=r"hold 26,000,001 numbers \(about 416 MB with their gradients\), above "
                                         r"the limit of 20,000,000; raise it with --max-elements 30000000"):
        run_eval("sum((relu(X@W)-Y)**2)", EvalOptions(shapes={"X": (3000, 2000), "W": (2000, 1000)}))


def test_expression_length_limit() -> None:
    text = "+".join(["sum(X)"] * 1500)  # 10,499 characters
    with pytest.raises(ParseError) as err:
        parse(text)
    assert err.value.message == ("the expression is 10,499 characters long; gradcalc reads at most 10,000 (name "
                                 "repeated parts once, e.g. with --value, or split the expression)")
    assert err.value.position == MAX_LENGTH


def test_nesting_depth_limit() -> None:
    deep = "sum(" + "exp(" * MAX_DEPTH + "x" + ")" * MAX_DEPTH + ")"
    with pytest.raises(ParseError) as err:
        parse(deep)
    assert err.value.message == ("the expression nests more than 150 levels deep (calls, operators and "
                                 "parentheses); split it into smaller expressions")
    assert deep[err.value.position:].startswith("exp(")
    run = gradcalc("eval", "1*" + "-" * 1000 + "sum(x)")
    assert run.returncode == 2 and run.stderr.splitlines()[-1].startswith("gradcalc: error: the expression nests")
    assert "Traceback" not in run.stderr
    assert run_eval("sum(" + "tanh(" * 140 + "x" + ")" * 140 + ")").verdict == "equal"  # deep but allowed
    with pytest.raises(ParseError, match="nests more than 150 levels"):
        parse("(" * 250 + "x" + ")" * 250)  # Python's own parenthesis limit, said the same way


def test_simplification_budget_keeps_the_exact_formula_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    expr = "sum((relu(X@W)-Y)**2) + sum(X@W) + 0.5*sum(X@W)"
    monkeypatch.setattr(closed_form, "SIMPLIFY_BUDGET", 0.0)
    rushed = run_eval(expr, EvalOptions(wrt=["W"]))
    assert rushed.notes == ["symbolic simplification ran past its 0 s budget, so the closed form is shown as "
                            "derived, without merging like terms (it is still exact)"]
    assert rushed.verdict == "equal"
    monkeypatch.setattr(closed_form, "SIMPLIFY_BUDGET", 5.0)
    simplified = run_eval(expr, EvalOptions(wrt=["W"]))
    assert simplified.notes == [] and len(simplified.gradients[0].formula) < len(rushed.gradients[0].formula)


@pytest.mark.parametrize(("expr", "note"), [
    ("sum(inv(A@B))", "inv(A@B): the matrix is singular (condition number inf), so the gradient is not defined "
                      "there"),
    ("logdet(A@B)", "logdet(A@B): the matrix is singular (condition number inf), so the gradient is not defined "
                    "there"),
    ("det(A@B)", "det(A@B): the matrix is singular (condition number inf), so the gradient is not defined there "
                 "(PyTorch would return the adjugate)"),
])
def test_singular_matrices_are_reported(expr: str, note: str) -> None:
    values = {"A": Value(np.array([[1.0], [0.0]]), "inline"), "B": Value(np.array([[1.0, 0.0]]), "inline")}
    result = run_eval(expr, EvalOptions(values=values))
    assert note in result.notes and result.verdict == "undefined"
    run = gradcalc("eval", expr, "--value", "A=[[1],[0]]", "--value", "B=[[1,0]]", "--json")
    doc = json.loads(run.stdout)
    assert run.returncode == 1 and note in doc["notes"] and doc["verdict"] == "undefined"


def test_nearly_singular_but_invertible_is_not_flagged() -> None:
    result = run_eval("logdet(X)", EvalOptions(values={"X": Value(np.array([[1.0, 0.0], [0.0, 1e-3]]), "inline")}))
    assert result.notes == [] and result.verdict == "equal"


def test_big_variable_gets_finite_differences_on_a_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_eval("sum(A*W) + sum(W*W)", EvalOptions(shapes={"A": (100, 100), "W": (100, 100)}, wrt=["W"]))
    g = result.gradients[0]
    assert (g.fd_checked, g.verdict) == (256, "equal")
    assert np.isnan(g.finite_difference).sum() == 10_000 - 256
    broken = dataclasses.replace(ops.OPS["mul"], vjp=(lambda ans, a, b: lambda g: g * b * 1.001,
                                                      ops.OPS["mul"].vjp[1]))
    monkeypatch.setitem(ops.OPS, "mul", broken)
    assert run_eval("sum(A*W)", EvalOptions(shapes={"A": (100, 100), "W": (100, 100)}, wrt=["A"])).verdict == "mismatch"
